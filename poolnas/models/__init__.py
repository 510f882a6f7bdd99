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
_EXPORTS = {  # module of the package: the names it gives
    "_arch": ("ArchPlan", "BlockPlan", "parse_arch"),
    "cost": ("count_flops", "model_cost"),
    "factory": ("build_model", "count_parameters"),
    "network": ("ResNet",),
    "placement": ("attention_enabled", "attention_sites", "check_model_config", "default_input_size",
                  "natural_input_size", "plan_sites"),
    "pretrained": ("load_pretrained",),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
