"""Fractional GPUs (issue 8): a sweep whose trials ask for a quarter of a GPU each, four at
once on one GPU, against the same trials one at a time on the whole GPU.

Both runs are ``poolnas.search.run_sweep`` on a local Ray with one GPU, the same N trials
(SE-ResNet-20 on synthetic 32x32 data, ``--epochs`` epochs of ``--samples`` images, CUDA):

- fractional: ``resources: {cpu: 1, gpu: 0.25}``, 4 trials at once;
- whole: ``resources: {cpu: 1, gpu: 1}``, one trial at a time.

Reported, measured in one run: wall time of Tune's part (Ray's start not counted),
trials per minute, training images per second over the whole sweep, peak GPU memory in use
on the device while the sweep ran (NVML, every 0.2 s, all processes), and the ratios
fractional / whole.

Without CUDA it prints a SKIP line and exits 0. Result: none yet. No GPU was at hand when
this was written (issue 8's note, docs/benchmarks.md); run it on a GPU host:

    .venv/bin/python benchmarks/bench_fractional_gpu.py [--trials 8] [--epochs 2] [--samples 8192]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import threading
import time
from typing import Any

QUARTER = 0.25  # GPU per trial in the fractional run
AT_ONCE = 4  # trials at once in the fractional run (= 1 / QUARTER)


def space_doc(study: str, gpu: float, *, epochs: int, samples: int) -> dict[str, Any]:
    return {
        "study": study,
        "objective": {"metric": "val_acc", "mode": "max"},
        "sampler": "random",
        "trials": 1000,  # the run sets its own count
        "scheduler": {"type": "fifo"},
        "resources": {"cpu": 1, "gpu": gpu},
        "base": {
            "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 3},
            "attention": {"pooling": "gap", "excitation": "se"},
            "trainer": {"dataset": "synthetic", "image_size": 32, "num_samples": samples,
                        "epochs": epochs, "batch_size": 128, "recipe": "fast",
                        "device": "cuda", "num_threads": 1},
        },
        "space": {"attention.reduction": {"choice": [4, 8, 16]}},
    }


class GpuMemoryPeak:
    """Peak memory in use on GPU 0 (all processes), sampled with NVML in a thread."""

    def __init__(self, interval_s: float = 0.2) -> None:
        from ray._private.thirdparty import pynvml  # Ray's copy: no extra dependency

        self._nvml = pynvml
        pynvml.nvmlInit()
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        self.total = int(pynvml.nvmlDeviceGetMemoryInfo(self._handle).total)
        self.peak = 0
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def used(self) -> int:
        return int(self._nvml.nvmlDeviceGetMemoryInfo(self._handle).used)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.used())
            time.sleep(self._interval)

    def __enter__(self) -> GpuMemoryPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_mode(name: str, gpu: float, at_once: int, args: argparse.Namespace,
             folder: str) -> dict[str, Any]:
    import yaml

    from poolnas.search import run_sweep

    path = os.path.join(folder, f"{name}.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(space_doc(name, gpu, epochs=args.epochs, samples=args.samples), f)
    url = f"sqlite:///{os.path.join(folder, name + '.db')}"
    with GpuMemoryPeak() as mem:
        baseline = mem.used()
        res = run_sweep(path, storage=url, trials=args.trials, max_concurrent=at_once,
                        num_cpus=max(AT_ONCE, os.cpu_count() or 1), quiet=True)
    done = res.counts.get("COMPLETE", 0)
    images = done * args.epochs * args.samples
    return {
        "mode": name, "gpu_per_trial": gpu, "at_once": at_once, "complete": done,
        "counts": res.counts, "tune_s": round(res.tune_s, 2),
        "trials_per_min": round(60.0 * done / res.tune_s, 2) if res.tune_s else None,
        "images_per_s": round(images / res.tune_s, 1) if res.tune_s else None,
        "gpu_mem_peak_mib": round((mem.peak - baseline) / 2**20),
        "gpu_mem_total_mib": round(mem.total / 2**20),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=8192, help="training images per epoch")
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available():
        print("SKIP: no CUDA GPU here (torch.cuda.is_available() is False); nothing measured")
        return 0
    print(f"# {torch.cuda.get_device_name(0)}, torch {torch.__version__}, "
          f"python {platform.python_version()}, {args.trials} trials x {args.epochs} epochs "
          f"x {args.samples} images", flush=True)
    with tempfile.TemporaryDirectory(prefix="poolnas-bench-gpu-") as folder:
        rows = [run_mode("fractional", QUARTER, AT_ONCE, args, folder),
                run_mode("whole", 1.0, 1, args, folder)]
    for row in rows:
        print(json.dumps(row))
    frac, whole = rows
    if frac["complete"] != args.trials or whole["complete"] != args.trials:
        print("FAIL: not every trial completed", file=sys.stderr)
        return 1
    print(json.dumps({
        "throughput_ratio_fractional_over_whole": round(whole["tune_s"] / frac["tune_s"], 2),
        "gpu_mem_ratio_fractional_over_whole":
            round(frac["gpu_mem_peak_mib"] / max(whole["gpu_mem_peak_mib"], 1), 2),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
