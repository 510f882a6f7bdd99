"""A rough run-time estimate of a sweep from its space file (``poolnas space validate``).

No network is built (``space validate`` starts without torch): the forward multiply-accumulates
(MACs) of a trial's network come from a closed form for the CIFAR ResNets and WRNs (basic
blocks, three stages) and from the counts of ``poolnas.models.model_cost`` at 32x32 for the
other backbones (docs/models.md), scaled by the input area. A CPU thread is modelled as a
fixed cost per image plus MACs at a fixed rate, both measured on the 2-core development
machine (SE-ResNet-20, one thread: digits 8x8 at 1,671 images/s, Fashion-MNIST 28x28 at 276
images/s for training). A GPU or another CPU changes everything: the live view of a running
sweep gives the real estimate from the epochs it has timed.

The estimate is a **lower bound for an idle machine**, and says so: the rates are those of
the development CPU with nothing else running; other processes (a loaded machine, the
load average said beside it) and slower cores only add time. A sweep of the SRP Fig. 3
preset took 949 s on the 2-core machine under a load of about 4, where this model gives
84 s. It runs as many trials at a time as the sweep will: ``cpu_count // resources.cpu``
slots, at most ``--max-concurrent``. No network is built and nothing is trained: ``space
validate`` stays a quick, torch-free check.
"""

from __future__ import annotations

import math
import os
import re
from typing import TYPE_CHECKING, Any

from poolnas.config import TrialConfig

if TYPE_CHECKING:
    from poolnas.spaces._space import Space

__all__ = ["estimate_seconds", "format_estimate", "trial_macs"]

PER_IMAGE_S = 328e-6  # fixed cost of one training image on one thread (seconds)
MACS_PER_S = 9.35e9  # forward MACs per second of training on one thread
EVAL_SPEEDUP = 3.0  # evaluation runs a forward pass only
TRIAL_OVERHEAD_S = 2.0  # process, data and model set-up per trial
THREAD_EFFICIENCY = 0.7  # speed-up per extra thread

# (train images, test images, input side) per dataset; synthetic uses trainer.num_samples.
_DATA = {"digits": (1437, 360, 8), "fashion-mnist": (60000, 10000, 28),
         "cifar10": (50000, 10000, 32), "cifar100": (50000, 10000, 32)}
# Forward MACs at 32x32 of backbones without a closed form here (docs/models.md).
_MACS_32 = {"resnet164": 0.2477e9, "resnet50-cifar": 1.298e9, "resnet101-cifar": 2.510e9,
            "resnet50": 0.0834e9, "resnext29-8x64d": 5.39e9, "resnext29-16x64d": 10.0e9}


def _basic_resnet_macs(side: int, in_ch: int, n: int, width: int = 1) -> float:
    """Three stages of n basic blocks (two 3x3 convs each) at widths 16k, 32k, 64k."""
    w = [16 * width, 32 * width, 64 * width]
    macs = side * side * 9 * in_ch * 16
    prev = 16
    for stage, c in enumerate(w):
        area = (side / 2**stage) ** 2
        macs += area * 9 * (prev * c + (2 * n - 1) * c * c)
        prev = c
    return macs


def trial_macs(arch: str, side: int, in_ch: int) -> float | None:
    """Forward MACs per image of ``arch`` on ``side`` x ``side`` inputs, or None if unknown."""
    m = re.fullmatch(r"resnet(\d+)", arch)
    if m and (int(m.group(1)) - 2) % 6 == 0 and arch not in _MACS_32:
        return _basic_resnet_macs(side, in_ch, (int(m.group(1)) - 2) // 6)
    m = re.fullmatch(r"wrn-(\d+)-(\d+)", arch)
    if m:
        return _basic_resnet_macs(side, in_ch, (int(m.group(1)) - 4) // 6, int(m.group(2)))
    m = re.fullmatch(r"preresnet(\d+)-basic", arch)
    if m:  # pre-activation basic blocks: the CIFAR ResNet's convolutions
        return _basic_resnet_macs(side, in_ch, (int(m.group(1)) - 2) // 6)
    m = re.fullmatch(r"preresnet(\d+)", arch)
    if m:  # bottleneck blocks: scale PreResNet-164's count by the depth
        return _MACS_32["resnet164"] * (int(m.group(1)) - 2) / 162 * (side / 32) ** 2
    base = _MACS_32.get(arch)
    return None if base is None else base * (side / 32) ** 2


def _trial_seconds(doc: dict[str, Any]) -> float | None:
    model, trainer = doc.get("model") or {}, doc.get("trainer") or {}
    dataset = trainer.get("dataset", "digits")
    if dataset == "synthetic":
        side = int(trainer.get("image_size") or 32)
        n_train = n_test = int(trainer.get("num_samples") or 1024)
    elif dataset in _DATA:
        n_train, n_test, side = _DATA[dataset]
        side = int(trainer.get("image_size") or side)
    else:
        return None
    macs = trial_macs(str(model.get("arch", "resnet20")), side, int(model.get("in_channels", 3)))
    if macs is None:
        return None
    if trainer.get("train_subset"):
        n_train = min(n_train, int(trainer["train_subset"]))
    if trainer.get("test_subset"):
        n_test = min(n_test, int(trainer["test_subset"]))
    val = n_train * float(trainer.get("val_fraction", 0.1) or 0.0)
    threads = int(trainer.get("num_threads") or 1)
    speed = 1.0 + THREAD_EFFICIENCY * (threads - 1)
    per_image = (PER_IMAGE_S + macs / MACS_PER_S) / speed
    epoch = (n_train - val) * per_image + (val + n_test) * per_image / EVAL_SPEEDUP
    return TRIAL_OVERHEAD_S + int(trainer.get("epochs", 200)) * epoch


def slots_of(space: Space, max_concurrent: int | None = None) -> int:
    """Trials at a time: ``cpu_count // resources.cpu`` on CPU (one on a GPU), at most
    ``max_concurrent``."""
    cpu = float(space.resources.cpu)
    slots = max(1, int((os.cpu_count() or 1) // cpu)) if space.resources.gpu == 0 else 1
    return min(slots, max_concurrent) if max_concurrent else slots


def estimate_seconds(space: Space, max_concurrent: int | None = None) -> tuple[float, float] | None:
    """(fewest, most) seconds of wall time on this machine's CPUs when idle (a lower bound),
    or None when the space uses a dataset or backbone the model does not know. Racing gives
    the range (every configuration at ``min`` seeds .. all at ``max``); otherwise both are
    the same. ``max_concurrent``: the sweep's ``--max-concurrent``."""
    doc = TrialConfig.model_validate(space.base).model_dump(mode="json")
    per_trial = _trial_seconds(doc)
    if per_trial is None:
        return None
    slots = slots_of(space, max_concurrent)
    configs = space.num_configs()
    lo = configs * len(space.initial_seeds())
    hi = configs * len(space.seeds())
    return (math.ceil(lo / slots) * per_trial, math.ceil(hi / slots) * per_trial)


def _load() -> float | None:
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except (AttributeError, OSError):
        return None


def format_estimate(space: Space, max_concurrent: int | None = None, load: float | None = None) -> str:
    """One line for ``space validate``: a lower bound for an idle machine, the trials at a
    time it assumes, and the machine's load now (``load``: per core; default: measured)."""
    est = estimate_seconds(space, max_concurrent)
    if est is None:
        return "run time: no estimate for this dataset or backbone"

    def text(s: float) -> str:
        for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
            if s >= 2 * size:
                return f"{s / size:.0f} {unit}"
        return f"{s:.0f} s"

    lo, hi = est
    span = text(hi) if math.isclose(lo, hi) else f"{text(lo)} to {text(hi)} (racing)"
    slots = slots_of(space, max_concurrent)
    at_once = (f"{slots} trial{'s' * (slots != 1)} at a time"
               + (f" (--max-concurrent {max_concurrent})"
                  if max_concurrent and max_concurrent == slots else ""))
    load = _load() if load is None else load
    busy = (f"; the machine is loaded now ({load:.1f} per core): expect several times longer"
            if load is not None and load > 0.5 else "")
    return (f"run time: at least {span} with {at_once} on {os.cpu_count()} CPU cores: a lower bound for an "
            f"idle machine (rates of the 2-core development CPU with nothing else running){busy}; "
            "the sweep's live view gives the real estimate from its first epochs")
