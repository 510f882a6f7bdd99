"""Databases that are not (or no longer) sound Optuna databases (issue 21 items 5 and 8): another
application's SQLite file, a 0-byte file, a file that is not SQLite, an Optuna schema revision
older or newer than this Optuna's, a damaged page in the middle. Every reader and writer
(``studies``, ``compare``, ``export``, ``report``, ``sweep --resume``, ``sweep``) exits 2 with
one line naming the cause, and the file is left byte for byte as it was (no tables, no lease
table, no WAL switch). The dashboard's ``/poolnas/`` answers a clean error page."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import urllib.error
import urllib.request
from pathlib import Path

import optuna
import pytest
import yaml

from poolnas.cli import main
from poolnas.errors import MAX_LINE
from poolnas.testing import synthetic_studies as S

SPACE = {"study": "s", "sampler": "random", "trials": 1,
         "base": {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
                  "trainer": {"dataset": "digits", "epochs": 1}},
         "space": {"attention.reduction": {"int": [2, 8]}}}


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _commands(url: str, space: Path, out: Path) -> list[list[str]]:
    return [["studies", "--storage", url], ["compare", "--study", "s", "--storage", url],
            ["export", "--study", "s", "--storage", url],
            ["report", "--study", "s", "--storage", url, "-o", str(out / "r.html")],
            ["sweep", str(space), "--storage", url, "--resume", "--quiet"]]


def _refused_by_all(db: Path, tmp_path: Path, capsys, *words: str, writers: bool = True) -> None:
    url = f"sqlite:///{db}"
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    out = tmp_path / "out"
    out.mkdir()
    folder = db.parent
    before = _digest(folder)
    commands = _commands(url, space, out)
    if writers:  # a sweep that would create its study: still refused
        commands.append(["sweep", str(space), "--storage", url, "--quiet"])
    for argv in commands:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and len(err) <= MAX_LINE + 80, (argv, err)
        assert all(w in err for w in words), (argv, err)
        assert _digest(folder) == before, argv  # nothing written, no -wal/-journal left
    assert list(out.iterdir()) == []


@pytest.fixture
def dbdir(tmp_path: Path) -> Path:
    folder = tmp_path / "db"
    folder.mkdir()
    return folder


def test_another_applications_sqlite_file(dbdir: Path, tmp_path: Path, capsys) -> None:
    db = dbdir / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")
    conn.close()
    _refused_by_all(db, tmp_path, capsys, "not an Optuna database", "customers")


def test_a_zero_byte_file_is_refused_by_readers_and_resume(dbdir: Path, tmp_path: Path, capsys) -> None:
    db = dbdir / "empty.db"
    db.write_bytes(b"")
    _refused_by_all(db, tmp_path, capsys, "is empty", writers=False)


def test_a_file_that_is_not_sqlite(dbdir: Path, tmp_path: Path, capsys) -> None:
    db = dbdir / "notes.db"
    db.write_text("dear diary\n" * 200)
    _refused_by_all(db, tmp_path, capsys, "not a SQLite database")


def _optuna_db(path: Path, trials: int = 3) -> None:
    storage = optuna.storages.RDBStorage(f"sqlite:///{path}")
    study = S.create("s", storage)
    S.fill(study, [({"attention.pooling": "gap"}, [0.5 + i / 1000 for i in range(trials)])])
    storage.engine.dispose()  # the test's own connections, closed


@pytest.mark.parametrize(("revision", "words"), [("v2.4.0.a", ("older", "optuna storage upgrade")),
                                                  ("v99.0.0", ("unknown", "pip install -U optuna"))])
def test_another_schema_revision(dbdir: Path, tmp_path: Path, capsys, revision: str,
                                 words: tuple[str, ...]) -> None:
    db = dbdir / "old.db"
    _optuna_db(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    conn.close()
    _refused_by_all(db, tmp_path, capsys, revision, *words)


def _damage_a_middle_page(db: Path, *, every: bool = False) -> None:
    """Garbage over the middle page (``every``: over every page but the schema's first)."""
    size = db.stat().st_size
    pages = size // 4096
    assert pages >= 8, size
    with open(db, "r+b") as f:
        for page in range(1, pages) if every else [pages // 2]:
            f.seek(page * 4096)
            f.write(b"\xa5" * 4096)


def test_a_damaged_page_in_the_middle(dbdir: Path, tmp_path: Path, capsys) -> None:
    db = dbdir / "damaged.db"
    _optuna_db(db, trials=60)
    _damage_a_middle_page(db)
    _refused_by_all(db, tmp_path, capsys, "damaged")


def test_the_dashboard_answers_a_clean_page_when_the_file_is_damaged_under_it(dbdir: Path) -> None:
    from poolnas.dashboards.server import make_dashboard_server
    from poolnas.storage import open_storage

    db = dbdir / "live.db"
    _optuna_db(db, trials=60)
    server = make_dashboard_server(open_storage(f"sqlite:///{db}", create=False), port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/poolnas/"
        assert "s" in urllib.request.urlopen(url, timeout=30).read().decode()
        _damage_a_middle_page(db, every=True)  # whichever pages the listing reads
        with open(db, "r+b") as f:  # a new file change counter: open connections drop their cache
            f.seek(24)
            counter = int.from_bytes(f.read(4), "big")
            f.seek(24)
            f.write((counter + 1).to_bytes(4, "big"))
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(url, timeout=30)
        page = info.value.read().decode()
        assert info.value.code == 500 and "Storage error" in page and "Traceback" not in page
        assert "malformed" in page or "not a database" in page, page
    finally:
        server.shutdown()
        server.server_close()


def test_an_empty_file_is_still_a_new_database_for_a_sweep(dbdir: Path) -> None:
    from poolnas.storage import open_storage

    db = dbdir / "new.db"
    db.write_bytes(b"")
    open_storage(f"sqlite:///{db}").engine.dispose()  # a sweep without --resume creates it
    assert optuna.get_all_study_summaries(f"sqlite:///{db}") == []
