"""SRP Fig. 3: accuracy heat maps over (λ, M) for MS-SRP, one panel per branch (and per
schedule where the study varied it) (Luo et al., "Stochastic Region Pooling", Eq. 4-5)."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from poolnas.dashboards._curves import BAND, distinct, sort_values
from poolnas.dashboards._study import StudyData, TrialRow, group, label, summarize

__all__ = ["applies", "plot_srp_heatmap"]


class _Panel(NamedTuple):
    name: str  # e.g. "one branch" or "double branch, linear"
    lam: list[float]  # columns
    M: list[int]  # rows
    mean: list[list[float | None]]  # [row M][column λ]; None: no trial (a gap)
    std: list[list[float | None]]
    n: list[list[int]]


class _SrpHeatmapInfo(NamedTuple):
    panels: list[_Panel]
    z_label: str
    band: str


def _is_ms(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "srp-ms"


def applies(data: StudyData) -> bool:
    return len(distinct(data, "attention.lam", _is_ms)) * len(distinct(data, "attention.M", _is_ms)) >= 2


def _get_srp_heatmap_info(data: StudyData) -> _SrpHeatmapInfo:
    groups = group(data.rows, ("attention.branch", "attention.schedule", "attention.lam", "attention.M"),
                   where=_is_ms)
    panel_keys = sort_values([k[:2] for k in groups])
    schedules = {k[1] for k in panel_keys}
    panels = []
    for branch, schedule in panel_keys:
        cells = {k[2:]: v for k, v in groups.items() if k[:2] == (branch, schedule)}
        lams = sort_values([k[0] for k in cells])
        ms = sort_values([k[1] for k in cells])
        stats = [[summarize(data.display(r.value) for r in cells.get((lam, m), [])) for lam in lams]
                 for m in ms]
        name = f"{label(branch)} branch" + (f", {label(schedule)}" if len(schedules) > 1 else "")
        panels.append(_Panel(
            name=name, lam=lams, M=ms,
            mean=[[s.mean if s.n else None for s in row] for row in stats],
            std=[[s.std if s.n else None for s in row] for row in stats],
            n=[[s.n for s in row] for row in stats],
        ))
    return _SrpHeatmapInfo(panels, data.value_label(), BAND)


def plot_srp_heatmap(data: StudyData) -> Any:
    """SRP Fig. 3 as a Plotly figure: one heat map per panel, cells annotated mean ± std."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    info = _get_srp_heatmap_info(data)
    panels = info.panels or [_Panel("no MS-SRP trials", [], [], [], [], [])]
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.name for p in panels],
                        horizontal_spacing=0.12)
    finite = [v for p in panels for row in p.mean for v in row if v is not None and math.isfinite(v)]
    zmin, zmax = (min(finite), max(finite)) if finite else (None, None)
    for i, p in enumerate(panels, start=1):
        text = [[f"{m:.2f}±{s:.2f}" if m is not None else "" for m, s in zip(mr, sr, strict=True)]
                for mr, sr in zip(p.mean, p.std, strict=True)]
        fig.add_trace(go.Heatmap(
            x=[label(v) for v in p.lam], y=[label(v) for v in p.M], z=p.mean, text=text,
            texttemplate="%{text}", customdata=p.n, zmin=zmin, zmax=zmax, colorscale="Viridis",
            showscale=i == len(panels), colorbar={"title": {"text": info.z_label}}, hoverongaps=False,
            hovertemplate="λ=%{x}, M=%{y}: %{z:.3f} (n=%{customdata})<extra></extra>",
        ), row=1, col=i)
        fig.update_xaxes(title_text="λ", type="category", row=1, col=i)
        fig.update_yaxes(title_text="M", type="category", row=1, col=i)
    fig.update_layout(title=f"SRP Fig. 3: MS-SRP, accuracy over (λ, M)<br><sup>{BAND}; blank: not run</sup>",
                      template="plotly_white")
    return fig
