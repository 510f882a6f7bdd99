"""Study storage: URL resolution, password redaction, and the attribute names trials share.

Storage is a SQLAlchemy URL (DESIGN.md, "Storage"): ``--storage``, else
``$POOLNAS_STORAGE``, else ``sqlite:///poolnas.db`` in the working directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from poolnas.errors import ConfigError

__all__ = [
    "DEFAULT_STORAGE",
    "TRIAL_CONFIG_VERSION",
    "TrialAttrs",
    "StudyAttrs",
    "config_key",
    "open_storage",
    "redact_url",
    "resolve_storage_url",
]

DEFAULT_STORAGE = "sqlite:///poolnas.db"
# Version of the stored trial config (TrialAttrs.CONFIG); bump it when a field is renamed or
# removed, and teach poolnas.dashboards._migrate the change. Configs without one are version 0.
TRIAL_CONFIG_VERSION = 1


class TrialAttrs:
    """Names of the user attributes every poolnas trial keeps (DESIGN.md)."""

    CONFIG = "config"  # the full trial config (dict)
    CONFIG_KEY = "config_key"  # hash of the config without its seed: groups repeats
    CONFIG_VERSION = "config_version"  # TRIAL_CONFIG_VERSION of the schema that wrote CONFIG
    N_PARAMS = "n_params"  # parameter count
    CURVES = "curves"  # {metric: [per-epoch values]}
    METRICS = "metrics"  # final metrics {val_acc, test_acc, train_loss, epoch_time, images_per_s}
    DEVICE = "device"
    NODE = "node"  # Ray node IP / hostname where it ran
    WALL_TIME = "wall_time"  # seconds
    FAIL_REASON = "fail_reason"
    CHECKPOINT = "checkpoint"  # path of a kept checkpoint, when one was kept
    ORIGIN = "origin"  # why the trial was queued: "grid", "repeat" (another seed), "retry"
    RETRY_OF = "retry_of"  # number of the interrupted trial this one runs again


class StudyAttrs:
    """Names of the user attributes every poolnas study keeps (DESIGN.md)."""

    SPACE = "space"  # the space file as loaded (dict)
    VERSION = "poolnas_version"
    OBJECTIVE = "objective"  # {metric, mode}


def config_key(config: dict[str, Any]) -> str:
    """Stable short hash of a trial config with its seed removed (repeats share it)."""
    doc = {k: v for k, v in config.items() if k != "seed"}
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def resolve_storage_url(url: str | None) -> str:
    """--storage, else $POOLNAS_STORAGE, else sqlite:///poolnas.db; validated."""
    url = url or os.environ.get("POOLNAS_STORAGE") or DEFAULT_STORAGE
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:
        raise ConfigError("storage", redact_url(url),
                          "expected a SQLAlchemy URL such as sqlite:///poolnas.db or "
                          "postgresql+psycopg://user:pass@host/db") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "mysql"):
        raise ConfigError("storage", redact_url(url), "expected a sqlite://, postgresql:// or mysql:// URL")
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        folder = os.path.dirname(os.path.abspath(os.path.expanduser(parsed.database)))
        if not os.path.isdir(folder):
            raise ConfigError("storage", redact_url(url), f"the folder {folder} does not exist")
    return url


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for anything printed or stored."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.password is None:
            return url
        return parsed.render_as_string(hide_password=True)
    except Exception:
        # Not parseable: cut anything between ':' and '@' in the authority part.
        if "@" in url and "://" in url:
            scheme, rest = url.split("://", 1)
            cred, host = rest.rsplit("@", 1)
            user = cred.split(":", 1)[0]
            return f"{scheme}://{user}:***@{host}"
        return url


def open_storage(url: str | None = None, *, timeout_s: float = 30.0):
    """An Optuna RDBStorage; SQLite gets WAL and a busy timeout so a dashboard can read
    while a sweep writes. Raises ConfigError for a bad URL, ConnectionError (exit 1)
    naming the redacted URL when the database cannot be reached."""
    import optuna
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError, SQLAlchemyError

    url = resolve_storage_url(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": timeout_s}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": int(timeout_s)}
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
    except (OperationalError, SQLAlchemyError, ModuleNotFoundError) as err:
        raise ConnectionError(f"cannot open storage {redact_url(url)}: {type(err).__name__}") from None
    if url.startswith("sqlite"):
        engine = storage.engine

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")
            cur.close()

        engine.dispose()  # later connections get the pragmas
    return storage
