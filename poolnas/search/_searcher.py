"""Ray's OptunaSearch on the study's database, with the trial states poolnas needs.

Ray's OptunaSearch tells Optuna COMPLETE for a trial that ASHA stopped (with a partial
metric) and drops the reason of a failure. This subclass:

- suggests from the space's define-by-run function, enqueues the other seeds of a new
  configuration, and stores the trial config and its ``config_key`` at once;
- records every epoch as an Optuna intermediate value and keeps the curves;
- tells COMPLETE only for trials whose trainable returned (``poolnas_done``), PRUNED for
  trials the scheduler stopped, FAIL with ``fail_reason`` for errors, and FAIL with an
  ``interrupted:`` reason for trials cut off by the end of the sweep (they run again on
  resume);
- keeps no state of its own in Tune's experiment checkpoints: the database is the truth.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from ray.tune.search.optuna import OptunaSearch

from poolnas.config import METRICS
from poolnas.errors import ConfigError
from poolnas.search._space import SpaceView
from poolnas.search._study import INTERRUPTED
from poolnas.search._trainable import ATTRS_KEY, DONE_KEY, FAIL_KEY, INVALID_KEY, NODE_KEY
from poolnas.storage import TRIAL_CONFIG_VERSION, TrialAttrs, config_key

__all__ = ["StudySearcher"]

log = logging.getLogger(__name__)


class StudySearcher(OptunaSearch):
    """OptunaSearch over an existing study in an RDB storage.

    Args:
        view: the space.
        storage: the Optuna storage the study lives in.
        study_name: the study (created beforehand by ``prepare_study``).
        sampler: the study's sampler.
        pruned: trial ids the scheduler decided to stop (filled by the scheduler).
        on_told: called as ``on_told(state_name, value, number)`` after each tell.
        reason_of: the failure reason of a Tune trial id that errored (from its error file).
    """

    def __init__(self, view: SpaceView, *, storage: Any, study_name: str, sampler: Any,
                 pruned: set[str], on_told: Callable[[str, float | None, int], None] | None = None,
                 reason_of: Callable[[str], str | None] | None = None):
        self._view = view
        super().__init__(space=self._define, metric=view.metric, mode=view.mode,
                         sampler=sampler, study_name=study_name, storage=storage)
        self._pruned = pruned
        self._on_told = on_told
        self._curves: dict[str, dict[str, list[float]]] = {}
        self._last_step: dict[str, int] = {}
        self._started: dict[str, float] = {}
        self._nodes: dict[str, str] = {}
        self._reason_of = reason_of

    # -- suggestions ---------------------------------------------------------------------

    def _define(self, trial: Any) -> None:  # only to satisfy OptunaSearch's space check
        return None

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        ot_trial = self._ot_study.ask()
        self._ot_trials[trial_id] = ot_trial
        self._started[trial_id] = time.time()
        origin = ot_trial.user_attrs.get(TrialAttrs.ORIGIN)
        try:
            params, seed = self._view.sample(ot_trial)
            if self._view.repeated and origin is None:
                base = {k: v for k, v in ot_trial.params.items() if k != "seed"}
                for s in self._view.seeds:
                    if s != seed:
                        self._ot_study.enqueue_trial({**base, "seed": s},
                                                     user_attrs={TrialAttrs.ORIGIN: "repeat"})
            cfg = self._view.trial_config(params, seed).to_dict()
        except ConfigError as err:
            return {INVALID_KEY: str(err), "number": ot_trial.number}
        ot_trial.set_user_attr(TrialAttrs.CONFIG, cfg)
        ot_trial.set_user_attr(TrialAttrs.CONFIG_KEY, config_key(cfg))
        ot_trial.set_user_attr(TrialAttrs.CONFIG_VERSION, TRIAL_CONFIG_VERSION)
        return {"trial_config": cfg, "number": ot_trial.number}

    # -- results -------------------------------------------------------------------------

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        self._record(trial_id, result)

    def _record(self, trial_id: str, result: dict[str, Any]) -> None:
        """Keep one epoch: an Optuna intermediate value and the curves."""
        if trial_id not in self._ot_trials:
            return
        step = int(result.get("training_iteration", 0))
        if step <= self._last_step.get(trial_id, 0):
            return
        self._last_step[trial_id] = step
        if NODE_KEY in result:
            self._nodes[trial_id] = str(result[NODE_KEY])
        curves = self._curves.setdefault(trial_id, {})
        for key in METRICS:
            if isinstance(result.get(key), (int, float)):
                curves.setdefault(key, []).append(float(result[key]))
        value = result.get(self._metric)
        if isinstance(value, (int, float)) and math.isfinite(value):
            self._ot_trials[trial_id].report(float(value), step)

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None,
                          error: bool = False) -> None:
        from optuna.trial import TrialState

        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        self._completed_trials.add(trial_id)
        ot_trial = self._ot_trials[trial_id]
        result = result or {}
        if result:
            self._record(trial_id, result)
        attrs: dict[str, Any] = {}
        if ATTRS_KEY in result:
            try:
                attrs = json.loads(result[ATTRS_KEY])
            except (TypeError, ValueError):
                attrs = {}
        value: float | None = None
        if result.get(FAIL_KEY):
            state, reason = TrialState.FAIL, str(result[FAIL_KEY])
        elif error:
            state = TrialState.FAIL
            reason = (self._reason_of(trial_id) if self._reason_of else None) or \
                "error in the trial (see Ray's logs)"
        elif result.get(DONE_KEY):
            state = TrialState.COMPLETE
            value = result.get(self._metric)
            reason = None
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                state, value = TrialState.FAIL, None
                reason = f"nan: objective {self._metric} is {result.get(self._metric)!r}"
        elif trial_id in self._pruned:
            state, reason = TrialState.PRUNED, None
        else:
            state = TrialState.FAIL
            reason = f"{INTERRUPTED} the sweep ended before the trial finished; tried again on resume"
        self._store_attrs(trial_id, ot_trial, attrs, reason)
        try:
            self._ot_study.tell(ot_trial, value if state == TrialState.COMPLETE else None,
                                state=state)
        except Exception as exc:  # the storage refused: keep the sweep going, say why
            log.warning("could not store trial %s: %s", ot_trial.number, exc)
        if self._on_told is not None:
            self._on_told(state.name, value, ot_trial.number)

    def _store_attrs(self, trial_id: str, ot_trial: Any, attrs: dict[str, Any],
                     reason: str | None) -> None:
        curves = attrs.get("curves") or self._curves.get(trial_id) or {}
        values: dict[str, Any] = {TrialAttrs.CURVES: curves}
        if attrs:
            values.update({
                TrialAttrs.METRICS: attrs.get("metrics") or {},
                TrialAttrs.N_PARAMS: attrs.get("n_params"),
                TrialAttrs.DEVICE: attrs.get("device"),
                TrialAttrs.WALL_TIME: attrs.get("wall_time"),
                TrialAttrs.CHECKPOINT: attrs.get("checkpoint"),
            })
        else:
            values[TrialAttrs.WALL_TIME] = time.time() - self._started.get(trial_id, time.time())
        node = attrs.get("node") or self._nodes.get(trial_id)
        if node:
            values[TrialAttrs.NODE] = node
        if reason:
            values[TrialAttrs.FAIL_REASON] = reason
        for key, val in values.items():
            try:
                ot_trial.set_user_attr(key, val)
            except Exception as exc:
                log.warning("could not store %s of trial %s: %s", key, ot_trial.number, exc)

    def finish_open_trials(self) -> None:
        """Tell Optuna about trials Tune never finished (the sweep was interrupted)."""
        for trial_id in list(self._ot_trials):
            self.on_trial_complete(trial_id, result=None, error=False)

    # -- Tune's experiment checkpoints: nothing to keep, the database is the truth -------

    def save(self, checkpoint_path: str) -> None:
        return None

    def restore(self, checkpoint_path: str) -> None:
        return None

    def save_to_dir(self, *args: Any, **kwargs: Any) -> None:
        return None
