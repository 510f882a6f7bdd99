"""Your own data: ``dataset: imagefolder`` and ``dataset: npz`` (docs/trainers.md, "Your own data").

``imagefolder``: torchvision's ImageFolder layout under ``trainer.data_dir``::

    data_dir/train/<class>/*.png|jpg|...     one folder per class (sorted names = labels 0..K-1)
    data_dir/test/<class>/...                 or data_dir/val/ (test/ wins when both exist)

Images of any size: ``trainer.resize`` scales each image's shorter side to that many pixels,
``trainer.crop`` then cuts the centre square of that side (default: ``resize``), so the images
stack; without either, every image must have the same size. Channels are read from the data:
1 when the first training image is grayscale (PIL mode L, LA, 1, I, F), else 3 (RGB); every
image is converted to that mode. The class count is the number of class folders in train/.

``npz``: one ``.npz`` file at ``trainer.data_dir`` holding ``x_train``, ``y_train``,
``x_test``, ``y_test``: images (N, H, W), (N, C, H, W) or (N, H, W, C) with C in 1 or 3,
uint8 (0..255) or float; labels integers 0..K-1 (K = the largest label + 1).

Both hand their four arrays to :func:`poolnas.trainers.data.load_dataset`, which does what it
does for every dataset: the stratified ``train_subset`` / ``test_subset``, the validation
split, per-channel normalisation and the augmentation (a random crop padded by 1/8 of the
side, at least 1 pixel, and horizontal flips; ``trainer.augment: false`` turns both off).
:func:`check_custom_available` (the check before a sweep or ``train`` starts) looks at files
only; :func:`custom_shape` reads the channels and class count cheaply (one image, the labels).
"""

from __future__ import annotations

import functools
import os
import zipfile
from pathlib import Path

import numpy as np

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError

__all__ = ["CUSTOM_DATASETS", "check_custom_available", "custom_arrays", "custom_augment",
           "custom_shape", "image_folder_classes"]

CUSTOM_DATASETS = ("imagefolder", "npz")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp", ".gif")
_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
_GRAY_MODES = ("L", "LA", "1", "I", "I;16", "F", "P;L")


def _root(cfg: TrainerConfig) -> Path:
    return Path(os.path.expandvars(cfg.data_dir)).expanduser()


# -- imagefolder -------------------------------------------------------------------------

def _test_folder(root: Path) -> Path | None:
    for name in ("test", "val"):
        if (root / name).is_dir():
            return root / name
    return None


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def image_folder_classes(root: Path) -> list[str]:
    """The class folder names under ``root/train`` (sorted: their index is the label)."""
    return sorted(p.name for p in (root / "train").iterdir() if p.is_dir() and not p.name.startswith("."))


def _check_image_folder(root: Path) -> None:
    layout = "train/<class>/<image> and test/<class>/<image> (or val/)"
    if not root.is_dir():
        raise ConfigError("trainer.data_dir", str(root),
                          f"no such folder; expected the ImageFolder layout {layout}")
    if not (root / "train").is_dir():
        raise ConfigError("trainer.data_dir", str(root), f"no train/ folder; expected {layout}")
    test = _test_folder(root)
    if test is None:
        raise ConfigError("trainer.data_dir", str(root), f"no test/ or val/ folder; expected {layout}")
    classes = image_folder_classes(root)
    if len(classes) < 2:
        raise ConfigError("trainer.data_dir", str(root / "train"),
                          f"has {len(classes)} class folder(s); expected at least 2 ({layout})")
    for split in (root / "train", test):
        for name in sorted(p.name for p in split.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if name not in classes:
                raise ConfigError("trainer.data_dir", str(split / name),
                                  f"class {name!r} is not in train/; expected the classes of train/: "
                                  + ", ".join(classes[:10]) + (" …" if len(classes) > 10 else ""))
            if split.name == "train" and not _images(split / name):
                raise ConfigError("trainer.data_dir", str(split / name),
                                  "holds no image; expected files ending in "
                                  f"{', '.join(IMAGE_SUFFIXES[:5])}, …")
    if not any(_images(d) for d in test.iterdir() if d.is_dir()):
        raise ConfigError("trainer.data_dir", str(test), "holds no image in its class folders")


def _channels_of(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as im:
        return 1 if im.mode in _GRAY_MODES else 3


def _first_image(root: Path) -> Path:
    for name in image_folder_classes(root):
        found = _images(root / "train" / name)
        if found:
            return found[0]
    raise ConfigError("trainer.data_dir", str(root / "train"), "holds no image")


def _read_image(path: Path, mode: str, resize: int | None, crop: int | None) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im = im.convert(mode)
            if resize is not None:
                w, h = im.size
                s = resize / min(w, h)
                im = im.resize((max(1, round(w * s)), max(1, round(h * s))), Image.Resampling.BILINEAR)
            if crop is not None:
                w, h = im.size
                if crop > min(w, h):
                    raise ConfigError("trainer.crop", crop, f"is larger than the image {path} "
                                      f"({w}x{h} after resize); expected at most {min(w, h)}")
                left, top = (w - crop) // 2, (h - crop) // 2
                im = im.crop((left, top, left + crop, top + crop))
            a = np.asarray(im, dtype=np.uint8)
    except OSError as err:  # PIL.UnidentifiedImageError is an OSError
        raise ConfigError("trainer.data_dir", str(path), f"is not a readable image ({err})") from None
    return a[None] if a.ndim == 2 else np.ascontiguousarray(a.transpose(2, 0, 1))


def _read_split(folder: Path, classes: list[str], mode: str, resize: int | None,
                crop: int | None) -> tuple[np.ndarray, np.ndarray]:
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for label, name in enumerate(classes):
        if not (folder / name).is_dir():
            continue
        for path in _images(folder / name):
            xs.append(_read_image(path, mode, resize, crop))
            ys.append(label)
    shapes = {x.shape for x in xs}
    if len(shapes) > 1:
        raise ConfigError("trainer.resize", None, f"the images under {folder} have {len(shapes)} sizes "
                          f"(e.g. {', '.join('x'.join(map(str, s[1:])) for s in sorted(shapes)[:3])}); "
                          "set trainer.resize (shorter side) and/or trainer.crop (centre square)")
    return np.stack(xs), np.asarray(ys, dtype=np.int64)


@functools.lru_cache(maxsize=2)
def _image_folder_arrays(root: str, resize: int | None, crop: int | None,
                         stamp: float) -> tuple[np.ndarray, ...]:
    path = Path(root)
    classes = image_folder_classes(path)
    mode = "L" if _channels_of(_first_image(path)) == 1 else "RGB"
    crop = crop if crop is not None else resize
    tx, ty = _read_split(path / "train", classes, mode, resize, crop)
    test = _test_folder(path)
    assert test is not None  # checked by check_custom_available
    sx, sy = _read_split(test, classes, mode, resize, crop)
    if tx.shape[1:] != sx.shape[1:]:
        raise ConfigError("trainer.resize", None, f"train/ images are {'x'.join(map(str, tx.shape[2:]))} and "
                          f"{test.name}/ images {'x'.join(map(str, sx.shape[2:]))}; set trainer.resize "
                          "and/or trainer.crop so that they match")
    for a in (tx, ty, sx, sy):
        a.setflags(write=False)
    return tx, ty, sx, sy


# -- npz ---------------------------------------------------------------------------------

def _npz_header(path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of an .npz without reading it."""
    with zipfile.ZipFile(path) as z, z.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    return shape, dtype


def _check_npz(path: Path) -> None:
    expected = "one .npz file with x_train, y_train, x_test, y_test (numpy.savez)"
    if path.is_dir():
        raise ConfigError("trainer.data_dir", str(path), f"is a folder; expected {expected}")
    if not path.is_file():
        raise ConfigError("trainer.data_dir", str(path), f"no such file; expected {expected}")
    try:
        with zipfile.ZipFile(path) as z:
            names = {n[:-4] for n in z.namelist() if n.endswith(".npy")}
    except (zipfile.BadZipFile, OSError):
        raise ConfigError("trainer.data_dir", str(path),
                          f"is not an .npz file; expected {expected}") from None
    missing = [k for k in _NPZ_KEYS if k not in names]
    if missing:
        raise ConfigError("trainer.data_dir", str(path), f"has no {', '.join(missing)} (it has "
                          f"{', '.join(sorted(names)) or 'no arrays'}); expected {expected}")
    for split in ("train", "test"):
        xs, xd = _npz_header(path, f"x_{split}")
        ys, yd = _npz_header(path, f"y_{split}")
        _layout(xs, f"x_{split}", path)
        if len(ys) != 1 or ys[0] != xs[0]:
            raise ConfigError("trainer.data_dir", str(path), f"y_{split} has shape {ys}; expected "
                              f"({xs[0]},): one integer label per image of x_{split}")
        if yd.kind not in "iu":
            raise ConfigError("trainer.data_dir", str(path),
                              f"y_{split} is {yd}; expected integer labels 0..K-1")
        if xd.kind not in "uif" and xd.kind != "b":
            raise ConfigError("trainer.data_dir", str(path),
                              f"x_{split} is {xd}; expected uint8 or float images")


def _layout(shape: tuple[int, ...], key: str, path: Path) -> str:
    """NCHW, NHWC or NHW for an image array's shape (ConfigError for anything else)."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) == 4 and shape[1] in (1, 3):
        return "NCHW"
    if len(shape) == 4 and shape[3] in (1, 3):
        return "NHWC"
    raise ConfigError("trainer.data_dir", str(path), f"{key} has shape {shape}; expected (N, H, W), "
                      "(N, C, H, W) or (N, H, W, C) with C = 1 or 3")


def _nchw(a: np.ndarray, key: str, path: Path) -> np.ndarray:
    layout = _layout(a.shape, key, path)
    if layout == "NHW":
        return a[:, None]
    if layout == "NHWC":
        return np.ascontiguousarray(a.transpose(0, 3, 1, 2))
    return a


def _labels(y: np.ndarray, key: str, path: Path) -> np.ndarray:
    if len(y) and int(y.min()) < 0:
        raise ConfigError("trainer.data_dir", str(path), f"{key} has label {int(y.min())}; expected 0..K-1")
    return y.astype(np.int64)


@functools.lru_cache(maxsize=2)
def _npz_arrays(path: str, stamp: float) -> tuple[np.ndarray, ...]:
    p = Path(path)
    with np.load(p, allow_pickle=False) as z:
        tx, ty, sx, sy = (z[k] for k in _NPZ_KEYS)
    out = (_nchw(tx, "x_train", p), _labels(ty, "y_train", p),
           _nchw(sx, "x_test", p), _labels(sy, "y_test", p))
    if out[0].shape[1:] != out[2].shape[1:]:
        raise ConfigError("trainer.data_dir", path, f"x_train images are {out[0].shape[1:]} and x_test "
                          f"images {out[2].shape[1:]} (C, H, W); expected the same")
    if out[0].dtype == np.bool_:
        out = (out[0].astype(np.uint8) * 255, out[1], out[2].astype(np.uint8) * 255, out[3])
    for a in out:
        a.setflags(write=False)
    return out


# -- the hooks poolnas.trainers.data calls -----------------------------------------------

def _check_options(cfg: TrainerConfig) -> None:
    if cfg.dataset == "npz":
        for name in ("resize", "crop"):
            if getattr(cfg, name, None) is not None:
                raise ConfigError(f"trainer.{name}", getattr(cfg, name),
                                  "applies to dataset imagefolder only; store npz images at their size")


def check_custom_available(cfg: TrainerConfig) -> None:
    """ConfigError (naming trainer.data_dir, the path and the layout expected) when the data
    of ``imagefolder`` / ``npz`` is absent or malformed. Looks at files and headers only."""
    _check_options(cfg)
    if cfg.dataset == "imagefolder":
        _check_image_folder(_root(cfg))
    else:
        _check_npz(_root(cfg))


def custom_shape(cfg: TrainerConfig) -> tuple[int, int]:
    """(channels, classes) of the data, read cheaply: one image and the class folders, or the
    npz headers and labels. ``check_custom_available`` first."""
    root = _root(cfg)
    if cfg.dataset == "imagefolder":
        return _channels_of(_first_image(root)), len(image_folder_classes(root))
    shape, _ = _npz_header(root, "x_train")
    layout = _layout(shape, "x_train", root)
    channels = 1 if layout == "NHW" else shape[1] if layout == "NCHW" else shape[3]
    with np.load(root, allow_pickle=False) as z:
        top = max(int(z["y_train"].max(initial=0)), int(z["y_test"].max(initial=0)))
    return int(channels), top + 1


def custom_arrays(cfg: TrainerConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train x, train y, test x, test y): images (N, C, H, W) uint8 or float, int64 labels.
    Cached per process by path, modification time and resize/crop."""
    check_custom_available(cfg)
    root = _root(cfg)
    stamp = root.stat().st_mtime if cfg.dataset == "npz" else (root / "train").stat().st_mtime
    if cfg.dataset == "imagefolder":
        return _image_folder_arrays(str(root), cfg.resize, cfg.crop, stamp)
    return _npz_arrays(str(root), stamp)


def custom_augment(side: int) -> tuple[int, bool]:
    """(random-crop padding, horizontal flips) for images of ``side`` pixels: 1/8 of the side
    (CIFAR's 4 of 32), at least 1, and flips."""
    return max(1, side // 8), True
