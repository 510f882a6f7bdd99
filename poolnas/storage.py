"""Study storage: URL resolution, password redaction, opening an Optuna RDBStorage; and the
atomic writing of output files (reports, exports). The records kept in a study (attribute
names, the trial config's version) are ``poolnas.records``.

Storage is a SQLAlchemy URL: ``--storage``, else
``$POOLNAS_STORAGE``, else ``sqlite:///poolnas.db`` in the working directory.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import time
from typing import Any

from poolnas.errors import ConfigError, StorageUnreachableError, one_line

__all__ = [
    "DEFAULT_STORAGE",
    "atomic_write_text",
    "check_driver",
    "check_sqlite_file",
    "open_storage",
    "redact_url",
    "resolve_storage_url",
    "scrub_secrets",
    "url_secrets",
    "sqlite_path",
    "unreachable_reason",
]

DEFAULT_STORAGE = "sqlite:///poolnas.db"
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


# Query keys that carry a secret (``?password=``, MySQL's ``passwd=``, a token), and
# ``key=value`` pairs inside a query value (a libpq ``options`` or conninfo string such as
# ``options=-c password=x``): every form SQLAlchemy and the drivers accept.
_SECRET_KEY = re.compile(r"pass|pwd|secret|token", re.I)
_INNER_SECRET = re.compile(r"((?:\w*pass\w*|pwd|\w*secret\w*|\w*token\w*)\s*=\s*)"
                           r"('(?:[^'\\]|\\.)*'|[^\s&]+)", re.I)
_USERINFO = re.compile(r"(://[^/@:]*):[^/@]*@")
REDACTED = "***"


def _query_values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (tuple, list)) else [str(value)]


def url_secrets(url: str) -> list[str]:
    """Every secret a URL holds (its password, secret query values, ``password=`` inside a
    query value), longest first, for scrubbing them out of any text."""
    found: list[str] = []
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.password:
            found.append(str(parsed.password))
        for key, value in parsed.query.items():
            for v in _query_values(value):
                if _SECRET_KEY.search(key):
                    found.append(v)
                found += [m.group(2).strip("'") for m in _INNER_SECRET.finditer(v)]
    except Exception:  # noqa: BLE001 - not parseable: what the patterns find
        m = _USERINFO.search(url)
        if m:
            found.append(url[m.end(1) + 1: m.end() - 1])
        found += [m.group(2) for m in _INNER_SECRET.finditer(url)]
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub_secrets(text: str, url: str | None) -> str:
    """``text`` with every secret of ``url`` replaced by ***: as a whole word, so that a short
    password does not eat letters of the message (a driver's error, say)."""
    if not url:
        return text
    for secret in url_secrets(url):
        text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", REDACTED, text)
        text = text.replace(secret, REDACTED) if len(secret) >= 6 else text
    return text


def redact_url(url: str) -> str:
    """The URL with every secret replaced by ***, for anything printed or stored: the password
    in its userinfo (``user:pass@``), secret query values (``?password=``, ``passwd=``) and
    ``password=`` inside a query value (a libpq ``options`` string)."""
    try:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - not parseable: the patterns alone
        text = _USERINFO.sub(rf"\1:{REDACTED}@", url)
        return _INNER_SECRET.sub(rf"\1{REDACTED}", text)
    if parsed.password is None and not url_secrets(url):
        return url
    query: dict[str, Any] = {}
    for key, value in parsed.query.items():
        values = [REDACTED if _SECRET_KEY.search(key) else _INNER_SECRET.sub(rf"\1{REDACTED}", v)
                  for v in _query_values(value)]
        query[key] = tuple(values) if isinstance(value, (tuple, list)) else values[0]
    text = parsed.set(query=query).render_as_string(hide_password=True)
    return text.replace("%2A%2A%2A", REDACTED)


# The module a SQLAlchemy driver imports -> the pip package that provides it.
_DRIVER_PACKAGES = {"MySQLdb": "mysqlclient", "pymysql": "PyMySQL", "mysql": "mysql-connector-python",
                    "psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg"}


def sqlite_path(url: str) -> str | None:
    """The file of a sqlite:// URL (user-expanded), None for other backends and :memory:."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return os.path.expanduser(parsed.database)


def check_sqlite_file(url: str) -> None:
    """ConfigError when a reader's sqlite:// file does not exist (it is never created)."""
    path = sqlite_path(url)
    if path is not None and not os.path.isfile(path):
        what = "is a folder" if os.path.isdir(path) else "does not exist"
        raise ConfigError("storage", redact_url(url),
                          f"the SQLite file {path} {what}; a sweep creates it "
                          "(check --storage or $POOLNAS_STORAGE)")


def check_driver(url: str) -> None:
    """ConfigError naming the Python driver a URL needs when it is not installed."""
    from sqlalchemy.engine import make_url

    try:
        make_url(url).get_dialect().import_dbapi()
    except ImportError as err:
        module = err.name or str(err)
        package = _DRIVER_PACKAGES.get(module.split(".")[0], module)
        raise ConfigError("storage", redact_url(url),
                          f"its driver {module!r} is not installed (pip install {package})") from None


def unreachable_reason(err: BaseException, url: str) -> str:
    """The first line of a driver's error, without the URL's secrets, for the one-line message."""
    if err.__cause__ is not None and not str(err.__cause__).startswith("No module"):
        err = err.__cause__  # optuna's StorageInternalError wraps the driver's error
    orig = getattr(err, "orig", None) or err
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    text = scrub_secrets(text, url)  # as whole words: a short one must not eat letters
    return one_line(f"{type(orig).__name__}: {text}", 200)


# Errors of two processes creating Optuna's schema in one new database at once: the loser's
# CREATE TABLE or its alembic/version_info row collides with the winner's.
_SCHEMA_RACE = re.compile(r"already exists|UNIQUE constraint failed|duplicate key value", re.I)
_SCHEMA_ATTEMPTS = 6


def _rdb_storage(url: str, engine_kwargs: dict[str, Any], *, create: bool) -> Any:
    """``optuna.storages.RDBStorage``; when several processes create the schema of a new
    database at the same moment (sweeps started together on one new SQLite file), the ones
    that lose the race wait a moment and open it again, by then created."""
    import optuna
    from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

    for attempt in range(_SCHEMA_ATTEMPTS):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs,
                                              skip_table_creation=not create)
        except Exception as err:  # noqa: BLE001 - re-raised unless it is the schema race
            db_errors = (IntegrityError, OperationalError, ProgrammingError)
            cause = err if isinstance(err, db_errors) else err.__cause__  # optuna may wrap it
            race = isinstance(cause, db_errors) and _SCHEMA_RACE.search(str(cause)) is not None
            if not (create and race) or attempt == _SCHEMA_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1) + random.uniform(0, 0.05))
    raise AssertionError("unreachable")


def open_storage(url: str | None = None, *, timeout_s: float = 30.0, create: bool = True):
    """An Optuna RDBStorage; SQLite gets WAL and a busy timeout so a dashboard can read
    while a sweep writes.

    Args:
        url: --storage (None: $POOLNAS_STORAGE, else the default).
        timeout_s: SQLite busy timeout / PostgreSQL connect timeout.
        create: False for commands that only read (report, export, studies, dashboard): a
            SQLite file that does not exist is an error, and no empty database is created.

    Raises:
        ConfigError: a bad URL, a missing SQLite file (create=False), a driver that is not
            installed (exit 2).
        StorageUnreachableError: the database cannot be reached (exit 2), naming the
            redacted URL.
    """
    from optuna.exceptions import StorageInternalError
    from sqlalchemy import event
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_storage_url(url)
    if not create:
        check_sqlite_file(url)
    check_driver(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": timeout_s}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": int(timeout_s)}
    try:  # readers create no tables (nor an empty database)
        storage = _rdb_storage(url, engine_kwargs, create=create)
    except (SQLAlchemyError, StorageInternalError, ImportError, OSError) as err:
        raise StorageUnreachableError(f"cannot open storage {redact_url(url)}: {unreachable_reason(err, url)}") from None
    if url.startswith("sqlite"):
        engine = storage.engine
        # Writers switch the file to WAL (persistent); readers leave its header as it is.
        pragmas = ["PRAGMA journal_mode=WAL"] if create else []
        pragmas.append(f"PRAGMA busy_timeout={int(timeout_s * 1000)}")

        @event.listens_for(engine, "connect")
        def _wal(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            for pragma in pragmas:
                cur.execute(pragma)
            cur.close()

        engine.dispose()  # later connections get the pragmas
    return storage


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` so that a reader, a crash (SIGKILL) or a full disk
    never leaves a partial file: a temporary file in the same folder, fsync, then a rename over
    ``path`` (which replaces a symlink itself, never the file it points to). On failure the
    old file is kept, the temporary one removed, and the OSError names ``path``."""
    import tempfile

    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    try:
        mode = os.stat(target, follow_symlinks=False).st_mode & 0o777
        if os.path.islink(target):
            raise FileNotFoundError  # a link's own mode means nothing: the umask's default
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
            os.fchmod(f.fileno(), mode)
        os.replace(tmp, target)
    except BaseException as err:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(err, OSError):
            raise OSError(err.errno, err.strerror or str(err), target) from None
        raise
    with contextlib.suppress(OSError):  # the rename itself survives a power loss
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
