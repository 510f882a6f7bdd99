"""error vs reduction R (Table VIII): BA2M, batch-aware attention (Cheng et al., BA2M).

Error = 100 − accuracy (%) for accuracy objectives, the objective itself otherwise.
"""

from __future__ import annotations

from typing import Any

from poolnas.dashboards import _ba2m
from poolnas.dashboards._curves import CurveInfo
from poolnas.dashboards._study import StudyData

__all__ = ["applies", "plot_ba2m_reduction"]

_KEY = "attention.batch_attention.reduction"


def applies(data: StudyData) -> bool:
    return _ba2m.applies_over(data, _KEY)


def _get_ba2m_reduction_info(data: StudyData) -> CurveInfo:
    return _ba2m.error_info(data, _KEY, "reduction R", categorical=False)


def plot_ba2m_reduction(data: StudyData) -> Any:
    return _ba2m.error_figure(_get_ba2m_reduction_info(data), "BA2M: error vs reduction R (Table VIII)",
                              categorical=False, base=_ba2m.baseline(data))
