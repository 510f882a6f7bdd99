"""Processes of the drivers the search tests start: each driver gets its own RAY_TMPDIR, so
the processes of its local Ray (GCS, raylet, agents, workers) are found by that folder and
killed afterwards, and nothing else is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import time


def pids_under(folder: str) -> list[int]:
    """Processes (not this one) whose command line or environment names ``folder``."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        for part in ("cmdline", "environ"):
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    if folder.encode() in f.read():
                        pids.append(int(entry))
                        break
            except OSError:
                continue
    return pids


def kill_under(folder: str) -> None:
    """SIGKILL the processes :func:`pids_under` finds for ``folder``."""
    for pid in pids_under(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def wait_running(proc: subprocess.Popen, url: str, study: str, timeout_s: float = 300) -> None:
    """Until the driver ``proc`` has a RUNNING trial in ``study``; AssertionError with the
    driver's stderr when it ended first."""
    import optuna
    from optuna.trial import TrialState

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            trials = optuna.load_study(study_name=study, storage=url).trials
        except Exception:  # noqa: BLE001 - not created yet
            continue
        if any(t.state == TrialState.RUNNING for t in trials):
            return
    raise AssertionError(proc.communicate()[1][-3000:] if proc.poll() is not None else "no trial")
