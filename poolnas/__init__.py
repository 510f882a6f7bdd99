"""poolnas: search the design space of channel-attention pooling.

For notebooks (imported on first use, so ``import poolnas`` stays light)::

    study = poolnas.sweep("quickstart", storage="sqlite:///poolnas.db")   # or a space dict
    study = poolnas.load("quickstart", storage="sqlite:///poolnas.db")
    study.trials, study.configurations                                   # pandas DataFrames
    poolnas.compare("quickstart", baseline={"attention.pooling": "gap"})  # Δ, simultaneous 95%, verdict
    poolnas.plan("quickstart", 0.01)  # seeds, trials, hours to detect 1 point (compare --plan)
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports
from poolnas._version import __version__

_EXPORTS = {"api": ("compare", "load", "plan", "sweep")}  # module of the package: the names it gives
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["__version__", "compare", "load", "plan", "sweep"]
