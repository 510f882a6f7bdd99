"""Read studies straight from Optuna's RDB tables with SQLAlchemy Core, without Optuna.

``poolnas studies``, ``export`` and ``compare`` only read. Importing Optuna and opening its
``RDBStorage`` (ORM models, alembic) costs more than those commands' whole start budget
(docs/benchmarks.md, "Cold start"), so they read the tables here: studies, their directions
and user attributes, and every trial's state, values, params and user attributes, in a few
queries. The queries are ours, written against Optuna's RDB schema at the alembic revisions
in :data:`KNOWN_SCHEMAS`; :func:`open_reader` returns None for a database at any other
revision, and the callers then read through Optuna's public API instead. An error on a known
schema is raised, never swallowed.

Trials come back as :class:`LiteTrial`: what ``poolnas.evidence`` and the dashboards' readers
use of a FrozenTrial (``number``, ``state.name``, ``values``, ``params``, ``user_attrs``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from poolnas.errors import StorageUnreachableError
from poolnas.storage import (
    check_driver,
    check_sqlite_file,
    redact_url,
    resolve_storage_url,
    unreachable_reason,
)

__all__ = ["KNOWN_SCHEMAS", "LiteStudy", "LiteTrial", "SqlReader", "decode_param", "open_reader",
           "query_trials"]

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


def query_trials(engine: Any, study_id: int) -> tuple[list[Any], dict, dict, dict]:
    """Rows of a study's trials (trial_id, number, state, start, complete, in number order),
    and per trial id: values {objective: value}, params {name: (internal, distribution
    JSON)}, user attributes {key: value}."""
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
            attrs.setdefault(tid, {})[key] = json.loads(value_json)
    return trials, values, params, attrs


class SqlReader:
    """Studies and trials of one database, read with SQLAlchemy Core (module docstring).

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
        from sqlalchemy import select

        tb = _tables()
        s, d, a = tb["studies"], tb["directions"], tb["study_attrs"]
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.c.study_id, s.c.study_name)).all()
            dirs: dict[int, dict[int, str]] = {}
            for sid, direction, objective in conn.execute(select(d.c.study_id, d.c.direction, d.c.objective)):
                dirs.setdefault(sid, {})[objective] = str(direction)
            attrs: dict[int, dict[str, Any]] = {}
            for sid, key, value_json in conn.execute(select(a.c.study_id, a.c.key, a.c.value_json)):
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
    from sqlalchemy import create_engine, select
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve_storage_url(url)
    check_sqlite_file(url)
    check_driver(url)
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
