"""ECA: efficient channel attention (Wang et al., "ECA-Net: Efficient Channel Attention for
Deep Convolutional Neural Networks", CVPR 2020, Sec. 3.2-3.3).

The excitation is a 1-D convolution across channels (no bias), no dimensionality
reduction: ``ω = σ(C1D_k(y))`` (Eq. 7 with the shared kernel), on the GAP descriptor y
(any pooling op here). The kernel size follows the channel count (Eq. 12):
``k = ψ(C) = |log2(C)/γ + b/γ|_odd`` with γ = 2, b = 1 (``|t|_odd``: the odd number
nearest to t, taken as the authors' code does: ``int(t)``, plus 1 if even). Extra
parameters: k per block (3 for C = 64, 5 for C = 128 ... 1024, 7 for C = 2048).
Multi-path pools go through the same convolution and the logits are summed (CBAM style).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import check_int

GAMMA, BETA = 2, 1  # γ and b of Eq. 12


def eca_kernel_size(channels: int, gamma: int = GAMMA, b: int = BETA) -> int:
    """``ψ(C)`` of ECA Eq. 12: the odd kernel size for C channels."""
    channels = check_int(channels, "channels", 1)
    t = int(abs((math.log2(channels) + b) / gamma))
    return max(1, t if t % 2 else t + 1)


class ECAHead(nn.Module):
    """``logits = C1D_k(z)`` across channels: ``(N, C)`` or ``(N, K, C)`` -> ``(N, C)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.kernel_size = eca_kernel_size(channels)
        self.conv = nn.Conv1d(1, 1, self.kernel_size, padding=self.kernel_size // 2, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        paths = z.shape[:-1]
        logits = self.conv(z.reshape(-1, 1, z.shape[-1])).view(*paths, z.shape[-1])
        return logits.sum(dim=1) if logits.dim() == 3 else logits

    def extra_repr(self) -> str:
        return f"k={self.kernel_size}"
