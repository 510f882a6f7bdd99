"""extends: a user file over a preset or another file, with the documented merge rules."""

from __future__ import annotations

import json

import pytest

from poolnas.cli import main
from poolnas.errors import ConfigError
from poolnas.spaces import load_space


def test_extend_preset_overrides_base_fields(write_space):
    path = write_space("""
extends: srp-fig3
study: srp-fig3-quick
repeats: 2
base:
  model: {num_classes: 10}
  trainer: {dataset: cifar10, epochs: 10}
space:
  attention.M: {grid: [1, 5]}
""")
    space = load_space(path)
    assert space.study == "srp-fig3-quick" and space.seeds() == [0, 1]
    assert space.base["trainer"] == {"dataset": "cifar10", "epochs": 10, "batch_size": 128,
                                     "recipe": "paper-resnet", "val_fraction": 0,
                                     "amp": False}  # YAML reads `amp: off` as false: fp32
    assert space.base["model"] == {"arch": "resnet56", "num_classes": 10, "in_channels": 3}
    assert len(space.grid()) == 5 * 2 * 2  # M replaced whole; λ and branch kept
    config = space.to_trial_config(space.grid()[0], seed=1)
    assert (config.trainer.dataset, config.trainer.epochs, config.model.num_classes) == ("cifar10", 10, 10)
    assert config.attention.pooling == "srp-ms"


def test_null_removes_a_parameter_and_files_chain(write_space):
    write_space("extends: srp-fig2\nstudy: mid\nspace: {attention.branch: null}\n", "mid.yaml")
    path = write_space("extends: mid.yaml\nstudy: top\nbase: {trainer: {epochs: 3}}\n", "top.yaml")
    space = load_space(path)
    assert len(space.grid()) == 9 * 2
    assert space.base["trainer"]["epochs"] == 3 and space.study == "top"


def test_extends_cycle(write_space):
    write_space("extends: b.yaml\nstudy: a\n", "a.yaml")
    path = write_space("extends: a.yaml\nstudy: b\n", "b.yaml")
    with pytest.raises(ConfigError, match="extends"):
        load_space(path)


def test_extends_missing_file(write_space):
    path = write_space("extends: nowhere.yaml\nstudy: a\n")
    with pytest.raises(ConfigError, match="extends: 'nowhere.yaml'"):
        load_space(path)


def test_good_file_summary(write_space, capsys):
    path = write_space("extends: quickstart\nstudy: mine\ntrials: 3\nrepeats: 1\n")
    assert main(["space", "validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "1 parameter" in out and "(trials: 3) × 1 seed = 3 runs" in out
    assert "run time: at least" in out


def test_racing_summary_gives_the_range_of_runs_and_time(write_space, capsys):
    assert main(["space", "validate", "quickstart"]) == 0
    out = capsys.readouterr().out
    assert "× 2-4 seeds (racing) = 12 to 24 runs" in out
    assert "(racing) with" in out.splitlines()[-1]


def test_schema_is_json_schema(capsys):
    assert main(["space", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    props = schema["properties"]
    assert {"study", "objective", "sampler", "trials", "repeats", "scheduler", "resources", "base",
            "space", "extends"} <= set(props)
    assert props["base"]["$ref"] == "#/$defs/TrialConfig"
    dist = schema["$defs"]["Distribution"]["properties"]
    assert {"choice", "grid", "float", "int", "value", "log", "step", "when", "link"} <= set(dist)
    assert schema["$defs"]["Objective"]["properties"]["metric"]["enum"] == [
        "val_acc", "test_acc", "train_loss", "epoch_time", "images_per_s",
        "params", "flops", "train_step_ms", "infer_ms"]
    assert {"min", "max", "racing"} <= set(schema["$defs"]["Repeats"]["properties"])


def test_extends_replaces_the_baseline_whole(write_space):
    """A baseline names one configuration: the child's replaces the parent's, key by key
    merging would name a configuration neither meant (seen on repro-srp-fig3)."""
    path = write_space("extends: quickstart\nstudy: mine\nbaseline: {attention.pooling: max}\n")
    assert load_space(path).spec.baseline == {"attention.pooling": "max"}
    path = write_space("extends: srp-fig3\nstudy: mine2\nbaseline: {attention.lam: 0.6}\n")
    assert load_space(path).spec.baseline == {"attention.lam": 0.6}
