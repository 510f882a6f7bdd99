"""Shared fixtures: a real PostgreSQL server (``postgres_url``, see fixtures_postgres.py) and
a local Ray per test module (``ray_local``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures_postgres import postgres_server, postgres_url  # noqa: F401


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
