"""Configurations: a study's finished trials grouped over their seeds, and the one best.

A configuration is a trial's parameters without its seed (docs/evidence.md). Trials
are grouped by their record's ``config_key`` (:class:`poolnas.records.TrialRecord`: the
``config_key`` user attribute, a hash of the trial config without its seed); trials that kept
no config group by their Optuna params without ``seed``. "Best" is the configuration with
the best mean over its finished seeds, everywhere in poolnas: the sweep summary, ``studies``,
the report, ``export``, the dashboard note and the λ that SRP Fig. 7 draws all call
:func:`best_configuration`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from poolnas.config import POOLING_FIELDS
from poolnas.records import TrialRecord, flatten, flatten_partial, searched_params, trial_record

__all__ = [
    "Configuration",
    "applies",
    "best_configuration",
    "configurations",
    "matches",
]

def applies(key: str, flat_config: Mapping[str, Any]) -> bool:
    """Whether the dotted config ``key`` means anything for this configuration (no λ for
    gap). Trials without a config (no pooling known) keep every key."""
    pooling = flat_config.get("attention.pooling")
    only = POOLING_FIELDS.get(key)
    return only is None or pooling is None or pooling in only


@dataclass
class Configuration:
    """One configuration of a study, over the seeds it finished.

    Attributes:
        key: the config_key shared by its trials.
        params: the searched parameters without the seed that apply to it (dotted keys).
        config: the trial config without its seed (``{}`` for trials that kept none).
        seeds: one entry per run, in trial order (None for runs without a seed).
        values: the objective value of each run, aligned with ``seeds``.
        trials: the trial number of each run, aligned with ``seeds``.
        user_attrs: the user attributes of each run, aligned with ``seeds``.
        runs: the record of each run, aligned with ``seeds`` (when built from a study).
    """

    key: str
    params: dict[str, Any]
    config: dict[str, Any]
    seeds: list[int | None] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    trials: list[int] = field(default_factory=list)
    user_attrs: list[dict[str, Any]] = field(default_factory=list, repr=False)
    runs: list[TrialRecord] = field(default_factory=list, repr=False)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / self.n if self.n else math.nan

    @property
    def std(self) -> float | None:
        """Sample standard deviation (ddof=1); None for a single run (shown as "–")."""
        if self.n < 2:
            return None
        m = self.mean
        return math.sqrt(math.fsum((v - m) ** 2 for v in self.values) / (self.n - 1))

    @cached_property
    def flat(self) -> dict[str, Any]:
        """The config without its seed as dotted keys (the params where no config was kept);
        computed once (a configuration's config does not change after ``configurations`` built
        it), from its runs' records where it has them (their config, flattened once)."""
        if self.config and self.runs:  # the runs share the config but for the seed
            return {k: v for k, v in self.runs[0].flat.items() if k != "seed"}
        return flatten(self.config) if self.config else dict(self.params)

    def by_seed(self) -> dict[int, float]:
        """Value per seed, for pairing (runs without a seed are left out)."""
        return {s: v for s, v in zip(self.seeds, self.values, strict=True) if s is not None}

    def best_run(self, maximize: bool) -> int:
        """Index of the best run among the seeds (its checkpoint belongs to that run)."""
        pick = max if maximize else min
        return pick(range(self.n), key=lambda i: self.values[i])

    def to_params(self) -> dict[str, Any]:
        """``params`` with tuples as lists (JSON, YAML)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}

    def std_text(self, fmt: str = ".4f", scale: float = 1.0) -> str:
        return "–" if self.std is None else format(self.std * scale, fmt)


def _identity(rec: TrialRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    """(params that apply, config without the seed) of a run's record."""
    if rec.config:
        config = {k: v for k, v in rec.config.items() if k != "seed"}
        params = searched_params(rec.params)
    else:  # not a poolnas trial: its params are all we know (its record's flat)
        config, params = {}, rec.flat
    return {k: v for k, v in params.items() if applies(k, rec.flat)}, config


def configurations(trials: Iterable[Any], metric: str = "objective",
                   mode: str = "max") -> list[Configuration]:
    """COMPLETE trials with a finite objective, grouped into configurations, best first.

    Args:
        trials: the trials' records (:class:`poolnas.records.TrialRecord`, as a StudyData
            holds them), or trials to build them from (Optuna FrozenTrials, LiteTrials:
            anything with state, values, params, user_attrs, number).
        metric: the objective's name (kept for labels; the value is the first objective's).
        mode: "max" or "min" (also accepts "maximize"/"minimize").

    A seed run twice (a retried trial that finished twice) counts once: the later run.
    Ranking: best mean; ties go to more seeds, then to the earlier first trial.
    """
    del metric  # the objective value is the trial's first value
    records = [t if isinstance(t, TrialRecord) else trial_record(t) for t in trials]
    groups: dict[str, Configuration] = {}
    for rec in sorted(records, key=lambda r: r.number):
        if rec.state != "COMPLETE" or rec.value is None:
            continue
        conf = groups.get(rec.config_key)
        if conf is None:
            params, config = _identity(rec)
            conf = groups[rec.config_key] = Configuration(key=rec.config_key, params=params, config=config)
        seed = rec.seed
        if seed is not None and seed in conf.seeds:  # a rerun of the same seed: keep the later
            i = conf.seeds.index(seed)
            for seq in (conf.seeds, conf.values, conf.trials, conf.user_attrs, conf.runs):
                del seq[i]
        conf.seeds.append(seed)
        conf.values.append(rec.value)
        conf.trials.append(rec.number)
        conf.user_attrs.append(dict(rec.user_attrs))
        conf.runs.append(rec)
    return rank(list(groups.values()), mode)


def _maximize(mode: str) -> bool:
    if mode not in ("max", "min", "maximize", "minimize"):
        raise ValueError(f"mode: {mode!r} is not accepted; expected max or min")
    return mode in ("max", "maximize")


def rank(configs: Sequence[Configuration], mode: str) -> list[Configuration]:
    """Best mean first; ties: more seeds, then the earlier first trial."""
    sign = -1.0 if _maximize(mode) else 1.0
    return sorted(configs, key=lambda c: (sign * c.mean, -c.n, min(c.trials)))


def best_configuration(trials_or_configs: Iterable[Any], mode: str = "max",
                       metric: str = "objective") -> Configuration | None:
    """The configuration with the best mean over its finished seeds, or None.

    Takes trials (grouped with :func:`configurations`) or configurations already grouped.
    """
    items = list(trials_or_configs)
    if items and all(isinstance(c, Configuration) for c in items):
        ranked = rank(items, mode)  # type: ignore[arg-type]
    else:
        ranked = configurations(items, metric, mode)
    return ranked[0] if ranked else None


def matches(conf: Configuration, partial: Mapping[str, Any]) -> bool:
    """Whether a configuration has every dotted ``key: value`` of a partial config
    (lists compare as tuples; 1 == 1.0)."""
    flat = conf.flat
    for key, want in flatten_partial(partial).items():
        if key not in flat or flat[key] != want:
            return False
    return True
