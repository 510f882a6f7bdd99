"""SRP Fig. 3: accuracy heat maps over (λ, M) for MS-SRP, one panel per branch (and per
schedule where the study varied it) (Luo et al., "Stochastic Region Pooling", Eq. 4-5)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

from poolnas.dashboards._curves import BAND, _display_stat, distinct, sort_values
from poolnas.dashboards._theme import white
from poolnas.evidence import evidence_of
from poolnas.studies.reader import StudyData, TrialRow, group, label, summarize

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_srp_heatmap"]


class _Panel(NamedTuple):
    name: str  # e.g. "one branch" or "double branch, linear"
    lam: list[float]  # columns
    M: list[int]  # rows
    mean: list[list[float | None]]  # [row M][column λ]; None: no trial (a gap)
    std: list[list[float | None]]  # None also for a single run (no spread)
    n: list[list[int]]
    delta: list[list[float | None]]  # mean - the reference's mean (the baseline, else the best)
    near_best: list[list[bool]]  # a configuration in the cell is within noise of the best


class _SrpHeatmapInfo(NamedTuple):
    panels: list[_Panel]
    z_label: str
    band: str
    reference: str  # "baseline <partial config>" or "best"
    half_range: float  # the Δ colour scale runs from -half_range to +half_range


def _is_ms(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "srp-ms"


def applies(data: StudyData) -> bool:
    return len(distinct(data, "attention.lam", _is_ms)) * len(distinct(data, "attention.M", _is_ms)) >= 2


def _reference(data: StudyData) -> tuple[str, float | None, float]:
    """What Δ is taken from (the baseline, else the best), its mean as drawn, and the noise
    scale: the median half-width of the 95% intervals against it."""
    ev = evidence_of(data)
    ref = ev.baseline_config or ev.best
    if ref is None:
        return "best", None, 0.0
    comps = ev.comparisons if ev.baseline_config is not None else ev.near_best
    halves = sorted(abs(data.display(c.ci_high) - data.display(c.ci_low)) / 2
                    for c in comps or [] if c.ci_low is not None)
    noise = halves[len(halves) // 2] if halves else 0.0
    name = f"baseline {ev.baseline_text()}" if ev.baseline_config is not None else "best"
    return name, data.display(ref.mean), noise


def _get_srp_heatmap_info(data: StudyData) -> _SrpHeatmapInfo:
    groups = group(data.rows, ("attention.branch", "attention.schedule", "attention.lam", "attention.M"),
                   where=_is_ms)
    near = {c.config.key for c in evidence_of(data).near_best}
    reference, ref_mean, noise = _reference(data)
    panel_keys = sort_values([k[:2] for k in groups])
    schedules = {k[1] for k in panel_keys}
    panels = []
    for branch, schedule in panel_keys:
        cells = {k[2:]: v for k, v in groups.items() if k[:2] == (branch, schedule)}
        lams = sort_values([k[0] for k in cells])
        ms = sort_values([k[1] for k in cells])
        # the mean of the raw values, displayed once: the number compare rounds (70.52 in both)
        stats = [[_display_stat(summarize(r.value for r in cells.get((lam, m), [])), data.display)
                  for lam in lams] for m in ms]
        name = f"{label(branch)} branch" + (f", {label(schedule)}" if len(schedules) > 1 else "")
        panels.append(_Panel(
            name=name, lam=lams, M=ms,
            mean=[[s.mean if s.n else None for s in row] for row in stats],
            std=[[s.std if s.n > 1 else None for s in row] for row in stats],
            n=[[s.n for s in row] for row in stats],
            delta=[[s.mean - ref_mean if s.n and ref_mean is not None else None for s in row]
                   for row in stats],
            near_best=[[any(r.config_key in near for r in cells.get((lam, m), [])) for lam in lams]
                       for m in ms],
        ))
    deltas = [abs(d) for p in panels for row in p.delta for d in row if d is not None and math.isfinite(d)]
    return _SrpHeatmapInfo(panels, data.value_label(), BAND, reference, max([*deltas, noise, 1e-12]))


def _cell_text(mean: float | None, std: float | None, near: bool) -> str:
    if mean is None:
        return ""
    return f"{mean:.2f} ± {'–' if std is None else f'{std:.2f}'}" + (" ★" if near else "")


def plot_srp_heatmap(data: StudyData) -> go.Figure:
    """SRP Fig. 3 as a Plotly figure: one heat map per panel, cells annotated mean ± std, the
    colour the Δ from the baseline (else the best) on a diverging scale centred on 0, ★ on the
    cells within noise of the best."""
    import plotly.graph_objects as go  # lazy: plotly loads with the first figure drawn
    from plotly.subplots import make_subplots

    info = _get_srp_heatmap_info(data)
    panels = info.panels or [_Panel("no MS-SRP trials", [], [], [], [], [], [], [])]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.name for p in panels],
                        horizontal_spacing=0.12)
    half = info.half_range
    for i, p in enumerate(panels, start=1):
        text = [[_cell_text(m, s, nb) for m, s, nb in zip(mr, sr, br, strict=True)]
                for mr, sr, br in zip(p.mean, p.std, p.near_best, strict=True)]
        custom = [[[n, m if m is not None else float("nan")] for n, m in zip(nr, mr, strict=True)]
                  for nr, mr in zip(p.n, p.mean, strict=True)]
        fig.add_trace(go.Heatmap(
            x=[label(v) for v in p.lam], y=[label(v) for v in p.M], z=p.delta, text=text,
            texttemplate="%{text}", customdata=custom, zmin=-half, zmax=half, zmid=0.0,
            colorscale="RdBu" if data.maximize else "RdBu_r",
            showscale=i == len(panels), colorbar={"title": {"text": f"Δ vs {info.reference}"}},
            hoverongaps=False,
            hovertemplate="λ=%{x}, M=%{y}: %{customdata[1]:.3f}, Δ %{z:+.3f} (n=%{customdata[0]})"
                          "<extra></extra>",
        ), row=1, col=i)
        fig.update_xaxes(title_text="λ", type="category", row=1, col=i)
        fig.update_yaxes(title_text="M", type="category", row=1, col=i)
    fig.update_layout(title=f"SRP Fig. 3: MS-SRP, accuracy over (λ, M)<br><sup>cells: {BAND}; colour: Δ vs "
                            f"{info.reference}; ★ within noise of the best; blank: not run</sup>")
    white(fig)
    return fig
