"""Racing in a sweep: the searcher asks :class:`Race` before every new trial.

``repeats: {min, max, racing: true}`` (``poolnas.evidence.racing``): every configuration runs
its first ``min`` seeds (queued by the searcher, or walked by the grid sampler) before any
configuration gets a race seed; after that a seed goes only to a configuration still within
noise of the best. The state of the race is
the study in the database: finished trials give the configurations, RUNNING and WAITING trials
the seeds pending, FAILED ones (not interrupted) the seeds not to try again. A resumed sweep
carries on from there.

``decide()`` returns what the searcher does now:
- ``"ask"``: a trial is queued (a race seed, a retry) or a new configuration is due;
- ``"wait"``: nothing to start until a running trial finishes (Tune asks again later);
- ``"done"``: no configuration left to sample and nothing within noise with seeds to go.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from poolnas.evidence import Configuration, configurations
from poolnas.evidence._study import DEFAULT_BASELINE, baseline_of
from poolnas.evidence.racing import RaceStatus, RacingPolicy, race_status, racing_requests
from poolnas.records import INTERRUPTED, TrialAttrs, config_key, enqueued_params
from poolnas.search._sampling import trial_config

if TYPE_CHECKING:
    import optuna

    from poolnas.spaces import GridPointSampler, Space

__all__ = ["Race"]


class Race:
    """Decides, from the study's trials, whether the sweep starts a trial, waits or ends.

    Args:
        space: the space (``space.racing`` set).
        configs: configurations the sweep samples in all (the grid: every point).
        sampler: the study's sampler (the grid's ``remaining(study)`` says what is left).
    """

    def __init__(self, space: Space, configs: int, sampler: GridPointSampler | None = None) -> None:
        assert space.racing is not None
        self.space = space
        self.policy = RacingPolicy(*space.racing)
        self.configs = configs
        self.sampler = sampler
        self.status: RaceStatus | None = None  # the last one, for the live view
        # the baseline runs on with the best, so that verdicts against it have the pairs
        self.baseline = baseline_of(space.document) or DEFAULT_BASELINE

    def _key(self, trial: optuna.trial.FrozenTrial) -> str | None:
        key = trial.user_attrs.get(TrialAttrs.CONFIG_KEY)
        if key:
            return str(key)
        params = enqueued_params(trial) or dict(trial.params or {})
        if not params:
            return None
        seed = int(params.get("seed", self.space.seeds()[0]))
        return config_key(trial_config(self.space, params, seed).to_dict())

    def _pending(self, trials: Iterable[optuna.trial.FrozenTrial]
                 ) -> tuple[dict[str, set[int]], dict[str, set[int]], int]:
        """Seeds started but not finished, seeds that failed, per configuration; and how many
        configurations have been started at all (any trial that is not an interrupted one)."""
        pending: dict[str, set[int]] = {}
        failed: dict[str, set[int]] = {}
        started: set[str] = set()
        for t in trials:
            state = t.state.name
            reason = str(t.user_attrs.get(TrialAttrs.FAIL_REASON, ""))
            if state == "FAIL" and reason.startswith(INTERRUPTED):
                continue
            key = self._key(t)
            if key is None:
                continue
            started.add(key)
            params = enqueued_params(t) or dict(t.params or {})
            seed = int(params.get("seed", self.space.seeds()[0]))
            if state in ("RUNNING", "WAITING"):
                pending.setdefault(key, set()).add(seed)
            elif state in ("FAIL", "PRUNED"):  # not handed out again (ASHA cut it, or it failed)
                failed.setdefault(key, set()).add(seed)
        return pending, failed, len(started)

    def _enqueue(self, study: optuna.Study, trials: list[optuna.trial.FrozenTrial],
                 confs: dict[str, Configuration],
                 asks: list[tuple[str, int]]) -> None:
        by_number = {t.number: t for t in trials}
        for key, seed in asks:
            trial = by_number[confs[key].trials[0]]
            params = {k: v for k, v in trial.params.items() if k != "seed"}
            study.enqueue_trial({**params, "seed": seed}, user_attrs={
                TrialAttrs.ORIGIN: "race", TrialAttrs.CONFIG_KEY: key})

    def decide(self, study: optuna.Study, running: int) -> str:
        """Queue the race's next seeds and say what the searcher does (module docstring).

        Args:
            study: the sweep's Optuna study.
            running: trials of this sweep asked and not told yet.
        """
        trials = study.get_trials(deepcopy=False)
        pending, failed, started = self._pending(trials)
        metric, mode = self.space.objective.metric, self.space.objective.mode
        confs = configurations(trials, metric, mode)
        counts = {k: len(v) for k, v in pending.items()}
        self.status = race_status(confs, self.policy, mode, counts)
        # Every configuration gets its first ``min`` seeds before any gets more: queued
        # seeds (a new configuration's repeats, retries) and new configurations come first,
        # so that a sweep stopped early has tried every configuration it reached.
        if any(t.state.name == "WAITING" for t in trials):
            return "ask"
        if self._new_configs_left(study, started):
            return "ask"
        asks = racing_requests(confs, self.policy, mode, self.space.seeds(), pending,
                               exclude=failed, baseline=self.baseline)
        if asks:
            self._enqueue(study, trials, {c.key: c for c in confs}, asks)
            return "ask"
        return "wait" if running or pending else "done"

    def _new_configs_left(self, study: optuna.Study, started: int) -> bool:
        if self.space.sampler == "grid" and self.sampler is not None:
            return int(self.sampler.remaining(study)) > 0
        return started < self.configs
