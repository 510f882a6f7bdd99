"""Optuna's own plots (history, importances, parallel coordinate, contour, slice), kept
cheap for large studies and guarded where a plot cannot be drawn.

The trials already read into :class:`StudyData` are handed to the plots through a read-only
Study view (no storage query, no copy). Above ``max_trials`` complete trials, the parallel coordinate,
contour and slice plots draw a sample (every best trial kept, the rest drawn at random with
a fixed seed) and say so in their title; the history always shows every trial. Importances
use fANOVA with fewer, shallower trees on at most ``max_importance_trials`` trials.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, NamedTuple

from poolnas.dashboards._study import StudyData

__all__ = ["OptunaPlot", "optuna_plots"]


class OptunaPlot(NamedTuple):
    key: str
    title: str
    figure: Any | None  # None when skipped
    skipped: str | None  # why it was skipped


def _study(trials: Sequence[Any], direction: str) -> Any:
    """A read-only Study over trials already read. Optuna's plots call ``get_trials()`` with
    its default ``deepcopy=True``; copying 5,000 trials costs seconds, and no plot changes
    them, so this view hands out the list itself."""
    import optuna
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    class _TrialsView(optuna.Study):
        def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[Any]:
            return list(trials) if states is None else [t for t in trials if t.state in states]

        def _get_trials(self, deepcopy: bool = True, states: Any = None, use_cache: bool = False) -> list[Any]:
            return self.get_trials(states=states)

        @property
        def trials(self) -> list[Any]:
            return list(trials)

        @property
        def best_trial(self) -> Any:
            done = [t for t in trials if t.state == TrialState.COMPLETE]
            return (max if direction == "maximize" else min)(done, key=lambda t: t.value)

    storage = optuna.storages.InMemoryStorage()
    storage.create_new_study([StudyDirection.MAXIMIZE if direction == "maximize" else StudyDirection.MINIMIZE],
                             "poolnas-view")
    return _TrialsView(study_name="poolnas-view", storage=storage)


def _varying_params(trials: Sequence[Any]) -> list[str]:
    values: dict[str, set[str]] = {}
    for t in trials:
        for k, v in t.params.items():
            values.setdefault(k, set()).add(repr(v))
    return sorted(k for k, vs in values.items() if len(vs) > 1)


def _sample(complete: list[Any], n: int, maximize: bool) -> list[Any]:
    if len(complete) <= n:
        return complete
    ranked = sorted(complete, key=lambda t: t.value, reverse=maximize)
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
    """Optuna's plots for the study, each drawn or skipped with a reason (never raising)."""
    import optuna
    import optuna.visualization as vis
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    complete = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values is not None
                and len(t.values) == 1]
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
        fig.update_layout(title=title, template="plotly_white")
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
        from optuna.importance import FanovaImportanceEvaluator

        sub = _study(_sample(complete, max_importance_trials, maximize), data.direction)
        return vis.plot_param_importances(
            sub, evaluator=FanovaImportanceEvaluator(n_trees=16, max_depth=8, seed=0))

    why = no_params or (None if len(complete) >= 2 else "needs at least 2 complete trials")
    imp_note = (f" (fANOVA on {max_importance_trials} of {len(complete)} trials)"
                if len(complete) > max_importance_trials else "")
    add("importances", "Parameter importances" + imp_note, importances, why)
    add("parallel", "Parallel coordinate" + n_note, lambda: vis.plot_parallel_coordinate(sample, params=params),
        no_params)
    ranked = _ranked_params(plots[-1].figure, params)
    contour_params = ranked[:max_contour_params]
    add("contour", f"Contour ({', '.join(contour_params)})" + n_note,
        lambda: vis.plot_contour(sample, params=contour_params),
        no_params or (None if len(contour_params) >= 2 else "needs two parameters that vary"))

    def slices() -> Any:
        fig = vis.plot_slice(sample, params=params)
        return _webgl(fig) if min(len(complete), max_trials) > webgl_above else fig

    add("slice", "Slice" + n_note, slices, no_params)
    return plots
