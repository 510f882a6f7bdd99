"""define_by_run, to_trial_config, grid expansion with when:, and the grid sampler."""

from __future__ import annotations

import optuna
import pytest
import yaml

from poolnas.config import config_from_dict, dump_trial_config
from poolnas.errors import ConfigError
from poolnas.spaces import GRID_CELL_ATTR, GridPointSampler, create_sampler, load_space

COND_GRID = """
study: cond
sampler: grid
repeats: 2
base:
  model: {arch: resnet20, num_classes: 10, in_channels: 1}
  trainer: {dataset: digits, epochs: 2}
space:
  # the child comes first in the file: parents are still sampled first
  attention.M: {grid: [2, 5], when: {attention.pooling: [srp-ms]}}
  attention.lam: {grid: [0.4, 0.8], when: {attention.pooling: [srp-ss, srp-ms]}}
  attention.pooling: {choice: [gap, srp-ss, srp-ms]}
  attention.placement.stages: {choice: [[1, 2, 3], [3]]}
  attention.excitation: se
"""
# gap: 1, srp-ss: 2 λ, srp-ms: 2 λ × 2 M = 7 pooling settings × 2 stage lists
COND_SIZE = (1 + 2 + 2 * 2) * 2


def _run(space, study, n, fail_at=()):
    for i in range(n):
        trial = study.ask()
        constants = space.define_by_run(trial)
        assert constants == {"attention.excitation": "se"}
        space.to_trial_config(trial.params)
        study.tell(trial, state=optuna.trial.TrialState.FAIL if i in fail_at else None,
                   values=None if i in fail_at else 0.5)


def test_grid_respects_when(write_space):
    space = load_space(write_space(COND_GRID))
    grid = space.grid()
    assert len(grid) == COND_SIZE
    for point in grid:
        assert ("attention.M" in point) == (point["attention.pooling"] == "srp-ms")
        assert ("attention.lam" in point) == (point["attention.pooling"] != "gap")
    assert [p.name for p in space.params][:1] == ["attention.pooling"]


def test_grid_sampler_runs_every_cell_once_across_resume(write_space):
    space = load_space(write_space(COND_GRID))
    storage = optuna.storages.InMemoryStorage()  # the SQLite path is the search package's test
    study = optuna.create_study(study_name="cond", storage=storage, sampler=create_sampler(space))
    sampler = study.sampler
    assert isinstance(sampler, GridPointSampler) and sampler.n_cells == COND_SIZE * 2
    _run(space, study, 5, fail_at=(3,))
    dead = study.ask()  # the sweep dies with this trial running ...
    space.define_by_run(dead)
    study.tell(dead, state=optuna.trial.TrialState.FAIL)  # ... and resume marks it FAIL
    resumed = optuna.load_study(study_name="cond", storage=storage, sampler=create_sampler(space))
    left = resumed.sampler.remaining(resumed)
    assert left == COND_SIZE * 2 - 4  # 4 complete; both failures rerun once
    _run(space, resumed, left)
    assert resumed.sampler.is_exhausted(resumed)
    done = [t for t in resumed.trials if t.state == optuna.trial.TrialState.COMPLETE]
    cells = {tuple(sorted(t.params.items())) for t in done}
    assert len(done) == len(cells) == COND_SIZE * 2
    assert all(GRID_CELL_ATTR not in t.system_attrs for t in resumed.trials)  # nothing private written
    assert {t.params["seed"] for t in done} == {0, 1}


def test_grid_sampler_seed_major_order(write_space):
    space = load_space(write_space(COND_GRID))
    study = optuna.create_study(sampler=create_sampler(space))
    _run(space, study, COND_SIZE)
    assert {t.params["seed"] for t in study.trials} == {0}


def test_define_by_run_samples_only_applicable(write_space):
    text = COND_GRID.replace("sampler: grid", "sampler: random\ntrials: 20").replace("grid:", "choice:")
    space = load_space(write_space(text))
    study = optuna.create_study(sampler=create_sampler(space, seed=1))
    _run(space, study, 20)
    for t in study.trials:
        pooling = t.params["attention.pooling"]
        assert ("attention.M" in t.params) == (pooling == "srp-ms")
        assert ("attention.lam" in t.params) == (pooling != "gap")
        assert t.params["seed"] == 0  # fresh trials get the first seed; repeats are enqueued


def test_enqueued_repeat_gets_its_seed(write_space):
    text = COND_GRID.replace("sampler: grid", "sampler: tpe\ntrials: 5").replace("grid:", "choice:")
    space = load_space(write_space(text))
    study = optuna.create_study(sampler=create_sampler(space, seed=0))
    _run(space, study, 1)
    study.enqueue_trial({**study.trials[0].params, "seed": 1})
    trial = study.ask()
    space.define_by_run(trial)
    assert trial.params == {**study.trials[0].params, "seed": 1}
    assert space.to_trial_config(trial.params).seed == 1


def test_to_trial_config_decodes_and_merges(write_space):
    space = load_space(write_space(COND_GRID))
    config = space.to_trial_config({"attention.pooling": "srp-ms", "attention.lam": 0.4,
                                    "attention.M": 5, "attention.placement.stages": "[3]"}, seed=1)
    assert config.attention.placement.stages == [3] and config.attention.M == 5 and config.seed == 1
    assert config.model.in_channels == 1 and config.trainer.epochs == 2
    with pytest.raises(ConfigError, match="attention.M"):
        space.to_trial_config({"attention.pooling": "srp-ms", "attention.lam": 0.4,
                               "attention.placement.stages": [3]}, seed=0)
    with pytest.raises(ConfigError, match="did you mean"):
        space.to_trial_config({"attention.poolin": "gap", "attention.placement.stages": [3]}, seed=0)


def test_trial_config_yaml_round_trip():
    space = load_space("se-placement")
    for point in space.grid()[::5]:
        config = space.to_trial_config(point, seed=3)
        again = config_from_dict(yaml.safe_load(dump_trial_config(config)))
        assert again == config and again.to_dict() == config.to_dict()


def test_float_step_grid_and_int_log(write_space):
    text = """
study: s
sampler: grid
base: {model: {arch: resnet20}}
space:
  attention.lam: {float: [0.2, 1.0], step: 0.2}
  attention.reduction: {int: [2, 8], step: 2}
"""
    grid = load_space(write_space(text)).grid()
    assert sorted({g["attention.lam"] for g in grid}) == [0.2, 0.4, 0.6, 0.8, 1.0]
    assert sorted({g["attention.reduction"] for g in grid}) == [2, 4, 6, 8]
    assert len(grid) == 20


@pytest.mark.parametrize("sampler", ["tpe", "random", "bruteforce"])
def test_create_sampler_kinds(sampler, write_space):
    text = f"""
study: s
sampler: {sampler}
trials: 4
base: {{model: {{arch: resnet20}}}}
space:
  attention.pooling: {{choice: [gap, srp-ss]}}
  attention.lam: {{float: [0.2, 1.0], step: 0.2, when: {{attention.pooling: [srp-ss]}}}}
"""
    space = load_space(write_space(text))
    study = optuna.create_study(sampler=create_sampler(space, seed=0))
    study.optimize(lambda t: (space.define_by_run(t), space.to_trial_config(t.params).attention.lam)[1],
                   n_trials=4)
    assert len(study.trials) == 4


def test_create_sampler_cmaes(write_space):
    text = """
study: s
sampler: cmaes
trials: 4
repeats: 2
base: {model: {arch: resnet20}}
space:
  attention.lam: {float: [0.2, 1.0]}
"""
    sampler = create_sampler(load_space(write_space(text)), seed=0)
    assert isinstance(sampler, optuna.samplers.PartialFixedSampler)
    assert isinstance(sampler._base_sampler, optuna.samplers.CmaEsSampler)
