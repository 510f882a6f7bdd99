"""GeM: generalised-mean pooling with a learned exponent (Radenović et al., "Fine-tuning CNN
Image Retrieval with No Human Annotation", TPAMI 2018, Eq. 3).

``f_c = (mean_{h,w} x^p)^{1/p}`` per channel, with one learned p per site (initialised
to 3, the paper's choice). p = 1 is GAP and p → ∞ tends to max pooling, so a learned p
moves between them. GeM is defined for non-negative inputs (the paper pools after a
ReLU): inputs are clamped to at least ε = 1e-6 first, so negative values (e.g. on the
residual branch before the add, ``placement.position: residual``) count as ε; the
``between`` position sees post-ReLU maps. p is kept at least 1 in the forward (a clamp),
so the pool stays between GAP and max. One parameter per site.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import Pool

EPS = 1e-6
P_INIT = 3.0


class GeMPool(Pool):
    """``(mean x^p)^(1/p)`` over H×W with a learned p (``p_init`` 3)."""

    pool_type = "gem"

    def __init__(self, p_init: float = P_INIT, eps: float = EPS):
        super().__init__()
        self.p = nn.Parameter(torch.tensor(float(p_init)))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.p.clamp(min=1.0).to(torch.float32)
        pooled = x.float().clamp(min=self.eps).pow(p).mean(dim=(2, 3)).pow(1.0 / p)
        return pooled.to(x.dtype)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, eps={self.eps}"
