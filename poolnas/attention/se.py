"""Squeeze-and-excitation over any pooling op (Hu et al., SENet; SRP-O's T^O).

``ChannelAttention``: descriptor(s) from a pooling op, an excitation head giving one logit
per channel (SE's by default), a sigmoid, the gate multiplied onto x:
``forward(x) -> x * gate``, then an optional spatial gate (CBAM's, ``cbam.py``).

SE's head: two FCs ``C -> max(1, C // R) -> C`` with ReLU between, with biases as in
SENet's released code (the papers' SE-ResNet-50 has 28.09M parameters):
``2 · C · h + h + C`` extra parameters per block (h = max(1, C // R)). ``bias=False`` gives
the bias-free form ``W2 ReLU(W1 z)`` of SAAM Eq. 9 (``2C²/R``; config ``se_bias: false``).
Pooling by SRP, GAP, max, min, avgmax or style adds none.
Multi-path pools (``avgmax``, ``style``, ``score`` with K > 1) share the head and sum its
logits before the sigmoid (CBAM; SAAM Sec. III-B).
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule, Pool
from ._checks import hidden_width


class SEHead(nn.Module):
    """Two FCs with ReLU, ``W2 ReLU(W1 z + b1) + b2`` (SE's excitation; bias-free with
    ``bias=False``: SAAM Eq. 9): descriptors ``(N, C)`` or ``(N, K, C)`` -> logits
    ``(N, C)``, summed over the K paths."""

    def __init__(self, channels: int, reduction: int = 16, *, bias: bool = True):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=bias)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels, bias=bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        logits = self.fc2(self.act(self.fc1(z)))
        return logits.sum(dim=1) if logits.dim() == 3 else logits


class ChannelAttention(AttentionModule):
    """One-branch channel attention: ``x * sigmoid(head(pool(x)))`` (SRP-O's T^O; SAAM Eq.
    8-10; ECA, SRM, GE-θ⁻ with their heads), then ``spatial`` (CBAM's spatial gate) if given.

    Args:
        channels: C.
        pool: a pooling op (``create_pool``).
        reduction: R; hidden width ``max(1, C // R)`` (SE's head).
        lam: λ at this site (recorded for ``poolnas model show``), None when not SRP.
        head: descriptors ``(N, C)`` / ``(N, K, C)`` -> logits ``(N, C)``; None: SE's head
            with biases (``SEHead(channels, reduction)``).
        spatial: a module ``x -> x * spatial gate`` applied after the channel gate, or None.
    """

    def __init__(
        self,
        channels: int,
        pool: Pool,
        reduction: int = 16,
        *,
        lam: float | None = None,
        head: nn.Module | None = None,
        spatial: nn.Module | None = None,
    ):
        super().__init__()
        self.pool = pool
        self.head = SEHead(channels, reduction) if head is None else head
        self.spatial = spatial
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
        x = x * self.gate(x)
        return x if self.spatial is None else self.spatial(x)
