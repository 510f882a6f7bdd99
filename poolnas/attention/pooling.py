"""Static global pooling ops: ``gap``, ``max``, ``min`` and CBAM's ``avgmax``.

All map ``x (N, C, H, W) -> (N, C)``. GAP is SE's squeeze (SRP Eq. 1). ``avgmax`` is the
two-path pooling of CBAM (Woo et al., 2018): its heads apply one shared MLP to the
average and to the max descriptor and sum the two logits before the sigmoid
(``forward_paths``); its plain ``forward`` returns the mean of the two descriptors.
"""

from __future__ import annotations

import torch

from ._base import Pool


def global_max(x: torch.Tensor) -> torch.Tensor:
    """Max over H x W, ``(N, C)``. ``max(dim)`` rather than ``amax``: its backward is one
    scatter to the arg-max (amax spreads ties and costs several full-size passes)."""
    return x.flatten(2).max(dim=-1).values


def global_min(x: torch.Tensor) -> torch.Tensor:
    """Min over H x W, ``(N, C)`` (see ``global_max``)."""
    return x.flatten(2).min(dim=-1).values


class GapPool(Pool):
    """Global average pooling (SRP Eq. 1)."""

    pool_type = "gap"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class MaxPool(Pool):
    """Global max pooling."""

    pool_type = "max"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return global_max(x)


class MinPool(Pool):
    """Global min pooling (SPEM)."""

    pool_type = "min"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return global_min(x)


class AvgMaxPool(Pool):
    """CBAM's two paths (Woo et al., 2018): average and max; heads sum the shared MLP's logits."""

    pool_type = "avgmax"
    paths = 2

    def forward_paths(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack((x.mean(dim=(2, 3)), global_max(x)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_paths(x).mean(dim=1)
