"""CBAM's spatial attention (Woo et al., "CBAM: Convolutional Block Attention Module",
ECCV 2018, Sec. 3, Eq. 3).

``M_s(F) = σ(f^{7×7}([AvgPool(F); MaxPool(F)]))``: the channel-wise mean and max of the
map (after CBAM's channel gate) stacked as two maps, a 7x7 convolution to one map (no
bias) with BN, as the authors' code (``SpatialGate``: ``BasicConv(2, 1, 7, bn=True,
relu=False)``), a sigmoid, multiplied onto every channel. 98 + 2 = 100 parameters per
block. CBAM's channel attention is ``pooling: avgmax`` with SE's head (one shared MLP over
the average and max descriptors, logits summed: Eq. 2); ``spatial: cbam`` adds this gate
after it (the sequential, channel-first arrangement of Sec. 3).
"""

from __future__ import annotations

import torch
from torch import nn

KERNEL_SIZE = 7  # CBAM Sec. 3, "Spatial attention module"


class SpatialGate(nn.Module):
    """``x * σ(BN(conv7x7([mean_c x; max_c x])))`` (CBAM Eq. 3)."""

    def __init__(self, kernel_size: int = KERNEL_SIZE):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The spatial gate ``(N, 1, H, W)``."""
        pooled = torch.cat((x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)), dim=1)
        return torch.sigmoid(self.bn(self.conv(pooled))).to(x.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x)
