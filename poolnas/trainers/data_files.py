"""Where each dataset's files are and whether they are there, without torch.

A sweep's driver checks the data of every trial before it writes anything or starts Ray
(``poolnas.search._data``); importing :mod:`poolnas.trainers.data` for that costs a torch import
(seconds of CPU and 250-550 MiB in a process that never trains), so the file checks live here and
:mod:`poolnas.trainers.data` reads its folders from this module.
"""

from __future__ import annotations

import os
from pathlib import Path

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError
from poolnas.trainers.datasets_custom import CUSTOM_DATASETS, check_custom_available

__all__ = ["CIFAR_FOLDERS", "FASHION_FILES", "FASHION_MNIST_SYSTEM_DIR", "check_dataset_available",
           "data_dir", "fashion_dir"]

FASHION_MNIST_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def data_dir(cfg: TrainerConfig) -> Path:
    return Path(os.path.expandvars(cfg.data_dir)).expanduser()


def fashion_dir(cfg: TrainerConfig) -> Path | None:
    """The first folder holding the four idx files (gz or raw): data_dir's torchvision
    layout, data_dir itself, then Debian's dataset-fashion-mnist."""
    root = data_dir(cfg)
    for folder in (root / "FashionMNIST" / "raw", root, FASHION_MNIST_SYSTEM_DIR):
        if all((folder / n).is_file() or (folder / f"{n}.gz").is_file()
               for n in FASHION_FILES.values()):
            return folder
    return None


def check_dataset_available(cfg: TrainerConfig) -> None:
    """Raise ConfigError (naming the folder and what was expected) when the data is absent.

    Cheap: looks at files only. ``download: true`` lets CIFAR pass (torchvision fetches it).
    """
    if cfg.dataset in CUSTOM_DATASETS:
        check_custom_available(cfg)
    if cfg.dataset == "fashion-mnist" and fashion_dir(cfg) is None:
        root = data_dir(cfg)
        raise ConfigError("trainer.data_dir", str(root),
                          f"expected Fashion-MNIST idx files ({FASHION_FILES['train_x']}.gz, ...) in "
                          f"{root / 'FashionMNIST' / 'raw'} or {FASHION_MNIST_SYSTEM_DIR} "
                          "(Debian: apt-get install dataset-fashion-mnist)")
    if cfg.dataset in CIFAR_FOLDERS and not cfg.download:
        folder = data_dir(cfg) / CIFAR_FOLDERS[cfg.dataset]
        if not folder.is_dir():
            raise ConfigError("trainer.data_dir", str(data_dir(cfg)),
                              f"expected the torchvision {cfg.dataset} folder {folder}; "
                              "set trainer.download: true to fetch it")
