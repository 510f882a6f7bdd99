"""Standard-deviation pooling and SRM's style pooling (Lee et al., SRM, ICCV 2019, Eq. 1-2).

- ``std``: ``σ_c = sqrt(mean_{h,w} (x - μ_c)² + ε)`` per channel, ε = 1e-5 (SRM Eq. 2 with
  the ε its code adds, so that a constant map has a finite gradient).
- ``style``: two paths per channel, ``(μ_c, σ_c)`` (Eq. 1-2). Heads push both through
  one shared head and sum the logits (SE); SRM's own head (``excitation: srm``) weighs
  them channel by channel. ``forward`` returns their mean, like every multi-path pool.
No parameters.
"""

from __future__ import annotations

import torch

from ._base import Pool

EPS = 1e-5


def global_std(x: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """``sqrt(var_{h,w}(x) + eps)`` per channel (population variance), ``(N, C)``."""
    return (x.flatten(2).var(dim=-1, unbiased=False) + eps).sqrt()


class StdPool(Pool):
    """Global standard-deviation pooling."""

    pool_type = "std"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return global_std(x)


class StylePool(Pool):
    """SRM's style pooling: mean and standard deviation, ``forward_paths -> (N, 2, C)``."""

    pool_type = "style"
    paths = 2

    def forward_paths(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack((x.mean(dim=(2, 3)), global_std(x)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_paths(x).mean(dim=1)
