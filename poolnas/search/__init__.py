"""Sweeps: Ray Tune runs the trials, Optuna keeps the study in a database (docs/search.md,
"What the database holds").

``run_sweep(space, storage=..., ...)`` runs or continues a sweep; ``list_studies(storage)``
summarises a storage; ``poolnas sweep`` / ``poolnas studies`` are in ``commands``.
"""

from __future__ import annotations

from poolnas.dashboards.listing import StudySummary, list_studies
from poolnas.search.sweep import SweepResult, best_trial, run_sweep

__all__ = ["StudySummary", "SweepResult", "best_trial", "list_studies", "run_sweep"]
