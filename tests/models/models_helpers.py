"""Config builder shared by the model tests (a uniquely named module: tests/ has several conftests)."""

from __future__ import annotations

from typing import Any

from poolnas.config import TrialConfig, config_from_dict


def make_config(arch: str = "resnet20", *, num_classes: int = 10, in_channels: int = 3,
                dataset: str = "cifar10", **attention: Any) -> TrialConfig:
    """A trial config; attention keys as keyword arguments (``placement=dict(...)``)."""
    attention.setdefault("pooling", "none")
    return config_from_dict({
        "model": {"arch": arch, "num_classes": num_classes, "in_channels": in_channels},
        "attention": attention,
        "trainer": {"dataset": dataset},
    })
