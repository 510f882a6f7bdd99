"""Issue 11.3: a trial of a real sweep, retrained from its stored config, repeats bit for bit.

One Ray actor runs every trial of the sweep in a row (``max_concurrent=1``, Tune reuses the
actor), as a sweep on a busy machine does; the space sets no ``num_threads``, so a trial
runs with the threads Ray gives it (its CPUs) while ``poolnas train`` alone would use every
core. Each COMPLETE trial's stored config is trained again, in this process and (the
exported best) through ``poolnas export`` + ``poolnas train --config`` in a subprocess, and
its metrics and curves must be equal (==) to what the trial stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from poolnas.config import config_from_dict
from poolnas.records import TrialAttrs
from poolnas.trainers import train

pytestmark = pytest.mark.integration
STABLE = ("val_acc", "test_acc", "train_loss")  # timings differ from run to run


def _space(study: str) -> dict:
    return {
        "study": study,
        "objective": {"metric": "test_acc", "mode": "max"},
        "sampler": "grid",
        "repeats": 2,
        "scheduler": {"type": "fifo"},
        "resources": {"cpu": 1, "gpu": 0},
        "base": {
            "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
            # no num_threads: the case of the issue; SRP draws from the global torch RNG
            "trainer": {"dataset": "digits", "epochs": 2, "batch_size": 32, "recipe": "fast",
                        "device": "cpu", "train_subset": 192, "test_subset": 80, "mixup": 0.2},
            "attention": {"lam": 0.6, "M": 3, "reduction": 4},
        },
        "space": {"attention.pooling": {"grid": ["gap", "srp-ms"]}},
    }


def _stable(metrics: dict) -> dict:
    return {k: metrics[k] for k in STABLE}


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("POOLNAS_STORAGE", "RAY_ADDRESS",
                                                            "OMP_NUM_THREADS")}
    return subprocess.run([sys.executable, "-m", "poolnas", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_trials_of_a_reused_actor_retrain_bit_identically(ray_local, tmp_path: Path) -> None:
    from poolnas.search import run_sweep

    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(_space("repro")))
    res = run_sweep(str(space), storage=url, max_concurrent=1, quiet=True)
    assert res.counts.get("COMPLETE") == 4, res.counts
    trials = optuna.load_study(study_name="repro", storage=url).get_trials(
        states=(TrialState.COMPLETE,))

    for t in trials:
        stored = t.user_attrs[TrialAttrs.CONFIG]
        # the threads the trial ran with are part of its config, and of its record
        assert stored["trainer"]["num_threads"] == 1
        assert t.user_attrs[TrialAttrs.ENVIRONMENT]["threads"] == 1
        assert t.user_attrs[TrialAttrs.COST]["params"] == t.user_attrs[TrialAttrs.N_PARAMS]
        assert t.user_attrs[TrialAttrs.METRICS]["train_step_ms"] > 0
        again = train(config_from_dict(stored))
        assert _stable(again["metrics"]) == _stable(t.user_attrs[TrialAttrs.METRICS]), t.number
        assert {k: again["curves"][k] for k in STABLE} == \
            {k: t.user_attrs[TrialAttrs.CURVES][k] for k in STABLE}, t.number

    best = tmp_path / "best.yaml"
    done = _cli("export", "--study", "repro", "--storage", url, "-o", str(best), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    exported = yaml.safe_load(best.read_text())
    (trial,) = [t for t in trials if t.user_attrs[TrialAttrs.CONFIG] == exported]
    run = _cli("train", "--config", str(best), "--no-progress", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    final = json.loads(run.stdout.strip().splitlines()[-1])
    assert _stable(final) == _stable(trial.user_attrs[TrialAttrs.METRICS])
