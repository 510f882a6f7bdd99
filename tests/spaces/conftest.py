from __future__ import annotations

import optuna
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)

try:  # the models' checks import torch; keep it to one thread on the shared machine
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass


@pytest.fixture
def write_space(tmp_path):
    """Write a space file's text under tmp_path and return its path."""

    def write(text: str, name: str = "space.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
