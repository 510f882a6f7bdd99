"""Placement: accuracy per stage subset × module position, for channel attention (SE / SPEM
excitation) placed in a subset of the stages.

Positions (``attention.placement.position``): ``residual`` (SE on the residual branch, the
standard), ``post-add`` (after the add), ``pre`` (before the block's first conv),
``identity`` (SE-Identity: on the identity path before the add) and ``between`` (after the
block). BA2M's own position (``attention.batch_attention.position``: ``between`` the stages
or ``inside`` the last block's residual branch) is split out in the BA2M figures
(:mod:`poolnas.dashboards.ba2m`), not here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poolnas.dashboards._curves import (
    BAND,
    CurveInfo,
    baseline_line,
    line_figure,
    series_over,
    varying,
)
from poolnas.studies.reader import StudyData, TrialRow

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_se_placement"]

_KEYS = ["attention.placement.stages", "attention.placement.position"]


def _has_attention(row: TrialRow) -> bool:
    flat = row.flat
    return flat.get("attention.excitation", "se") != "none" and flat.get("attention.pooling") != "none"


def applies(data: StudyData) -> bool:
    return bool(varying(data, _KEYS, _has_attention))


def _get_se_placement_info(data: StudyData) -> CurveInfo:
    series = series_over(data, _KEYS[0], _KEYS[1:], where=_has_attention, categorical=True,
                         name=lambda key: f"position: {key[0]}")
    return CurveInfo(series, "stages with attention", data.value_label(), BAND)


def plot_se_placement(data: StudyData) -> go.Figure:
    info = _get_se_placement_info(data)
    return line_figure(info.series, title="Placement: accuracy per stage subset × position",
                       x_title=info.x_label, y_title=info.y_label, categorical=True, markers_only=True,
                       baseline=baseline_line(data))
