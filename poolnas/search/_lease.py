"""One driver per study: a lease with a heartbeat, in a table of the study's own database.

A sweep's driver holds the lease of its study while it runs: a row of ``poolnas_leases``
(study name, a random owner token, host, pid, since, heartbeat). Taking it is one atomic
statement on SQLite and PostgreSQL alike: an INSERT (the primary key refuses a second one),
or, when the holder is gone, a conditional UPDATE that only matches the row as it was read
(same owner; heartbeat older than the grace period). Two drivers started together never both
get it. A background thread refreshes the heartbeat (``$POOLNAS_LEASE_HEARTBEAT_S``, default
5 s); the driver deletes the row when it ends. A driver that died without releasing it
(SIGKILL, a lost machine) is recognised as gone after ``$POOLNAS_LEASE_GRACE_S`` (default
30 s) without a heartbeat, or at once when it ran on this machine and its process no longer
exists. Times are the database's clock, so drivers on several machines agree.

The row holds no storage URL or password: host, pid and times only.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from poolnas.errors import ConfigError

if TYPE_CHECKING:
    from optuna.storages import RDBStorage
    from sqlalchemy import ColumnElement, Engine, Row, Table

__all__ = ["DriverLease", "LeaseHolder", "LiveDriverError", "hold_lease", "lease_settings"]

log = logging.getLogger(__name__)

TABLE = "poolnas_leases"
ENV_HEARTBEAT = "POOLNAS_LEASE_HEARTBEAT_S"
ENV_GRACE = "POOLNAS_LEASE_GRACE_S"
DEFAULT_HEARTBEAT_S = 5.0
DEFAULT_GRACE_S = 30.0

_table: Table | None = None  # built on first use (sqlalchemy imports stay lazy)


@dataclass(frozen=True)
class LeaseHolder:
    """The driver that holds (or held) a study's lease."""

    host: str
    pid: int
    since: float  # seconds since the epoch (database clock)
    age_s: float  # seconds since its last heartbeat

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since))
        return f"host {self.host}, pid {self.pid}, since {since} (heartbeat {self.age_s:.0f} s ago)"


class LeaseLostError(RuntimeError):
    """Another driver took this driver's lease over (it was stopped, or lost, for longer than
    the grace period): the sweep stopped; ``str(err)`` is one line naming the new driver."""


class LiveDriverError(ConfigError):
    """Another driver runs this study now (exit 2, one line)."""

    def __init__(self, study: str, holder: LeaseHolder, grace_s: float):
        self.holder = holder
        super().__init__("study", study, f"it has a live driver: {holder.describe()}; wait "
                                          "for it to finish, or stop it (a driver that died is "
                                          f"taken over {grace_s:g} s after its last heartbeat)")


def lease_settings() -> tuple[float, float]:
    """(heartbeat interval, grace period) in seconds from the environment.
    Raises ConfigError for a value that is not a positive number, or a grace period not
    longer than the interval."""
    values = []
    for name, default in ((ENV_HEARTBEAT, DEFAULT_HEARTBEAT_S), (ENV_GRACE, DEFAULT_GRACE_S)):
        text = os.environ.get(name)
        try:
            value = default if text in (None, "") else float(text)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise ConfigError(name, text, "expected a positive number of seconds")
        values.append(value)
    if values[1] <= values[0]:
        raise ConfigError(ENV_GRACE, os.environ.get(ENV_GRACE, str(DEFAULT_GRACE_S)),
                          f"expected more seconds than {ENV_HEARTBEAT} ({values[0]:g})")
    return values[0], values[1]


def _leases() -> Table:
    global _table
    if _table is None:
        from sqlalchemy import Column, Float, Integer, MetaData, String, Table

        _table = Table(
            TABLE, MetaData(),
            Column("study_name", String(512), primary_key=True),
            Column("owner", String(64), nullable=False),  # random token of the holding driver
            Column("host", String(255), nullable=False),
            Column("pid", Integer, nullable=False),
            Column("machine", String(255), nullable=False),  # where ``pid`` names a process
            Column("since", Float, nullable=False),
            Column("heartbeat", Float, nullable=False),
        )
    return _table


def _db_now(engine: Engine) -> ColumnElement[float]:
    """The database's clock in seconds since the epoch, as an SQL expression."""
    from sqlalchemy import literal, literal_column

    name = engine.dialect.name
    if name == "sqlite":
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)")
    if name == "postgresql":
        return literal_column("CAST(EXTRACT(EPOCH FROM CLOCK_TIMESTAMP()) AS DOUBLE PRECISION)")
    if name in ("mysql", "mariadb"):
        return literal_column("UNIX_TIMESTAMP(NOW(6))")
    return literal(time.time())


def _machine_id() -> str:
    """Boot id and pid namespace: two drivers with the same value see the same processes.
    Empty where unknown (then a holder is only taken over after the grace period)."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return ""


def _process_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs here (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state in ("Z", "X")
    except (OSError, IndexError):
        return False


def _ensure_table(engine: Engine) -> None:
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        _leases().create(engine, checkfirst=True)
    except SQLAlchemyError:  # another driver created it at the same moment
        if not inspect(engine).has_table(TABLE):
            raise


class DriverLease:
    """The lease of one study for this process. ``acquire()`` it before the study is
    created or its RUNNING trials are recovered; ``release()`` it when the sweep ends.

    Args:
        engine: a SQLAlchemy engine on the study's database (``RDBStorage.engine``).
        study_name: the study.
        heartbeat_s, grace_s: default from ``lease_settings()``.
        on_lost: called (from the heartbeat thread) when another driver took the lease
            over, e.g. after this process was stopped for longer than the grace period.
    """

    def __init__(self, engine: Engine, study_name: str, *, heartbeat_s: float | None = None,
                 grace_s: float | None = None, on_lost: Callable[[], None] | None = None):
        if heartbeat_s is None or grace_s is None:
            env_heartbeat, env_grace = lease_settings()
            heartbeat_s = env_heartbeat if heartbeat_s is None else heartbeat_s
            grace_s = env_grace if grace_s is None else grace_s
        self.engine = engine
        self.study_name = study_name
        self.heartbeat_s = float(heartbeat_s)
        self.grace_s = float(grace_s)
        self.on_lost = on_lost
        self.owner = uuid.uuid4().hex
        self.held = False
        self.lost = threading.Event()
        self.taken_by: LeaseHolder | None = None  # the driver that took the lease over
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> LeaseHolder | None:
        """Take the lease; returns the gone driver it took over from, or None.

        Raises:
            LiveDriverError: a live driver holds it (one line, exit 2).
        """
        from sqlalchemy.exc import IntegrityError

        _ensure_table(self.engine)
        holder: LeaseHolder | None = None
        for _ in range(10):
            try:
                self._insert()
            except IntegrityError:
                pass
            else:
                return self._start(None)
            row = self._read()
            if row is None:  # released between our INSERT and SELECT: try again
                continue
            holder = LeaseHolder(host=row.host, pid=int(row.pid), since=float(row.since),
                                 age_s=max(0.0, float(row.age)))
            here = bool(row.machine) and row.machine == _machine_id()
            if here and row.owner != self.owner and _process_gone(int(row.pid)):
                if self._take_over(row.owner, stale_only=False):
                    return self._start(holder)
            elif holder.age_s > self.grace_s:
                if self._take_over(row.owner, stale_only=True):
                    return self._start(holder)
            else:
                raise LiveDriverError(self.study_name, holder, self.grace_s)
        if holder is not None:
            raise LiveDriverError(self.study_name, holder, self.grace_s)
        raise RuntimeError(f"the lease of study {self.study_name!r} kept changing hands")

    def lost_error(self) -> LeaseLostError:
        """The one line a driver whose lease was taken over ends with."""
        who = self.taken_by
        if who is None:
            return LeaseLostError(f"another driver took over study {self.study_name}; this driver "
                                  "stopped (its running trials are the new driver's to run)")
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(who.since))
        return LeaseLostError(f"another driver took over this study at {since} (host {who.host}, "
                              f"pid {who.pid}): study {self.study_name}; this driver was stopped or "
                              "unreachable for longer than the grace period, and stopped (its "
                              "running trials are the new driver's to run)")

    def release(self) -> None:
        """Stop the heartbeat and delete the row (if it is still ours). Never raises."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5.0)
            self._thread = None
        if not self.held:
            return
        self.held = False
        t = _leases()
        try:
            with self.engine.begin() as conn:
                conn.execute(t.delete().where(t.c.study_name == self.study_name,
                                              t.c.owner == self.owner))
        except Exception as exc:  # noqa: BLE001 - the row goes stale after the grace period
            log.warning("could not release the lease of study %s: %s", self.study_name,
                        type(exc).__name__)

    def __enter__(self) -> DriverLease:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    # -- statements ----------------------------------------------------------------------

    def _insert(self) -> None:
        t = _leases()
        now = _db_now(self.engine)
        with self.engine.begin() as conn:
            conn.execute(t.insert().values(
                study_name=self.study_name, owner=self.owner, host=socket.gethostname(),
                pid=os.getpid(), machine=_machine_id(), since=now, heartbeat=now))

    def _read(self) -> Row | None:
        from sqlalchemy import select

        t = _leases()
        query = select(t.c.owner, t.c.host, t.c.pid, t.c.machine, t.c.since,
                       (_db_now(self.engine) - t.c.heartbeat).label("age"))
        with self.engine.connect() as conn:
            return conn.execute(query.where(t.c.study_name == self.study_name)).first()

    def _take_over(self, old_owner: str, *, stale_only: bool) -> bool:
        """One conditional UPDATE: matches only the row as read (and still stale)."""
        t = _leases()
        now = _db_now(self.engine)
        cond = [t.c.study_name == self.study_name, t.c.owner == old_owner]
        if stale_only:
            cond.append(t.c.heartbeat < now - self.grace_s)
        with self.engine.begin() as conn:
            res = conn.execute(t.update().where(*cond).values(
                owner=self.owner, host=socket.gethostname(), pid=os.getpid(),
                machine=_machine_id(), since=now, heartbeat=now))
        return res.rowcount == 1

    def _beat(self) -> bool:
        """Refresh the heartbeat; False when the row is no longer ours."""
        t = _leases()
        with self.engine.begin() as conn:
            res = conn.execute(t.update().where(t.c.study_name == self.study_name,
                                                t.c.owner == self.owner)
                               .values(heartbeat=_db_now(self.engine)))
        return res.rowcount == 1

    # -- the heartbeat thread ------------------------------------------------------------

    def _start(self, took_over: LeaseHolder | None) -> LeaseHolder | None:
        self.held = True
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"poolnas-lease-{self.study_name}",
                                        daemon=True)
        self._thread.start()
        return took_over

    def _run(self) -> None:
        failing = False
        while not self._stop.wait(self.heartbeat_s):
            try:
                ours = self._beat()
            except Exception as exc:  # noqa: BLE001 - the database may come back in time
                if not failing:
                    log.warning("lease heartbeat of study %s failed: %s", self.study_name,
                                type(exc).__name__)
                failing = True
                continue
            failing = False
            if not ours:
                self.held = False
                try:
                    row = self._read()
                    if row is not None:
                        self.taken_by = LeaseHolder(host=row.host, pid=int(row.pid),
                                                    since=float(row.since), age_s=max(0.0, float(row.age)))
                except Exception:  # noqa: BLE001 - the message then says less
                    pass
                self.lost.set()
                log.error("study %s: another driver took over this sweep's lease; stopping",
                          self.study_name)
                if self.on_lost is not None:
                    self.on_lost()
                return


def hold_lease(storage: RDBStorage, study_name: str) -> DriverLease:
    """Acquire the lease of ``study_name`` in an Optuna RDBStorage for this driver; release
    it with ``.release()``. When it is lost (another driver took it over), the main thread
    gets a KeyboardInterrupt, as on Ctrl-C: the sweep stops and its open trials go back to
    the new driver.

    Raises:
        LiveDriverError: a live driver holds it (ConfigError: one line, exit 2).
        ConfigError: a bad ``$POOLNAS_LEASE_*`` value.
    """
    import _thread

    in_main = threading.current_thread() is threading.main_thread()
    lease = DriverLease(storage.engine, study_name,
                        on_lost=_thread.interrupt_main if in_main else None)
    gone = lease.acquire()
    if gone is not None:
        log.warning("study %s: took over from a driver that is gone (%s)", study_name,
                    gone.describe())
    return lease
