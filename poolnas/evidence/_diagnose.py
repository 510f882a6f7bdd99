"""Warnings that make a study's comparisons meaningless, said in the report and the summary.

- Chance accuracy: every finished run of an accuracy objective is below 1.5 × 1/num_classes
  (the networks did not learn; nothing can be said about pooling).
- Identical losses: two or more configurations and every run has the same final
  ``train_loss`` (or, without one, the same objective value): the searched parameters did
  not reach the network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from poolnas.config import ACCURACY_METRICS
from poolnas.evidence._configs import Configuration
from poolnas.records import TrialAttrs

__all__ = ["CHANCE_FACTOR", "diagnose"]

CHANCE_FACTOR = 1.5  # below 1.5 × chance counts as "at chance"


def _num_classes(configs: Sequence[Configuration]) -> int | None:
    for c in configs:
        n = c.flat.get("model.num_classes")
        if isinstance(n, int) and n > 1:
            return n
    return None


def _losses(configs: Sequence[Configuration]) -> list[float]:
    out = []
    for c in configs:
        for attrs in c.user_attrs:
            metrics = attrs.get(TrialAttrs.METRICS)
            loss = metrics.get("train_loss") if isinstance(metrics, dict) else None
            if not isinstance(loss, (int, float)):
                return []
            out.append(float(loss))
    return out


def _same(values: Sequence[float]) -> bool:
    return len(values) > 1 and all(math.isclose(v, values[0], rel_tol=1e-9, abs_tol=1e-12) for v in values)


def diagnose(configs: Sequence[Configuration], metric: str) -> list[str]:
    """One sentence per problem found (empty when none)."""
    notes = []
    runs = [v for c in configs for v in c.values]
    classes = _num_classes(configs)
    if runs and metric in ACCURACY_METRICS and classes:
        chance = 1.0 / classes
        if max(runs) < CHANCE_FACTOR * chance:
            notes.append(f"every finished trial sits at chance accuracy (best {100 * max(runs):.1f}%, "
                         f"chance 1/{classes} = {100 * chance:.1f}%): the networks did not learn, so "
                         "these results say nothing about the searched parameters")
    if len(configs) >= 2:
        losses = _losses(configs)
        if _same(losses):
            notes.append(f"all {len(configs)} configurations give identical train_loss ({losses[0]:.6g}): "
                         "the searched parameters did not change training (do they reach the network?)")
        elif not losses and _same(runs):
            notes.append(f"all {len(configs)} configurations give an identical {metric} ({runs[0]:.6g}): "
                         "the searched parameters did not change the result")
    return notes
