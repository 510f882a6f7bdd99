"""SPEM's mix pooling: ``α·max + (1 − α)·min`` per channel (Zhong et al., SPEM, Eq. 2).

With ``mix_alpha="learn"`` α is learned as in the authors' code: two parameters
``p = (p0, p1)`` initialised to 0.5 and normalised ``α = p0² / (p0² + p1²)``,
``1 − α = p1² / (p0² + p1²)``. The loss adds ``0.1 · Σ p²`` (``attention_regularizer``)
so that p cannot grow without bound (the mix is invariant to the scale of p).
With a fixed ``mix_alpha`` in [0, 1] the weights are the constants (α, 1 − α) and the
op has no parameters (SPEM Table 3).
"""

from __future__ import annotations

import torch
from torch import nn

from poolnas.errors import ConfigError

from ._base import Pool
from .pooling import global_max, global_min

REGULARIZER_WEIGHT = 0.1  # SPEM: loss + 0.1 * sum(p^2)


def check_mix_alpha(mix_alpha: object) -> str | float:
    """``"learn"`` or a number in [0, 1]."""
    if mix_alpha == "learn":
        return "learn"
    number = isinstance(mix_alpha, (int, float)) and not isinstance(mix_alpha, bool)
    if not (number and 0.0 <= mix_alpha <= 1.0):
        raise ConfigError("mix_alpha", mix_alpha, "expected 'learn' or a number in [0, 1]")
    return float(mix_alpha)


class MixPool(Pool):
    """``α·max + (1 − α)·min`` over H×W, α fixed or learned (SPEM).

    Args:
        mix_alpha: ``"learn"`` or α in [0, 1].
    """

    pool_type = "mix"

    def __init__(self, mix_alpha: str | float = "learn"):
        super().__init__()
        self.mix_alpha = check_mix_alpha(mix_alpha)
        if self.mix_alpha == "learn":
            self.p = nn.Parameter(torch.full((2,), 0.5))
        else:
            self.p = None
            a = float(self.mix_alpha)
            self.register_buffer("_weights", torch.tensor([a, 1.0 - a]), persistent=False)

    def weights(self) -> torch.Tensor:
        """(α, 1 − α): the normalised p̂ = p² / Σp², or the fixed constants."""
        if self.p is None:
            return self._weights
        sq = self.p * self.p
        return sq / sq.sum()

    def mix(self, mx: torch.Tensor, mn: torch.Tensor) -> torch.Tensor:
        """Mix already pooled max and min descriptors (any equal shapes)."""
        w = self.weights().to(mx.dtype)
        return w[0] * mx + w[1] * mn

    def regularizer(self) -> torch.Tensor | None:
        """SPEM's 0.1·Σp², or None for a fixed α."""
        if self.p is None:
            return None
        return REGULARIZER_WEIGHT * (self.p * self.p).sum()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mix(global_max(x), global_min(x))

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, mix_alpha={self.mix_alpha!r}"
