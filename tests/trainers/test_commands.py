from __future__ import annotations

import json

import pytest
import torch
import yaml

from poolnas.cli import main
from poolnas.trainers import data_files


def _write(tmp_path, cfg: dict, name="cfg.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def _tiny_dict(**trainer):
    t = {"dataset": "digits", "epochs": 1, "batch_size": 64, "recipe": "fast",
         "train_subset": 128, "test_subset": 50, "device": "cpu"}
    t.update(trainer)
    return {"model": {"arch": "resnet20", "in_channels": 1, "num_classes": 10},
            "attention": {"pooling": "srp-ms", "lam": 0.6, "M": 5, "reduction": 4},
            "trainer": t, "seed": 0}


def test_train_prints_epochs_and_ends_with_json(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--config", str(_write(tmp_path, _tiny_dict())), "--epochs", "2",
                 "--out", str(out), "--no-progress"])
    stdout = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    assert stdout[0].startswith("epoch 1/2") and stdout[1].startswith("epoch 2/2")
    final = json.loads(stdout[-1])
    assert set(final) >= {"val_acc", "test_acc", "train_loss", "epoch_time", "images_per_s"}
    assert {p.name for p in out.iterdir()} == {"config.yaml", "metrics.json", "checkpoint.pt"}
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["trainer"]["epochs"] == 2 and saved["trainer"]["weight_decay"] == 5e-4
    assert saved["trainer"]["nesterov"] is True  # the fast recipe's, written in
    # the threads it ran with, written in: config.yaml retrains bit for bit on CPU
    assert saved["trainer"]["num_threads"] == final["threads"] == torch.get_num_threads()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metrics"]["test_acc"] == final["test_acc"] and len(metrics["curves"]["val_acc"]) == 2


def test_train_with_the_test_pass_at_the_end_prints_a_dash_before_it(tmp_path, capsys):
    """test_every: end (the decided reproduction's configs): no test accuracy before the last
    epoch, and no validation split: both print "-" (it raised a TypeError after epoch 1)."""
    cfg = _tiny_dict(test_every="end", val_fraction=0.0)
    assert main(["train", "--config", str(_write(tmp_path, cfg)), "--epochs", "2", "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "val_acc -  test_acc -  " in lines[0]
    assert "val_acc -  test_acc 0." in lines[1] or "val_acc -  test_acc 1." in lines[1]
    assert json.loads(lines[-1])["test_acc"] is not None


def test_progress_bar_goes_to_stderr(tmp_path, capsys):
    assert main(["train", "--config", str(_write(tmp_path, _tiny_dict()))]) == 0
    captured = capsys.readouterr()
    assert "step" in captured.err
    json.loads(captured.out.strip().splitlines()[-1])


@pytest.mark.parametrize("change,field", [
    ({"model": {"arch": "resnet20", "in_channels": 3, "num_classes": 10}}, "model.in_channels"),
    ({"model": {"arch": "resnet20", "in_channels": 1, "num_classes": 100}}, "model.num_classes"),
    ({"trainer": {"dataset": "mnist"}}, "trainer.dataset"),
    ({"trainer": {"recipe": "paper-vgg"}}, "trainer.recipe"),
    ({"trainer": {"dataset": "cifar10"}}, "trainer.data_dir"),
])
def test_bad_input_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, change, field):
    cfg = _tiny_dict()
    for section, values in change.items():
        cfg[section].update(values)
    if cfg["trainer"]["dataset"] == "cifar10":
        cfg["model"]["in_channels"] = 3
        cfg["trainer"]["data_dir"] = str(tmp_path / "nodata")
    out = tmp_path / "run"
    code = main(["train", "--config", str(_write(tmp_path, cfg)), "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and field in err[0]
    assert not out.exists()


def test_missing_fashion_folder_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(data_files, "FASHION_MNIST_SYSTEM_DIR", tmp_path / "absent")
    cfg = _tiny_dict(dataset="fashion-mnist", data_dir=str(tmp_path / "nodata"))
    code = main(["train", "--config", str(_write(tmp_path, cfg)), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nodata" in err[0]
    assert not (tmp_path / "run").exists()


def test_missing_resume_checkpoint_exit_2(tmp_path, capsys):
    code = main(["train", "--config", str(_write(tmp_path, _tiny_dict())), "--out", str(tmp_path / "run"),
                 "--resume", str(tmp_path / "none.pt")])
    assert code == 2 and "resume" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_cuda_flag_without_cuda_exit_2(tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    code = main(["train", "--config", str(_write(tmp_path, _tiny_dict())), "--device", "cuda",
                 "--out", str(tmp_path / "run")])
    assert code == 2 and "trainer.device" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_resume_of_another_model_exit_2_with_nothing_written(tmp_path, capsys):
    from poolnas.config import config_from_dict
    from poolnas.trainers.loop import train

    other = _tiny_dict()
    other["attention"]["lam"] = 0.8
    train(config_from_dict(other), out_dir=tmp_path / "other")
    code = main(["train", "--config", str(_write(tmp_path, _tiny_dict())), "--out", str(tmp_path / "run"),
                 "--resume", str(tmp_path / "other" / "checkpoint.pt")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "resume" in err[0]
    assert not (tmp_path / "run").exists()
