"""SPEM: self-adaptive pooling enhanced attention (Zhong et al., "SPEM: Self-adaptive
Pooling Enhanced Attention Module for Image Recognition"; equations from the authors'
code, see docs/attention.md).

Per channel, on the block output x:
- ``mx = max_{h,w} x``, ``mn = min_{h,w} x``; one shared affine ``mx' = w2·mx + b2``,
  ``mn' = w2·mn + b2`` (reweighting module, shared, Table 4);
- ``mix = p̂0·mx' + p̂1·mn'`` with ``p̂ = p² / Σp²`` (self-adaptive pooling, Eq. 2; a fixed
  ``mix_alpha`` uses (α, 1 − α) instead), ``mix' = w1·mix + b1`` (excitation);
- ``out = x · sigmoid(mx' + mn') · sigmoid(mix')``.

Init ``w1 = w2 = 0``, ``b1 = b2 = -1`` (IEBN style). Extra parameters ``4C + 2`` per block
(``4C`` with a fixed α). The loss adds ``0.1 · Σ p²`` (``attention_regularizer``).

The reweighting module's variants of SPEM Table 4 (``reweight``): ``shared`` (the above,
"Ours"), ``unshared`` (row (a), Fig. 4(a): its own affine for the min, ``mn' = w3·mn + b3``:
6C + 2 parameters, as the table's +0.01M), ``none`` ("Without RM": ``out = x ·
sigmoid(mix')``, the mix of the raw max and min: 2C + 2). Rows (b)-(g) recombine mx' and
mn' in ways the text does not give (Fig. 4 is an image): not offered.
SPEM needs the max and the min of the map, so it goes with ``pooling: mix`` only and
with one branch; ``create_attention`` refuses other combinations.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule
from ._checks import check_choice, check_int
from .mix_pool import MixPool
from .pooling import global_max, global_min

REWEIGHTS = ("shared", "unshared", "none")  # SPEM Table 4: Ours, (a), Without RM


class SPEMAttention(AttentionModule):
    """SPEM block: ``forward(x) -> x * gate`` (self-adaptive pooling: SPEM Eq. 2).

    Args:
        channels: C.
        mix_alpha: ``"learn"`` (p learned, 2 parameters) or a fixed α in [0, 1].
        reweight: ``shared`` (SPEM), ``unshared`` (Table 4 (a)) or ``none`` (without RM).
    """

    def __init__(self, channels: int, mix_alpha: str | float = "learn", reweight: str = "shared"):
        super().__init__()
        channels = check_int(channels, "channels", 1)
        self.reweight = check_choice(reweight, "attention.spem_reweight", REWEIGHTS)
        self.pool = MixPool(mix_alpha)
        self.w1 = nn.Parameter(torch.zeros(channels))
        self.b1 = nn.Parameter(torch.full((channels,), -1.0))
        if self.reweight != "none":
            self.w2 = nn.Parameter(torch.zeros(channels))
            self.b2 = nn.Parameter(torch.full((channels,), -1.0))
        if self.reweight == "unshared":
            self.w3 = nn.Parameter(torch.zeros(channels))
            self.b3 = nn.Parameter(torch.full((channels,), -1.0))
        self.pooling = "mix"
        self.lam = None

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """``sigmoid(mx' + mn') · sigmoid(mix')``, shape ``(N, C, 1, 1)``."""
        mx = global_max(x)
        mn = global_min(x)
        if self.reweight == "none":  # Table 4, "Without RM": the excitation alone
            g = torch.sigmoid(self.w1 * self.pool.mix(mx, mn) + self.b1)
            return g.view(x.shape[0], x.shape[1], 1, 1).to(x.dtype)
        w3, b3 = (self.w3, self.b3) if self.reweight == "unshared" else (self.w2, self.b2)
        mx = self.w2 * mx + self.b2
        mn = w3 * mn + b3
        mix = self.w1 * self.pool.mix(mx, mn) + self.b1
        g = torch.sigmoid(mx + mn) * torch.sigmoid(mix)
        return g.view(x.shape[0], x.shape[1], 1, 1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
