"""From a ``poolnas.spaces.Space`` to a trial: what a sweep derives from the space that the
space itself does not say (everything else, the sweep reads from the ``Space``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poolnas.config import TrialConfig
from poolnas.spaces import Space

if TYPE_CHECKING:
    import optuna

__all__ = ["sample", "trial_config", "trial_resources"]


def trial_resources(space: Space) -> dict[str, float]:
    """What one trial asks Ray for (``resources``), as Tune's ``with_resources`` takes it."""
    return {"cpu": float(space.resources.cpu), "gpu": float(space.resources.gpu)}


def sample(space: Space, trial: optuna.Trial) -> tuple[dict[str, Any], int]:
    """Sample (or read back, for an enqueued or grid trial) the parameters and the seed.
    The params are Optuna's (dotted keys, lists as JSON labels, ``seed`` when repeated)."""
    space.define_by_run(trial)
    params = dict(trial.params)
    seed = int(params.get("seed", space.seeds()[0]))
    return params, seed


def trial_config(space: Space, params: dict[str, Any], seed: int) -> TrialConfig:
    """The trial config; an unset ``trainer.num_threads`` becomes the threads Ray gives the
    trial (``OMP_NUM_THREADS`` = max(1, floor(resources.cpu))), so the stored config, and
    ``poolnas train --config`` of it, run with the same threads (they change CPU results)."""
    cfg = space.to_trial_config(params, seed)
    if cfg.trainer.num_threads is None:
        cfg.trainer.num_threads = max(1, int(space.resources.cpu))
    return cfg
