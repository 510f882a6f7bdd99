"""``run_sweep``: a search space as a Ray Tune sweep whose study lives in an Optuna database.

Here: the space, the storage, the study's lease and set-up (``_lease``, ``_prepare``), the
summary. ``_tune`` runs Ray Tune: the trials (local Ray by default, a cluster by address), a
searcher on Tune's public ``Searcher`` interface (``_searcher``) that asks Optuna for each
trial's parameters on the study in the database, one Tune callback (``_outcome``) that stores
each trial's outcome, ASHA or FIFO deciding when to stop, and a concurrency limit that keeps the
sampler informed. SIGINT/SIGTERM stop it cleanly (``_signals``); a storage fault stops it with
one line. The trial function is injectable (``trial_fn``) so the orchestration can be tested
with trials of a known length and outcome (``poolnas.testing.fake_trials``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from poolnas.errors import ConfigError
from poolnas.evidence import study_evidence
from poolnas.process_settings import optuna_verbosity
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, check_study_name, study_objectives
from poolnas.search._data import check_space_data
from poolnas.search._lease import hold_lease
from poolnas.search._prepare import discard_if_empty, prepare_study
from poolnas.search._ray import RayStart, check_reachable, local_ray_on_loopback, quiet_ray_logs
from poolnas.spaces import Space, load_space
from poolnas.storage import open_storage, redact_url, resolve_storage_url
from poolnas.studies.reader import state_counts

if TYPE_CHECKING:
    import optuna

__all__ = ["SweepResult", "best_trial", "run_sweep"]


@dataclass
class SweepResult:
    """What a sweep did and where its study stands (all counts from the database)."""

    study: str
    storage: str  # redacted URL
    counts: dict[str, int]  # trials per state in the study, after this run
    ran: int  # trials started by this run
    recovered: int  # trials found RUNNING (a dead driver) and marked FAIL, run again
    target: int  # trials the study should have (configurations x seeds)
    best: dict[str, Any] | None = None  # {number, value, params, config}
    ray_start_s: float = 0.0  # ray.init, in the background while the study was set up
    ray_wait_s: float = 0.0  # of it, what the driver waited for once its set-up was done
    tune_s: float = 0.0
    metric: str = "test_acc"
    mode: str = "max"
    tune_started: float = 0.0  # perf_counter when Tune's fit began (timings)
    peak_rss_mb: float | None = None  # the most resident memory a trial's worker held (MiB)
    out_of_memory: int = 0  # trials of this run stored FAIL "out of memory: ..."
    interrupted: int = 0  # of the FAIL trials: stopped by the sweep (fail_reason "interrupted: ..."), retried
    events: list[tuple[float, str, str]] = field(default_factory=list, repr=False)


def interrupted_count(trials: list[optuna.trial.FrozenTrial]) -> int:
    """FAIL trials that the sweep stopped while they ran (``fail_reason`` "interrupted: ..."):
    not failures of their own; the sweep runs them again."""
    return sum(1 for t in trials if t.state.name == "FAIL"
               and str(t.user_attrs.get(TrialAttrs.FAIL_REASON) or "").startswith(INTERRUPTED))


def best_trial(study: optuna.Study) -> dict[str, Any] | None:
    """The best configuration of a study (best mean over its finished seeds, as everywhere:
    :mod:`poolnas.evidence`) as a plain dict with its best run, or None. Keys: number and value
    (the best run), params, config, mean, std (None for one seed), n, trials, notes (chance
    accuracy, identical losses, test data)."""
    # a multi-objective study: the best is the first objective's (as in every reader)
    objectives = study_objectives(study.user_attrs.get(StudyAttrs.OBJECTIVE), study.directions)
    metric, mode = objectives[0]
    maximize = mode == "max"
    trials = study.get_trials(deepcopy=False)
    ev = study_evidence(trials, metric, mode, objectives=objectives)
    if ev.best is None:
        return None
    best = ev.best
    number = best.trials[best.best_run(maximize)]  # its best run (grouped once, above)
    t = next(tr for tr in trials if tr.number == number)
    return {"number": t.number, "value": t.values[0], "params": dict(t.params),
            "config": t.user_attrs.get(TrialAttrs.CONFIG), "mean": best.mean, "std": best.std,
            "n": best.n, "trials": list(best.trials), "notes": ev.notes}


def _load_space(space: Space | str | Path) -> Space:
    if isinstance(space, (str, Path)):
        return load_space(space)
    return space


def run_sweep(
    space: Space | str | Path,
    *,
    storage: str | None = None,
    study: str | None = None,
    trials: int | None = None,
    resume: bool = False,
    ray_address: str | None = None,
    max_concurrent: int | None = None,
    trial_fn: Callable[..., dict[str, Any]] | None = None,
    num_cpus: int | None = None,
    quiet: bool = False,
    stream: TextIO | None = None,
) -> SweepResult:
    """Run (or continue) a sweep and return its summary.

    Args:
        space: a ``poolnas.spaces.Space``, a space file or a preset name.
        storage: SQLAlchemy URL (default: $POOLNAS_STORAGE, else sqlite:///poolnas.db).
        study: study name (default: the space's ``study``).
        trials: configurations to run in all (default: the space's ``trials``; grid: all).
        resume: require the study to exist already (the same call without it continues
            an existing study with the same space, too).
        ray_address: an existing Ray cluster (default: $RAY_ADDRESS, else a local Ray).
        max_concurrent: trials at once (default: as many as the resources allow).
        trial_fn: runs one trial config, ``trial_fn(config, on_epoch=...) -> dict`` like
            ``poolnas.trainers.train`` (the default).
        num_cpus: CPUs of a local Ray (default: all).
        quiet: no live view.
        stream: where the live view goes (default: stderr).

    Raises:
        ConfigError: bad space, storage URL, or a study that exists with another space.
        ConnectionError: the database or the Ray cluster cannot be reached.
    """
    space = _load_space(space)
    if trial_fn is None:  # the real trainer: its data must be there before anything starts
        check_space_data(space)
    url = resolve_storage_url(storage)
    address = ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:  # fail before anything is written
        check_reachable(address)
    else:
        local_ray_on_loopback()  # before anything imports ray
    name = check_study_name(study if study is not None else space.study)  # before any write
    db = open_storage(url, existing=resume)  # --resume: an Optuna database already, or nothing written
    if resume and name not in {s.study_name for s in db.get_all_studies()}:  # before the lease
        raise ConfigError("study", name, f"no such study in {redact_url(url)}; run without --resume "
                          "to start it")
    # Here, not at the top: the sampler module imports optuna, and a trial worker imports this
    # package (for _trainable) without optuna (tests/search/test_lean_worker.py).
    from poolnas.spaces import create_sampler

    sampler = create_sampler(space)
    lease = hold_lease(db, name)  # one driver per study (_lease.py); a live one: exit 2
    with ExitStack() as held:  # process state (Optuna's log level, Ray's loggers): this sweep's only
        held.callback(lease.release)
        held.enter_context(optuna_verbosity(logging.WARNING))  # the live view says what happens
        # Ray's loggers and Tune's variables (restored when the sweep returns), set before Ray
        # starts: the main thread writes no variable while Ray starts beside it.
        held.enter_context(quiet_ray_logs())
        # Ray starts in the background while the study is set up (issue 20 item 3: most of
        # ray.init is waiting for Ray's processes); run_tune waits for it. A set-up that fails
        # from here (a study that exists with another space) waits for that start to end and
        # shuts Ray down; the storage, the study name and the lease are checked before it.
        ray_start = RayStart(ray_address, num_cpus=num_cpus)
        held.callback(ray_start.close)
        plan = prepare_study(db, url, space, study_name=name, trials=trials, resume=resume,
                             sampler=sampler)
        # Ray Tune's half of the sweep (_tune.py imports Ray): here, after local_ray_on_loopback
        # (Ray reads its local-only switch at import); `poolnas studies` never loads it.
        from poolnas.search import _tune

        live = _tune.live_view(
            space, name, target=plan.runs_target, best=best_trial(plan.study), quiet=quiet,
            stream=stream, best_of=lambda: best_trial(plan.study),
            counts={**plan.counts, "INTERRUPTED": interrupted_count(plan.study.get_trials(deepcopy=False))})
        ray_start_s = tune_s = tune_started = ray_wait_s = 0.0
        memory: tuple[float | None, int] = (None, 0)
        if plan.remaining > 0:
            try:
                ray_start_s, tune_s, tune_started, memory, ray_wait_s = _tune.run_tune(
                    space, db, name, sampler, plan.remaining, live, ray_start=ray_start,
                    max_concurrent=max_concurrent, trial_fn=trial_fn, configs=plan.configs)
            except BaseException:
                if lease.lost.is_set():  # taken over: not UpdateFinishedTrialError, nor Ctrl-C
                    raise lease.lost_error() from None
                discard_if_empty(db, plan)  # a failed start leaves no empty study behind
                raise
        live.close()
        final = plan.study.get_trials(deepcopy=False)
    return SweepResult(study=name, storage=redact_url(url), counts=state_counts(final),
                       ran=_started(final, plan.counts),
                       recovered=plan.recovered, target=plan.runs_target,
                       best=best_trial(plan.study), ray_start_s=ray_start_s, ray_wait_s=ray_wait_s,
                       tune_s=tune_s,
                       metric=space.objective.metric, mode=space.objective.mode,
                       tune_started=tune_started, events=list(live.events),
                       peak_rss_mb=memory[0], out_of_memory=memory[1], interrupted=interrupted_count(final))


def _started(final: list[optuna.trial.FrozenTrial], before: dict[str, int]) -> int:
    """Trials this run started: those that left WAITING since the counts ``before`` it."""
    now = sum(1 for t in final if t.state.name != "WAITING")
    return max(0, now - (sum(before.values()) - before.get("WAITING", 0)))
