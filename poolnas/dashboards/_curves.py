"""Mean-and-band curves over one config key, shared by the line figures.

A curve is the objective averaged over every complete trial at one x (the seeds of a
configuration, and anything else the study varied there), with the sample standard
deviation as its band. Every series of a figure shares the union of x values; an x a
series has no trial at is ``None`` (drawn as a gap, not an error).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from poolnas.evidence import evidence_of
from poolnas.studies.reader import StudyData, TrialRow, group, label, summarize

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
    low: float | None  # 95% t-interval of its mean; None below two seeds
    high: float | None
    higher_is_better: bool


def baseline_line(data: StudyData, y: Callable[[float], float] | None = None,
                  higher_is_better: bool | None = None) -> Baseline | None:
    """The study's baseline (:func:`poolnas.evidence.evidence_of`) for a line figure, or None."""
    from poolnas.evidence import mean_interval

    base = evidence_of(data).baseline_config
    if base is None:
        return None
    y = y or data.display
    iv = mean_interval(base)
    low, high = (y(iv[0]), y(iv[1])) if iv else (None, None)
    if low is not None and high is not None and low > high:
        low, high = high, low
    better = data.maximize if higher_is_better is None else higher_is_better
    return Baseline(evidence_of(data).baseline_text(), y(base.mean), low, high, better)


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
        stats = [summarize(y(r.value) for r in rows) for rows in cells]
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


def distinct(data: StudyData, key: str, where: Callable[[TrialRow], bool] | None = None) -> set[Any]:
    return {r.flat.get(key) for r in data.rows if key in r.flat and (where is None or where(r))}


_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def _baseline_traces(fig: Any, base: Baseline) -> None:
    if base.low is not None and base.high is not None:
        fig.add_hrect(y0=base.low, y1=base.high, fillcolor="rgba(120,120,120,0.15)", line_width=0)
    fig.add_hline(y=base.y, line_dash="dash", line_color="#555",
                  annotation_text=f"baseline {base.label}", annotation_position="top left")


def _delta_range(series: Sequence[Series], base: Baseline) -> float:
    """Half-range of the Δ colour scale: the largest |Δ|, at least the baseline's own interval
    half-width, so differences within noise stay pale."""
    deltas = [abs(m - base.y) for s in series for m in s.mean if m is not None]
    noise = (base.high - base.low) / 2 if base.low is not None and base.high is not None else 0.0
    return max([*deltas, noise, 1e-12])


def line_figure(series: Sequence[Series], *, title: str, x_title: str, y_title: str,
                categorical: bool = False, markers_only: bool = False,
                baseline: Baseline | None = None) -> Any:
    """Lines with markers and a shaded mean ± std band per series; gaps stay gaps.

    With a ``baseline``: its mean (dashed) and 95% interval (grey band) across the figure,
    and every marker coloured by its Δ from the baseline on a diverging scale centred on 0
    (blue better, red worse). Markers within noise of the study's best are stars.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    if baseline is not None:
        _baseline_traces(fig, baseline)
        half = _delta_range(series, baseline)
    for i, s in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        upper = [m + d if m is not None and d is not None else m for m, d in zip(s.mean, s.std, strict=True)]
        lower = [m - d if m is not None and d is not None else m for m, d in zip(s.mean, s.std, strict=True)]
        if any(d for d in s.std if d):
            fig.add_trace(go.Scatter(x=s.x, y=upper, mode="lines", line={"width": 0},
                                     legendgroup=s.name, showlegend=False, hoverinfo="skip"))
            fig.add_trace(go.Scatter(x=s.x, y=lower, mode="lines", line={"width": 0},
                                     fill="tonexty", fillcolor=_rgba(color, 0.18),
                                     legendgroup=s.name, showlegend=False, hoverinfo="skip"))
        marker: dict[str, Any] = {"color": color, "size": 9,
                                  "symbol": ["star" if nb else "circle" for nb in s.near_best] or "circle"}
        if baseline is not None:
            marker.update(color=[m - baseline.y if m is not None else None for m in s.mean],
                          colorscale="RdBu" if baseline.higher_is_better else "RdBu_r",
                          cmin=-half, cmax=half, cmid=0.0, line={"color": color, "width": 2},
                          showscale=i == 0, colorbar={"title": {"text": "Δ vs baseline"}, "x": 1.08})
        fig.add_trace(go.Scatter(
            x=s.x, y=s.mean, name=s.name, legendgroup=s.name,
            mode="markers" if markers_only else "lines+markers",
            line={"color": color}, marker=marker,
            error_y={"type": "data", "array": [d or 0 for d in s.std], "visible": markers_only},
            customdata=s.n, connectgaps=False,
            hovertemplate="%{x}: %{y:.3f} (n=%{customdata})<extra>" + s.name + "</extra>",
        ))
    note = f"{BAND}; ★ within noise of the best" + ("; colour: Δ vs baseline" if baseline else "")
    fig.update_layout(title=f"{title}<br><sup>{note}</sup>", xaxis_title=x_title,
                      yaxis_title=y_title, template="plotly_white", legend={"orientation": "h", "y": -0.2})
    if categorical:
        fig.update_xaxes(type="category")
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
