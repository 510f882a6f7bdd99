"""Evaluation: accuracy in batches under inference mode, one device sync per split."""

from __future__ import annotations

import base64
import contextlib
from typing import Any

import torch
from torch import nn

from poolnas.config import METRICS

__all__ = ["METRIC_NAMES", "evaluate_accuracy", "pack_correct", "unpack_correct"]

METRIC_NAMES = METRICS  # the per-epoch metrics, also the objectives a space file accepts


def evaluate_accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 512,
                      channels_last: bool = False, amp_dtype: torch.dtype | None = None,
                      correct_out: list[torch.Tensor] | None = None) -> float | None:
    """Top-1 accuracy (a fraction) of ``model`` on (x, y); None for an empty split.

    The model is put in eval mode; the caller puts it back in train mode. ``correct_out``
    receives each batch's per-example correctness (bool tensors, in order).
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
            hits = model(xb).argmax(1) == y[i:i + batch_size]
            correct += hits.sum()
            if correct_out is not None:
                correct_out.append(hits)
    return correct.item() / len(y)


def pack_correct(parts: list[torch.Tensor]) -> dict[str, Any]:
    """Per-example correctness as ``{"n": N, "bits": base64}``: one bit per test example in
    order, the first example the highest bit of the first byte (N = 10,000 takes 1,668
    characters). ``poolnas.evidence`` reads it back (the probability of improvement)."""
    flags = torch.cat(parts).to("cpu", torch.uint8).tolist() if parts else []
    out = bytearray((len(flags) + 7) // 8)
    for i, bit in enumerate(flags):
        if bit:
            out[i >> 3] |= 0x80 >> (i & 7)
    return {"n": len(flags), "bits": base64.b64encode(bytes(out)).decode("ascii")}


def unpack_correct(packed: dict[str, Any]) -> list[bool]:
    """The inverse of :func:`pack_correct`."""
    raw = base64.b64decode(packed["bits"])
    return [bool(raw[i >> 3] & (0x80 >> (i & 7))) for i in range(int(packed["n"]))]
