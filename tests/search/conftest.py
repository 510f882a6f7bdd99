"""Fixtures for the search tests: one local Ray per test module (space helpers: _sweep_spaces)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from poolnas.search._ray import local_ray_on_loopback

local_ray_on_loopback()  # before anything imports ray: the tests' local Rays listen on 127.0.0.1

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    """A local Ray (2 CPUs, 127.0.0.1, no dashboard) shared by the tests of one module;
    ``run_sweep`` reuses a running Ray and leaves it running."""
    import ray

    from poolnas.search._ray import connect_ray, quiet_ray_logs

    with quiet_ray_logs():  # Ray's loggers and Tune's variables, restored afterwards
        started, _ = connect_ray(None, num_cpus=2)
        try:
            yield
        finally:
            if started:
                ray.shutdown()
