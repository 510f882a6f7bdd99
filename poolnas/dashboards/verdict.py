"""The answer in one figure: the objective per pooling type (or per value of the parameter
that matters most), every seed a dot, and the best configuration at each value drawn as its
mean with a 95% t-interval; the baseline's mean and interval as a band across.

Which parameter: ``attention.pooling`` when the study ran more than one; otherwise the
searched parameter whose values' best means lie furthest apart.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from poolnas.dashboards._curves import sort_values
from poolnas.evidence import Configuration, evidence_of, mean_interval
from poolnas.studies.reader import StudyData, label

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
    mean: float
    low: float | None  # 95% t-interval of the mean; None below two seeds
    high: float | None
    n: int
    near_best: bool  # within noise of the study's best (or the best itself)


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
        iv = mean_interval(c)
        columns.append(_Column(x, _describe(c, x_key), data.display(c.mean),
                               data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None,
                               c.n, id(c) in near))
    base = None
    if ev.baseline_config is not None:
        iv = mean_interval(ev.baseline_config)
        base = (ev.baseline_text(), data.display(ev.baseline_config.mean),
                data.display(iv[0]) if iv else None, data.display(iv[1]) if iv else None)
    return _VerdictInfo(x_key, x_key or "configuration", data.value_label(), dots, columns, base)


def plot_verdict(data: StudyData) -> Any:
    """The verdict figure (a Plotly figure)."""
    import plotly.graph_objects as go

    info = _get_verdict_info(data)
    fig = go.Figure()
    if info.baseline is not None:
        name, mean, low, high = info.baseline
        if low is not None:
            fig.add_hrect(y0=low, y1=high, fillcolor="rgba(120,120,120,0.15)", line_width=0)
        fig.add_hline(y=mean, line_dash="dash", line_color="#555",
                      annotation_text=f"baseline {name}", annotation_position="top left")
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
    cols = info.columns
    fig.add_trace(go.Scatter(
        x=[c.x for c in cols], y=[c.mean for c in cols], mode="markers", name="mean, 95% interval",
        marker={"symbol": ["star" if c.near_best else "diamond" for c in cols], "size": 14,
                "color": ["#d62728" if c.near_best else "#1f77b4" for c in cols]},
        error_y={"type": "data", "symmetric": False,
                 "array": [(c.high - c.mean) if c.high is not None else 0 for c in cols],
                 "arrayminus": [(c.mean - c.low) if c.low is not None else 0 for c in cols]},
        customdata=[[c.n, c.config] for c in cols],
        hovertemplate="%{x}: mean %{y:.3f} (n=%{customdata[0]})<br>%{customdata[1]}<extra></extra>"))
    fig.update_layout(
        title=f"{info.y_label} per {info.x_label}<br><sup>dots: every seed; diamonds: the best configuration "
              "at each value, mean with 95% t-interval; stars: within noise of the study's best</sup>",
        xaxis_title=info.x_label, yaxis_title=info.y_label, template="plotly_white", boxmode="overlay",
        legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=[c.x for c in cols])
    return fig
