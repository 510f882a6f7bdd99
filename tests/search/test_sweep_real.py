"""End to end with real training (SE-ResNet-20, digits, 1 epoch on 64 images): on PostgreSQL
with a password that must never show, and a driver killed with SIGKILL mid-sweep then
resumed, on SQLite, through the ``poolnas`` command."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from _procs import kill_under
from _sweep_spaces import env_without_storage, grid_space, write_space
from optuna.trial import TrialState

from poolnas.cli import main
from poolnas.records import INTERRUPTED, TrialAttrs

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_local")]

PASSWORD = "pw-Zq81-s3cret"


def _ray_session_logs() -> Path | None:
    import ray

    node = getattr(ray._private.worker, "_global_node", None)
    return Path(node.get_session_dir_path()) / "logs" if node is not None else None


def test_real_sweep_on_postgres_never_shows_the_password(
        postgres_server, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = postgres_server.create_database("sweeps", user="sweeper", password=PASSWORD)
    space = write_space(tmp_path, grid_space("pg-real", pooling=["gap", "max"]))
    report = tmp_path / "pg-report.html"
    code = main(["sweep", str(space), "--storage", url, "--report", str(report)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert report.is_file() and "pg-real" in report.read_text()
    assert f"report: {report}" in out and "dashboard: poolnas dashboard --storage" in out
    assert "2 complete" in err  # the live view
    assert "(2 complete, 0 pruned, 0 failed" in out and "best configuration:" in out
    assert "pooling:" in out.split("best configuration:")[1]
    assert main(["studies", "--storage", url]) == 0
    listed, err2 = capsys.readouterr()
    assert "pg-real" in listed

    study = optuna.load_study(study_name="pg-real", storage=url)
    assert len(study.trials) == 2
    for t in study.trials:
        assert t.state == TrialState.COMPLETE
        assert t.user_attrs[TrialAttrs.N_PARAMS] > 1000
        assert t.user_attrs[TrialAttrs.DEVICE] == "cpu"
        assert 0.0 <= t.value <= 1.0 and len(t.user_attrs[TrialAttrs.CURVES]["val_acc"]) == 1
    everything = (out + err + listed + err2 + report.read_text() + json.dumps(study.user_attrs, default=str)
                  + json.dumps([t.user_attrs for t in study.trials], default=str))
    assert PASSWORD not in everything and "sweeper:***@" in out
    logs = _ray_session_logs()
    if logs is not None and logs.is_dir():
        for f in logs.rglob("*"):
            if f.is_file() and f.stat().st_size < 50_000_000:
                assert PASSWORD.encode() not in f.read_bytes(), f





def test_sigkill_mid_sweep_then_resume_loses_and_reruns_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    doc = grid_space("killed", epochs=3, pooling=["gap", "max", "min", "avgmax"])
    doc["base"]["trainer"]["train_subset"] = 384  # trials of seconds: the kill lands mid-trial
    space = write_space(tmp_path, doc)
    ray_tmp = tempfile.mkdtemp(prefix="prk", dir="/tmp")  # short: Ray's socket paths
    env = env_without_storage()
    env["RAY_TMPDIR"] = ray_tmp
    cmd = [sys.executable, "-m", "poolnas", "sweep", str(space), "--storage", url,
           "--max-concurrent", "1", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        seen: Counter = Counter()
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            if not db.exists():
                continue
            try:
                trials = optuna.load_study(study_name="killed", storage=url).trials
            except (KeyError, Exception):  # not created yet
                continue
            seen = Counter(t.state for t in trials)
            if seen[TrialState.COMPLETE] >= 1 and seen[TrialState.RUNNING] == 1:
                break
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert seen[TrialState.COMPLETE] >= 1 and seen[TrialState.RUNNING] == 1, seen
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_under(ray_tmp)  # the killed driver's local Ray, nothing else
    before = optuna.load_study(study_name="killed", storage=url).trials
    done_before = {t.number: (t.params, t.value) for t in before if t.state == TrialState.COMPLETE}
    running = [t.number for t in before if t.state == TrialState.RUNNING]
    assert len(running) == 1

    assert main(["sweep", str(space), "--storage", url, "--resume", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "1 trials left running by an earlier sweep were marked FAIL" in out
    after = optuna.load_study(study_name="killed", storage=url).trials
    by_number = {t.number: t for t in after}
    for number, (params, value) in done_before.items():  # finished trials kept as they were
        assert by_number[number].state == TrialState.COMPLETE
        assert (by_number[number].params, by_number[number].value) == (params, value)
    assert by_number[running[0]].state == TrialState.FAIL
    assert by_number[running[0]].user_attrs[TrialAttrs.FAIL_REASON].startswith(INTERRUPTED)
    complete = Counter(t.params["attention.pooling"] for t in after if t.state == TrialState.COMPLETE)
    assert complete == Counter({"gap": 1, "max": 1, "min": 1, "avgmax": 1})  # each once
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    kill_under(ray_tmp)
    shutil.rmtree(ray_tmp, ignore_errors=True)
