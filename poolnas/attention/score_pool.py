"""SAAM's score-based aggregation (Lee et al., "Score-based Aggregation for Attention
Modules in Image Classification Tasks", Sec. III-A, Table I).

Per path k: ``U = mean_c X`` (H×W, Eq. 5), ``Ũ = conv5x5(U)`` (1 -> 1 map, Eq. 6),
``V = softmax`` over all H·W positions (Eq. 7), ``s_c = Σ_{h,w} V · X_c`` (Eq. 4). With
K > 1 paths the K descriptors go through one shared MLP whose logits are summed (CBAM
style, Sec. III-B).
Uniform scores give GAP, a one-hot score gives the value at that position.
The conv has no bias: a constant shift does not change the softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import Pool
from ._checks import check_int

KERNEL_SIZE = 5  # SAAM Sec. IV-B: "a 5×5 convolution layer for SAAM as in (6)"


class ScorePool(Pool):
    """Score-based aggregation with ``paths`` independent 5x5 score maps.

    Args:
        paths: K, the number of score maps (SAAM: K = 1 is best).
    """

    pool_type = "score"

    def __init__(self, paths: int = 1):
        super().__init__()
        self.paths = check_int(paths, "paths", 1)
        self.score = nn.Conv2d(1, self.paths, KERNEL_SIZE, padding=KERNEL_SIZE // 2, bias=False)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """V: softmax over positions (Eq. 5-7), ``(N, K, H*W)``, each row sums to 1."""
        u = x.mean(dim=1, keepdim=True)  # (N, 1, H, W)
        return self.score(u).flatten(2).softmax(dim=-1)

    def forward_paths(self, x: torch.Tensor) -> torch.Tensor:
        """``s_c = Σ_{h,w} V · X_c`` for every path (Eq. 4), ``(N, K, C)``."""
        v = self.scores(x).to(x.dtype)  # (N, K, HW)
        # s[n, k, c] = sum_p V[n, k, p] x[n, c, p]; bmm(V, xᵀ) is the fast layout on CPU
        return torch.bmm(v, x.flatten(2).transpose(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        paths = self.forward_paths(x)
        return paths.squeeze(1) if self.paths == 1 else paths.mean(dim=1)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, paths={self.paths}"
