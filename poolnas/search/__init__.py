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
_EXPORTS = {  # module of the package: the names it gives
    "sweep": ("SweepResult", "best_trial", "run_sweep"),
}
_LISTING = ("StudySummary", "list_studies")  # from poolnas.dashboards.listing


def __getattr__(name: str) -> object:
    if name in _LISTING:
        from poolnas.dashboards import listing

        value = getattr(listing, name)
        globals()[name] = value
        return value
    return _lazy_getattr(name)


_lazy_getattr, _lazy_dir = lazy_exports(__name__, _EXPORTS)


def __dir__() -> list[str]:
    return sorted({*_lazy_dir(), *_LISTING})


__all__ = sorted([*_LISTING, *(name for names in _EXPORTS.values() for name in names)])
