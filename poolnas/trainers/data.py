"""Datasets as whole tensors in memory: digits, Fashion-MNIST, CIFAR-10/100, synthetic, and
your own (``imagefolder``, ``npz``: :mod:`poolnas.trainers.datasets_custom`).

Every dataset comes back as one :class:`DataSplits`: float32 tensors (N, C, H, W),
normalised per channel with the training split's mean and std, int64 labels, and the
augmentation policy that suits it (see :data:`AUGMENT`). Splits are fixed by a
data seed (:data:`SPLIT_SEED`) that does not depend on the trial seed, so every trial
of a sweep selects on the same validation examples; with ``subsets: per-seed`` the subsets
below and the validation split are drawn with the trial's seed instead (:func:`split_seed`):
every seed a new sample of the data (its variance then shows in the seeds' spread), the
same sample for every configuration of that seed (paired differences still cancel it).

- ``train_subset`` draws that many examples (stratified) from the training set; the
  validation split (``val_fraction``, stratified) is then held out of them.
- ``test_subset`` draws that many test examples (stratified), for fast runs.
- digits has no official test set: a stratified 20% of the 1797 images is the test set.

The raw arrays read from disk are cached per process (keyed by dataset and folder), so a
worker that trains several trials reads and decompresses its dataset once.
"""

from __future__ import annotations

import functools
import gzip
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError
from poolnas.trainers.data_files import (
    CIFAR_FOLDERS,
    FASHION_FILES,
    FASHION_MNIST_SYSTEM_DIR,
    check_dataset_available,
    data_dir,
    fashion_dir,
)
from poolnas.trainers.datasets_custom import (
    CUSTOM_DATASETS,
    custom_arrays,
    custom_augment,
)

__all__ = [
    "AUGMENT",
    "DATASET_SHAPES",
    "DataSplits",
    "FASHION_MNIST_SYSTEM_DIR",
    "check_dataset_available",
    "load_dataset",
    "split_seed",
    "stratified_split",
]

SPLIT_SEED = 0

# (in_channels, num_classes, image side) of each dataset; synthetic follows the config.
DATASET_SHAPES: dict[str, tuple[int, int, int]] = {
    "digits": (1, 10, 8),
    "fashion-mnist": (1, 10, 28),
    "cifar10": (3, 10, 32),
    "cifar100": (3, 100, 32),
}

# Augmentation per dataset: (pad for the random crop in pixels, horizontal flip).
# digits: 1-pixel shifts only (a flipped 2, 3, 7 is not a digit); Fashion-MNIST:
# shifts and flips (garments are left-right symmetric); CIFAR: the standard pad 4 +
# flip of the papers' recipes; synthetic: both, so that benchmarks pay for them.
AUGMENT: dict[str, tuple[int, bool]] = {
    "digits": (1, False),
    "fashion-mnist": (2, True),
    "cifar10": (4, True),
    "cifar100": (4, True),
    "synthetic": (4, True),
}


@dataclass
class DataSplits:
    """A dataset held in memory: normalised float32 images and int64 labels."""

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    in_channels: int
    num_classes: int
    image_size: tuple[int, int]
    pad: int  # random-crop padding, 0 = no shifts
    flip: bool  # random horizontal flips
    fill: torch.Tensor  # (C,) normalised value of a black pixel, used for crop padding

    def to(self, device: torch.device | str) -> DataSplits:
        """The same splits on another device (the whole dataset, airbench style)."""
        moved = {k: getattr(self, k).to(device) for k in
                 ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y", "fill")}
        return DataSplits(name=self.name, in_channels=self.in_channels,
                          num_classes=self.num_classes, image_size=self.image_size,
                          pad=self.pad, flip=self.flip, **moved)


def stratified_split(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (keep, held_out): ``round(fraction * n_c)`` of each class held out, seeded."""
    rng = np.random.default_rng(seed)
    keep, held = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        idx = idx[rng.permutation(len(idx))]
        k = int(round(fraction * len(idx)))
        held.append(idx[:k])
        keep.append(idx[k:])
    return np.sort(np.concatenate(keep)), np.sort(np.concatenate(held))


def _subset(labels: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Indices of ``n`` examples drawn stratified (all when n is None or too large)."""
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    _, held = stratified_split(labels, n / len(labels), seed)
    if len(held) != n:  # rounding per class: top up or trim to exactly n, seeded
        rng = np.random.default_rng(seed + 1)
        rest = np.setdiff1d(np.arange(len(labels)), held)
        if len(held) < n:
            held = np.concatenate([held, rng.choice(rest, n - len(held), replace=False)])
        else:
            held = rng.choice(held, n, replace=False)
    return np.sort(held)


def _read_idx(path: Path) -> np.ndarray:
    """An idx file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def _idx(folder: Path, name: str) -> np.ndarray:
    path = folder / name
    return _read_idx(path if path.is_file() else folder / f"{name}.gz")


def _read_only(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cached arrays are shared by every later load: make them read-only."""
    for a in arrays:
        a.setflags(write=False)
    return arrays


@functools.lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, ...]:
    """scikit-learn's digits: read its bundled CSV directly (importing sklearn takes
    seconds), falling back to ``load_digits`` if the file moved. Cached."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec and spec.origin else None
    if path is not None and path.is_file():
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        return _read_only(table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64))
    from sklearn.datasets import load_digits

    d = load_digits()
    return _read_only(d.images.astype(np.float32), d.target.astype(np.int64))


def _load_digits() -> tuple[np.ndarray, ...]:
    images, y = _digits_arrays()
    x = (images / 16.0)[:, None]  # 0..16 -> [0, 1]
    train, test = stratified_split(y, 0.2, SPLIT_SEED)
    return x[train], y[train], x[test], y[test]


def _load_fashion(cfg: TrainerConfig) -> tuple[np.ndarray, ...]:
    folder = fashion_dir(cfg)
    assert folder is not None  # checked by check_dataset_available
    return _fashion_arrays(folder)


@functools.lru_cache(maxsize=2)
def _fashion_arrays(folder: Path) -> tuple[np.ndarray, ...]:
    arrays = {k: _idx(folder, n) for k, n in FASHION_FILES.items()}
    return _read_only(arrays["train_x"][:, None], arrays["train_y"].astype(np.int64),
                      arrays["test_x"][:, None], arrays["test_y"].astype(np.int64))


def _load_cifar(cfg: TrainerConfig) -> tuple[np.ndarray, ...]:
    return _cifar_arrays(cfg.dataset, str(data_dir(cfg)), cfg.download)


@functools.lru_cache(maxsize=2)
def _cifar_arrays(dataset: str, root: str, download: bool) -> tuple[np.ndarray, ...]:
    from torchvision import datasets

    cls = datasets.CIFAR10 if dataset == "cifar10" else datasets.CIFAR100
    try:
        train = cls(root, train=True, download=download)
        test = cls(root, train=False, download=download)
    except RuntimeError as err:  # torchvision: "Dataset not found or corrupted."
        raise ConfigError("trainer.data_dir", root,
                          f"expected a complete torchvision {dataset} folder ({err})") from None
    except OSError as err:  # download failed (no network)
        raise ConfigError("trainer.download", True,
                          f"could not download {dataset} into {root}: {err}") from None
    to_nchw = lambda a: np.ascontiguousarray(a.transpose(0, 3, 1, 2))  # noqa: E731
    return _read_only(to_nchw(train.data), np.asarray(train.targets, dtype=np.int64),
                      to_nchw(test.data), np.asarray(test.targets, dtype=np.int64))


def _load_synthetic(cfg: TrainerConfig, in_channels: int, num_classes: int) -> tuple[np.ndarray, ...]:
    side = cfg.image_size or 32
    n = cfg.num_samples or 512
    rng = np.random.default_rng(SPLIT_SEED)
    n_test = max(n // 5, num_classes)

    def make(count: int) -> tuple[np.ndarray, np.ndarray]:
        y = rng.integers(0, num_classes, count).astype(np.int64)
        x = rng.random((count, in_channels, side, side), dtype=np.float32)
        x += 0.5 * (y[:, None, None, None] % in_channels == np.arange(in_channels)[None, :, None, None])
        return x, y  # class-dependent mean: learnable, so a benchmark's loss is meaningful

    tx, ty = make(n)
    vx, vy = make(n_test)
    return tx, ty, vx, vy


def split_seed(cfg: TrainerConfig, seed: int) -> int:
    """The seed of the subsets and the validation split: :data:`SPLIT_SEED` with
    ``subsets: fixed``, the trial's seed with ``subsets: per-seed``."""
    return int(seed) if cfg.subsets == "per-seed" else SPLIT_SEED


def load_dataset(cfg: TrainerConfig, *, in_channels: int = 3, num_classes: int = 10,
                 seed: int = 0) -> DataSplits:
    """Load the dataset ``cfg.dataset`` as tensors (CPU) with its train/val/test splits.

    Args:
        cfg: the trainer section of a trial config.
        in_channels: channels of ``synthetic`` images (other datasets have their own).
        num_classes: classes of ``synthetic`` labels.
        seed: the trial's seed; draws the subsets with ``subsets: per-seed``.

    Raises:
        ConfigError: the data folder is missing or incomplete.
    """
    check_dataset_available(cfg)
    if cfg.dataset == "digits":
        tx, ty, sx, sy = _load_digits()
    elif cfg.dataset == "fashion-mnist":
        tx, ty, sx, sy = _load_fashion(cfg)
    elif cfg.dataset in CIFAR_FOLDERS:
        tx, ty, sx, sy = _load_cifar(cfg)
    elif cfg.dataset in CUSTOM_DATASETS:
        tx, ty, sx, sy = custom_arrays(cfg)
        num_classes = max(int(ty.max(initial=0)), int(sy.max(initial=0))) + 1  # the data's labels
    else:  # synthetic (the schema's Literal admits no other name)
        tx, ty, sx, sy = _load_synthetic(cfg, in_channels, num_classes)

    data_seed = split_seed(cfg, seed)
    pick = _subset(ty, cfg.train_subset, data_seed)
    tx, ty = tx[pick], ty[pick]
    keep, val = stratified_split(ty, cfg.val_fraction, data_seed)
    vx, vy, tx, ty = tx[val], ty[val], tx[keep], ty[keep]
    pick = _subset(sy, cfg.test_subset, data_seed)
    sx, sy = sx[pick], sy[pick]

    scale = 255.0 if tx.dtype == np.uint8 else 1.0
    train_x = torch.from_numpy(tx.astype(np.float32) / scale)
    mean = train_x.mean(dim=(0, 2, 3))
    std = train_x.std(dim=(0, 2, 3)).clamp_min(1e-6)

    def norm(a: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(a.astype(np.float32) / scale)
        return ((t - mean[None, :, None, None]) / std[None, :, None, None]).contiguous()

    pad, flip = AUGMENT[cfg.dataset] if cfg.dataset in AUGMENT else custom_augment(min(tx.shape[2:]))
    return DataSplits(
        name=cfg.dataset,
        train_x=norm(tx), train_y=torch.from_numpy(ty),
        val_x=norm(vx), val_y=torch.from_numpy(vy),
        test_x=norm(sx), test_y=torch.from_numpy(sy),
        in_channels=int(tx.shape[1]),
        num_classes=num_classes if cfg.dataset in ("synthetic", *CUSTOM_DATASETS)
        else DATASET_SHAPES[cfg.dataset][1],
        image_size=(int(tx.shape[2]), int(tx.shape[3])),
        pad=pad, flip=flip, fill=-mean / std,
    )
