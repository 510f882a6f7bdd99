"""The trial and study records poolnas keeps in an Optuna study: the names of their user
attributes, the version of the stored trial config, the key that groups repeats
(docs/search.md, "What the database holds"), and :class:`TrialRecord`, a stored trial read
once as every reader uses it. Where the study is stored is ``poolnas.storage``'s business."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["INTERRUPTED", "STUDY_NAME_PATTERN", "TRIAL_CONFIG_VERSION", "StudyAttrs", "TrialAttrs",
           "TrialRecord", "check_study_name", "config_key", "enqueued_params", "flatten",
           "flatten_partial", "searched_params", "study_objectives", "trial_record"]

# The one rule for a study name (a space file's ``study:``, ``--study``, the Python API): letters,
# digits, ``_ . -``, not starting with a dot (no ``.`` or ``..``), at most 128 characters. No
# path is built from a name that breaks it (Ray Tune's experiment folder is named after it).
STUDY_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$"

# Version of the stored trial config (TrialAttrs.CONFIG); bump it when a field is renamed or
# removed, and teach poolnas.studies.migrate the change. Configs without one are version 0.
INTERRUPTED = "interrupted:"  # prefix of fail_reason for trials that did not get to finish

# 2: trainer.nesterov None = the recipe's value; 3: attention.schedule defaults to linear,
# SE's FCs have biases (attention.se_bias), both kept as they were for older configs.
# 4 (issue 20): attention modules draw their parameters from a stream of their own
# (poolnas.models.factory.attention_seed), so a config with attention trains to other numbers
# than before with the same seed (the backbone's init and the data order do not move);
# trainer.subsets (default fixed = as before) added; trainer.channels_last: auto is
# channels-last on the CPU too (older configs with auto read as off).
TRIAL_CONFIG_VERSION = 4


# Optuna keeps the params of a trial queued by ``Study.enqueue_trial`` in this system
# attribute until the trial has suggested them; Optuna has no public reader for it, so
# poolnas reads it here and nowhere else (tests/search/test_no_private_internals.py).
_OPTUNA_ENQUEUED_PARAMS = "fixed_params"


def enqueued_params(trial: Any) -> dict[str, Any]:
    """The params a trial was queued with (``Study.enqueue_trial``); {} for a trial that was
    not queued. A WAITING trial has no ``params`` yet: these are what it will run."""
    return dict(trial.system_attrs.get(_OPTUNA_ENQUEUED_PARAMS) or {})


class TrialAttrs:
    """Names of the user attributes every poolnas trial keeps (docs/search.md, "What the database holds")."""

    CONFIG = "config"  # the full trial config (dict)
    CONFIG_KEY = "config_key"  # hash of the config without its seed: groups repeats
    CONFIG_VERSION = "config_version"  # TRIAL_CONFIG_VERSION of the schema that wrote CONFIG
    N_PARAMS = "n_params"  # parameter count
    CURVES = "curves"  # {metric: [per-epoch values]}
    METRICS = "metrics"  # final metrics {val_acc, test_acc, train_loss, epoch_time, images_per_s}
    DEVICE = "device"
    NODE = "node"  # Ray node IP / hostname where it ran
    WALL_TIME = "wall_time"  # seconds
    FAIL_REASON = "fail_reason"
    CHECKPOINT = "checkpoint"  # path of a kept checkpoint, when one was kept
    ENVIRONMENT = "environment"  # the trainer's environment: torch version, threads, device, ...
    COST = "cost"  # the model's cost numbers: {params, flops}
    ORIGIN = "origin"  # why the trial was queued: "grid", "repeat" (another seed), "retry"
    RETRY_OF = "retry_of"  # number of the interrupted trial this one runs again
    TEST_CORRECT = "test_correct"  # the last test pass: {n, bits}, a bit per test example (base64)
    PEAK_RSS_MB = "peak_rss_mb"  # the peak resident memory of the worker that ran it (MiB)


class StudyAttrs:
    """Names of the user attributes every poolnas study keeps (docs/search.md, "What the database holds")."""

    SPACE = "space"  # the space file as loaded (dict)
    VERSION = "poolnas_version"
    OBJECTIVE = "objective"  # {metric, mode}


def config_key(config: dict[str, Any]) -> str:
    """Stable short hash of a trial config with its seed removed (repeats share it)."""
    doc = {k: v for k, v in config.items() if k != "seed"}
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


# Types a config value has when it is no mapping (JSON's): flatten checks these first, since an
# isinstance test against the Mapping ABC costs more than the rest of the loop.
_LEAVES = frozenset({str, int, float, bool, type(None), tuple})


def _flatten_into(out: dict[str, Any], doc: Mapping[str, Any], prefix: str) -> None:
    for key, value in doc.items():
        name = f"{prefix}{key}"
        kind = type(value)
        if kind is dict:
            _flatten_into(out, value, name + ".")
        elif kind is list:
            out[name] = tuple(value)
        elif kind in _LEAVES:
            out[name] = value
        elif isinstance(value, Mapping):
            _flatten_into(out, value, name + ".")
        else:
            out[name] = tuple(value) if isinstance(value, list) else value


def flatten(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> {"a.b": value}; lists become tuples so values compare and hash."""
    out: dict[str, Any] = {}
    if isinstance(doc, Mapping):
        _flatten_into(out, doc, f"{prefix}." if prefix else "")
    return out


def flatten_partial(partial: Mapping[str, Any]) -> dict[str, Any]:
    """``{attention.pooling: gap}`` or ``{attention: {pooling: gap}}`` as dotted keys."""
    out: dict[str, Any] = {}
    for key, value in partial.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, str(key)))
        else:
            out[str(key)] = tuple(value) if isinstance(value, list) else value
    return out


def _decoded(value: Any) -> Any:
    """A list parameter comes back from Optuna as its JSON text ("[1, 2]", poolnas.spaces
    stores list choices so): as a tuple; anything else as it is."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return value
        return tuple(parsed) if isinstance(parsed, list) else value
    return value


def searched_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's Optuna params without its seed, lists (stored as JSON text) as tuples."""
    return {k: _decoded(v) for k, v in params.items() if k != "seed"}


class TrialRecord(NamedTuple):
    """One stored trial as every reader uses it (the figures' rows, the configurations over
    seeds, ``export --format csv``, ``poolnas.load(...).trials``), built once per trial by
    :func:`trial_record` from an Optuna FrozenTrial or a ``poolnas.studies`` LiteTrial."""

    number: int
    state: str  # Optuna's TrialState name: COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    values: tuple[float, ...] | None  # every objective's value as stored (None: none told)
    value: float | None  # the first objective's value when finite, else None
    config: dict[str, Any]  # the nested trial config ({} when the trial kept none)
    # The config as dotted keys, lists as tuples (hashable); a trial without a config (one
    # poolnas did not write): its params without the seed (searched_params).
    flat: dict[str, Any]
    # Equal for the repeats of one configuration over seeds: the stored key (the config's hash
    # without its seed, config_key); a trial without a config: its params without the seed,
    # or "trial N" when it has none (it stands alone).
    config_key: str
    seed: int | None  # the config's seed, else the "seed" param; None unless an int
    params: dict[str, Any]  # Optuna's params as stored (the seed included)
    metrics: dict[str, Any]  # the final metrics ({} when none were kept)
    n_params: int | None
    checkpoint: str | None
    wall_time: float | None
    fail_reason: str | None
    user_attrs: dict[str, Any]  # everything the trial kept (curves, cost, test bits, ...)


def trial_record(trial: Any) -> TrialRecord:
    """The :class:`TrialRecord` of a trial in any state: anything with Optuna's FrozenTrial
    fields ``number``, ``state`` (``.name``), ``values``, ``params`` and ``user_attrs``."""
    attrs = trial.user_attrs
    stored = trial.values
    values = tuple(stored) if stored else None
    first = values[0] if values else None
    config = attrs.get(TrialAttrs.CONFIG)
    if isinstance(config, dict):
        flat = flatten(config)
        key = attrs.get(TrialAttrs.CONFIG_KEY) or config_key(config)
        seed = config.get("seed")
    else:  # not a poolnas trial: its params are all we know
        config = {}
        flat = searched_params(trial.params)
        key = repr(sorted(flat.items())) if flat else f"trial {trial.number}"
        seed = trial.params.get("seed")
    metrics = attrs.get(TrialAttrs.METRICS)
    return TrialRecord(
        number=trial.number, state=trial.state.name, values=values,
        value=float(first) if first is not None and math.isfinite(first) else None,
        config=config, flat=flat, config_key=str(key),
        seed=seed if isinstance(seed, int) else None, params=dict(trial.params),
        metrics=metrics if isinstance(metrics, dict) else {},
        n_params=attrs.get(TrialAttrs.N_PARAMS), checkpoint=attrs.get(TrialAttrs.CHECKPOINT),
        wall_time=attrs.get(TrialAttrs.WALL_TIME), fail_reason=attrs.get(TrialAttrs.FAIL_REASON),
        user_attrs=attrs,
    )


def _mode(direction: Any) -> str | None:
    name = str(getattr(direction, "name", direction)).lower()
    return {"maximize": "max", "minimize": "min", "max": "max", "min": "min"}.get(name)


def study_objectives(objective: Any, directions: Sequence[Any] = ()) -> list[tuple[str, str]]:
    """A study's objectives as (metric, mode) pairs, the first one leading.

    Args:
        objective: the study's ``objective`` user attribute: ``{metric, mode}`` for a
            single-objective study, a list of them for a multi-objective one (None for a study
            poolnas did not write).
        directions: Optuna's ``study.directions`` (``StudyDirection`` or their names); their
            number is the number of objectives, and they give the mode the attribute lacks.

    Metrics the attribute does not name are "objective" (the first) and "objective_<i>".
    """
    stored = [o for o in (objective if isinstance(objective, list) else [objective])
              if isinstance(o, Mapping)]
    modes = [_mode(d) for d in directions]
    out = []
    for i in range(len(modes) or len(stored) or 1):
        item = stored[i] if i < len(stored) else {}
        mode = _mode(item.get("mode")) or (modes[i] if i < len(modes) else None) or "max"
        out.append((str(item.get("metric") or ("objective" if i == 0 else f"objective_{i}")), mode))
    return out


def check_study_name(name: Any, field: str = "study") -> str:
    """``name`` when it follows :data:`STUDY_NAME_PATTERN`; ConfigError (exit 2) otherwise."""
    import re

    from poolnas.errors import ConfigError

    if not isinstance(name, str) or re.fullmatch(STUDY_NAME_PATTERN, name) is None:
        raise ConfigError(field, name, "expected a study name of letters, digits, '_', '.' and '-' "
                          "(not starting with '.'), at most 128 characters")
    return name
