"""The training loop: one trial config in, metrics and curves out.

Speed: the whole dataset is a tensor on the training device; batches are index
selections of it, augmented in one batched op; the loss is summed on the device and
read once per epoch on CUDA (on CPU every op is synchronous, so reading each step's
loss costs nothing and catches a NaN at the step it appears). Determinism on CPU: the
shuffling, augmentation, mixup and the model's own randomness (SRP regions) are
reseeded from (seed, epoch) at the start of every epoch, so a run resumed from a
checkpoint continues exactly as the uninterrupted run would.

Reproducibility: a run's bits on CPU depend on the intra-op thread count too (it orders
float reductions), so every ``train`` call runs with one explicit count
(``trainer.num_threads``, else the caller's) and records it in the result's
``environment``; the threads, RNGs and cudnn flags it sets are restored when it returns
(:mod:`poolnas.trainers.environment`), so trials run in a row in one process do not leak
into each other.

The pieces: :func:`_build_run` (model, optimiser, AMP), :func:`_resume` (a checkpoint's
state), :func:`_train_epoch` (one epoch of steps), :func:`_evaluate_epoch` (the epoch's
metrics), :func:`_fit` (the epochs, checkpoints, callback and progress bar), and
:func:`train`, which sets the process state and puts the result together.
"""

from __future__ import annotations

import contextlib
import functools
import math
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from poolnas.attention import attention_parameters, attention_regularizer, set_training_progress
from poolnas.config import TrainerConfig, TrialConfig
from poolnas.errors import ConfigError, NonFiniteLossError
from poolnas.models import build_model, check_model_config, count_parameters, model_cost
from poolnas.trainers.augment import augment_batch
from poolnas.trainers.checkpoint import load_checkpoint, save_checkpoint
from poolnas.trainers.data import DATASET_SHAPES, DataSplits, check_dataset_available, load_dataset
from poolnas.trainers.datasets_custom import CUSTOM_DATASETS, custom_shape
from poolnas.trainers.environment import cpu_has_bf16, describe_environment, resolve_threads, trial_state
from poolnas.trainers.metrics import METRIC_NAMES, evaluate_accuracy, pack_correct
from poolnas.trainers.recipes import ResolvedRecipe, build_optimizer, lr_factor, resolve_recipe
from poolnas.trainers.timing import StepTimer, cpu_load, measure_infer_ms

__all__ = ["EpochCallback", "check_amp", "check_data_fits", "load_resume", "prepare", "resolve_device",
           "train"]

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


def prepare(config: TrialConfig,
            device: str | torch.device | None = None) -> tuple[torch.device, ResolvedRecipe]:
    """Every cheap check of a config before anything is written or loaded.

    Checks the device, the data folder, that the model fits the data, the model section
    (``poolnas.models.check_model_config``) and the recipe. Raises ConfigError.
    """
    dev = resolve_device(config, device)
    check_dataset_available(config.trainer)
    if config.trainer.dataset in DATASET_SHAPES:
        c, k, _ = DATASET_SHAPES[config.trainer.dataset]
        check_data_fits(config, c, k, config.trainer.dataset)
    elif config.trainer.dataset in CUSTOM_DATASETS:  # read from the data: one image, the labels
        c, k = custom_shape(config.trainer)
        check_data_fits(config, c, k, config.trainer.dataset)
    check_model_config(config)
    check_amp(config, dev)
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


def check_amp(config: TrialConfig, dev: torch.device) -> None:
    """Refuse ``amp: on`` on a CPU without bf16 units (ConfigError naming the field): there
    bf16 autocast is emulated and a step measured several times slower than in float32
    (benchmarks/bench_trainer.py --amp; docs/benchmarks.md)."""
    if config.trainer.amp == "on" and dev.type == "cpu" and cpu_has_bf16() is False:
        raise ConfigError("trainer.amp", "on", "expected auto or off on this CPU: it has no bf16 units "
                          "(no avx512_bf16 / amx_bf16 flag in /proc/cpuinfo), where bf16 autocast is "
                          "several times slower than float32")


def _amp_setup(config: TrialConfig, dev: torch.device) -> tuple[torch.dtype | None, bool]:
    """(autocast dtype or None, use a GradScaler); ConfigError for ``amp: on`` on a CPU
    without bf16 units (:func:`check_amp`)."""
    check_amp(config, dev)
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


@dataclass
class _Run:
    """The parts of one training run that the pieces below share."""

    config: TrialConfig
    dev: torch.device
    rr: ResolvedRecipe
    data: DataSplits
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler | None
    criterion: nn.Module
    amp_dtype: torch.dtype | None
    channels_last: bool
    regularize: bool  # SPEM's 0.1·Σp² joins the loss
    batch_size: int
    steps: int  # per epoch
    test_correct: dict[str, Any] | None = None  # the last test pass, a bit per example (pack_correct)

    @property
    def tc(self) -> TrainerConfig:
        return self.config.trainer

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.dev.type, dtype=self.amp_dtype)


@dataclass
class _Progress:
    """Where a run stands: completed epochs, curves, the last metrics, earlier wall time."""

    start_epoch: int
    curves: dict[str, list[Any]]
    final: dict[str, Any]
    wall_before: float = 0.0


def _load_data(config: TrialConfig, dev: torch.device) -> DataSplits:
    """The trial's dataset, checked against the model, on ``dev`` (the whole of it on CUDA)."""
    data = load_dataset(config.trainer, in_channels=config.model.in_channels,
                        num_classes=config.model.num_classes, seed=config.seed)
    check_data_fits(config, data.in_channels, data.num_classes, data.name)
    return data.to(dev) if dev.type == "cuda" else data


def _build_run(config: TrialConfig, dev: torch.device, rr: ResolvedRecipe, data: DataSplits) -> _Run:
    """Seed from ``config.seed``, then build the model (on ``dev``, channels-last where
    chosen), the optimiser, the AMP setting and the batch layout of an epoch."""
    tc = config.trainer
    _seed_everything(config.seed)
    model = build_model(config)
    amp_dtype, use_scaler = _amp_setup(config, dev)
    # auto: on, on CUDA and on CPU (measured 1.1-1.4x on a 2-core AMD EPYC, docs/benchmarks.md)
    channels_last = tc.channels_last in ("on", "auto")
    if dev.type != "cpu" or channels_last:  # build_model builds on the CPU already
        model = model.to(dev, memory_format=torch.channels_last if channels_last else torch.preserve_format)
    optimizer = build_optimizer(model, tc, rr, attention_parameters(model))
    n_train = len(data.train_y)
    bs = min(tc.batch_size, n_train)
    return _Run(
        config=config, dev=dev, rr=rr, data=data, model=model, optimizer=optimizer,
        scaler=torch.amp.GradScaler("cuda") if use_scaler else None,
        criterion=nn.CrossEntropyLoss(label_smoothing=tc.label_smoothing),
        amp_dtype=amp_dtype, channels_last=channels_last,
        # SPEM's 0.1·Σp² joins the loss wherever a learned mix exists (SPEM blocks, or
        # `pooling: mix` with a learned α under SE): the regulariser then has a gradient.
        regularize=attention_regularizer(model).requires_grad,
        batch_size=bs,
        steps=n_train // bs + (1 if n_train % bs > 1 else 0),  # a last batch of 1 breaks BatchNorm
    )


def _resume(run: _Run, resume_from: str | Path | dict[str, Any] | None) -> _Progress:
    """A fresh start, or the model, optimiser, scaler, curves and epoch of a checkpoint."""
    fresh = _Progress(start_epoch=0, curves={k: [] for k in METRIC_NAMES}, final={})
    if resume_from is None:
        return fresh
    state = resume_from if isinstance(resume_from, dict) else load_resume(run.config, resume_from)
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    return _Progress(start_epoch=int(state["epoch"]),
                     curves={k: list(v) for k, v in state.get("curves", fresh.curves).items()},
                     final=dict(state.get("metrics", {})),
                     wall_before=float(state.get("wall_time", 0.0)))


def _save(run: _Run, prog: _Progress, path: Path, t_start: float, epoch: int,
          metrics: dict[str, Any]) -> None:
    save_checkpoint(path, {
        "model": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
        "scaler": run.scaler.state_dict() if run.scaler is not None else None,
        "epoch": epoch, "config": run.config.to_dict(), "curves": prog.curves, "metrics": metrics,
        "wall_time": prog.wall_before + time.perf_counter() - t_start,
    })


def _step_loss(run: _Run, xb: torch.Tensor, yb: torch.Tensor, gen: torch.Generator,
               mix_rng: np.random.Generator) -> torch.Tensor:
    """The training objective of one batch: augmentation, mixup, the SPEM regulariser."""
    tc = run.tc
    if tc.augment:
        xb = augment_batch(xb, pad=run.data.pad, flip=run.data.flip, fill=run.data.fill, generator=gen)
    if run.channels_last:
        xb = xb.contiguous(memory_format=torch.channels_last)
    with run.autocast():
        if tc.mixup > 0:
            lam = float(mix_rng.beta(tc.mixup, tc.mixup))
            j = torch.randperm(len(yb), device=run.dev, generator=gen)
            out = run.model(lam * xb + (1.0 - lam) * xb[j])
            loss = lam * run.criterion(out, yb) + (1.0 - lam) * run.criterion(out, yb[j])
        else:
            loss = run.criterion(run.model(xb), yb)
        if run.regularize:
            loss = loss + attention_regularizer(run.model)
    return loss


def _backward(run: _Run, loss: torch.Tensor) -> None:
    run.optimizer.zero_grad(set_to_none=True)
    if run.scaler is not None:
        run.scaler.scale(loss).backward()
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        loss.backward()
        run.optimizer.step()


def _train_epoch(run: _Run, epoch: int, timer: StepTimer, bar: Any) -> tuple[float, int]:
    """Train epoch ``epoch`` (from 0); returns (mean objective per example, examples seen).

    Raises:
        NonFiniteLossError: the loss became NaN or infinite.
    """
    tc, dev, seed, steps, bs = run.tc, run.dev, run.config.seed, run.steps, run.batch_size
    set_training_progress(run.model, epoch / (tc.epochs - 1) if tc.epochs > 1 else 1.0)
    gen = torch.Generator(device=dev)
    gen.manual_seed(_epoch_seed(seed, epoch, 0))
    torch.manual_seed(_epoch_seed(seed, epoch, 1))  # model-internal randomness
    mix_rng = np.random.default_rng(_epoch_seed(seed, epoch, 2))
    onecycle = run.rr.recipe.schedule == "onecycle"
    if not onecycle:  # the lr comes from the recipe, not from a resumed optimizer's state
        _set_lr(run.optimizer, run.rr.lr * lr_factor(run.rr, epoch, 0, steps))
    run.model.train()
    perm = torch.randperm(len(run.data.train_y), device=dev, generator=gen)
    on_cuda = dev.type == "cuda"
    loss_sum: torch.Tensor | float = torch.zeros((), device=dev) if on_cuda else 0.0
    seen = 0
    for step in range(steps):
        token = timer.start(step)
        idx = perm[step * bs:(step + 1) * bs]
        if onecycle:
            _set_lr(run.optimizer, run.rr.lr * lr_factor(run.rr, epoch, step, steps))
        loss = _step_loss(run, run.data.train_x[idx], run.data.train_y[idx], gen, mix_rng)
        if on_cuda:
            loss_sum += loss.detach().float() * len(idx)
            if (step + 1) % CUDA_CHECK_EVERY == 0 and not torch.isfinite(loss_sum):
                raise NonFiniteLossError(epoch + 1, step + 1, float(loss_sum))
        else:
            value = loss.item()
            if not math.isfinite(value):
                raise NonFiniteLossError(epoch + 1, step + 1, value)
            loss_sum += value * len(idx)
        _backward(run, loss)
        timer.stop(token)
        seen += len(idx)
        if bar is not None:
            bar.update(1)
    if on_cuda:
        torch.cuda.synchronize(dev)
    timer.end_epoch()
    train_loss = float(loss_sum) / max(seen, 1)
    if not math.isfinite(train_loss):
        raise NonFiniteLossError(epoch + 1, steps, train_loss)
    return train_loss, seen


def _evaluate_epoch(run: _Run, epoch: int, train_loss: float, seen: int, t0: float,
                    train_time: float) -> dict[str, Any]:
    """The metrics of epoch ``epoch`` (from 0): val/test accuracy, loss, times."""
    kw = {"channels_last": run.channels_last, "amp_dtype": run.amp_dtype}
    val_acc = evaluate_accuracy(run.model, run.data.val_x, run.data.val_y, **kw)
    last = epoch + 1 == run.tc.epochs
    hits: list[torch.Tensor] = []
    test_acc = (evaluate_accuracy(run.model, run.data.test_x, run.data.test_y, correct_out=hits, **kw)
                if last or run.tc.test_every == "epoch" else None)  # trainer.test_every: end
    if hits:
        run.test_correct = pack_correct(hits)
    return {"epoch": epoch + 1, "val_acc": val_acc, "test_acc": test_acc,
            "train_loss": train_loss, "epoch_time": time.perf_counter() - t0,
            "images_per_s": seen / train_time if train_time > 0 else 0.0}


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int) -> Iterator[Any]:
    """A tqdm bar on stderr (None when not enabled), closed when the block ends."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm

    bar = tqdm(total=total, file=sys.stderr, unit="step", dynamic_ncols=True, leave=False,
               mininterval=0.1 if sys.stderr.isatty() else 5.0)
    try:
        yield bar
    finally:
        bar.close()


def _fit(run: _Run, prog: _Progress, *, on_epoch: EpochCallback | None,
         save: Callable[[int, dict[str, Any]], None] | None, timer: StepTimer, bar: Any) -> None:
    """Train the epochs still to do, updating ``prog``: metrics and curves each epoch, a
    checkpoint each epoch when ``trainer.checkpoint`` (and ``save``), then ``on_epoch``."""
    tc = run.tc
    for epoch in range(prog.start_epoch, tc.epochs):
        t0 = time.perf_counter()
        train_loss, seen = _train_epoch(run, epoch, timer, bar)
        train_time = time.perf_counter() - t0
        prog.final = _evaluate_epoch(run, epoch, train_loss, seen, t0, train_time)
        for k in prog.curves:
            prog.curves[k].append(prog.final[k])
        if save is not None and tc.checkpoint:
            save(epoch + 1, prog.final)
        if bar is not None:
            val = prog.final["val_acc"]
            bar.set_postfix(loss=f"{train_loss:.3f}", val=f"{val:.3f}" if val is not None else "-")
        if on_epoch is not None:
            on_epoch(epoch + 1, dict(prog.final))


def _cost_metrics(run: _Run, timer: StepTimer) -> dict[str, float]:
    """``train_step_ms`` (the fastest of the steps just run), ``train_step_median_ms``,
    ``infer_ms`` (one batch, eval mode, fastest of a few) and ``cpu_load`` (load per core
    when they were taken): :mod:`poolnas.trainers.timing`."""
    out: dict[str, float] = {}
    step_ms = timer.min_ms()
    if step_ms is not None:
        out["train_step_ms"] = step_ms
        out["train_step_median_ms"] = timer.median_ms()  # type: ignore[assignment]
    d = run.data
    x = next((s for s in (d.test_x, d.val_x, d.train_x) if len(s)), d.train_x)[:run.batch_size]
    infer_ms = measure_infer_ms(run.model, x, channels_last=run.channels_last, amp_dtype=run.amp_dtype)
    if infer_ms is not None:
        out["infer_ms"] = infer_ms
    load = cpu_load()
    if load is not None:
        out["cpu_load"] = round(load, 2)
    return out


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
        "hparams", "environment", "cost", "test_correct"}`` (``test_correct``: the last test
        pass's per-example correctness, :func:`poolnas.trainers.metrics.pack_correct`, None
        without one): final metrics (the last epoch's, plus
        ``train_step_ms`` and ``infer_ms``), per-epoch lists of each metric, parameter count,
        the device used, seconds spent training (summed over resumed runs), the checkpoint
        path or None, completed epochs, the resolved recipe, what reproducing the run needs
        (:func:`poolnas.trainers.environment.describe_environment`: versions, threads,
        device) and :func:`poolnas.models.model_cost` (``params``, ``flops``: forward MACs
        per image).

    The call runs with ``trainer.num_threads`` intra-op threads (else the caller's count)
    and restores the caller's threads, RNG states and cudnn flags when it returns.

    Raises:
        ConfigError: the config does not fit the data, the data is missing, a bad resume.
        NonFiniteLossError: the training loss became NaN or infinite.
    """
    t_start = time.perf_counter()
    tc = config.trainer
    dev = resolve_device(config, device)
    rr = resolve_recipe(tc)
    threads = resolve_threads(tc)
    with trial_state(threads, cudnn_benchmark=True if dev.type == "cuda" else None):
        run = _build_run(config, dev, rr, _load_data(config, dev))
        n_params = count_parameters(run.model)
        prog = _resume(run, resume_from)
        ckpt_path = Path(out_dir) / CHECKPOINT_NAME if out_dir is not None else None
        save = functools.partial(_save, run, prog, ckpt_path, t_start) if ckpt_path is not None else None
        timer = StepTimer(dev, run.steps)
        with _progress_bar(progress, (tc.epochs - prog.start_epoch) * run.steps) as bar:
            _fit(run, prog, on_epoch=on_epoch, save=save, timer=timer, bar=bar)
        metrics = {**prog.final, **_cost_metrics(run, timer)}
        completed = max(prog.start_epoch, tc.epochs)
        if save is not None and (not tc.checkpoint or prog.start_epoch >= tc.epochs):
            save(completed, metrics)
        environment = describe_environment(dev, threads)
        cost = model_cost(config)  # on the meta device: no arithmetic, no RNG draws
        # cost beside accuracy: params and FLOPs are metrics an objective can name (docs/trainers.md)
        metrics.update({k: cost[k] for k in ("params", "flops", "train_flops") if k in cost})
    return {
        "metrics": metrics,
        "curves": prog.curves,
        "n_params": n_params,
        "device": str(dev),
        "wall_time": prog.wall_before + time.perf_counter() - t_start,
        "checkpoint": str(ckpt_path) if ckpt_path is not None else None,
        "epochs": completed,
        "hparams": rr.as_dict(),
        "environment": environment,
        "cost": cost,
        "test_correct": run.test_correct,
    }
