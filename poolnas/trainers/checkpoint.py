"""Checkpoints: weights, optimizer, epoch, curves and the config as plain data.

Everything stored is a tensor, a number, a string, a list or a dict, so a checkpoint
loads with ``torch.load(weights_only=True)`` (no pickled classes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from poolnas.errors import ConfigError

__all__ = ["CHECKPOINT_FORMAT", "load_checkpoint", "save_checkpoint"]

CHECKPOINT_FORMAT = 1


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` atomically (temporary file, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save({"format": CHECKPOINT_FORMAT, **state}, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights_only=True).

    Raises:
        ConfigError: the file is missing or is not a poolnas checkpoint.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ConfigError("resume", str(path), "expected an existing checkpoint file")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # corrupt file, or pickled objects refused by weights_only
        raise ConfigError("resume", str(path),
                          f"expected a poolnas checkpoint ({type(err).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ConfigError("resume", str(path), f"expected a poolnas checkpoint of format {CHECKPOINT_FORMAT}")
    return state
