"""Base classes shared by the pooling ops and the attention blocks.

A pooling op maps ``x (N, C, H, W) -> (N, C)``. Ops with several descriptors per map
(``avgmax``: CBAM's average and max paths; ``score`` with K > 1: SAAM's K score maps)
also give ``forward_paths(x) -> (N, K, C)``; excitation heads push every path through
one shared MLP and sum the logits before the sigmoid (CBAM, SAAM Sec. III-B).
``forward(x)`` of such an op returns the mean over its paths, so that every op keeps the
one ``(N, C)`` signature.
"""

from __future__ import annotations

import torch
from torch import nn


class AttentionModule(nn.Module):
    """Marker for modules whose parameters count as attention parameters.

    ``attention_parameters(model)`` collects the parameters of these modules (SAAM trains
    them without weight decay).
    """


class Pool(nn.Module):
    """A global pooling op ``(N, C, H, W) -> (N, C)`` with ``paths`` descriptors per map."""

    pool_type: str = ""
    paths: int = 1

    def forward_paths(self, x: torch.Tensor) -> torch.Tensor:
        """Descriptors of every path, ``(N, K, C)``."""
        return self(x).unsqueeze(1)

    def forward_pair(
        self, x: torch.Tensor, identity: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Paths of the residual ``x`` and of ``identity``, each ``(N, K, C)`` (SRP-D).

        Stochastic ops override this so that both branches see the same region.
        """
        return self.forward_paths(x), self.forward_paths(identity)

    def extra_repr(self) -> str:
        return f"pool_type={self.pool_type!r}"
