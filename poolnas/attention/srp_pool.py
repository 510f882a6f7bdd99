"""Stochastic Region Pooling (Luo et al., "Stochastic Region Pooling: Make Attention More
Expressive", Algorithm 1, Eq. 1-5).

Training: the descriptor of each map is the mean over a random region: one square of
side ``floor(λH + 1/2)`` (SS-SRP, Eq. 2-3) or the union of M such squares (MS-SRP,
Eq. 4-5, overlaps counted once). Eval: exactly GAP (Algorithm 1, lines 1-3).

By default one region per sample is shared by all its channels (the attention compares
channels, so they should see the same region; docs/attention.md); ``region="per-channel"`` draws
one per sample and channel. In a double-branch block the residual and the identity are
pooled over the same region (``forward_pair``).

Cost: the region is drawn as ``(N, H·W)`` weights (``regions.region_weights``) and
pooled with one ``bmm``, so forward + backward cost about one GAP (benchmarks/).
No parameters.

λ schedule over training time (``schedule: epochs``): with ``progress`` set by
``set_training_progress``, the λ in use is ``1 + (λ − 1)·progress``: 1 at the start,
λ at the end.
"""

from __future__ import annotations

import torch

from poolnas.config import SRP_DEFAULT_LAM, SRP_REGIONS

from ._base import Pool
from ._checks import check_choice, check_fraction, check_int, check_lam
from .regions import Squares, region_weights
from .srp_geometry import _region_side

REGION_MODES = SRP_REGIONS  # the trial config's attention.region values


class _RegionMean(torch.autograd.Function):
    """``z[n, c] = Σ_p w[n, p] x[n, c, p]`` for weights shared by the channels (SRP Eq. 3 / 5).

    Forward is ``bmm(w (N, 1, HW), xᵀ (N, HW, C))`` (a fast layout on CPU, unlike
    ``bmm(x, w)``); backward is the outer product ``g[n, c] w[n, p]`` written straight in
    x's shape: the same memory traffic as GAP's backward.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(weights)
        ctx.shape = x.shape
        return torch.bmm(weights.unsqueeze(1).to(x.dtype), x.flatten(2).mT).squeeze(1)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (weights,) = ctx.saved_tensors
        grad_x = grad.unsqueeze(2) * weights.unsqueeze(1).to(grad.dtype)
        return grad_x.view(ctx.shape), None


class SRPPool(Pool):
    """SS-SRP (``num_regions=1``, SRP Eq. 2-3) or MS-SRP (``num_regions=M``, Eq. 4-5) pooling.

    The constructor is the boundary of this module's API: it checks every argument (λ
    against the config's bounds, ``poolnas.config.LAM_MAX``); the forward pass and the
    region sampler it calls trust them.

    Args:
        lam: scale ratio λ in (0, 1] at this site (after any depth schedule); None: SRP
            Sec. 4's default for the pool type (``poolnas.config.SRP_DEFAULT_LAM``: SS 0.8,
            MS 0.6).
        num_regions: M >= 1 squares.
        region: ``"shared"`` (one region per sample) or ``"per-channel"``.
        over_epochs: schedule λ over training time; ``set_progress(f)`` moves the λ in use
            from 1 (f = 0, the initial state) to ``lam`` (f = 1).
    """

    def __init__(
        self,
        lam: float | None = None,
        num_regions: int = 1,
        region: str = "shared",
        *,
        over_epochs: bool = False,
    ):
        super().__init__()
        self.num_regions = check_int(num_regions, "M", 1)
        self.pool_type = "srp-ss" if self.num_regions == 1 else "srp-ms"
        self.lam = check_lam(SRP_DEFAULT_LAM[self.pool_type] if lam is None else lam)
        self.region = check_choice(region, "region", REGION_MODES)
        self.progress: float | None = 0.0 if over_epochs else None
        self._sides: dict[tuple[float, int], int] = {}

    def set_progress(self, fraction: float) -> None:
        """Training progress in [0, 1] for the over-epochs λ schedule (no-op otherwise)."""
        self._set_progress(check_fraction(fraction, "fraction"))

    def _set_progress(self, fraction: float) -> None:
        """``set_progress`` for a fraction already checked (``set_training_progress``)."""
        if self.progress is not None:
            self.progress = fraction

    @property
    def current_lam(self) -> float:
        """The λ in use now."""
        if self.progress is None:
            return self.lam
        return 1.0 + (self.lam - 1.0) * self.progress

    def _side(self, size: int) -> int:
        key = (self.current_lam, size)
        side = self._sides.get(key)
        if side is None:
            side = self._sides[key] = _region_side(key[0], size)  # λ checked in __init__
        return side

    def _weights(self, x: torch.Tensor) -> torch.Tensor | None:
        """``(N, HW)`` or ``(N, C, HW)`` pooling weights, None for the whole map."""
        n, c, h, w = x.shape
        side_h, side_w = self._side(h), self._side(w)
        if side_h == h and side_w == w:
            return None
        per_channel = self.region == "per-channel"
        groups = n * c if per_channel else n
        squares = Squares(h, w, side_h, side_w, self.num_regions)
        weights = region_weights(groups, squares, dtype=x.dtype, device=x.device)
        return weights.view(n, c, h * w) if per_channel else weights

    @staticmethod
    def _pool_with(x: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        if weights is None:
            return x.mean(dim=(2, 3))
        if weights.dim() == 2:
            return _RegionMean.apply(x, weights)
        return (x.flatten(2) * weights).sum(dim=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x.mean(dim=(2, 3))  # Algorithm 1, lines 1-3: exactly GAP
        return self._pool_with(x, self._weights(x))

    def forward_pair(
        self, x: torch.Tensor, identity: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.training or x.shape != identity.shape:
            return self.forward_paths(x), self.forward_paths(identity)
        weights = self._weights(x)  # the same region for both branches
        return (
            self._pool_with(x, weights).unsqueeze(1),
            self._pool_with(identity, weights).unsqueeze(1),
        )

    def extra_repr(self) -> str:
        sched = "" if self.progress is None else f", progress={self.progress}"
        return (
            f"pool_type={self.pool_type!r}, lam={self.lam}, M={self.num_regions}, "
            f"region={self.region!r}{sched}"
        )
