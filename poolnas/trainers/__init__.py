"""Trainers: datasets as tensors, the papers' recipes, the training loop, metrics.

``train(config)`` trains one trial config; ``load_dataset(trainer_cfg)`` loads its data;
``poolnas train`` is :func:`poolnas.trainers.commands.train_command`.
"""

from __future__ import annotations

from poolnas.trainers.augment import augment_batch
from poolnas.trainers.checkpoint import load_checkpoint, save_checkpoint
from poolnas.trainers.data import AUGMENT, DATASET_SHAPES, DataSplits, load_dataset
from poolnas.trainers.loop import EpochCallback, prepare, resolve_device, train
from poolnas.trainers.metrics import METRIC_NAMES, evaluate_accuracy
from poolnas.trainers.recipes import RECIPES, Recipe, resolve_recipe

__all__ = [
    "AUGMENT",
    "DATASET_SHAPES",
    "DataSplits",
    "EpochCallback",
    "METRIC_NAMES",
    "RECIPES",
    "Recipe",
    "augment_batch",
    "evaluate_accuracy",
    "load_checkpoint",
    "load_dataset",
    "prepare",
    "resolve_device",
    "resolve_recipe",
    "save_checkpoint",
    "train",
]
