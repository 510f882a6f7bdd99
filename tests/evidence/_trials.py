"""Real Optuna FrozenTrials shaped like poolnas trials (config, config_key, metrics), no storage."""

from __future__ import annotations

from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from poolnas.records import TrialAttrs, config_key
from poolnas.testing.synthetic_studies import with_values

BASE: dict[str, Any] = {
    "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
    "attention": {"pooling": "gap", "lam": 0.6, "M": 5},
    "trainer": {"dataset": "digits", "epochs": 2},
}


def trial(number: int, params: dict[str, Any], seed: int | None, value: float | None, *,
          state: TrialState = TrialState.COMPLETE, loss: float | None = None) -> Any:
    config = with_values(BASE, params)
    config["seed"] = seed
    dists: dict[str, Any] = {k: (FloatDistribution(0, 100) if isinstance(v, float)
                                 else CategoricalDistribution([v])) for k, v in params.items()}
    all_params = dict(params)
    if seed is not None:
        all_params["seed"] = seed
        dists["seed"] = IntDistribution(0, 100)
    t = optuna.trial.create_trial(
        params=all_params, distributions=dists, state=state,
        value=value if state == TrialState.COMPLETE else None,
        user_attrs={TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
                    TrialAttrs.METRICS: {"test_acc": value, "train_loss": loss if loss is not None
                                         else 1.0 - (value or 0.0)}})
    t.number = number
    return t


def study_trials(table: list[tuple[dict[str, Any], list[float]]], seeds: list[list[int]] | None = None,
                 **kw: Any) -> list[Any]:
    """Trials for rows (params, values per seed); seeds 0.. unless given per row."""
    out = []
    for i, (params, values) in enumerate(table):
        row_seeds = seeds[i] if seeds else list(range(len(values)))
        for s, v in zip(row_seeds, values, strict=True):
            out.append(trial(len(out), params, s, v, **kw))
    return out
