"""The live view: every epoch redraws the line with the time left; the best is the one best
(mean over seeds, with n); the race's standing; and the sweep summary's short config."""

from __future__ import annotations

import io
import time
from types import SimpleNamespace

from poolnas.evidence.racing import RaceStatus
from poolnas.search._live import LiveView
from poolnas.search.commands import format_summary
from poolnas.search.sweep import SweepResult


def _trial(tid: str) -> SimpleNamespace:
    return SimpleNamespace(trial_id=tid)


def test_every_epoch_redraws_with_the_time_left() -> None:
    out = io.StringIO()
    live = LiveView(study="s", metric="val_acc", mode="max", target=4, stream=out, epochs=2)
    live._start = time.monotonic() - 10.0  # 10 s into the run
    live.on_trial_start(0, [], _trial("a"))
    assert "left" not in live.line()  # no epoch timed yet
    live.on_trial_result(0, [], _trial("a"), {"training_iteration": 1})
    # 1 epoch in 10 s; 4 trials x 2 epochs = 8, 1 done: ~70 s left
    assert 65 <= live.time_left() <= 75
    lines = out.getvalue().splitlines()
    live.on_trial_result(0, [], _trial("a"), {"training_iteration": 2})
    assert len(out.getvalue().splitlines()) == len(lines) + 1  # a new line per epoch
    live.on_trial_result(0, [], _trial("a"), {"training_iteration": 2})  # the same epoch again
    assert len(out.getvalue().splitlines()) == len(lines) + 1


def test_best_is_the_one_best_with_its_seeds_and_the_race_is_shown() -> None:
    best = {"mean": 0.91, "number": 7, "n": 3}
    live = LiveView(study="s", metric="val_acc", mode="max", target=12, stream=io.StringIO(),
                    best_of=lambda: best)
    live.told("COMPLETE", 0.99, 9)  # a lucky single run does not become "best"
    assert "best val_acc 91.00% (mean of 3 seeds; its best seed: trial 7)" in live.line()
    assert "best run" not in live.line()
    live.race = SimpleNamespace(status=RaceStatus("k1", ("k2", "k3"), ("k4",), ()))
    line = live.line()
    assert "race: 3 within noise, 1 out, 0 at max seeds" in line and "of ≤ 12" in line


def test_live_view_pickles_without_the_study() -> None:
    import pickle

    live = LiveView(study="s", metric="m", mode="max", target=1, stream=io.StringIO(),
                    best_of=lambda: None)
    state = live.__getstate__()
    assert state["best_of"] is None and state["stream"] is None
    pickle.dumps(state)


def test_summary_prints_the_searched_params_and_what_differs_from_the_defaults() -> None:
    config = {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
              "attention": {"pooling": "max", "reduction": 4}, "trainer": {"epochs": 4}, "seed": 1}
    res = SweepResult(study="q", storage="sqlite:///x.db", counts={"COMPLETE": 4}, ran=4,
                      recovered=0, target=4, metric="val_acc", mode="max",
                      best={"number": 3, "value": 0.95, "mean": 0.94, "std": 0.01, "n": 2,
                            "trials": [2, 3], "params": {"attention.pooling": "max", "seed": 1},
                            "config": config, "notes": []})
    text = format_summary(res)
    assert "searched: {attention.pooling: max}" in text
    assert "attention.reduction=4" in text and "trainer.epochs=4" in text
    assert "trainer.batch_size" not in text and "seed" not in text.split("best configuration:")[1]
    assert "poolnas export --study q" in text


def test_interrupted_trials_are_counted_as_such_not_as_failed() -> None:
    """A trial the sweep stopped (stored FAIL "interrupted: ...", run again) is not a failure:
    the live line and the summary count it apart; a real failure still reads "failed"."""
    out = io.StringIO()
    live = LiveView(study="s", metric="test_acc", mode="max", target=4, stream=out,
                    counts={"COMPLETE": 1, "FAIL": 2, "INTERRUPTED": 1})
    assert "1 failed, 1 interrupted (retried) of 4" in live.line()
    live.told("FAIL", None, 5, "interrupted: the sweep stopped (SIGINT) while it ran; run again on resume")
    live.told("FAIL", None, 6, "ValueError: bad")
    assert "2 failed, 2 interrupted (retried) of 4" in live.line()
    assert "trial 6 failed: ValueError: bad" in out.getvalue() and "trial 5 failed" not in out.getvalue()
    live.told("COMPLETE", 0.8, 7)
    assert "best test_acc 80.00% (trial 7)" in live.line()
    res = SweepResult(study="q", storage="sqlite:///x.db", counts={"COMPLETE": 4, "FAIL": 3}, ran=7,
                      recovered=0, target=4, metric="test_acc", mode="max", interrupted=2)
    assert "(4 complete, 0 pruned, 1 failed, 2 interrupted and retried, 0 running" in format_summary(res)
