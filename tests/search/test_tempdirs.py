"""Private temporary folders of Ray Tune's files: a folder whose driver is gone is removed by the
next sweep, a live driver's (or one without a pid file) is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from poolnas.search import _tempdirs


@pytest.fixture
def tmpdir_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read $TMPDIR
    yield tmp_path
    tempfile.tempdir = None


def test_stale_folders_of_dead_drivers_go_live_ones_stay(tmpdir_env: Path) -> None:
    mine = Path(_tempdirs.make_private_dir())
    assert mine.parent == tmpdir_env and mine.name.startswith("poolnas-tune-")
    assert oct(mine.stat().st_mode & 0o777) == "0o700"
    host, pid, started = (mine / _tempdirs.PID_FILE).read_text().split()
    assert int(pid) == os.getpid() and started

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    killed = tmpdir_env / "poolnas-tune-killed"
    killed.mkdir()
    (killed / _tempdirs.PID_FILE).write_text(f"{host} {dead.stdout.strip()} 123\n")
    (killed / "tuner.pkl").write_bytes(b"x")
    reused = tmpdir_env / "poolnas-tune-reused"  # our pid, another start time: a reused pid
    reused.mkdir()
    (reused / _tempdirs.PID_FILE).write_text(f"{host} {os.getpid()} 1\n")
    unknown = tmpdir_env / "poolnas-tune-unknown"  # no pid file: not ours to judge
    unknown.mkdir()
    other = tmpdir_env / "poolnas-tune-elsewhere"  # another host's driver
    other.mkdir()
    (other / _tempdirs.PID_FILE).write_text(f"not-{host} {dead.stdout.strip()} 1\n")

    removed = _tempdirs.remove_stale_dirs()
    assert sorted(removed) == sorted([str(killed), str(reused)])
    assert mine.is_dir() and unknown.is_dir() and other.is_dir()
    assert not killed.exists() and not reused.exists()
