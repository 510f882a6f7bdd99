"""Load backbone weights from a local state-dict file (e.g. torchvision's ResNet-50).

For fine-tuning (SRP's fine-grained setting): the backbone must match key for key and
shape for shape; the classifier is loaded only when its shape matches (same number of
classes); attention modules keep their initialisation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["attention_module_names", "load_pretrained"]

_HEAD = ("fc.",)


def attention_module_names(model: nn.Module) -> list[str]:
    """Dotted names of the attention slots that hold a module (``...attn``, ``...batch_attn``)."""
    return [name for name, _ in model.named_modules() if name.endswith((".attn", ".batch_attn"))]


def _unwrap(obj: Any) -> dict[str, torch.Tensor]:
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
    other key except the classifier's. ``fc.*`` is loaded when its shapes match and
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
    backbone = [k for k in own if not k.startswith(prefixes) and not k.startswith(_HEAD)]
    missing = [k for k in backbone if k not in state]
    unexpected = [k for k in state if k not in own and not k.startswith(_HEAD)]
    mismatched = [k for k in backbone if k in state and state[k].shape != own[k].shape]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", mismatched)):
        if keys:
            detail = ", ".join(
                f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" if what == "shape mismatch" else k
                for k in keys[:5]
            )
            more = f" (+{len(keys) - 5} more)" if len(keys) > 5 else ""
            raise ValueError(f"{path}: {what} backbone keys: {detail}{more}")
    head = [k for k in own if k.startswith(_HEAD)]
    head_ok = all(k in state and state[k].shape == own[k].shape for k in head)
    load = {k: state[k] for k in backbone}
    if head_ok:
        load.update({k: state[k] for k in head})
    model.load_state_dict(load, strict=False)
    return {"loaded": list(load), "skipped": ([] if head_ok else head) + attention_keys}
