from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError
from poolnas.trainers import data as data_mod
from poolnas.trainers import data_files
from poolnas.trainers.data import load_dataset, stratified_split


def test_digits_splits_shapes_and_normalisation():
    d = load_dataset(TrainerConfig(dataset="digits", val_fraction=0.1))
    assert d.in_channels == 1 and d.num_classes == 10 and d.image_size == (8, 8)
    n = len(d.train_y) + len(d.val_y) + len(d.test_y)
    assert n == 1797
    assert abs(len(d.test_y) - 0.2 * 1797) <= 10
    assert d.train_x.shape[1:] == (1, 8, 8) and d.train_x.dtype == torch.float32
    assert abs(float(d.train_x.mean())) < 1e-4 and abs(float(d.train_x.std()) - 1) < 1e-2
    assert not d.flip and d.pad == 1
    # stratified: every class in every split
    for y in (d.train_y, d.val_y, d.test_y):
        assert set(y.tolist()) == set(range(10))


def test_splits_are_disjoint_and_fixed():
    a = load_dataset(TrainerConfig(dataset="digits"))
    b = load_dataset(TrainerConfig(dataset="digits"))
    assert torch.equal(a.val_x, b.val_x) and torch.equal(a.test_y, b.test_y)
    train_keys = set(map(bytes, a.train_x.flatten(1).numpy()))
    val_keys = set(map(bytes, a.val_x.flatten(1).numpy()))
    # digits has a few duplicate images; the splits themselves are disjoint index sets
    assert len(val_keys - train_keys) > 0.9 * len(val_keys)


def test_train_subset_and_test_subset():
    d = load_dataset(TrainerConfig(dataset="digits", train_subset=200, test_subset=50, val_fraction=0.2))
    assert len(d.train_y) + len(d.val_y) == 200
    assert len(d.val_y) == 40
    assert len(d.test_y) == 50
    assert len(load_dataset(TrainerConfig(dataset="digits", val_fraction=0.0)).val_y) == 0


def test_stratified_split_fractions():
    y = np.repeat(np.arange(4), 25)
    keep, held = stratified_split(y, 0.2, 0)
    assert len(held) == 20 and np.bincount(y[held]).tolist() == [5, 5, 5, 5]
    assert set(keep).isdisjoint(held) and len(keep) + len(held) == 100


def test_synthetic_follows_config():
    d = load_dataset(TrainerConfig(dataset="synthetic", image_size=12, num_samples=64),
                     in_channels=2, num_classes=5)
    assert d.train_x.shape[1:] == (2, 12, 12) and d.num_classes == 5
    assert len(d.train_y) + len(d.val_y) == 64 and int(d.train_y.max()) < 5


def _write_idx(path: Path, arr: np.ndarray) -> None:
    header = bytes([0, 0, 8, arr.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


def test_fashion_mnist_reads_torchvision_layout(tmp_path, monkeypatch):
    monkeypatch.setattr(data_files, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "absent")
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _write_idx(raw / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (40, 28, 28)))
    _write_idx(raw / "train-labels-idx1-ubyte.gz", np.arange(40) % 10)
    _write_idx(raw / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28)))
    _write_idx(raw / "t10k-labels-idx1-ubyte.gz", np.arange(20) % 10)
    d = load_dataset(TrainerConfig(dataset="fashion-mnist", data_dir=str(tmp_path), val_fraction=0.25))
    assert d.train_x.shape == (30, 1, 28, 28) and len(d.val_y) == 10 and len(d.test_y) == 20
    assert d.flip and d.pad == 2


def test_missing_fashion_folder_names_it(tmp_path, monkeypatch):
    monkeypatch.setattr(data_files, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "absent")
    with pytest.raises(ConfigError) as err:
        load_dataset(TrainerConfig(dataset="fashion-mnist", data_dir=str(tmp_path / "nope")))
    assert err.value.field == "trainer.data_dir" and "FashionMNIST" in str(err.value)


@pytest.mark.parametrize("name,folder",
                         [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")])
def test_missing_cifar_folder_names_it(tmp_path, name, folder):
    with pytest.raises(ConfigError) as err:
        load_dataset(TrainerConfig(dataset=name, data_dir=str(tmp_path)))
    assert folder in str(err.value) and "download" in str(err.value)


def test_digits_read_directly_are_sklearns_digits():
    # the numbers of sklearn.datasets.load_digits() (importing sklearn costs seconds here)
    x, y = data_mod._digits_arrays()
    assert x.shape == (1797, 8, 8) and float(x.sum()) == 561718.0 and x.max() == 16
    assert np.bincount(y).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_raw_arrays_are_read_once_and_shared_read_only():
    x, y = data_mod._digits_arrays()
    assert data_mod._digits_arrays()[0] is x
    assert not x.flags.writeable and not y.flags.writeable
    d = load_dataset(TrainerConfig(dataset="digits"))
    assert d.train_y.numpy().flags.writeable  # the splits are the caller's own copies
