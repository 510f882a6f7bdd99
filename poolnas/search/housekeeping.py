"""``poolnas studies delete | rename | copy``: study housekeeping (README, "The command line").

    poolnas studies delete NAME [--storage URL] --yes
    poolnas studies rename NAME NEW [--storage URL] --yes
    poolnas studies copy NAME --to URL [--as NEW] [--storage URL]

A failed start or a wrong space no longer forces a new study name: delete the study, rename
it out of the way, or copy it to another database (a PostgreSQL study to a SQLite file to
share, or back). Every operation takes the study's driver lease (:mod:`poolnas.search._lease`)
first, so none runs while a sweep drives the study (one line naming the driver, exit 2);
``delete`` and ``rename`` change nothing without ``--yes`` (they say what they would do, exit
2). Errors are one line (exit 2): an unknown study (with the closest name), a name that is
taken, an unreachable database. URLs are printed with their passwords hidden.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from poolnas.errors import ConfigError, closest
from poolnas.search._lease import DriverLease
from poolnas.storage import open_storage, redact_url, resolve_storage_url

if TYPE_CHECKING:
    from optuna.storages import RDBStorage

__all__ = ["copy_study", "delete_study", "housekeeping_command", "rename_study"]


def _names(storage: RDBStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def _check_exists(storage: RDBStorage, name: str, url: str) -> None:
    names = _names(storage)
    if name not in names:
        raise ConfigError("study", name, f"no such study in {redact_url(url)}" + closest(name, names)
                          + (f"; it has {', '.join(sorted(names)[:8])}" if names else "; it has no study"))


def _check_free(storage: RDBStorage, name: str, url: str, flag: str) -> None:
    if name in _names(storage):
        raise ConfigError(flag, name, f"a study of that name exists in {redact_url(url)}; "
                          "expected a new name (or delete that one first)")


def _trials(storage: RDBStorage, name: str) -> int:
    return len(storage.get_all_trials(storage.get_study_id_from_name(name), deepcopy=False))


def _lease(storage: RDBStorage, name: str) -> DriverLease:
    """The study's driver lease, held for the operation (LiveDriverError while a sweep runs).
    No heartbeat is needed for so short a hold: the interval is the grace period's half."""
    lease = DriverLease(storage.engine, name)
    lease.heartbeat_s = max(lease.heartbeat_s, lease.grace_s / 2)
    lease.acquire()
    return lease


def delete_study(name: str, storage_url: str | None = None) -> int:
    """Delete a study and its trials; returns how many trials went. Refused (LiveDriverError)
    while a driver holds the study."""
    import optuna

    url = resolve_storage_url(storage_url)
    storage = open_storage(url, create=False)
    _check_exists(storage, name, url)
    lease = _lease(storage, name)
    try:
        n = _trials(storage, name)
        optuna.delete_study(study_name=name, storage=storage)
    finally:
        lease.release()
    return n


def rename_study(name: str, new: str, storage_url: str | None = None) -> int:
    """Rename a study in place (one UPDATE of Optuna's ``studies`` row: its trials, attributes
    and trial numbers stay as they are); returns its trial count."""
    from sqlalchemy import text

    url = resolve_storage_url(storage_url)
    storage = open_storage(url, create=False)
    _check_exists(storage, name, url)
    _check_free(storage, new, url, "NEW")
    if not new.strip():
        raise ConfigError("NEW", new, "expected a non-empty study name")
    lease = _lease(storage, name)
    try:
        n = _trials(storage, name)
        with storage.engine.begin() as conn:
            done = conn.execute(text("UPDATE studies SET study_name = :new WHERE study_name = :old"),
                                {"new": new, "old": name}).rowcount
        if done != 1:
            raise ConfigError("study", name, "was renamed or deleted by another process meanwhile")
    finally:
        lease.release()
    return n


def copy_study(name: str, to_url: str, *, new: str | None = None, storage_url: str | None = None) -> int:
    """Copy a study (its attributes and every trial, in order) to ``to_url`` as ``new`` (default:
    the same name); returns the trials copied. The target database is created when it is a new
    SQLite file; a study of that name there is refused."""
    import optuna

    url = resolve_storage_url(storage_url)
    target_name = new or name
    storage = open_storage(url, create=False)
    _check_exists(storage, name, url)
    target = open_storage(to_url)
    if resolve_storage_url(to_url) == url and target_name == name:
        raise ConfigError("--to", redact_url(to_url), "is the study's own database; give --as NEW")
    _check_free(target, target_name, to_url, "--as" if new else "--to")
    lease = _lease(storage, name)
    try:
        n = _trials(storage, name)
        optuna.copy_study(from_study_name=name, from_storage=storage, to_storage=target,
                          to_study_name=target_name)
    finally:
        lease.release()
    return n


def housekeeping_command(args: argparse.Namespace) -> int:
    """Handler of ``poolnas studies delete | rename | copy``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = redact_url(resolve_storage_url(args.storage))
    op = args.studies_command
    if op in ("delete", "rename") and not args.yes:
        storage = open_storage(args.storage, create=False)
        _check_exists(storage, args.name, resolve_storage_url(args.storage))
        n = _trials(storage, args.name)
        what = (f"delete study {args.name!r} and its {n} trials from {url}" if op == "delete"
                else f"rename study {args.name!r} ({n} trials) to {args.new!r} in {url}")
        print(f"poolnas: studies {op}: this would {what}; nothing changed: add --yes to do it",
              file=sys.stderr)
        return 2
    if op == "delete":
        n = delete_study(args.name, args.storage)
        print(f"deleted study {args.name!r} ({n} trials) from {url}")
    elif op == "rename":
        n = rename_study(args.name, args.new, args.storage)
        print(f"renamed study {args.name!r} to {args.new!r} ({n} trials) in {url}")
    else:
        n = copy_study(args.name, args.to, new=args.as_name, storage_url=args.storage)
        print(f"copied study {args.name!r} ({n} trials) from {url} to {redact_url(args.to)} "
              f"as {(args.as_name or args.name)!r}")
    return 0
