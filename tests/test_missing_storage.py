"""Storage faults through the real ``poolnas`` entry point (issue 11 item 6): a SQLite file
that does not exist, a database that cannot be reached, a driver that is not installed.
Each is one line on stderr, exit 2, the password never shown, and nothing created."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

READERS = (["report", "--study", "s"], ["export", "--study", "s"], ["studies"], ["dashboard", "--port", "0"],
           ["compare", "--study", "s"])


def _poolnas(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    return subprocess.run([sys.executable, "-m", "poolnas", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("argv", READERS, ids=lambda a: a[0])
def test_missing_sqlite_file_exits_2_and_is_not_created(argv: list[str], tmp_path: Path) -> None:
    db = tmp_path / "nope.db"
    out = _poolnas([*argv, "--storage", f"sqlite:///{db}"], tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "does not exist" in out.stderr and str(db) in out.stderr
    assert list(tmp_path.iterdir()) == []  # no empty database, no -wal/-shm, no report


def test_default_storage_is_not_created_by_a_reader(tmp_path: Path) -> None:
    out = _poolnas(["studies"], tmp_path)  # sqlite:///poolnas.db in the working directory
    assert out.returncode == 2 and "poolnas.db" in out.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [*READERS, ["sweep", "quickstart"]], ids=lambda a: a[0])
def test_unreachable_database_exits_2_in_every_command(argv: list[str], tmp_path: Path) -> None:
    url = f"postgresql+psycopg://sweeper:hunter2@127.0.0.1:{_closed_port()}/db"
    out = _poolnas([*argv, "--storage", url], tmp_path)
    assert out.returncode == 2, out.stderr
    assert out.stderr.count("\n") == 1 and "cannot open storage" in out.stderr
    assert "Connection refused" in out.stderr or "connection" in out.stderr.lower()
    assert "hunter2" not in out.stderr + out.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("url", "driver", "package"), [
    ("mysql://u:hunter2@127.0.0.1/db", "MySQLdb", "mysqlclient"),
    ("mysql+pymysql://u:hunter2@127.0.0.1/db", "pymysql", "PyMySQL"),
])
def test_missing_driver_is_named(url: str, driver: str, package: str, tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    try:
        __import__(driver)
        pytest.skip(f"{driver} is installed here")
    except ImportError:
        pass
    for argv in (["studies"], ["report", "--study", "s"], ["export", "--study", "s"],
                 ["dashboard", "--port", "0"], ["sweep", "quickstart"]):
        out = _poolnas([*argv, "--storage", url], tmp_path)
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1
        assert f"'{driver}'" in out.stderr and f"pip install {package}" in out.stderr
        assert "hunter2" not in out.stderr


def test_a_folder_as_sqlite_file_exits_2(tmp_path: Path) -> None:
    (tmp_path / "db").mkdir()
    out = _poolnas(["studies", "--storage", f"sqlite:///{tmp_path / 'db'}"], tmp_path)
    assert out.returncode == 2 and "is a folder" in out.stderr


def test_reader_opens_an_existing_database_without_changing_it(tmp_path: Path) -> None:
    import optuna

    from poolnas.storage import open_storage

    db = tmp_path / "s.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{db}")  # rollback journal, not WAL
    before = db.read_bytes()
    storage = open_storage(f"sqlite:///{db}", create=False)
    assert optuna.study.get_all_study_names(storage) == ["s"]
    storage.engine.dispose()
    assert db.read_bytes() == before  # readers leave the journal mode (file header) alone
