"""``run_sweep``: a search space as a Ray Tune sweep whose study lives in an Optuna database.

Ray Tune runs the trials (local Ray by default, a cluster by address), a searcher on Tune's
public ``Searcher`` interface (``_searcher``) asks Optuna for each trial's parameters on the
study in the database, one Tune callback (``_outcome``) stores each trial's outcome, ASHA or
FIFO decides when to stop, and a concurrency limit keeps the sampler informed. SIGINT/SIGTERM
stop it cleanly (``_signals``); a storage fault stops it with one line. The trial function is injectable
(``trial_fn``) so the orchestration can be
tested with trials of a known length and outcome (``poolnas.testing.fake_trials``).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from poolnas.errors import ConfigError, StorageFault, SweepInterrupted
from poolnas.process_settings import optuna_verbosity
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, check_study_name
from poolnas.search._lease import hold_lease
from poolnas.search._prepare import discard_if_empty, prepare_study
from poolnas.search._ray import quiet_ray_logs
from poolnas.search._space import SpaceView
from poolnas.storage import open_storage, redact_url, resolve_storage_url
from poolnas.studies.reader import state_counts

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
    ray_start_s: float = 0.0
    tune_s: float = 0.0
    metric: str = "test_acc"
    mode: str = "max"
    tune_started: float = 0.0  # perf_counter when Tune's fit began (timings)
    peak_rss_mb: float | None = None  # the most resident memory a trial's worker held (MiB)
    out_of_memory: int = 0  # trials of this run stored FAIL "out of memory: ..."
    interrupted: int = 0  # of the FAIL trials: stopped by the sweep (fail_reason "interrupted: ..."), retried
    events: list[tuple[float, str, str]] = field(default_factory=list, repr=False)


def interrupted_count(trials: list[Any]) -> int:
    """FAIL trials that the sweep stopped while they ran (``fail_reason`` "interrupted: ..."):
    not failures of their own; the sweep runs them again."""
    return sum(1 for t in trials if t.state.name == "FAIL"
               and str(t.user_attrs.get(TrialAttrs.FAIL_REASON) or "").startswith(INTERRUPTED))


def best_trial(study: Any) -> dict[str, Any] | None:
    """The best configuration of a study (best mean over its finished seeds, as everywhere:
    :mod:`poolnas.evidence`) as a plain dict with its best run, or None. Keys: number and value
    (the best run), params, config, mean, std (None for one seed), n, trials, notes (chance
    accuracy, identical losses, test data)."""
    from poolnas.evidence import study_evidence
    from poolnas.records import study_objectives

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


def _load_space(space: Any) -> Any:
    if isinstance(space, (str, Path)):
        from poolnas.spaces import load_space

        return load_space(space)
    return space


def _slots(view: SpaceView, max_concurrent: int | None) -> int:
    """Trials at once: --max-concurrent, else as many as the cluster's CPUs/GPUs hold.
    Raises ConfigError when one trial needs more than the cluster has (it would wait forever)."""
    import ray

    res = view.resources
    have = ray.cluster_resources()
    cpus, gpus = float(have.get("CPU", 0)), float(have.get("GPU", 0))
    if res["gpu"] > 0 and gpus < res["gpu"]:
        raise ConfigError("resources.gpu", res["gpu"],
                          f"the Ray cluster has {gpus:g} GPUs; use 0 or a cluster with GPUs")
    if res["cpu"] > cpus:
        raise ConfigError("resources.cpu", res["cpu"], f"the Ray cluster has {cpus:g} CPUs")
    fit = int(cpus // res["cpu"]) if res["cpu"] > 0 else 1
    if res["gpu"] > 0:
        fit = min(fit, int(gpus // res["gpu"]))
    return max(1, max_concurrent or fit)


def _scheduler(view: SpaceView) -> Any:
    """ASHA or FIFO (Tune's own). A trial ASHA stops ends without an outcome: PRUNED
    (``_outcome.TrialOutcomes``)."""
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    sch = view.scheduler
    if sch.type != "asha":
        return FIFOScheduler()
    max_t = view.asha_max_t
    return ASHAScheduler(metric=view.metric, mode=view.mode, max_t=max_t,
                         grace_period=min(sch.grace_period, max_t),
                         reduction_factor=sch.reduction_factor)


def run_sweep(
    space: Any,
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
    view = SpaceView(_load_space(space))
    if trial_fn is None:  # the real trainer: its data must be there before anything starts
        from poolnas.search._data import check_space_data

        check_space_data(view.space)
    url = resolve_storage_url(storage)
    address = ray_address or os.environ.get("RAY_ADDRESS") or None
    if address:  # fail before anything is written
        from poolnas.search._ray import check_reachable

        check_reachable(address)
    else:
        from poolnas.search._ray import local_ray_on_loopback

        local_ray_on_loopback()  # before anything imports ray
    name = check_study_name(study if study is not None else view.study)  # before any write
    db = open_storage(url, existing=resume)  # --resume: an Optuna database already, or nothing written
    if resume and name not in {s.study_name for s in db.get_all_studies()}:  # before the lease
        raise ConfigError("study", name, f"no such study in {redact_url(url)}; run without --resume "
                          "to start it")
    sampler = view.create_sampler()
    lease = hold_lease(db, name)  # one driver per study (_lease.py); a live one: exit 2
    with ExitStack() as held:  # process state (Optuna's log level): this sweep's only
        held.callback(lease.release)
        held.enter_context(optuna_verbosity(logging.WARNING))  # the live view says what happens
        plan = prepare_study(db, url, view, study_name=name, trials=trials, resume=resume,
                             sampler=sampler)
        prior_best = best_trial(plan.study)
        live = _make_live(view, name, plan, prior_best, quiet, stream)
        ray_start_s = tune_s = tune_started = 0.0
        memory: tuple[float | None, int] = (None, 0)
        if plan.remaining > 0:
            try:
                held.enter_context(quiet_ray_logs())  # restored when the sweep returns
                ray_start_s, tune_s, tune_started, memory = _tune(
                    view, db, name, sampler, plan.remaining, live, ray_address=ray_address,
                    max_concurrent=max_concurrent, trial_fn=trial_fn, num_cpus=num_cpus,
                    configs=plan.configs)
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
                       best=best_trial(plan.study), ray_start_s=ray_start_s, tune_s=tune_s,
                       metric=view.metric, mode=view.mode,
                       tune_started=tune_started, events=list(live.events),
                       peak_rss_mb=memory[0], out_of_memory=memory[1], interrupted=interrupted_count(final))


def _started(final: list[Any], before: dict[str, int]) -> int:
    """Trials this run started: those that left WAITING since the counts ``before`` it."""
    now = sum(1 for t in final if t.state.name != "WAITING")
    return max(0, now - (sum(before.values()) - before.get("WAITING", 0)))


def _make_live(view: SpaceView, name: str, plan: Any, best: dict | None, quiet: bool,
               stream: TextIO | None) -> Any:
    from poolnas.search._live import LiveView

    return LiveView(study=name, metric=view.metric, mode=view.mode, target=plan.runs_target,
                    counts={**plan.counts,
                            "INTERRUPTED": interrupted_count(plan.study.get_trials(deepcopy=False))},
                    best=(best["mean"], best["number"], best.get("n", 1)) if best else None,
                    stream=stream or sys.stderr, enabled=not quiet, epochs=view.max_epochs,
                    best_of=lambda: best_trial(plan.study))


def _tuner(view: SpaceView, session: Any, live: Any, outcomes: Any, workdir: str, name: str,
           num_samples: int, slots: int, trial_fn: Callable[..., dict[str, Any]] | None,
           race: Any = None) -> Any:
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from poolnas.search._searcher import StudySearcher
    from poolnas.search._trainable import run_trial

    trainable = tune.with_resources(tune.with_parameters(run_trial, trial_fn=trial_fn),
                                    view.resources)
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(StudySearcher(session, race=race),
                                          max_concurrent=min(slots, num_samples)),
            scheduler=_scheduler(view),
            num_samples=num_samples,
            reuse_actors=True,
            trial_name_creator=lambda t: f"trial_{t.trial_id}",
            trial_dirname_creator=lambda t: f"trial_{t.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=_experiment_name(workdir, name), storage_path=workdir, verbose=0, callbacks=[outcomes, live],
            stop=session.stop,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
        ),
    )


def _experiment_name(workdir: str, name: str) -> str:
    """Ray Tune's experiment folder, ``workdir/<study>``: the name follows the one rule for study
    names, and the folder it makes is checked to stay inside ``workdir``."""
    check_study_name(name)
    folder = os.path.realpath(os.path.join(workdir, name))
    if os.path.dirname(folder) != os.path.realpath(workdir):
        raise ConfigError("study", name, f"expected a folder name inside {workdir}")
    return name


def _tune(view: SpaceView, db: Any, name: str, sampler: Any, num_samples: int, live: Any, *,
          ray_address: str | None, max_concurrent: int | None,
          trial_fn: Callable[..., dict[str, Any]] | None, num_cpus: int | None,
          configs: int = 0) -> tuple[float, float, float, tuple[float | None, int]]:
    """Run Tune (``configs``: configurations the sweep samples in all, for racing). Raises SweepInterrupted
    (SIGINT/SIGTERM; open trials stored as interrupted)
    or StorageFault (the database refused a write; the sweep stopped)."""
    import optuna
    import ray

    from poolnas.search._oom import oom_as_dead_worker
    from poolnas.search._outcome import StudyTrials, TrialOutcomes
    from poolnas.search._ray import connect_ray
    from poolnas.search._signals import stop_on_signals
    from poolnas.search._tempdirs import make_private_dir

    started, ray_start_s = connect_ray(ray_address, num_cpus=num_cpus)
    # Ray Tune's own results: $POOLNAS_RESULTS_DIR when set (kept; a shared volume on a
    # cluster), else a private temporary folder removed afterwards (the database is the record).
    results_dir = os.environ.get("POOLNAS_RESULTS_DIR")
    workdir = os.path.abspath(os.path.expanduser(results_dir)) if results_dir else make_private_dir()
    session = StudyTrials(optuna.load_study(study_name=name, storage=db, sampler=sampler), view)
    try:
        outcomes = TrialOutcomes(session, view.metric, on_told=live.told)
        race = None
        if view.racing:
            from poolnas.search._race import Race

            race = Race(view, configs, sampler)
            live.race = race
        tuner = _tuner(view, session, live, outcomes, workdir, name, num_samples,
                       _slots(view, max_concurrent), trial_fn, race)
        start = time.perf_counter()
        with stop_on_signals(session.stop), oom_as_dead_worker():  # an OOM kill: one trial's FAIL
            tuner.fit()
        tune_s = time.perf_counter() - start
        interrupted = outcomes.finish()  # trials Tune never finished: run again on resume
    finally:
        session.close()
        if not results_dir:
            shutil.rmtree(workdir, ignore_errors=True)
        if started:
            ray.shutdown()
    _raise_if_stopped(session, interrupted, name, db)
    return ray_start_s, tune_s, start, (outcomes.peak_rss_mb, outcomes.out_of_memory)


def _raise_if_stopped(session: Any, interrupted: int, name: str, db: Any) -> None:
    from poolnas.search._outcome import fault_cause

    if session.fault is not None:
        try:
            held = state_counts(db.get_all_trials(db.get_study_id_from_name(name), deepcopy=False))
            holds = ", ".join(f"{n} {state}" for state, n in sorted(held.items())) or "no trials"
        except Exception:  # noqa: BLE001 - the database cannot even be read
            holds = "nothing readable"
        raise StorageFault(
            f"storage error: {fault_cause(session.fault)}; the sweep stopped. Study {name} "
            f"holds {holds}; {session.unstored} outcomes of this run were not stored (their "
            "trials run again on resume)")
    if session.stop.signum is not None:
        raise SweepInterrupted(name, interrupted, session.stop.signum)
