"""trainer.test_every: end reads the test set after the last epoch only (the validation split
every epoch), with the same final numbers as reading it every epoch."""

from __future__ import annotations

import pytest

from poolnas.config import config_from_dict
from poolnas.errors import ConfigError
from poolnas.spaces import space_from_dict
from poolnas.trainers import train

BASE = {
    "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
    "trainer": {"dataset": "digits", "epochs": 2, "batch_size": 32, "recipe": "fast", "device": "cpu",
                "num_threads": 1, "train_subset": 96, "test_subset": 64, "val_fraction": 0.2},
    "seed": 0,
}


def _config(test_every: str):
    doc = {**BASE, "trainer": {**BASE["trainer"], "test_every": test_every}}
    return config_from_dict(doc)


def test_end_reads_the_test_set_once_with_the_same_final_numbers():
    every = train(_config("epoch"))
    end = train(_config("end"))
    assert end["curves"]["test_acc"][0] is None and every["curves"]["test_acc"][0] is not None
    assert end["curves"]["val_acc"] == every["curves"]["val_acc"]  # validation still every epoch
    assert end["metrics"]["test_acc"] == every["metrics"]["test_acc"]  # evaluation changes no state


def test_end_with_asha_on_test_acc_is_refused():
    space = {
        "study": "te", "objective": {"metric": "test_acc", "mode": "max"}, "sampler": "grid",
        "scheduler": {"type": "asha", "grace_period": 1},
        "base": {**BASE, "trainer": {**BASE["trainer"], "test_every": "end"}},
        "space": {"attention.pooling": {"grid": ["gap", "max"]}},
    }
    space["base"].pop("seed")
    with pytest.raises(ConfigError, match="test_every"):
        space_from_dict(space)


def test_the_last_test_pass_is_kept_a_bit_per_example():
    """Per-example correctness (issue 19 item 6): the bits' mean is the final test_acc."""
    from poolnas.trainers.metrics import unpack_correct

    out = train(_config("end"))
    bits = unpack_correct(out["test_correct"])
    assert out["test_correct"]["n"] == len(bits) == 64  # test_subset
    assert sum(bits) / len(bits) == pytest.approx(out["metrics"]["test_acc"])
