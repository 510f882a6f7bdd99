"""The reference for BA2M's global-spatial attention in tests: the full (N, P, Q) softmax of
Eq. 8's affinity, then its column means (the formulation the blocked and low-rank kernels
replace), and a helper that returns a function's values with the gradients of its inputs."""

from __future__ import annotations

from collections.abc import Callable

import torch

__all__ = ["full_softmax_column_mean", "values_and_grads"]


def full_softmax_column_mean(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """softmax over q of fᵀg, averaged over p: (N, d, P), (N, d, Q) -> (N, Q)."""
    return torch.bmm(f.transpose(1, 2), g).softmax(dim=-1).mean(dim=1)


def values_and_grads(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], f: torch.Tensor,
                     g: torch.Tensor, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``fn(f, g)`` and the gradients of ``(fn(f, g) * w).sum()`` with respect to f and g."""
    f = f.detach().clone().requires_grad_(True)
    g = g.detach().clone().requires_grad_(True)
    out = fn(f, g)
    (out * w).sum().backward()
    return out.detach(), f.grad, g.grad
