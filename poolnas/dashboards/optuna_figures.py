"""Optuna's own plots (history, importances, parallel coordinate, contour, slice), kept
cheap for large studies and guarded where a plot cannot be drawn.

The trials already read into :class:`StudyData` are handed to the plots in an in-memory Study
(``add_trials``, public API; no storage query). ``seed`` is never a plotted parameter. Above
``max_trials`` complete trials, the parallel coordinate, contour and slice plots draw a
sample (every best trial kept, the rest drawn at random with a fixed seed) and say so in their title; the
history always shows every trial. Importances
use fANOVA with fewer, shallower trees on at most ``max_importance_trials`` trials.
In a multi-objective study every plot is of the first objective (the in-memory Study is
single-objective, holding each trial's first value).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from poolnas.process_settings import optuna_verbosity
from poolnas.studies.reader import StudyData

__all__ = ["OptunaPlot", "importance_evaluator", "optuna_plots", "param_importances"]


class OptunaPlot(NamedTuple):
    key: str
    title: str
    figure: Any | None  # None when skipped
    skipped: str | None  # why it was skipped


def _study(trials: Sequence[Any], direction: str) -> Any:
    """An in-memory Study holding the trials already read (public API only: ``add_trials``),
    for Optuna's plots, which read a Study. The storage is never queried again."""
    import optuna
    from optuna.trial import create_trial

    study = optuna.create_study(storage=optuna.storages.InMemoryStorage(), direction=direction,
                                study_name="poolnas-view")
    # Only what the plots read: storing user attributes (configs, curves) would copy them all.
    study.add_trials([create_trial(state=t.state, values=t.values[:1] if t.values else None, params=t.params,
                                   distributions=t.distributions) for t in trials if t.state.is_finished()])
    return study


def _varying_params(trials: Sequence[Any]) -> list[str]:
    """Params that vary across the trials, never ``seed``: seeds are replicates, not a design
    choice (contour, slice and importances show what the space searched)."""
    values: dict[str, set[str]] = {}
    for t in trials:
        for k, v in t.params.items():
            if k != "seed":
                values.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vs in values.items() if len(vs) > 1)


def _shared_params(trials: Sequence[Any], params: list[str]) -> list[str]:
    """The varying params every trial has: importances need each trial to carry all of them
    (a conditional parameter such as λ, absent for gap, is left out, as Optuna does)."""
    return [p for p in params if all(p in t.params for t in trials)]


def importance_evaluator() -> Any:
    """The one evaluator of parameter importances (the report and the figure attached to the
    dashboard use it, so they agree): fANOVA with fewer, shallower trees, seeded."""
    from optuna.importance import FanovaImportanceEvaluator

    return FanovaImportanceEvaluator(n_trees=16, max_depth=8, seed=0)


def param_importances(data: StudyData, *, max_importance_trials: int = 500) -> dict[str, float]:
    """Importance per searched parameter (seed left out), most important first: the numbers
    of the report's importance plot, also served to optuna-dashboard so the two agree.
    Empty below two complete trials, when no parameter varies or when every trial has the
    same value."""
    import optuna
    from optuna.trial import TrialState

    complete = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values]
    params = _shared_params(complete, _varying_params(complete))
    if len(complete) < 2 or not params or len({t.values[0] for t in complete}) < 2:
        return {}  # every trial the same value: no parameter explains a variance of zero
    sub = _study(_sample(complete, max_importance_trials, data.maximize), data.direction)
    try:
        return optuna.importance.get_param_importances(sub, evaluator=importance_evaluator(), params=params)
    except RuntimeError as err:  # fANOVA on a sample whose values do not vary
        if "zero total variance" in str(err):
            return {}
        raise


def _sample(complete: list[Any], n: int, maximize: bool) -> list[Any]:
    if len(complete) <= n:
        return complete
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximize)
    keep = ranked[: n // 10]  # the best tenth of the sample: the region users look at
    rest = random.Random(0).sample(ranked[n // 10:], n - len(keep))
    return sorted(keep + rest, key=lambda t: t.number)


def _ranked_params(importance_fig: Any | None, params: list[str]) -> list[str]:
    """Params, most important first when the importance plot was drawn (its bars run from
    the least to the most important)."""
    if importance_fig is None or not importance_fig.data:
        return params
    names = [str(n) for n in importance_fig.data[0].y if n in params][::-1]
    return names + [p for p in params if p not in names]


def _webgl(fig: Any) -> Any:
    """Scatter traces as Scattergl: thousands of SVG points make a page crawl."""
    import plotly.graph_objects as go

    data = []
    for trace in fig.data:
        if trace.type == "scatter":
            spec = trace.to_plotly_json()
            spec.pop("type", None)
            spec.pop("cliponaxis", None)
            data.append(go.Scattergl(**spec))
        else:
            data.append(trace)
    return go.Figure(data=data, layout=fig.layout)


def optuna_plots(data: StudyData, *, max_trials: int = 500, max_importance_trials: int = 500,
                 max_contour_params: int = 3, webgl_above: int = 500) -> list[OptunaPlot]:
    """Optuna's plots for the study, each drawn or skipped with a reason (never raising).

    Optuna logs at WARNING while they are drawn (the in-memory studies would announce
    themselves at INFO); the caller's log level is restored afterwards."""
    import optuna

    with optuna_verbosity(optuna.logging.WARNING):  # the caller's level is restored
        return _draw_plots(data, max_trials=max_trials, max_importance_trials=max_importance_trials,
                           max_contour_params=max_contour_params, webgl_above=webgl_above)


def _draw_plots(data: StudyData, *, max_trials: int, max_importance_trials: int,
                max_contour_params: int, webgl_above: int) -> list[OptunaPlot]:
    import optuna.visualization as vis
    from optuna.trial import TrialState

    complete = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values]
    params = _varying_params(complete)
    maximize = data.maximize
    plots: list[OptunaPlot] = []
    n_note = f" ({max_trials} of {len(complete)} trials)" if len(complete) > max_trials else ""

    def add(key: str, title: str, make: Any, why: str | None = None) -> None:
        if why is not None:
            plots.append(OptunaPlot(key, title, None, why))
            return
        try:
            fig = make()
        except Exception as err:  # an Optuna plot that cannot be drawn is skipped, not fatal
            plots.append(OptunaPlot(key, title, None, f"{type(err).__name__}: {err}"))
            return
        first = f" ({data.metric}, the first objective)" if data.multi_objective else ""
        fig.update_layout(title=title + first, template="plotly_white")
        plots.append(OptunaPlot(key, title, fig, None))

    # The history indexes values by trial number: it gets every trial, in number order.
    full = _study(data.trials, data.direction) if complete else None
    sample = _study(_sample(complete, max_trials, maximize), data.direction) if complete else None
    no_trials = None if complete else "no complete trials yet"
    no_params = no_trials or (None if params else "no parameter varies across complete trials")

    def history() -> Any:
        fig = vis.plot_optimization_history(full)
        return _webgl(fig) if len(complete) > webgl_above else fig

    add("history", "Optimization history", history, no_trials)

    def importances() -> Any:
        sub = _study(_sample(complete, max_importance_trials, maximize), data.direction)
        return vis.plot_param_importances(sub, evaluator=importance_evaluator(), params=shared)

    shared = _shared_params(complete, params)
    why = no_params or (None if len(complete) >= 2 else "needs at least 2 complete trials") or (
        None if shared else "no varying parameter is set in every trial (conditional parameters)")
    imp_note = (f" (fANOVA on {max_importance_trials} of {len(complete)} trials)"
                if len(complete) > max_importance_trials else "")
    add("importances", "Parameter importances" + imp_note, importances, why)
    add("parallel", "Parallel coordinate" + n_note,
        lambda: vis.plot_parallel_coordinate(sample, params=params),
        no_params)
    ranked = _ranked_params(next(p.figure for p in plots if p.key == "importances"), params)
    contour_params = ranked[:max_contour_params]
    add("contour", f"Contour ({', '.join(contour_params)})" + n_note,
        lambda: vis.plot_contour(sample, params=contour_params),
        no_params or (None if len(contour_params) >= 2 else "needs two parameters that vary"))

    def slices() -> Any:
        fig = vis.plot_slice(sample, params=params)
        return _webgl(fig) if min(len(complete), max_trials) > webgl_above else fig

    add("slice", "Slice" + n_note, slices, no_params)
    return plots
