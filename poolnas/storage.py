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
from typing import TYPE_CHECKING, Any

from poolnas.errors import ConfigError, StorageUnreachableError, one_line

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = [
    "DEFAULT_STORAGE",
    "atomic_write_text",
    "check_driver",
    "check_schema_revision",
    "check_sqlite_file",
    "inspect_sqlite",
    "open_storage",
    "plain_sqlite_database",
    "redact_url",
    "resolve_storage_url",
    "scrub_secrets",
    "url_secrets",
    "sqlite_path",
    "unreachable_reason",
]

DEFAULT_STORAGE = "sqlite:///poolnas.db"
_PLAIN_SQLITE = "sqlite:///"


def plain_sqlite_database(url: str) -> str | None:
    """The database of a plain ``sqlite:///FILE`` URL (no driver, query or %-escape): the text
    after the third slash, which is what SQLAlchemy's ``make_url(url).database`` reads there
    (tests/test_storage_urls.py), found without importing SQLAlchemy (~0.4 s of a cold
    report). None for any other URL: SQLAlchemy parses those."""
    if url.startswith(_PLAIN_SQLITE) and "?" not in url and "%" not in url:
        return url[len(_PLAIN_SQLITE):]
    return None


def resolve_storage_url(url: str | None) -> str:
    """--storage, else $POOLNAS_STORAGE, else sqlite:///poolnas.db; validated."""
    url = url or os.environ.get("POOLNAS_STORAGE") or DEFAULT_STORAGE
    # lazy (sqlalchemy, optuna, in every function here): the CLI imports this module, and
    # `poolnas space validate` must load neither (tests/test_cold_start.py)
    database = plain_sqlite_database(url)
    backend = "sqlite"
    if database is None:
        try:
            from sqlalchemy.engine import make_url

            parsed = make_url(url)
        except Exception:
            raise ConfigError("storage", redact_url(url),
                              "expected a SQLAlchemy URL such as sqlite:///poolnas.db or "
                              "postgresql+psycopg://user:pass@host/db") from None
        backend, database = parsed.get_backend_name(), parsed.database
    if backend not in ("sqlite", "postgresql", "mysql"):
        raise ConfigError("storage", redact_url(url), "expected a sqlite://, postgresql:// or mysql:// URL")
    if backend == "sqlite" and database and database != ":memory:":
        folder = os.path.dirname(os.path.abspath(os.path.expanduser(database)))
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


def _query_values(value: object) -> list[str]:
    return [str(v) for v in value] if isinstance(value, (tuple, list)) else [str(value)]


def url_secrets(url: str) -> list[str]:
    """Every secret a URL holds (its password, secret query values, ``password=`` inside a
    query value), longest first, for scrubbing them out of any text."""
    found: list[str] = []
    if plain_sqlite_database(url) is not None:
        return found  # no userinfo, no query: nothing secret
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
    if plain_sqlite_database(url) is not None:
        return url  # no userinfo, no query: nothing to hide
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
    database = plain_sqlite_database(url)
    if database is None:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite":
            return None
        database = parsed.database
    if not database or database == ":memory:":
        return None
    return os.path.expanduser(database)


_SQLITE_HEADER = b"SQLite format 3\x00"


def inspect_sqlite(path: str, url: str = "") -> tuple[str, list[str]]:
    """What an existing SQLite file holds, read-only (nothing is written): ``("empty", [])``
    (0 bytes, or no table), ``("optuna", tables)`` or ``("foreign", tables)`` (another
    application's database). ConfigError when it is not a SQLite file, or a damaged one
    (``PRAGMA quick_check``: "database disk image is malformed")."""
    import sqlite3
    from urllib.parse import quote

    shown = redact_url(url) if url else path
    if os.path.getsize(path) == 0:
        return "empty", []
    with open(path, "rb") as f:
        header = f.read(len(_SQLITE_HEADER))
    if header != _SQLITE_HEADER:
        raise ConfigError("storage", shown, f"the file {path} is not a SQLite database (no SQLite "
                          "header); nothing was written")
    try:
        conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode=ro", uri=True, timeout=30)
        try:
            tables = sorted(r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"))
            check = [str(r[0]) for r in conn.execute("PRAGMA quick_check(1)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        check = [str(err)]
    if check != ["ok"]:
        raise ConfigError("storage", shown, f"the SQLite file {path} is damaged ({one_line(check[0], 120)}); "
                          "nothing was written: restore it from a backup (sqlite3 .recover may save "
                          "what is readable)")
    if not tables:
        return "empty", []
    # any of Optuna's own tables: another process may be creating the schema this moment
    optuna = bool({"studies", "version_info", "alembic_version"} & set(tables))
    return ("optuna" if optuna else "foreign"), tables


def check_sqlite_file(url: str, *, creating: bool = False) -> str | None:
    """ConfigError (nothing written) unless a sqlite:// file is an Optuna database: it does not
    exist, is a folder, is not SQLite, is damaged, is another application's database, or is
    empty. With ``creating`` (a sweep that may create its study) a missing or empty file is
    accepted: the sweep creates Optuna's tables in it. Returns "missing", "empty" or "optuna"
    (None: not a SQLite file URL)."""
    path = sqlite_path(url)
    if path is None:
        return None
    if not os.path.isfile(path):
        exists = os.path.lexists(path)  # once: another process may create it this moment
        if creating and not exists:
            return "missing"
    if not os.path.isfile(path):  # (a file created since the first check is read below)
        what = "is a folder" if os.path.isdir(path) else "does not exist"
        raise ConfigError("storage", redact_url(url),
                          f"the SQLite file {path} {what}; a sweep creates it "
                          "(check --storage or $POOLNAS_STORAGE)")
    kind, tables = inspect_sqlite(path, url)
    if kind == "foreign":
        shown = ", ".join(tables[:6]) + (", ..." if len(tables) > 6 else "")
        raise ConfigError("storage", redact_url(url),
                          f"the SQLite file {path} is not an Optuna database (its tables: {shown}); "
                          "nothing was written: use another file")
    if kind == "empty" and not creating:
        raise ConfigError("storage", redact_url(url),
                          f"the SQLite file {path} is empty (no Optuna database yet); a sweep "
                          "without --resume creates one")
    return kind


_MISSING_TABLE = re.compile(r"no such table|does not exist|UndefinedTable", re.I)


def check_schema_revision(url: str, engine_kwargs: dict[str, Any] | None = None) -> None:
    """ConfigError naming both revisions when the database's Optuna schema revision is not
    this Optuna's (older: upgrade it; newer: a newer Optuna wrote it). Read-only: a database
    without Optuna's tables (a new one) passes."""
    import optuna

    try:
        probe = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs or {},
                                           skip_table_creation=True, skip_compatibility_check=True)
    except Exception as err:  # noqa: BLE001 - no Optuna tables (yet): nothing to compare
        text = f"{err} {err.__cause__}"
        if _MISSING_TABLE.search(text) or _SCHEMA_RACE.search(text):
            return  # a new database, or one being created by another process this moment
        raise  # the database cannot be reached: open_storage says so
    try:
        current, head = probe.get_current_version(), probe.get_head_version()
        older = current in probe.get_all_versions()
    except Exception:  # noqa: BLE001 - no revision stored: Optuna stamps its own
        return
    finally:
        probe.engine.dispose()
    if current == head:
        return
    if older:
        raise ConfigError("storage", redact_url(url),
                          f"its Optuna schema revision {current} is older than Optuna "
                          f"{optuna.__version__}'s ({head}); nothing was written: back it up, then "
                          "run optuna storage upgrade --storage URL")
    raise ConfigError("storage", redact_url(url),
                      f"its Optuna schema revision {current} is unknown to Optuna {optuna.__version__} "
                      f"(newest {head}): a newer Optuna wrote it; nothing was written: pip install -U optuna")


def check_driver(url: str) -> None:
    """ConfigError naming the Python driver a URL needs when it is not installed."""
    try:
        if plain_sqlite_database(url) is not None:
            import sqlite3.dbapi2  # what SQLAlchemy's pysqlite dialect imports  # noqa: F401
            return
        from sqlalchemy.engine import make_url

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


def _rdb_storage(url: str, engine_kwargs: dict[str, Any], *, create: bool) -> RDBStorage:
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


def open_storage(url: str | None = None, *, timeout_s: float = 30.0, create: bool = True,
                 existing: bool = False) -> RDBStorage:
    """An Optuna RDBStorage; SQLite gets WAL and a busy timeout so a dashboard can read
    while a sweep writes.

    Args:
        url: --storage (None: $POOLNAS_STORAGE, else the default).
        timeout_s: SQLite busy timeout / PostgreSQL connect timeout.
        create: False for commands that only read (report, export, studies, dashboard): a
            SQLite file that does not exist is an error, and no empty database is created.
        existing: a writer that needs an Optuna database already (``sweep --resume``): a
            missing or empty SQLite file is refused like a reader's.

    Raises:
        ConfigError: a bad URL, a missing SQLite file (create=False), a file that is not an
            Optuna database, damaged or of another Optuna schema revision, a driver that is not
            installed (exit 2).
        StorageUnreachableError: the database cannot be reached (exit 2), naming the
            redacted URL.
    """
    from optuna.exceptions import StorageInternalError
    from sqlalchemy import event
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_storage_url(url)
    # nothing is written to a file that is not Optuna's (or, for a writer that may create its
    # study, missing or empty), nor to a damaged one or one of another schema revision
    kind = check_sqlite_file(url, creating=create and not existing)
    check_driver(url)
    engine_kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        engine_kwargs["connect_args"] = {"timeout": timeout_s}
    else:
        engine_kwargs["pool_pre_ping"] = True
        if url.startswith("postgresql"):
            engine_kwargs["connect_args"] = {"connect_timeout": int(timeout_s)}
    try:  # readers create no tables (nor an empty database)
        if kind not in ("missing", "empty"):  # a new SQLite file has no revision to compare
            check_schema_revision(url, engine_kwargs)
        storage = _rdb_storage(url, engine_kwargs, create=create)
    except (SQLAlchemyError, StorageInternalError, ImportError, OSError) as err:
        raise StorageUnreachableError(
            f"cannot open storage {redact_url(url)}: {unreachable_reason(err, url)}") from None
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
