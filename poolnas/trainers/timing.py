"""Cost metrics measured on the trial's own device: ``train_step_ms`` and ``infer_ms``.

- ``train_step_ms``: the fastest training step (batch selection, augmentation, forward,
  backward, optimiser step) over the real steps of the run, skipping the first
  :data:`WARMUP_STEPS` of every epoch (allocations, caches) and its last step (a partial
  batch). The minimum, not the median: on a shared machine other processes only ever add
  time, so the fastest of many repeats is the closest to the step's own cost; the median
  (``train_step_median_ms``) shows how much the load added. On CPU every op is
  synchronous, so ``perf_counter`` around a step measures it; on CUDA a pair of CUDA events
  per step is read once at the end of the epoch (no sync per step). Free: nothing extra runs.
- ``infer_ms``: the fastest of :data:`INFER_RUNS` forward passes of one batch in eval mode
  after training, after one warm-up pass (a few forwards: a fraction of a percent of a
  trial).
- ``cpu_load``: the machine's 1-minute load average per core when the times were taken
  (``os.getloadavg``; above about 1 other processes shared the cores: the times are upper
  bounds). Both times run with the trial's own thread count (``trainer.num_threads``).
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time

import torch
from torch import nn

__all__ = ["INFER_RUNS", "TIMED_STEPS_PER_EPOCH", "WARMUP_STEPS", "StepTimer", "cpu_load", "measure_infer_ms"]

WARMUP_STEPS = 3  # untimed steps at the start of each epoch (allocations, caches)
TIMED_STEPS_PER_EPOCH = 200  # enough for a minimum and a median; bounds the CUDA events kept
INFER_RUNS = 5


class StepTimer:
    """Per-step times (ms) of the training loop: ``token = start(step)`` ... ``stop(token)``."""

    def __init__(self, device: torch.device, steps_per_epoch: int) -> None:
        self.cuda = device.type == "cuda"
        self.first = min(WARMUP_STEPS, steps_per_epoch - 1)
        # the last step of an epoch may be a partial batch: not timed when others are
        self.end = steps_per_epoch - 1 if steps_per_epoch - 1 > self.first else steps_per_epoch
        self.times: list[float] = []
        self._events: list[tuple[torch.cuda.Event, torch.cuda.Event]] = []

    def start(self, step: int) -> torch.cuda.Event | float | None:
        """A token for a timed step, None for a step not timed."""
        if not self.first <= step < min(self.first + TIMED_STEPS_PER_EPOCH, self.end):
            return None
        if self.cuda:
            ev = torch.cuda.Event(enable_timing=True)
            ev.record()
            return ev
        return time.perf_counter()

    def stop(self, token: torch.cuda.Event | float | None) -> None:
        if token is None:
            return
        if self.cuda:
            end = torch.cuda.Event(enable_timing=True)
            end.record()
            self._events.append((token, end))
        else:
            self.times.append((time.perf_counter() - token) * 1e3)

    def end_epoch(self) -> None:
        """Read the CUDA events of the epoch (after the epoch's device sync)."""
        if self._events:
            self._events[-1][1].synchronize()
            self.times.extend(a.elapsed_time(b) for a, b in self._events)
            self._events.clear()

    def median_ms(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    def min_ms(self) -> float | None:
        """The fastest timed step: the step's own cost, what load from other processes adds
        left out (see the module docstring)."""
        return min(self.times) if self.times else None


def cpu_load() -> float | None:
    """The 1-minute load average per core now, or None where the OS does not give it."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None


def measure_infer_ms(model: nn.Module, x: torch.Tensor, *, channels_last: bool = False,
                     amp_dtype: torch.dtype | None = None, runs: int = INFER_RUNS) -> float | None:
    """Fastest ms of ``runs`` forward passes of the batch ``x`` in eval mode (after one warm-up pass);
    None for an empty batch. The model is left in eval mode."""
    if len(x) == 0:
        return None
    model.eval()
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    cuda = x.device.type == "cuda"
    autocast = (torch.autocast(device_type=x.device.type, dtype=amp_dtype) if amp_dtype
                else contextlib.nullcontext())
    times = []
    with torch.inference_mode(), autocast:
        for i in range(runs + 1):
            if cuda:
                torch.cuda.synchronize(x.device)
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize(x.device)
            if i > 0:  # the first pass is the warm-up
                times.append((time.perf_counter() - t0) * 1e3)
    return min(times)
