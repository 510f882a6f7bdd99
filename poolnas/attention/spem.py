"""SPEM: self-adaptive pooling enhanced attention (Zhong et al., "SPEM: Self-adaptive
Pooling Enhanced Attention Module for Image Recognition"; equations from the authors'
code, see NOTES.md).

Per channel, on the block output x:
- ``mx = max_{h,w} x``, ``mn = min_{h,w} x``; one shared affine ``mx' = w2·mx + b2``,
  ``mn' = w2·mn + b2`` (reweighting module, shared, Table 4);
- ``mix = p̂0·mx' + p̂1·mn'`` with ``p̂ = p² / Σp²`` (self-adaptive pooling, Eq. 2; a fixed
  ``mix_alpha`` uses (α, 1 − α) instead), ``mix' = w1·mix + b1`` (excitation);
- ``out = x · sigmoid(mx' + mn') · sigmoid(mix')``.

Init ``w1 = w2 = 0``, ``b1 = b2 = -1`` (IEBN style). Extra parameters ``4C + 2`` per block
(``4C`` with a fixed α). The loss adds ``0.1 · Σ p²`` (``attention_regularizer``).
SPEM needs the max and the min of the map, so it goes with ``pooling: mix`` only and
with one branch; ``create_attention`` refuses other combinations.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule
from ._checks import check_int
from .mix_pool import MixPool
from .pooling import global_max, global_min


class SPEMAttention(AttentionModule):
    """SPEM block: ``forward(x) -> x * gate`` (self-adaptive pooling: SPEM Eq. 2).

    Args:
        channels: C.
        mix_alpha: ``"learn"`` (p learned, 2 parameters) or a fixed α in [0, 1].
    """

    def __init__(self, channels: int, mix_alpha: str | float = "learn"):
        super().__init__()
        channels = check_int(channels, "channels", 1)
        self.pool = MixPool(mix_alpha)
        self.w1 = nn.Parameter(torch.zeros(channels))
        self.b1 = nn.Parameter(torch.full((channels,), -1.0))
        self.w2 = nn.Parameter(torch.zeros(channels))
        self.b2 = nn.Parameter(torch.full((channels,), -1.0))
        self.pooling = "mix"
        self.lam = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """``sigmoid(mx' + mn') · sigmoid(mix')``, shape ``(N, C, 1, 1)``."""
        mx = global_max(x)
        mn = global_min(x)
        mx = self.w2 * mx + self.b2
        mn = self.w2 * mn + self.b2
        mix = self.w1 * self.pool.mix(mx, mn) + self.b1
        g = torch.sigmoid(mx + mn) * torch.sigmoid(mix)
        return g.view(x.shape[0], x.shape[1], 1, 1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
