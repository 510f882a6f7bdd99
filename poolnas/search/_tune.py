"""The Ray Tune half of a sweep, in the driver: the live view, the tuner (the searcher, the
outcome callback, ASHA or FIFO, the trial slots) and its run, for ``sweep.run_sweep``.

Only ``run_sweep`` imports this module, once the study is prepared: it imports Ray, which must
come after ``_ray.local_ray_on_loopback`` (Ray reads its local-only switch at import), and
``poolnas studies`` and the other commands that import ``poolnas.search`` never load it.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

import optuna
import ray
from ray import tune
from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler
from ray.tune.search import ConcurrencyLimiter

from poolnas.errors import ConfigError, StorageFault, SweepInterrupted
from poolnas.records import check_study_name
from poolnas.search._live import LiveView
from poolnas.search._oom import oom_as_dead_worker
from poolnas.search._outcome import StudyTrials, TrialOutcomes, fault_cause
from poolnas.search._race import Race
from poolnas.search._ray import RayStart
from poolnas.search._sampling import trial_resources
from poolnas.search._searcher import StudySearcher
from poolnas.search._signals import stop_on_signals
from poolnas.search._tempdirs import make_private_dir
from poolnas.search._trainable import run_trial
from poolnas.spaces import Space
from poolnas.studies.reader import state_counts

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

__all__ = ["experiment_name", "live_view", "run_tune", "scheduler", "trial_slots"]

TrialFn = Callable[..., dict[str, Any]]


def live_view(space: Space, name: str, *, target: int, counts: dict[str, int],
              best: dict[str, Any] | None, best_of: Callable[[], dict[str, Any] | None],
              quiet: bool, stream: TextIO | None) -> LiveView:
    """The sweep's status line (``_live.LiveView``), started from the study's counts and best."""
    return LiveView(study=name, metric=space.objective.metric, mode=space.objective.mode,
                    target=target, counts=counts,
                    best=(best["mean"], best["number"], best.get("n", 1)) if best else None,
                    stream=stream or sys.stderr, enabled=not quiet, epochs=space.max_epochs(),
                    best_of=best_of)


def trial_slots(space: Space, max_concurrent: int | None) -> int:
    """Trials at once: --max-concurrent, else as many as the cluster's CPUs/GPUs hold.
    Raises ConfigError when one trial needs more than the cluster has (it would wait forever)."""
    res = trial_resources(space)
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


def scheduler(space: Space) -> TrialScheduler:
    """ASHA or FIFO (Tune's own). A trial ASHA stops ends without an outcome: PRUNED
    (``_outcome.TrialOutcomes``)."""
    sch = space.scheduler
    if sch.type != "asha":
        return FIFOScheduler()
    max_t = space.asha_max_t()
    return ASHAScheduler(metric=space.objective.metric, mode=space.objective.mode, max_t=max_t,
                         grace_period=min(sch.grace_period, max_t),
                         reduction_factor=sch.reduction_factor)


def _tuner(space: Space, session: StudyTrials, live: LiveView, outcomes: TrialOutcomes, workdir: str,
           name: str, num_samples: int, slots: int, trial_fn: TrialFn | None,
           race: Race | None = None) -> tune.Tuner:
    trainable = tune.with_resources(tune.with_parameters(run_trial, trial_fn=trial_fn),
                                    trial_resources(space))
    return tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(StudySearcher(session, race=race),
                                          max_concurrent=min(slots, num_samples)),
            scheduler=scheduler(space),
            num_samples=num_samples,
            reuse_actors=True,
            trial_name_creator=lambda t: f"trial_{t.trial_id}",
            trial_dirname_creator=lambda t: f"trial_{t.trial_id}",
        ),
        run_config=tune.RunConfig(
            name=experiment_name(workdir, name), storage_path=workdir, verbose=0, callbacks=[outcomes, live],
            stop=session.stop,
            failure_config=tune.FailureConfig(max_failures=0, fail_fast=False),
            checkpoint_config=tune.CheckpointConfig(checkpoint_at_end=False),
        ),
    )


def experiment_name(workdir: str, name: str) -> str:
    """Ray Tune's experiment folder, ``workdir/<study>``: the name follows the one rule for study
    names, and the folder it makes is checked to stay inside ``workdir``."""
    check_study_name(name)
    folder = os.path.realpath(os.path.join(workdir, name))
    if os.path.dirname(folder) != os.path.realpath(workdir):
        raise ConfigError("study", name, f"expected a folder name inside {workdir}")
    return name


def run_tune(space: Space, db: BaseStorage, name: str, sampler: BaseSampler, num_samples: int,
             live: LiveView, *, ray_start: RayStart, max_concurrent: int | None,
             trial_fn: TrialFn | None,
             configs: int = 0) -> tuple[float, float, float, tuple[float | None, int], float]:
    """Run Tune (``configs``: configurations the sweep samples in all, for racing) on the Ray
    that ``ray_start`` is starting or joining (``ray_start.close()`` shuts it down). Returns
    (seconds ``ray.init`` took, seconds Tune ran, perf_counter when it began, (the most resident
    MiB a trial's worker held, trials out of memory), seconds waited here for Ray). Raises
    SweepInterrupted (SIGINT/SIGTERM; open trials stored as interrupted) or StorageFault (the
    database refused a write; the sweep stopped)."""
    _, ray_start_s, ray_wait_s = ray_start.result()
    # Ray Tune's own results: $POOLNAS_RESULTS_DIR when set (kept; a shared volume on a
    # cluster), else a private temporary folder removed afterwards (the database is the record).
    results_dir = os.environ.get("POOLNAS_RESULTS_DIR")
    workdir = os.path.abspath(os.path.expanduser(results_dir)) if results_dir else make_private_dir()
    session = StudyTrials(optuna.load_study(study_name=name, storage=db, sampler=sampler), space)
    try:
        outcomes = TrialOutcomes(session, space.objective.metric, on_told=live.told)
        race = None
        if space.racing:
            race = Race(space, configs, sampler)
            live.race = race
        tuner = _tuner(space, session, live, outcomes, workdir, name, num_samples,
                       trial_slots(space, max_concurrent), trial_fn, race)
        start = time.perf_counter()
        with stop_on_signals(session.stop), oom_as_dead_worker():  # an OOM kill: one trial's FAIL
            tuner.fit()
        tune_s = time.perf_counter() - start
        interrupted = outcomes.finish()  # trials Tune never finished: run again on resume
    finally:
        session.close()
        if not results_dir:
            shutil.rmtree(workdir, ignore_errors=True)
    _raise_if_stopped(session, interrupted, name, db)
    return ray_start_s, tune_s, start, (outcomes.peak_rss_mb, outcomes.out_of_memory), ray_wait_s


def _raise_if_stopped(session: StudyTrials, interrupted: int, name: str, db: BaseStorage) -> None:
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
