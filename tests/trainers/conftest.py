from __future__ import annotations

import pytest
import torch

torch.set_num_threads(1)


def tiny_config(**trainer):
    """A seconds-long digits config: small subsets, resnet20 with SE + MS-SRP."""
    from poolnas.config import config_from_dict

    t = {"dataset": "digits", "epochs": 2, "batch_size": 64, "recipe": "fast",
         "train_subset": 256, "test_subset": 100, "device": "cpu"}
    t.update(trainer)
    return config_from_dict({
        "model": {"arch": "resnet20", "in_channels": 1, "num_classes": 10},
        "attention": {"pooling": "srp-ms", "lam": 0.6, "M": 5, "reduction": 4},
        "trainer": t, "seed": 0})


@pytest.fixture
def tiny():
    return tiny_config

