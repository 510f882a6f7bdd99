"""``poolnas compare --plan DELTA``: how many seeds, trials and hours would detect DELTA.

From the study's own numbers: the spread of each configuration's paired differences with the
baseline (sd of d_s = A_s - B_s over shared seeds; Welch's √(s²_A + s²_B) where no seed is
shared), the family the verdicts control (m comparisons, each at α' = 0.05 / m with fixed
seeds; α / (2m) at the last look of a staged or raced design), and the trials' mean wall
time. The seeds per configuration are the smallest n ≥ 2 with

    (t(1 - α'/2, n - 1) + t(0.80, n - 1)) · sd / √n  <=  DELTA

(the ``mde`` formula of :mod:`poolnas.evidence._compare` solved for n). The family's n is
the largest over its configurations (every comparison detects DELTA), computed also at the
root-mean-square sd. Pure Python, like the rest of ``compare``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from poolnas.evidence._compare import POWER, Family, _var
from poolnas.evidence._configs import Configuration
from poolnas.evidence._tdist import t_quantile
from poolnas.records import TrialAttrs

__all__ = ["MAX_SEEDS", "Plan", "plan", "seeds_for"]

MAX_SEEDS = 10_000  # beyond this a plan says "not reachable"


@dataclass(frozen=True)
class Plan:
    """Seeds per configuration, trials and hours for the family to detect ``delta``."""

    delta: float
    family: int  # m comparisons
    alpha_each: float
    sd: float | None  # root mean square sd of the paired differences
    seeds: int | None  # per configuration, for every comparison (None: > MAX_SEEDS or no sd)
    seeds_typical: int | None  # at the root mean square sd
    configurations: int  # the baseline and its family
    trial_seconds: float | None  # mean wall time of a finished trial
    per_config: list[dict[str, Any]] = field(default_factory=list)  # config_key, sd, seeds

    @property
    def trials(self) -> int | None:
        return None if self.seeds is None else self.seeds * self.configurations

    @property
    def hours(self) -> float | None:
        """Trial hours at one trial at a time (divide by the trials run in parallel)."""
        if self.trials is None or self.trial_seconds is None:
            return None
        return self.trials * self.trial_seconds / 3600.0

    def to_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "power": POWER, "family": self.family, "alpha_each": self.alpha_each,
                "sd": self.sd, "seeds": self.seeds, "seeds_typical": self.seeds_typical,
                "configurations": self.configurations, "trials": self.trials,
                "trial_seconds": self.trial_seconds, "hours": self.hours, "per_config": self.per_config}


def seeds_for(delta: float, sd: float, alpha_each: float, power: float = POWER) -> int | None:
    """The smallest n ≥ 2 whose paired t-test at α' detects ``delta`` with ``power``."""
    if delta <= 0:
        return None
    if sd <= 0:
        return 2
    z = (delta / sd) ** 2
    # the normal approximation less one as a start (t quantiles only make n larger), then up
    n = max(2, int(((t_quantile(1e6, 1 - alpha_each / 2) + t_quantile(1e6, power)) ** 2) / z) - 1)
    if n > MAX_SEEDS:
        return None
    while n <= MAX_SEEDS:
        if (t_quantile(n - 1, 1 - alpha_each / 2) + t_quantile(n - 1, power)) ** 2 <= n * z:
            return n
        n += 1
    return None


def _sd_of_difference(a: Configuration, b: Configuration) -> float | None:
    pa, pb = a.by_seed(), b.by_seed()
    d = [pa[s] - pb[s] for s in sorted(set(pa) & set(pb))]
    if len(d) >= 2:
        return math.sqrt(_var(d))
    if a.n >= 2 and b.n >= 2:
        return math.sqrt(_var(a.values) + _var(b.values))
    return None


def _wall_time(configs: Sequence[Configuration]) -> float | None:
    times = [float(t) for c in configs for attrs in c.user_attrs
             if isinstance(t := attrs.get(TrialAttrs.WALL_TIME), (int, float)) and t > 0]
    return math.fsum(times) / len(times) if times else None


def plan(configs: Sequence[Configuration], base: Configuration, delta: float, *,
         level: float = 0.95, looks: int = 1) -> Plan:
    """The plan for ``delta`` (objective units) against ``base`` (module docstring). ``looks``
    > 1 (a staged or raced design): the seeds the last look needs, at its α' = α / (2m)."""
    rivals = [c for c in configs if c is not base]
    fam = Family(max(len(rivals), 1), looks, level)
    rows, sds = [], []
    for c in rivals:
        sd = _sd_of_difference(c, base)
        n = seeds_for(delta, sd, fam.alpha_each) if sd is not None else None
        rows.append({"config_key": c.key, "params": c.to_params(), "sd": sd, "seeds": n})
        if sd is not None:
            sds.append(sd)
    rms = math.sqrt(math.fsum(s * s for s in sds) / len(sds)) if sds else None
    need = [r["seeds"] for r in rows if r["sd"] is not None]
    seeds = None if not need or any(n is None for n in need) else max(need)
    typical = seeds_for(delta, rms, fam.alpha_each) if rms else None
    return Plan(delta, fam.size, fam.alpha_each, rms, seeds, typical, len(rivals) + 1,
                _wall_time(configs), rows)
