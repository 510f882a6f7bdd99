"""Storage URL resolution and password redaction (unit)."""

from __future__ import annotations

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
    from poolnas.storage import _reason

    url = "postgresql+psycopg://u:p@127.0.0.1:1/db"  # a one-letter password
    text = _reason(OSError('connection to server at "127.0.0.1", port 1 failed (password p)'), url)
    assert "port 1 failed" in text and "(password ***)" in text
    assert "hunter2" not in _reason(OSError("auth hunter2 refused"), "postgresql://u:hunter2@h/db")
