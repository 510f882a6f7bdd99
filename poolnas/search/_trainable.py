"""The Ray Tune function trainable that runs one poolnas trial config.

It runs in a Ray worker. It reports one Tune result per epoch (the objective and the
other metrics, so ASHA can stop it and Optuna records intermediate values) and, when the
trial function returns, one last result carrying the trial's outcome under ``poolnas_outcome``:
``{"status": "complete", "attrs": {...}}`` (the attributes the trainer returned) or
``{"status": "fail", "reason": "..."}``. The last epoch's report is held back and merged into
that final result so that Tune's iteration count equals the number of epochs. Only the Tune
callback ``poolnas.search._outcome.TrialOutcomes`` reads it.

An exception of the trial function (a crash, NaN loss, out of memory) is reported as a fail
outcome (one line) and the trainable returns normally, so Ray keeps the worker process for
the next trial (a raised error costs a new worker: seconds of process start and imports).
What Ray itself reports as an error (the worker died) arrives through Tune's error path.
The worker never opens the study storage: only the driver writes.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import socket
import time
from collections.abc import Callable
from typing import Any

from poolnas.config import ACCURACY_METRICS, TrialConfig, config_from_dict
from poolnas.errors import NonFiniteLossError
from poolnas.records import TrialAttrs

__all__ = ["OUTCOME_KEY", "INVALID_KEY", "NODE_KEY", "RSS_KEY", "failure_reason",
           "run_trial", "trial_attrs"]

OUTCOME_KEY = "poolnas_outcome"  # the last result: {"status": "complete"|"fail", ...}
INVALID_KEY = "poolnas_invalid"  # in a suggested config: the reason it cannot run
NODE_KEY = "poolnas_node"  # in each result: where the trial runs
RSS_KEY = "poolnas_peak_rss_mb"  # in each result: the worker's peak resident memory so far
# What the trainer returns that each trial keeps as it is (TrialAttrs), besides the rest below.
_PLAIN_ATTRS = (TrialAttrs.N_PARAMS, TrialAttrs.WALL_TIME, TrialAttrs.ENVIRONMENT, TrialAttrs.COST,
                TrialAttrs.TEST_CORRECT)


def failure_reason(err: BaseException) -> str:
    """One line naming what went wrong: NaN loss, out of memory, or the exception."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if isinstance(err, NonFiniteLossError):
        return f"nan: {text}"
    name = type(err).__name__
    if isinstance(err, MemoryError) or name == "OutOfMemoryError" or "out of memory" in text.lower():
        return f"out of memory: {name}: {text}"[:500]
    return f"{name}: {text}"[:500]


def _numeric(metrics: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        out[key] = float(value)
    return out


def _node_name() -> str:
    """Where this trial runs: host name and Ray node id (several nodes may share a host)."""
    import ray

    try:
        node_id = ray.get_runtime_context().get_node_id()
    except Exception:  # noqa: BLE001 - outside Ray (direct calls in tests)
        return socket.gethostname()
    return f"{socket.gethostname()}/{node_id[:12]}"


def _peak_rss_mb() -> float:
    """This process's peak resident memory in MiB (Linux: ru_maxrss is in KiB)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def release_trial_memory() -> None:
    """After a trial, in a worker Ray reuses for the next one: collect the trial's reference
    cycles (a model's modules and hooks, the optimizer's state: freed only by a full
    collection, which the few objects a trial allocates rarely trigger) and hand the pages
    malloc kept back to the system (glibc's ``malloc_trim``; nothing elsewhere), so the next
    trial starts where the first one did instead of beside the last one's leftovers."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim() -> Any:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def _fail(reason: str, node: str | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {OUTCOME_KEY: {"status": "fail", "reason": reason},
                           RSS_KEY: _peak_rss_mb()}
    if node:
        row[NODE_KEY] = node
    return row


def _plain(value: Any) -> Any:
    """JSON-like data (dicts, lists, numbers, text) that Tune's results carry unchanged."""
    return json.loads(json.dumps(value, default=str))


def trial_attrs(result: dict[str, Any], metrics: dict[str, float], node: str,
                wall_time: float) -> dict[str, Any]:
    """The user attributes of a finished trial (``TrialAttrs`` names) from what the trial
    function returned: every attribute the trainer reports (metrics, curves, n_params, device,
    wall_time, checkpoint, environment, cost) plus the node it ran on. The one place a
    trainer's result is reshaped: the driver stores these as they are (``_outcome``)."""
    attrs: dict[str, Any] = {TrialAttrs.METRICS: metrics, TrialAttrs.CURVES: result.get("curves") or {},
                             TrialAttrs.NODE: node}
    for key in _PLAIN_ATTRS:
        if result.get(key) is not None:
            attrs[key] = result[key]
    attrs[TrialAttrs.WALL_TIME] = float(attrs.get(TrialAttrs.WALL_TIME, wall_time))
    attrs[TrialAttrs.DEVICE] = str(result["device"]) if result.get("device") is not None else None
    attrs[TrialAttrs.CHECKPOINT] = str(result["checkpoint"]) if result.get("checkpoint") else None
    return _plain(attrs)


def run_trial(config: dict[str, Any], trial_fn: Callable[..., dict[str, Any]] | None = None) -> None:
    """Tune function trainable. ``config`` is what the searcher suggested:
    ``{"trial_config": {...}, "number": N}`` or ``{INVALID_KEY: reason, "number": N}``."""
    from ray import tune

    if INVALID_KEY in config:
        tune.report(_fail(str(config[INVALID_KEY])))
        return
    if trial_fn is None:  # here: the driver imports this module and never torch (the trainer's)
        from poolnas.trainers import train as trial_fn
    node = _node_name()
    # The driver's searcher validated this config (Space.to_trial_config) and sent its JSON form;
    # config_from_dict is the way back to a TrialConfig, not a second check: pydantic's
    # model_construct leaves nested sections as dicts, and building each section with it
    # measured slower than validating (138 vs 57 us per config, pydantic 2.14).
    cfg: TrialConfig = config_from_dict(config["trial_config"])
    epochs = cfg.trainer.epochs
    held: list[dict[str, Any]] = []
    calls = 0

    def on_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        row: dict[str, Any] = dict(_numeric(metrics))
        row[NODE_KEY] = node
        row[RSS_KEY] = _peak_rss_mb()
        if calls >= epochs:  # the last epoch: merged into the final report below
            held.append(row)
            return
        tune.report(row)

    start = time.perf_counter()
    failed: str | None = None
    # What lives now (the imports, torch's included, and Ray's worker) outlives the trial: frozen
    # out of the collector's view, the full collection after the trial scans only the trial's own
    # objects (0.4 ms instead of 0.15 s over ~330,000 objects). Garbage first, so none is frozen
    # for good (a full scan once per worker; later ones see only what came since the last freeze).
    gc.collect()
    gc.freeze()
    try:
        result = trial_fn(cfg, on_epoch=on_epoch)
    except Exception as err:  # noqa: BLE001 - any failure of the trial is its fail_reason
        failed = failure_reason(err)
    release_trial_memory()  # here: the exception (its frames hold the model, the data) is gone
    if failed is not None:
        tune.report(_fail(failed, node))
        return
    final = dict(held[-1]) if held else {}
    metrics = _numeric(result.get("metrics") or {})
    final.update(metrics)
    for key, value in metrics.items():
        if key in (*ACCURACY_METRICS, "train_loss") and not math.isfinite(value):
            tune.report(_fail(f"nan: final metric {key} is {value}", node))
            return
    final[NODE_KEY] = node
    final[RSS_KEY] = _peak_rss_mb()
    final[OUTCOME_KEY] = {"status": "complete",
                          "attrs": trial_attrs(result, metrics, node, time.perf_counter() - start)}
    tune.report(final)
