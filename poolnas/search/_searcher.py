"""The sweep's searcher on Ray Tune's public ``Searcher`` interface and Optuna's ask API.

``suggest`` asks the study (in the database) for a trial, samples it with the space's
define-by-run function, enqueues the other seeds of a new configuration, stores the trial
config and its ``config_key`` at once, and records the Optuna trial in the sweep's
``StudyTrials``. Everything after that (epochs, the outcome, interruptions) belongs to the
Tune callback ``poolnas.search._outcome.TrialOutcomes``: ``on_trial_result`` and
``on_trial_complete`` here do nothing. The searcher keeps no state in Tune's experiment
checkpoints (``save``/``restore`` are no-ops): the database is the truth.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ray.tune.search import Searcher

from poolnas.errors import ConfigError
from poolnas.records import TRIAL_CONFIG_VERSION, TrialAttrs, config_key
from poolnas.search._outcome import StudyTrials
from poolnas.search._race import Race
from poolnas.search._sampling import sample, trial_config
from poolnas.search._trainable import INVALID_KEY

if TYPE_CHECKING:
    import optuna

__all__ = ["StudySearcher"]


class StudySearcher(Searcher):
    """Suggests trial configs from an Optuna study (created beforehand by ``prepare_study``).

    Args:
        session: the sweep's trials: the study, the space, and where asked trials go.
    """

    def __init__(self, session: StudyTrials, race: Race | None = None):
        objective = session.space.objective
        super().__init__(metric=objective.metric, mode=objective.mode)
        self.session = session
        self.race = race  # when seeds race
        self._race_wait: int | None = None  # trials told when the race last said "wait"

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict,
                              **spec: Any) -> bool:
        # The space comes from the study; Tune's own config and metric are not used.
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        session = self.session
        if session.stop.stop_all():
            return Searcher.FINISHED
        if self.race is not None:
            decision = self._race_decision()
            if decision == "wait":
                return None  # Tune asks again; nothing changes until a trial is told
            if decision == "done":
                return Searcher.FINISHED
        try:
            ot_trial = session.study.ask()
        except Exception as err:  # noqa: BLE001 - the storage refused the new trial
            session.on_fault(err, "a new trial")
            return Searcher.FINISHED
        session.asked[trial_id] = ot_trial
        session.started[trial_id] = time.time()
        try:
            return self._sample(ot_trial)
        except ConfigError as err:
            return {INVALID_KEY: str(err), "number": ot_trial.number}
        except Exception as err:  # noqa: BLE001 - a storage write failed
            session.on_fault(err, f"the config of trial {ot_trial.number}")
            return {INVALID_KEY: "the storage refused the trial's config", "number": ot_trial.number}

    def _race_decision(self) -> str:
        """Racing: "ask", "wait" or "done" (``_race.Race``); a "wait" is not re-read from the
        database until another trial has been told."""
        told = len(self.session.told)
        if self._race_wait == told:
            return "wait"
        try:
            decision = self.race.decide(self.session.study, len(self.session.open_trials()))
        except Exception as err:  # noqa: BLE001 - the storage refused the race's seeds
            self.session.on_fault(err, "the race's next seeds")
            return "done"
        self._race_wait = told if decision == "wait" else None
        return decision

    def _sample(self, ot_trial: optuna.Trial) -> dict[str, Any]:
        space, study = self.session.space, self.session.study
        origin = ot_trial.user_attrs.get(TrialAttrs.ORIGIN)
        params, seed = sample(space, ot_trial)
        # A new configuration's other seeds are queued, except under the grid sampler, which
        # runs every cell x seed itself, seed-major: every configuration's seed s before any
        # configuration's seed s + 1, so a sweep stopped early has tried every configuration.
        if len(space.seeds()) > 1 and origin is None and space.sampler != "grid":
            base = {k: v for k, v in ot_trial.params.items() if k != "seed"}
            for s in space.initial_seeds():  # racing: the first min seeds; the race adds more
                if s != seed:
                    study.enqueue_trial({**base, "seed": s},
                                        user_attrs={TrialAttrs.ORIGIN: "repeat"})
        cfg = trial_config(space, params, seed).to_dict()
        ot_trial.set_user_attr(TrialAttrs.CONFIG, cfg)
        ot_trial.set_user_attr(TrialAttrs.CONFIG_KEY, config_key(cfg))
        ot_trial.set_user_attr(TrialAttrs.CONFIG_VERSION, TRIAL_CONFIG_VERSION)
        return {"trial_config": cfg, "number": ot_trial.number}

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        return None  # TrialOutcomes stores the epochs

    def on_trial_complete(self, trial_id: str, result: dict[str, Any] | None = None,
                          error: bool = False) -> None:
        return None  # TrialOutcomes stores the outcome

    # -- Tune's experiment checkpoints: nothing to keep, the database is the truth -------

    def save(self, checkpoint_path: str) -> None:
        return None

    def restore(self, checkpoint_path: str) -> None:
        return None
