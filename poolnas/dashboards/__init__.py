"""Dashboards: Plotly figures that redraw the papers' hyperparameter figures, the study
report (one offline HTML file), the dashboard server and the export of best configurations.

Every figure is a ``plot_x(data)`` over a :class:`StudyData` read once from the storage
(:func:`load_study`), with the numbers computed by a private ``_get_x_info`` (optuna's style).
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): `poolnas export` and `compare` need the study reader,
# not every figure module.
_EXPORTS = {
    "StudyData": "poolnas.dashboards._study",
    "from_study": "poolnas.dashboards._study",
    "load_study": "poolnas.dashboards._study",
    "plot_ba2m_batch_size": "poolnas.dashboards.ba2m_batch_size",
    "plot_ba2m_placement": "poolnas.dashboards.ba2m_placement",
    "plot_ba2m_reduction": "poolnas.dashboards.ba2m_reduction",
    "plot_cost": "poolnas.dashboards.cost",
    "format_entries": "poolnas.dashboards.export",
    "format_pareto": "poolnas.dashboards.export",
    "pareto_entries": "poolnas.dashboards.export",
    "rank_configurations": "poolnas.dashboards.export",
    "trials_csv": "poolnas.dashboards.export",
    "applicable_figures": "poolnas.dashboards.figures",
    "paper_figures": "poolnas.dashboards.figures",
    "optuna_plots": "poolnas.dashboards.optuna_figures",
    "render_report": "poolnas.dashboards.report",
    "write_report": "poolnas.dashboards.report",
    "plot_saam_paths": "poolnas.dashboards.saam_paths",
    "plot_se_placement": "poolnas.dashboards.se_placement",
    "plot_spem_alpha": "poolnas.dashboards.spem_alpha",
    "plot_srp_area": "poolnas.dashboards.srp_area",
    "plot_srp_heatmap": "poolnas.dashboards.srp_heatmap",
    "plot_srp_lambda": "poolnas.dashboards.srp_lambda",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "StudyData",
    "applicable_figures",
    "format_entries",
    "format_pareto",
    "from_study",
    "load_study",
    "optuna_plots",
    "paper_figures",
    "pareto_entries",
    "plot_ba2m_batch_size",
    "plot_ba2m_placement",
    "plot_ba2m_reduction",
    "plot_cost",
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
