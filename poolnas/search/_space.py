"""A narrow view of a ``poolnas.spaces.Space`` with what a sweep needs, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SpaceView"]


@dataclass
class SpaceView:
    """The sweep settings of a space and its sampling functions."""

    space: Any  # poolnas.spaces.Space

    @property
    def doc(self) -> dict[str, Any]:
        """The space file as loaded (JSON-able), stored as the study attribute ``space``."""
        return self.space.document

    @property
    def study(self) -> str:
        return self.space.study

    @property
    def metric(self) -> str:
        return self.space.objective.metric

    @property
    def mode(self) -> str:
        return self.space.objective.mode

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """(metric, mode) of every objective; several make a multi-objective study."""
        return [(o.metric, o.mode) for o in self.space.objectives]

    @property
    def multi_objective(self) -> bool:
        return len(self.space.objectives) > 1

    @property
    def directions(self) -> list[str]:
        """Optuna's study directions, one per objective."""
        return ["maximize" if mode == "max" else "minimize" for _, mode in self.objectives]

    @property
    def racing(self) -> tuple[int, int] | None:
        """(min, max) seeds when seeds race (``repeats: {min, max, racing: true}``)."""
        return self.space.racing

    @property
    def initial_seeds(self) -> list[int]:
        """Seeds every new configuration runs (all, or the first ``min`` when racing)."""
        return [int(s) for s in self.space.initial_seeds()]

    @property
    def sampler(self) -> str:
        return self.space.sampler

    @property
    def is_grid(self) -> bool:
        return self.sampler == "grid"

    @property
    def trials(self) -> int | None:
        return self.space.trials

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.space.seeds()]

    @property
    def repeated(self) -> bool:
        """Whether ``seed`` is an Optuna parameter (more than one seed per configuration)."""
        return len(self.seeds) > 1

    @property
    def scheduler(self) -> Any:
        """The space's ``scheduler`` (type, grace_period, max_t, reduction_factor)."""
        return self.space.scheduler

    @property
    def resources(self) -> dict[str, float]:
        res = self.space.resources
        return {"cpu": float(res.cpu), "gpu": float(res.gpu)}

    @property
    def max_epochs(self) -> int:
        """The most epochs a trial trains (``Space.max_epochs``: the largest searched
        ``trainer.epochs``, else the base's)."""
        return int(self.space.max_epochs())

    @property
    def asha_max_t(self) -> int:
        """ASHA's ``max_t`` (``Space.asha_max_t``, the rule the space was validated with)."""
        return int(self.space.asha_max_t())

    def sample(self, trial: Any) -> tuple[dict[str, Any], int]:
        """Sample (or read back, for an enqueued or grid trial) the parameters and the seed.
        The params are Optuna's (dotted keys, lists as JSON labels, ``seed`` when repeated)."""
        self.space.define_by_run(trial)
        params = dict(trial.params)
        seed = int(params.get("seed", self.seeds[0]))
        return params, seed

    def trial_config(self, params: dict[str, Any], seed: int) -> Any:
        """The trial config; an unset ``trainer.num_threads`` becomes the threads Ray gives the
        trial (``OMP_NUM_THREADS`` = max(1, floor(resources.cpu))), so the stored config, and
        ``poolnas train --config`` of it, run with the same threads (they change CPU results)."""
        cfg = self.space.to_trial_config(params, seed)
        if cfg.trainer.num_threads is None:
            cfg.trainer.num_threads = max(1, int(self.resources["cpu"]))
        return cfg

    def create_sampler(self) -> Any:
        """The study's sampler (``poolnas.spaces.create_sampler``): grid sweeps walk every
        grid point x seed once; other samplers give a new configuration the first seed and
        the searcher enqueues the other seeds."""
        from poolnas.spaces import create_sampler

        return create_sampler(self.space)

    def grid_remaining(self, sampler: Any, study: Any) -> int:
        """Grid cells no trial holds yet (a resumed sweep reruns cells whose trial failed)."""
        return int(sampler.remaining(study))
