"""Evidence: configurations over seeds, the one best, and differences from a baseline.

Pure computation (no plotting, no storage): every place in poolnas that names a best or a
verdict calls these.

    configs = configurations(study.trials, "test_acc", "max")   # best first
    best = best_configuration(configs, "max")
    rows = compare(configs, {"attention.pooling": "gap"}, "max")  # Δ, simultaneous 95%, verdict
"""

from __future__ import annotations

from poolnas.evidence._compare import (
    BASELINE,
    BETTER,
    EQUIVALENT,
    TOO_FEW,
    WITHIN_NOISE,
    WORSE,
    BestEffect,
    Comparison,
    Family,
    Interval,
    best_effect,
    compare,
    difference,
    family_of,
    find_baseline,
    indistinguishable,
    mde_of,
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
    "EQUIVALENT",
    "TEST_DATA_NOTE",
    "TOO_FEW",
    "WITHIN_NOISE",
    "WORSE",
    "BestEffect",
    "Comparison",
    "Configuration",
    "Family",
    "Interval",
    "applies",
    "baseline_of",
    "best_configuration",
    "best_effect",
    "compare",
    "configurations",
    "diagnose",
    "difference",
    "evidence_of",
    "family_of",
    "find_baseline",
    "indistinguishable",
    "matches",
    "mde_of",
    "mean_interval",
    "rank",
    "study_evidence",
]
