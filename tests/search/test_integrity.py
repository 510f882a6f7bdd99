"""Study integrity (issue 11) with real processes, signals, Ray, SQLite and PostgreSQL:

- SIGINT / SIGTERM to a driver: running trials stored as FAIL ``interrupted:``, exit 130 / 143,
  one line saying how to resume, and the resume runs those trials with the same parameters;
- no file that the sweep or Ray writes holds the storage password (a normal and a SIGKILLed
  PostgreSQL sweep), and the next run removes the killed sweep's temporary folder;
- a full disk stops the sweep with one line naming the cause, and nothing is reported that
  the database does not hold;
- a dead worker is one line, not a Ray traceback.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
from _procs import kill_under
from _sweep_spaces import env_without_storage, grid_space, write_space
from optuna.trial import TrialState

from poolnas.records import INTERRUPTED, TrialAttrs, enqueued_params
from poolnas.search import run_sweep
from poolnas.testing.fake_trials import sleep_trial

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("ray_local")]

DRIVER = str(Path(__file__).with_name("_drive_sweep.py"))
FAST = functools.partial(sleep_trial, epoch_s=0.05)
PASSWORD = "pw-Kx93-integrity"


def _random_space(study: str, trials: int = 4) -> dict:
    doc = grid_space(study, epochs=3)
    doc.update(sampler="random", trials=trials)
    doc["space"] = {"attention.reduction": {"int": [2, 64]}}
    return doc


def _wait_for(url: str, study: str, ready: Callable[[Counter], bool],
              proc: subprocess.Popen, timeout_s: float = 300) -> Counter:
    deadline = time.monotonic() + timeout_s
    seen: Counter = Counter()
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.5)
        try:
            seen = Counter(t.state for t in optuna.load_study(study_name=study, storage=url).trials)
        except Exception:  # noqa: BLE001 - not created yet
            continue
        if ready(seen):
            return seen
    raise AssertionError(f"never ready: {seen} (driver exit {proc.poll()})")


def _waiting_params(trials: list) -> list[dict]:
    return [enqueued_params(t) for t in trials
            if t.state == TrialState.WAITING]


@pytest.mark.parametrize(("sig", "to_group"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                              (signal.SIGINT, True)],
                         ids=["SIGINT", "SIGTERM", "Ctrl-C-to-the-process-group"])
def test_a_signal_stores_running_trials_as_interrupted_and_resume_reruns_them(
        sig: int, to_group: bool, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = write_space(tmp_path, _random_space("sig"))
    ray_tmp = tempfile.mkdtemp(prefix="prs", dir="/tmp")  # short: Ray's socket paths
    env = dict(env_without_storage(), RAY_TMPDIR=ray_tmp)
    log = tmp_path / "driver.err"
    with open(log, "wb") as stderr:  # a file: a pipe nobody reads could block the driver
        proc = subprocess.Popen([sys.executable, DRIVER, "2", "sweep", str(space), "--storage",
                                 url, "--max-concurrent", "2", "--quiet"],
                                env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                                start_new_session=to_group)
    try:
        _wait_for(url, "sig", lambda c: c[TrialState.COMPLETE] >= 1 and c[TrialState.RUNNING] >= 1,
                  proc)
        if to_group:  # as a terminal's Ctrl-C: the driver and the Ray processes it started
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_under(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)
    err = log.read_bytes()
    assert proc.returncode == 128 + sig, err.decode()[-2000:]
    trials = optuna.load_study(study_name="sig", storage=url).trials
    interrupted = [t for t in trials if t.state == TrialState.FAIL
                   and t.user_attrs[TrialAttrs.FAIL_REASON].startswith(INTERRUPTED)]
    assert interrupted and not [t for t in trials if t.state == TrialState.RUNNING]
    assert signal.Signals(sig).name in interrupted[0].user_attrs[TrialAttrs.FAIL_REASON]
    assert err.decode().strip().splitlines()[-1] == (
        f"interrupted: {len(interrupted)} trials stored as interrupted; resume with: "
        f"poolnas sweep {space} --storage {url} --study sig --resume")
    key = lambda p: sorted(p.items())  # noqa: E731
    assert sorted(map(key, _waiting_params(trials))) == sorted(key(t.params) for t in interrupted)
    done = {t.number: (t.params, t.value) for t in trials if t.state == TrialState.COMPLETE}

    res = run_sweep(space, storage=url, resume=True, trial_fn=FAST, quiet=True)
    assert res.recovered == 0 and res.counts.get("COMPLETE") == 4
    after = optuna.load_study(study_name="sig", storage=url).trials
    by_number = {t.number: t for t in after}
    for number, (params, value) in done.items():  # finished trials kept as they were
        assert (by_number[number].params, by_number[number].value) == (params, value)
    reran = [t for t in after if t.state == TrialState.COMPLETE and t.number not in done
             and t.user_attrs.get(TrialAttrs.ORIGIN) == "retry"]
    assert sorted(key(t.params) for t in reran) == sorted(key(t.params) for t in interrupted)
    assert {t.user_attrs[TrialAttrs.RETRY_OF] for t in reran} == {t.number for t in interrupted}
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]


def _files_holding(root: Path, secret: str) -> list[str]:
    found = []
    for path in root.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and secret.encode() in path.read_bytes():
                found.append(str(path))
        except OSError:
            continue
    return found


def test_no_file_of_a_normal_or_a_sigkilled_postgres_sweep_holds_the_password(
        postgres_server, tmp_path: Path) -> None:
    url = postgres_server.create_database("secrets", user="keeper", password=PASSWORD)
    root = Path(tempfile.mkdtemp(prefix="prp", dir="/tmp"))  # short: Ray's socket paths
    ray_tmp, tmp, results = root / "ray", root / "tmp", root / "results"
    for d in (ray_tmp, tmp):
        d.mkdir()
    env = dict(env_without_storage(), RAY_TMPDIR=str(ray_tmp), TMPDIR=str(tmp))
    space = write_space(tmp_path, _random_space("kept", trials=2))
    killed_space = write_space(tmp_path, _random_space("killed", trials=3), "killed.yaml")
    try:
        # a normal sweep, the password on the command line, Tune's files kept ($POOLNAS_RESULTS_DIR)
        normal = subprocess.run([sys.executable, DRIVER, "0.05", "sweep", str(space), "--storage", url],
                                env=dict(env, POOLNAS_RESULTS_DIR=str(results)),
                                capture_output=True, timeout=400)
        assert normal.returncode == 0, normal.stderr.decode()[-2000:]
        assert list(results.rglob("tuner.pkl"))  # Tune's pickled searcher and callbacks
        assert _files_holding(root, PASSWORD) == []
        # a sweep killed mid-trial, the password in $POOLNAS_STORAGE, Tune's files in a temp folder
        log = tmp_path / "killed.log"
        with open(log, "wb") as output:  # a file: a pipe nobody reads could block the driver
            proc = subprocess.Popen([sys.executable, DRIVER, "5", "sweep", str(killed_space),
                                     "--quiet"], env=dict(env, POOLNAS_STORAGE=url),
                                    stdout=output, stderr=output)
        try:
            _wait_for(url, "killed", lambda c: c[TrialState.RUNNING] >= 1, proc)
            time.sleep(2)
            proc.kill()
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            kill_under(str(ray_tmp))
        assert _files_holding(root, PASSWORD) == []
        (stale,) = tmp.glob("poolnas-tune-*")
        assert (stale / "poolnas-driver.pid").is_file() and list(stale.rglob("tuner.pkl"))
        # the next run removes the killed sweep's temporary folder and resumes
        resumed = subprocess.run([sys.executable, DRIVER, "0.05", "sweep", str(killed_space),
                                  "--resume", "--quiet"], env=dict(env, POOLNAS_STORAGE=url),
                                 capture_output=True, timeout=400)
        assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
        assert not stale.exists() and not list(tmp.glob("poolnas-tune-*"))
        assert _files_holding(root, PASSWORD) == []
        shown = normal.stdout + normal.stderr + log.read_bytes() + resumed.stdout + resumed.stderr
        assert PASSWORD.encode() not in shown and b"keeper:***@" in normal.stdout
    finally:
        kill_under(str(ray_tmp))
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 4 MiB tmpfs (needs root and mount rights; skipped without, unless POOLNAS_REQUIRE_ALL=1)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
            pytest.fail(f"cannot mount a small tmpfs: {r.stderr.decode().strip()}")
        pytest.skip(f"cannot mount a small tmpfs: {r.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _drive(trials: str, *args: str) -> subprocess.CompletedProcess:
    """The ``poolnas`` command in a process of its own, with fake trials (``_drive_sweep``)."""
    ray_tmp = tempfile.mkdtemp(prefix="prd", dir="/tmp")  # short: Ray's socket paths
    try:
        return subprocess.run([sys.executable, DRIVER, trials, *args], capture_output=True,
                              env=dict(env_without_storage(), RAY_TMPDIR=ray_tmp), timeout=400)
    finally:
        kill_under(ray_tmp)
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_a_full_disk_stops_the_sweep_in_one_line_and_reports_only_what_the_database_holds(
        small_disk: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{small_disk}/s.db"
    space = write_space(tmp_path, grid_space("full", pooling=["gap", "max", "min", "avgmax"]))
    filler = small_disk / "filler"
    run = _drive(f"fill:max:{filler}", "sweep", str(space), "--storage", url, "--max-concurrent", "1")
    err = run.stderr.decode()
    assert run.returncode == 1, err[-2000:]
    line = err.strip().splitlines()[-1]
    assert line.startswith("poolnas: storage error: OperationalError: database or disk is full;"), line
    filler.unlink()
    trials = optuna.load_study(study_name="full", storage=url).trials
    held = Counter(t.state for t in trials)
    assert f"holds {held[TrialState.COMPLETE]} COMPLETE" in line
    shown = [int(m) for m in re.findall(r"full: (\d+) complete", err)]
    assert shown and max(shown) <= held[TrialState.COMPLETE]  # never more than stored
    assert "max" not in {t.params["attention.pooling"] for t in trials
                         if t.state == TrialState.COMPLETE}
    assert "Traceback" not in err and "invalid data in the commit" not in err
    print(line)  # for the record (pytest -s)

    # with room again, the next run runs what was not stored; nothing is lost or run twice
    resumed = _drive("0.05", "sweep", str(space), "--storage", url, "--resume", "--quiet")
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    after = optuna.load_study(study_name="full", storage=url).trials
    complete = Counter(t.params["attention.pooling"] for t in after if t.state == TrialState.COMPLETE)
    assert complete == Counter({"gap": 1, "max": 1, "min": 1, "avgmax": 1})


def test_a_dead_worker_is_one_line_not_a_ray_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = write_space(tmp_path, grid_space("dead", pooling=["gap"]))
    run = _drive("crash", "sweep", str(space), "--storage", url)
    err = run.stderr.decode()
    assert run.returncode == 1, err[-2000:]
    assert "Traceback" not in err and "Trials did not complete" not in err, err
    assert not [ln for ln in err.splitlines() if ln.lstrip().startswith("File ")], err
    (trial,) = optuna.load_study(study_name="dead", storage=url).trials
    reason = trial.user_attrs[TrialAttrs.FAIL_REASON]
    assert reason.startswith("worker died: ActorDiedError") and "\n" not in reason, reason
    assert "dead: 0 complete, 0 running, 0 pruned, 1 failed of 1" in err
    # one line of poolnas names it (Ray's raylet may add one line of its own, never a traceback)
    (said,) = [ln for ln in err.splitlines() if "ActorDied" in ln]
    assert said.startswith(f"dead: trial 0 failed: {reason[:60]}"), said
    print(err)  # for the record (pytest -s)
