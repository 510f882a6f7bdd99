from __future__ import annotations

import numpy as np
import pytest
import torch

from poolnas.attention import attention_regularizer
from poolnas.errors import ConfigError, NonFiniteLossError
from poolnas.trainers import loop
from poolnas.trainers.checkpoint import load_checkpoint
from poolnas.trainers.loop import train
from poolnas.trainers.recipes import resolve_recipe

KEYS = {"val_acc", "test_acc", "train_loss", "epoch_time", "images_per_s", "epoch"}
COST_KEYS = {"train_step_ms", "train_step_median_ms", "infer_ms", "cpu_load", "params", "flops",
             "train_flops"}


def _stable(result):
    """The metrics that must repeat exactly (timings excluded)."""
    c = result["curves"]
    return c["val_acc"], c["test_acc"], c["train_loss"]


def test_train_returns_metrics_curves_and_calls_back(tiny):
    seen = []
    result = train(tiny(), on_epoch=lambda e, m: seen.append((e, m)))
    assert [e for e, _ in seen] == [1, 2]
    assert all(set(m) == KEYS for _, m in seen)
    assert set(result) >= {"metrics", "curves", "n_params", "device", "wall_time", "checkpoint"}
    m = result["metrics"]
    # the last epoch's metrics, plus the cost timings measured on the trial's device
    assert {k: v for k, v in m.items() if k not in COST_KEYS} == seen[-1][1]
    assert result["checkpoint"] is None
    assert all(len(v) == 2 for v in result["curves"].values())
    assert 0 <= m["val_acc"] <= 1 and 0 <= m["test_acc"] <= 1 and m["images_per_s"] > 0
    assert m["train_step_ms"] > 0 and m["infer_ms"] > 0
    assert result["device"] == "cpu" and result["n_params"] > 0
    assert result["cost"]["params"] == result["n_params"] and result["cost"]["flops"] > 0
    env = result["environment"]
    assert env["threads"] == torch.get_num_threads() and env["device"] == "cpu"
    assert env["torch"] == torch.__version__ and env["python"] and env["numpy"]


def test_same_config_and_seed_give_identical_metrics(tiny):
    cfg = tiny(epochs=2, train_subset=128, test_subset=60, mixup=0.2, label_smoothing=0.1)
    a, b = train(cfg), train(cfg)
    assert _stable(a) == _stable(b)
    other = cfg.model_copy(update={"seed": 1})
    assert _stable(train(other)) != _stable(a)


def test_resume_continues_like_the_uninterrupted_run(tiny, tmp_path):
    cfg = tiny(epochs=2, train_subset=128, test_subset=60, recipe="paper-resnet", checkpoint=True)
    full = train(cfg)
    with pytest.raises(_Stop):  # a run that dies after epoch 1 (checkpoint written per epoch)
        train(cfg, out_dir=tmp_path, on_epoch=_stop_after(1))
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["epoch"] == 1 and state["config"]["trainer"]["epochs"] == 2
    resumed = train(cfg, resume_from=tmp_path / "checkpoint.pt")
    assert _stable(resumed) == _stable(full) and resumed["epochs"] == 2


def test_resume_refuses_another_model(tiny, tmp_path):
    train(tiny(epochs=1, train_subset=64, test_subset=20), out_dir=tmp_path)
    other = tiny(epochs=2, train_subset=64, test_subset=20)
    other.attention.lam = 0.8
    with pytest.raises(ConfigError) as err:
        train(other, resume_from=tmp_path / "checkpoint.pt")
    assert err.value.field == "resume"


class _Stop(Exception):
    pass


def _stop_after(n):
    def cb(epoch, metrics):
        if epoch >= n:
            raise _Stop
    return cb


def test_nan_loss_raises_distinct_error(tiny, monkeypatch):
    real = loop.build_model

    def nan_model(cfg):
        model = real(cfg)
        return torch.nn.Sequential(model, _Nan())
    monkeypatch.setattr(loop, "build_model", nan_model)
    with pytest.raises(NonFiniteLossError) as err:
        train(tiny(epochs=1))
    assert err.value.epoch == 1 and err.value.step == 1


class _Nan(torch.nn.Module):
    def forward(self, x):
        return x * float("nan")


@pytest.mark.parametrize("field,value", [("in_channels", 3), ("num_classes", 100)])
def test_config_must_fit_the_data(tiny, field, value):
    cfg = tiny()
    setattr(cfg.model, field, value)
    with pytest.raises(ConfigError) as err:
        train(cfg)
    assert err.value.field == f"model.{field}" and err.value.value == value


def test_cuda_requested_without_cuda_is_a_config_error(tiny):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ConfigError) as err:
        train(tiny(), device="cuda")
    assert err.value.field == "trainer.device"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_cuda_path_keeps_data_on_gpu(tiny):
    result = train(tiny(epochs=1, device="cuda"))
    assert result["device"].startswith("cuda") and result["metrics"]["test_acc"] is not None


@pytest.mark.parametrize(
    ("attention", "in_loss"),
    [({"pooling": "mix", "excitation": "spem"}, True),
     ({"pooling": "mix", "mix_alpha": "learn", "excitation": "se"}, True),
     ({"pooling": "mix", "mix_alpha": 0.3, "excitation": "se"}, False),
     ({"pooling": "gap"}, False)],
)
def test_spem_regulariser_joins_the_loss_wherever_a_learned_mix_exists(tiny, attention, in_loss):
    # one batch's objective is cross-entropy, plus SPEM's 0.1·Σp² where a learned mix exists
    cfg = tiny(epochs=1, train_subset=128, augment=False)
    cfg = cfg.model_copy(update={"attention": cfg.attention.model_copy(update=attention)})
    dev = torch.device("cpu")
    run = loop._build_run(cfg, dev, resolve_recipe(cfg.trainer), loop._load_data(cfg, dev))
    xb, yb = run.data.train_x[:32], run.data.train_y[:32]
    loss = loop._step_loss(run, xb, yb, torch.Generator().manual_seed(0), np.random.default_rng(0))
    with torch.no_grad():
        cross_entropy = run.criterion(run.model(xb), yb)
        regulariser = attention_regularizer(run.model)
    expected = cross_entropy + regulariser if in_loss else cross_entropy
    assert (float(regulariser) > 0) == in_loss
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    assert loss.item() != pytest.approx(cross_entropy.item(), rel=1e-6) or not in_loss
