"""Optuna samplers for a space's ``sampler:``; ``GridPointSampler`` runs grids with ``when:``.

Why not ``optuna.samplers.GridSampler``: it takes the Cartesian product of every parameter,
so a conditional parameter (``attention.M`` only for ``srp-ms``) would multiply the grid
and be asked where it does not apply; its values must be scalars (stage subsets are
lists); and it counts a FAILED trial's point as visited, so a sweep that died mid-trial
never reruns that point on resume.

``GridPointSampler`` walks ``Space.grid_cells()``: every grid point (``Space.grid()``,
``when:`` respected) × every seed, seed-major (all points with the first seed first).
A cell is identified by its key, the JSON text of ``[params as Optuna labels, seed]``;
the sampler keeps the cell it gave each trial in memory, by trial number, when the trial
starts, and the trial's params are exactly the cell's dotted keys (+ ``seed`` when there
are several seeds), so a stored trial names its cell by its params. Before each trial it
takes the first cell that no trial of the study holds: a cell is held by a COMPLETE,
PRUNED, RUNNING or WAITING trial (by the cell this sampler gave it, else by its params,
e.g. enqueued trials and trials of an earlier run; studies written before this carry the
cell in the system attribute ``poolnas:grid_cell``, still read), and by a FAILED trial that
this sampler started (no retry loops within a run). One driver runs a study at a time
(``poolnas.search._lease``), so the sampler's memory is the only one asking. A FAILED trial from an
earlier run (a sweep that died: the search package marks its RUNNING trials FAIL on
resume) does not hold its cell, so ``--resume`` reruns it once. Hence each cell ends
with exactly one finished trial, also across a resume; ``remaining(study)`` says how
many trials are still to start (pass ``retry_failed=False`` to never rerun failures).
"""

from __future__ import annotations

import json
import warnings
from typing import TYPE_CHECKING, Any

import optuna
from optuna.samplers import BaseSampler
from optuna.trial import TrialState

from poolnas.records import enqueued_params

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from poolnas.spaces._space import Space

__all__ = ["GRID_CELL_ATTR", "GridPointSampler", "create_sampler"]

GRID_CELL_ATTR = "poolnas:grid_cell"
_HOLDING = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def cell_key(params: dict[str, Any], seed: int) -> str:
    return json.dumps([params, seed], sort_keys=True)


class GridPointSampler(BaseSampler):
    """Runs every grid point × seed of a finite space once (module docstring)."""

    def __init__(self, space: Space, *, retry_failed: bool = True) -> None:
        self._seeds = space.seeds()
        self._seed_param = len(self._seeds) > 1
        cells = space.grid_cells()
        self._keys = [cell_key(params, seed) for _, params, seed in cells]
        self._cells = {key: (params, seed) for key, (_, params, seed) in zip(self._keys, cells, strict=True)}
        self._retry_failed = retry_failed
        self._assigned: dict[int, str] = {}  # trial number -> the cell this sampler gave it

    @property
    def n_cells(self) -> int:
        return len(self._keys)

    def _trial_key(self, t: FrozenTrial) -> str | None:
        key = self._assigned.get(t.number) or t.system_attrs.get(GRID_CELL_ATTR)
        if key is not None:
            return key
        params = dict(t.params or {}) or enqueued_params(t)
        if not params:
            return None
        seed = params.pop("seed", self._seeds[0])
        return cell_key(params, seed)

    def _held(self, study: Study, *, exclude: int | None = None) -> set[str]:
        held: set[str] = set()
        for t in study.get_trials(deepcopy=False):
            if t.number == exclude:
                continue
            holds = t.state in _HOLDING or (
                t.state == TrialState.FAIL and (t.number in self._assigned or not self._retry_failed))
            key = self._trial_key(t) if holds else None
            if key is not None:
                held.add(key)
        return held

    def remaining(self, study: Study) -> int:
        """Cells no trial holds yet: the trials a (resumed) sweep still has to start."""
        held = self._held(study)
        return sum(key not in held for key in self._keys)

    def is_exhausted(self, study: Study) -> bool:
        return self.remaining(study) == 0

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        if enqueued_params(trial):  # enqueued: its params name its cell
            return
        held = self._held(study, exclude=trial.number)
        free = [key for key in self._keys if key not in held]
        if not free:
            optuna.logging.get_logger(__name__).warning(
                "every grid cell has a trial: re-running the first cell (check remaining() first)")
            free = self._keys[:1]
        self._assigned[trial.number] = free[0]

    def infer_relative_search_space(self, study: Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(self, study: Study, trial: FrozenTrial,
                        search_space: dict[str, BaseDistribution]) -> dict[str, Any]:
        return {}

    def sample_independent(self, study: Study, trial: FrozenTrial, param_name: str,
                           param_distribution: BaseDistribution) -> Any:
        key = self._assigned.get(trial.number)
        if key not in self._cells:
            raise ValueError(f"trial {trial.number} has no grid cell of this space; "
                             f"enqueued trials must fix every parameter ({param_name!r} is missing)")
        params, seed = self._cells[key]
        if param_name == "seed" and self._seed_param:
            return seed
        if param_name not in params:
            raise ValueError(f"{param_name!r} is not a parameter of grid cell {key}")
        return params[param_name]


def create_sampler(space: Space, seed: int | None = None) -> BaseSampler:
    """The Optuna sampler for ``space.sampler``.

    - grid: ``GridPointSampler`` (every grid point × seed once).
    - bruteforce: Optuna's ``BruteForceSampler`` (enumerates ``seed`` too when repeats > 1).
    - tpe (multivariate, grouped for ``when:``), random, cmaes: fresh trials get the first
      seed; to repeat a configuration, enqueue it with the other seeds:
      ``study.enqueue_trial({**trial.params, "seed": s})`` for s in ``space.seeds()[1:]``.
    """
    name = space.sampler
    if name == "grid":
        return GridPointSampler(space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "bruteforce":
            return optuna.samplers.BruteForceSampler(seed=seed)
        if name == "tpe":
            base: BaseSampler = optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
        elif name == "random":
            base = optuna.samplers.RandomSampler(seed=seed)
        elif name == "cmaes":
            base = optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
        elif name == "nsga2":  # multi-objective (objective: a list); also runs single-objective
            base = optuna.samplers.NSGAIISampler(seed=seed)
        else:
            raise ValueError(f"sampler {name!r}: expected one of grid, tpe, random, cmaes, bruteforce, nsga2")
        seeds = space.seeds()
        if len(seeds) > 1:
            return optuna.samplers.PartialFixedSampler({"seed": seeds[0]}, base)
        return base
