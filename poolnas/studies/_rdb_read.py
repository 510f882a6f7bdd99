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

import warnings
from typing import Any

from poolnas.studies.sql_reader import (  # the queries, with their revisions
    KNOWN_SCHEMAS,
    query_trials,
)

__all__ = ["KNOWN_SCHEMAS", "frozen_trials", "read_trials"]


def _read_rdb(storage: Any, study_id: int) -> list[Any]:
    return frozen_trials(storage.engine, study_id)


def frozen_trials(engine: Any, study_id: int) -> list[Any]:
    """Every trial of the study ``study_id`` as FrozenTrials (number order), read with the four
    queries of :func:`~poolnas.studies.sql_reader.query_trials` on a SQLAlchemy ``engine`` at a
    known schema: an RDBStorage's, or :class:`~poolnas.studies.sql_reader.SqlReader`'s."""
    from optuna.distributions import json_to_distribution
    from optuna.trial import FrozenTrial, TrialState

    trials, values, params, attrs = query_trials(engine, study_id)
    parsed: dict[str, Any] = {}  # distribution JSON repeats across trials: parse each once
    out = []
    for tid, number, state, start, complete in trials:
        vals = values.get(tid)
        dists, external = {}, {}
        for name, (internal, dist_json) in params.get(tid, {}).items():
            dist = parsed.get(dist_json)
            if dist is None:
                dist = parsed[dist_json] = json_to_distribution(dist_json)
            dists[name], external[name] = dist, dist.to_external_repr(internal)
        out.append(FrozenTrial(
            number=number, state=TrialState[str(state)], value=None,
            values=[vals[k] for k in sorted(vals)] if vals else None,
            datetime_start=start, datetime_complete=complete,
            params=external, distributions=dists,
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
