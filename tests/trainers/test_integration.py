"""Real training on real data: Fashion-MNIST (Debian's files) and the digits example."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from poolnas.config import config_from_dict, load_trial_config
from poolnas.trainers import data as data_mod
from poolnas.trainers.loop import train

pytestmark = pytest.mark.integration
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "se-resnet20-srp-digits.yaml"


def _fashion_available() -> bool:
    return (data_mod.FASHION_MNIST_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file()


def test_fashion_mnist_subset_learns():
    if not _fashion_available():
        if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
            pytest.fail("Fashion-MNIST missing (apt-get install dataset-fashion-mnist)")
        pytest.skip("Fashion-MNIST missing (apt-get install dataset-fashion-mnist)")
    cfg = config_from_dict({
        "model": {"arch": "resnet20", "in_channels": 1, "num_classes": 10},
        "attention": {"pooling": "srp-ms", "lam": 0.6, "M": 5, "reduction": 4},
        # short run: no augmentation and small batches learn fastest in 2 epochs
        "trainer": {"dataset": "fashion-mnist", "train_subset": 1200, "val_fraction": 0.1,
                    "test_subset": 500, "epochs": 2, "batch_size": 16, "recipe": "fast",
                    "lr": 0.05, "augment": False, "device": "cpu"},
        "seed": 0})
    result = train(cfg)
    assert result["metrics"]["test_acc"] > 0.6  # chance is 0.1
    assert result["curves"]["train_loss"][1] < result["curves"]["train_loss"][0]


def test_digits_example_reaches_95_percent():
    cfg = load_trial_config(EXAMPLE)
    result = train(cfg)
    assert result["metrics"]["test_acc"] >= 0.95
