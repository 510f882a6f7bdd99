"""Read every trial of one study from an RDB storage in four SQL queries.

Optuna's ``get_trials`` hydrates ORM objects and copies them: about 3 ms per trial here,
15 s for a 5,000-trial study with its configs and curves. The report needs each trial's
state, values, params and user attributes once, read-only, so this reads those columns
directly (SQLAlchemy Core) and builds FrozenTrials from them: well under a second for the
same study. System attributes and intermediate values are left empty (no figure uses them).

The query is ours, written against Optuna's RDB schema at the versions in
:data:`KNOWN_SCHEMAS` (``RDBStorage.get_current_version()``, public). A database at another
schema version is read through Optuna's public ``get_all_trials`` instead, with a warning
saying so; an error on a known schema is raised, never swallowed.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

__all__ = ["KNOWN_SCHEMAS", "read_trials"]

# Alembic revisions of Optuna's RDB schema this reader was written and tested against
# (v3.2.0.a: Optuna 3.2 through 5.0, the range pyproject accepts).
KNOWN_SCHEMAS = frozenset({"v3.2.0.a"})


def _tables() -> dict[str, Any]:
    from sqlalchemy import Column, DateTime, Float, Integer, MetaData, String, Table, Text

    meta = MetaData()
    return {
        "trials": Table("trials", meta, Column("trial_id", Integer), Column("number", Integer),
                        Column("study_id", Integer), Column("state", String),
                        Column("datetime_start", DateTime), Column("datetime_complete", DateTime)),
        "values": Table("trial_values", meta, Column("trial_id", Integer), Column("objective", Integer),
                        Column("value", Float), Column("value_type", String)),
        "params": Table("trial_params", meta, Column("trial_id", Integer), Column("param_name", String),
                        Column("param_value", Float), Column("distribution_json", Text)),
        "attrs": Table("trial_user_attributes", meta, Column("trial_id", Integer), Column("key", String),
                       Column("value_json", Text)),
    }


def _query(engine: Any, study_id: int) -> tuple[list[Any], dict, dict, dict, dict]:
    from optuna.distributions import json_to_distribution
    from sqlalchemy import select

    tb = _tables()
    t, v, p, u = tb["trials"], tb["values"], tb["params"], tb["attrs"]
    in_study = select(t.c.trial_id).where(t.c.study_id == study_id)
    inf = {"INF_POS": float("inf"), "INF_NEG": float("-inf")}
    values: dict[int, dict[int, float]] = {}
    params: dict[int, dict[str, Any]] = {}
    dists: dict[int, dict[str, Any]] = {}
    attrs: dict[int, dict[str, Any]] = {}
    parsed: dict[str, Any] = {}  # distribution JSON repeats across trials: parse each once
    with engine.connect() as conn:
        trials = conn.execute(select(t.c.trial_id, t.c.number, t.c.state, t.c.datetime_start,
                                     t.c.datetime_complete).where(t.c.study_id == study_id)
                              .order_by(t.c.number)).all()
        for tid, objective, value, vtype in conn.execute(
                select(v.c.trial_id, v.c.objective, v.c.value, v.c.value_type).where(v.c.trial_id.in_(in_study))):
            values.setdefault(tid, {})[objective] = inf.get(str(vtype), value)
        for tid, name, internal, dist_json in conn.execute(
                select(p.c.trial_id, p.c.param_name, p.c.param_value, p.c.distribution_json)
                .where(p.c.trial_id.in_(in_study))):
            dist = parsed.get(dist_json)
            if dist is None:
                dist = parsed[dist_json] = json_to_distribution(dist_json)
            params.setdefault(tid, {})[name] = dist.to_external_repr(internal)
            dists.setdefault(tid, {})[name] = dist
        for tid, key, value_json in conn.execute(
                select(u.c.trial_id, u.c.key, u.c.value_json).where(u.c.trial_id.in_(in_study))):
            attrs.setdefault(tid, {})[key] = json.loads(value_json)
    return trials, values, params, dists, attrs


def _read_rdb(storage: Any, study_id: int) -> list[Any]:
    from optuna.trial import FrozenTrial, TrialState

    trials, values, params, dists, attrs = _query(storage.engine, study_id)
    out = []
    for tid, number, state, start, complete in trials:
        vals = values.get(tid)
        out.append(FrozenTrial(
            number=number, state=TrialState[str(state)], value=None,
            values=[vals[k] for k in sorted(vals)] if vals else None,
            datetime_start=start, datetime_complete=complete,
            params=params.get(tid, {}), distributions=dists.get(tid, {}),
            user_attrs=attrs.get(tid, {}), system_attrs={}, intermediate_values={}, trial_id=tid,
        ))
    return out


def read_trials(study: Any, storage: Any = None) -> list[Any]:
    """Every trial of ``study`` (FrozenTrials, number order).

    Args:
        study: an ``optuna.Study``.
        storage: the storage it was loaded from. An ``RDBStorage`` at a known schema is read
            with the fast query; anything else (None, in-memory, journal) through
            ``study.get_trials(deepcopy=False)``.
    """
    from optuna.storages import RDBStorage

    if not isinstance(storage, RDBStorage):
        return study.get_trials(deepcopy=False)
    version = storage.get_current_version()
    if version not in KNOWN_SCHEMAS:
        warnings.warn(f"Optuna RDB schema {version} is not one poolnas reads directly "
                      f"({', '.join(sorted(KNOWN_SCHEMAS))}); reading trials through Optuna (slower)",
                      RuntimeWarning, stacklevel=2)
        return study.get_trials(deepcopy=False)
    return _read_rdb(storage, storage.get_study_id_from_name(study.study_name))
