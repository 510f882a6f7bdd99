"""Training-step time of ResNet-20 with BA2M against the same network without it (issue 20 item 1).

Four sides, interleaved step by step in one run (so load from other processes hits all
alike): ``plain`` (ResNet-20, no attention), ``ba2m`` (BA2M after the last block of each of the
three stages, ``batch_attention.stages: [1, 2, 3]``, as poolnas builds it now: with head width
1 and a moderate product range the affinity's certified Chebyshev low-rank form, else the
exact blocked kernel, :mod:`poolnas.attention._affinity`), ``ba2m-exact`` (the exact blocked
kernel everywhere: the column means a block of images at a time) and ``ba2m-full-softmax``
(the formulation before both: ``bmm -> softmax -> mean`` over the whole ``N x HW x HW``
matrix). Each BA2M call's plan is printed (HW, head width, X·Y = max|f| (max g - min g), the
Chebyshev degree or "exact").
A step is forward, cross-entropy, backward (no optimiser step: the same for all sides).
Prints the median step time of each side and the ratios to ``plain``; ``--profile`` adds
the operator table of one BA2M step.

Usage: python benchmarks/bench_ba2m.py [--steps 12] [--batch 128] [--size 32] [--channels 3]
       [--reduction 32] [--threads 1] [--profile]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

import poolnas.attention._affinity as affinity
import poolnas.attention.ba2m as ba2m_module
from poolnas.config import config_from_dict
from poolnas.models import build_model


def full_softmax_column_mean(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The formulation before issue 20: the whole (N, HW, HW) softmax kept for autograd."""
    return torch.bmm(f.transpose(1, 2), g).softmax(dim=-1).mean(dim=1)


def _model(ba2m: bool, channels: int, reduction: int) -> torch.nn.Module:
    cfg = config_from_dict({
        "model": {"arch": "resnet20", "in_channels": channels, "num_classes": 10},
        "attention": {"pooling": "none", "batch_attention": {
            "enabled": ba2m, "reduction": reduction, "stages": [1, 2, 3]}},
        "trainer": {"dataset": "synthetic"},
    })
    torch.manual_seed(0)
    return build_model(cfg).train()


def _step(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    t0 = time.perf_counter()
    loss = F.cross_entropy(model(x), y)
    model.zero_grad(set_to_none=True)
    loss.backward()
    return time.perf_counter() - t0


def _print_plans(model: torch.nn.Module, x: torch.Tensor) -> None:
    """The path each BA2M call takes on this batch (one forward pass)."""
    plans = []

    def spy(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            xy = float(f.abs().max() * (g.amax(dim=(1, 2)) - g.amin(dim=(1, 2))).max())
            plan = affinity._lowrank_plan(f.float(), g.float())
        plans.append(f"HW={f.shape[2]} r={f.shape[1]} X·Y={xy:.2f} "
                     + ("exact" if plan is None else f"degree {plan[0]} ({sum(plan[1])} sign(s) of f)"))
        return affinity.softmax_column_mean(f, g)

    ba2m_module.softmax_column_mean = spy
    with torch.no_grad():
        model(x)
    ba2m_module.softmax_column_mean = affinity.softmax_column_mean
    print("# plans: " + "; ".join(plans))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12, help="timed steps per side (after 2 warm-up)")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--reduction", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-old", action="store_true", help="skip the full-softmax side")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {torch.get_num_threads()} "
          f"threads, torch {torch.__version__}, python {platform.python_version()}, "
          f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, args.channels, args.size, args.size, generator=gen)
    y = torch.randint(0, 10, (args.batch,), generator=gen)
    new, cost = ba2m_module.softmax_column_mean, affinity.LOWRANK_COST
    sides = {"plain": (_model(False, args.channels, args.reduction), new, cost),
             "ba2m": (_model(True, args.channels, args.reduction), new, cost),
             "ba2m-exact": (_model(True, args.channels, args.reduction), new, 0.0)}
    if not args.no_old:
        sides["ba2m-full-softmax"] = (_model(True, args.channels, args.reduction),
                                      full_softmax_column_mean, cost)
    _print_plans(sides["ba2m"][0], x)
    times: dict[str, list[float]] = {k: [] for k in sides}
    for i in range(args.steps + 2):
        for name, (model, fn, low_rank_cost) in sides.items():
            ba2m_module.softmax_column_mean, affinity.LOWRANK_COST = fn, low_rank_cost
            dt = _step(model, x, y)
            if i >= 2:
                times[name].append(dt)
    ba2m_module.softmax_column_mean, affinity.LOWRANK_COST = new, cost
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"ResNet-20, BA2M R={args.reduction} after stages 1-3, batch {args.batch}, "
          f"{args.channels}x{args.size}x{args.size}, median of {args.steps} steps (forward + backward)")
    for k, v in med.items():
        print(f"  {k:18s} {v * 1e3:9.1f} ms   ratio to plain {v / med['plain']:.3f}")
    paired = [a / b for a, b in zip(times["ba2m"], times["plain"], strict=True)]
    print(f"  ba2m/plain paired by step: median {statistics.median(paired):.3f} "
          f"({' '.join(f'{v:.2f}' for v in paired)})")
    print(f"# load after {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if args.profile:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            _step(sides["ba2m"][0], x, y)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


if __name__ == "__main__":
    main()
