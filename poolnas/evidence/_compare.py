"""Differences from a baseline with a 95% interval, and a verdict.

For a configuration A and the baseline B (DESIGN.md "Evidence"):

- paired over the seeds both ran (at least two): d_s = A_s - B_s, Δ = mean(d), interval
  Δ ± t(1 - α/2, n - 1) · sd(d) / √n with sd at ddof=1 (Student's t, as
  ``scipy.stats.ttest_rel(...).confidence_interval()``);
- otherwise, when both ran at least two seeds: Welch's interval, Δ = mean(A) - mean(B),
  se = √(s²_A/n_A + s²_B/n_B), Welch–Satterthwaite degrees of freedom (as
  ``scipy.stats.ttest_ind(..., equal_var=False)``);
- otherwise no interval: the verdict is "n too small".

Verdict: the interval excludes 0 → "better" or "worse" in the objective's direction; else
"within noise". The baseline itself is "baseline". "Indistinguishable from the best" is the
same comparison made against the best configuration.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from poolnas.evidence._configs import Configuration, matches, rank
from poolnas.evidence._tdist import t_quantile  # = scipy.stats.t.ppf, without scipy's import
from poolnas.records import flatten_partial

__all__ = [
    "BETTER",
    "WORSE",
    "WITHIN_NOISE",
    "TOO_FEW",
    "BASELINE",
    "Comparison",
    "Interval",
    "compare",
    "difference",
    "find_baseline",
    "indistinguishable",
    "mean_interval",
]

BETTER, WORSE, WITHIN_NOISE, TOO_FEW, BASELINE = "better", "worse", "within noise", "n too small", "baseline"


@dataclass(frozen=True)
class Interval:
    """A difference A - B with its interval (None where too few runs for one)."""

    delta: float
    low: float | None
    high: float | None
    method: str  # "paired" | "welch" | "none"
    n_pairs: int  # seeds both ran
    df: float | None


@dataclass(frozen=True)
class Comparison:
    """One configuration against the baseline (the JSON of ``poolnas compare``)."""

    config: Configuration
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    verdict: str
    method: str
    n_pairs: int

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {"params": c.to_params(), "n": c.n, "mean": c.mean, "std": c.std,
                "delta": self.delta, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "verdict": self.verdict, "method": self.method, "n_pairs": self.n_pairs,
                "seeds": c.seeds, "trials": c.trials, "config_key": c.key}


def _var(xs: Sequence[float]) -> float:
    m = math.fsum(xs) / len(xs)
    return math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def difference(a: Configuration, b: Configuration, level: float = 0.95) -> Interval:
    """A - B: paired over shared seeds when there are two or more, else Welch, else none."""
    pa, pb = a.by_seed(), b.by_seed()
    shared = sorted(set(pa) & set(pb))
    q = 1.0 - (1.0 - level) / 2.0
    if len(shared) >= 2:
        d = [pa[s] - pb[s] for s in shared]
        n = len(d)
        mean = math.fsum(d) / n
        half = t_quantile(n - 1, q) * math.sqrt(_var(d) / n)
        return Interval(mean, mean - half, mean + half, "paired", n, float(n - 1))
    delta = a.mean - b.mean
    if a.n >= 2 and b.n >= 2:
        va, vb = _var(a.values) / a.n, _var(b.values) / b.n
        se2 = va + vb
        if se2 == 0.0:  # both constant: no spread to scale the interval by
            return Interval(delta, delta, delta, "welch", len(shared), None)
        df = se2 ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
        half = t_quantile(df, q) * math.sqrt(se2)
        return Interval(delta, delta - half, delta + half, "welch", len(shared), float(df))
    return Interval(delta, None, None, "none", len(shared), None)


def mean_interval(conf: Configuration, level: float = 0.95) -> tuple[float, float] | None:
    """The t-interval of a configuration's mean over its seeds; None below two seeds."""
    if conf.n < 2:
        return None
    half = t_quantile(conf.n - 1, 1.0 - (1.0 - level) / 2.0) * math.sqrt(_var(conf.values) / conf.n)
    return conf.mean - half, conf.mean + half


def _verdict(iv: Interval, maximize: bool) -> str:
    if iv.low is None or iv.high is None:
        return TOO_FEW
    if iv.low > 0 or iv.high < 0:
        return BETTER if (iv.low > 0) == maximize else WORSE
    return WITHIN_NOISE


def find_baseline(configs: Sequence[Configuration], baseline: Configuration | Mapping[str, Any],
                  mode: str) -> tuple[Configuration | None, int]:
    """The baseline configuration and how many configurations matched the partial config.

    A partial config (``{attention.pooling: gap}``) matching several configurations (e.g. GAP
    at several reductions R) picks the best of them: the strongest baseline.
    """
    if isinstance(baseline, Configuration):
        return baseline, 1
    hits = [c for c in configs if matches(c, baseline)]
    return (rank(hits, mode)[0] if hits else None), len(hits)


def compare(configs: Sequence[Configuration], baseline: Configuration | Mapping[str, Any],
            mode: str = "max", *, level: float = 0.95) -> list[Comparison]:
    """Every configuration against the baseline, in the order given (best first from
    :func:`configurations`).

    Raises:
        LookupError: no configuration matches the baseline.
    """
    base, _ = find_baseline(configs, baseline, mode)
    if base is None:
        shown = ", ".join(f"{k}={v}" for k, v in flatten_partial(baseline).items())  # type: ignore[arg-type]
        raise LookupError(f"no configuration matches the baseline {shown}")
    maximize = mode in ("max", "maximize")
    out = []
    for conf in configs:
        if conf is base:
            out.append(Comparison(conf, 0.0, None, None, BASELINE, "none", conf.n))
            continue
        iv = difference(conf, base, level)
        out.append(Comparison(conf, iv.delta, iv.low, iv.high, _verdict(iv, maximize), iv.method, iv.n_pairs))
    return out


def indistinguishable(configs: Sequence[Configuration], mode: str = "max", *,
                      level: float = 0.95) -> list[Comparison]:
    """The configurations whose difference from the best is within noise (the best first).
    Configurations with too few seeds for an interval are not listed: nothing can be said."""
    ranked = rank(configs, mode)
    if not ranked:
        return []
    return [c for c in compare(ranked, ranked[0], mode, level=level) if c.verdict in (BASELINE, WITHIN_NOISE)]
