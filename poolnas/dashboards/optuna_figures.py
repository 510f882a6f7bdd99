"""Optuna's own plots (history, parallel coordinate, contour, slice) and the parameter
importances, kept cheap for large studies and guarded where a plot cannot be drawn.

The trials already read into :class:`StudyData` are handed to Optuna's plots in one Study on a
read-only storage over them (``optuna.Study`` on a ``BaseStorage``, public API; no storage
query, no copies), built once and shared by the four plots.
``seed`` is never a plotted parameter. Above ``max_trials`` complete trials that Study holds a
sample: every trial that set a new best (so the history's best-value line is exact at each
point drawn), the best tenth of the sample, the rest drawn at random with a fixed seed; each
plot says so in its title, and the history shows the study's own trial numbers. Optuna draws
the parallel coordinate as one SVG line per trial (a plotly trace each: ~2 s of validation and
a slow page at 500), so it gets a smaller sample of that sample (``max_parallel_trials``).

Importances are not Optuna's: ``optuna.importance`` imports scikit-learn whichever evaluator
is used (its fANOVA module imports it at import time: 4.5-6 s of a cold report on a 2-core
machine). :func:`anova_importances` is a numpy one-way ANOVA instead: for each parameter, the
share of the variance of the objective that its values alone explain, the effect size ε²
(Kelley 1935; the correlation ratio η² corrected for the number of levels, so a parameter with
no effect scores about 0 however many values it takes). It is the empirical counterpart of fANOVA's
main-effect importance (the variance of a parameter's marginal over the total variance), read
from the trials' group means instead of a random forest's. It uses every complete trial (no sample) and every
parameter that varies and every trial carries. In a multi-objective study every plot is of the
first objective (the in-memory Study is single-objective, holding each trial's first value).
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from poolnas.dashboards._theme import white
from poolnas.process_settings import optuna_verbosity
from poolnas.studies.reader import StudyData

__all__ = ["OptunaPlot", "anova_importances", "optuna_plots", "param_importances"]

IMPORTANCE_BINS = 10  # a numeric parameter with more distinct values is cut into this many quantile bins


class OptunaPlot(NamedTuple):
    key: str
    title: str
    figure: Any | None  # None when skipped
    skipped: str | None  # why it was skipped


@functools.lru_cache(maxsize=1)
def _view_storage() -> type:
    """:class:`optuna.storages.BaseStorage` (public: Optuna's base for custom storages) over
    trials already read, read-only: a Study on it hands Optuna's plots those trials as they are.
    An ``InMemoryStorage`` filled with ``add_trials`` validated each trial twice and deep-copied
    it (~0.2-0.4 s of a cold report for the 500 + 200 trials, issue 20 item 3); ``deepcopy=True``
    reads still get copies. Every method that writes raises."""
    import copy

    from optuna.storages import BaseStorage
    from optuna.study import StudyDirection

    class TrialsView(BaseStorage):
        name = "poolnas-view"

        def __init__(self, trials: list[Any], direction: str) -> None:
            self._trials = trials
            self._direction = StudyDirection.MAXIMIZE if direction == "maximize" else StudyDirection.MINIMIZE

        def _read_only(self, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("a read-only view of the trials already read, for Optuna's plots")

        create_new_study = delete_study = set_study_user_attr = set_study_system_attr = _read_only
        get_all_studies = _read_only  # one study, not a store of studies: the plots never list
        create_new_trial = set_trial_param = set_trial_state_values = _read_only
        set_trial_intermediate_value = set_trial_user_attr = set_trial_system_attr = _read_only

        def get_study_id_from_name(self, study_name: str) -> int:
            if study_name != self.name:
                raise KeyError(study_name)
            return 0

        def get_study_name_from_id(self, study_id: int) -> str:
            return self.name

        def get_study_directions(self, study_id: int) -> list[Any]:
            return [self._direction]

        def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
            return {}

        def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
            return {}

        def get_trial(self, trial_id: int) -> Any:
            return copy.deepcopy(self._trials[trial_id])

        def get_trial_id_from_study_id_trial_number(self, study_id: int, trial_number: int) -> int:
            return trial_number  # numbered 0, 1, ... as their ids

        def get_all_trials(self, study_id: int, deepcopy: bool = True, states: Any = None) -> list[Any]:
            trials = self._trials if states is None else [t for t in self._trials if t.state in states]
            return copy.deepcopy(trials) if deepcopy else list(trials)

    return TrialsView


def _study(trials: Sequence[Any], direction: str) -> Any:
    """A Study over the finished trials already read (public API: ``optuna.Study`` on a
    :class:`~optuna.storages.BaseStorage`, :func:`_view_storage`), for Optuna's plots, which
    read a Study. The storage is never queried again. Its trials are numbered 0, 1, ... in the
    order given (the history maps them back), as ``add_trials`` into an in-memory Study numbered
    them, and hold only what the plots read: state, the first value, params and distributions
    (their user attributes, configs and curves, stay out)."""
    import datetime

    import optuna
    from optuna.trial import FrozenTrial

    now = datetime.datetime.now()  # as create_trial stamps a finished trial
    kept = [FrozenTrial(number=i, trial_id=i, state=t.state, value=None,
                        values=t.values[:1] if t.values else None, datetime_start=now,
                        datetime_complete=now, params=dict(t.params),
                        distributions=dict(t.distributions), user_attrs={}, system_attrs={},
                        intermediate_values={})
            for i, t in enumerate(t for t in trials if t.state.is_finished())]
    view = _view_storage()(kept, direction)
    return optuna.Study(study_name=view.name, storage=view)


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


def _levels(column: Sequence[Any], bins: int) -> Any:
    """Integer level codes of one parameter's values: one level per distinct value; a numeric
    parameter with more than ``bins`` distinct values is cut at its quantiles into ``bins``."""
    import numpy as np

    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column)
    if not numeric:
        _, codes = np.unique(np.array([repr(v) for v in column]), return_inverse=True)
        return codes
    x = np.asarray(column, dtype=float)
    distinct, codes = np.unique(x, return_inverse=True)
    if len(distinct) <= bins:
        return codes
    edges = np.quantile(x, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    return np.unique(np.searchsorted(edges, x, side="right"), return_inverse=True)[1]


def anova_importances(values: Sequence[float], columns: Mapping[str, Sequence[Any]], *,
                      bins: int = IMPORTANCE_BINS) -> dict[str, float]:
    """ε² of each parameter, most important first: one-way ANOVA of ``values`` on that
    parameter's levels (``columns[name][i]`` is trial i's value; :func:`_levels`),

        ε² = (SS_between - (k - 1) MS_within) / SS_total,  clipped at 0

    with k levels (Kelley 1935). SS_between / SS_total is the correlation ratio η², the share
    of the variance the parameter's group means explain; ε² removes its expected value under
    no effect, (k - 1) / (n - 1) of the variance. Values are not normalised to sum to 1:
    the rest is interactions and seed noise."""
    import numpy as np

    y = np.asarray(values, dtype=float)
    n, total = len(y), float(((y - y.mean()) ** 2).sum())
    out: dict[str, float] = {}
    for name, column in columns.items():
        codes = _levels(column, bins)
        counts = np.bincount(codes)
        means = np.bincount(codes, weights=y) / counts
        k = len(counts)
        between = float((counts * (means - y.mean()) ** 2).sum())
        within = (total - between) / (n - k) if n > k else 0.0
        out[name] = max(0.0, (between - (k - 1) * within) / total) if total > 0 else 0.0
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def param_importances(data: StudyData) -> dict[str, float]:
    """Importance (ε², :func:`anova_importances`) per searched parameter (seed left out), most
    important first, over every complete trial: the numbers of the report's importance plot,
    also served to optuna-dashboard so the two agree. Empty below two complete trials, when no
    parameter varies or when every trial has the same value."""
    from optuna.trial import TrialState

    complete = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values]
    params = _shared_params(complete, _varying_params(complete))
    if len(complete) < 2 or not params or len({t.values[0] for t in complete}) < 2:
        return {}  # every trial the same value: no parameter explains a variance of zero
    return anova_importances([t.values[0] for t in complete],
                             {p: [t.params[p] for t in complete] for p in params})


def _sample(complete: list[Any], n: int, maximize: bool) -> list[Any]:
    """At most about ``n`` trials in number order: every trial that set a new best, the best
    tenth of ``n``, the rest at random (seeded); all of them when there are no more than ``n``."""
    if len(complete) <= n:
        return complete
    by_number = sorted(complete, key=lambda t: t.number)
    records, best = [], -math.inf
    for t in by_number:  # the trials that set a new best: the history's best line stays exact
        v = t.values[0] if maximize else -t.values[0]
        if v > best:
            records.append(t)
            best = v
    ranked = sorted(complete, key=lambda t: t.values[0], reverse=maximize)
    keep = {t.number: t for t in ranked[: n // 10] + records}  # the best tenth: the region users look at
    rest = [t for t in ranked[n // 10:] if t.number not in keep]
    chosen = list(keep.values()) + random.Random(0).sample(rest, max(0, min(len(rest), n - len(keep))))
    return sorted(chosen, key=lambda t: t.number)


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


def _importance_figure(importances: dict[str, float], metric: str, n: int) -> Any:
    """Horizontal bars, the least important at the bottom (as Optuna draws its own)."""
    import plotly.graph_objects as go

    names = list(importances)[::-1]
    values = [importances[k] for k in names]
    return go.Figure(go.Bar(x=values, y=names, orientation="h", text=[f"{v:.2f}" for v in values],
                            textposition="outside", hovertemplate="%{y}: ε² = %{x:.3f}<extra></extra>"),
                     layout=go.Layout(xaxis={"title": f"ε²: share of the variance of {metric} explained "
                                                      f"by the parameter alone ({n} trials)",
                                             "rangemode": "tozero"}, yaxis={"title": "parameter"}))


def optuna_plots(data: StudyData, *, max_trials: int = 500, max_parallel_trials: int = 200,
                 max_contour_params: int = 3, webgl_above: int = 500) -> list[OptunaPlot]:
    """Optuna's plots for the study, each drawn or skipped with a reason (never raising).

    Optuna logs at WARNING while they are drawn (the in-memory studies would announce
    themselves at INFO); the caller's log level is restored afterwards."""
    import optuna

    with optuna_verbosity(optuna.logging.WARNING):  # the caller's level is restored
        return _draw_plots(data, max_trials=max_trials, max_parallel_trials=max_parallel_trials,
                           max_contour_params=max_contour_params, webgl_above=webgl_above)


def _draw_plots(data: StudyData, *, max_trials: int, max_parallel_trials: int, max_contour_params: int,
                webgl_above: int) -> list[OptunaPlot]:
    import optuna.visualization as vis
    from optuna.trial import TrialState

    complete = [t for t in data.trials if t.state == TrialState.COMPLETE and t.values]
    params = _varying_params(complete)
    maximize = data.maximize
    plots: list[OptunaPlot] = []
    chosen = _sample(complete, max_trials, maximize)
    few = _sample(chosen, max_parallel_trials, maximize)  # the parallel coordinate: a line per trial

    def note(drawn: list[Any]) -> str:
        return (f" ({len(drawn)} of {len(complete)} trials: every new best, the best tenth, "
                "the rest at random)") if len(drawn) < len(complete) else ""

    n_note = note(chosen)

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
        white(fig.update_layout(title=title + first))
        plots.append(OptunaPlot(key, title, fig, None))

    # One in-memory Study for the four Optuna plots, built once (the sample when the study is large).
    shared = _study(chosen, data.direction) if complete else None
    no_trials = None if complete else "no complete trials yet"
    no_params = no_trials or (None if params else "no parameter varies across complete trials")

    def history() -> Any:
        fig = vis.plot_optimization_history(shared)
        numbers = [t.number for t in chosen]  # the in-memory Study numbered the sample 0, 1, ...
        for trace in fig.data:
            if trace.x is not None:
                trace.x = [numbers[int(i)] for i in trace.x]
        return _webgl(fig) if len(chosen) > webgl_above else fig

    add("history", "Optimization history" + n_note, history, no_trials)

    importance_params = _shared_params(complete, params)
    why = no_params or (None if len(complete) >= 2 else "needs at least 2 complete trials") or (
        None if importance_params else "no varying parameter is set in every trial (conditional parameters)")
    if why is None and len({t.values[0] for t in complete}) < 2:
        why = "every complete trial has the same value: no parameter explains a variance of zero"
    add("importances", f"Parameter importances (ε², one-way ANOVA on all {len(complete)} trials)",
        lambda: _importance_figure(param_importances(data), data.metric, len(complete)), why)
    add("parallel", "Parallel coordinate" + note(few),
        lambda: vis.plot_parallel_coordinate(shared if few is chosen else _study(few, data.direction),
                                             params=params), no_params)
    ranked = _ranked_params(next(p.figure for p in plots if p.key == "importances"), params)
    contour_params = ranked[:max_contour_params]
    add("contour", f"Contour ({', '.join(contour_params)})" + n_note,
        lambda: vis.plot_contour(shared, params=contour_params),
        no_params or (None if len(contour_params) >= 2 else "needs two parameters that vary"))

    def slices() -> Any:
        fig = vis.plot_slice(shared, params=params)
        return _webgl(fig) if len(chosen) > webgl_above else fig

    add("slice", "Slice" + n_note, slices, no_params)
    return plots
