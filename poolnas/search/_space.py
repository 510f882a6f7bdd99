"""A narrow view of a ``poolnas.spaces.Space`` with what a sweep needs, in one place.

Keeps the search package independent of how the spaces package stores its settings
(pydantic models or mappings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SpaceView"]


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _plain(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json", by_alias=True, exclude_none=True)
    return obj


@dataclass
class SpaceView:
    """The sweep settings of a space and its sampling functions."""

    space: Any  # poolnas.spaces.Space

    @property
    def doc(self) -> dict[str, Any]:
        """The space file as loaded (JSON-able), stored as the study attribute ``space``."""
        s = self.space
        for name in ("to_dict", "as_dict"):
            fn = getattr(s, name, None)
            if callable(fn):
                return fn()
        for name in ("document", "doc", "raw", "spec"):
            value = getattr(s, name, None)
            if value is not None and not callable(value):
                return _plain(value)
        if hasattr(s, "model_dump"):
            return _plain(s)
        keys = ("study", "objective", "sampler", "trials", "repeats", "seeds", "scheduler",
                "resources", "base", "space")
        return {k: _plain(_get(s, k)) for k in keys if _get(s, k) is not None}

    @property
    def study(self) -> str:
        return str(_get(self.space, "study"))

    @property
    def metric(self) -> str:
        return str(_get(_get(self.space, "objective"), "metric", "test_acc"))

    @property
    def mode(self) -> str:
        return str(_get(_get(self.space, "objective"), "mode", "max"))

    @property
    def sampler(self) -> str:
        return str(_get(self.space, "sampler", "tpe"))

    @property
    def is_grid(self) -> bool:
        return self.sampler == "grid"

    @property
    def trials(self) -> int | None:
        value = _get(self.space, "trials")
        return None if value is None else int(value)

    @property
    def seeds(self) -> list[int]:
        return [int(s) for s in self.space.seeds()]

    @property
    def repeated(self) -> bool:
        """Whether ``seed`` is an Optuna parameter (more than one seed per configuration)."""
        return len(self.seeds) > 1

    @property
    def scheduler(self) -> dict[str, Any]:
        sch = _plain(_get(self.space, "scheduler")) or {}
        return dict(sch) if isinstance(sch, dict) else {"type": str(sch)}

    @property
    def resources(self) -> dict[str, float]:
        res = _plain(_get(self.space, "resources")) or {}
        return {"cpu": float(res.get("cpu", 1.0)), "gpu": float(res.get("gpu", 0.0) or 0.0)}

    @property
    def max_epochs(self) -> int:
        """Epochs of a full trial (ASHA's max_t unless the scheduler sets one)."""
        base = _get(self.space, "base") or {}
        epochs = _get(_get(base, "trainer"), "epochs")
        if epochs is None:
            from poolnas.config import TrainerConfig

            epochs = TrainerConfig().epochs
        return int(epochs)

    def sample(self, trial: Any) -> tuple[dict[str, Any], int]:
        """Sample (or read back, for an enqueued or grid trial) the parameters and the seed.
        The params are Optuna's (dotted keys, lists as JSON labels, ``seed`` when repeated)."""
        self.space.define_by_run(trial)
        params = dict(trial.params)
        seed = int(params.get("seed", self.seeds[0]))
        return params, seed

    def trial_config(self, params: dict[str, Any], seed: int) -> Any:
        return self.space.to_trial_config(params, seed)

    def create_sampler(self) -> Any:
        """The study's sampler (``poolnas.spaces.create_sampler``): grid sweeps walk every
        grid point x seed once; other samplers give a new configuration the first seed and
        the searcher enqueues the other seeds."""
        from poolnas.spaces import create_sampler

        return create_sampler(self.space)

    def grid_remaining(self, sampler: Any, study: Any) -> int:
        """Grid cells no trial holds yet (a resumed sweep reruns cells whose trial failed)."""
        return int(sampler.remaining(study))
