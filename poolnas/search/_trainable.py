"""The Ray Tune function trainable that runs one poolnas trial config.

It runs in a Ray worker. It reports one Tune result per epoch (the objective and the
other metrics, so ASHA can stop it and Optuna records intermediate values) and, when the
trial function returns, one last result carrying ``poolnas_done`` and the trial's
attributes as JSON. The last epoch's report is held back and merged into that final
result so that Tune's iteration count equals the number of epochs.

An exception of the trial function (a crash, NaN loss, out of memory) is reported as a last
result carrying ``poolnas_fail_reason`` (one line) and the trainable returns normally, so
Ray keeps the worker process for the next trial (a raised error costs a new worker: seconds
of process start and imports). The driver stores the reason as the trial's ``fail_reason``.
What Ray itself reports as an error (the worker died) arrives through Tune's error path.
The worker never opens the study storage: only the driver writes.
"""

from __future__ import annotations

import json
import math
import socket
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DONE_KEY", "FAIL_KEY", "ATTRS_KEY", "INVALID_KEY", "NODE_KEY", "TrialFailed", "failure_reason",
           "run_trial"]

DONE_KEY = "poolnas_done"
FAIL_KEY = "poolnas_fail_reason"
ATTRS_KEY = "poolnas_attrs"
INVALID_KEY = "poolnas_invalid"
NODE_KEY = "poolnas_node"


class TrialFailed(RuntimeError):
    """A trial failed; ``str(err)`` is the one-line reason stored in ``fail_reason``."""


def failure_reason(err: BaseException) -> str:
    """One line naming what went wrong: NaN loss, out of memory, or the exception."""
    from poolnas.errors import NonFiniteLossError

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


def run_trial(config: dict[str, Any], trial_fn: Callable[..., dict[str, Any]] | None = None) -> None:
    """Tune function trainable. ``config`` is what the searcher suggested:
    ``{"trial_config": {...}, "number": N}`` or ``{INVALID_KEY: reason, "number": N}``."""
    from ray import tune

    from poolnas.config import config_from_dict

    if INVALID_KEY in config:
        tune.report({FAIL_KEY: str(config[INVALID_KEY])})
        return
    if trial_fn is None:
        from poolnas.trainers import train as trial_fn
    node = _node_name()
    try:
        cfg = config_from_dict(config["trial_config"])
    except Exception as err:  # validated by the driver already; be safe anyway
        tune.report({FAIL_KEY: failure_reason(err)})
        return
    epochs = cfg.trainer.epochs
    held: list[dict[str, float]] = []
    calls = 0

    def on_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        row = _numeric(metrics)
        row[NODE_KEY] = node  # type: ignore[assignment]
        if calls >= epochs:  # the last epoch: merged into the final report below
            held.append(row)
            return
        tune.report(row)

    start = time.perf_counter()
    try:
        result = trial_fn(cfg, on_epoch=on_epoch)
    except Exception as err:  # noqa: BLE001 - any failure of the trial is its fail_reason
        tune.report({FAIL_KEY: failure_reason(err), NODE_KEY: node})
        return
    final = dict(held[-1]) if held else {}
    metrics = _numeric(result.get("metrics") or {})
    final.update(metrics)
    for key, value in metrics.items():
        if key in ("val_acc", "test_acc", "train_loss") and not math.isfinite(value):
            tune.report({FAIL_KEY: f"nan: final metric {key} is {value}", NODE_KEY: node})
            return
    attrs = {
        "metrics": metrics,
        "curves": result.get("curves") or {},
        "n_params": result.get("n_params"),
        "device": str(result.get("device")) if result.get("device") is not None else None,
        "node": node,
        "wall_time": float(result.get("wall_time") or (time.perf_counter() - start)),
        "checkpoint": str(result["checkpoint"]) if result.get("checkpoint") else None,
    }
    final[NODE_KEY] = node  # type: ignore[assignment]
    final[DONE_KEY] = 1.0
    final[ATTRS_KEY] = json.dumps(attrs, default=str)  # type: ignore[assignment]
    tune.report(final)

