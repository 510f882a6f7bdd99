"""``poolnas train --config FILE [--epochs N] [--device cpu|cuda] [--out DIR] [--resume CKPT]
[--no-progress]``.

Validates everything (config, device, data folder, model vs data, checkpoint) before
creating ``--out``; then prints one line per epoch, a progress bar on stderr, and as the
last line of standard output one JSON object of the final metrics. Files under --out:
``config.yaml`` (the config with the recipe's resolved lr / weight decay / Nesterov and the
intra-op threads written in, so that it retrains bit for bit on CPU),
``metrics.json`` (the whole result with curves) and ``checkpoint.pt``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from poolnas.config import TrialConfig, dump_trial_config, load_trial_config
from poolnas.errors import ConfigError
from poolnas.trainers.environment import resolve_threads
from poolnas.trainers.example_data import write_digits
from poolnas.trainers.loop import load_resume, prepare, train

__all__ = ["data_command", "format_epoch_line", "train_command"]


def format_epoch_line(epoch: int, epochs: int, m: dict[str, Any]) -> str:
    """One human line per epoch; a metric not measured this epoch (no validation split, or
    ``test_every: end`` before the last epoch) is "-"."""
    def num(key: str, fmt: str) -> str:
        return "-" if m.get(key) is None else format(m[key], fmt)

    return (f"epoch {epoch}/{epochs}  train_loss {num('train_loss', '.4f')}  "
            f"val_acc {num('val_acc', '.4f')}  test_acc {num('test_acc', '.4f')}  "
            f"epoch_time {num('epoch_time', '.2f')}s  "
            f"images_per_s {num('images_per_s', '.0f')}")


def _resolved(config: TrialConfig, hparams: dict[str, Any]) -> TrialConfig:
    """The config with the recipe's values and the threads written in, so that config.yaml
    reruns the same."""
    data = config.to_dict()
    for key in ("lr", "weight_decay", "attention_weight_decay", "nesterov"):
        data["trainer"][key] = hparams[key]
    data["trainer"]["num_threads"] = resolve_threads(config.trainer)
    return TrialConfig.model_validate(data)


def train_command(args: argparse.Namespace) -> int:
    """Handler of ``poolnas train`` (see poolnas/cli.py for the flags)."""
    config = load_trial_config(args.config)
    if args.epochs is not None:
        config.trainer.epochs = args.epochs
    if args.device is not None:
        config.trainer.device = args.device
    _, rr = prepare(config)
    # read (and checked against the config) once, now: a bad one exits 2 before --out is created
    resume = load_resume(config, args.resume) if args.resume is not None else None
    out = Path(args.out).expanduser() if args.out else None
    if out is not None and out.exists() and not out.is_dir():
        raise ConfigError("--out", str(out), "expected a folder (or a path to create one)")

    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(dump_trial_config(_resolved(config, rr.as_dict())))
    epochs = config.trainer.epochs
    progress = not args.no_progress
    if progress:  # epoch lines go above the bar
        from tqdm import tqdm

        def write(line: str) -> None:
            tqdm.write(line, file=sys.stdout)
    else:
        def write(line: str) -> None:
            print(line, flush=True)

    def on_epoch(epoch: int, metrics: dict[str, Any]) -> None:
        write(format_epoch_line(epoch, epochs, metrics))

    result = train(config, on_epoch=on_epoch, out_dir=out, resume_from=resume, progress=progress)
    if out is not None:
        (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    final = {**result["metrics"], "n_params": result["n_params"], "device": result["device"],
             "threads": result["environment"]["threads"],
             "wall_time": round(result["wall_time"], 3), "checkpoint": result["checkpoint"]}
    print(json.dumps(final), flush=True)
    return 0


def data_command(args: argparse.Namespace) -> int:
    """``poolnas data digits DIR [--format imagefolder|npz] [--scale N]``: a tiny dataset of
    your own (scikit-learn's digits as PNGs or one .npz) for ``dataset: imagefolder`` / ``npz``."""
    path, n_train, n_test = write_digits(args.dir, args.format, scale=args.scale)
    kind = "an ImageFolder tree (train/, test/)" if args.format == "imagefolder" else "one .npz"
    print(f"wrote {n_train} training and {n_test} test digits to {path} as {kind}; "
          f"use it with trainer: {{dataset: {args.format}, data_dir: {path.resolve()}}}")
    return 0
