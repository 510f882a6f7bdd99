"""A driver whose lease is taken over (issue 21 item 12): a real ``poolnas sweep`` stopped with
SIGSTOP for longer than the grace period, its lease taken over and its running trial recovered
(as the next driver does), then continued with SIGCONT, ends with one line "another driver took
over this study at ..." naming the new holder, not Optuna's UpdateFinishedTrialError."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
import pytest
from _procs import kill_under, wait_running
from _sweep_spaces import env_without_storage, grid_space, write_space
from optuna.trial import TrialState

from poolnas.search._lease import DriverLease
from poolnas.storage import open_storage

pytestmark = pytest.mark.integration

DRIVER = str(Path(__file__).with_name("_drive_sweep.py"))


def test_a_driver_taken_over_ends_with_one_line_naming_the_new_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    doc = grid_space("taken", epochs=4, pooling=["gap", "max"])
    space = write_space(tmp_path, doc)
    ray_tmp = tempfile.mkdtemp(prefix="prt", dir="/tmp")  # short: Ray's socket paths
    env = dict(env_without_storage(), RAY_TMPDIR=ray_tmp, POOLNAS_LEASE_HEARTBEAT_S="0.3",
               POOLNAS_LEASE_GRACE_S="2")
    log = tmp_path / "driver.err"
    lease = None
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, DRIVER, "1.5", "sweep", str(space), "--storage", url,
                                 "--max-concurrent", "1", "--quiet"], env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        wait_running(proc, url, "taken")
        os.kill(proc.pid, signal.SIGSTOP)  # hung: no heartbeat
        time.sleep(3.5)  # past the grace period
        storage = open_storage(url)
        lease = DriverLease(storage.engine, "taken", heartbeat_s=0.3, grace_s=2.0)
        gone = lease.acquire()
        assert gone is not None and gone.pid == proc.pid
        for t in storage.get_all_trials(storage.get_study_id_from_name("taken")):
            if t.state == TrialState.RUNNING:  # what the new driver's recovery does
                storage.set_trial_state_values(t._trial_id, TrialState.FAIL)  # noqa: SLF001
        os.kill(proc.pid, signal.SIGCONT)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGCONT)
            proc.kill()
        kill_under(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
        if lease is not None:
            lease.release()
    text = log.read_text()
    lines = text.strip().splitlines()
    assert proc.returncode == 1, text[-3000:]
    assert lines[-1].startswith("poolnas: another driver took over this study at 20"), text[-3000:]
    assert f"pid {os.getpid()}" in lines[-1]
    assert "UpdateFinishedTrialError" not in text and "Traceback" not in text
    assert optuna.load_study(study_name="taken", storage=url).trials  # the study is kept
