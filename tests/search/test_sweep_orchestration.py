"""Sweeps on a real local Ray and SQLite with fake trials of known length and outcome
(``poolnas.testing.fake_trials``): states, attributes, grid once, failures, ASHA, resume,
and the study read back by Optuna and by optuna-dashboard's own API."""

from __future__ import annotations

import functools
import io
import json
import wsgiref.util
from collections import Counter
from pathlib import Path

import optuna
import pytest
from _sweep_spaces import grid_space
from optuna.trial import TrialState

from poolnas.errors import ConfigError
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs
from poolnas.search import run_sweep
from poolnas.spaces import space_from_dict
from poolnas.testing.fake_trials import (
    crashing_trial,
    nan_trial,
    raising_trial,
    score_of,
    sleep_trial,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_local")]

FAST = functools.partial(sleep_trial, epoch_s=0.05)


def _grid(study: str, **kw) -> dict:
    doc = grid_space(study, **kw)
    doc["space"]["attention.M"] = {"grid": [1, 2], "when": {"attention.pooling": ["srp-ms"]}}
    return doc


def _cells(trials: list) -> Counter:
    return Counter(json.dumps(t.params, sort_keys=True) for t in trials)


def _dashboard_get(storage_url: str, path: str) -> tuple[str, dict]:
    from optuna_dashboard import wsgi

    app = wsgi(optuna.storages.RDBStorage(storage_url))
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    wsgiref.util.setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
    return status[0], json.loads(body)


def test_grid_sweep_runs_each_point_and_seed_once_with_attributes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = space_from_dict(_grid("grid", repeats=2, pooling=["gap", "max", "srp-ms"], epochs=2))
    stream = io.StringIO()
    monkeypatch.setenv("POOLNAS_RESULTS_DIR", str(tmp_path / "results"))
    res = run_sweep(space, storage=url, trial_fn=FAST, stream=stream)
    assert res.counts == {"COMPLETE": 8} and res.target == 8 and res.ran == 8
    assert (tmp_path / "results" / "grid").is_dir()  # Tune's results kept where asked
    lines = stream.getvalue().splitlines()
    assert lines[-1].startswith("grid: 8 complete, 0 running, 0 pruned, 0 failed of 8 | best val_acc")

    study = optuna.load_study(study_name="grid", storage=url)
    assert study.user_attrs[StudyAttrs.OBJECTIVE] == {"metric": "val_acc", "mode": "max"}
    stored = study.user_attrs[StudyAttrs.SPACE]["space"]
    assert stored["attention.pooling"] == {"grid": ["gap", "max", "srp-ms"]}
    cells = _cells(study.trials)
    assert len(cells) == 8 and set(cells.values()) == {1}  # 4 grid points x 2 seeds, once each
    for t in study.trials:
        a = t.user_attrs
        assert a[TrialAttrs.CONFIG]["seed"] == t.params["seed"]
        assert a[TrialAttrs.CONFIG]["attention"]["pooling"] == t.params["attention.pooling"]
        assert a[TrialAttrs.CONFIG_KEY] and a[TrialAttrs.N_PARAMS] == 1234
        assert a[TrialAttrs.DEVICE] == "cpu" and "/" in a[TrialAttrs.NODE] and a[TrialAttrs.WALL_TIME] > 0
        # every attribute the trial function returns is kept (the trainer's environment, cost)
        assert a[TrialAttrs.ENVIRONMENT] == {"trial_fn": "sleep_trial", "device": "cpu", "threads": 1}
        assert a[TrialAttrs.COST] == {"params": 1234, "flops": 5678}
        assert len(a[TrialAttrs.CURVES]["val_acc"]) == 2 and set(t.intermediate_values) == {1, 2}
        assert t.value == pytest.approx(a[TrialAttrs.METRICS]["val_acc"])
    # seeds of one configuration share the config key
    keys = Counter(t.user_attrs[TrialAttrs.CONFIG_KEY] for t in study.trials)
    assert set(keys.values()) == {2}
    # the best is the configuration with the best mean over its seeds (poolnas.evidence, issue 13)
    runs: dict[str, list[float]] = {}
    for t in study.trials:
        runs.setdefault(t.user_attrs[TrialAttrs.CONFIG_KEY], []).append(t.value)
    assert res.best["mean"] == pytest.approx(max(sum(v) / len(v) for v in runs.values()))
    assert res.best["n"] == 2

    # the same command again: nothing left to run, nothing re-run
    again = run_sweep(space, storage=url, trial_fn=FAST, quiet=True)
    assert again.ran == 0 and again.counts == {"COMPLETE": 8}

    status, body = _dashboard_get(url, "/api/studies")
    assert status.startswith("200")
    listed = {s["study_name"]: s for s in body["study_summaries"]}
    assert "grid" in listed
    sid = listed["grid"]["study_id"]
    status, detail = _dashboard_get(url, f"/api/studies/{sid}")
    assert status.startswith("200") and len(detail["trials"]) == 8
    assert all(t["state"] == "Complete" for t in detail["trials"])


def test_failing_and_nan_trials_are_fail_with_reason_and_the_sweep_goes_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("fails", repeats=3, pooling=["gap", "max"])
    space = space_from_dict(doc)
    res = run_sweep(space, storage=url, trial_fn=functools.partial(raising_trial, fail_above=0.5),
                    quiet=True)
    study = optuna.load_study(study_name="fails", storage=url)
    expect_fail = {t.number for t in study.trials
                   if score_of(space.to_trial_config(t.params)) > 0.5}
    assert 0 < len(expect_fail) < 6  # the fixed seeds give both outcomes
    for t in study.trials:
        if t.number in expect_fail:
            assert t.state == TrialState.FAIL
            assert t.user_attrs[TrialAttrs.FAIL_REASON].startswith("RuntimeError: boom in trial")
        else:
            assert t.state == TrialState.COMPLETE and TrialAttrs.FAIL_REASON not in t.user_attrs
    assert res.counts == {"FAIL": len(expect_fail), "COMPLETE": 6 - len(expect_fail)}

    res = run_sweep(space, storage=url, study="nan", trial_fn=nan_trial, quiet=True)
    assert res.counts == {"FAIL": 6} and res.best is None
    study = optuna.load_study(study_name="nan", storage=url)
    assert all(t.user_attrs[TrialAttrs.FAIL_REASON].startswith("nan: loss became nan")
               for t in study.trials)


def test_asha_stops_weak_trials_as_pruned_with_intermediate_values(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("asha", repeats=1, epochs=4, scheduler="asha")
    doc["scheduler"] = {"type": "asha", "grace_period": 1, "reduction_factor": 2}
    doc["space"] = {"attention.reduction": {"grid": [2, 3, 4, 5, 6, 7, 8, 9]}}
    res = run_sweep(space_from_dict(doc), storage=url, max_concurrent=2,
                    trial_fn=functools.partial(sleep_trial, epoch_s=0.2), quiet=True)
    study = optuna.load_study(study_name="asha", storage=url)
    states = Counter(t.state for t in study.trials)
    assert states[TrialState.PRUNED] >= 1 and states[TrialState.COMPLETE] >= 1
    assert sum(states.values()) == 8 and res.counts.get("FAIL", 0) == 0
    for t in study.trials:
        if t.state == TrialState.PRUNED:
            assert 1 <= len(t.intermediate_values) < 4
            assert TrialAttrs.METRICS not in t.user_attrs  # never finished
            assert t.value == t.intermediate_values[max(t.intermediate_values)]
        else:
            assert sorted(t.intermediate_values) == [1, 2, 3, 4]
            assert len(t.user_attrs[TrialAttrs.CURVES]["val_acc"]) == 4


def test_resume_marks_running_trials_failed_and_runs_them_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = space_from_dict(_grid("resume", repeats=1, pooling=["gap", "max", "srp-ms"]))
    res = run_sweep(space, storage=url, trials=2, trial_fn=FAST, quiet=True)
    assert res.counts == {"COMPLETE": 2}
    # a driver killed mid-trial leaves a RUNNING trial behind
    study = optuna.load_study(study_name="resume", storage=url)
    study.enqueue_trial({"attention.pooling": "srp-ms", "attention.M": 2})
    left = study.ask()
    space.define_by_run(left)
    stuck = dict(left.params)
    assert stuck == {"attention.pooling": "srp-ms", "attention.M": 2}
    res = run_sweep(space, storage=url, resume=True, trial_fn=FAST, quiet=True)
    assert res.recovered == 1
    study = optuna.load_study(study_name="resume", storage=url)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == [left.number]
    assert failed[0].user_attrs[TrialAttrs.FAIL_REASON].startswith(INTERRUPTED)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    cells = _cells(complete)
    assert len(cells) == 4 and set(cells.values()) == {1}  # every grid point once
    assert json.dumps(stuck, sort_keys=True) in cells  # the interrupted cell ran again
    assert res.counts == {"COMPLETE": 4, "FAIL": 1}


def test_study_name_with_another_space_writes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    run_sweep(space_from_dict(grid_space("same")), storage=url, trial_fn=FAST, quiet=True)
    before = [(t.number, t.state) for t in optuna.load_study(study_name="same", storage=url).trials]
    with pytest.raises(ConfigError, match="with another space"):
        run_sweep(space_from_dict(grid_space("same", pooling=["min"])), storage=url,
                  trial_fn=FAST, quiet=True)
    after = [(t.number, t.state) for t in optuna.load_study(study_name="same", storage=url).trials]
    assert after == before


def test_a_worker_that_dies_is_fail_with_the_reason(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    res = run_sweep(space_from_dict(grid_space("crash", pooling=["gap"])), storage=url,
                    trial_fn=crashing_trial, quiet=True)
    assert res.counts == {"FAIL": 1}
    (trial,) = optuna.load_study(study_name="crash", storage=url).trials
    reason = trial.user_attrs[TrialAttrs.FAIL_REASON]
    assert reason.startswith("worker died") or "exit" in reason.lower(), reason
