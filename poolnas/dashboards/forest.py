"""A forest plot of the verdicts: Δ against the baseline for every configuration, with the
simultaneous 95% intervals the verdicts use (``poolnas.evidence.compare``), coloured by
verdict, 0 as a line; the best's selection-adjusted Δ (``best_effect``) as an open circle.

``plot_forest(data)`` for the report and ``report --png``; ``forest_figure(evidence, scale,
unit)`` for the notebook API (``poolnas.load(...).forest()``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolnas.dashboards._theme import white
from poolnas.evidence import Comparison, Configuration, evidence_of
from poolnas.evidence._study import Evidence
from poolnas.studies.reader import StudyData, label

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["forest_figure", "plot_forest"]

_COLORS = {"better": "#2ca02c", "worse": "#d62728", "equivalent": "#9467bd", "within noise": "#1f77b4",
           "n too small": "#7f7f7f"}


def _name(conf: Configuration) -> str:
    return ", ".join(f"{k.split('.')[-1]}={label(v)}" for k, v in conf.params.items()) or conf.key[:8]


def forest_figure(ev: Evidence, scale: float = 1.0, unit: str = "") -> go.Figure:
    """The forest plot of an :class:`~poolnas.evidence.Evidence` (Δ times ``scale``)."""
    import plotly.graph_objects as go  # lazy: plotly loads with the first figure drawn

    rows = [c for c in ev.comparisons or [] if c.verdict != "baseline" and c.delta is not None]
    fig = go.Figure()
    names = [_name(c.config) for c in rows]
    for verdict, color in _COLORS.items():
        part = [(n, c) for n, c in zip(names, rows, strict=True) if c.verdict == verdict]
        if not part:
            continue
        fig.add_trace(go.Scatter(
            x=[c.delta * scale for _, c in part], y=[n for n, _ in part], mode="markers",
            name=f"{verdict}: Δ with its simultaneous 95% interval",
            marker={"color": color, "size": 10, "symbol": "square"},
            error_x={"type": "data", "symmetric": False,
                     "array": [(c.ci_high - c.delta) * scale if c.ci_high is not None else 0
                               for _, c in part],
                     "arrayminus": [(c.delta - c.ci_low) * scale if c.ci_low is not None else 0
                                    for _, c in part]},
            customdata=[[_interval(c, scale), c.n_pairs, "–" if c.mde is None else f"±{c.mde * scale:.2f}",
                         c.verdict] for _, c in part],
            hovertemplate="%{y}<br>Δ %{x:+.2f} " + unit + ", interval %{customdata[0]}<br>n_pairs "
                          "%{customdata[1]}, mde %{customdata[2]}: %{customdata[3]}<extra></extra>"))
    eff = ev.best_effect
    if eff is not None and ev.best is not None and ev.best is not ev.baseline_config:
        fig.add_trace(go.Scatter(
            x=[eff.delta * scale], y=[_name(ev.best)], mode="markers",
            name="the best's Δ corrected for selection (picked on half the seeds, measured on the other)",
            marker={"color": "black", "size": 13, "symbol": "circle-open"},
            hovertemplate=f"selection-adjusted Δ %{{x:+.2f}} {unit}<br>{eff.n_held_out} held-out pairs"
                          "<extra></extra>"))
    if ev.margin is not None:
        for side in (-1, 1):
            fig.add_vline(x=side * ev.margin * scale, line_dash="dot", line_color="#9467bd")
    fig.add_vline(x=0, line_color="#555")
    fam = ev.family
    sub = (f"family: {fam.size} comparisons; {fam.method}" if fam else "no baseline")
    if ev.margin is not None:
        sub += f"; dotted: the equivalence margin ±{ev.margin * scale:g}"
    fig.update_layout(
        title=(f"Δ vs baseline {ev.baseline_text()} ({ev.metric}{', ' + unit if unit else ''})"
               f"<br><sup>{sub}</sup>"),
        xaxis_title=f"Δ {ev.metric}{' (' + unit + ')' if unit else ''} vs baseline",
        legend={"orientation": "h", "y": -0.25}, height=max(350, 40 * len(rows) + 200))
    white(fig)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=list(reversed(names)))
    return fig


def _interval(c: Comparison, scale: float) -> str:
    if c.ci_low is None or c.ci_high is None:
        return "none"
    return f"[{c.ci_low * scale:+.2f}, {c.ci_high * scale:+.2f}]"


def plot_forest(data: StudyData) -> go.Figure:
    """The forest plot of a study (accuracies in points)."""
    return forest_figure(evidence_of(data), 100.0 if data.is_accuracy else 1.0,
                         "points" if data.is_accuracy else "")
