"""A study read once: its trials as records, the objective, and grouping over seeds.

Every figure, the report and the export work from one :class:`StudyData`, so a report of a
5,000-trial study reads the storage once (``_rdb_read.read_trials``) and never again, and
builds each trial's :class:`~poolnas.records.TrialRecord` once (``StudyData.records``).
Figures read each trial's full config (``user_attrs["config"]``, docs/search.md), not
its Optuna params, so fixed parts of a space (e.g. ``branch: one`` in ``base``) count too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

from poolnas.config import ACCURACY_METRICS
from poolnas.errors import ConfigError, closest
from poolnas.records import StudyAttrs, TrialRecord, study_objectives, trial_record
from poolnas.storage import open_storage, redact_url, resolve_storage_url
from poolnas.studies._rdb_read import frozen_trials, read_trials
from poolnas.studies.sql_reader import LiteStudy, SqlReader, open_reader

# Optuna's trial states (optuna.trial.TrialState names), counted for every study
_STATES = ("RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING")

__all__ = [
    "StudyData",
    "Stat",
    "TrialRow",
    "from_study",
    "group",
    "label",
    "load_study",
    "read_quick",
    "state_counts",
    "summarize",
]


# A complete trial with a finite objective value, as the figures group them (``StudyData.rows``):
# the trial's record, whose ``value`` is then a float.
TrialRow = TrialRecord


class Stat(NamedTuple):
    """Mean and sample standard deviation (ddof=1; 0 for one value) over ``n`` values."""

    mean: float
    std: float
    n: int


class StudyData(NamedTuple):
    name: str
    storage: str  # redacted URL
    direction: str  # "maximize" | "minimize"
    metric: str  # objective metric name ("objective" when the study does not say)
    rows: list[TrialRow]  # the records of the complete trials with a finite value
    state_counts: dict[str, int]  # COMPLETE, PRUNED, FAIL, RUNNING, WAITING -> count
    space: Any  # the space file as stored (StudyAttrs.SPACE), or None
    user_attrs: dict[str, Any]
    trials: list[Any]  # every FrozenTrial, as fetched once (for Optuna's plots)
    records: list[TrialRecord]  # every trial's record (any state), in the order of ``trials``
    cache: dict[str, Any]  # computed once per study read (the evidence)
    # (metric, mode) per objective, the first one leading (poolnas.evidence.pareto.study_objectives);
    # a multi-objective study has several: "best" and the figures are on the first one.
    objectives: tuple[tuple[str, str], ...] = ()

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def objective_text(self) -> str:
        """``test_acc (max)``, or ``test_acc (max), flops (min)`` for a multi-objective study."""
        return ", ".join(f"{m} ({o})" for m, o in (self.objectives or ((self.metric, self.mode),)))

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"

    @property
    def mode(self) -> str:
        """The objective's mode as a space file writes it: "max" or "min"."""
        return "max" if self.maximize else "min"

    @property
    def is_accuracy(self) -> bool:
        return self.metric in ACCURACY_METRICS

    def value_label(self) -> str:
        return f"{self.metric} (%)" if self.is_accuracy else self.metric

    def error_label(self) -> str:
        return f"error (%) = 100 - {self.metric}" if self.is_accuracy else self.metric

    def display(self, value: float) -> float:
        """Objective value as drawn: accuracies in percent."""
        return 100.0 * value if self.is_accuracy else value

    def error(self, value: float) -> float:
        """Error as drawn (BA2M): 100 - accuracy in percent; other metrics unchanged."""
        return 100.0 * (1.0 - value) if self.is_accuracy else value


def label(value: Any) -> str:
    """Short text for a config value: stage lists as "1,2,3", None as "all"."""
    if value is None:
        return "all"
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def summarize(values: Iterable[float]) -> Stat:
    vals = [float(v) for v in values]
    n = len(vals)
    if n == 0:
        return Stat(math.nan, math.nan, 0)
    mean = sum(vals) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in vals) / (n - 1)) if n > 1 else 0.0
    return Stat(mean, std, n)


def state_counts(trials: list[Any]) -> dict[str, int]:
    """Trials per state name (COMPLETE, PRUNED, FAIL, RUNNING, WAITING)."""
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.state.name] = counts.get(t.state.name, 0) + 1
    return counts


def from_study(study: Any, storage_url: str = "", storage: Any = None) -> StudyData:
    """Read an ``optuna.Study`` once into a :class:`StudyData` (``storage``: the RDBStorage it
    was loaded from, for the fast reader; without it Optuna's ``get_trials``)."""
    return _study_data(study.study_name, storage_url, dict(study.user_attrs), study.directions,
                       read_trials(study, storage))


def _study_data(name: str, storage_url: str, user_attrs: dict[str, Any], directions: Sequence[Any],
                trials: list[Any]) -> StudyData:
    # A dict for a single-objective study, a list for a multi-objective one; Optuna's
    # directions say how many (study.direction raises on a multi-objective study).
    objectives = study_objectives(user_attrs.get(StudyAttrs.OBJECTIVE), directions)
    metric, mode = objectives[0]
    direction = "maximize" if mode == "max" else "minimize"
    counts = dict.fromkeys(_STATES, 0)
    records = [trial_record(t) for t in trials]
    for r in records:
        counts[r.state] = counts.get(r.state, 0) + 1
    return StudyData(
        name=name,
        storage=redact_url(storage_url) if storage_url else "",
        direction=direction,
        metric=str(metric or "objective"),
        rows=[r for r in records if r.state == "COMPLETE" and r.value is not None],
        state_counts=counts,
        space=user_attrs.get(StudyAttrs.SPACE),
        user_attrs=user_attrs,
        trials=trials,
        records=records,
        cache={},
        objectives=tuple(objectives),
    )


def load_study(study_name: str, storage: Any = None) -> StudyData:
    """Open a study by name on a storage URL (or an Optuna storage object) and read it once:
    its trials are FrozenTrials, which Optuna's plots take (the report, ``poolnas.load``). A
    URL at a schema :mod:`poolnas.studies.sql_reader` knows is read by SQL without opening
    Optuna's RDBStorage; any other storage through Optuna. A missing SQLite file is not created.

    Raises:
        ConfigError: the study does not exist (names the close ones).
    """
    if storage is None or isinstance(storage, str):
        url = resolve_storage_url(storage)
        # Optuna's tables at a revision our queries know (the installed Optuna's, tests/studies):
        # read by SQL, without Optuna's RDBStorage (its ORM and alembic set-up and the schema
        # check: ~1 s of a cold report), the trials still FrozenTrials
        reader = open_reader(url)
        if reader is not None:
            found = _find_study(reader, study_name)
            return _study_data(study_name, url, dict(found.user_attrs), found.directions,
                               frozen_trials(reader.engine, found.study_id))
        store = open_storage(url, create=False)  # a reader: a missing SQLite file is not created
    else:  # an Optuna storage object
        store, url = storage, str(getattr(storage, "url", "") or "")
    import optuna

    names = optuna.study.get_all_study_names(store)
    if study_name not in names:
        accepted = ("expected one of: " + ", ".join(sorted(names))) if names else "the storage has no studies"
        raise ConfigError("study", study_name, accepted + closest(study_name, names))
    study = optuna.load_study(study_name=study_name, storage=store)
    return from_study(study, url, store)


def read_quick(study_name: str, storage: str | None = None) -> StudyData:
    """Read a study without importing Optuna, for the read-only commands (``export``,
    ``compare``): SQL on a schema :mod:`poolnas.studies.sql_reader` knows, its trials
    LiteTrials (enough for the evidence, not for Optuna's plots). A database at any other
    schema is read through :func:`load_study`.

    Raises:
        ConfigError: the study does not exist (names the close ones).
    """
    url = resolve_storage_url(storage)
    reader = open_reader(url)
    if reader is None:
        return load_study(study_name, url)
    return _read_by_sql(reader, study_name, url)


def _find_study(reader: SqlReader, study_name: str) -> LiteStudy:
    found = reader.study(study_name)
    if found is None:
        names = sorted(st.study_name for st in reader.get_all_studies())
        accepted = ("expected one of: " + ", ".join(names)) if names else "the storage has no studies"
        raise ConfigError("study", study_name, accepted + closest(study_name, names))
    return found


def _read_by_sql(reader: Any, study_name: str, url: str) -> StudyData:
    found = _find_study(reader, study_name)
    return _study_data(study_name, url, dict(found.user_attrs), found.directions,
                       reader.get_all_trials(found.study_id))


def group(rows: Sequence[TrialRow], keys: Sequence[str],
          where: Callable[[TrialRow], bool] | None = None) -> dict[tuple[Any, ...], list[TrialRow]]:
    """Rows grouped by the values of dotted config keys (missing keys group as None)."""
    out: dict[tuple[Any, ...], list[TrialRow]] = {}
    for row in rows:
        if where is not None and not where(row):
            continue
        out.setdefault(tuple(row.flat.get(k) for k in keys), []).append(row)
    return out
