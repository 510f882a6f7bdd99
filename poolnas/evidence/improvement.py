"""P(A > B): the probability of improvement (rliable's definition) from per-example test bits.

The probability that a run of A scores higher than a run of B, ties counting one half
(Agarwal et al. 2021, "Deep RL at the edge of the statistical precipice", probability of
improvement: the Mann-Whitney U statistic over runs divided by n_A · n_B). Each trial keeps
its last test pass a bit per example (user attribute ``test_correct``,
:func:`poolnas.trainers.metrics.pack_correct`); a run's score is the mean of its bits.

The interval is a percentile bootstrap over both sources of variation: each replicate
resamples A's runs and B's runs (seeds) with replacement, and the test examples with
replacement (one draw shared by every run: they are the same test set), and recomputes
P(A > B). numpy is imported when called (the report and the notebook API, never the quick
commands).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np

from poolnas.evidence._configs import Configuration
from poolnas.records import TrialAttrs

__all__ = ["Improvement", "probability_of_improvement", "run_bits"]


@dataclass(frozen=True)
class Improvement:
    """P(A > B) with its bootstrap interval."""

    p: float
    low: float
    high: float
    runs_a: int
    runs_b: int
    examples: int
    boots: int


def _bits(packed: object) -> list[int] | None:
    if not isinstance(packed, dict) or not isinstance(packed.get("bits"), str):
        return None
    raw = base64.b64decode(packed["bits"])
    n = int(packed.get("n", 0))
    return [1 if raw[i >> 3] & (0x80 >> (i & 7)) else 0 for i in range(n)]


def run_bits(conf: Configuration) -> list[list[int]] | None:
    """Every run's per-example correctness, or None when a run kept none."""
    out = [_bits(attrs.get(TrialAttrs.TEST_CORRECT)) for attrs in conf.user_attrs]
    if not out or any(b is None for b in out):
        return None
    return out  # type: ignore[return-value]


def _p(a: np.ndarray, b: np.ndarray) -> float:
    diff = a[:, None] - b[None, :]
    return float((np.sum(diff > 0) + 0.5 * np.sum(diff == 0)) / diff.size)


def probability_of_improvement(a: Configuration, b: Configuration, *, boots: int = 1000,
                               level: float = 0.95, seed: int = 0) -> Improvement | None:
    """P(a run of ``a`` beats a run of ``b``) with a bootstrap interval over runs and test
    examples; None when either lacks per-example bits, or their test sets differ in size."""
    ba, bb = run_bits(a), run_bits(b)
    if ba is None or bb is None:
        return None
    n = len(ba[0])
    if n == 0 or any(len(x) != n for x in ba + bb):
        return None
    ma, mb = np.array(ba, dtype=np.float64), np.array(bb, dtype=np.float64)
    p = _p(ma.mean(1), mb.mean(1))
    rng = np.random.default_rng(seed)
    reps = np.empty(boots)
    for i in range(boots):
        counts = np.bincount(rng.integers(0, n, n), minlength=n) / n  # the test examples
        ra = ma[rng.integers(0, len(ba), len(ba))] @ counts  # the runs (seeds)
        rb = mb[rng.integers(0, len(bb), len(bb))] @ counts
        reps[i] = _p(ra, rb)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(reps, [tail, 1.0 - tail])
    return Improvement(p, float(low), float(high), len(ba), len(bb), n, boots)
