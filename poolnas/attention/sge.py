"""SGE: spatial group-wise enhance (Li et al., "Spatial Group-wise Enhance: Improving
Semantic Feature Learning in Convolutional Networks", 2019, Sec. 3).

The C channels are split into G groups (G = 64 in the paper). In each group, with x_i the
C/G-vector at position i and g = GAP of the group (``pooling`` here; SGE uses GAP):
``c_i = g · x_i`` (Eq. 2), normalised over the H·W positions ``ĉ_i = (c_i − μ_c) /
(σ_c + ε)`` (Eq. 3-4, σ with Bessel's correction as the authors' code, ε = 1e-5),
``a_i = γ ĉ_i + β`` (Eq. 5, one γ, β per group, initialised to 0 and 1 as the authors'
code), ``x̂_i = x_i · σ(a_i)`` (Eq. 6). Extra parameters: 2G per block (SGE-ResNet-50:
25.56M). When G does not divide C, G is the largest divisor of C up to 64 (e.g. 16 groups
of one channel for C = 16). A 1x1 map has no spread: there ĉ = 0.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule, Pool
from ._checks import check_int

GROUPS = 64  # SGE's G
EPS = 1e-5


def sge_groups(channels: int, groups: int = GROUPS) -> int:
    """The largest divisor of C that is at most ``groups``."""
    channels = check_int(channels, "channels", 1)
    return max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)


class SGEAttention(AttentionModule):
    """SGE: ``forward(x) -> x * σ(γ ĉ + β)`` per group and position (SGE Eq. 2-6).

    Args:
        channels: C.
        pool: the group's global descriptor g (a single-path pooling op; GAP in SGE).
        groups: G (the largest divisor of C up to it is used).
        lam: λ at this site (SRP pools), for ``poolnas model show``.
    """

    def __init__(self, channels: int, pool: Pool, groups: int = GROUPS, *, lam: float | None = None):
        super().__init__()
        self.groups = sge_groups(channels, groups)
        self.pool = pool
        self.weight = nn.Parameter(torch.zeros(1, self.groups, 1, 1))  # γ
        self.bias = nn.Parameter(torch.ones(1, self.groups, 1, 1))  # β
        self.pooling = pool.pool_type
        self.lam = lam

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """σ(a), ``(N, G, H, W)``: one gate per group and position."""
        n, c, h, w = x.shape
        xg = x.reshape(n * self.groups, c // self.groups, h, w)
        g = self.pool(xg)  # (N·G, C/G)
        t = (xg * g[:, :, None, None]).sum(dim=1).view(n * self.groups, h * w)  # Eq. 2
        t = t - t.mean(dim=1, keepdim=True)  # Eq. 3-4
        std = t.std(dim=1, keepdim=True) if h * w > 1 else torch.zeros_like(t)
        t = (t / (std + EPS)).view(n, self.groups, h, w)
        return torch.sigmoid(t * self.weight + self.bias)  # Eq. 5-6

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        a = self.gate(x).to(x.dtype).view(n * self.groups, 1, h, w)
        return (x.reshape(n * self.groups, c // self.groups, h, w) * a).view(n, c, h, w)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
