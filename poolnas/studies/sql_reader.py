"""Read studies straight from Optuna's RDB tables, without Optuna: a SQLite file with Python's
``sqlite3``, any other database with SQLAlchemy Core.

``poolnas studies``, ``export`` and ``compare`` only read. Importing Optuna and opening its
``RDBStorage`` (ORM models, alembic) costs more than those commands' whole start budget
(docs/benchmarks.md, "Cold start"), so they read the tables here: studies, their directions
and user attributes, and every trial's state, values, params and user attributes, in a few
queries. The queries are ours, written against Optuna's RDB schema at the alembic revisions
in :data:`KNOWN_SCHEMAS`; :func:`open_reader` returns None for a database at any other
revision, and the callers then read through Optuna's public API instead. An error on a known
schema is raised, never swallowed.

A plain ``sqlite:///FILE`` URL (:func:`poolnas.storage.plain_sqlite_database`) is read with the
standard library's ``sqlite3`` and the SQL SQLAlchemy compiles the same queries to (so the
rows come in the same order), its DATETIME text read as SQLAlchemy reads it
(``datetime.fromisoformat``): importing SQLAlchemy and setting up an engine cost ~0.5 s of a
cold report, and its row processing ~0.2 s more for 5,000 trials (issue 20 item 3). The two
paths read the same values, types and orders (tests/studies/test_sql_reader.py).

Trials come back as :class:`LiteTrial`: what ``poolnas.evidence`` and the dashboards' readers
use of a FrozenTrial (``number``, ``state.name``, ``values``, ``params``, ``user_attrs``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from poolnas.errors import StorageUnreachableError
from poolnas.storage import (
    check_driver,
    check_sqlite_file,
    plain_sqlite_database,
    redact_url,
    resolve_storage_url,
    unreachable_reason,
)

__all__ = ["KNOWN_SCHEMAS", "LiteStudy", "LiteTrial", "SqlReader", "SqliteFile", "decode_param",
           "json_value", "open_reader", "query_trials"]

# Alembic revisions of Optuna's RDB schema these queries were written and tested against
# (v3.2.0.a: Optuna 3.2 through 5.0, the range pyproject accepts).
KNOWN_SCHEMAS = frozenset({"v3.2.0.a"})
_INF = {"INF_POS": float("inf"), "INF_NEG": float("-inf")}


@dataclass(frozen=True)
class _State:
    name: str


@dataclass
class LiteTrial:
    """One trial as the readers use it (a FrozenTrial's public fields, read-only)."""

    number: int
    state: _State
    values: list[float] | None
    params: dict[str, Any]
    user_attrs: dict[str, Any]
    datetime_start: datetime | None = None
    datetime_complete: datetime | None = None
    system_attrs: dict[str, Any] = field(default_factory=dict)
    intermediate_values: dict[int, float] = field(default_factory=dict)
    trial_id: int = 0

    @property
    def value(self) -> float | None:
        return self.values[0] if self.values else None


@dataclass(frozen=True)
class LiteStudy:
    """A study's name, directions ("MAXIMIZE" / "MINIMIZE" as ``.name``) and user attributes."""

    study_id: int
    study_name: str
    directions: tuple[_State, ...]
    user_attrs: dict[str, Any]


_SCAN = json.JSONDecoder().scan_once  # json.loads' own scanner (the default decoder's settings)


def json_value(text: Any) -> Any:
    """``json.loads(text)`` of a stored ``value_json``, without json.loads' per-call layers
    (decode, raw_decode, two whitespace matches: ~30% of reading 40,000 user attributes): the
    scanner json.loads calls reads the value at 0, and it must end at the text's end. Anything
    else (whitespace around the value, bytes, an error) goes to json.loads, which decodes it
    or raises exactly as before."""
    try:
        value, end = _SCAN(text, 0)
    except Exception:  # noqa: BLE001 - json.loads says what is wrong, as it did
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def decode_param(internal: float, distribution_json: str, cache: dict[str, Any] | None = None) -> Any:
    """A parameter's value as the trial saw it, from Optuna's stored internal float and its
    distribution JSON (``{"name": ..., "attributes": {...}}``): a categorical's choice by
    index, an int distribution's int, a float's float."""
    dist = cache.get(distribution_json) if cache is not None else None
    if dist is None:
        dist = json.loads(distribution_json)
        if cache is not None:
            cache[distribution_json] = dist
    name = str(dist.get("name", ""))
    if "Categorical" in name:
        return dist["attributes"]["choices"][int(internal)]
    if "Int" in name:
        return int(internal)
    return float(internal)


def _tables() -> dict[str, Any]:
    from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text

    meta = MetaData()
    return {
        "studies": Table("studies", meta, Column("study_id", Integer), Column("study_name", String)),
        "directions": Table("study_directions", meta, Column("study_id", Integer),
                            Column("direction", String), Column("objective", Integer)),
        "study_attrs": Table("study_user_attributes", meta, Column("study_id", Integer),
                             Column("key", String), Column("value_json", Text)),
        "trials": Table("trials", meta, Column("trial_id", Integer), Column("number", Integer),
                        Column("study_id", Integer), Column("state", String),
                        Column("datetime_start", DateTime), Column("datetime_complete", DateTime)),
        "values": Table("trial_values", meta, Column("trial_id", Integer), Column("objective", Integer),
                        Column("value", Float), Column("value_type", String)),
        "params": Table("trial_params", meta, Column("trial_id", Integer), Column("param_name", String),
                        Column("param_value", Float), Column("distribution_json", Text)),
        "attrs": Table("trial_user_attributes", meta, Column("trial_id", Integer), Column("key", String),
                       Column("value_json", Text)),
        "alembic": Table("alembic_version", meta, Column("version_num", String)),
    }


@dataclass(frozen=True)
class SqliteFile:
    """A SQLite database file read with Python's ``sqlite3`` (no SQLAlchemy): what
    :class:`SqlReader` holds as its ``engine`` for a plain ``sqlite:///FILE`` URL."""

    path: str  # as SQLAlchemy's pysqlite dialect opens it: absolute
    timeout_s: float = 30.0

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=self.timeout_s)
        try:
            yield conn
        finally:
            conn.close()


# The SQL SQLAlchemy compiles :func:`query_trials`' and ``SqlReader``'s queries to for SQLite
# (same text, so SQLite returns the rows in the same order).
_IN_STUDY = "IN (SELECT trials.trial_id FROM trials WHERE trials.study_id = ?)"
_SQLITE = {
    "trials": "SELECT trials.trial_id, trials.number, trials.state, trials.datetime_start, "
              "trials.datetime_complete FROM trials WHERE trials.study_id = ? ORDER BY trials.number",
    "values": "SELECT trial_values.trial_id, trial_values.objective, trial_values.value, "
              f"trial_values.value_type FROM trial_values WHERE trial_values.trial_id {_IN_STUDY}",
    "params": "SELECT trial_params.trial_id, trial_params.param_name, trial_params.param_value, "
              f"trial_params.distribution_json FROM trial_params WHERE trial_params.trial_id {_IN_STUDY}",
    "attrs": "SELECT trial_user_attributes.trial_id, trial_user_attributes.\"key\", "
             "trial_user_attributes.value_json FROM trial_user_attributes "
             f"WHERE trial_user_attributes.trial_id {_IN_STUDY}",
    "studies": "SELECT studies.study_id, studies.study_name FROM studies",
    "directions": "SELECT study_directions.study_id, study_directions.direction, study_directions.objective "
                  "FROM study_directions",
    "study_attrs": "SELECT study_user_attributes.study_id, study_user_attributes.\"key\", "
                   "study_user_attributes.value_json FROM study_user_attributes",
    "alembic": "SELECT alembic_version.version_num FROM alembic_version",
}


def _datetime(value: Any) -> datetime | None:
    """A DATETIME column's text as SQLAlchemy's SQLite dialect reads it."""
    return None if value is None else datetime.fromisoformat(value)


def _query_trials_sqlite(db: SqliteFile, study_id: int) -> tuple[list[Any], dict, dict, dict]:
    values: dict[int, dict[int, float]] = {}
    params: dict[int, dict[str, tuple[float, str]]] = {}
    attrs: dict[int, dict[str, Any]] = {}
    with db.connect() as conn:
        trials = [(tid, number, state, _datetime(start), _datetime(complete))
                  for tid, number, state, start, complete in conn.execute(_SQLITE["trials"], (study_id,))]
        for tid, objective, value, vtype in conn.execute(_SQLITE["values"], (study_id,)):
            values.setdefault(tid, {})[objective] = _INF.get(str(vtype), value)
        for tid, name, internal, dist_json in conn.execute(_SQLITE["params"], (study_id,)):
            params.setdefault(tid, {})[name] = (internal, dist_json)
        for tid, key, value_json in conn.execute(_SQLITE["attrs"], (study_id,)):
            attrs.setdefault(tid, {})[key] = json_value(value_json)
    return trials, values, params, attrs


def query_trials(engine: Any, study_id: int) -> tuple[list[Any], dict, dict, dict]:
    """Rows of a study's trials (trial_id, number, state, start, complete, in number order),
    and per trial id: values {objective: value}, params {name: (internal, distribution
    JSON)}, user attributes {key: value}. ``engine``: a SQLAlchemy engine or a
    :class:`SqliteFile`."""
    if isinstance(engine, SqliteFile):
        return _query_trials_sqlite(engine, study_id)
    from sqlalchemy import select

    tb = _tables()
    t, v, p, u = tb["trials"], tb["values"], tb["params"], tb["attrs"]
    in_study = select(t.c.trial_id).where(t.c.study_id == study_id)
    values: dict[int, dict[int, float]] = {}
    params: dict[int, dict[str, tuple[float, str]]] = {}
    attrs: dict[int, dict[str, Any]] = {}
    with engine.connect() as conn:
        trials = conn.execute(select(t.c.trial_id, t.c.number, t.c.state, t.c.datetime_start,
                                     t.c.datetime_complete).where(t.c.study_id == study_id)
                              .order_by(t.c.number)).all()
        for tid, objective, value, vtype in conn.execute(
                select(v.c.trial_id, v.c.objective, v.c.value,
                       v.c.value_type).where(v.c.trial_id.in_(in_study))):
            values.setdefault(tid, {})[objective] = _INF.get(str(vtype), value)
        for tid, name, internal, dist_json in conn.execute(
                select(p.c.trial_id, p.c.param_name, p.c.param_value, p.c.distribution_json)
                .where(p.c.trial_id.in_(in_study))):
            params.setdefault(tid, {})[name] = (internal, dist_json)
        for tid, key, value_json in conn.execute(
                select(u.c.trial_id, u.c.key, u.c.value_json).where(u.c.trial_id.in_(in_study))):
            attrs.setdefault(tid, {})[key] = json_value(value_json)
    return trials, values, params, attrs


class SqlReader:
    """Studies and trials of one database, read with SQLAlchemy Core or, for a SQLite file
(``engine`` a :class:`SqliteFile`), ``sqlite3`` (module docstring).

    Offers the three storage methods ``poolnas.dashboards.listing.list_studies`` calls
    (``get_all_studies``, ``get_study_id_from_name``, ``get_all_trials``) and :meth:`study`.
    """

    def __init__(self, engine: Any, url: str) -> None:
        self.engine = engine
        self.url = url
        self._studies: list[LiteStudy] | None = None

    def get_all_studies(self) -> list[LiteStudy]:
        if self._studies is None:
            self._studies = self._read_studies()
        return list(self._studies)

    def _read_studies(self) -> list[LiteStudy]:
        if isinstance(self.engine, SqliteFile):
            queries = [_SQLITE["studies"], _SQLITE["directions"], _SQLITE["study_attrs"]]
        else:
            from sqlalchemy import select

            tb = _tables()
            s, d, a = tb["studies"], tb["directions"], tb["study_attrs"]
            queries = [select(s.c.study_id, s.c.study_name),
                       select(d.c.study_id, d.c.direction, d.c.objective),
                       select(a.c.study_id, a.c.key, a.c.value_json)]
        with self.engine.connect() as conn:
            rows = list(conn.execute(queries[0]))
            dirs: dict[int, dict[int, str]] = {}
            for sid, direction, objective in conn.execute(queries[1]):
                dirs.setdefault(sid, {})[objective] = str(direction)
            attrs: dict[int, dict[str, Any]] = {}
            for sid, key, value_json in conn.execute(queries[2]):
                attrs.setdefault(sid, {})[key] = json.loads(value_json)
        return [LiteStudy(sid, name, tuple(_State(dirs[sid][k]) for k in sorted(dirs.get(sid, {}))),
                          attrs.get(sid, {})) for sid, name in rows]

    def study(self, name: str) -> LiteStudy | None:
        return next((s for s in self.get_all_studies() if s.study_name == name), None)

    def get_study_id_from_name(self, name: str) -> int:
        found = self.study(name)
        if found is None:
            raise KeyError(name)
        return found.study_id

    def get_all_trials(self, study_id: int, deepcopy: bool = False) -> list[LiteTrial]:
        trials, values, params, attrs = query_trials(self.engine, study_id)
        cache: dict[str, Any] = {}
        out = []
        for tid, number, state, start, complete in trials:
            vals = values.get(tid)
            out.append(LiteTrial(
                number=number, state=_State(str(state)),
                values=[vals[k] for k in sorted(vals)] if vals else None,
                params={k: decode_param(i, dj, cache) for k, (i, dj) in params.get(tid, {}).items()},
                user_attrs=attrs.get(tid, {}), datetime_start=start, datetime_complete=complete,
                trial_id=tid))
        return out


def open_reader(url: str | None = None, *, timeout_s: float = 30.0) -> SqlReader | None:
    """A reader of the database at ``url`` (None: $POOLNAS_STORAGE, else the default), or None
    when its Optuna schema revision is not one of :data:`KNOWN_SCHEMAS` (read through Optuna
    then). Nothing is created: a missing SQLite file is an error.

    Raises:
        ConfigError: a bad URL, a missing SQLite file, a driver that is not installed (exit 2).
        StorageUnreachableError: the database cannot be reached (exit 2).
    """
    url = resolve_storage_url(url)
    check_sqlite_file(url)
    check_driver(url)
    database = plain_sqlite_database(url)
    if database is not None:
        return _open_sqlite(url, os.path.abspath(os.path.expanduser(database)), timeout_s)
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import SQLAlchemyError

    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        connect_args = {"timeout": timeout_s}
    elif url.startswith("postgresql"):
        connect_args = {"connect_timeout": int(timeout_s)}
    try:
        engine = create_engine(url, connect_args=connect_args)
        with engine.connect() as conn:
            version = conn.execute(select(_tables()["alembic"].c.version_num)).scalar()
    except SQLAlchemyError as err:
        if "no such table" in str(err).lower() or "does not exist" in str(err).lower():
            return None  # not an Optuna database (or an empty one): Optuna says what it is
        raise StorageUnreachableError(
            f"cannot open storage {redact_url(url)}: {unreachable_reason(err, url)}") from None
    return SqlReader(engine, url) if version in KNOWN_SCHEMAS else None


def _open_sqlite(url: str, path: str, timeout_s: float) -> SqlReader | None:
    """:func:`open_reader` on a SQLite file through ``sqlite3``: the same answers (None for a
    file without Optuna's tables or at an unknown revision) and the same errors."""
    import sqlite3

    db = SqliteFile(path, timeout_s)
    try:
        with db.connect() as conn:
            row = conn.execute(_SQLITE["alembic"]).fetchone()
    except sqlite3.Error as err:
        if "no such table" in str(err).lower():
            return None  # not an Optuna database (or an empty one): Optuna says what it is
        raise StorageUnreachableError(
            f"cannot open storage {redact_url(url)}: {unreachable_reason(err, url)}") from None
    version = row[0] if row is not None else None
    return SqlReader(db, url) if version in KNOWN_SCHEMAS else None
