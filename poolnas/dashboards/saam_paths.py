"""SAAM Fig. 3: accuracy vs the number of score paths K, per architecture
(SAAM, score-based aggregation: K independent softmax score maps)."""

from __future__ import annotations

from typing import Any

from poolnas.dashboards._curves import (
    BAND,
    CurveInfo,
    baseline_line,
    distinct,
    line_figure,
    series_over,
)
from poolnas.dashboards._study import StudyData, TrialRow

__all__ = ["applies", "plot_saam_paths"]


def _is_score(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "score"


def applies(data: StudyData) -> bool:
    return len(distinct(data, "attention.paths", _is_score)) >= 2


def _get_saam_paths_info(data: StudyData) -> CurveInfo:
    series = series_over(data, "attention.paths", ("model.arch",), where=_is_score,
                         name=lambda key: str(key[0]))
    return CurveInfo(series, "score paths K", data.value_label(), BAND)


def plot_saam_paths(data: StudyData) -> Any:
    info = _get_saam_paths_info(data)
    return line_figure(info.series, title="SAAM: accuracy vs score paths K",
                       x_title=info.x_label, y_title=info.y_label, baseline=baseline_line(data))
