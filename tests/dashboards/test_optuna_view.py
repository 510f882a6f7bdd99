"""Optuna's plots read the trials through a Study on a read-only storage (``_study``): the same
figures as an in-memory Study filled with ``add_trials`` (what the report used before), the
trials numbered in the order given, copies for ``deepcopy=True`` reads, and no writes."""

from __future__ import annotations

import optuna
import optuna.visualization as vis
import pytest
from optuna.trial import TrialState, create_trial

from poolnas.dashboards.optuna_figures import _study
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S


def _in_memory(trials, direction):
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), direction=direction,
                                study_name="poolnas-view")
    study.add_trials([create_trial(state=t.state, values=t.values[:1] if t.values else None,
                                   params=t.params, distributions=t.distributions)
                      for t in trials if t.state.is_finished()])
    return study


@pytest.fixture(scope="module")
def trials():
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = S.create("view")
    S.fill(study, [({"attention.pooling": p, "attention.lam": lam, "attention.M": m},
                    [0.5 + lam / 10 + m / 100, 0.52 + lam / 20])
                   for p in ("srp-ss", "srp-ms") for lam in (0.2, 0.6, 1.0) for m in (1, 3)])
    S.add_trial(study, {"attention.pooling": "gap"}, 0, None, state=TrialState.FAIL)
    return from_study(study).trials


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
def test_the_plots_draw_the_same_figures(trials, direction) -> None:
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    ours, theirs = _study(complete[::-1], direction), _in_memory(complete[::-1], direction)
    params = ["attention.lam", "attention.M", "attention.pooling"]
    for plot in (vis.plot_optimization_history, lambda s: vis.plot_parallel_coordinate(s, params=params),
                 lambda s: vis.plot_contour(s, params=params[:2]),
                 lambda s: vis.plot_slice(s, params=params)):
        assert plot(ours).to_json() == plot(theirs).to_json()
    assert ours.direction == theirs.direction and ours.best_trial.number == theirs.best_trial.number
    assert [t.number for t in ours.trials] == list(range(len(complete)))
    assert [t.params for t in ours.trials] == [t.params for t in complete[::-1]]


def test_reads_copy_and_writes_are_refused(trials) -> None:
    study = _study(trials, "maximize")
    assert len(study.trials) == sum(t.state.is_finished() for t in trials)  # the failed one too
    study.trials[0].params["attention.lam"] = -1.0  # a deep copy: the view keeps its own
    assert study.get_trials(deepcopy=False)[0].params["attention.lam"] != -1.0
    # the trials read are not the view's: its params are its own dicts
    assert study.get_trials(deepcopy=False)[0].params is not trials[0].params
    with pytest.raises(NotImplementedError, match="read-only"):
        study.set_user_attr("x", 1)
    with pytest.raises(NotImplementedError, match="read-only"):
        study.ask()
