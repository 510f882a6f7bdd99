"""Differences from a baseline with simultaneous 95% intervals, and verdicts that hold together.

For a configuration A and the baseline B (docs/evidence.md):

- paired over the seeds both ran (at least two): d_s = A_s - B_s, Δ = mean(d), interval
  Δ ± t(1 - α'/2, n - 1) · sd(d) / √n with sd at ddof=1 (Student's t, as
  ``scipy.stats.ttest_rel(...).confidence_interval(1 - α')``);
- otherwise, when both ran at least two seeds: Welch's interval, Δ = mean(A) - mean(B),
  se = √(s²_A/n_A + s²_B/n_B), Welch–Satterthwaite degrees of freedom (as
  ``scipy.stats.ttest_ind(..., equal_var=False)``);
- otherwise no interval: the verdict is "n too small".

The family and its level (many-to-one, Bonferroni): the configurations compared with the
baseline (those with an interval) are one family of m comparisons. Each interval is at level
1 - α' with α' = α / m, α = 0.05, so that all m intervals hold at once with probability
at least 95% (Bonferroni's inequality; a single-step many-to-one procedure of the Dunnett type,
with the Bonferroni bound in place of the multivariate-t quantile, since the pairs' seeds and
variances differ). L is the number of sample sizes at which a race could have stopped (``max -
min + 1`` seeds in a raced study, 1 otherwise): the verdict is the test at the n the race
stopped at, one of those L, so splitting α over them (alpha spending, a weighted Bonferroni
over looks: α / (2m) at ``max`` seeds, α / (2m (L - 1)) below, :class:`Family`) keeps it
valid however the race chose n. The verdict is the interval's: it excludes 0 →
"better" or "worse" in the objective's direction; it lies inside ±margin → "equivalent"
(TOST at α' on each side, done conservatively with the same interval); else "within noise".
An interval of zero width (the same difference on every seed, as accuracy moves in steps on
a small test set) measures no spread: "n too small".

``mde``: the smallest true difference the comparison detects with 80% power at its own n,
observed spread and α': (t(1 - α'/2, df) + t(0.80, df)) · se (the usual normal-theory
formula with t quantiles). "Within noise" means no difference of ±mde or more was likely to
be missed, not that there is none.

"Indistinguishable from the best" is the same procedure against the best configuration (the
family: every other configuration). :func:`best_effect` gives the best's Δ corrected for
selection (the winner's curse): picked on one half of the seeds, measured on the other.
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
    "EQUIVALENT",
    "TOO_FEW",
    "BASELINE",
    "POWER",
    "BestEffect",
    "Comparison",
    "Family",
    "Interval",
    "best_effect",
    "compare",
    "difference",
    "find_baseline",
    "indistinguishable",
    "mde_of",
    "mean_interval",
]

BETTER, WORSE, WITHIN_NOISE, TOO_FEW, BASELINE = "better", "worse", "within noise", "n too small", "baseline"
EQUIVALENT = "equivalent"
POWER = 0.80  # the power mde is computed for


@dataclass(frozen=True)
class Interval:
    """A difference A - B with its interval (None where too few runs for one)."""

    delta: float
    low: float | None
    high: float | None
    method: str  # "paired" | "welch" | "none"
    n_pairs: int  # seeds both ran
    df: float | None
    se: float | None = None  # standard error of delta (None: no interval)


@dataclass(frozen=True)
class Family:
    """The comparisons whose verdicts hold together, and the level each one is made at.

    Fixed seeds (``looks`` 1): each comparison at α' = α / m. A raced study (``looks`` L > 1,
    the race's seed counts ``min`` .. ``final``): half of α / m goes to the last look (n =
    ``final``, where the close comparisons end) and half is spread evenly over the L - 1
    earlier ones (a weighted Bonferroni over the looks: the levels sum to α / m per
    comparison, so the verdict is valid whichever n the race stopped at).
    """

    size: int  # m: comparisons with an interval
    looks: int = 1  # L: sample sizes a race could have stopped at (1: fixed seeds)
    level: float = 0.95  # the family's joint level
    final: int | None = None  # the race's last look (max seeds)

    @property
    def alpha(self) -> float:
        return 1.0 - self.level

    @property
    def alpha_each(self) -> float:
        """α' at the last look (fixed seeds: the only one): α / m, or α / (2m) in a race."""
        m = max(self.size, 1)
        return self.alpha / m if self.looks <= 1 else self.alpha / (2 * m)

    @property
    def alpha_early(self) -> float:
        """α' at each look before the last in a race: α / (2m (L - 1))."""
        return self.alpha_each if self.looks <= 1 else self.alpha_each / (self.looks - 1)

    def alpha_at(self, n_pairs: int) -> float:
        """α' of a comparison over ``n_pairs`` pairs (Welch, 0 pairs: an early look)."""
        if self.looks <= 1 or (self.final is not None and n_pairs >= self.final):
            return self.alpha_each
        return self.alpha_early

    @property
    def level_each(self) -> float:
        return 1.0 - self.alpha_each

    @property
    def method(self) -> str:
        s = "s" * (self.size != 1)
        if self.looks <= 1:
            return (f"Bonferroni many-to-one over {self.size} comparison{s}: simultaneous "
                    f"{100 * self.level:g}% intervals, each at {100 * (1 - self.alpha_each):.4g}%")
        return (f"Bonferroni many-to-one over {self.size} comparison{s} and the design's {self.looks} looks: "
                f"simultaneous {100 * self.level:g}% intervals, each at {100 * (1 - self.alpha_each):.4g}% "
                f"at {self.final} seeds, {100 * (1 - self.alpha_early):.4g}% below")

    def to_dict(self) -> dict[str, Any]:
        return {"size": self.size, "looks": self.looks, "final": self.final, "level": self.level,
                "alpha_each": self.alpha_each, "alpha_early": self.alpha_early, "method": self.method}


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
    mde: float | None = None  # smallest difference detected with 80% power (objective units)
    margin: float | None = None  # the equivalence margin asked for, if any

    def to_dict(self) -> dict[str, Any]:
        c = self.config
        return {"params": c.to_params(), "n": c.n, "mean": c.mean, "std": c.std,
                "delta": self.delta, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "verdict": self.verdict, "method": self.method, "n_pairs": self.n_pairs,
                "mde": self.mde, "seeds": c.seeds, "trials": c.trials, "config_key": c.key}


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
        se = math.sqrt(_var(d) / n)
        half = t_quantile(n - 1, q) * se
        return Interval(mean, mean - half, mean + half, "paired", n, float(n - 1), se)
    delta = a.mean - b.mean
    if a.n >= 2 and b.n >= 2:
        va, vb = _var(a.values) / a.n, _var(b.values) / b.n
        se2 = va + vb
        if se2 == 0.0:  # both constant: no spread to scale the interval by
            return Interval(delta, delta, delta, "welch", len(shared), None, 0.0)
        df = se2 ** 2 / (va ** 2 / (a.n - 1) + vb ** 2 / (b.n - 1))
        half = t_quantile(df, q) * math.sqrt(se2)
        return Interval(delta, delta - half, delta + half, "welch", len(shared), float(df), math.sqrt(se2))
    return Interval(delta, None, None, "none", len(shared), None)


def _zero_width(iv: Interval) -> bool:
    return iv.low is not None and iv.high is not None and iv.high - iv.low <= 1e-12 * max(1.0, abs(iv.delta))


def mde_of(iv: Interval, alpha_each: float, power: float = POWER) -> float | None:
    """The smallest true |Δ| this comparison detects with ``power`` at its n, spread and α'."""
    if iv.se is None or iv.df is None or iv.se <= 0.0 or _zero_width(iv):
        return None
    return (t_quantile(iv.df, 1.0 - alpha_each / 2.0) + t_quantile(iv.df, power)) * iv.se


def mean_interval(conf: Configuration, level: float = 0.95) -> tuple[float, float] | None:
    """The t-interval of a configuration's mean over its seeds; None below two seeds."""
    if conf.n < 2:
        return None
    half = t_quantile(conf.n - 1, 1.0 - (1.0 - level) / 2.0) * math.sqrt(_var(conf.values) / conf.n)
    return conf.mean - half, conf.mean + half


def _verdict(iv: Interval, maximize: bool, margin: float | None = None) -> str:
    if iv.low is None or iv.high is None or _zero_width(iv):
        return TOO_FEW
    if iv.low > 0 or iv.high < 0:
        return BETTER if (iv.low > 0) == maximize else WORSE
    if margin is not None and -margin < iv.low and iv.high < margin:
        return EQUIVALENT
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


def family_of(configs: Sequence[Configuration], base: Configuration, looks: int = 1,
              level: float = 0.95, final: int | None = None) -> Family:
    """The family of comparisons with ``base``: every other configuration an interval exists for."""
    size = sum(1 for c in configs if c is not base and difference(c, base).method != "none")
    return Family(size, looks, level, final)


def compare(configs: Sequence[Configuration], baseline: Configuration | Mapping[str, Any],
            mode: str = "max", *, level: float = 0.95, looks: int = 1, final: int | None = None,
            margin: float | None = None) -> list[Comparison]:
    """Every configuration against the baseline, in the order given (best first from
    :func:`configurations`), with simultaneous intervals (module docstring).

    Args:
        level: the family's joint level (0.95).
        looks: sample sizes a race could have stopped at (``max - min + 1``; 1: fixed seeds).
        final: the race's last look (``max`` seeds).
        margin: an equivalence margin in the objective's units (None: no "equivalent").

    Raises:
        LookupError: no configuration matches the baseline.
    """
    base, _ = find_baseline(configs, baseline, mode)
    if base is None:
        shown = ", ".join(f"{k}={v}" for k, v in flatten_partial(baseline).items())  # type: ignore[arg-type]
        raise LookupError(f"no configuration matches the baseline {shown}")
    maximize = mode in ("max", "maximize")
    fam = family_of(configs, base, looks, level, final)
    out = []
    for conf in configs:
        if conf is base:
            out.append(Comparison(conf, 0.0, None, None, BASELINE, "none", conf.n, margin=margin))
            continue
        alpha = fam.alpha_at(difference(conf, base).n_pairs)
        iv = difference(conf, base, 1.0 - alpha)
        out.append(Comparison(conf, iv.delta, iv.low, iv.high, _verdict(iv, maximize, margin), iv.method,
                              iv.n_pairs, mde_of(iv, alpha), margin))
    return out


def indistinguishable(configs: Sequence[Configuration], mode: str = "max", *,
                      level: float = 0.95, looks: int = 1, final: int | None = None) -> list[Comparison]:
    """The configurations whose difference from the best is within noise (the best first),
    by the same simultaneous procedure as the verdicts (the family: every other
    configuration against the best). Configurations with too few seeds for an interval, or
    an interval of zero width, are not listed: nothing can be said."""
    ranked = rank(configs, mode)
    if not ranked:
        return []
    keep = (BASELINE, WITHIN_NOISE, EQUIVALENT)
    return [c for c in compare(ranked, ranked[0], mode, level=level, looks=looks, final=final)
            if c.verdict in keep]


@dataclass(frozen=True)
class BestEffect:
    """The best configuration's Δ vs the baseline, corrected for having been picked as best.

    Cross-fitted over two halves of the seeds: the configuration with the best paired mean
    difference on one half is measured on the other half, and the other way round; ``delta``
    is the mean of the two held-out measurements. Each is unbiased for the true Δ of the
    configuration it measures, so under the null (every configuration equal to the baseline)
    the estimate is unbiased, and otherwise it is not inflated by the pick (it can only fall
    short when a half picks a configuration that is not the truly best).
    """

    delta: float
    picks: tuple[str, ...]  # the config_key each half picked
    n_held_out: int  # held-out pairs behind delta, both halves together
    seeds: tuple[int, ...]  # the seeds the halves are drawn from

    @property
    def agrees(self) -> bool:
        """Whether both halves picked the same configuration."""
        return len(set(self.picks)) == 1

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "picks": list(self.picks), "n_held_out": self.n_held_out,
                "seeds": list(self.seeds), "method": "cross-fitted over seed halves (pick on one, "
                "measure on the other)"}


def _paired_mean(conf: Configuration, base: Configuration, seeds: Sequence[int]) -> tuple[float, int] | None:
    pa, pb = conf.by_seed(), base.by_seed()
    d = [pa[s] - pb[s] for s in seeds if s in pa and s in pb]
    return (math.fsum(d) / len(d), len(d)) if d else None


def best_effect(configs: Sequence[Configuration], base: Configuration, mode: str = "max", *,
                first_seeds: int | None = None) -> BestEffect | None:
    """The selection-adjusted Δ of the best (:class:`BestEffect`), or None when the seeds do
    not split (fewer than two seeds shared with the baseline).

    Args:
        first_seeds: use only the baseline's first ``first_seeds`` seeds (a raced study: the
            ``min`` seeds every configuration ran before the race chose who gets more, so that
            no held-out seed was run because of the values it is measured with).
    """
    sign = 1.0 if mode in ("max", "maximize") else -1.0
    seeds = sorted(base.by_seed())
    if first_seeds is not None:
        seeds = seeds[:first_seeds]
    halves = (seeds[0::2], seeds[1::2])
    if not halves[1]:
        return None
    rivals = [c for c in configs if c is not base]
    estimates, picks, n_out = [], [], 0
    for pick_on, measure_on in (halves, halves[::-1]):
        scored = [(m[0], c) for c in rivals if (m := _paired_mean(c, base, pick_on)) is not None
                  and _paired_mean(c, base, measure_on) is not None]
        if not scored:
            continue
        chosen = max(scored, key=lambda x: sign * x[0])[1]
        held = _paired_mean(chosen, base, measure_on)
        assert held is not None
        estimates.append(held[0])
        n_out += held[1]
        picks.append(chosen.key)
    if not estimates:
        return None
    return BestEffect(math.fsum(estimates) / len(estimates), tuple(picks), n_out, tuple(seeds))
