"""Load backbone weights from a local state-dict file (e.g. torchvision's ResNet-50).

For fine-tuning (SRP's fine-grained setting): the backbone must match key for key and
shape for shape, except the first convolution's input channels, which are adapted the
way timm's ``adapt_input_conv`` does (one channel: the sum over RGB; another count: RGB
repeated and rescaled by 3 / channels). The classifier (the network's last ``nn.Linear``)
is loaded only when its shapes match (same number of classes); attention modules keep
their initialisation.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import nn

__all__ = ["adapt_input_conv", "attention_module_names", "load_pretrained"]


def attention_module_names(model: nn.Module) -> list[str]:
    """Dotted names of the attention slots that hold a module (``...attn``, ``...batch_attn``)."""
    return [name for name, _ in model.named_modules() if name.endswith((".attn", ".batch_attn"))]


def adapt_input_conv(weight: torch.Tensor, in_channels: int) -> torch.Tensor:
    """A first convolution's RGB weights ``(O, 3, k, k)`` for ``in_channels`` inputs.

    As timm's ``adapt_input_conv``: one channel sums the three; any other count repeats
    them and scales by ``3 / in_channels`` so that the response to a grey image of the
    same intensity is unchanged.
    """
    if weight.shape[1] == in_channels:
        return weight
    if weight.ndim != 4 or weight.shape[1] != 3:
        raise ValueError(f"cannot adapt a first conv of shape {tuple(weight.shape)} "
                         f"to {in_channels} channels")
    dtype, weight = weight.dtype, weight.float()
    if in_channels == 1:
        adapted = weight.sum(dim=1, keepdim=True)
    else:
        repeat = math.ceil(in_channels / 3)
        adapted = weight.repeat(1, repeat, 1, 1)[:, :in_channels] * (3 / in_channels)
    return adapted.to(dtype)


def _first_conv_and_classifier(model: nn.Module, skip: tuple[str, ...]) -> tuple[str | None, list[str]]:
    """The first ``nn.Conv2d``'s weight key and the last ``nn.Linear``'s keys, outside ``skip``."""
    conv, head = None, []
    for name, module in model.named_modules():
        if name.startswith(skip):
            continue
        if conv is None and isinstance(module, nn.Conv2d):
            conv = f"{name}.weight"
        if isinstance(module, nn.Linear):
            head = [f"{name}.{key}" for key in module.state_dict()]
    return conv, head


def _check_backbone(path: str | Path, state: dict, own: dict, backbone: list[str], head: list[str]) -> None:
    missing = [k for k in backbone if k not in state]
    unexpected = [k for k in state if k not in own and k not in head]
    mismatched = [k for k in backbone if k in state and state[k].shape != own[k].shape]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if keys:
            detail = ", ".join(
                f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" if what == "shape mismatch" else k
                for k in keys[:5]
            )
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            raise ValueError(f"{path}: {what} backbone keys: {detail}{more}")


def _unwrap(obj: object) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ValueError("expected a state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def load_pretrained(model: nn.Module, path: str | Path) -> dict[str, list[str]]:
    """Load a state dict saved with ``torch.save`` into ``model``'s backbone.

    Read with ``torch.load(weights_only=True)``. Strict on the backbone: every backbone
    key of the model must be in the file with the same shape, and the file may hold no
    other key except the classifier's. The first convolution's RGB weights are adapted
    to the model's input channels (:func:`adapt_input_conv`). The classifier (the last
    ``nn.Linear``, found by type, not by name) is loaded when its shapes match and
    skipped otherwise (a different ``num_classes``).

    Args:
        model: A network from :func:`poolnas.models.build_model`.
        path: The file, e.g. ``torch.save(torchvision.models.resnet50(weights=...).state_dict(), p)``.

    Returns:
        ``{"loaded": [...], "skipped": [...]}`` key lists (skipped: the classifier when
        its shape differs, and the attention modules' keys, left as initialised).

    Raises:
        ValueError: Naming missing, unexpected or mismatched keys.
    """
    state = _unwrap(torch.load(Path(path).expanduser(), map_location="cpu", weights_only=True))
    own = model.state_dict()
    prefixes = tuple(name + "." for name in attention_module_names(model))
    attention_keys = [k for k in own if k.startswith(prefixes)]
    first_conv, head = _first_conv_and_classifier(model, prefixes)
    if first_conv in state and first_conv in own:
        theirs, ours = state[first_conv], own[first_conv]
        if theirs.ndim == 4 and theirs.shape[1] == 3 and ours.shape[1] != 3 \
                and theirs.shape[:1] + theirs.shape[2:] == ours.shape[:1] + ours.shape[2:]:
            state = {**state, first_conv: adapt_input_conv(theirs, ours.shape[1])}
    backbone = [k for k in own if not k.startswith(prefixes) and k not in head]
    _check_backbone(path, state, own, backbone, head)
    head_ok = bool(head) and all(k in state and state[k].shape == own[k].shape for k in head)
    load = {k: state[k] for k in backbone}
    if head_ok:
        load.update({k: state[k] for k in head})
    model.load_state_dict(load, strict=False)
    return {"loaded": list(load), "skipped": ([] if head_ok else head) + attention_keys}
