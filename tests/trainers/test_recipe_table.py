"""Every recipe resolved, compared with the values recorded before the recipe table
(poolnas.config.RECIPE_TABLE) replaced the Recipe dataclass list and the TrainerConfig
defaults: moving the defaults into one table changed no hyperparameter."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from torch import nn

from poolnas.config import RECIPES, TrainerConfig
from poolnas.trainers.recipes import build_optimizer, lr_factor, resolve_recipe

# Recorded from commit b90f6b0 (before the table): resolve_recipe(TrainerConfig(recipe=r,
# epochs=e)), the optimizer build_optimizer makes, and the config's other training values.
_COMMON = {"momentum": 0.9, "batch_size": 128, "label_smoothing": 0.0, "mixup": 0.0, "optimizer": "SGD"}
TODAY = {
    ("paper-resnet", 200): dict(lr=0.1, weight_decay=1e-4, attention_weight_decay=True, schedule="step",
                                milestones=[100, 150], nesterov=True, gamma=0.1, warmup=0.0),
    ("paper-resnet", 10): dict(lr=0.1, weight_decay=1e-4, attention_weight_decay=True, schedule="step",
                               milestones=[5, 8], nesterov=True, gamma=0.1, warmup=0.0),
    ("paper-wrn", 200): dict(lr=0.1, weight_decay=5e-4, attention_weight_decay=True, schedule="step",
                             milestones=[60, 120, 160], nesterov=True, gamma=0.2, warmup=0.0),
    ("paper-wrn", 10): dict(lr=0.1, weight_decay=5e-4, attention_weight_decay=True, schedule="step",
                            milestones=[3, 6, 8], nesterov=True, gamma=0.2, warmup=0.0),
    ("paper-resnext", 200): dict(lr=0.1, weight_decay=5e-4, attention_weight_decay=True, schedule="step",
                                 milestones=[100, 150], nesterov=True, gamma=0.1, warmup=0.0),
    ("paper-resnext", 10): dict(lr=0.1, weight_decay=5e-4, attention_weight_decay=True, schedule="step",
                                milestones=[5, 8], nesterov=True, gamma=0.1, warmup=0.0),
    ("spem", 200): dict(lr=0.1, weight_decay=1e-4, attention_weight_decay=True, schedule="step",
                        milestones=[99, 149], nesterov=False, gamma=0.1, warmup=0.0),
    ("spem", 10): dict(lr=0.1, weight_decay=1e-4, attention_weight_decay=True, schedule="step",
                       milestones=[5, 7], nesterov=False, gamma=0.1, warmup=0.0),
    ("saam", 200): dict(lr=0.1, weight_decay=2e-4, attention_weight_decay=False, schedule="step",
                        milestones=[99, 148], nesterov=False, gamma=0.1, warmup=0.0),
    ("saam", 10): dict(lr=0.1, weight_decay=2e-4, attention_weight_decay=False, schedule="step",
                       milestones=[5, 7], nesterov=False, gamma=0.1, warmup=0.0),
    ("fast", 200): dict(lr=0.2, weight_decay=5e-4, attention_weight_decay=True, schedule="onecycle",
                        milestones=[], nesterov=True, gamma=0.1, warmup=0.2),
    ("fast", 10): dict(lr=0.2, weight_decay=5e-4, attention_weight_decay=True, schedule="onecycle",
                       milestones=[], nesterov=True, gamma=0.1, warmup=0.2),
}
# lr_factor at (epoch, step) with 4 steps per epoch, epochs = 10
FAST_CURVE_10 = {(0, 0): 0.125, (1, 3): 1.0, (5, 0): 0.59375, (9, 3): 0.0}


def _resolved(recipe: str, epochs: int) -> dict[str, object]:
    cfg = TrainerConfig(recipe=recipe, epochs=epochs)
    rr = resolve_recipe(cfg)
    opt = build_optimizer(nn.Linear(2, 2), cfg, rr)
    assert opt.defaults["momentum"] == cfg.momentum and opt.defaults["nesterov"] is rr.nesterov
    assert opt.defaults["lr"] == rr.lr
    return {**{k: v for k, v in rr.as_dict().items() if k != "recipe"},
            "gamma": rr.recipe.gamma, "warmup": rr.recipe.warmup,
            "momentum": cfg.momentum, "batch_size": cfg.batch_size,
            "label_smoothing": cfg.label_smoothing, "mixup": cfg.mixup, "optimizer": type(opt).__name__}


@pytest.mark.parametrize(("recipe", "epochs"), sorted(TODAY))
def test_every_recipe_resolves_to_the_values_recorded_before_the_table(recipe, epochs):
    assert _resolved(recipe, epochs) == {**TODAY[recipe, epochs], **_COMMON}


def test_the_onecycle_curve_is_unchanged():
    rr = resolve_recipe(TrainerConfig(recipe="fast", epochs=10))
    assert {k: lr_factor(rr, *k, 4) for k in FAST_CURVE_10} == pytest.approx(FAST_CURVE_10)


def test_docs_show_the_code_table():
    """docs/trainers.md's code block under "Recipes" is the table in poolnas/config.py."""
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs" / "trainers.md").read_text()
    block = docs.split("## Recipes", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    assert block.startswith("RECIPES: dict[str, Recipe] = {") and len(block.splitlines()) == len(RECIPES) + 3
    assert block in (root / "poolnas" / "config.py").read_text()


def test_config_resolution_and_optimizer_read_the_table(monkeypatch):
    """A value changed in the table reaches TrainerConfig, resolve_recipe and the optimiser;
    a value written in the config wins."""
    changed = replace(RECIPES["spem"], lr=0.03, momentum=0.5, label_smoothing=0.1, batch_size=32,
                      weight_decay=3e-4, nesterov=True)
    monkeypatch.setitem(RECIPES, "spem", changed)
    cfg = TrainerConfig(recipe="spem")
    assert (cfg.momentum, cfg.label_smoothing, cfg.batch_size) == (0.5, 0.1, 32)
    rr = resolve_recipe(cfg)
    opt = build_optimizer(nn.Linear(2, 2), cfg, rr)
    assert (opt.defaults["lr"], opt.defaults["momentum"], opt.defaults["nesterov"]) == (0.03, 0.5, True)
    assert opt.param_groups[0]["weight_decay"] == 3e-4
    mine = TrainerConfig(recipe="spem", momentum=0.8, batch_size=64, label_smoothing=0.0)
    assert (mine.momentum, mine.batch_size, mine.label_smoothing) == (0.8, 64, 0.0)
    assert build_optimizer(nn.Linear(2, 2), mine, resolve_recipe(mine)).defaults["momentum"] == 0.8
    again = TrainerConfig.model_validate(cfg.model_dump(mode="json"))
    monkeypatch.setitem(RECIPES, "spem", replace(changed, momentum=0.7))
    assert TrainerConfig.model_validate(again.model_dump(mode="json")).momentum == 0.5  # the dump holds it
