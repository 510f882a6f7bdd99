"""A trial worker imports what a trial needs and no more (issue 20 item 2): no plotting, no
study storage, no statistics libraries."""

from __future__ import annotations

import functools
from pathlib import Path

import optuna
import pytest
from _sweep_spaces import grid_space

from poolnas.records import TrialAttrs
from poolnas.search import run_sweep
from poolnas.spaces import space_from_dict
from poolnas.testing.fake_trials import modules_trial
from poolnas.trainers import train

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_local")]

# What the report, the dashboard, the database and the statistics need, not a trial.
_NOT_IN_A_WORKER = {"plotly", "optuna", "optuna_dashboard", "scipy", "sklearn", "sqlalchemy",
                    "alembic", "kaleido", "matplotlib"}


def test_a_real_trials_worker_imports_no_report_storage_or_statistics(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    res = run_sweep(space_from_dict(grid_space("lean", pooling=["gap"])), storage=url,
                    trial_fn=functools.partial(modules_trial, inner=train), quiet=True)
    assert res.counts == {"COMPLETE": 1}
    (trial,) = optuna.load_study(study_name="lean", storage=url).trials
    modules = set(trial.user_attrs[TrialAttrs.ENVIRONMENT]["modules"])
    assert {"torch", "ray", "poolnas"} <= modules  # it did train, in a Ray worker
    assert not modules & _NOT_IN_A_WORKER, sorted(modules & _NOT_IN_A_WORKER)
    assert trial.user_attrs[TrialAttrs.PEAK_RSS_MB] > 100  # torch alone is more

