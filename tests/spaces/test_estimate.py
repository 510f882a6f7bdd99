"""space validate's run-time estimate: its MAC counts against poolnas.models.model_cost, and
the racing range."""

from __future__ import annotations

import pytest

from poolnas.config import TrialConfig
from poolnas.spaces import load_space, space_from_dict
from poolnas.spaces._estimate import estimate_seconds, trial_macs


@pytest.mark.parametrize("arch, dataset, side, in_ch", [
    ("resnet20", "digits", 8, 1), ("resnet20", "fashion-mnist", 28, 1),
    ("resnet56", "cifar100", 32, 3), ("wrn-16-2", "cifar10", 32, 3),
    ("resnet164", "cifar10", 32, 3), ("resnet50-cifar", "cifar100", 32, 3)])
def test_closed_form_macs_match_the_counted_network(arch, dataset, side, in_ch) -> None:
    from poolnas.models import model_cost

    cfg = TrialConfig.model_validate({"model": {"arch": arch, "in_channels": in_ch,
                                                "num_classes": 100 if dataset == "cifar100" else 10},
                                      "trainer": {"dataset": dataset}})
    counted = model_cost(cfg)["flops"]
    assert trial_macs(arch, side, in_ch) == pytest.approx(counted, rel=0.05)


def test_unknown_backbone_gives_no_estimate() -> None:
    assert trial_macs("resnext29-4x2d", 32, 3) is None


def test_racing_gives_a_range_from_min_to_max_seeds() -> None:
    lo, hi = estimate_seconds(load_space("quickstart"))
    assert 0 < lo < hi and hi == pytest.approx(2 * lo)  # 2 to 4 seeds
    doc = {"study": "x", "sampler": "grid", "repeats": 3,
           "base": {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
                    "trainer": {"dataset": "digits", "epochs": 2}},
           "space": {"attention.pooling": {"grid": ["gap", "max"]}}}
    lo, hi = estimate_seconds(space_from_dict(doc))
    assert lo == hi > 0
    doc["base"]["trainer"]["epochs"] = 4
    assert estimate_seconds(space_from_dict(doc))[0] > lo  # more epochs, more time


def test_estimate_is_a_labelled_lower_bound_and_counts_max_concurrent() -> None:
    """One trial at a time takes (about) as many times longer as the slots it gives up; the
    line says lower bound, idle machine, the trials at a time, and a load when there is one."""
    import os

    from poolnas.spaces._estimate import format_estimate, slots_of

    space = load_space("quickstart")
    slots = slots_of(space)
    one = estimate_seconds(space, max_concurrent=1)
    many = estimate_seconds(space)
    assert slots_of(space, 1) == 1 and one[1] >= many[1]
    if slots > 1:
        assert one[1] > many[1]
    line = format_estimate(space, 1, load=0.1)
    assert "at least" in line and "lower bound for an idle machine" in line
    assert "1 trial at a time (--max-concurrent 1)" in line and "loaded" not in line
    assert "loaded now (4.5 per core)" in format_estimate(space, load=4.5)
    assert f"on {os.cpu_count()} CPU cores" in line
