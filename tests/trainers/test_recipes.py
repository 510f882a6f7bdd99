from __future__ import annotations

import pytest
from torch import nn

from poolnas.config import TrainerConfig
from poolnas.trainers.recipes import RECIPES, build_optimizer, lr_factor, resolve_recipe


def test_milestones_scale_with_epochs():
    rr = resolve_recipe(TrainerConfig(recipe="paper-resnet", epochs=20))
    assert rr.milestones == (10, 15)
    assert [lr_factor(rr, e, 0, 10) for e in (0, 9, 10, 15)] == pytest.approx([1, 1, 0.1, 0.01])
    wrn = resolve_recipe(TrainerConfig(recipe="paper-wrn", epochs=200))
    assert wrn.milestones == (60, 120, 160) and wrn.weight_decay == 5e-4
    assert lr_factor(wrn, 199, 0, 1) == pytest.approx(0.2 ** 3)
    assert resolve_recipe(TrainerConfig(recipe="spem", epochs=164)).milestones == (81, 122)
    assert resolve_recipe(TrainerConfig(recipe="paper-resnext", epochs=30)).milestones == (15, 22)


def test_recipe_defaults_and_explicit_values():
    saam = resolve_recipe(TrainerConfig(recipe="saam"))
    assert (saam.lr, saam.weight_decay, saam.attention_weight_decay) == (0.1, 2e-4, False)
    mine = resolve_recipe(TrainerConfig(recipe="saam", weight_decay=1e-3, attention_weight_decay=True))
    assert mine.weight_decay == 1e-3 and mine.attention_weight_decay
    fast = resolve_recipe(TrainerConfig(recipe="fast"))
    assert fast.lr == RECIPES["fast"].lr and fast.weight_decay == RECIPES["fast"].weight_decay
    assert resolve_recipe(TrainerConfig(recipe="fast", lr=0.05)).lr == 0.05


def test_dumped_config_keeps_the_recipe_values():
    # An exported / dumped config re-validates to the same hyperparameters (not the schema's).
    saam = TrainerConfig(recipe="saam")
    again = TrainerConfig.model_validate(saam.model_dump(mode="json"))
    assert resolve_recipe(again) == resolve_recipe(saam)
    assert resolve_recipe(again).weight_decay == 2e-4


def test_onecycle_rises_then_falls_to_zero():
    rr = resolve_recipe(TrainerConfig(recipe="fast", epochs=5))
    f = [lr_factor(rr, e, s, 10) for e in range(5) for s in range(10)]
    peak = f.index(max(f))
    assert max(f) == pytest.approx(1.0) and 0 < peak < len(f) - 1
    assert all(a <= b for a, b in zip(f[:peak], f[1:peak + 1], strict=True))
    assert all(a >= b for a, b in zip(f[peak:], f[peak + 1:], strict=False)) and f[-1] == 0.0


def test_attention_parameters_excluded_from_weight_decay():
    model = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 2))
    att = list(model[1].parameters())
    rr = resolve_recipe(TrainerConfig(recipe="saam"))
    opt = build_optimizer(model, TrainerConfig(recipe="saam"), rr, att)
    decays = {id(p): g["weight_decay"] for g in opt.param_groups for p in g["params"]}
    assert all(decays[id(p)] == 0.0 for p in att)
    assert all(decays[id(p)] == 2e-4 for p in model[0].parameters())
    assert not opt.defaults["nesterov"] and opt.defaults["momentum"] == 0.9  # SAAM: plain momentum
    rr = resolve_recipe(TrainerConfig(recipe="paper-resnet"))
    opt = build_optimizer(model, TrainerConfig(), rr, att)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["weight_decay"] == 1e-4
    assert opt.defaults["nesterov"]  # SRP: Nesterov momentum 0.9


@pytest.mark.parametrize(("recipe", "nesterov"), [
    ("paper-resnet", True), ("paper-wrn", True), ("paper-resnext", True),
    ("spem", False), ("saam", False)])
def test_nesterov_as_in_each_paper(recipe, nesterov):
    """SRP Sec. 4.1: Nesterov 0.9; SPEM (authors' code) and SAAM Sec. IV: momentum 0.9."""
    cfg = TrainerConfig(recipe=recipe)
    rr = resolve_recipe(cfg)
    assert rr.nesterov is nesterov and rr.as_dict()["nesterov"] is nesterov
    opt = build_optimizer(nn.Linear(2, 2), cfg, rr)
    assert opt.defaults["nesterov"] is nesterov and opt.defaults["momentum"] == 0.9
    again = TrainerConfig.model_validate(cfg.model_dump(mode="json"))  # a dumped config
    assert resolve_recipe(again).nesterov is nesterov
    assert not resolve_recipe(TrainerConfig(recipe=recipe, nesterov=False)).nesterov
    assert resolve_recipe(TrainerConfig(recipe=recipe, nesterov=True)).nesterov  # a value wins


@pytest.mark.parametrize("recipe", ["spem", "saam"])
def test_dumped_spem_and_saam_configs_keep_plain_momentum(tmp_path, recipe):
    # the whole trial config dumped to YAML and read back: nesterov stays "the recipe's"
    import yaml

    from poolnas.config import config_from_dict, load_trial_config

    cfg = config_from_dict({"trainer": {"recipe": recipe}})
    assert cfg.trainer.nesterov is None
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    again = load_trial_config(path)
    assert again == cfg and again.trainer.nesterov is None
    opt = build_optimizer(nn.Linear(2, 2), again.trainer, resolve_recipe(again.trainer))
    assert opt.defaults["nesterov"] is False and opt.defaults["momentum"] == 0.9


def test_saam_drops_at_its_91st_and_136th_epochs():
    """SAAM Sec. IV: 0.1 -> 0.01 -> 0.001 "at the 91st and 136th epoch" (1-based)."""
    rr = resolve_recipe(TrainerConfig(recipe="saam", epochs=182))
    lr = {e + 1: lr_factor(rr, e, 0, 1) * rr.lr for e in range(182)}  # 1-based epochs
    assert lr[90] == pytest.approx(0.1) and lr[91] == pytest.approx(0.01)
    assert lr[135] == pytest.approx(0.01) and lr[136] == pytest.approx(0.001)
