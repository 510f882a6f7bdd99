"""What a trial changes in the process, set for its duration and restored, and what it records.

A trial needs process-wide settings: the intra-op thread count (on CPU it changes the order
of float reductions, hence the bits of every result), the global RNGs (the models' own
randomness, e.g. SRP regions, draws from torch's) and cudnn's autotuner. :func:`trial_state`
sets them for one ``train`` call and puts back what the caller had, so a Ray worker that
runs several trials in a row starts each one from the same state, and a notebook's threads
and RNG are as they were. :func:`describe_environment` is the record a trial stores so that
its numbers can be reproduced (``poolnas train --config`` of its config, on the same kind of
machine, with the threads written in its config).
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from poolnas.config import TrainerConfig

__all__ = ["available_cores", "cgroup_cpus", "cpu_has_bf16", "describe_environment", "resolve_threads",
           "trial_state"]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def cgroup_cpus(root: str | Path = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in cores (v2 ``cpu.max``, else v1
    ``cpu/cpu.cfs_quota_us`` / ``cpu.cfs_period_us``), None when there is none."""
    root = Path(root)
    v2 = _read(root / "cpu.max")
    pair = v2.split()[:2] if v2 else [_read(root / "cpu" / "cpu.cfs_quota_us"),
                                      _read(root / "cpu" / "cpu.cfs_period_us")]
    try:
        quota, period = int(pair[0]), int(pair[1])  # "max" (v2) / -1 (v1): no quota
    except (TypeError, ValueError, IndexError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def available_cores() -> int:
    """The cores this process really has: its CPU affinity (``os.sched_getaffinity``),
    capped by its cgroup's CPU quota (whole cores, at least 1). A container limited to 2 of
    64 cores gets 2, where ``torch.get_num_threads()`` would say 64."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = cgroup_cpus()
    if quota is not None:
        n = min(n, int(quota))
    return max(1, n)


def resolve_threads(tc: TrainerConfig) -> int:
    """The intra-op threads a trial uses: ``trainer.num_threads``, else the process's current
    count (in a Ray worker Ray's ``OMP_NUM_THREADS`` = the trial's CPUs; elsewhere torch's
    default, the machine's cores) capped by :func:`available_cores` (more threads than cores
    only wait for each other: OpenMP spin-waits)."""
    return int(tc.num_threads) if tc.num_threads else min(torch.get_num_threads(), available_cores())


def cpu_has_bf16() -> bool | None:
    """Whether the CPU has bf16 arithmetic units (``avx512_bf16`` or ``amx_bf16`` among the
    flags of /proc/cpuinfo); None where the flags cannot be read (not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_bf16", "amx_bf16", "bf16"})  # bf16: Arm v8.6
    except OSError:
        return None
    return None


@contextlib.contextmanager
def trial_state(threads: int, *, cudnn_benchmark: bool | None = None) -> Iterator[None]:
    """Run the block with ``threads`` intra-op threads (and cudnn.benchmark when not None);
    afterwards restore the caller's threads, cudnn flags and the python, numpy, torch (and
    CUDA, where it was initialised) RNG states, also when the block raises."""
    saved_threads = torch.get_num_threads()
    saved_cudnn = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic)
    saved_py, saved_np, saved_torch = random.getstate(), np.random.get_state(), torch.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    try:
        if threads != saved_threads:
            torch.set_num_threads(threads)
        if cudnn_benchmark is not None:
            torch.backends.cudnn.benchmark = cudnn_benchmark
        yield
    finally:
        if torch.get_num_threads() != saved_threads:
            torch.set_num_threads(saved_threads)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = saved_cudnn
        random.setstate(saved_py)
        np.random.set_state(saved_np)
        torch.set_rng_state(saved_torch)
        if saved_cuda is not None:
            torch.cuda.set_rng_state_all(saved_cuda)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_name() -> str | None:
    """The CPU model (Linux: /proc/cpuinfo's "model name"; elsewhere platform.processor())."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip() or None
    except OSError:
        pass
    return platform.processor() or None


def describe_environment(device: torch.device, threads: int) -> dict[str, Any]:
    """What reproducing a trial's numbers needs (JSON-able): versions, the intra-op threads
    it used, the device, cudnn/determinism flags in force, and the CPU or GPU model."""
    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": _version("torchvision"),
        "numpy": np.__version__,
        "threads": int(threads),
        "device": str(device),
        "machine": platform.machine(),
        "cpu": _cpu_name(),
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    }
    if device.type == "cuda":
        env.update({
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version(),
            "cudnn_benchmark": bool(torch.backends.cudnn.benchmark),
            "cudnn_deterministic": bool(torch.backends.cudnn.deterministic),
            "gpu": torch.cuda.get_device_name(device),
        })
    return env
