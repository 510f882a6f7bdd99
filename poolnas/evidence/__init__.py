"""Evidence: configurations over seeds, the one best, and differences from a baseline.

Pure computation (no plotting, no storage): every place in poolnas that names a best or a
verdict calls these.

    configs = configurations(study.trials, "test_acc", "max")   # best first
    best = best_configuration(configs, "max")
    rows = compare(configs, {"attention.pooling": "gap"}, "max")  # Δ, 95% interval, verdict
"""

from __future__ import annotations

from poolnas.evidence._compare import (
    BASELINE,
    BETTER,
    TOO_FEW,
    WITHIN_NOISE,
    WORSE,
    Comparison,
    Interval,
    compare,
    difference,
    find_baseline,
    indistinguishable,
    mean_interval,
)
from poolnas.evidence._configs import (
    Configuration,
    applies,
    best_configuration,
    configurations,
    matches,
    rank,
)
from poolnas.evidence._diagnose import diagnose
from poolnas.evidence._study import TEST_DATA_NOTE, baseline_of, evidence_of, study_evidence

__all__ = [
    "BASELINE",
    "BETTER",
    "TEST_DATA_NOTE",
    "TOO_FEW",
    "WITHIN_NOISE",
    "WORSE",
    "Comparison",
    "Configuration",
    "Interval",
    "applies",
    "baseline_of",
    "best_configuration",
    "compare",
    "configurations",
    "diagnose",
    "difference",
    "evidence_of",
    "find_baseline",
    "indistinguishable",
    "matches",
    "mean_interval",
    "rank",
    "study_evidence",
]
