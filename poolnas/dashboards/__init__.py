"""Dashboards: Plotly figures that redraw the papers' hyperparameter figures, the study
report (one offline HTML file), the dashboard server and the export of best configurations.

Every figure is a ``plot_x(data)`` over a :class:`StudyData` read once from the storage
(:func:`poolnas.studies.load_study`), with the numbers computed by a private ``_get_x_info`` (optuna's style).
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): `poolnas export` and `compare` need the study reader,
# not every figure module.
_EXPORTS = {  # module of the package: the names it gives
    "ba2m": ("plot_ba2m_batch_size", "plot_ba2m_placement", "plot_ba2m_reduction"),
    "cost": ("plot_cost",),
    "export": ("format_entries", "format_pareto", "pareto_entries", "rank_configurations", "trials_csv"),
    "figures": ("applicable_figures", "paper_figures"),
    "optuna_figures": ("optuna_plots",),
    "report": ("render_report", "write_report"),
    "saam_paths": ("plot_saam_paths",),
    "se_placement": ("plot_se_placement",),
    "spem_alpha": ("plot_spem_alpha",),
    "srp_area": ("plot_srp_area",),
    "srp_heatmap": ("plot_srp_heatmap",),
    "srp_lambda": ("plot_srp_lambda",),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
