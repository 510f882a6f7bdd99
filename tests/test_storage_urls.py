"""Storage URL resolution and password redaction (unit)."""

from __future__ import annotations

import os

import pytest

from poolnas.errors import ConfigError
from poolnas.records import config_key
from poolnas.storage import redact_url, resolve_storage_url


def test_default_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POOLNAS_STORAGE", raising=False)
    assert resolve_storage_url(None) == "sqlite:///poolnas.db"
    monkeypatch.setenv("POOLNAS_STORAGE", "sqlite:///other.db")
    assert resolve_storage_url(None) == "sqlite:///other.db"
    assert resolve_storage_url("sqlite:///x.db") == "sqlite:///x.db"


@pytest.mark.parametrize("url", ["not a url", "ftp://host/db", "sqlite:////no/such/folder/x.db"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_storage_url(url)
    assert str(info.value).startswith("storage:")


def test_password_never_shown() -> None:
    url = "postgresql+psycopg://poolnas:s3cret@127.0.0.1:5432/db"
    assert "s3cret" not in redact_url(url)
    assert "poolnas" in redact_url(url)
    with pytest.raises(ConfigError) as info:
        resolve_storage_url("oracle://u:s3cret@host/db")
    assert "s3cret" not in str(info.value)


def test_config_key_ignores_seed() -> None:
    a = {"model": {"arch": "resnet20"}, "seed": 0}
    assert config_key(a) == config_key({**a, "seed": 3})
    assert config_key(a) != config_key({"model": {"arch": "resnet32"}, "seed": 0})


def test_sqlite_path_of_urls(tmp_path) -> None:
    from poolnas.storage import sqlite_path

    assert sqlite_path(f"sqlite:///{tmp_path}/a.db") == f"{tmp_path}/a.db"
    assert sqlite_path("sqlite:///:memory:") is None
    assert sqlite_path("postgresql+psycopg://u@h/db") is None


def test_reader_refuses_a_missing_sqlite_file_and_creates_nothing(tmp_path) -> None:
    from poolnas.storage import open_storage

    with pytest.raises(ConfigError, match="does not exist"):
        open_storage(f"sqlite:///{tmp_path}/a.db", create=False)
    assert list(tmp_path.iterdir()) == []
    open_storage(f"sqlite:///{tmp_path}/a.db").engine.dispose()  # a writer creates it
    assert (tmp_path / "a.db").is_file()


def test_driver_errors_are_scrubbed_of_the_password_as_a_word() -> None:
    from poolnas.storage import unreachable_reason as _reason

    url = "postgresql+psycopg://u:p@127.0.0.1:1/db"  # a one-letter password
    text = _reason(OSError('connection to server at "127.0.0.1", port 1 failed (password p)'), url)
    assert "port 1 failed" in text and "(password ***)" in text
    assert "hunter2" not in _reason(OSError("auth hunter2 refused"), "postgresql://u:hunter2@h/db")


def _open_at_once(url: str, barrier, results) -> None:  # noqa: ANN001 - multiprocessing objects
    from poolnas.storage import open_storage

    barrier.wait()
    try:
        open_storage(url).get_all_studies()
        results.put("ok")
    except BaseException as err:  # noqa: BLE001 - reported to the parent
        results.put(f"{type(err).__name__}: {err}")


@pytest.mark.integration
def test_four_processes_opening_a_new_sqlite_file_at_once_all_succeed(tmp_path) -> None:
    """Optuna creates its schema on first open; four processes racing on one new file used
    to fail with "table ... already exists" / "UNIQUE constraint failed: alembic_version"."""
    import multiprocessing as mp

    import optuna  # noqa: F401 - imported before the fork: the children start at the barrier

    ctx = mp.get_context("fork")
    for attempt in range(8):  # each round a new file: the race hit about one round in two
        url = f"sqlite:///{tmp_path}/new-{attempt}.db"
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_at_once, args=(url, barrier, results)) for _ in range(4)]
        for p in procs:
            p.start()
        outcomes = [results.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        assert outcomes == ["ok"] * 4, (attempt, outcomes)


def test_only_the_schema_race_is_retried(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError

    from poolnas import storage

    real = optuna.storages.RDBStorage
    calls = []

    def flaky(url, **kw):  # noqa: ANN001, ANN003
        calls.append(url)
        if len(calls) == 1:
            raise IntegrityError("INSERT", {},
                                 Exception("UNIQUE constraint failed: alembic_version.version_num"))
        return real(url, **kw)

    monkeypatch.setattr(optuna.storages, "RDBStorage", flaky)
    assert storage.open_storage(f"sqlite:///{tmp_path}/a.db").get_all_studies() == []
    assert len(calls) == 2

    def broken(url, **kw):  # noqa: ANN001, ANN003
        calls.append(url)
        raise OperationalError("SELECT", {}, Exception("disk I/O error"))

    calls.clear()
    monkeypatch.setattr(optuna.storages, "RDBStorage", broken)
    with pytest.raises(storage.StorageUnreachableError, match="disk I/O error"):
        storage.open_storage(f"sqlite:///{tmp_path}/b.db")
    assert len(calls) == 1  # not the race: no retry


def test_a_file_created_between_the_checks_is_read_not_called_missing(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path) -> None:
    """check_sqlite_file looks for the file, then asks whether the path exists at all; a sweep
    started beside this one may create the file in between (a fresh-clone CI run caught it:
    "does not exist" for a file that existed by then)."""
    from poolnas import storage

    path = tmp_path / "new.db"
    real_isfile = os.path.isfile
    seen = []

    def created_after_first_look(p):  # noqa: ANN001
        if os.fspath(p) == str(path) and not seen:
            seen.append(p)
            path.touch()  # the other process creates it now
            return False
        return real_isfile(p)

    monkeypatch.setattr(storage.os.path, "isfile", created_after_first_look)
    assert storage.check_sqlite_file(f"sqlite:///{path}", creating=True) == "empty"
    assert seen


@pytest.mark.parametrize("url", [
    "sqlite:///poolnas.db", "sqlite:////abs/path/x.db", "sqlite:///~/studies.db", "sqlite:///a@b:c.db",
    "sqlite:///:memory:", "sqlite:///", "sqlite:///dir/with space/x.db", "sqlite:///x.db#frag",
    "sqlite:///x%20y.db", "sqlite:///x.db?timeout=5", "sqlite+pysqlite:///x.db", "sqlite://", "sqlite:///é.db",
    "postgresql://u:p@h/db", "SQLITE:///x.db",
])
def test_plain_sqlite_urls_read_as_sqlalchemy_reads_them(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path (no SQLAlchemy import) gives what make_url gives, or steps aside (None).
    from sqlalchemy.engine import make_url

    from poolnas import storage

    database = storage.plain_sqlite_database(url)
    if database is not None:
        assert make_url(url).get_backend_name() == "sqlite" and database == make_url(url).database
    fast = (storage.sqlite_path(url), storage.redact_url(url), storage.url_secrets(url))
    monkeypatch.setattr(storage, "plain_sqlite_database", lambda u: None)
    assert fast == (storage.sqlite_path(url), storage.redact_url(url), storage.url_secrets(url))
