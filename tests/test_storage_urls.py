"""Storage URL resolution and password redaction (unit)."""

from __future__ import annotations

import pytest

from poolnas.errors import ConfigError
from poolnas.storage import config_key, redact_url, resolve_storage_url


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
