"""Your own data (``dataset: imagefolder`` / ``npz``): layouts, channels and classes read from
the data, resize/crop, the checks before start (one line naming the field), the same
subsetting and augmentation as the built-in datasets, ``poolnas data digits``, ``poolnas
train`` and a real sweep on the generated folder (issue 22 item 1)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch
import yaml
from PIL import Image

from poolnas.cli import main
from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError
from poolnas.trainers.data import _digits_arrays, load_dataset
from poolnas.trainers.datasets_custom import custom_shape
from poolnas.trainers.example_data import write_digits


def _folder(root: Path, sizes: dict[str, list[tuple[int, int]]], mode: str = "RGB",
            test: str = "test") -> Path:
    """class -> image sizes (w, h) in train/; one image per class in ``test``/. Pixel values
    encode the class so that a test can find each image's label."""
    for split, per_class in (("train", sizes), (test, {k: v[:1] for k, v in sizes.items()})):
        for label, (name, whs) in enumerate(sorted(per_class.items())):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for i, (w, h) in enumerate(whs):
                color = (40 * label + 10, 5 * i, 200) if mode == "RGB" else 40 * label + 10
                Image.new(mode, (w, h), color).save(root / split / name / f"{i}.png")
    return root


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory) -> Path:
    path, n_train, n_test = write_digits(tmp_path_factory.mktemp("own") / "digits", scale=2)
    assert (n_train, n_test) == (1438, 359)
    return path


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory) -> Path:
    return write_digits(tmp_path_factory.mktemp("own") / "digits.npz", "npz", scale=1)[0]


def test_imagefolder_reads_classes_channels_and_labels(tmp_path):
    root = _folder(tmp_path / "f", {"cat": [(6, 6)] * 4, "dog": [(6, 6)] * 3, "eel": [(6, 6)] * 5})
    d = load_dataset(TrainerConfig(dataset="imagefolder", data_dir=str(root), val_fraction=0.0,
                                   augment=True))
    assert d.in_channels == 3 and d.num_classes == 3 and d.image_size == (6, 6)
    assert len(d.train_y) == 12 and len(d.test_y) == 3
    assert np.bincount(d.train_y.numpy()).tolist() == [4, 3, 5]  # sorted folder names = labels
    # red channel 40 * label + 10: the label of every image comes from its folder
    raw = d.train_x[:, 0, 0, 0] * 1  # normalised; order by value must follow the label
    assert torch.equal(torch.argsort(torch.unique(raw)), torch.arange(3))
    assert d.pad == 1 and d.flip  # 6 // 8 -> at least 1 pixel
    assert custom_shape(TrainerConfig(dataset="imagefolder", data_dir=str(root))) == (3, 3)


def test_imagefolder_grayscale_val_folder_resize_and_crop(tmp_path):
    root = _folder(tmp_path / "g", {"a": [(20, 10), (12, 24)], "b": [(30, 30)]}, mode="L", test="val")
    cfg = TrainerConfig(dataset="imagefolder", data_dir=str(root), resize=10, crop=8, val_fraction=0.0)
    d = load_dataset(cfg)
    assert d.in_channels == 1 and d.image_size == (8, 8) and len(d.test_y) == 2  # val/ as the test set
    assert load_dataset(cfg.model_copy(update={"crop": None})).image_size == (10, 10)  # crop = resize
    with pytest.raises(ConfigError) as err:  # sizes differ and nothing says how to stack them
        load_dataset(cfg.model_copy(update={"resize": None, "crop": None}))
    assert err.value.field == "trainer.resize" and "3 sizes" in str(err.value)
    with pytest.raises(ConfigError) as err:
        load_dataset(cfg.model_copy(update={"resize": 10, "crop": 12}))
    assert err.value.field == "trainer.crop"


@pytest.mark.parametrize("damage, field, words", [
    (lambda r: None, "trainer.data_dir", "no such folder"),
    (lambda r: (r / "train").mkdir(parents=True), "trainer.data_dir", "no test/ or val/"),
    (lambda r: [(r / d).mkdir(parents=True) for d in ("train/a", "train/b", "test")], "trainer.data_dir",
     "holds no image"),
    (lambda r: _folder(r, {"a": [(4, 4)]}), "trainer.data_dir", "expected at least 2"),
    (lambda r: (_folder(r, {"a": [(4, 4)], "b": [(4, 4)]}), (r / "test" / "zebra").mkdir()),
     "trainer.data_dir", "class 'zebra' is not in train/"),
])
def test_imagefolder_checks_before_start(tmp_path, damage, field, words):
    root = tmp_path / "bad"
    damage(root)
    with pytest.raises(ConfigError) as err:
        load_dataset(TrainerConfig(dataset="imagefolder", data_dir=str(root)))
    assert err.value.field == field and words in str(err.value), str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("layout", ["NHW", "NHWC", "NCHW"])
def test_npz_layouts(tmp_path, layout):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (40, 5, 7), dtype=np.uint8)
    y = np.arange(40) % 4
    shaped = {"NHW": x, "NHWC": x[..., None], "NCHW": x[:, None]}[layout]
    path = tmp_path / "d.npz"
    np.savez(path, x_train=shaped, y_train=y, x_test=shaped[:8], y_test=y[:8])
    d = load_dataset(TrainerConfig(dataset="npz", data_dir=str(path), val_fraction=0.2))
    assert d.in_channels == 1 and d.image_size == (5, 7) and d.num_classes == 4
    assert len(d.train_y) == 32 and len(d.val_y) == 8 and len(d.test_y) == 8  # 2 of 10 per class
    assert custom_shape(TrainerConfig(dataset="npz", data_dir=str(path))) == (1, 4)


@pytest.mark.parametrize("arrays, words", [
    ({"x_train": np.zeros((4, 3, 3)), "y_train": np.zeros(4, int), "x_test": np.zeros((2, 3, 3))},
     "has no y_test"),
    ({"x_train": np.zeros((4, 3, 3)), "y_train": np.zeros(3, int), "x_test": np.zeros((2, 3, 3)),
      "y_test": np.zeros(2, int)}, "y_train has shape (3,)"),
    ({"x_train": np.zeros((4, 5, 5, 5)), "y_train": np.zeros(4, int), "x_test": np.zeros((2, 5, 5, 5)),
      "y_test": np.zeros(2, int)}, "C = 1 or 3"),
    ({"x_train": np.zeros((4, 3, 3)), "y_train": np.zeros(4), "x_test": np.zeros((2, 3, 3)),
      "y_test": np.zeros(2)}, "expected integer labels"),
])
def test_npz_checks_before_start(tmp_path, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(ConfigError) as err:
        load_dataset(TrainerConfig(dataset="npz", data_dir=str(path)))
    assert err.value.field == "trainer.data_dir" and words in str(err.value), str(err.value)
    (tmp_path / "not.npz").write_text("hello")
    with pytest.raises(ConfigError, match="is not an .npz file"):
        load_dataset(TrainerConfig(dataset="npz", data_dir=str(tmp_path / "not.npz")))
    with pytest.raises(ConfigError) as err:
        load_dataset(TrainerConfig(dataset="npz", data_dir=str(path), resize=8))
    assert err.value.field == "trainer.resize"


def test_generated_digits_are_the_builtin_digits(digits_folder, digits_npz):
    from poolnas.trainers.data import SPLIT_SEED, stratified_split

    images, labels = _digits_arrays()
    train, test = stratified_split(labels, 0.2, SPLIT_SEED)
    expected = np.rint(images * (255.0 / 16.0)).astype(np.uint8)
    with np.load(digits_npz) as z:
        assert np.array_equal(z["x_train"], expected[train]) and np.array_equal(z["y_train"], labels[train])
        assert np.array_equal(z["x_test"], expected[test]) and np.array_equal(z["y_test"], labels[test])
    pngs = sorted((digits_folder / "train" / "3").glob("*.png"))
    assert Image.open(pngs[0]).size == (16, 16) and Image.open(pngs[0]).mode == "L"
    assert sum(1 for _ in digits_folder.rglob("*.png")) == 1797
    with pytest.raises(ConfigError):  # never over an existing folder
        write_digits(digits_folder)


def test_same_subsetting_and_augmentation_as_builtin(digits_folder, digits_npz):
    for cfg in (TrainerConfig(dataset="imagefolder", data_dir=str(digits_folder), resize=8),
                TrainerConfig(dataset="npz", data_dir=str(digits_npz))):
        d = load_dataset(cfg.model_copy(update={"train_subset": 200, "test_subset": 50, "val_fraction": 0.2}))
        assert len(d.train_y) + len(d.val_y) == 200 and len(d.val_y) == 40 and len(d.test_y) == 50
        assert all(set(y.tolist()) == set(range(10)) for y in (d.train_y, d.val_y, d.test_y))  # stratified
        assert d.image_size == (8, 8) and d.in_channels == 1 and d.num_classes == 10
        assert abs(float(d.train_x.mean())) < 0.05 and abs(float(d.train_x.std()) - 1) < 0.05


def _trial(data: dict, **trainer) -> dict:
    t = {"epochs": 1, "batch_size": 64, "recipe": "fast", "train_subset": 128, "test_subset": 50,
         "device": "cpu", "num_threads": 1, **data, **trainer}
    return {"model": {"arch": "resnet20", "in_channels": 1, "num_classes": 10},
            "attention": {"pooling": "max", "reduction": 4}, "trainer": t, "seed": 0}


def test_poolnas_data_and_train_on_an_image_folder(tmp_path, capsys):
    folder = tmp_path / "mine"
    assert main(["data", "digits", str(folder)]) == 0
    assert f"data_dir: {folder}" in capsys.readouterr().out
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(_trial({"dataset": "imagefolder", "data_dir": str(folder), "resize": 8})))
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), "--no-progress"]) == 0
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert 0.0 <= final["test_acc"] <= 1.0 and final["train_loss"] > 0
    assert yaml.safe_load((out / "config.yaml").read_text())["trainer"]["resize"] == 8


def test_train_refuses_a_model_that_does_not_fit_the_data(tmp_path, digits_npz, capsys):
    doc = _trial({"dataset": "npz", "data_dir": str(digits_npz)})
    doc["model"]["in_channels"] = 3
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump(doc))
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "never")]) == 2
    err = capsys.readouterr().err
    assert "model.in_channels" in err and "expected 1 for dataset npz" in err and err.count("\n") == 1
    assert not (tmp_path / "never").exists()
    doc["model"]["in_channels"], doc["model"]["num_classes"] = 1, 12
    cfg.write_text(yaml.safe_dump(doc))
    assert main(["train", "--config", str(cfg)]) == 2
    assert "expected 10 for dataset npz" in capsys.readouterr().err
    doc["trainer"]["data_dir"] = str(tmp_path / "missing.npz")
    cfg.write_text(yaml.safe_dump(doc))
    assert main(["train", "--config", str(cfg)]) == 2
    assert "trainer.data_dir" in capsys.readouterr().err


@pytest.mark.integration
@pytest.mark.usefixtures("ray_local")
def test_sweep_on_an_image_folder_and_an_npz(tmp_path, digits_folder, digits_npz):
    """A real sweep (Ray, SQLite, training) over both data sources as a grid axis."""
    from poolnas.search import run_sweep
    from poolnas.spaces import space_from_dict

    base = _trial({"dataset": "imagefolder", "data_dir": str(digits_folder), "resize": 8})
    base.pop("seed")
    doc = {"study": "own-data", "objective": {"metric": "val_acc", "mode": "max"}, "sampler": "grid",
           "repeats": 1, "scheduler": {"type": "fifo"}, "resources": {"cpu": 1, "gpu": 0}, "base": base,
           "space": {"attention.pooling": {"grid": ["gap", "max"]}}}
    url = f"sqlite:///{tmp_path}/own.db"
    run_sweep(space_from_dict(doc), storage=url, quiet=True)
    doc["study"] = "own-npz"
    doc["base"]["trainer"] = {**base["trainer"], "dataset": "npz", "data_dir": str(digits_npz)}
    doc["base"]["trainer"].pop("resize")
    run_sweep(space_from_dict(doc), storage=url, quiet=True)
    for name, dataset in (("own-data", "imagefolder"), ("own-npz", "npz")):
        trials = optuna.load_study(study_name=name, storage=url).get_trials()
        assert len(trials) == 2 and all(t.state.name == "COMPLETE" for t in trials), [
            t.user_attrs.get("fail_reason") for t in trials]
        assert {t.user_attrs["config"]["trainer"]["dataset"] for t in trials} == {dataset}
        assert all(0.0 <= t.value <= 1.0 for t in trials)



def test_cost_is_counted_at_the_size_the_trainer_makes():
    from poolnas.config import config_from_dict
    from poolnas.models import model_cost

    digits = config_from_dict(_trial({"dataset": "digits"}))
    for trainer in ({"resize": 8}, {"resize": 12, "crop": 8}):
        mine = config_from_dict(_trial({"dataset": "imagefolder", **trainer}))
        assert model_cost(mine)["flops"] == model_cost(digits)["flops"]  # 8x8 inputs, as digits
