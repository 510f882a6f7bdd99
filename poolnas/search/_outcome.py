"""Each trial's outcome in the study, decided and stored by one Tune callback.

The searcher (``_searcher.StudySearcher``) asks Optuna for a trial and records it in the
sweep's ``StudyTrials``; from then on ``TrialOutcomes``, a Ray Tune ``Callback`` (public API),
owns that trial: it stores each epoch as an intermediate value, and tells Optuna once
whether the trial is

- COMPLETE: its last result carries ``{"status": "complete"}`` (``_trainable.OUTCOME_KEY``)
  with the attributes the trainer returned;
- FAIL with ``fail_reason``: the last result carries ``{"status": "fail", "reason": ...}``,
  the objective is not finite, or Tune reports an error (the worker died);
- PRUNED: Tune ended it without an outcome while the sweep went on (ASHA stopped it);
- FAIL ``interrupted: ...`` (``finish``): the sweep stopped while it ran (a signal, a storage
  fault); it is queued again with the same parameters and seed, so a resume runs it again.

A write the storage refuses (disk full, a read-only file) stops the sweep: ``StorageFault``
names the cause in one line, and nothing is counted that the database does not hold.

Nothing here is ever pickled with the study: Tune pickles its searcher and callbacks into
``tuner.pkl`` and ``StudyTrials`` pickles as a key into this process's registry, so the
storage URL (and its password) stays in memory.
"""

from __future__ import annotations

import logging
import math
import signal
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ray.exceptions import OutOfMemoryError
from ray.tune import Callback
from ray.tune.stopper import Stopper

from poolnas.config import METRICS
from poolnas.errors import StorageFault, one_line
from poolnas.records import INTERRUPTED, TrialAttrs
from poolnas.search._oom import WorkerOutOfMemory, oom_reason
from poolnas.search._trainable import NODE_KEY, OUTCOME_KEY, RSS_KEY, failure_reason
from poolnas.spaces import Space

if TYPE_CHECKING:
    import optuna
    from optuna.trial import TrialState
    from ray.tune.experiment import Trial

__all__ = ["StorageFault", "StudyTrials", "SweepStop", "TrialOutcomes", "error_reason",
           "fault_cause"]

log = logging.getLogger(__name__)

_SESSIONS: dict[str, StudyTrials] = {}  # live sweeps of this process, by key


def fault_cause(err: BaseException) -> str:
    """What the database said, e.g. ``database or disk is full``: the innermost driver error
    of Optuna's ``StorageInternalError`` ("invalid data in the commit ...") chain."""
    seen: list[BaseException] = []
    cur: BaseException | None = err
    while cur is not None and cur not in seen:
        seen.append(cur)
        cur = cur.__cause__ or cur.__context__
    for exc in reversed(seen):
        orig = getattr(exc, "orig", None)  # sqlalchemy DBAPIError: the driver's own error
        if orig is not None:
            return one_line(f"{type(orig).__name__}: {str(orig).strip()}", 200)
    last = seen[-1]
    return one_line(f"{type(last).__name__}: {str(last).strip()}", 200)


class SweepStop(Stopper):
    """Tune's public ``Stopper``: stops the whole sweep once asked (a signal, a storage fault)."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self.signum: int | None = None

    def request(self, reason: str, signum: int | None = None) -> None:
        if self.reason is None:
            self.reason, self.signum = reason, signum

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.reason is not None


def _session_by_key(key: str) -> StudyTrials | None:
    return _SESSIONS.get(key)


class StudyTrials:
    """The Optuna trials one sweep asked for, by Tune trial id: what the searcher and the
    outcome callback share. Pickles as its key (``__reduce__``): never with the study."""

    def __init__(self, study: optuna.Study, space: Space) -> None:
        self.key = uuid.uuid4().hex
        self.study = study
        self.space = space
        self.asked: dict[str, optuna.Trial] = {}  # Tune trial id -> its Optuna trial, until told
        self.started: dict[str, float] = {}
        self.told: set[str] = set()
        self.stop = SweepStop()
        self.fault: BaseException | None = None
        self.unstored = 0  # outcomes the storage refused
        _SESSIONS[self.key] = self

    def __reduce__(self) -> tuple[Callable[[str], StudyTrials | None], tuple[str]]:
        return _session_by_key, (self.key,)

    def close(self) -> None:
        _SESSIONS.pop(self.key, None)

    def on_fault(self, err: BaseException, what: str) -> None:
        """The storage refused ``what``: stop the sweep, keep the first cause."""
        if self.fault is None:
            self.fault = err
            log.debug("storage refused %s: %s", what, err)
        self.stop.request("storage")

    def open_trials(self) -> list[tuple[str, optuna.Trial]]:
        return [(tid, t) for tid, t in self.asked.items() if tid not in self.told]


def _objective_value(metric: str, result: dict[str, Any], attrs: dict[str, Any]) -> float | None:
    """An objective's final value: the last result's metric, else the trial's final metrics or
    cost (``params``, ``flops``); None when missing or not finite."""
    value = result.get(metric)
    for source in (attrs.get("metrics"), attrs.get("cost")):
        if value is None and isinstance(source, dict):
            value = source.get(metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def error_reason(trial: Trial) -> str:
    """The one-line failure reason of a Tune trial that errored (its error files)."""
    path = getattr(trial, "pickled_error_file", None)
    if path:
        try:
            import cloudpickle

            with open(path, "rb") as f:
                exc = cloudpickle.load(f)
            cause = getattr(exc, "cause", None)
            name = type(exc).__name__
            for err in (exc, cause):  # Ray's memory monitor killed the worker (_oom.py)
                if isinstance(err, (WorkerOutOfMemory, OutOfMemoryError)):
                    return one_line(oom_reason(str(err)), 300)
            if "ActorDied" in name or "ActorError" in name or "WorkerCrashed" in name:
                text = str(exc).strip()
                detail = next((ln.split("Worker exit detail:", 1)[1].strip()
                               for ln in text.splitlines() if "Worker exit detail:" in ln), "")
                first = detail or (text.splitlines()[0] if text else "")
                return one_line(f"worker died: {name}: {first}", 300)
            if cause is not None and not isinstance(cause, str):
                return failure_reason(cause)
            return failure_reason(exc)
        except Exception:  # noqa: BLE001 - fall back on the text file
            pass
    path = getattr(trial, "error_file", None)
    if path:
        try:
            with open(path) as f:
                lines = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            lines = []
        for line in reversed(lines):
            if "Error" in line and not line.startswith("File "):
                return one_line(line, 300)
    return "error in the trial (see Ray's logs)"


class TrialOutcomes(Callback):
    """The Tune callback that stores each trial's epochs and outcome in the study.

    Args:
        session: the sweep's trials (filled by the searcher).
        metric: the objective.
        on_told: called as ``on_told(state_name, value, number, reason)`` after each stored
            outcome.
    """

    def __init__(self, session: StudyTrials, metric: str,
                 on_told: Callable[[str, float | None, int, str | None], None] | None = None
                 ) -> None:
        self.session = session
        self.metric = metric
        self.metrics = [o.metric for o in session.space.objectives] or [metric]
        self.on_told = on_told
        self._curves: dict[str, dict[str, list[float]]] = {}
        self._last_step: dict[str, int] = {}
        self._nodes: dict[str, str] = {}
        self._rss: dict[str, float] = {}  # a trial's worker: peak resident MiB (RSS_KEY)
        self.out_of_memory = 0  # trials stored as out of memory

    @property
    def peak_rss_mb(self) -> float | None:
        """The most resident memory a trial's worker held in this sweep (MiB), if reported."""
        return max(self._rss.values(), default=None)

    # -- Tune callback hooks -------------------------------------------------------------

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial,
                        result: dict[str, Any], **info: Any) -> None:
        self._record(trial.trial_id, result)

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial,
                          **info: Any) -> None:
        from optuna.trial import TrialState

        tid = trial.trial_id
        result = dict(getattr(trial, "last_result", None) or {})
        outcome = result.get(OUTCOME_KEY)
        if not isinstance(outcome, dict):  # Tune ended it before it finished
            if self.session.stop.stop_all():
                return  # the sweep is stopping: ``finish`` stores it as interrupted
            self._store(tid, TrialState.PRUNED, None, {}, None)
            return
        if outcome.get("status") != "complete":
            self._store(tid, TrialState.FAIL, None, {},
                        str(outcome.get("reason") or "the trial failed"))
            return
        attrs = outcome.get("attrs") or {}
        values = []
        for metric in self.metrics:  # every objective (a multi-objective study: several)
            value = _objective_value(metric, result, attrs)
            if value is None:
                self._store(tid, TrialState.FAIL, None, {},
                            f"nan: objective {metric} is {result.get(metric)!r}")
                return
            values.append(value)
        self._store(tid, TrialState.COMPLETE, values[0], attrs, None,
                    values=values if len(values) > 1 else None)

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        from optuna.trial import TrialState

        if self.session.stop.stop_all():
            return  # e.g. Ctrl-C reached the workers too: interrupted, run again
        self._store(trial.trial_id, TrialState.FAIL, None, {}, error_reason(trial))

    # -- storing ---------------------------------------------------------------------------

    def _record(self, tid: str, result: dict[str, Any]) -> None:
        """Keep one epoch: an Optuna intermediate value and the curves."""
        ot_trial = self.session.asked.get(tid)
        if isinstance(result.get(RSS_KEY), (int, float)):
            self._rss[tid] = max(self._rss.get(tid, 0.0), float(result[RSS_KEY]))
        step = int(result.get("training_iteration", 0))
        if ot_trial is None or tid in self.session.told or step <= self._last_step.get(tid, 0):
            return
        self._last_step[tid] = step
        if NODE_KEY in result:
            self._nodes[tid] = str(result[NODE_KEY])
        curves = self._curves.setdefault(tid, {})
        for key in METRICS:
            if isinstance(result.get(key), (int, float)):
                curves.setdefault(key, []).append(float(result[key]))
        value = result.get(self.metric)
        if self.session.space.multi_objective:
            return  # Optuna keeps no intermediate values (and prunes nothing) with several objectives
        if self.session.fault is None and isinstance(value, (int, float)) and math.isfinite(value):
            try:
                ot_trial.report(float(value), step)
            except Exception as err:  # noqa: BLE001 - the storage refused it
                self.session.on_fault(err, f"epoch {step} of trial {ot_trial.number}")

    def _attrs(self, tid: str, attrs: dict[str, Any], reason: str | None) -> dict[str, Any]:
        """The user attributes to store: the worker's (``_trainable.trial_attrs``, already under
        their ``TrialAttrs`` names) as they are, plus what only the driver knows."""
        values: dict[str, Any] = dict(attrs)
        values[TrialAttrs.CURVES] = attrs.get(TrialAttrs.CURVES) or self._curves.get(tid) or {}
        if not attrs:
            values[TrialAttrs.WALL_TIME] = time.time() - self.session.started.get(tid, time.time())
        node = attrs.get(TrialAttrs.NODE) or self._nodes.get(tid)
        if node:
            values[TrialAttrs.NODE] = node
        if tid in self._rss:
            values[TrialAttrs.PEAK_RSS_MB] = self._rss[tid]
        if reason:
            values[TrialAttrs.FAIL_REASON] = one_line(reason, 500)
        return values

    def _store(self, tid: str, state: TrialState, value: float | None, attrs: dict[str, Any],
               reason: str | None, values: list[float] | None = None) -> bool:
        """Tell Optuna the outcome once (``values``: every objective of a multi-objective
        study); False when it was not stored."""
        from optuna.trial import TrialState

        ot_trial = self.session.asked.get(tid)
        if ot_trial is None or tid in self.session.told:
            return False
        self.session.told.add(tid)
        if self.session.fault is not None:  # the database refused an earlier write
            self.session.unstored += 1
            return False
        try:
            for key, val in self._attrs(tid, attrs, reason).items():
                ot_trial.set_user_attr(key, val)
            told = (values or value) if state == TrialState.COMPLETE else None
            self.session.study.tell(ot_trial, told, state=state)
        except Exception as err:  # noqa: BLE001 - disk full, read-only file, server gone
            self.session.unstored += 1
            self.session.on_fault(err, f"the outcome of trial {ot_trial.number}")
            return False
        if reason and reason.startswith("out of memory"):
            self.out_of_memory += 1
        if self.on_told is not None:
            self.on_told(state.name, value, ot_trial.number, reason)
        return True

    def finish(self) -> int:
        """After Tune stopped: the trials it never finished are stored as FAIL
        ``interrupted: ...`` and queued again with the same parameters (grid sweeps rerun
        failed cells by themselves). Returns how many were stored so."""
        from optuna.trial import TrialState

        stop = self.session.stop
        why = signal.Signals(stop.signum).name if stop.signum else (stop.reason or "the sweep ended")
        reason = f"{INTERRUPTED} the sweep stopped ({why}) while it ran; run again on resume"
        stored = 0
        for tid, ot_trial in self.session.open_trials():
            if not self._store(tid, TrialState.FAIL, None, {}, reason):
                continue
            stored += 1
            params = dict(ot_trial.params)
            if params and self.session.space.sampler != "grid":
                try:
                    self.session.study.enqueue_trial(
                        params, user_attrs={TrialAttrs.ORIGIN: "retry",
                                            TrialAttrs.RETRY_OF: ot_trial.number})
                except Exception as err:  # noqa: BLE001
                    self.session.on_fault(err, f"the retry of trial {ot_trial.number}")
        return stored
