"""Synthetic poolnas studies with known answers, written the way the search package writes
them (docs/search.md): params are the dotted space keys plus "seed", each trial keeps
its full config, config_key, metrics, curves and parameter count in user attributes."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages import BaseStorage
from optuna.trial import TrialState

from poolnas.config import config_from_dict
from poolnas.records import TRIAL_CONFIG_VERSION, StudyAttrs, TrialAttrs, config_key

BASE: dict[str, Any] = {
    "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
    "trainer": {"dataset": "digits", "epochs": 2, "batch_size": 16},
}


def with_values(base: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``base`` with each dotted key of ``values`` set (parents made as needed)."""
    doc = copy.deepcopy(base)
    for key, value in values.items():
        node = doc
        *parents, leaf = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return doc


def make_config(values: dict[str, Any], seed: int = 0, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full, validated trial config: ``base`` with dotted ``values`` set."""
    doc = with_values(base or BASE, values)
    doc["seed"] = seed
    return config_from_dict(doc).to_dict()


# RDB storage wants one distribution per param name across a study: numbers share a float
# range; everything else is a label from one fixed vocabulary.
VOCAB = ("gap", "max", "min", "mix", "avgmax", "score", "srp-ss", "srp-ms", "none", "fixed", "linear",
         "epochs", "one", "double", "se", "spem", "residual", "post-add", "pre", "between", "identity",
         "inside", "resnet20",
         "resnet32", "resnet56", "learn", "0.1", "0.5", "0.9", "True", "False", "1", "2", "3", "1,2",
         "2,3", "1,2,3", "1,2,3,4", "all")
NUMBER = FloatDistribution(0.0, 1024.0)


def _param(key: str, value: Any) -> tuple[float | str, BaseDistribution]:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and key != "attention.mix_alpha":
        return float(value), NUMBER
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return text, CategoricalDistribution(VOCAB)


def add_trial(study: optuna.Study, values: dict[str, Any], seed: int, value: float | None, *,
              state: TrialState = TrialState.COMPLETE, n_params: int = 1000,
              checkpoint: str | None = None) -> None:
    """One trial of configuration ``values`` (dotted keys, also its params) at ``seed``."""
    config = make_config(values, seed)
    pairs = {k: _param(k, v) for k, v in values.items()}
    params = {k: p for k, (p, _) in pairs.items()} | {"seed": seed}
    dists = {k: d for k, (_, d) in pairs.items()} | {"seed": IntDistribution(0, 100)}
    acc = value if value is not None else 0.0
    study.add_trial(optuna.trial.create_trial(
        params=params, distributions=dists, state=state,
        value=value if state == TrialState.COMPLETE else None,
        user_attrs={
            TrialAttrs.CONFIG: config,
            TrialAttrs.CONFIG_KEY: config_key(config),
            TrialAttrs.CONFIG_VERSION: TRIAL_CONFIG_VERSION,
            TrialAttrs.METRICS: {"val_acc": acc, "test_acc": acc, "train_loss": 1.0 - acc},
            TrialAttrs.CURVES: {"val_acc": [acc / 2, acc]},
            TrialAttrs.N_PARAMS: n_params,
            TrialAttrs.CHECKPOINT: checkpoint,
        },
    ))


def create(name: str, storage: str | BaseStorage | None = None, metric: str = "test_acc", mode: str = "max",
           space: dict[str, Any] | None = None) -> optuna.Study:
    study = optuna.create_study(study_name=name, storage=storage,
                                direction="maximize" if mode == "max" else "minimize")
    study.set_user_attr(StudyAttrs.OBJECTIVE, {"metric": metric, "mode": mode})
    study.set_user_attr(StudyAttrs.SPACE, space or {"study": name, "space": {}})
    study.set_user_attr(StudyAttrs.VERSION, "0.1.0")
    return study


def fill(study: optuna.Study, table: Iterable[tuple[dict[str, Any], list[float]]]) -> None:
    """Add a trial per (configuration values, [accuracy per seed]) row."""
    for values, accs in table:
        for seed, acc in enumerate(accs):
            add_trial(study, values, seed, acc)


# A multi-objective study as the sweep writes one (issue 14): directions [maximize, minimize],
# each trial told [test_acc, flops], its cost in user attributes (cost and metrics).
MO_OBJECTIVES = [{"metric": "test_acc", "mode": "max"}, {"metric": "flops", "mode": "min"}]
MO_BASE: dict[str, Any] = {
    "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
    "trainer": {"dataset": "digits", "epochs": 1, "batch_size": 32, "recipe": "fast", "device": "cpu",
                "num_threads": 1, "train_subset": 96, "test_subset": 60},
}
# (configuration, accuracy per seed, FLOPs, params): the front of (accuracy max, FLOPs min) is
# avgmax (cheapest), gap, srp-ms and score; max and mix are dominated.
MO_TABLE: list[tuple[dict[str, Any], list[float], float, int]] = [
    ({"attention.pooling": "gap"}, [0.80, 0.82], 1.0e6, 1000),
    ({"attention.pooling": "max"}, [0.78, 0.79], 1.0e6, 1000),
    ({"attention.pooling": "srp-ms", "attention.M": 5}, [0.86, 0.88], 1.2e6, 1000),
    ({"attention.pooling": "mix"}, [0.84, 0.85], 1.3e6, 1002),
    ({"attention.pooling": "score", "attention.paths": 2}, [0.90, 0.89], 2.0e6, 1400),
    ({"attention.pooling": "avgmax"}, [0.70], 0.9e6, 1000),
]


def add_mo_trial(study: optuna.Study, values: dict[str, Any], seed: int, acc: float, flops: float,
                 params: int, *, state: TrialState = TrialState.COMPLETE) -> None:
    """One trial told [acc, flops] (a multi-objective study) or [acc] (a single-objective one),
    its cost kept as the trainer keeps it (``cost`` and ``metrics``)."""
    config = make_config(values, seed, MO_BASE)
    pairs = {k: _param(k, v) for k, v in values.items()}
    dists = {k: d for k, (_, d) in pairs.items()} | {"seed": IntDistribution(0, 100)}
    metrics = {"test_acc": acc, "val_acc": acc, "train_loss": 1.0 - acc, "params": params, "flops": flops,
               "train_step_ms": 10.0 + seed, "infer_ms": 2.0 + seed / 2}
    study.add_trial(optuna.trial.create_trial(
        params={k: p for k, (p, _) in pairs.items()} | {"seed": seed}, distributions=dists, state=state,
        values=(([acc, flops] if len(study.directions) > 1 else [acc])
                if state == TrialState.COMPLETE else None),
        user_attrs={TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
                    TrialAttrs.CONFIG_VERSION: TRIAL_CONFIG_VERSION,
                    TrialAttrs.METRICS: metrics, TrialAttrs.COST: {"params": params, "flops": flops},
                    TrialAttrs.CURVES: {"test_acc": [acc / 2, acc]}, TrialAttrs.N_PARAMS: params,
                    TrialAttrs.CHECKPOINT: None},
    ))


def create_multi(name: str, storage: str | BaseStorage | None = None,
                 table: Iterable[tuple[dict[str, Any], list[float], float, int]]
                 | None = None) -> optuna.Study:
    """A real multi-objective Optuna study (test_acc max, flops min) holding ``table``'s trials,
    plus one failed trial; its objective attribute is the list the sweep stores."""
    study = optuna.create_study(study_name=name, storage=storage, directions=["maximize", "minimize"])
    study.set_user_attr(StudyAttrs.OBJECTIVE, MO_OBJECTIVES)
    study.set_user_attr(StudyAttrs.SPACE, {"study": name, "objective": MO_OBJECTIVES, "sampler": "nsga2",
                                           "baseline": {"attention.pooling": "gap"}, "space": {}})
    study.set_user_attr(StudyAttrs.VERSION, "0.1.0")
    for values, accs, flops, params in (MO_TABLE if table is None else table):
        for seed, acc in enumerate(accs):
            add_mo_trial(study, values, seed, acc, flops, params)
    add_mo_trial(study, {"attention.pooling": "gap"}, 7, 0.0, 1.0e6, 1000, state=TrialState.FAIL)
    return study


def create_single_with_cost(name: str, storage: str | BaseStorage | None = None) -> optuna.Study:
    """MO_TABLE as a single-objective study (test_acc max) whose trials keep their cost."""
    study = create(name, storage, space={"study": name, "baseline": {"attention.pooling": "gap"},
                                         "space": {}})
    for values, accs, flops, params in MO_TABLE:
        for seed, acc in enumerate(accs):
            add_mo_trial(study, values, seed, acc, flops, params)
    return study
