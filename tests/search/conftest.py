"""Fixtures for the search tests: one local Ray per test module, space files, fake trials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

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

    quiet_ray_logs()
    started, _ = connect_ray(None, num_cpus=2)
    try:
        yield
    finally:
        if started:
            ray.shutdown()


def write_space(folder: Path, doc: dict[str, Any], name: str = "space.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def base_config(epochs: int = 1, **trainer: Any) -> dict[str, Any]:
    """A tiny real trial config: SE-ResNet-20 on a few digits, one thread."""
    return {
        "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        "trainer": {"dataset": "digits", "epochs": epochs, "batch_size": 32, "recipe": "fast",
                    "device": "cpu", "num_threads": 1, "train_subset": 64, "test_subset": 64,
                    **trainer},
    }


def grid_space(study: str, *, repeats: int = 1, epochs: int = 1, scheduler: str = "fifo",
               pooling: list[str] | None = None) -> dict[str, Any]:
    return {
        "study": study,
        "objective": {"metric": "val_acc", "mode": "max"},
        "sampler": "grid",
        "repeats": repeats,
        "scheduler": {"type": scheduler},
        "resources": {"cpu": 1, "gpu": 0},
        "base": base_config(epochs),
        "space": {"attention.pooling": {"grid": pooling or ["gap", "max"]}},
    }


def env_without_storage() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("POOLNAS_STORAGE", None)
    env.pop("RAY_ADDRESS", None)
    return env
