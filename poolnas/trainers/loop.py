"""The training loop: one trial config in, metrics and curves out.

Speed: the whole dataset is a tensor on the training device; batches are index
selections of it, augmented in one batched op; the loss is summed on the device and
read once per epoch on CUDA (on CPU every op is synchronous, so reading each step's
loss costs nothing and catches a NaN at the step it appears). Determinism on CPU: the
shuffling, augmentation, mixup and the model's own randomness (SRP regions) are
reseeded from (seed, epoch) at the start of every epoch, so a run resumed from a
checkpoint continues exactly as the uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from poolnas.attention import attention_parameters, attention_regularizer, set_training_progress
from poolnas.config import TrialConfig
from poolnas.errors import ConfigError, NonFiniteLossError
from poolnas.models import build_model, check_model_config, count_parameters
from poolnas.trainers.augment import augment_batch
from poolnas.trainers.checkpoint import load_checkpoint, save_checkpoint
from poolnas.trainers.data import DATASET_SHAPES, DataSplits, check_dataset_available, load_dataset
from poolnas.trainers.metrics import METRIC_NAMES, evaluate_accuracy
from poolnas.trainers.recipes import ResolvedRecipe, build_optimizer, lr_factor, resolve_recipe

__all__ = ["EpochCallback", "check_data_fits", "load_resume", "prepare", "resolve_device", "train"]

EpochCallback = Callable[[int, dict[str, Any]], None]
CUDA_CHECK_EVERY = 50  # steps between NaN checks on CUDA (each one is a device sync)
CHECKPOINT_NAME = "checkpoint.pt"


def resolve_device(config: TrialConfig, device: str | torch.device | None = None) -> torch.device:
    """``device`` argument, else ``trainer.device``; "auto" picks CUDA when available.

    Raises:
        ConfigError: CUDA asked for but not available.
    """
    wanted = str(device) if device is not None else config.trainer.device
    if wanted == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("trainer.device", wanted, "CUDA is not available here; expected cpu or auto")
    if not wanted.startswith(("cpu", "cuda")):
        raise ConfigError("trainer.device", wanted, "expected auto, cpu or cuda")
    return torch.device(wanted)


def check_data_fits(config: TrialConfig, in_channels: int, num_classes: int, dataset: str) -> None:
    """Raise ConfigError when ``model.in_channels`` / ``model.num_classes`` don't fit the data."""
    if config.model.in_channels != in_channels:
        raise ConfigError("model.in_channels", config.model.in_channels,
                          f"expected {in_channels} for dataset {dataset}")
    if config.model.num_classes != num_classes:
        raise ConfigError("model.num_classes", config.model.num_classes,
                          f"expected {num_classes} for dataset {dataset}")


def prepare(config: TrialConfig, device: str | torch.device | None = None) -> tuple[torch.device, ResolvedRecipe]:
    """Every cheap check of a config before anything is written or loaded.

    Checks the device, the data folder, that the model fits the data, the model section
    (``poolnas.models.check_model_config``) and the recipe. Raises ConfigError.
    """
    dev = resolve_device(config, device)
    check_dataset_available(config.trainer)
    if config.trainer.dataset in DATASET_SHAPES:
        c, k, _ = DATASET_SHAPES[config.trainer.dataset]
        check_data_fits(config, c, k, config.trainer.dataset)
    check_model_config(config)
    return dev, resolve_recipe(config.trainer)


def load_resume(config: TrialConfig, path: str | Path) -> dict[str, Any]:
    """Read the checkpoint ``path`` to resume ``config`` from.

    Raises:
        ConfigError: the file is missing, not a poolnas checkpoint, or of another model or
            attention section.
    """
    state = load_checkpoint(path)
    mine = config.to_dict()
    for section in ("model", "attention"):
        if state.get("config", {}).get(section) != mine[section]:
            raise ConfigError("resume", str(path), f"expected a checkpoint of the same {section} config")
    return state


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _epoch_seed(seed: int, epoch: int, stream: int) -> int:
    return (seed * 1_000_003 + epoch * 7919 + stream) % 2**63


def _amp_setup(config: TrialConfig, dev: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler)."""
    mode = config.trainer.amp
    if mode == "off" or (mode == "auto" and dev.type != "cuda"):
        return None, False
    if dev.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, False
        return torch.float16, True
    return torch.bfloat16, False  # amp: on, CPU


def _set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for g in optimizer.param_groups:  # every group starts at the recipe's lr (build_optimizer)
        g["lr"] = lr


def train(
    config: TrialConfig,
    *,
    on_epoch: EpochCallback | None = None,
    out_dir: str | Path | None = None,
    resume_from: str | Path | dict[str, Any] | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Train one trial config and return its metrics.

    Args:
        config: the trial config.
        on_epoch: called after every epoch as ``on_epoch(epoch, metrics)``; ``epoch`` counts
            completed epochs from 1; metrics hold val_acc, test_acc, train_loss, epoch_time
            (seconds, training + evaluation), images_per_s (training) and epoch. An
            exception raised here (e.g. a pruning signal) stops training and propagates.
        out_dir: folder for ``checkpoint.pt`` (at the end; every epoch too when
            ``trainer.checkpoint`` is true). None: no files.
        resume_from: a checkpoint to continue from (same model and attention sections),
            or the state :func:`load_resume` read from one.
        device: "cpu" / "cuda"; default ``trainer.device``.
        progress: show a tqdm progress bar on stderr.

    Returns:
        ``{"metrics", "curves", "n_params", "device", "wall_time", "checkpoint", "epochs",
        "hparams"}``: final metrics, per-epoch lists of each metric, parameter count, the
        device used, seconds spent training (summed over resumed runs), the checkpoint
        path or None, completed epochs and the resolved recipe.

    Raises:
        ConfigError: the config does not fit the data, the data is missing, a bad resume.
        NonFiniteLossError: the training loss became NaN or infinite.
    """
    t_start = time.perf_counter()
    tc = config.trainer
    dev = resolve_device(config, device)
    rr = resolve_recipe(tc)
    data: DataSplits = load_dataset(tc, in_channels=config.model.in_channels,
                                    num_classes=config.model.num_classes)
    check_data_fits(config, data.in_channels, data.num_classes, data.name)
    if tc.num_threads:
        torch.set_num_threads(tc.num_threads)
    if dev.type == "cuda":
        data = data.to(dev)
        torch.backends.cudnn.benchmark = True

    _seed_everything(config.seed)
    model = build_model(config)
    amp_dtype, use_scaler = _amp_setup(config, dev)
    channels_last = tc.channels_last == "on" or (tc.channels_last == "auto" and dev.type == "cuda")
    if dev.type != "cpu" or channels_last:  # build_model builds on the CPU already
        model = model.to(dev, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    optimizer = build_optimizer(model, tc, rr, attention_parameters(model))
    scaler = torch.amp.GradScaler("cuda") if use_scaler else None
    # SPEM's 0.1·Σp² joins the loss wherever a learned mix exists (SPEM blocks, or
    # `pooling: mix` with a learned α under SE): the regulariser then has a gradient.
    regularize = attention_regularizer(model).requires_grad
    n_params = count_parameters(model)

    curves: dict[str, list[Any]] = {k: [] for k in METRIC_NAMES}
    start_epoch, wall_before = 0, 0.0
    final: dict[str, Any] = {}
    if resume_from is not None:
        state = resume_from if isinstance(resume_from, dict) else load_resume(config, resume_from)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        start_epoch = int(state["epoch"])
        curves = {k: list(v) for k, v in state.get("curves", curves).items()}
        wall_before = float(state.get("wall_time", 0.0))
        final = dict(state.get("metrics", {}))

    out_path = Path(out_dir) if out_dir is not None else None
    ckpt_path = out_path / CHECKPOINT_NAME if out_path is not None else None
    n_train = len(data.train_y)
    bs = min(tc.batch_size, n_train)
    steps = n_train // bs + (1 if n_train % bs > 1 else 0)  # a last batch of 1 breaks BatchNorm
    criterion = nn.CrossEntropyLoss(label_smoothing=tc.label_smoothing)
    onecycle = rr.recipe.schedule == "onecycle"
    autocast = (lambda: torch.autocast(device_type=dev.type, dtype=amp_dtype)) if amp_dtype else contextlib.nullcontext
    on_cuda = dev.type == "cuda"

    def save(epoch: int, metrics: dict[str, Any]) -> None:
        assert ckpt_path is not None
        save_checkpoint(ckpt_path, {
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "epoch": epoch, "config": config.to_dict(), "curves": curves, "metrics": metrics,
            "wall_time": wall_before + time.perf_counter() - t_start,
        })

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=(tc.epochs - start_epoch) * steps, file=sys.stderr, unit="step",
                   dynamic_ncols=True, leave=False,
                   mininterval=0.1 if sys.stderr.isatty() else 5.0)
    try:
        for epoch in range(start_epoch, tc.epochs):
            t0 = time.perf_counter()
            set_training_progress(model, epoch / (tc.epochs - 1) if tc.epochs > 1 else 1.0)
            gen = torch.Generator(device=dev)
            gen.manual_seed(_epoch_seed(config.seed, epoch, 0))
            torch.manual_seed(_epoch_seed(config.seed, epoch, 1))  # model-internal randomness
            mix_rng = np.random.default_rng(_epoch_seed(config.seed, epoch, 2))
            if not onecycle:  # the lr comes from the recipe, not from a resumed optimizer's state
                _set_lr(optimizer, rr.lr * lr_factor(rr, epoch, 0, steps))
            model.train()
            perm = torch.randperm(n_train, device=dev, generator=gen)
            loss_sum = torch.zeros((), device=dev) if on_cuda else 0.0
            seen = 0
            for step in range(steps):
                idx = perm[step * bs:(step + 1) * bs]
                xb, yb = data.train_x[idx], data.train_y[idx]
                if tc.augment:
                    xb = augment_batch(xb, pad=data.pad, flip=data.flip, fill=data.fill, generator=gen)
                if channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                if onecycle:
                    _set_lr(optimizer, rr.lr * lr_factor(rr, epoch, step, steps))
                with autocast():
                    if tc.mixup > 0:
                        lam = float(mix_rng.beta(tc.mixup, tc.mixup))
                        j = torch.randperm(len(idx), device=dev, generator=gen)
                        out = model(lam * xb + (1.0 - lam) * xb[j])
                        loss = lam * criterion(out, yb) + (1.0 - lam) * criterion(out, yb[j])
                    else:
                        loss = criterion(model(xb), yb)
                    if regularize:
                        loss = loss + attention_regularizer(model)
                if on_cuda:
                    loss_sum += loss.detach().float() * len(idx)
                    if (step + 1) % CUDA_CHECK_EVERY == 0 and not torch.isfinite(loss_sum):
                        raise NonFiniteLossError(epoch + 1, step + 1, float(loss_sum))
                else:
                    value = loss.item()
                    if not math.isfinite(value):
                        raise NonFiniteLossError(epoch + 1, step + 1, value)
                    loss_sum += value * len(idx)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    loss.backward()
                    optimizer.step()
                seen += len(idx)
                if bar is not None:
                    bar.update(1)
            if on_cuda:
                torch.cuda.synchronize(dev)
            train_time = time.perf_counter() - t0
            train_loss = float(loss_sum) / max(seen, 1)
            if not math.isfinite(train_loss):
                raise NonFiniteLossError(epoch + 1, steps, train_loss)
            val_acc = evaluate_accuracy(model, data.val_x, data.val_y, channels_last=channels_last,
                                        amp_dtype=amp_dtype)
            test_acc = evaluate_accuracy(model, data.test_x, data.test_y, channels_last=channels_last,
                                         amp_dtype=amp_dtype)
            final = {"epoch": epoch + 1, "val_acc": val_acc, "test_acc": test_acc,
                     "train_loss": train_loss, "epoch_time": time.perf_counter() - t0,
                     "images_per_s": seen / train_time if train_time > 0 else 0.0}
            for k in curves:
                curves[k].append(final[k])
            if ckpt_path is not None and tc.checkpoint:
                save(epoch + 1, final)
            if bar is not None:
                bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{val_acc:.3f}" if val_acc is not None else "-")
            if on_epoch is not None:
                on_epoch(epoch + 1, dict(final))
    finally:
        if bar is not None:
            bar.close()

    completed = max(start_epoch, tc.epochs)
    if ckpt_path is not None and (not tc.checkpoint or start_epoch >= tc.epochs):
        save(completed, final)
    return {
        "metrics": final,
        "curves": curves,
        "n_params": n_params,
        "device": str(dev),
        "wall_time": wall_before + time.perf_counter() - t_start,
        "checkpoint": str(ckpt_path) if ckpt_path is not None else None,
        "epochs": completed,
        "hparams": rr.as_dict(),
    }
