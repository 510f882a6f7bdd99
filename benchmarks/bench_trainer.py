"""Images/s of the poolnas training loop against a minimal hand-written PyTorch loop.

Same model (``poolnas.models.build_model``), same data (``load_dataset``), measured in one
run with the two loops interleaved round by round, so load from other processes on the
machine hits both alike; the ratio is what counts. Training images/s only (evaluation
excluded on both sides); the median over the timed epochs of each side.

- CPU: SE-ResNet-20 with MS-SRP (λ 0.6, M 5) on synthetic 3x16x16 data, batch 128; the
  poolnas loop without augmentation (the minimal loop has none) and, as a second line,
  with it (the cost of batched pad-crop + flip).
- CUDA (when present): ResNet-56 (SE, GAP) on CIFAR-shaped synthetic data (3x32x32),
  batch 512, AMP + channels_last on both sides; poolnas keeps the dataset on the GPU,
  the baseline feeds it from a torch DataLoader (pinned memory, 4 workers).

Result (docs/benchmarks.md, "Trainer (issue 4)"): see there for the machine, versions and
numbers of the last run.

The poolnas sides run with the trainer's defaults (``channels_last: auto``: channels-last on
the CPU too); also interleaved in the same rounds: the poolnas loop contiguous
(``channels_last: off``, the minimal loop's layout; ratio channels_last / contiguous) and,
with ``--amp``, a loop under CPU bf16 autocast (ratio to
float32): the measurements behind the CPU defaults (docs/trainers.md, "Loop").

Usage: python benchmarks/bench_trainer.py [--rounds 3] [--samples 1024] [--threads 2] [--size 16]
       [--amp]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from poolnas.config import config_from_dict
from poolnas.models import build_model
from poolnas.trainers import load_dataset, train


def _config(device: str, *, arch: str, size: int, samples: int, batch: int, augment: bool,
            epochs: int, pooling: str, channels_last: str = "auto", amp: str = "off") -> object:
    return config_from_dict({
        "model": {"arch": arch, "in_channels": 3, "num_classes": 10},
        "attention": {"pooling": pooling, "lam": 0.6, "M": 5},
        "trainer": {"dataset": "synthetic", "image_size": size, "num_samples": samples,
                    "batch_size": batch, "epochs": epochs, "recipe": "paper-resnet",
                    "val_fraction": 0.0, "augment": augment, "device": device,
                    "channels_last": channels_last, "amp": amp},
        "seed": 0,
    })


def poolnas_epochs(cfg) -> list[float]:
    """images/s of each epoch of the poolnas loop (training part)."""
    return train(cfg)["curves"]["images_per_s"]


def minimal_cpu_epochs(cfg, epochs: int) -> list[float]:
    """The textbook loop: shuffle, index, forward, cross-entropy, backward, SGD step."""
    torch.manual_seed(0)
    data = load_dataset(cfg.trainer, in_channels=3, num_classes=10)
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x, y, bs = data.train_x, data.train_y, cfg.trainer.batch_size
    rates = []
    for _ in range(epochs):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(y))
        for i in range(0, len(y), bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        rates.append(len(y) / (time.perf_counter() - t0))
    return rates


def minimal_cuda_dataloader_epochs(cfg, epochs: int) -> list[float]:
    """A usual GPU loop: CPU tensors through a DataLoader, AMP, channels_last."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(0)
    data = load_dataset(cfg.trainer, in_channels=3, num_classes=10)
    dev = torch.device("cuda")
    model = build_model(cfg).to(dev, memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    loader = DataLoader(TensorDataset(data.train_x, data.train_y), batch_size=cfg.trainer.batch_size,
                        shuffle=True, num_workers=4, pin_memory=True, persistent_workers=True)
    rates = []
    for _ in range(epochs):
        model.train()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        n = 0
        for xb, yb in loader:
            xb = xb.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
            yb = yb.to(dev, non_blocking=True)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n += len(yb)
        torch.cuda.synchronize()
        rates.append(n / (time.perf_counter() - t0))
    return rates


def _bf16_epochs(cfg) -> list[float]:
    """The minimal loop under CPU bf16 autocast (the trainer refuses ``amp: on`` on a CPU
    without bf16 units, so this side measures what it would cost)."""
    torch.manual_seed(0)
    data = load_dataset(cfg.trainer, in_channels=3, num_classes=10)
    model = build_model(cfg)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    x, y, bs = data.train_x, data.train_y, cfg.trainer.batch_size
    rates = []
    for _ in range(cfg.trainer.epochs):
        t0 = time.perf_counter()
        for i in range(0, len(y), bs):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(x[i:i + bs]), y[i:i + bs])
            opt.zero_grad()
            loss.backward()
            opt.step()
        rates.append(len(y) / (time.perf_counter() - t0))
    return rates


def _interleave(rounds: int, sides: dict) -> dict[str, float]:
    """Median images/s of each side, the sides alternating round by round (first epoch
    of every call dropped as warm-up)."""
    samples: dict[str, list[float]] = {k: [] for k in sides}
    for _ in range(rounds):
        for name, fn in sides.items():
            samples[name].extend(fn()[1:])
    return {k: statistics.median(v) for k, v in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--samples", type=int, default=1024)
    ap.add_argument("--epochs", type=int, default=3, help="epochs per call (the first is warm-up)")
    ap.add_argument("--size", type=int, default=16, help="image side of the synthetic data")
    ap.add_argument("--amp", action="store_true", help="also time bf16 autocast (slow without bf16 units)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: two threads collapse on a shared 2-core machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"python {platform.python_version()}, "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    common = dict(arch="resnet20", size=args.size, samples=args.samples, batch=128, epochs=args.epochs,
                  pooling="srp-ms")
    plain = _config("cpu", augment=False, **common)
    aug = _config("cpu", augment=True, **common)
    sides = {
        "poolnas": lambda: poolnas_epochs(plain),
        "minimal": lambda: minimal_cpu_epochs(plain, args.epochs),
        "poolnas+augment": lambda: poolnas_epochs(aug),
        # the CPU defaults of issue 20 item 6 (channels_last: auto = on) against the same
        # loop contiguous, the layout of the minimal loop
        "poolnas-contiguous": lambda: poolnas_epochs(_config("cpu", augment=False, channels_last="off",
                                                             **common)),
    }
    if args.amp:  # bf16 autocast on this CPU (refused by the trainer where it lacks bf16 units)
        sides["poolnas+bf16"] = lambda: _bf16_epochs(plain)
    res = _interleave(args.rounds, sides)
    print(f"CPU SE-ResNet-20 MS-SRP, synthetic 3x{args.size}x{args.size}, batch 128, "
          f"{torch.get_num_threads()} threads")
    for k, v in res.items():
        print(f"  {k:16s} {v:8.1f} images/s")
    print(f"  ratio poolnas/minimal          {res['poolnas'] / res['minimal']:.3f}")
    print(f"  ratio poolnas+augment/minimal  {res['poolnas+augment'] / res['minimal']:.3f}")
    print(f"  ratio poolnas-contiguous/minimal {res['poolnas-contiguous'] / res['minimal']:.3f}")
    print(f"  ratio channels_last/contiguous {res['poolnas'] / res['poolnas-contiguous']:.3f}")
    if "poolnas+bf16" in res:
        print(f"  ratio bf16 autocast/float32 (minimal loops) {res['poolnas+bf16'] / res['minimal']:.3f}")
    print(f"# load after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    if torch.cuda.is_available():
        print(f"# GPU {torch.cuda.get_device_name()}")
        gpu = _config("cuda", arch="resnet56", size=32, samples=20000, batch=512, augment=True,
                      epochs=args.epochs, pooling="gap")
        res = _interleave(args.rounds, {
            "poolnas-gpu-data": lambda: poolnas_epochs(gpu),
            "dataloader": lambda: minimal_cuda_dataloader_epochs(gpu, args.epochs),
        })
        print("CUDA SE-ResNet-56 GAP, synthetic 3x32x32, batch 512, bf16 AMP, channels_last")
        for k, v in res.items():
            print(f"  {k:16s} {v:8.1f} images/s")
        print(f"  ratio poolnas/dataloader       {res['poolnas-gpu-data'] / res['dataloader']:.3f}")
    else:
        print("# CUDA: not available here (the GPU comparison was skipped)")


if __name__ == "__main__":
    main()
