"""ASHA's max_t: one rule (``poolnas.spaces.asha_max_t``) for the space's validation and the
sweep's scheduler (issue 16: a space searching trainer.epochs was validated with its largest
value and scheduled with the base's epochs, or 200)."""

from __future__ import annotations

from typing import Any

import pytest

from poolnas.errors import ConfigError
from poolnas.spaces import space_from_dict

MODEL = {"arch": "resnet20", "num_classes": 10, "in_channels": 1}


def _doc(space: dict[str, Any], trainer: dict[str, Any], **scheduler: Any) -> dict[str, Any]:
    return {"study": "x", "sampler": "random", "trials": 4,
            "scheduler": {"type": "asha", **scheduler},
            "base": {"model": MODEL, "trainer": {"dataset": "digits", **trainer}},
            "space": {"attention.pooling": {"choice": ["gap", "max"]}, **space}}


@pytest.mark.parametrize("space, trainer, scheduler, expected", [
    ({"trainer.epochs": {"choice": [2, 4]}}, {}, {"grace_period": 1}, 4),  # was 200 for Tune
    ({"trainer.epochs": {"int": [3, 9]}}, {"epochs": 2}, {"grace_period": 1}, 9),
    ({}, {"epochs": 6}, {"grace_period": 1}, 6),
    ({}, {}, {"grace_period": 1}, 200),  # the trainer's default epochs
    ({"trainer.epochs": {"choice": [2, 4]}}, {}, {"grace_period": 1, "max_t": 3}, 3),
])
def test_validation_and_the_scheduler_use_the_same_max_t(
        space: dict, trainer: dict, scheduler: dict, expected: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from poolnas.search import _tune

    sp = space_from_dict(_doc(space, trainer, **scheduler))
    assert sp.asha_max_t() == expected
    made: dict[str, Any] = {}
    monkeypatch.setattr(_tune, "ASHAScheduler", lambda **kw: made.update(kw) or kw)
    _tune.scheduler(sp)
    assert made["max_t"] == expected and made["grace_period"] == 1


def test_grace_period_is_checked_against_the_largest_searched_epochs() -> None:
    searched = {"trainer.epochs": {"choice": [2, 4]}}
    assert space_from_dict(_doc(searched, {}, grace_period=4)).asha_max_t() == 4
    with pytest.raises(ConfigError, match=r"scheduler\.grace_period.*at most max_t \(4 epochs\)"):
        space_from_dict(_doc(searched, {}, grace_period=5))


def test_the_live_view_counts_the_most_epochs_a_trial_trains() -> None:
    sp = space_from_dict(_doc({"trainer.epochs": {"choice": [2, 5]}}, {"epochs": 1},
                              grace_period=1, max_t=3))
    from poolnas.search import _tune

    live = _tune.live_view(sp, "x", target=1, counts={}, best=None, best_of=lambda: None,
                           quiet=True, stream=None)
    assert live.epochs == 5 and sp.max_epochs() == 5 and sp.asha_max_t() == 3
