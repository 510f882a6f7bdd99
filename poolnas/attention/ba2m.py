"""BA2M: batch aware attention (Cheng et al., "BA^2M: A Batch Aware Attention Module for
Image Classification", Sec. III-B, Eq. 5-13).

Per sample x_i (C x H x W), three attentions, with R the reduction and
``r = max(1, C // R)`` (NOTES.md):
- channel ``A_C = BN(FC1(FC0(GAP(x))))``, FC0: C -> r, FC1: r -> C (Eq. 6);
- local spatial ``A_LS = BN(g2_1x1(g1_3x3(g0_1x1(x))))`` with r inner channels and C
  out (Eq. 7);
- global spatial ``A_GS = softmax(f gᵀ) h`` (Eq. 8, non-local) with f, g, h 1x1 convs to r
  channels, followed by a 1x1 conv r -> C so that it can be compared with A_C channel
  by channel (the paper's A_GS has C channels; NOTES.md asks for C/R-channel convs).
  Only ``GAP(A_GS)`` is used, and GAP commutes with that last 1x1 conv, so it is applied
  to the pooled vector.
Like the equations, no activation sits between these layers.
``A(x_i) = mean_c max(A_C, GAP(A_LS), GAP(A_GS))`` (Eq. 9), weights
``w = softmax_i(A)`` over the batch (Eq. 11) and ``x̂_i = w_i · x_i`` (Eq. 13).

Scale: the paper's weights lie in (0, 1) and sum to 1 over the batch (Eq. 11; its bound
Eq. 4 needs 0 < w < 1), so by default there is no factor N. ``scale_by_batch=True``
multiplies by N (mean weight 1), which keeps feature scales comparable between
training and an eval pass with the module off.

Eval: identity (the paper deactivates BA2M at inference, Sec. III-D) unless ``in_eval``.
A training batch of one sample has weight 1 and is returned unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule
from ._checks import hidden_width


class BatchAttention(AttentionModule):
    """BA2M between blocks: ``forward(x) -> w · x``, w a softmax over the batch.

    Args:
        channels: C.
        reduction: R (hidden width ``max(1, C // R)``).
        in_eval: also re-weight in eval mode.
        scale_by_batch: multiply the weights by N (mean 1) instead of the paper's sum 1.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 32,
        *,
        in_eval: bool = False,
        scale_by_batch: bool = False,
    ):
        super().__init__()
        r = hidden_width(channels, reduction)
        self.in_eval = bool(in_eval)
        self.scale_by_batch = bool(scale_by_batch)
        # Channel attention A_C (Eq. 6).
        self.fc0 = nn.Linear(channels, r)
        self.fc1 = nn.Linear(r, channels)
        self.bn_c = nn.BatchNorm1d(channels)
        # Local spatial attention A_LS (Eq. 7).
        self.local = nn.Sequential(
            nn.Conv2d(channels, r, 1, bias=False),
            nn.Conv2d(r, r, 3, padding=1, bias=False),
            nn.Conv2d(r, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )
        # Global spatial attention A_GS (Eq. 8).
        self.f = nn.Conv2d(channels, r, 1, bias=False)
        self.g = nn.Conv2d(channels, r, 1, bias=False)
        self.h = nn.Conv2d(channels, r, 1, bias=False)
        self.out = nn.Linear(r, channels, bias=False)  # the r -> C 1x1 conv, on GAP(.)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """A(x_i) of Eq. 9 for every sample, shape ``(N,)``."""
        a_c = self.bn_c(self.fc1(self.fc0(x.mean(dim=(2, 3)))))  # (N, C)
        a_ls = self.local(x).mean(dim=(2, 3))  # GAP(A_LS), (N, C)
        f = self.f(x).flatten(2)  # (N, r, HW)
        g = self.g(x).flatten(2)
        h = self.h(x).flatten(2)
        affinity = torch.bmm(f.transpose(1, 2), g).softmax(dim=-1)  # (N, HW_p, HW_q)
        # GAP over p of Σ_q S[p, q] h[:, q] = h · (column means of S).
        pooled = torch.bmm(h, affinity.mean(dim=1).unsqueeze(2)).squeeze(2)  # (N, r)
        a_gs = self.out(pooled)  # GAP(A_GS), (N, C)
        return torch.maximum(torch.maximum(a_c, a_ls), a_gs).mean(dim=1)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the batch (Eq. 11), ``(N,)``; times N with ``scale_by_batch``."""
        w = self.scores(x).softmax(dim=0)
        return w * x.shape[0] if self.scale_by_batch else w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x̂_i = w_i · x_i`` (Eq. 13); identity in eval unless ``in_eval`` (Sec. III-D)."""
        if not (self.training or self.in_eval):
            return x
        if x.shape[0] == 1:
            return x  # softmax over one sample is 1 (and BN cannot train on one)
        return x * self.weights(x).view(-1, 1, 1, 1).to(x.dtype)

    def extra_repr(self) -> str:
        return f"in_eval={self.in_eval}, scale_by_batch={self.scale_by_batch}"
