"""The sd of paired differences between two configurations, with and without common random
numbers, on real Fashion-MNIST (issue 20 item 4).

Two configurations of SE-ResNet-20 (``--a`` and ``--b`` poolings, default GAP and MS-SRP),
trained by ``poolnas.trainers.train`` for seeds 0..n-1 on a stratified subset of
Fashion-MNIST. Designs:

- ``crn``: both configurations with seed s (poolnas's design: the same backbone weights,
  batches and augmentation draws; the same data subsets);
- ``independent``: b with seed s + 1000 (its own backbone init, batch order and
  augmentation: what running each configuration with its own seeds gives);
- ``crn+per-seed-subsets``: both with seed s and ``trainer.subsets: per-seed`` (each seed
  a new training and test sample, shared by the two).

Prints per design the mean and sd over seeds of test_acc(b) - test_acc(a) in points, the
sd of each side alone, and the ratio of the sds. Trials of the designs are interleaved
seed by seed, so load from other processes falls on all of them alike.

Usage: python benchmarks/bench_paired_noise.py [--seeds 8] [--train 1000] [--test 1000]
       [--epochs 2] [--a gap] [--b srp-ms]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from poolnas.config import config_from_dict
from poolnas.trainers import train


def _config(pooling: str, seed: int, args: argparse.Namespace, subsets: str = "fixed"):
    return config_from_dict({
        "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        "attention": {"pooling": pooling, "excitation": "se", "reduction": 16},
        "trainer": {"dataset": "fashion-mnist", "epochs": args.epochs, "batch_size": 64, "recipe": "fast",
                    "device": "cpu", "num_threads": 1, "train_subset": args.train,
                    "test_subset": args.test, "val_fraction": 0, "subsets": subsets},
        "seed": seed,
    })


def _acc(cfg) -> float:
    return 100.0 * float(train(cfg)["metrics"]["test_acc"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--test", type=int, default=1000, help="test images (0: the full 10,000)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--a", default="gap")
    ap.add_argument("--b", default="srp-ms")
    args = ap.parse_args()
    args.test = args.test or None
    torch.set_num_threads(1)
    print(f"# {platform.node()} {platform.machine()}, torch {torch.__version__}, python "
          f"{platform.python_version()}, load {' '.join(f'{v:.2f}' for v in os.getloadavg())}", flush=True)
    acc: dict[str, list[float]] = {k: [] for k in ("a", "b", "b_indep", "a_sub", "b_sub")}
    t0 = time.perf_counter()
    for s in range(args.seeds):
        acc["a"].append(_acc(_config(args.a, s, args)))
        acc["b"].append(_acc(_config(args.b, s, args)))
        acc["b_indep"].append(_acc(_config(args.b, s + 1000, args)))
        acc["a_sub"].append(_acc(_config(args.a, s, args, "per-seed")))
        acc["b_sub"].append(_acc(_config(args.b, s, args, "per-seed")))
        print(f"  seed {s}: " + " ".join(f"{k} {v[-1]:.1f}" for k, v in acc.items()), flush=True)
    designs = {
        "crn": (acc["a"], acc["b"]),
        "independent": (acc["a"], acc["b_indep"]),
        "crn+per-seed-subsets": (acc["a_sub"], acc["b_sub"]),
    }
    print(f"SE-ResNet-20 {args.b} - {args.a}, Fashion-MNIST {args.train} train / {args.test or 10000} test, "
          f"{args.epochs} epochs fast, batch 64, 1 thread, {args.seeds} seeds "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"  {'design':22s} {'mean diff':>9s} {'sd diff':>8s} {'sd a':>6s} {'sd b':>6s}")
    for name, (a, b) in designs.items():
        d = [y - x for x, y in zip(a, b, strict=True)]
        print(f"  {name:22s} {statistics.mean(d):9.2f} {statistics.stdev(d):8.2f} "
              f"{statistics.stdev(a):6.2f} {statistics.stdev(b):6.2f}")
    sd = {k: statistics.stdev([y - x for x, y in zip(*v, strict=True)]) for k, v in designs.items()}
    print(f"  sd ratio independent / crn: {sd['independent'] / sd['crn']:.2f}")
    print(f"# load after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
