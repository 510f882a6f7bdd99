"""Trainers: datasets as tensors, the papers' recipes, the training loop, metrics.

``train(config)`` trains one trial config; ``load_dataset(trainer_cfg)`` loads its data;
``poolnas train`` is :func:`poolnas.trainers.commands.train_command`.
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): a sweep's driver checks its trials' data files
# (poolnas.trainers.data_files) without importing torch, which every module below imports.
_EXPORTS = {  # module of the package: the names it gives
    "augment": ("augment_batch",),
    "checkpoint": ("load_checkpoint", "save_checkpoint"),
    "data": ("AUGMENT", "DATASET_SHAPES", "DataSplits", "load_dataset"),
    "loop": ("EpochCallback", "prepare", "resolve_device", "train"),
    "metrics": ("METRIC_NAMES", "evaluate_accuracy"),
    "recipes": ("RECIPES", "Recipe", "resolve_recipe"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
