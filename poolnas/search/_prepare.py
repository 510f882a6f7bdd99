"""Study set-up in the database before a sweep starts: create or continue, check the space,
recover trials a killed driver left RUNNING, and count what is left (docs/search.md, "Resume").

The database is the truth. A trial counts as run when it is COMPLETE, PRUNED, or FAIL for a
reason of its own; a trial that a dead driver left RUNNING is marked FAIL with an
``interrupted:`` reason and enqueued again with the same parameters (seed included).
Grid sweeps leave the choice of cells to ``poolnas.spaces.GridPointSampler`` (every grid point x
seed once; a cell whose trial failed in an earlier run is run again).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from poolnas._version import __version__
from poolnas.errors import ConfigError
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, enqueued_params
from poolnas.spaces import Space
from poolnas.storage import redact_url
from poolnas.studies.reader import state_counts

if TYPE_CHECKING:
    import optuna
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage

__all__ = ["StudyPlan", "discard_if_empty", "params_key", "prepare_study"]

log = logging.getLogger(__name__)

Retries = list[tuple[dict[str, Any], int]]  # (params, number) of interrupted trials to run again

# Keys of a space file that may change between runs of one study (budget, machine sizing).
_MUTABLE_KEYS = ("study", "trials", "resources")


@dataclass
class StudyPlan:
    """What the sweep has to do, as found in (and prepared in) the database."""

    study: optuna.Study
    created: bool
    runs_target: int  # trials (configurations x seeds) the study should end with
    remaining: int  # trials to run now (Tune's num_samples)
    recovered: int  # trials found RUNNING and marked FAIL (interrupted)
    enqueued: int  # trials added to the queue now (grid points, retries)
    counts: dict[str, int] = field(default_factory=dict)  # states before this run
    configs: int = 0  # configurations the study samples in all (racing ends on them)


def params_key(params: dict[str, Any]) -> str:
    """Canonical text of a trial's parameters, to match grid points with stored trials."""
    return json.dumps({k: params[k] for k in sorted(params)}, sort_keys=True, default=str)


def _is_run(trial: optuna.trial.FrozenTrial) -> bool:
    from optuna.trial import TrialState

    if trial.state in (TrialState.COMPLETE, TrialState.PRUNED):
        return True
    if trial.state == TrialState.FAIL:
        reason = str(trial.user_attrs.get(TrialAttrs.FAIL_REASON, ""))
        return not reason.startswith(INTERRUPTED)
    return False


def _trial_params(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    # WAITING trials keep their parameters as enqueued fixed params.
    return enqueued_params(trial) or dict(trial.params)


def prepare_study(storage: BaseStorage, url: str, space: Space, *, study_name: str,
                  trials: int | None, resume: bool, sampler: BaseSampler) -> StudyPlan:
    """Create or load the study and queue what is left to run, in four steps: how many
    configurations to run, the study (opened and checked, or created), the trials a killed
    driver left RUNNING (failed as interrupted), and what remains (retries queued). Raises
    ConfigError (exit 2) for a study that exists with another space, or ``--resume`` of a study
    that does not exist; nothing is written then."""
    exists = study_name in {s.study_name for s in storage.get_all_studies()}
    if resume and not exists:
        raise ConfigError("study", study_name,
                          f"no such study in {redact_url(url)}; run without --resume to start it")
    configs = _configs_to_run(space, trials)
    study = _open_study(storage, url, space, study_name, sampler, exists)
    all_trials = study.get_trials(deepcopy=False)
    counts = state_counts(all_trials)
    recovered, retries = _fail_interrupted(storage, study_name, all_trials)
    runs_target = configs * len(space.seeds())
    remaining, enqueued = _remaining(study, space, sampler, trials, runs_target, retries)
    return StudyPlan(study=study, created=not exists, runs_target=runs_target, remaining=remaining,
                     recovered=recovered, enqueued=enqueued, counts=counts, configs=configs)


def _configs_to_run(space: Space, trials: int | None) -> int:
    """``--trials``, else the space file's ``trials``, else every configuration of a finite space."""
    configs = trials if trials is not None else space.trials
    if configs is not None:
        return configs
    if not (space.sampler == "grid" or space.is_finite()):
        raise ConfigError("trials", None, f"expected a number of trials for sampler "
                                          f"{space.sampler!r} (in the space file or --trials N)")
    return space.num_configs()


def _directions(space: Space) -> list[str]:
    """Optuna's study directions, one per objective."""
    return ["maximize" if o.mode == "max" else "minimize" for o in space.objectives]


def _open_study(storage: BaseStorage, url: str, space: Space, study_name: str, sampler: BaseSampler,
                exists: bool) -> optuna.Study:
    """The study: loaded and checked against the space (same space, same directions), or
    created with the space, the version and the objective(s) as study attributes."""
    import optuna

    if exists:
        study = optuna.load_study(study_name=study_name, storage=storage, sampler=sampler)
        stored = study.user_attrs.get(StudyAttrs.SPACE)
        if stored is not None and _comparable(stored) != _comparable(space.document):
            raise ConfigError("study", study_name,
                              f"it exists in {redact_url(url)} with another space; "
                              "use another --study name or the same space file")
        have = [d.name.lower() for d in study.directions]
        if have != _directions(space):
            raise ConfigError("objective", [o.metric for o in space.objectives],
                              f"study {study_name!r} exists with directions {have}")
        return study
    study = optuna.create_study(study_name=study_name, storage=storage, sampler=sampler,
                                directions=_directions(space))
    study.set_user_attr(StudyAttrs.SPACE, space.document)
    study.set_user_attr(StudyAttrs.VERSION, __version__)
    objectives = [{"metric": o.metric, "mode": o.mode} for o in space.objectives]
    # one objective: the {metric, mode} mapping older studies have; several: the list
    study.set_user_attr(StudyAttrs.OBJECTIVE, objectives if space.multi_objective else objectives[0])
    return study


def _fail_interrupted(storage: BaseStorage, study_name: str,
                      all_trials: list[optuna.trial.FrozenTrial]) -> tuple[int, Retries]:
    """Trials a killed driver left RUNNING, stored as FAIL ``interrupted:``; how many, and the
    (params, number) of those to run again."""
    from optuna.trial import TrialState

    recovered = 0
    retries: Retries = []
    study_id = storage.get_study_id_from_name(study_name)
    for t in all_trials:
        if t.state != TrialState.RUNNING:
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, t.number)
        storage.set_trial_user_attr(trial_id, TrialAttrs.FAIL_REASON,
                                    f"{INTERRUPTED} the sweep stopped while it ran; tried again")
        storage.set_trial_state_values(trial_id, TrialState.FAIL)
        recovered += 1
        if t.params:
            retries.append((dict(t.params), t.number))
    return recovered, retries


def _remaining(study: optuna.Study, space: Space, sampler: BaseSampler, trials: int | None, runs_target: int,
               retries: Retries) -> tuple[int, int]:
    """Runs left to start, and how many interrupted trials were queued again."""
    from optuna.trial import TrialState

    enqueued = 0
    trials_now = study.get_trials(deepcopy=False)
    if space.racing:
        # Racing: configurations x max seeds at most; the searcher ends the sweep once no
        # configuration is within noise of the best with seeds to go (poolnas.evidence.racing).
        remaining = max(0, runs_target - sum(1 for t in trials_now if _is_run(t)))
        if space.sampler != "grid":
            enqueued = _enqueue_retries(study, trials_now, retries)
    elif space.sampler == "grid":
        # The grid sampler walks every grid point x seed once; it reruns a cell whose trial
        # FAILED in an earlier run (interrupted ones included) and skips finished cells.
        remaining = int(sampler.remaining(study))  # GridPointSampler
        if trials is not None:
            finished = sum(1 for t in trials_now if t.state in (TrialState.COMPLETE, TrialState.PRUNED))
            remaining = min(remaining, max(0, runs_target - finished))
    else:
        enqueued = _enqueue_retries(study, trials_now, retries)
        remaining = max(0, runs_target - sum(1 for t in trials_now if _is_run(t)))
    return remaining, enqueued


def _enqueue_retries(study: optuna.Study, trials_now: list[optuna.trial.FrozenTrial],
                     retries: Retries) -> int:
    """Queue interrupted trials again with the same parameters (seed included)."""
    from optuna.trial import TrialState

    waiting = {params_key(_trial_params(t)) for t in trials_now if t.state == TrialState.WAITING}
    enqueued = 0
    for params, number in retries:
        if params_key(params) in waiting:
            continue
        study.enqueue_trial(params, user_attrs={TrialAttrs.ORIGIN: "retry", TrialAttrs.RETRY_OF: number})
        enqueued += 1
    return enqueued


def discard_if_empty(storage: BaseStorage, plan: StudyPlan) -> bool:
    """Delete the study ``prepare_study`` created for a sweep that failed to start (e.g. its
    resources exceed the cluster's) while it has no trial yet; True when deleted. Never raises:
    the error that stopped the start is the one to report."""
    import optuna

    if not plan.created:
        return False
    try:
        if plan.study.get_trials(deepcopy=False):
            return False
        optuna.delete_study(study_name=plan.study.study_name, storage=storage)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not remove the empty study %s: %s", plan.study.study_name,
                    type(exc).__name__)
        return False
    return True


def _comparable(doc: Any) -> str:
    if isinstance(doc, dict):
        doc = {k: v for k, v in doc.items() if k not in _MUTABLE_KEYS}
    return json.dumps(doc, sort_keys=True, default=str)
