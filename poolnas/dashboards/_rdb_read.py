"""Read every trial of one study from an RDB storage in four SQL queries.

Optuna's ``get_trials`` hydrates ORM objects and copies them: about 3 ms per trial here,
15 s for a 5,000-trial study with its configs and curves. The report needs each trial's
state, values, params and user attributes once, read-only, so this reads those columns of
Optuna's tables directly (SQLAlchemy Core, no ORM) and builds FrozenTrials from them:
well under a second for the same study. System attributes and intermediate values are
left empty (no figure uses them). Any failure (another schema, another storage) falls back
to ``study.get_trials(deepcopy=False)``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["read_trials"]


def _rdb(storage: Any) -> Any | None:
    from optuna.storages import RDBStorage

    backend = getattr(storage, "_backend", storage)  # optuna wraps RDBStorage in _CachedStorage
    return backend if isinstance(backend, RDBStorage) else None


def _read_rdb(storage: Any, study_id: int) -> list[Any]:
    from optuna.distributions import json_to_distribution
    from optuna.storages._rdb import models
    from optuna.trial import FrozenTrial, TrialState
    from sqlalchemy import select

    t = models.TrialModel.__table__
    v = models.TrialValueModel.__table__
    p = models.TrialParamModel.__table__
    u = models.TrialUserAttributeModel.__table__
    in_study = select(t.c.trial_id).where(t.c.study_id == study_id)
    inf = {"INF_POS": float("inf"), "INF_NEG": float("-inf")}
    with storage.engine.connect() as conn:
        trials = conn.execute(select(t.c.trial_id, t.c.number, t.c.state, t.c.datetime_start,
                                     t.c.datetime_complete).where(t.c.study_id == study_id)
                              .order_by(t.c.number)).all()
        values: dict[int, dict[int, float]] = {}
        for tid, objective, value, vtype in conn.execute(
                select(v.c.trial_id, v.c.objective, v.c.value, v.c.value_type).where(v.c.trial_id.in_(in_study))):
            name = getattr(vtype, "name", str(vtype))
            values.setdefault(tid, {})[objective] = inf.get(name, value)
        params: dict[int, dict[str, Any]] = {}
        dists: dict[int, dict[str, Any]] = {}
        parsed: dict[str, Any] = {}  # distribution JSON repeats across trials: parse each once
        for tid, name, internal, dist_json in conn.execute(
                select(p.c.trial_id, p.c.param_name, p.c.param_value, p.c.distribution_json)
                .where(p.c.trial_id.in_(in_study))):
            dist = parsed.get(dist_json)
            if dist is None:
                dist = parsed[dist_json] = json_to_distribution(dist_json)
            params.setdefault(tid, {})[name] = dist.to_external_repr(internal)
            dists.setdefault(tid, {})[name] = dist
        attrs: dict[int, dict[str, Any]] = {}
        for tid, key, value_json in conn.execute(
                select(u.c.trial_id, u.c.key, u.c.value_json).where(u.c.trial_id.in_(in_study))):
            attrs.setdefault(tid, {})[key] = json.loads(value_json)
    out = []
    for tid, number, state, start, complete in trials:
        vals = values.get(tid)
        out.append(FrozenTrial(
            number=number, state=TrialState[getattr(state, "name", str(state))], value=None,
            values=[vals[k] for k in sorted(vals)] if vals else None,
            datetime_start=start, datetime_complete=complete,
            params=params.get(tid, {}), distributions=dists.get(tid, {}),
            user_attrs=attrs.get(tid, {}), system_attrs={}, intermediate_values={}, trial_id=tid,
        ))
    return out


def read_trials(study: Any) -> list[Any]:
    """Every trial of ``study`` (FrozenTrials, number order), fast on RDB storages."""
    storage = _rdb(study._storage)
    if storage is not None:
        try:
            return _read_rdb(storage, study._study_id)
        except Exception:  # another schema version: Optuna's own reader
            pass
    return study.get_trials(deepcopy=False)
