"""Racing in a sweep (repeats: {min, max, racing: true}): the race's state is the study in
the database (unit, real SQLite, no Ray) and a real sweep on a local Ray with trials of known
means and seed noise gives seeds only to configurations within noise of the best."""

from __future__ import annotations

import functools
import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import optuna
import pytest
from _sweep_spaces import grid_space

from poolnas.records import TrialAttrs, config_key, enqueued_params
from poolnas.search import run_sweep
from poolnas.search._race import Race
from poolnas.search._sampling import trial_config
from poolnas.spaces import Space, space_from_dict

# True mean accuracy per pooling: max is clearly best, avgmax within noise of it, the rest
# far below (separated after the first two seeds).
MEANS = {"max": 0.90, "avgmax": 0.897, "gap": 0.60, "min": 0.55}


def _noise(seed: int, pooling: str) -> float:
    shared = int(hashlib.sha1(f"s{seed}".encode()).hexdigest()[:6], 16) / 16**6 - 0.5
    own = int(hashlib.sha1(f"{pooling}{seed}".encode()).hexdigest()[:6], 16) / 16**6 - 0.5
    return 0.01 * shared + 0.01 * own


def known_means_trial(config: Any, *, on_epoch: Any = None, **_: Any) -> dict[str, Any]:
    """A trial whose accuracy is MEANS[pooling] plus seed noise (no training)."""
    pooling = config.attention.pooling
    acc = MEANS[pooling] + _noise(config.seed, pooling)
    metrics = {"val_acc": acc, "test_acc": acc, "train_loss": 1.0 - acc, "epoch_time": 0.01,
               "images_per_s": 1.0}
    for epoch in range(config.trainer.epochs):
        if on_epoch is not None:
            on_epoch(epoch + 1, dict(metrics, epoch=epoch + 1))
    return {"metrics": metrics, "curves": {k: [v] for k, v in metrics.items()}, "n_params": 1,
            "device": "cpu", "wall_time": 0.01, "checkpoint": None,
            "environment": {"threads": 1}, "cost": {"params": 1, "flops": 1}}


def _space(study: str, sampler: str = "grid") -> dict[str, Any]:
    doc = grid_space(study, pooling=list(MEANS))
    doc["repeats"] = {"min": 2, "max": 5, "racing": True}
    if sampler != "grid":
        doc["sampler"] = sampler
        doc["trials"] = len(MEANS)
        doc["space"] = {"attention.pooling": {"choice": list(MEANS)}}
    return doc


def _add(study: optuna.Study, space: Space, pooling: str, seed: int, value: float | None,
         state: str = "COMPLETE") -> None:
    params = {"attention.pooling": pooling, "seed": seed}
    cfg = trial_config(space, params, seed).to_dict()
    dists = {"attention.pooling": optuna.distributions.CategoricalDistribution(list(MEANS)),
             "seed": optuna.distributions.CategoricalDistribution(space.seeds())}
    study.add_trial(optuna.trial.create_trial(
        params=params, distributions=dists, value=value, state=getattr(optuna.trial.TrialState, state),
        user_attrs={TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_KEY: config_key(cfg)}))


def test_race_reads_its_state_from_the_database(tmp_path: Path) -> None:
    space = space_from_dict(_space("race-db", sampler="random"))
    url = f"sqlite:///{tmp_path}/race.db"
    study = optuna.create_study(study_name="race-db", storage=url, direction="maximize")
    for pooling in MEANS:
        for seed in (0, 1):
            _add(study, space, pooling, seed, MEANS[pooling] + _noise(seed, pooling))
    # a "new process": the race is rebuilt from nothing but the database
    race = Race(space, configs=len(MEANS))
    reloaded = optuna.load_study(study_name="race-db", storage=url)
    assert race.decide(reloaded, running=0) == "ask"
    waiting = [t for t in reloaded.get_trials() if t.state.name == "WAITING"]
    queued = Counter((enqueued_params(t)["attention.pooling"], enqueued_params(t)["seed"]) for t in waiting)
    # min is out; gap, the baseline, runs on with the best (verdicts against it need the pairs)
    assert queued == Counter({("max", 2): 1, ("avgmax", 2): 1, ("gap", 2): 1})
    assert {t.user_attrs[TrialAttrs.ORIGIN] for t in waiting} == {"race"}
    # asked again before those run: nothing more is queued (one pending seed per configuration)
    assert race.decide(optuna.load_study(study_name="race-db", storage=url), running=0) == "ask"
    assert len([t for t in reloaded.get_trials() if t.state.name == "WAITING"]) == 3


def test_race_ends_when_nothing_is_within_noise(tmp_path: Path) -> None:
    doc = _space("race-end", sampler="random")
    space = space_from_dict(doc)
    study = optuna.create_study(study_name="race-end", storage=f"sqlite:///{tmp_path}/e.db")
    for pooling in ("max", "gap"):
        for seed in (0, 1, 2):
            _add(study, space, pooling, seed, MEANS[pooling] + _noise(seed, pooling))
    race = Race(space, configs=2)
    assert race.decide(study, running=0) == "done"
    assert race.decide(study, running=1) == "wait"
    # TPE / random: a configuration budget not yet reached means a new one is sampled
    assert Race(space, configs=3).decide(study, running=0) == "ask"


def test_racing_with_bruteforce_is_refused() -> None:
    from poolnas.errors import ConfigError

    doc = _space("race-bf", sampler="bruteforce")
    with pytest.raises(ConfigError) as err:
        space_from_dict(doc)
    assert err.value.field == "repeats"


def _assert_min_seeds_first(trials: list[Any], min_seeds: int) -> None:
    """In the order the trials started (as stored in the database), every configuration's
    first ``min_seeds`` seeds (0 .. min-1) start before any configuration's further seed.
    (TPE may sample a configuration again: that runs its first seeds again, not more.)"""
    order = sorted(trials, key=lambda t: (t.datetime_start, t.number))
    first = [i for i, t in enumerate(order) if t.params["seed"] < min_seeds]
    more = [i for i, t in enumerate(order) if t.params["seed"] >= min_seeds]
    assert {t.params["attention.pooling"] for t in order} == set(MEANS)  # every one ran
    assert not more or max(first) < min(more), " ".join(
        f"{t.params['attention.pooling']}:{t.params['seed']}:{t.user_attrs.get(TrialAttrs.ORIGIN)}"
        for t in order)


def test_race_seeds_wait_for_every_configuration_s_min_seeds(tmp_path: Path) -> None:
    """Unit: with two configurations raced and two never started, the race queues nothing
    (the sampler's new configurations come first)."""
    space = space_from_dict(_space("race-first", sampler="random"))
    study = optuna.create_study(study_name="race-first", storage=f"sqlite:///{tmp_path}/f.db",
                                direction="maximize")
    for pooling in ("max", "avgmax"):
        for seed in (0, 1):
            _add(study, space, pooling, seed, MEANS[pooling] + _noise(seed, pooling))
    assert Race(space, configs=len(MEANS)).decide(study, running=0) == "ask"
    assert not [t for t in study.get_trials() if t.state.name == "WAITING"]  # no race seed queued
    assert Race(space, configs=2).decide(study, running=0) == "ask"  # every one started: race
    assert len([t for t in study.get_trials() if t.state.name == "WAITING"]) == 2


@pytest.mark.integration
@pytest.mark.usefixtures("ray_local")
def test_racing_tpe_sweep_runs_every_min_seed_before_a_race_seed(tmp_path: Path) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    url = f"sqlite:///{tmp_path}/t.db"
    doc = _space("race-tpe", sampler="tpe")
    run_sweep(space_from_dict(doc), storage=url, quiet=True,
              trial_fn=functools.partial(known_means_trial), max_concurrent=2)
    trials = optuna.load_study(study_name="race-tpe", storage=url).get_trials()
    # Every trial that ran completed. (TPE may sample a configuration again; its repeats then
    # count against the sweep's trial budget, and a race seed queued last can be left WAITING
    # when the budget ends the sweep: it runs on resume. Known, not fixed yet.)
    assert all(t.state.name in ("COMPLETE", "WAITING") for t in trials), [
        (t.number, t.state.name, t.user_attrs.get(TrialAttrs.FAIL_REASON)) for t in trials
        if t.state.name != "COMPLETE"]
    trials = [t for t in trials if t.state.name == "COMPLETE"]
    assert any(t.user_attrs.get(TrialAttrs.ORIGIN) == "race" for t in trials)  # max vs avgmax raced
    _assert_min_seeds_first(trials, 2)


@pytest.mark.integration
@pytest.mark.usefixtures("ray_local")
def test_racing_grid_sweep_gives_seeds_only_to_configurations_within_noise(tmp_path: Path) -> None:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers run this trial
    url = f"sqlite:///{tmp_path}/r.db"
    study_name = "race-grid"
    result = run_sweep(space_from_dict(_space(study_name)), storage=url, quiet=True,
                       trial_fn=functools.partial(known_means_trial), max_concurrent=2)
    trials = optuna.load_study(study_name=study_name, storage=url).get_trials()
    _assert_min_seeds_first(trials, 2)  # no pooling waits while others race (issue 22 item 4)
    seeds: dict[str, list[int]] = {}
    for t in trials:
        assert t.state.name == "COMPLETE", t.user_attrs.get(TrialAttrs.FAIL_REASON)
        seeds.setdefault(t.params["attention.pooling"], []).append(t.params["seed"])
    assert all(len(s) == len(set(s)) for s in seeds.values())  # no seed twice
    assert sorted(seeds["min"]) == [0, 1]  # separated after min seeds
    # gap, the baseline, runs on with the best until the best's verdict against it is in
    assert 2 <= len(seeds["gap"]) <= max(len(seeds["max"]), len(seeds["avgmax"]))
    assert len(seeds["max"]) >= 3 and len(seeds["avgmax"]) >= 3  # raced on
    assert len(trials) < len(MEANS) * 5  # fewer runs than fixed max repeats
    assert result.best["params"]["attention.pooling"] in ("max", "avgmax")


@pytest.mark.integration
@pytest.mark.usefixtures("ray_local")
def test_fixed_repeats_grid_sweep_runs_seed_major(tmp_path: Path) -> None:
    """Fixed repeats under the grid sampler: every configuration's seed s starts before any
    configuration's seed s + 1 (a sweep stopped early has tried every configuration; the
    queued repeats made it configuration-major before)."""
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("seed-major", pooling=list(MEANS))
    doc["repeats"] = 3
    run_sweep(space_from_dict(doc), storage=url, quiet=True,
              trial_fn=functools.partial(known_means_trial), max_concurrent=1)
    trials = optuna.load_study(study_name="seed-major", storage=url).get_trials()
    order = sorted(trials, key=lambda t: (t.datetime_start, t.number))
    assert [t.params["seed"] for t in order] == [s for s in range(3) for _ in MEANS]
    assert [t.params["attention.pooling"] for t in order[: len(MEANS)]] == list(MEANS)
