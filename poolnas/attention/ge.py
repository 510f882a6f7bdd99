"""GE-θ⁻: the parameter-free gather-excite operator (Hu et al., "Gather-Excite: Exploiting
Feature Context in Convolutional Neural Networks", NeurIPS 2018, Sec. 3).

With a global extent the gather ξ_G is global average pooling (any pooling op here) and
the excite ξ_E is the sigmoid of the gathered value, broadcast back over the map:
``y_c = x_c · σ(ξ_G(x)_c)``. No parameters: GE-θ⁻-ResNet-50 has ResNet-50's 25.56M.
Multi-path pools: the paths' descriptors are summed before the sigmoid (as every head
here sums its logits).
"""

from __future__ import annotations

import torch
from torch import nn


class GEHead(nn.Module):
    """The identity as an excitation: ``(N, C)`` or ``(N, K, C)`` -> logits ``(N, C)``."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.sum(dim=1) if z.dim() == 3 else z
