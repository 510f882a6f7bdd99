"""Set-up every test shares: one torch thread (2 shared cores), Optuna's log level at WARNING,
``sqlite_url`` (a fresh SQLite file per test), a real PostgreSQL server (``postgres_url``, see
fixtures_postgres.py) and a local Ray per test module (``ray_local``). Synthetic studies with
known answers: ``poolnas.testing.synthetic_studies``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from fixtures_postgres import postgres_server, postgres_url  # noqa: F401

optuna.logging.set_verbosity(optuna.logging.WARNING)
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite storage URL in the test's own folder (the file does not exist yet)."""
    return f"sqlite:///{tmp_path / 'studies.db'}"


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
