"""What evaluating the full Fashion-MNIST test set (10,000 images) costs next to training, at the
repro presets' budget (issue 20 item 4b).

``poolnas.trainers.train`` on the repro-pooling base (SE-ResNet-20, 2,000 training images,
3 epochs of ``fast``, batch 64, 1 thread) with ``test_subset`` null (all 10,000) and 1,000,
for GAP and MS-SRP. From each run's curves: training seconds (images / images_per_s, per
epoch) and evaluation seconds (epoch_time minus training: the per-epoch test pass), their
ratio, and the ratio of one test pass (evaluation / epochs) to the whole training, the cost
of ``trainer.test_every: end``.

Usage: python benchmarks/bench_eval_cost.py
"""

from __future__ import annotations

import os
import platform

import torch

from poolnas.config import config_from_dict
from poolnas.trainers import train


def main() -> None:
    torch.set_num_threads(1)
    print(f"# {platform.node()} {platform.machine()}, torch {torch.__version__}, "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    for pooling in ("gap", "srp-ms"):
        for test_subset in (None, 1000):
            cfg = config_from_dict({
                "model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
                "attention": {"pooling": pooling, "excitation": "se", "reduction": 16},
                "trainer": {"dataset": "fashion-mnist", "epochs": 3, "batch_size": 64, "recipe": "fast",
                            "device": "cpu", "num_threads": 1, "train_subset": 2000,
                            "test_subset": test_subset, "val_fraction": 0},
                "seed": 0})
            curves = train(cfg)["curves"]
            train_s = sum(2000 / ips for ips in curves["images_per_s"])
            eval_s = sum(curves["epoch_time"]) - train_s
            print(f"{pooling:7s} test images {test_subset or 10000:6d}: training {train_s:6.1f} s, "
                  f"evaluation every epoch {eval_s:6.1f} s = {eval_s / train_s:.3f} of training; one pass at "
                  f"the end {eval_s / 3 / train_s:.3f}; load {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
