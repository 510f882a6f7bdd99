"""Common random numbers (issue 20 item 4a): for one seed, every attention config of a study
starts from the same backbone weights and sees the same batches (order and augmentation
draws); attention parameters come from a stream of their own. Per-seed data subsets
(issue 19 item 6, issue 20 item 4c): ``trainer.subsets``."""

from __future__ import annotations

import pytest
import torch

from poolnas.config import config_from_dict
from poolnas.errors import ConfigError
from poolnas.models import build_model
from poolnas.trainers import load_dataset, loop

ATTENTION_KEYS = ("attn", "bam")  # attn. / batch_attn. / bam. submodules of the blocks


def _backbone(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k: v for k, v in state.items() if not any(a in k for a in ATTENTION_KEYS)}


def _spy_train(monkeypatch, cfg):
    """Train ``cfg`` (really) and keep the initial state dict and every training batch the
    model was given (after augmentation)."""
    seen: dict = {"init": None, "batches": []}

    def build(config, **kw):
        model = build_model(config, **kw)
        seen["init"] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.register_forward_pre_hook(
            lambda m, args: seen["batches"].append(args[0].detach().clone()) if m.training else None)
        return model

    monkeypatch.setattr(loop, "build_model", build)
    loop.train(cfg)
    return seen


def _with(cfg, **attention):
    doc = cfg.to_dict()
    doc["attention"].update(attention)
    return config_from_dict(doc)


def test_configs_differing_only_in_attention_share_backbone_init_and_batches(monkeypatch, tiny):
    base = tiny(epochs=2, train_subset=192, test_subset=50)
    runs = {name: _spy_train(monkeypatch, _with(base, **att)) for name, att in {
        "gap": {"pooling": "gap"},
        "srp-ms": {"pooling": "srp-ms"},  # draws regions from the global RNG while training
        "none+ba2m": {"pooling": "none", "batch_attention": {"enabled": True, "reduction": 4}},
    }.items()}
    ref = runs["gap"]
    assert len(ref["batches"]) == 2 * 3  # 2 epochs of 3 steps (192 - 10% validation, batch 64)
    for name, run in runs.items():
        init, want = _backbone(run["init"]), _backbone(ref["init"])
        assert init.keys() == want.keys() and len(init) > 50
        assert all(torch.equal(init[k], want[k]) for k in init), name
        assert len(run["batches"]) == len(ref["batches"])
        assert all(torch.equal(a, b) for a, b in zip(run["batches"], ref["batches"], strict=True)), name
    # and another seed draws another backbone and other batches (the check can fail)
    other = _spy_train(monkeypatch, base.model_copy(update={"seed": 1}))
    assert not torch.equal(other["init"]["conv1.weight"], ref["init"]["conv1.weight"])
    assert not torch.equal(other["batches"][0], ref["batches"][0])


def test_attention_parameters_come_from_their_own_stream(tiny):
    cfg = tiny()
    torch.manual_seed(1)
    a = build_model(cfg).state_dict()
    torch.manual_seed(2)
    b = build_model(cfg).state_dict()
    att = [k for k in a if "attn" in k and a[k].is_floating_point() and a[k].numel() > 1]
    assert att and all(torch.equal(a[k], b[k]) for k in att)  # the seed's stream, not the caller's
    assert not torch.equal(a["conv1.weight"], b["conv1.weight"])  # the backbone: the caller's RNG
    # building attention moves no draw of the caller's RNG
    after = []
    for pooling in ("gap", "none"):
        torch.manual_seed(5)
        build_model(_with(cfg, pooling=pooling))
        after.append(torch.rand(3))
    assert torch.equal(after[0], after[1])


def _picks(**trainer):
    cfg = config_from_dict({"trainer": {"dataset": "digits", "train_subset": 300, "test_subset": 100,
                                        "val_fraction": 0.2, **trainer}}).trainer
    return {seed: load_dataset(cfg, in_channels=1, seed=seed) for seed in (0, 1, 2)}


def test_subsets_fixed_are_the_same_for_every_seed():
    d = _picks()
    for seed in (1, 2):
        for split in ("train_x", "val_x", "test_x"):
            assert torch.equal(getattr(d[seed], split), getattr(d[0], split))


def test_subsets_per_seed_draw_a_new_stratified_sample_per_seed():
    d = _picks(subsets="per-seed")
    fixed = _picks()[0]
    for split in ("train_x", "val_x", "test_x"):
        assert torch.equal(getattr(d[0], split), getattr(fixed, split))  # seed 0: the fixed draw
        assert not torch.equal(getattr(d[1], split), getattr(d[0], split))
        assert not torch.equal(getattr(d[2], split), getattr(d[1], split))
    for s in d.values():
        assert len(s.train_y) + len(s.val_y) == 300 and len(s.val_y) == 60 and len(s.test_y) == 100
        assert torch.bincount(s.train_y, minlength=10).min() >= 20  # stratified: every class
    again = _picks(subsets="per-seed")
    assert torch.equal(again[1].train_x, d[1].train_x)  # a seed's sample is reproducible


def test_subsets_per_seed_are_shared_by_the_configs_of_a_seed(monkeypatch, tiny):
    base = tiny(epochs=1, train_subset=128, test_subset=40, subsets="per-seed")
    got = []
    for pooling in ("gap", "srp-ms"):
        cfg = _with(base, pooling=pooling).model_copy(update={"seed": 3})
        got.append(_spy_train(monkeypatch, cfg)["batches"])
    assert all(torch.equal(a, b) for a, b in zip(*got, strict=True))


@pytest.mark.parametrize("value", ["per_seed", "random", 1])
def test_bad_subsets_value_is_one_line_naming_the_field(value):
    with pytest.raises(ConfigError) as err:
        config_from_dict({"trainer": {"subsets": value}})
    msg = str(err.value)
    assert "trainer.subsets" in msg and "per-seed" in msg and "\n" not in msg
