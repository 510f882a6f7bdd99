"""Backbones with attention placement: CIFAR ResNet, PreResNet, WRN, ResNeXt, ResNet-50.

``count_flops(model, (C, H, W))`` and ``model_cost(config)`` give forward multiply-accumulates
per image (and parameters) as the papers count them (``poolnas.models.cost``).

``build_model(config)`` builds the network of a trial config with its attention modules
placed (``placement`` documents the positions); ``check_model_config`` checks a config
against its architecture without building it; ``attention_sites`` lists every site for
``poolnas model show``.
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): checking a config or a space file must not import
# torch (`poolnas space validate` starts in well under a second).
_EXPORTS = {
    "ArchPlan": "poolnas.models._arch",
    "BlockPlan": "poolnas.models._arch",
    "parse_arch": "poolnas.models._arch",
    "count_flops": "poolnas.models.cost",
    "model_cost": "poolnas.models.cost",
    "build_model": "poolnas.models.factory",
    "count_parameters": "poolnas.models.factory",
    "ResNet": "poolnas.models.network",
    "attention_enabled": "poolnas.models.placement",
    "attention_sites": "poolnas.models.placement",
    "check_model_config": "poolnas.models.placement",
    "default_input_size": "poolnas.models.placement",
    "plan_sites": "poolnas.models.placement",
    "load_pretrained": "poolnas.models.pretrained",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
