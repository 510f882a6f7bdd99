"""The trial and study records poolnas keeps in an Optuna study: the names of their user
attributes, the version of the stored trial config, and the key that groups repeats
(DESIGN.md, "Storage"). Where the study is stored is ``poolnas.storage``'s business."""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["TRIAL_CONFIG_VERSION", "StudyAttrs", "TrialAttrs", "config_key"]

# Version of the stored trial config (TrialAttrs.CONFIG); bump it when a field is renamed or
# removed, and teach poolnas.dashboards._migrate the change. Configs without one are version 0.
TRIAL_CONFIG_VERSION = 2  # 2: trainer.nesterov None = the recipe's value


class TrialAttrs:
    """Names of the user attributes every poolnas trial keeps (DESIGN.md)."""

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


class StudyAttrs:
    """Names of the user attributes every poolnas study keeps (DESIGN.md)."""

    SPACE = "space"  # the space file as loaded (dict)
    VERSION = "poolnas_version"
    OBJECTIVE = "objective"  # {metric, mode}


def config_key(config: dict[str, Any]) -> str:
    """Stable short hash of a trial config with its seed removed (repeats share it)."""
    doc = {k: v for k, v in config.items() if k != "seed"}
    return hashlib.sha1(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]
