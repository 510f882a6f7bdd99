"""The define-by-run function and the samplers under Ray Tune's OptunaSearch (no cluster)."""

from __future__ import annotations

import optuna
import pytest

from poolnas.spaces import create_sampler, load_space

pytestmark = pytest.mark.integration


def _search(space, **kw):
    search_mod = pytest.importorskip("ray.tune.search.optuna")
    return search_mod.OptunaSearch(space=space.define_by_run, sampler=create_sampler(space, seed=0),
                                   metric=space.objective.metric, mode=space.objective.mode, **kw)


def test_grid_preset_through_optuna_search():
    space = load_space("srp-fig2")
    storage = optuna.storages.InMemoryStorage()
    search = _search(space, storage=storage, study_name="fig2")
    seen = set()
    for i in range(len(space.grid())):
        config = search.suggest(f"t{i}")
        trial_config = space.to_trial_config(config)
        assert trial_config.seed == config["seed"] == 0  # seed-major: all points with seed 0 first
        seen.add((config["attention.lam"], config["attention.schedule"], config["attention.branch"]))
        search.on_trial_complete(f"t{i}", {space.objective.metric: 0.5})
    assert len(seen) == 36


def test_tpe_preset_through_optuna_search():
    space = load_space("quickstart")
    search = _search(space)
    for i in range(4):
        config = search.suggest(f"t{i}")
        pooling = space.to_trial_config(config).attention.pooling
        assert ("attention.lam" in config) == pooling.startswith("srp")
        search.on_trial_complete(f"t{i}", {space.objective.metric: 0.5})
