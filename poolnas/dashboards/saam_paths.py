"""SAAM Fig. 3: accuracy vs the number of score paths K, per architecture
(SAAM, score-based aggregation: K independent softmax score maps)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolnas.dashboards import _curves
from poolnas.studies.reader import StudyData, TrialRow

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_saam_paths"]

_KEY = "attention.paths"


def _is_score(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "score"


def applies(data: StudyData) -> bool:
    return len(_curves.distinct(data, _KEY, _is_score)) >= 2


def _get_saam_paths_info(data: StudyData) -> _curves.CurveInfo:
    series = _curves.series_over(data, _KEY, ("model.arch",), where=_is_score, name=lambda key: str(key[0]))
    return _curves.CurveInfo(series, "score paths K", data.value_label(), _curves.BAND)


def plot_saam_paths(data: StudyData) -> go.Figure:
    info = _get_saam_paths_info(data)
    # K is discrete (1, 2, 4): a categorical axis, no 1.5 tick
    return _curves.line_figure(info.series, title="SAAM: accuracy vs score paths K", x_title=info.x_label,
                               y_title=info.y_label, baseline=_curves.baseline_line(data), x_axis="category")
