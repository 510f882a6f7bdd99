"""Training recipes of the papers (docs/trainers.md, "Recipes"), scaled to the configured epochs.

A recipe gives defaults for ``lr``, ``weight_decay``, ``attention_weight_decay`` and
``nesterov`` and fixes the learning-rate schedule. Values written explicitly in the trainer config
override the recipe's defaults; ``None`` (the schema's default) means "the recipe's
value", so a dumped config re-validates to the same hyperparameters. The step
schedules put each milestone at the same fraction of training as in the paper: a
milestone at epoch 100 of 200 falls at epoch 5 of 10. A milestone m is 0-based: epochs
m, m + 1, ... (the (m+1)-th epoch on) run at the lower rate.

The momentum is SGD's 0.9 (``trainer.momentum``); Nesterov where the paper uses it
(SRP: "Nesterov momentum 0.9"). SPEM (the authors' code) and SAAM use plain momentum.
``trainer.nesterov`` left at None takes the recipe's choice; true or false overrides it.
Configs stored before trial-config version 2 had ``nesterov: true`` by default, which
then meant "the recipe's value": :mod:`poolnas.studies.migrate` reads it as None.

| recipe | paper | lr | milestones (0-based, of paper epochs), factor | wd | Nesterov |
|---|---|---|---|---|---|
| paper-resnet | SRP, CIFAR ResNet | 0.1 | 100, 150 of 200, x0.1 | 1e-4 | yes |
| paper-wrn | SRP, WRN | 0.1 | 60, 120, 160 of 200, x0.2 | 5e-4 | yes |
| paper-resnext | SRP, ResNeXt | 0.1 | 150, 225 of 300, x0.1 | 5e-4 | yes |
| spem | SPEM, ResNet-164 | 0.1 | 81, 122 of 164, x0.1 | 1e-4 | no |
| saam | SAAM, ResNet-20/56/110 | 0.1 | 90, 135 of 182 (its 91st and 136th epochs), x0.1 | 2e-4, none on attention | no |
| fast | ours, short sweeps | 0.2 | one cycle: linear warm-up over 20% of steps, then linear to 0 | 5e-4 | yes |
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError

__all__ = ["RECIPES", "Recipe", "ResolvedRecipe", "build_optimizer", "lr_factor", "resolve_recipe"]


@dataclass(frozen=True)
class Recipe:
    name: str
    lr: float
    weight_decay: float
    attention_weight_decay: bool = True
    schedule: str = "step"  # step | onecycle
    paper_epochs: int = 200
    milestones: tuple[int, ...] = ()  # in paper epochs
    gamma: float = 0.1
    warmup: float = 0.0  # onecycle: fraction of steps spent warming up
    nesterov: bool = True  # False: plain momentum unless trainer.nesterov says otherwise


RECIPES: dict[str, Recipe] = {r.name: r for r in (
    Recipe("paper-resnet", 0.1, 1e-4, paper_epochs=200, milestones=(100, 150), gamma=0.1),
    Recipe("paper-wrn", 0.1, 5e-4, paper_epochs=200, milestones=(60, 120, 160), gamma=0.2),
    Recipe("paper-resnext", 0.1, 5e-4, paper_epochs=300, milestones=(150, 225), gamma=0.1),
    Recipe("spem", 0.1, 1e-4, paper_epochs=164, milestones=(81, 122), gamma=0.1, nesterov=False),
    # SAAM Sec. IV: "decays to 0.01 and 0.001 at the 91st and 136th epoch": 0-based 90, 135.
    Recipe("saam", 0.1, 2e-4, attention_weight_decay=False, paper_epochs=182,
           milestones=(90, 135), gamma=0.1, nesterov=False),
    Recipe("fast", 0.2, 5e-4, schedule="onecycle", warmup=0.2),
)}


@dataclass(frozen=True)
class ResolvedRecipe:
    """The hyperparameters a run uses: the recipe's defaults, overridden by the config."""

    recipe: Recipe
    lr: float
    weight_decay: float
    attention_weight_decay: bool
    epochs: int
    milestones: tuple[int, ...]  # in configured epochs
    nesterov: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"recipe": self.recipe.name, "lr": self.lr, "weight_decay": self.weight_decay,
                "attention_weight_decay": self.attention_weight_decay,
                "schedule": self.recipe.schedule, "milestones": list(self.milestones),
                "nesterov": self.nesterov}


def resolve_recipe(cfg: TrainerConfig) -> ResolvedRecipe:
    """Merge the recipe with the values given in ``cfg`` (a value wins over the recipe)."""
    if cfg.recipe not in RECIPES:
        raise ConfigError("trainer.recipe", cfg.recipe, "expected one of " + ", ".join(RECIPES))
    r = RECIPES[cfg.recipe]
    scale = cfg.epochs / r.paper_epochs
    milestones = tuple(sorted({max(1, round(m * scale)) for m in r.milestones}))
    return ResolvedRecipe(
        recipe=r,
        lr=cfg.lr if cfg.lr is not None else r.lr,
        weight_decay=cfg.weight_decay if cfg.weight_decay is not None else r.weight_decay,
        attention_weight_decay=(cfg.attention_weight_decay if cfg.attention_weight_decay is not None
                                else r.attention_weight_decay),
        epochs=cfg.epochs,
        milestones=milestones,
        nesterov=(cfg.nesterov if cfg.nesterov is not None else r.nesterov) and cfg.momentum > 0,
    )


def lr_factor(rr: ResolvedRecipe, epoch: int, step: int, steps_per_epoch: int) -> float:
    """Multiplier of the base lr at ``step`` of ``epoch`` (both 0-based)."""
    r = rr.recipe
    if r.schedule == "onecycle":
        total = max(1, rr.epochs * steps_per_epoch)
        t = (epoch * steps_per_epoch + step + 1) / total
        if t <= r.warmup:
            return t / r.warmup
        return max(0.0, (1.0 - t) / (1.0 - r.warmup))
    return r.gamma ** sum(epoch >= m for m in rr.milestones)


def build_optimizer(model: nn.Module, cfg: TrainerConfig, rr: ResolvedRecipe,
                    attention_params: Iterable[nn.Parameter] = ()) -> torch.optim.Optimizer:
    """SGD (Nesterov as ``trainer.nesterov``, else as the recipe) or AdamW;
    attention parameters without weight decay when ``attention_weight_decay`` is off
    (SAAM's setting)."""
    params = [p for p in model.parameters() if p.requires_grad]
    if rr.attention_weight_decay:
        groups: list[dict[str, Any]] = [{"params": params, "weight_decay": rr.weight_decay}]
    else:
        att = {id(p) for p in attention_params}
        groups = [{"params": [p for p in params if id(p) not in att], "weight_decay": rr.weight_decay},
                  {"params": [p for p in params if id(p) in att], "weight_decay": 0.0}]
        groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=rr.lr)
    return torch.optim.SGD(groups, lr=rr.lr, momentum=cfg.momentum, nesterov=rr.nesterov)
