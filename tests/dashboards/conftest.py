"""Fixtures for the dashboard tests: a SQLite URL; synthetic.py builds the studies."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the synthetic study builders

optuna.logging.set_verbosity(optuna.logging.WARNING)
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"
