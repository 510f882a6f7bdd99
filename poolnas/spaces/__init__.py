"""The search-space language (README.md, "Using it"): schema, loading, validation,
the bridge to Optuna and Ray Tune, and presets that reproduce the papers' sweeps.

    space = load_space("srp-fig3")            # a preset name or a space file
    sampler = create_sampler(space, seed=0)   # GridPointSampler for sampler: grid
    # Ray Tune: OptunaSearch(space=space.define_by_run, sampler=sampler, ...)
    config = space.to_trial_config(trial.params)   # seed from params['seed'] or seeds()[0]
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports
from poolnas.spaces._load import list_presets, preset_path
from poolnas.spaces._params import Param, label_of
from poolnas.spaces._schema import Distribution, SpaceFile, space_json_schema
from poolnas.spaces._space import Space, load_space, space_from_dict

# The sampler imports optuna: on first use (PEP 562), so that `poolnas space validate`
# loads no optuna.
_EXPORTS = {"_sampler": ("GRID_CELL_ATTR", "GridPointSampler", "create_sampler")}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "GRID_CELL_ATTR",
    "Distribution",
    "GridPointSampler",
    "Param",
    "Space",
    "SpaceFile",
    "create_sampler",
    "label_of",
    "list_presets",
    "load_space",
    "preset_path",
    "space_from_dict",
    "space_json_schema",
]
