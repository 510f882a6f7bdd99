"""Accuracy at a price: cost metrics per configuration and the Pareto front.

Every trial stores its cost beside its accuracy (docs/trainers.md, "Cost"): ``params`` and
``flops`` (multiply-accumulates per image, forward) in the ``cost`` user attribute and among
its final ``metrics``, ``train_step_ms`` and ``infer_ms`` among its ``metrics``. A
configuration's value of a metric is the mean over its finished seeds (params and FLOPs are
the same for every seed; step times vary with the machine).

A configuration is on the Pareto front when no other configuration is at least as good in
every objective and strictly better in one (means over seeds).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from poolnas.config import COST_METRICS
from poolnas.evidence._configs import Configuration
from poolnas.records import TrialAttrs

__all__ = [
    "COST_METRICS",
    "ParetoPoint",
    "cost_means",
    "dominates",
    "front_objectives",
    "metric_mean",
    "pareto_front",
    "run_values",
]


def front_objectives(objectives: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """What a study's Pareto front is over: its objectives when it has several, else its one
    objective against FLOPs (the cost every trial stores)."""
    if len(objectives) > 1:
        return list(objectives)
    return [tuple(objectives[0]), ("flops", "min")]  # type: ignore[list-item]


def cost_means(conf: Configuration) -> dict[str, float | None]:
    """Mean over seeds of each cost metric (None where the runs kept none)."""
    return {m: metric_mean(conf, m) for m in COST_METRICS}


def _lookup(attrs: Mapping[str, Any], metric: str) -> float | None:
    for source in (attrs.get(TrialAttrs.METRICS), attrs.get(TrialAttrs.COST)):
        if isinstance(source, Mapping) and isinstance(source.get(metric), (int, float)):
            return float(source[metric])
    if metric == "params" and isinstance(attrs.get(TrialAttrs.N_PARAMS), (int, float)):
        return float(attrs[TrialAttrs.N_PARAMS])
    return None


def run_values(conf: Configuration, metric: str) -> list[float]:
    """The metric of each finished run of a configuration (runs that lack it are left out)."""
    out = []
    for attrs in conf.user_attrs:
        value = _lookup(attrs, metric)
        if value is not None and math.isfinite(value):
            out.append(value)
    return out


def metric_mean(conf: Configuration, metric: str, objective: str | None = None) -> float | None:
    """Mean over seeds of ``metric``; the study's objective is the trials' value itself."""
    if objective is not None and metric == objective:
        return conf.mean
    values = run_values(conf, metric)
    return math.fsum(values) / len(values) if values else None


def dominates(a: Sequence[float], b: Sequence[float], maximize: Sequence[bool]) -> bool:
    """Whether point ``a`` is at least as good as ``b`` everywhere and better somewhere."""
    better = False
    for x, y, up in zip(a, b, maximize, strict=True):
        if (x < y) if up else (x > y):
            return False
        if x != y:
            better = True
    return better


@dataclass(frozen=True)
class ParetoPoint:
    """A configuration on (or off) the front, with its mean per objective."""

    config: Configuration
    values: tuple[float, ...]
    on_front: bool


def pareto_front(configs: Sequence[Configuration], objectives: Sequence[tuple[str, str]],
                 objective: str | None = None) -> list[ParetoPoint]:
    """Every configuration that has every objective, marked on or off the front.

    Args:
        configs: the study's configurations (``poolnas.evidence.configurations``).
        objectives: (metric, mode) pairs, mode "max" or "min".
        objective: the metric that is the trials' own value (the study's first objective).

    Returns the points sorted by the first objective, best first.
    """
    maximize = [mode in ("max", "maximize") for _, mode in objectives]
    points: list[tuple[Configuration, tuple[float, ...]]] = []
    for conf in configs:
        vals = [metric_mean(conf, m, objective) for m, _ in objectives]
        if all(v is not None for v in vals):
            points.append((conf, tuple(float(v) for v in vals)))  # type: ignore[arg-type]
    out = [ParetoPoint(c, v, not any(dominates(w, v, maximize) for _, w in points))
           for c, v in points]
    sign = -1.0 if maximize and maximize[0] else 1.0
    return sorted(out, key=lambda p: sign * p.values[0])
