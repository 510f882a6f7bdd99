"""Training recipes of the papers (docs/trainers.md, "Recipes"), scaled to the configured epochs.

The recipes themselves are one table, ``poolnas.config.RECIPES`` (lr, momentum, Nesterov,
weight decay, decay on attention parameters, schedule, milestones, gamma, warm-up, label
smoothing, batch size); this module resolves a trainer config against it, schedules the
learning rate and builds the optimiser. Values written explicitly in the trainer config
override the recipe's; ``lr``, ``weight_decay``, ``attention_weight_decay`` and ``nesterov``
left None (the schema's default) mean "the recipe's value", so a dumped config re-validates
to the same hyperparameters. The step schedules put each milestone at the same fraction of
training as in the paper: a milestone at epoch 100 of 200 falls at epoch 5 of 10. A
milestone m is 0-based: epochs m, m + 1, ... (the (m+1)-th epoch on) run at the lower rate.

Configs stored before trial-config version 2 had ``nesterov: true`` by default, which
then meant "the recipe's value": :mod:`poolnas.studies.migrate` reads it as None.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from poolnas.config import RECIPES, Recipe, TrainerConfig

__all__ = ["RECIPES", "Recipe", "ResolvedRecipe", "build_optimizer", "lr_factor", "resolve_recipe"]


@dataclass(frozen=True)
class ResolvedRecipe:
    """The hyperparameters a run uses: the recipe's defaults, overridden by the config."""

    name: str
    recipe: Recipe
    lr: float
    weight_decay: float
    attention_weight_decay: bool
    epochs: int
    milestones: tuple[int, ...]  # in configured epochs
    nesterov: bool
    momentum: float

    def as_dict(self) -> dict[str, object]:
        """The hyperparameters a result records (``hparams``) and ``poolnas train --out``
        writes into config.yaml."""
        return {"recipe": self.name, "lr": self.lr, "weight_decay": self.weight_decay,
                "attention_weight_decay": self.attention_weight_decay,
                "schedule": self.recipe.schedule, "milestones": list(self.milestones),
                "nesterov": self.nesterov}


def resolve_recipe(cfg: TrainerConfig) -> ResolvedRecipe:
    """Merge the recipe with the values given in ``cfg`` (a value wins over the recipe);
    ``cfg.recipe`` is a key of RECIPES (TrainerConfig validated it)."""
    r = RECIPES[cfg.recipe]
    scale = cfg.epochs / r.paper_epochs
    milestones = tuple(sorted({max(1, round(m * scale)) for m in r.milestones}))
    return ResolvedRecipe(
        name=cfg.recipe,
        recipe=r,
        lr=cfg.lr if cfg.lr is not None else r.lr,
        weight_decay=cfg.weight_decay if cfg.weight_decay is not None else r.weight_decay,
        attention_weight_decay=(cfg.attention_weight_decay if cfg.attention_weight_decay is not None
                                else r.attention_weight_decay),
        epochs=cfg.epochs,
        milestones=milestones,
        nesterov=(cfg.nesterov if cfg.nesterov is not None else r.nesterov) and cfg.momentum > 0,
        momentum=cfg.momentum,  # the recipe's unless the config gives one (TrainerConfig)
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
    """SGD with the resolved recipe's lr, momentum and Nesterov, or AdamW (``trainer.optimizer``);
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
    return torch.optim.SGD(groups, lr=rr.lr, momentum=rr.momentum, nesterov=rr.nesterov)
