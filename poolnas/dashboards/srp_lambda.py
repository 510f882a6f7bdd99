"""SRP Fig. 2: accuracy vs the scale ratio λ for SS-SRP, fixed vs scheduled λ, one vs
double branch (Luo et al., "Stochastic Region Pooling", Sec. 4.2, Eq. 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poolnas.dashboards._curves import (
    BAND,
    CurveInfo,
    baseline_line,
    distinct,
    line_figure,
    series_over,
)
from poolnas.studies.reader import StudyData, TrialRow

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_srp_lambda"]


def _is_ss(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "srp-ss"


def applies(data: StudyData) -> bool:
    return len(distinct(data, "attention.lam", _is_ss)) >= 2


def _get_srp_lambda_info(data: StudyData) -> CurveInfo:
    """One series per (schedule, branch)."""

    def name(key: tuple[Any, ...]) -> str:
        schedule, branch = key
        kind = "fixed λ" if schedule in (None, "fixed") else f"scheduled λ ({schedule})"
        return f"{kind.replace(' (linear)', '')}, {branch} branch"

    series = series_over(data, "attention.lam", ("attention.schedule", "attention.branch"),
                         where=_is_ss, name=name)
    return CurveInfo(series, "λ (scale ratio)", data.value_label(), BAND)


def plot_srp_lambda(data: StudyData) -> go.Figure:
    """SRP Fig. 2 as a Plotly figure (one line per schedule × branch)."""
    info = _get_srp_lambda_info(data)
    return line_figure(info.series, title="SRP Fig. 2: SS-SRP, accuracy vs λ",
                       x_title=info.x_label, y_title=info.y_label, baseline=baseline_line(data))
