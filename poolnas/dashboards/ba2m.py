"""The BA2M figures (Cheng et al., BA2M, batch-aware attention): error vs the reduction R
(Table VIII), vs the batch size (Fig. 5) and per placement subset (Table XIII).

Each is the error over one config key of the trials with batch attention on, one series per
architecture and per position (``between`` the stages, ``inside`` a residual branch) where
the study ran several. Error = 100 − accuracy (%) for accuracy objectives, the objective
itself otherwise. The three differ only in their key, labels and title (:class:`Ba2mFigure`):
``plot_ba2m_*`` draws one, ``_get_ba2m_*_info`` gives its numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

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
from poolnas.studies.reader import StudyData, TrialRow

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "BATCH_SIZE",
    "PLACEMENT",
    "REDUCTION",
    "Ba2mFigure",
    "plot_ba2m_batch_size",
    "plot_ba2m_placement",
    "plot_ba2m_reduction",
]


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


def error_figure(info: CurveInfo, title: str, *, categorical: bool,
                 base: Baseline | None = None) -> go.Figure:
    # Categories (stage subsets) have no order to draw a line along: markers only. R and the
    # batch size run in powers of two: a log2 axis spaces them evenly.
    return line_figure(info.series, title=title, x_title=info.x_label, y_title=info.y_label,
                       categorical=categorical, markers_only=categorical, baseline=base,
                       x_axis="category" if categorical else "log2",
                       delta_label="Δ error vs baseline<br>(points; blue: lower error)")


class Ba2mFigure(NamedTuple):
    """One BA2M figure: the error over ``key`` of the BA2M trials."""

    key: str
    x_label: str
    title: str
    categorical: bool  # stage subsets: labels, markers only

    def applies(self, data: StudyData) -> bool:
        return applies_over(data, self.key)

    def info(self, data: StudyData) -> CurveInfo:
        return error_info(data, self.key, self.x_label, categorical=self.categorical)

    def plot(self, data: StudyData) -> go.Figure:
        return error_figure(self.info(data), self.title, categorical=self.categorical, base=baseline(data))


REDUCTION = Ba2mFigure("attention.batch_attention.reduction", "reduction R",
                       "BA2M: error vs reduction R (Table VIII)", False)
BATCH_SIZE = Ba2mFigure("trainer.batch_size", "batch size", "BA2M: error vs batch size (Fig. 5)", False)
PLACEMENT = Ba2mFigure("attention.batch_attention.stages", "stages with BA2M",
                       "BA2M: error per placement subset (Table XIII)", True)

plot_ba2m_reduction, _get_ba2m_reduction_info = REDUCTION.plot, REDUCTION.info
plot_ba2m_batch_size, _get_ba2m_batch_size_info = BATCH_SIZE.plot, BATCH_SIZE.info
plot_ba2m_placement, _get_ba2m_placement_info = PLACEMENT.plot, PLACEMENT.info
