"""Trial functions with the signature of ``poolnas.trainers.train`` that do no training.

They let tests and ``benchmarks/bench_sweep.py`` drive the whole orchestration (Ray Tune,
the Optuna storage, the scheduler, failures) with trials of a known length and outcome.
Pass one, e.g. ``functools.partial(sleep_trial, epoch_s=5.0)``, as ``run_sweep(trial_fn=...)``.
The reported accuracy is a deterministic function of the config, so samplers and ASHA see
different trials as different.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from poolnas.config import TrialConfig
from poolnas.errors import NonFiniteLossError

__all__ = ["crashing_trial", "disk_filling_trial", "memory_trial", "modules_trial", "nan_trial",
           "raising_trial", "score_of", "sleep_trial"]

OnEpoch = Callable[[int, dict[str, float]], None] | None


def score_of(config: TrialConfig) -> float:
    """A stable pseudo accuracy in [0.1, 0.9] for a config (seed included)."""
    digest = hashlib.sha1(json.dumps(config.to_dict(), sort_keys=True).encode()).digest()
    return 0.1 + 0.8 * int.from_bytes(digest[:4], "big") / 2**32


def sleep_trial(
    config: TrialConfig, *, on_epoch: OnEpoch = None, epoch_s: float = 0.0, **_: object
) -> dict[str, Any]:
    """Sleep ``epoch_s`` seconds per epoch of ``config.trainer.epochs`` and report metrics.

    Accuracy rises over the epochs towards ``score_of(config)``.
    """
    start = time.perf_counter()
    final = score_of(config)
    epochs = config.trainer.epochs
    curves: dict[str, list[float]] = {"val_acc": [], "test_acc": [], "train_loss": []}
    metrics: dict[str, float] = {}
    for epoch in range(epochs):
        t0 = time.perf_counter()
        if epoch_s > 0:
            time.sleep(epoch_s)
        acc = final * (epoch + 1) / epochs
        metrics = {"val_acc": acc, "test_acc": acc, "train_loss": 1.0 - acc,
                   "epoch_time": time.perf_counter() - t0, "images_per_s": 0.0}
        for key in curves:
            curves[key].append(metrics[key])
        if on_epoch is not None:
            on_epoch(epoch + 1, dict(metrics, epoch=epoch + 1))
    return {"metrics": metrics, "curves": curves, "n_params": 1234, "device": "cpu",
            "wall_time": time.perf_counter() - start, "checkpoint": None,
            "environment": {"trial_fn": "sleep_trial", "device": "cpu", "threads": 1},
            "cost": {"params": 1234, "flops": 5678}}


def raising_trial(
    config: TrialConfig, *, on_epoch: OnEpoch = None, fail_above: float = 0.5,
    epoch_s: float = 0.0, **_: object
) -> dict[str, Any]:
    """Like ``sleep_trial`` but raises RuntimeError after one epoch when the config's
    score is above ``fail_above`` (so some trials of a sweep fail and others do not)."""
    if score_of(config) > fail_above:
        if on_epoch is not None:
            on_epoch(1, {"val_acc": 0.1, "test_acc": 0.1, "train_loss": 2.0,
                         "epoch_time": 0.0, "images_per_s": 0.0, "epoch": 1})
        raise RuntimeError(f"boom in trial with seed {config.seed}")
    return sleep_trial(config, on_epoch=on_epoch, epoch_s=epoch_s)


def nan_trial(config: TrialConfig, *, on_epoch: OnEpoch = None, **_: object) -> dict[str, Any]:
    """Raises NonFiniteLossError at the first epoch, as the trainer does on a NaN loss."""
    raise NonFiniteLossError(0, 3, math.nan)


def crashing_trial(config: TrialConfig, *, on_epoch: OnEpoch = None, **_: object) -> dict[str, Any]:
    """The worker process dies (as when the kernel's OOM killer ends it)."""
    os._exit(3)


def disk_filling_trial(
    config: TrialConfig, *, on_epoch: OnEpoch = None, pooling: str = "max", path: str = "",
    **_: object
) -> dict[str, Any]:
    """Like ``sleep_trial``; the trial whose ``attention.pooling`` is ``pooling`` first fills
    the file system of ``path`` (writes zeros there until it is full), so the driver's next
    write to a database on that file system fails as on a full disk."""
    if config.attention.pooling == pooling and path:
        block = b"\0" * (64 * 1024)
        try:
            with open(path, "ab") as f:
                while True:
                    f.write(block)
                    f.flush()
        except OSError:  # ENOSPC: full
            pass
    return sleep_trial(config, on_epoch=on_epoch)


def memory_trial(
    config: TrialConfig, *, on_epoch: OnEpoch = None, pooling: str = "max", step_mb: int = 64,
    limit_mb: int = 4096, step_s: float = 0.05, **_: object
) -> dict[str, Any]:
    """Like ``sleep_trial``; the trial whose ``attention.pooling`` is ``pooling`` first takes
    memory, ``step_mb`` at a time (written, so resident) every ``step_s`` seconds up to
    ``limit_mb``, as a trial whose model does not fit does, then lets it go and finishes. With
    Ray's memory monitor set low (``RAY_memory_usage_threshold``) the monitor kills its worker
    on the way up."""
    if config.attention.pooling == pooling:
        held = []
        for _step in range(max(1, limit_mb // step_mb)):
            held.append(bytearray(b"\x01") * (step_mb * 2**20))
            time.sleep(step_s)
        del held
    return sleep_trial(config, on_epoch=on_epoch)


def modules_trial(config: TrialConfig, *, on_epoch: OnEpoch = None,
                  inner: Callable[..., dict[str, Any]] | None = None, **_: object) -> dict[str, Any]:
    """``inner`` (``poolnas.trainers.train``, say; default ``sleep_trial``); its ``environment``
    lists the top-level modules its worker process holds afterwards (``modules``), so a test
    can check what a trial worker imports."""
    out = dict((inner or sleep_trial)(config, on_epoch=on_epoch))
    env = dict(out.get("environment") or {})
    env["modules"] = sorted({name.split(".")[0] for name in list(sys.modules)})
    out["environment"] = env
    return out
