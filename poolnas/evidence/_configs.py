"""Configurations: a study's finished trials grouped over their seeds, and the one best.

A configuration is a trial's parameters without its seed (docs/evidence.md). Trials
are grouped by the ``config_key`` user attribute (a hash of the trial config without its
seed, :func:`poolnas.records.config_key`); trials that kept no config group by their Optuna
params without ``seed``. "Best" is the configuration with the best mean over its finished
seeds, everywhere in poolnas: the sweep summary, ``studies``, the report, ``export``, the
dashboard note and the λ that SRP Fig. 7 draws all call :func:`best_configuration`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from poolnas.config import POOLING_FIELDS
from poolnas.records import TrialAttrs, config_key, flatten, flatten_partial

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


def _decode(value: Any) -> Any:
    """Optuna stores lists as their JSON text ("[1, 2]"): give them back as tuples."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return tuple(parsed) if isinstance(parsed, list) else value
    return value


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
    """

    key: str
    params: dict[str, Any]
    config: dict[str, Any]
    seeds: list[int | None] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    trials: list[int] = field(default_factory=list)
    user_attrs: list[dict[str, Any]] = field(default_factory=list, repr=False)

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
        """The config as dotted keys (the params where no config was kept); computed once (a
        configuration's config does not change after ``configurations`` built it)."""
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


def _value(trial: Any) -> float | None:
    values = getattr(trial, "values", None)
    if getattr(getattr(trial, "state", None), "name", None) != "COMPLETE" or not values:
        return None
    value = values[0]
    return float(value) if value is not None and math.isfinite(value) else None


def _identity(trial: Any) -> tuple[str, dict[str, Any], dict[str, Any], int | None]:
    attrs = trial.user_attrs
    config = attrs.get(TrialAttrs.CONFIG)
    params = {k: _decode(v) for k, v in trial.params.items() if k != "seed"}
    if isinstance(config, dict):
        seed = config.get("seed")
        config = {k: v for k, v in config.items() if k != "seed"}
        key = str(attrs.get(TrialAttrs.CONFIG_KEY) or config_key(config))
    else:  # not a poolnas trial: its params are all we know (none: the trial stands alone)
        seed = trial.params.get("seed")
        config = {}
        key = repr(sorted(params.items())) if params else f"trial {trial.number}"
    flat = flatten(config) if config else params
    params = {k: v for k, v in params.items() if applies(k, flat)}
    return key, params, config, seed if isinstance(seed, int) else None


def configurations(trials: Iterable[Any], metric: str = "objective",
                   mode: str = "max") -> list[Configuration]:
    """COMPLETE trials with a finite objective, grouped into configurations, best first.

    Args:
        trials: Optuna FrozenTrials (anything with state, values, params, user_attrs, number).
        metric: the objective's name (kept for labels; the value is ``trial.values[0]``).
        mode: "max" or "min" (also accepts "maximize"/"minimize").

    A seed run twice (a retried trial that finished twice) counts once: the later run.
    Ranking: best mean; ties go to more seeds, then to the earlier first trial.
    """
    del metric  # the objective value is the trial's first value
    groups: dict[str, Configuration] = {}
    for trial in sorted(trials, key=lambda t: t.number):
        value = _value(trial)
        if value is None:
            continue
        key, params, config, seed = _identity(trial)
        conf = groups.setdefault(key, Configuration(key=key, params=params, config=config))
        if seed is not None and seed in conf.seeds:  # a rerun of the same seed: keep the later
            i = conf.seeds.index(seed)
            for seq in (conf.seeds, conf.values, conf.trials, conf.user_attrs):
                del seq[i]
        conf.seeds.append(seed)
        conf.values.append(value)
        conf.trials.append(trial.number)
        conf.user_attrs.append(dict(trial.user_attrs))
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
