"""Squeeze-and-excitation over any pooling op (Hu et al., SENet; SRP-O's T^O).

``ChannelAttention``: descriptor(s) from a pooling op, two bias-free FCs
``C -> max(1, C // R) -> C`` with ReLU between and a sigmoid, gate multiplied onto x:
``forward(x) -> x * gate``. Extra parameters ``2 · C · max(1, C // R)`` per block
(``2C²/R`` when R divides C): pooling by SRP, GAP, max, min or avgmax adds none.
Multi-path pools (``avgmax``, ``score`` with K > 1) share the MLP and sum its logits
before the sigmoid (CBAM; SAAM Sec. III-B).
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule, Pool
from ._checks import hidden_width


class SEHead(nn.Module):
    """Two bias-free FCs with ReLU, ``W2 ReLU(W1 z)`` (SE's excitation; SAAM Eq. 9):
    descriptors ``(N, C)`` or ``(N, K, C)`` -> logits ``(N, C)``, summed over the K paths."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.fc2(self.act(self.fc1(z)))
        return logits.sum(dim=1) if logits.dim() == 3 else logits


class ChannelAttention(AttentionModule):
    """One-branch channel attention: ``x * sigmoid(SE(pool(x)))`` (SRP-O's T^O; SAAM Eq. 8-10).

    Args:
        channels: C.
        pool: a pooling op (``create_pool``).
        reduction: R; hidden width ``max(1, C // R)``.
        lam: λ at this site (recorded for ``poolnas model show``), None when not SRP.
    """

    def __init__(self, channels: int, pool: Pool, reduction: int = 16, *, lam: float | None = None):
        super().__init__()
        self.pool = pool
        self.head = SEHead(channels, reduction)
        self.pooling = pool.pool_type
        self.lam = lam

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The sigmoid gate ``(N, C, 1, 1)``."""
        if self.pool.paths == 1:
            z = self.pool(x)
        else:
            z = self.pool.forward_paths(x)
        return torch.sigmoid(self.head(z)).view(x.shape[0], x.shape[1], 1, 1).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
