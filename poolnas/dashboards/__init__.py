"""Dashboards: Plotly figures that redraw the papers' hyperparameter figures, the study
report (one offline HTML file), the dashboard server and the export of best configurations.

Every figure is a ``plot_x(data)`` over a :class:`StudyData` read once from the storage
(:func:`load_study`), with the numbers computed by a private ``_get_x_info`` (optuna's style).
"""

from __future__ import annotations

from poolnas.dashboards._study import StudyData, from_study, load_study
from poolnas.dashboards.ba2m_batch_size import plot_ba2m_batch_size
from poolnas.dashboards.ba2m_placement import plot_ba2m_placement
from poolnas.dashboards.ba2m_reduction import plot_ba2m_reduction
from poolnas.dashboards.export import format_entries, rank_configurations, trials_csv
from poolnas.dashboards.figures import applicable_figures, paper_figures
from poolnas.dashboards.optuna_figures import optuna_plots
from poolnas.dashboards.report import render_report, write_report
from poolnas.dashboards.saam_paths import plot_saam_paths
from poolnas.dashboards.se_placement import plot_se_placement
from poolnas.dashboards.spem_alpha import plot_spem_alpha
from poolnas.dashboards.srp_area import plot_srp_area
from poolnas.dashboards.srp_heatmap import plot_srp_heatmap
from poolnas.dashboards.srp_lambda import plot_srp_lambda

__all__ = [
    "StudyData",
    "applicable_figures",
    "format_entries",
    "from_study",
    "load_study",
    "optuna_plots",
    "paper_figures",
    "plot_ba2m_batch_size",
    "plot_ba2m_placement",
    "plot_ba2m_reduction",
    "plot_saam_paths",
    "plot_se_placement",
    "plot_spem_alpha",
    "plot_srp_area",
    "plot_srp_heatmap",
    "plot_srp_lambda",
    "rank_configurations",
    "render_report",
    "trials_csv",
    "write_report",
]
