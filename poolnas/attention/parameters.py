"""What the trainer needs from the attention modules of a model: SPEM's regulariser for
the loss and the attention parameters (SAAM trains them without weight decay)."""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule
from .mix_pool import MixPool


def attention_regularizer(model: nn.Module) -> torch.Tensor:
    """SPEM's ``0.1 · Σ p²`` summed over every learned mix (SPEM; 0 when there is none).

    Covers ``excitation: spem`` and ``pooling: mix`` with ``mix_alpha: learn`` under SE.
    Add it to the loss.

    Returns:
        A scalar tensor on the model's device (a zero without gradient when no learned
        mix exists).
    """
    terms = [
        r for m in model.modules() if isinstance(m, MixPool) if (r := m.regularizer()) is not None
    ]
    if terms:
        return torch.stack(terms).sum()
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    return torch.zeros((), device=device)


def attention_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters of every attention block (SE/SRP, double branch, SPEM, BA2M), once each."""
    seen: set[int] = set()
    params: list[nn.Parameter] = []
    for module in model.modules():
        if isinstance(module, AttentionModule):
            for p in module.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
    return params
