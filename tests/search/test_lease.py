"""One driver per study (poolnas.search._lease): the lease on real SQLite and PostgreSQL, taken
by real processes that race, hang (SIGSTOP) or die (SIGKILL), and two real ``poolnas sweep``
drivers on one study."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import pytest
from _procs import kill_under, wait_running
from _sweep_spaces import env_without_storage, grid_space, write_space
from optuna.trial import TrialState

from poolnas.errors import ConfigError
from poolnas.search._lease import DriverLease, LiveDriverError, lease_settings
from poolnas.storage import open_storage

pytestmark = pytest.mark.integration

# A process that takes the lease when it reads "go" and holds it until its stdin closes.
HOLDER = r"""
import json, os, sys
from poolnas.search._lease import DriverLease, LiveDriverError
from poolnas.storage import open_storage
url, study, grace = sys.argv[1], sys.argv[2], float(sys.argv[3])
engine = open_storage(url).engine
engine.connect().close()
lease = DriverLease(engine, study, heartbeat_s=0.2, grace_s=grace)
print("ready", flush=True)
sys.stdin.readline()
try:
    lease.acquire()
    print(json.dumps({"got": True, "pid": os.getpid()}), flush=True)
except LiveDriverError as err:
    print(json.dumps({"got": False, "msg": str(err)}), flush=True)
sys.stdin.read()
lease.release()
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/lease.db" if request.param == "sqlite" else \
        request.getfixturevalue("postgres_url")
    open_storage(url)  # Optuna's schema first: processes creating it at once can collide
    return url


def _study(request: pytest.FixtureRequest) -> str:
    return f"lease-{request.node.name}-{os.getpid()}-{time.monotonic_ns()}"[:200]


def _holders(url: str, study: str, n: int, grace: float = 60.0) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", HOLDER, url, study, str(grace)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    return procs


def _go(procs: list[subprocess.Popen]) -> list[dict]:
    for p in procs:  # all at once: each only has to read one line
        p.stdin.write("go\n")
        p.stdin.flush()
    return [json.loads(p.stdout.readline()) for p in procs]


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)


def test_racing_processes_get_one_lease_and_the_others_name_its_holder(
        url: str, request: pytest.FixtureRequest) -> None:
    study = _study(request)
    procs = _holders(url, study, 4)
    try:
        results = _go(procs)
        winners = [r for r in results if r["got"]]
        assert len(winners) == 1, results
        pid = winners[0]["pid"]
        for r in results:
            if not r["got"]:
                assert f"study: '{study}'" in r["msg"] and "has a live driver" in r["msg"]
                assert f"host {socket.gethostname()}, pid {pid}, since 20" in r["msg"]
                assert "heartbeat 0 s ago" in r["msg"] and "\n" not in r["msg"]
                assert r["msg"].endswith("taken over 60 s after its last heartbeat)")
        # the holder releases when it ends: the lease is free again
        winner = next(p for p, r in zip(procs, results, strict=True) if r["got"])
        winner.stdin.close()
        assert winner.wait(timeout=30) == 0
        lease = DriverLease(open_storage(url).engine, study, heartbeat_s=0.2, grace_s=60)
        assert lease.acquire() is None
        lease.release()
    finally:
        _stop(procs)


def test_a_hung_driver_keeps_its_lease_until_the_grace_period_passes(
        url: str, request: pytest.FixtureRequest) -> None:
    study = _study(request)
    grace = 1.5
    (proc,) = _holders(url, study, 1, grace)
    engine = open_storage(url).engine
    try:
        assert _go([proc])[0]["got"]
        time.sleep(2 * grace)  # its heartbeat keeps it live past the grace period
        with pytest.raises(LiveDriverError, match=f"pid {proc.pid},"):
            DriverLease(engine, study, heartbeat_s=0.2, grace_s=grace).acquire()
        os.kill(proc.pid, signal.SIGSTOP)  # alive, but no heartbeat (as a lost machine)
        with pytest.raises(LiveDriverError):
            DriverLease(engine, study, heartbeat_s=0.2, grace_s=grace).acquire()
        time.sleep(grace + 1.0)
        lease = DriverLease(engine, study, heartbeat_s=0.2, grace_s=grace)
        gone = lease.acquire()
        assert gone is not None and gone.pid == proc.pid and gone.age_s > grace
        lease.release()
    finally:
        _stop([proc])


def test_a_killed_driver_on_this_machine_is_taken_over_at_once(
        url: str, request: pytest.FixtureRequest) -> None:
    study = _study(request)
    (proc,) = _holders(url, study, 1, 600.0)
    engine = open_storage(url).engine
    try:
        assert _go([proc])[0]["got"]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        lease = DriverLease(engine, study, heartbeat_s=0.2, grace_s=600.0)
        gone = lease.acquire()  # the process is gone: no need to wait 600 s
        assert gone is not None and gone.pid == proc.pid
        lease.release()
    finally:
        _stop([proc])


def test_a_lease_taken_over_tells_its_holder(url: str, request: pytest.FixtureRequest) -> None:
    from sqlalchemy import text

    study = _study(request)
    engine = open_storage(url).engine
    lost = threading.Event()
    lease = DriverLease(engine, study, heartbeat_s=0.1, grace_s=5.0, on_lost=lost.set)
    lease.acquire()
    with engine.begin() as conn:  # another driver took it over
        conn.execute(text("UPDATE poolnas_leases SET owner = 'other' WHERE study_name = :s"),
                     {"s": study})
    assert lost.wait(timeout=10) and lease.lost.is_set() and not lease.held
    lease.release()  # does not delete the other driver's row
    with engine.connect() as conn:
        owners = conn.execute(text("SELECT owner FROM poolnas_leases WHERE study_name = :s"),
                              {"s": study}).scalars().all()
    assert owners == ["other"]


def test_lease_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POOLNAS_LEASE_HEARTBEAT_S", raising=False)
    monkeypatch.delenv("POOLNAS_LEASE_GRACE_S", raising=False)
    assert lease_settings() == (5.0, 30.0)
    monkeypatch.setenv("POOLNAS_LEASE_HEARTBEAT_S", "0.5")
    monkeypatch.setenv("POOLNAS_LEASE_GRACE_S", "2")
    assert lease_settings() == (0.5, 2.0)
    monkeypatch.setenv("POOLNAS_LEASE_GRACE_S", "soon")
    with pytest.raises(ConfigError, match="POOLNAS_LEASE_GRACE_S: 'soon' is not accepted"):
        lease_settings()
    monkeypatch.setenv("POOLNAS_LEASE_GRACE_S", "0.2")
    with pytest.raises(ConfigError, match="expected more seconds than POOLNAS_LEASE_HEARTBEAT_S"):
        lease_settings()


# -- two real `poolnas sweep` drivers on one study ---------------------------------------------

def _driver(space: Path, url: str, ray_tmp: Path, *extra: str) -> subprocess.Popen:
    env = env_without_storage()
    env["RAY_TMPDIR"] = str(ray_tmp)
    return subprocess.Popen([sys.executable, "-m", "poolnas", "sweep", str(space), "--storage", url,
                             "--quiet", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.fixture
def ray_tmps() -> Iterator[Callable[[], Path]]:
    """Short temporary folders (Ray's socket paths) for the drivers' local Rays; whatever of
    those Rays is left is killed afterwards, nothing else."""
    made: list[Path] = []

    def make() -> Path:
        made.append(Path(tempfile.mkdtemp(prefix="prl", dir="/tmp")))
        return made[-1]

    yield make
    for path in made:
        kill_under(str(path))
        shutil.rmtree(path, ignore_errors=True)


def _refusal(err: str, study: str, pid: int) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"poolnas: study: '{study}' is not accepted; it has a live driver: "
                               f"host {socket.gethostname()}, pid {pid}, since 20"), err


def _lease_rows(url: str, study: str) -> int:
    from sqlalchemy import text

    with open_storage(url).engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM poolnas_leases WHERE study_name = :s"),
                            {"s": study}).scalar_one()


def _slow_grid(tmp_path: Path, study: str, pooling: list[str]) -> Path:
    doc = grid_space(study, epochs=3, pooling=pooling)
    doc["base"]["trainer"]["train_subset"] = 384  # trials of seconds
    return write_space(tmp_path, doc)


def test_two_drivers_started_half_a_second_apart_run_the_grid_once(
        url: str, tmp_path: Path, ray_tmps, request: pytest.FixtureRequest) -> None:
    study = f"race-{request.node.callspec.id}-{os.getpid()}"
    space = write_space(tmp_path, grid_space(study, pooling=["gap", "max"]))
    first = _driver(space, url, ray_tmps())
    time.sleep(0.5)
    second = _driver(space, url, ray_tmps())
    outs = [p.communicate(timeout=600) for p in (first, second)]
    codes = [first.returncode, second.returncode]
    assert sorted(codes) == [0, 2], (codes, [o[1][-3000:] for o in outs])
    winner, loser = (0, 1) if codes[0] == 0 else (1, 0)
    _refusal(outs[loser][1], study, (first, second)[winner].pid)
    assert "(2 complete, 0 pruned, 0 failed" in outs[winner][0]
    trials = optuna.load_study(study_name=study, storage=url).trials
    assert Counter(t.params["attention.pooling"] for t in trials) == Counter({"gap": 1, "max": 1})
    assert all(t.state == TrialState.COMPLETE for t in trials)


def test_a_second_driver_during_a_trial_is_refused_and_the_first_finishes(
        tmp_path: Path, ray_tmps) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = _slow_grid(tmp_path, "busy", ["gap", "max", "min"])
    first = _driver(space, url, ray_tmps(), "--max-concurrent", "1")
    try:
        wait_running(first, url, "busy")
        second = _driver(space, url, ray_tmps(), "--max-concurrent", "1")
        _, err = second.communicate(timeout=300)
        assert second.returncode == 2, err[-3000:]
        _refusal(err, "busy", first.pid)
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "(3 complete, 0 pruned, 0 failed" in out
    trials = optuna.load_study(study_name="busy", storage=url).trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3
    assert Counter(t.params["attention.pooling"] for t in trials) == \
        Counter({"gap": 1, "max": 1, "min": 1})


def test_a_driver_stopped_by_sigterm_releases_its_lease(tmp_path: Path, ray_tmps) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = _slow_grid(tmp_path, "term", ["gap", "max"])
    first = _driver(space, url, ray_tmps(), "--max-concurrent", "1")
    try:
        wait_running(first, url, "term")
        assert _lease_rows(url, "term") == 1  # held while it runs
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert _lease_rows(url, "term") == 0  # released, not left to go stale
