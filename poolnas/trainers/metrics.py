"""Evaluation: accuracy in batches under inference mode, one device sync per split."""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from poolnas.config import METRICS

__all__ = ["METRIC_NAMES", "evaluate_accuracy"]

METRIC_NAMES = METRICS  # the per-epoch metrics, also the objectives a space file accepts


def evaluate_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512,
                      channels_last: bool = False, amp_dtype: torch.dtype | None = None) -> float | None:
    """Top-1 accuracy (a fraction) of ``model`` on (x, y); None for an empty split.

    The model is put in eval mode; the caller puts it back in train mode.
    """
    if len(y) == 0:
        return None
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=y.device)
    autocast = (torch.autocast(device_type=x.device.type, dtype=amp_dtype) if amp_dtype
                else contextlib.nullcontext())
    with torch.inference_mode(), autocast:
        for i in range(0, len(y), batch_size):
            xb = x[i:i + batch_size]
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            correct += (model(xb).argmax(1) == y[i:i + batch_size]).sum()
    return correct.item() / len(y)
