"""poolnas: search the design space of channel-attention pooling.

For notebooks (imported on first use, so ``import poolnas`` stays light)::

    study = poolnas.sweep("quickstart", storage="sqlite:///poolnas.db")   # or a space dict
    study = poolnas.load("quickstart", storage="sqlite:///poolnas.db")
    study.trials, study.configurations                                   # pandas DataFrames
    poolnas.compare("quickstart", baseline={"attention.pooling": "gap"})  # Δ, simultaneous 95%, verdict
    poolnas.plan("quickstart", 0.01)  # seeds, trials, hours to detect 1 point (compare --plan)
"""

from __future__ import annotations

from typing import Any

from poolnas._version import __version__

__all__ = ["__version__", "compare", "load", "plan", "sweep"]

_API = ("compare", "load", "plan", "sweep")


def __getattr__(name: str) -> Any:
    if name in _API:
        from poolnas import api

        return getattr(api, name)
    raise AttributeError(f"module 'poolnas' has no attribute {name!r}")
