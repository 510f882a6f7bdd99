"""Which paper figures apply to a study, found from its trials' configs, and drawing them.

A figure applies when the study holds the trials it plots: e.g. SS-SRP trials at two or more
λ values give SRP Fig. 2; MS-SRP trials over (λ, M) give Fig. 3; any SRP trial gives Fig. 7.
Each figure module offers ``applies(data)`` (whether the study holds its trials) and its
``plot_x(data)``; :data:`FIGURES` lists them in report order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from poolnas.dashboards import (
    ba2m,
    saam_paths,
    se_placement,
    spem_alpha,
    srp_area,
    srp_heatmap,
    srp_lambda,
)
from poolnas.studies.reader import StudyData

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FIGURES", "PaperFigure", "applicable_figures", "paper_figures"]


class _Spec(NamedTuple):
    key: str
    title: str
    applies: Callable[[StudyData], bool]
    plot: Callable[[StudyData], go.Figure]


FIGURES: tuple[_Spec, ...] = (
    _Spec("srp-fig2", "SRP Fig. 2: SS-SRP accuracy vs λ", srp_lambda.applies, srp_lambda.plot_srp_lambda),
    _Spec("srp-fig3", "SRP Fig. 3: MS-SRP accuracy over (λ, M)", srp_heatmap.applies,
          srp_heatmap.plot_srp_heatmap),
    _Spec("srp-fig7", "SRP Fig. 7: region area ratio vs depth", srp_area.applies, srp_area.plot_srp_area),
    _Spec("spem-alpha", "SPEM: accuracy vs fixed α", spem_alpha.applies, spem_alpha.plot_spem_alpha),
    _Spec("saam-paths", "SAAM: accuracy vs score paths K", saam_paths.applies, saam_paths.plot_saam_paths),
    _Spec("ba2m-reduction", "BA2M: error vs reduction R", ba2m.REDUCTION.applies, ba2m.REDUCTION.plot),
    _Spec("ba2m-batch-size", "BA2M: error vs batch size", ba2m.BATCH_SIZE.applies, ba2m.BATCH_SIZE.plot),
    _Spec("ba2m-placement", "BA2M: error per placement subset", ba2m.PLACEMENT.applies, ba2m.PLACEMENT.plot),
    _Spec("se-placement", "Placement: accuracy per stage subset × position", se_placement.applies,
          se_placement.plot_se_placement),
)


class PaperFigure(NamedTuple):
    key: str
    title: str
    figure: go.Figure | None
    error: str | None  # a figure that failed to draw is reported, not fatal


def applicable_figures(data: StudyData) -> list[str]:
    """Keys of the paper figures this study's trials can draw, in FIGURES order."""
    return [spec.key for spec in FIGURES if spec.applies(data)]


def paper_figures(data: StudyData) -> list[PaperFigure]:
    """Every applicable paper figure, drawn."""
    out = []
    for spec in FIGURES:
        if not spec.applies(data):
            continue
        try:
            out.append(PaperFigure(spec.key, spec.title, spec.plot(data), None))
        except Exception as err:  # e.g. a sampler that is not importable: say so in the report
            out.append(PaperFigure(spec.key, spec.title, None, f"{type(err).__name__}: {err}"))
    return out
