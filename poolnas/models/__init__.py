"""Backbones with attention placement: CIFAR ResNet, PreResNet, WRN, ResNeXt, ResNet-50.

``count_flops(model, (C, H, W))`` and ``model_cost(config)`` give forward multiply-accumulates
per image (and parameters) as the papers count them (``poolnas.models.cost``).

``build_model(config)`` builds the network of a trial config with its attention modules
placed (``placement`` documents the positions); ``check_model_config`` checks a config
against its architecture without building it; ``attention_sites`` lists every site for
``poolnas model show``.
"""

from __future__ import annotations

from poolnas.models._arch import ArchPlan, BlockPlan, parse_arch
from poolnas.models.cost import count_flops, model_cost
from poolnas.models.factory import build_model, count_parameters
from poolnas.models.network import ResNet
from poolnas.models.placement import (
    attention_enabled,
    attention_sites,
    check_model_config,
    default_input_size,
    plan_sites,
)
from poolnas.models.pretrained import load_pretrained

__all__ = [
    "ArchPlan",
    "BlockPlan",
    "ResNet",
    "attention_enabled",
    "attention_sites",
    "build_model",
    "check_model_config",
    "count_flops",
    "count_parameters",
    "default_input_size",
    "load_pretrained",
    "model_cost",
    "parse_arch",
    "plan_sites",
]
