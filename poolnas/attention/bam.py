"""BAM: bottleneck attention module (Park et al., "BAM: Bottleneck Attention Module", BMVC
2018, Sec. 3), placed between stages (the network's "bottlenecks", where it downsamples).

``F' = F + F ⊗ M(F)`` with ``M(F) = σ(M_c(F) + M_s(F))`` (Eq. 1-2), M_c broadcast over
H×W and M_s over the channels:
- channel ``M_c = BN(MLP(AvgPool(F)))`` (Eq. 3): FC C -> C/r, ReLU, FC C/r -> C; the
  authors' code puts the BN (1-D) and the ReLU after the first FC, and every FC and conv
  has a bias;
- spatial ``M_s = BN(f3(f2(f1(f0(F)))))`` (Eq. 4): 1x1 conv C -> C/r, two 3x3 convs
  C/r -> C/r with dilation d, 1x1 conv C/r -> 1; the authors' code puts BN + ReLU after
  each of the first three convs (the last is the plain 1x1).
r = 16 and d = 4 (Sec. 4). The authors' released code multiplies M_c and M_s where Eq. 2
adds them: we follow the equation. BAM-ResNet-50 (ImageNet, after stages 1-3): 25.92M.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule
from ._checks import check_int, hidden_width

REDUCTION = 16  # r
DILATION = 4  # d


class BAM(AttentionModule):
    """``forward(x) -> x + x * σ(M_c(x) + M_s(x))`` (BAM Eq. 1-4).

    Args:
        channels: C.
        reduction: r (hidden width ``max(1, C // r)``).
        dilation: d of the two 3x3 convs.
    """

    def __init__(self, channels: int, reduction: int = REDUCTION, dilation: int = DILATION):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        d = check_int(dilation, "dilation", 1)
        self.channel = nn.Sequential(
            nn.Linear(channels, hidden), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        )
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 1), nn.BatchNorm2d(hidden),
                                   nn.ReLU(inplace=True)]
        for _ in range(2):
            layers += [nn.Conv2d(hidden, hidden, 3, padding=d, dilation=d), nn.BatchNorm2d(hidden),
                       nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(hidden, 1, 1))
        self.spatial = nn.Sequential(*layers)
        self.pooling = "bam"
        self.lam = None

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """``M(F) = σ(M_c + M_s)``, ``(N, C, H, W)`` (Eq. 2)."""
        m_c = self.channel(x.mean(dim=(2, 3)))[:, :, None, None]  # (N, C, 1, 1)
        m_s = self.spatial(x)  # (N, 1, H, W)
        return torch.sigmoid(m_c + m_s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x * self.attention(x).to(x.dtype)  # Eq. 1
