"""A trial whose worker Ray's memory monitor kills is stored FAIL ``out of memory: ...`` with
the memory it held, and the sweep goes on (issue 21 item 9).

Real Ray with its memory monitor set just above what the node uses now
(``RAY_memory_usage_threshold``): ``memory_trial`` takes memory until the monitor kills its
worker. Before the fix, Ray Tune raised ``RuntimeError: Caught unexpected exception`` out of
``Tuner.fit`` for the monitor's ``OutOfMemoryError``: the sweep exited 1 with a trial left
RUNNING.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna
import pytest
from _procs import kill_under
from _sweep_spaces import env_without_storage, grid_space, write_space

from poolnas.records import TrialAttrs

pytestmark = pytest.mark.integration

_DRIVER = """
import functools, sys
from poolnas.search import run_sweep
from poolnas.search.commands import format_summary
from poolnas.testing.fake_trials import memory_trial
res = run_sweep(sys.argv[1], storage=sys.argv[2], max_concurrent=1, quiet=True,
                trial_fn=functools.partial(memory_trial, pooling="max", limit_mb=6144))
print(format_summary(res))
"""


def _threshold(margin_gb: float) -> float:
    """The fraction of the node's memory that is used now plus ``margin_gb``."""
    info = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, value = line.split(":", 1)
            info[key] = int(value.split()[0]) * 1024
    used = info["MemTotal"] - info["MemAvailable"]
    return (used + margin_gb * 2**30) / info["MemTotal"]


def test_a_worker_the_memory_monitor_kills_is_an_out_of_memory_fail(tmp_path: Path) -> None:
    threshold = _threshold(1.5)
    if threshold > 0.9:
        pytest.skip(f"the node is already {threshold:.2f} full: no room to reach the monitor")
    url = f"sqlite:///{tmp_path}/s.db"
    space = write_space(tmp_path, grid_space("oom", pooling=["max", "gap"]))
    ray_tmp = tempfile.mkdtemp(prefix="poom", dir="/tmp")
    env = env_without_storage()
    env.update(RAY_TMPDIR=ray_tmp, RAY_memory_usage_threshold=f"{threshold:.3f}",
               RAY_memory_monitor_refresh_ms="100")
    try:
        proc = subprocess.run([sys.executable, "-c", _DRIVER, str(space), url], env=env,
                              capture_output=True, text=True, timeout=600)
    finally:
        kill_under(ray_tmp)  # this sweep's own Ray, nothing else
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    trials = {t.params["attention.pooling"]: t
              for t in optuna.load_study(study_name="oom", storage=url).trials}
    assert sorted(trials) == ["gap", "max"]  # the sweep went on to the other trial
    hog, other = trials["max"], trials["gap"]
    assert hog.state == optuna.trial.TrialState.FAIL
    reason = hog.user_attrs[TrialAttrs.FAIL_REASON]
    assert reason.startswith("out of memory: Ray's memory monitor killed"), reason
    assert "which held" in reason and "GB" in reason, reason
    assert other.state == optuna.trial.TrialState.COMPLETE, other.user_attrs
    assert other.user_attrs[TrialAttrs.PEAK_RSS_MB] > 50  # a real worker's resident memory
    assert "1 trials ran out of memory" in proc.stdout, proc.stdout
    assert "memory: a trial's worker held up to" in proc.stdout, proc.stdout
    assert os.environ.get("RAY_memory_usage_threshold") is None  # set for the driver only
