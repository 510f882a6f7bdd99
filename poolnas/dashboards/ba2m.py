"""What the BA2M figures share (Cheng et al., BA2M, batch-aware attention): the error over
one config key of the trials with batch attention on, one series per architecture and per
position (``between`` the stages, ``inside`` a residual branch) where the study ran several.

Error = 100 − accuracy (%) for accuracy objectives, the objective itself otherwise.
"""

from __future__ import annotations

from typing import Any

from poolnas.dashboards._curves import (
    BAND,
    Baseline,
    CurveInfo,
    baseline_line,
    distinct,
    line_figure,
    series_over,
    varying,
)
from poolnas.dashboards._study import StudyData, TrialRow

__all__ = ["applies_over", "baseline", "error_figure", "error_info", "has_ba2m"]


def has_ba2m(row: TrialRow) -> bool:
    return row.flat.get("attention.batch_attention.enabled") is True


def applies_over(data: StudyData, key: str) -> bool:
    """Whether BA2M trials ran at two or more values of ``key``."""
    return len(distinct(data, key, has_ba2m)) >= 2


def error_info(data: StudyData, key: str, x_label: str, *, categorical: bool) -> CurveInfo:
    # one series per architecture and per BA2M position (between / inside) the study ran
    split = varying(data, ["model.arch", "attention.batch_attention.position"], has_ba2m)
    series = series_over(data, key, split, where=has_ba2m, y=data.error, categorical=categorical)
    return CurveInfo(series, x_label, data.error_label(), BAND)


def baseline(data: StudyData) -> Baseline | None:
    """The baseline in error units (lower is better for an accuracy objective)."""
    return baseline_line(data, y=data.error,
                         higher_is_better=not data.maximize if data.is_accuracy else data.maximize)


def error_figure(info: CurveInfo, title: str, *, categorical: bool, base: Baseline | None = None) -> Any:
    # Categories (stage subsets) have no order to draw a line along: markers only.
    return line_figure(info.series, title=title, x_title=info.x_label, y_title=info.y_label,
                       categorical=categorical, markers_only=categorical, baseline=base)
