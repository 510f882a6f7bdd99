"""Space files and trial configs for the search tests.

A module of its own, not the conftest: ``from conftest import ...`` finds whichever
conftest pytest imported last (tests/dashboards has one too).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml


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
