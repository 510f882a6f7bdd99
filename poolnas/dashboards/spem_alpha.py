"""SPEM: accuracy vs a fixed α in α·max + (1−α)·min, with the learned-α result as a line
(Zhong et al., SPEM, Table 3 ablation; learned α from the normalised mix weights p̂)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from poolnas.dashboards._curves import (
    BAND,
    Series,
    _display_stat,
    baseline_line,
    distinct,
    line_figure,
    series_over,
    varying,
)
from poolnas.studies.reader import Stat, StudyData, TrialRow, group, label, summarize

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["applies", "plot_spem_alpha"]


class _SpemAlphaInfo(NamedTuple):
    fixed: list[Series]  # accuracy vs fixed α, one series per arch where several were run
    learned: list[tuple[str, Stat]]  # (arch where several ran, else "", mean ± std) of mix_alpha: learn
    y_label: str
    band: str


def _is_mix(row: TrialRow) -> bool:
    return row.flat.get("attention.pooling") == "mix"


def _fixed(row: TrialRow) -> bool:
    return _is_mix(row) and isinstance(row.flat.get("attention.mix_alpha"), (int, float))


def _learned(row: TrialRow) -> bool:
    return _is_mix(row) and row.flat.get("attention.mix_alpha") == "learn"


def applies(data: StudyData) -> bool:
    n_fixed = len(distinct(data, "attention.mix_alpha", _fixed))
    return n_fixed >= 2 or (n_fixed >= 1 and any(_learned(r) for r in data.rows))


def _get_spem_alpha_info(data: StudyData) -> _SpemAlphaInfo:
    split = varying(data, ["model.arch"], _is_mix)
    fixed = series_over(data, "attention.mix_alpha", split, where=_fixed)
    learned = [(", ".join(label(v) for v in key),
                _display_stat(summarize(r.value for r in rows), data.display))
               for key, rows in sorted(group(data.rows, split, where=_learned).items(), key=str)]
    return _SpemAlphaInfo(fixed, learned, data.value_label(), BAND)


def plot_spem_alpha(data: StudyData) -> go.Figure:
    """Accuracy vs fixed α (markers, band) and the learned-α mean as a dashed line."""
    info = _get_spem_alpha_info(data)
    fig = line_figure(info.fixed, title="SPEM: accuracy vs fixed α (α·max + (1−α)·min)",
                      x_title="α", y_title=info.y_label, baseline=baseline_line(data))
    for name, stat in info.learned:  # black dash-dot: no series colour, no Δ colour
        spread = f" ± {stat.std:.2f} (std)" if stat.n > 1 else " (one seed)"
        text = f"learned α{f' ({name})' if name else ''}: {stat.mean:.2f}{spread}, n={stat.n}"
        fig.add_hline(y=stat.mean, line_dash="dashdot", line_color="#111", annotation_text=text,
                      annotation_position="bottom right")
    return fig
