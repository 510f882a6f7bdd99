"""A tiny dataset of your own, generated: scikit-learn's digits written as an image folder of
PNGs or as one .npz (``poolnas data digits DIR``), the data of the ``imagefolder-digits``
preset and of the README's "Your own data".

The 1797 8x8 digits (0..16) become uint8 grayscale images (0..255), scaled up ``scale`` times
(nearest neighbour: 8x8 -> 16x16 by default, so that ``trainer.resize`` has work to do), split
stratified 80/20 into train/ and test/ with the data seed of :mod:`poolnas.trainers.data`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from poolnas.errors import ConfigError
from poolnas.trainers.data import SPLIT_SEED, _digits_arrays, stratified_split

__all__ = ["write_digits"]


def _digits(scale: int) -> tuple[np.ndarray, ...]:
    images, y = _digits_arrays()
    x = np.clip(np.rint(images * (255.0 / 16.0)), 0, 255).astype(np.uint8)
    if scale > 1:
        x = x.repeat(scale, axis=1).repeat(scale, axis=2)
    train, test = stratified_split(y, 0.2, SPLIT_SEED)
    return x[train], y[train], x[test], y[test]


def write_digits(out: str | Path, fmt: str = "imagefolder", *, scale: int = 2) -> tuple[Path, int, int]:
    """Write the digits to ``out``: an ImageFolder tree (train/<0..9>/*.png, test/...) or one
    .npz (x_train, y_train, x_test, y_test; images (N, H, W) uint8). Returns (path, train
    images, test images). Refuses (ConfigError) to write into a non-empty folder or over a file."""
    path = Path(out).expanduser()
    if scale < 1:
        raise ConfigError("--scale", scale, "expected a positive integer")
    tx, ty, sx, sy = _digits(scale)
    if fmt == "npz":
        if path.exists():
            raise ConfigError("DIR", str(path), "exists; expected a new .npz file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            np.savez_compressed(f, x_train=tx, y_train=ty, x_test=sx, y_test=sy)
        return path, len(ty), len(sy)
    if fmt != "imagefolder":
        raise ConfigError("--format", fmt, "expected imagefolder or npz")
    if path.is_file() or (path.is_dir() and any(path.iterdir())):
        raise ConfigError("DIR", str(path), "exists and is not an empty folder; expected a new folder")
    from PIL import Image

    for split, xs, ys in (("train", tx, ty), ("test", sx, sy)):
        for i, (img, label) in enumerate(zip(xs, ys, strict=True)):
            folder = path / split / str(int(label))
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(img, mode="L").save(folder / f"{i:04d}.png")
    return path, len(ty), len(sy)
