"""Sweeps: Ray Tune runs the trials, Optuna keeps the study in a database (docs/search.md,
"What the database holds").

``run_sweep(space, storage=..., ...)`` runs or continues a sweep; ``list_studies(storage)``
summarises a storage; ``poolnas sweep`` / ``poolnas studies`` are in ``commands``.
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): a trial worker imports this package for its trainable
# (poolnas.search._trainable) and needs none of the driver's modules (the study, its storage,
# the evidence, the listing).
_EXPORTS = {  # module of the package (or in full, another package's): the names it gives
    "sweep": ("SweepResult", "best_trial", "run_sweep"),
    "poolnas.dashboards.listing": ("StudySummary", "list_studies"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
