"""error vs batch size (Fig. 5): BA2M, batch-aware attention (Cheng et al., BA2M).

Error = 100 − accuracy (%) for accuracy objectives, the objective itself otherwise.
"""

from __future__ import annotations

from typing import Any

from poolnas.dashboards._curves import BAND, CurveInfo, distinct, line_figure, series_over, varying
from poolnas.dashboards._study import StudyData, TrialRow

__all__ = ["plot_ba2m_batch_size"]

_KEY = "trainer.batch_size"


def _has_ba2m(row: TrialRow) -> bool:
    return row.flat.get("attention.batch_attention.enabled") is True


def _applies(data: StudyData) -> bool:
    return len(distinct(data, _KEY, _has_ba2m)) >= 2


def _get_ba2m_batch_size_info(data: StudyData) -> CurveInfo:
    series = series_over(data, _KEY, varying(data, ["model.arch"], _has_ba2m), where=_has_ba2m,
                         y=data.error, categorical=False)
    return CurveInfo(series, "batch size", data.error_label(), BAND)


def plot_ba2m_batch_size(data: StudyData) -> Any:
    info = _get_ba2m_batch_size_info(data)
    return line_figure(info.series, title="BA2M: error vs batch size (Fig. 5)", x_title=info.x_label,
                       y_title=info.y_label, categorical=False, markers_only=False)
