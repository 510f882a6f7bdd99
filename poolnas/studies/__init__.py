"""A stored study, read: every poolnas package that reads a study goes through here.

``load_study(name, storage)`` reads a study once into a :class:`StudyData` (its trials as
rows, the objective, counts per state); ``read_quick`` does the same without importing
Optuna, for the read-only commands (``export``, ``compare``, ``studies``), when the database's
schema is one :mod:`poolnas.studies.sql_reader` knows. Stored trial configs are read under
the current schema (:mod:`poolnas.studies.migrate`).
"""

from __future__ import annotations

from poolnas.studies.reader import (
    Stat,
    StudyData,
    TrialRow,
    from_study,
    group,
    label,
    load_study,
    read_quick,
    summarize,
)

__all__ = [
    "Stat",
    "StudyData",
    "TrialRow",
    "from_study",
    "group",
    "label",
    "load_study",
    "read_quick",
    "summarize",
]
