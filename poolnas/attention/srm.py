"""SRM: style-based recalibration (Lee et al., "SRM: A Style-based Recalibration Module for
Convolutional Neural Networks", ICCV 2019, Sec. 3).

Style pooling (Eq. 1-2) gives each channel its mean μ and standard deviation σ
(``pooling: style``, ``style_pool.py``); style integration (Eq. 3-5) is a channel-wise
fully connected layer ``z_c = w_c · t_c`` (w_c ∈ R^2 per channel, no bias), BN over the
channels, and the gate ``g = σ(BN(z))`` multiplies the map (Eq. 6). Extra parameters:
2C (CFC) + 2C (BN) = 4C per block with style pooling (SRM-ResNet-50: 25.62M).

Here the CFC takes any pooling op's K paths (``(N, K, C)``: ``z_c = Σ_k w_{c,k} t_{c,k}``;
K = 1 for single-path pools, e.g. GAP: a per-channel affine of the mean).
"""

from __future__ import annotations

import torch
from torch import nn

from ._checks import check_int


class SRMHead(nn.Module):
    """Channel-wise FC over the K descriptors of each channel, then BN: ``(N, K, C)`` or
    ``(N, C)`` -> logits ``(N, C)`` (SRM Eq. 3-5)."""

    def __init__(self, channels: int, paths: int = 2):
        super().__init__()
        channels = check_int(channels, "channels", 1)
        self.paths = check_int(paths, "paths", 1)
        self.cfc = nn.Parameter(torch.zeros(channels, self.paths))  # the authors' init: 0
        self.bn = nn.BatchNorm1d(channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() == 2:
            z = z.unsqueeze(1)
        return self.bn((z * self.cfc.t().to(z.dtype)).sum(dim=1))  # Eq. 3: Σ_k w_ck t_ck; Eq. 4
