"""The answer in one figure: the objective per pooling type (or per value of the parameter
that matters most), every seed a dot, and the best configuration at each value drawn with the
interval its verdict uses: the baseline's mean plus Δ, with the simultaneous 95% interval of Δ
(``poolnas.evidence.compare``), so a bar crosses the baseline's dashed line exactly when the
verdict is not "better" or "worse". Without a baseline: the mean with its 95% t-interval.

Which parameter: ``attention.pooling`` when the study ran more than one; otherwise the
searched parameter whose values' best means lie furthest apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from poolnas.dashboards._curves import sort_values
from poolnas.dashboards._theme import white
from poolnas.evidence import Configuration, evidence_of, mean_interval
from poolnas.studies.reader import StudyData, label

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["plot_verdict"]


class _Dot(NamedTuple):
    x: str
    y: float  # as drawn (accuracies in percent)
    seed: int | None
    trial: int
    config: str  # the configuration's other parameters, for the hover
    best_at_x: bool


class _Column(NamedTuple):
    x: str
    config: str  # the best configuration at this value
    mean: float  # the baseline's mean + Δ (paired); the mean without a baseline
    low: float | None  # the verdict's interval placed the same way; None: no interval
    high: float | None
    n: int
    near_best: bool  # indistinguishable from the study's best (or the best itself)
    verdict: str = ""  # against the baseline ("baseline" for it)
    delta: float | None = None  # Δ as drawn (percent for accuracies)
    n_pairs: int = 0


class _VerdictInfo(NamedTuple):
    x_key: str | None
    x_label: str
    y_label: str
    dots: list[_Dot]
    columns: list[_Column]
    baseline: tuple[str, float, float | None, float | None] | None  # label, mean, low, high


def _x_key(configs: list[Configuration]) -> str | None:
    if len({c.flat.get("attention.pooling") for c in configs}) > 1:
        return "attention.pooling"
    keys = sorted({k for c in configs for k in c.params})
    spread: dict[str, float] = {}
    for key in keys:
        best: dict[str, float] = {}
        for c in configs:  # best first: the first one seen at a value is the best there
            if key in c.params:
                best.setdefault(repr(c.params[key]), c.mean)
        if len(best) > 1:
            spread[key] = max(best.values()) - min(best.values())
    return max(spread, key=lambda k: spread[k]) if spread else None


def _describe(conf: Configuration, x_key: str | None) -> str:
    shown = [f"{k.split('.')[-1]}={label(v)}" for k, v in conf.params.items() if k != x_key]
    return ", ".join(shown) or "(no other parameter)"


def _get_verdict_info(data: StudyData) -> _VerdictInfo:
    ev = evidence_of(data)
    configs = ev.configs
    x_key = _x_key(configs)

    def x_of(c: Configuration) -> str:
        return label(c.flat.get(x_key)) if x_key else "all"

    near = {id(c.config) for c in ev.near_best}
    order = sort_values([c.flat.get(x_key) for c in configs]) if x_key else [None]
    best_at: dict[str, Configuration] = {}
    for c in configs:
        best_at.setdefault(x_of(c), c)
    dots = [_Dot(x_of(c), data.display(v), s, t, _describe(c, x_key), best_at[x_of(c)] is c)
            for c in configs for v, s, t in zip(c.values, c.seeds, c.trials, strict=True)]
    columns = []
    for value in order:
        x = label(value) if x_key else "all"
        if x not in best_at:
            continue
        c = best_at[x]
        comp = ev.comparison_of(c)
        base_mean = ev.baseline_config.mean if ev.baseline_config is not None else None
        vs_base = comp is not None and comp.verdict != "baseline" and comp.delta is not None
        if comp is not None and base_mean is not None and vs_base:
            at = base_mean + comp.delta
            has = comp.ci_low is not None and comp.ci_high is not None
            columns.append(_Column(x, _describe(c, x_key), data.display(at),
                                   data.display(base_mean + comp.ci_low) if has else None,  # type: ignore[operator]
                                   data.display(base_mean + comp.ci_high) if has else None,  # type: ignore[operator]
                                   c.n, id(c) in near, comp.verdict,
                                   data.display(comp.delta) - data.display(0.0), comp.n_pairs))
            continue
        iv = mean_interval(c) if comp is None else None  # the baseline itself: its line
        columns.append(_Column(x, _describe(c, x_key), data.display(c.mean),
                               data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None,
                               c.n, id(c) in near, comp.verdict if comp else "", None, c.n))
    base = None
    if ev.baseline_config is not None:
        iv = mean_interval(ev.baseline_config)
        base = (ev.baseline_text(), data.display(ev.baseline_config.mean),
                data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None)
    return _VerdictInfo(x_key, x_key or "configuration", data.value_label(), dots, columns, base)


def plot_verdict(data: StudyData) -> go.Figure:
    """The verdict figure (a Plotly figure)."""
    import plotly.graph_objects as go  # lazy: plotly loads with the first figure drawn

    info = _get_verdict_info(data)
    fig = go.Figure()
    cols = info.columns
    if info.baseline is not None:
        name, mean, _, _ = info.baseline
        xs = [c.x for c in cols] or ["all"]
        fig.add_trace(go.Scatter(x=[xs[0], xs[-1]], y=[mean, mean], mode="lines",
                                 name=f"baseline {name} (mean)",
                                 line={"dash": "dash", "color": "#555"}, hoverinfo="skip"))
    others = [d for d in info.dots if not d.best_at_x]
    best = [d for d in info.dots if d.best_at_x]
    for dots, name, color in ((others, "other configurations (a seed each)", "rgba(150,150,150,0.55)"),
                              (best, "best configuration here (a seed each)", "rgba(31,119,180,0.8)")):
        if dots:
            fig.add_trace(go.Box(
                x=[d.x for d in dots], y=[d.y for d in dots], name=name, boxpoints="all", jitter=0.5,
                pointpos=0, fillcolor="rgba(0,0,0,0)", line={"color": "rgba(0,0,0,0)"},
                marker={"color": color, "size": 7}, customdata=[[d.seed, d.trial, d.config] for d in dots],
                hovertemplate="%{x}: %{y:.3f}<br>seed %{customdata[0]}, trial %{customdata[1]}"
                              "<br>%{customdata[2]}<extra></extra>"))
    vs = info.baseline is not None
    bar = ("baseline mean + Δ, simultaneous 95% interval of Δ (the verdict's)" if vs
           else "mean, 95% t-interval")
    for near, symbol, color, what in ((False, "diamond", "#1f77b4", ""),
                                      (True, "star", "#d62728", "; indistinguishable from the best")):
        part = [c for c in cols if c.near_best == near]
        if not part:
            continue
        fig.add_trace(go.Scatter(
            x=[c.x for c in part], y=[c.mean for c in part], mode="markers", name=bar + what,
            marker={"symbol": symbol, "size": 14, "color": color},
            error_y={"type": "data", "symmetric": False,
                     "array": [(c.high - c.mean) if c.high is not None else 0 for c in part],
                     "arrayminus": [(c.mean - c.low) if c.low is not None else 0 for c in part]},
            customdata=[[c.n, c.config, _hover_delta(c)] for c in part],
            hovertemplate="%{x}: %{y:.3f} (n=%{customdata[0]})<br>%{customdata[2]}<br>%{customdata[1]}"
                          "<extra></extra>"))
    sub = ("dots: every seed; markers: the best configuration at each value, at the baseline's mean + Δ with "
           "the verdict's simultaneous 95% interval (a bar off the dashed line: better or worse); stars: "
           "indistinguishable from the study's best" if vs else
           "dots: every seed; markers: the best configuration at each value, mean with 95% t-interval; "
           "stars: indistinguishable from the study's best")
    fig.update_layout(
        title=f"{info.y_label} per {info.x_label}<br><sup>{sub}</sup>",
        xaxis_title=info.x_label, yaxis_title=info.y_label, boxmode="overlay",
        legend={"orientation": "h", "y": -0.2})
    white(fig)
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[c.x for c in cols])
    return fig


def _hover_delta(c: _Column) -> str:
    if c.verdict == "baseline" or c.delta is None:
        return c.verdict or "mean"
    interval = "no interval" if c.low is None or c.high is None else (
        f"[{c.low - c.mean + c.delta:+.3f}, {c.high - c.mean + c.delta:+.3f}]")
    return f"Δ {c.delta:+.3f} {interval}, n_pairs {c.n_pairs}: {c.verdict}"
