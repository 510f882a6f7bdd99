"""Mean-and-band curves over one config key, shared by the line figures.

A curve is the objective averaged over every complete trial at one x (the seeds of a
configuration, and anything else the study varied there), with the sample standard
deviation as its band. Every series of a figure shares the union of x values; an x a
series has no trial at is ``None`` (drawn as a gap, not an error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from poolnas.dashboards._theme import white
from poolnas.evidence import evidence_of
from poolnas.studies.reader import Stat, StudyData, TrialRow, group, label, summarize

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["BAND", "Baseline", "CurveInfo", "Series", "baseline_line", "distinct", "line_figure",
           "series_over", "sort_values", "varying"]

BAND = "mean ± std over seeds"


class Series(NamedTuple):
    name: str
    x: list[Any]  # shared by every series of a figure (numbers, or labels for categories)
    mean: list[float | None]  # None: no trial there (a gap)
    std: list[float | None]  # None also for a single run (no spread)
    n: list[int]
    near_best: tuple[bool, ...] = ()  # a configuration there is within noise of the study's best


class Baseline(NamedTuple):
    """The baseline configuration as a line figure draws it (in the figure's y units)."""

    label: str
    y: float
    low: float | None  # mean ± std over its seeds (the figure's one kind of band); None for one seed
    high: float | None
    higher_is_better: bool
    n: int = 0


def baseline_line(data: StudyData, y: Callable[[float], float] | None = None,
                  higher_is_better: bool | None = None) -> Baseline | None:
    """The study's baseline (:func:`poolnas.evidence.evidence_of`) for a line figure, or None.
    Its band is mean ± std over its seeds, the same kind as the series' bands (:data:`BAND`)."""
    base = evidence_of(data).baseline_config
    if base is None:
        return None
    y = y or data.display
    stat = _display_stat(summarize(base.values), y)
    low, high = (stat.mean - stat.std, stat.mean + stat.std) if stat.n > 1 else (None, None)
    better = data.maximize if higher_is_better is None else higher_is_better
    return Baseline(evidence_of(data).baseline_text(), stat.mean, low, high, better, stat.n)


def sort_values(values: Sequence[Any]) -> list[Any]:
    """Numbers in numeric order, everything else by its label ("all" last)."""
    def key(v: Any) -> tuple[int, Any, str]:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return (0, float(v), "")
        if isinstance(v, tuple):
            return (1, len(v), label(v))
        return (2 if v is not None else 3, 0, label(v))

    return sorted(set(values), key=key)


def series_over(
    data: StudyData,
    x_key: str,
    series_keys: Sequence[str] = (),
    *,
    where: Callable[[TrialRow], bool] | None = None,
    y: Callable[[float], float] | None = None,
    categorical: bool = False,
    name: Callable[[tuple[Any, ...]], str] | None = None,
) -> list[Series]:
    """One series per distinct value of ``series_keys``, x = the value of ``x_key``.

    Args:
        data: the study.
        x_key: dotted config key on the x axis; trials without it are left out.
        series_keys: dotted config keys that split the trials into series.
        where: keep only the rows it accepts.
        y: transform of the objective value (default: ``data.display``).
        categorical: x values become labels (e.g. stage lists "1,2,3").
        name: series name from its key values (default "key=value, ...").
    """
    y = y or data.display
    near = {c.config.key for c in evidence_of(data).near_best}
    groups = group(data.rows, (x_key, *series_keys),
                   where=lambda r: x_key in r.flat and (where is None or where(r)))
    xs = sort_values([k[0] for k in groups])
    out = []
    for skey in sort_values([k[1:] for k in groups]) if series_keys else [()]:
        cells = [groups.get((x, *skey), []) for x in xs]
        stats = [_display_stat(summarize(r.value for r in rows), y) for rows in cells]
        title = name(skey) if name else ", ".join(f"{k.split('.')[-1]}={label(v)}"
                                                    for k, v in zip(series_keys, skey, strict=True))
        out.append(Series(
            name=title or data.metric,
            x=[label(x) for x in xs] if categorical else list(xs),
            mean=[s.mean if s.n else None for s in stats],
            std=[s.std if s.n > 1 else None for s in stats],
            n=[s.n for s in stats],
            near_best=tuple(any(r.config_key in near for r in rows) for rows in cells),
        ))
    return out


def _display_stat(stat: Stat, y: Callable[[float], float]) -> Stat:
    """A Stat of raw values drawn through ``y`` (percent, error): the mean transformed once,
    as compare and the report do (so the figures round the same number: 70.52 everywhere);
    std scaled by |y's slope|."""
    if not stat.n:
        return stat
    slope = abs(y(1.0) - y(0.0))
    return type(stat)(y(stat.mean), stat.std * slope, stat.n)


def distinct(data: StudyData, key: str, where: Callable[[TrialRow], bool] | None = None) -> set[Any]:
    return {r.flat.get(key) for r in data.rows if key in r.flat and (where is None or where(r))}


# Line colours that are neither red nor blue: the Δ colour scale (RdBu) gives those their
# meaning (better / worse than the baseline) in the same figure.
_COLORS = ("#2ca02c", "#9467bd", "#8c564b", "#17becf", "#e377c2", "#7f7f7f", "#bcbd22", "#ff7f0e")
DELTA_SCALE = "RdBu"  # blue: better than the baseline, red: worse (reversed when lower is better)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _baseline_traces(fig: go.Figure, base: Baseline) -> None:
    """The baseline's mean (dashed) and its mean ± std band, as legend entries; the band is a
    thin strip at the figure's left edge (x in paper units 0-0.03), not a wash over the plot."""
    if base.low is not None and base.high is not None:
        fig.add_shape(type="rect", xref="paper", x0=0.0, x1=0.03, y0=base.low, y1=base.high,
                      fillcolor="rgba(90,90,90,0.35)", line_width=0)
        fig.add_shape(type="line", xref="paper", x0=0.0, x1=1.0, y0=base.low, y1=base.low,
                      line={"color": "rgba(90,90,90,0.35)", "width": 1, "dash": "dot"})
        fig.add_shape(type="line", xref="paper", x0=0.0, x1=1.0, y0=base.high, y1=base.high,
                      line={"color": "rgba(90,90,90,0.35)", "width": 1, "dash": "dot"})
    fig.add_hline(y=base.y, line_dash="dash", line_color="#555")
    spread = "" if base.low is None else f" ± {(base.high - base.low) / 2:.2f} (std, n={base.n})"
    fig.add_trace(_legend_only(f"baseline {base.label}: {base.y:.2f}{spread}",
                               {"color": "#555", "dash": "dash"}))


def _legend_only(name: str, line: dict[str, Any], fill: str | None = None) -> go.Scatter:
    """A legend entry with no data (what a shape or a band means)."""
    # lazy: plotly loads with the first figure drawn; importing the figure modules stays light
    import plotly.graph_objects as go

    return go.Scatter(x=[None], y=[None], mode="lines", name=name, line=line, hoverinfo="skip",
                      fill="toself" if fill else None, fillcolor=fill)


def _delta_range(series: Sequence[Series], base: Baseline) -> float:
    """Half-range of the Δ colour scale: the largest |Δ|, at least the baseline's std, so
    differences within its seed-to-seed spread stay pale."""
    deltas = [abs(m - base.y) for s in series for m in s.mean if m is not None]
    noise = (base.high - base.low) / 2 if base.low is not None and base.high is not None else 0.0
    return max([*deltas, noise, 1e-12])


def _x_axis(fig: go.Figure, x_axis: str, xs: list[Any]) -> None:
    """``category``: one tick per value run (K = 1, 2, 4 has no 1.5); ``log2``: powers of two
    spaced evenly (R = 2 ... 32), ticks at the values run; ``linear``: as Plotly draws it."""
    if x_axis == "category":
        fig.update_xaxes(type="category", categoryorder="array", categoryarray=[label(x) for x in xs])
    elif x_axis == "log2":
        fig.update_xaxes(type="log", tickvals=xs, ticktext=[label(x) for x in xs])


def line_figure(series: Sequence[Series], *, title: str, x_title: str, y_title: str,
                categorical: bool = False, markers_only: bool = False,
                baseline: Baseline | None = None, x_axis: str | None = None,
                delta_label: str | None = None) -> go.Figure:
    """Lines with markers and a shaded mean ± std band per series; gaps stay gaps.

    With a ``baseline``: its mean (dashed) and mean ± std (dotted lines, a strip at the left
    edge), and every marker filled with its Δ from the baseline on a diverging scale centred
    on 0 (blue better, red worse), outlined in its series' colour (no series is red or
    blue). Markers within noise of the study's best are stars. ``x_axis``: "category",
    "log2" or "linear" (default: "category" when ``categorical``). The legend says what the
    bands are (mean ± std over seeds, one kind per figure).
    """
    import plotly.graph_objects as go

    x_axis = x_axis or ("category" if categorical else "linear")
    xs = sort_values([x for s in series for x in s.x if x is not None])  # before they become labels
    if x_axis == "category":  # labels, so Plotly cannot put numbers on a continuous axis
        series = [s._replace(x=[label(x) for x in s.x]) for s in series]
    fig = go.Figure()
    if baseline is not None:
        _baseline_traces(fig, baseline)
        half = _delta_range(series, baseline)
    banded = False
    for i, s in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        upper = [m + d if m is not None and d is not None else m for m, d in zip(s.mean, s.std, strict=True)]
        lower = [m - d if m is not None and d is not None else m for m, d in zip(s.mean, s.std, strict=True)]
        if any(d for d in s.std if d) and not markers_only:
            fig.add_trace(go.Scatter(x=s.x, y=upper, mode="lines", line={"width": 0},
                                     legendgroup=s.name, showlegend=False, hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=s.x, y=lower, mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_rgba(color, 0.18),
                                     legendgroup=s.name, showlegend=False, hoverinfo="skip"))
            banded = True
        stars = ["star" if nb else "circle" for nb in s.near_best] or "circle"
        marker: dict[str, Any] = {"color": color, "size": 13, "symbol": stars}
        if baseline is not None:
            marker.update(size=[18 if nb else 14 for nb in s.near_best] or 14,
                          color=[m - baseline.y if m is not None else None for m in s.mean],
                          colorscale=DELTA_SCALE if baseline.higher_is_better else DELTA_SCALE + "_r",
                          cmin=-half, cmax=half, cmid=0.0, line={"color": color, "width": 1.5},
                          showscale=i == 0, colorbar={"title": {"text": delta_label or "Δ vs baseline"},
                                                      "x": 1.08})
        fig.add_trace(go.Scatter(
            x=s.x, y=s.mean, name=s.name, legendgroup=s.name,
            mode="markers" if markers_only else "lines+markers",
            line={"color": color, "width": 2.5}, marker=marker,
            error_y={"type": "data", "array": [d or 0 for d in s.std], "visible": markers_only,
                     "color": color},
            customdata=[[n, "" if d is None else f" ± {d:.2f} (std)"]
                        for n, d in zip(s.n, s.std, strict=True)],
            connectgaps=False,
            hovertemplate="%{x}: %{y:.2f}%{customdata[1]} (n=%{customdata[0]})<extra>" + s.name + "</extra>",
        ))
    if banded or markers_only:
        fig.add_trace(_legend_only(BAND + (" (error bars)" if markers_only else " (shaded)"),
                                   {"color": "rgba(120,120,120,0.5)", "width": 8 if not markers_only else 1}))
    note = f"{BAND}; ★ within noise of the best" + ("; fill: Δ vs baseline" if baseline else "")
    fig.update_layout(title=f"{title}<br><sup>{note}</sup>", xaxis_title=x_title,
                      yaxis_title=y_title, legend={"orientation": "h", "y": -0.2})
    white(fig)
    _x_axis(fig, x_axis, xs)
    return fig


def varying(data: StudyData, keys: Sequence[str],
            where: Callable[[TrialRow], bool] | None = None) -> list[str]:
    """The keys among ``keys`` that take more than one value in the rows ``where`` accepts."""
    return [k for k in keys if len(distinct(data, k, where)) > 1]


class CurveInfo(NamedTuple):
    """Plain data behind a line figure: series, axis labels and what the band is."""

    series: list[Series]
    x_label: str
    y_label: str
    band: str
