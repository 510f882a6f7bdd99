"""Study set-up around a sweep's start, on a real local Ray with real SQLite and PostgreSQL: a
start that fails leaves no empty study behind, and execution settings (``resources``,
``--max-concurrent``) are not part of a study's identity."""

from __future__ import annotations

import functools
from collections import Counter
from pathlib import Path

import optuna
import pytest
from _sweep_spaces import grid_space

from poolnas.errors import ConfigError
from poolnas.search import run_sweep
from poolnas.spaces import space_from_dict
from poolnas.testing.fake_trials import sleep_trial

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_local")]

FAST = functools.partial(sleep_trial, epoch_s=0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/s.db"
    return request.getfixturevalue("postgres_url")


def _names(url: str) -> list[str]:
    return optuna.get_all_study_names(storage=url)


def test_a_sweep_that_cannot_start_leaves_no_study_behind(
        url: str, request: pytest.FixtureRequest) -> None:
    study = f"too-big-{request.node.callspec.id}"
    doc = grid_space(study)
    doc["resources"] = {"cpu": 64, "gpu": 0}  # the local Ray of the tests has 2 CPUs
    with pytest.raises(ConfigError, match=r"resources\.cpu: 64.* the Ray cluster has 2 CPUs"):
        run_sweep(space_from_dict(doc), storage=url, trial_fn=FAST, quiet=True)
    assert study not in _names(url)
    # fixed, the same command starts the study afresh
    doc["resources"] = {"cpu": 1, "gpu": 0}
    res = run_sweep(space_from_dict(doc), storage=url, trial_fn=FAST, quiet=True)
    assert res.counts == {"COMPLETE": 2} and study in _names(url)


def test_a_failed_start_keeps_a_study_that_has_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("kept", pooling=["gap", "max"])
    assert run_sweep(space_from_dict(doc), storage=url, trials=1, trial_fn=FAST,
                     quiet=True).counts == {"COMPLETE": 1}
    doc["resources"] = {"cpu": 64, "gpu": 0}
    with pytest.raises(ConfigError, match="resources.cpu"):
        run_sweep(space_from_dict(doc), storage=url, trial_fn=FAST, quiet=True)
    trials = optuna.load_study(study_name="kept", storage=url).trials
    assert [t.state.name for t in trials] == ["COMPLETE"]


def test_new_resources_and_max_concurrent_continue_the_same_study(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("exec", pooling=["gap", "max", "min"])
    run_sweep(space_from_dict(doc), storage=url, trials=1, max_concurrent=1, trial_fn=FAST,
              quiet=True)
    doc["resources"] = {"cpu": 2, "gpu": 0}
    res = run_sweep(space_from_dict(doc), storage=url, max_concurrent=2, trial_fn=FAST,
                    quiet=True)
    assert res.counts == {"COMPLETE": 3} and res.target == 3
    trials = optuna.load_study(study_name="exec", storage=url).trials
    assert Counter(t.params["attention.pooling"] for t in trials) == \
        Counter({"gap": 1, "max": 1, "min": 1})
