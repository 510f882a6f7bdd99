"""BA2M: batch aware attention (Cheng et al., "BA^2M: A Batch Aware Attention Module for
Image Classification", Sec. III-B, Eq. 5-13, 16).

Per sample x_i (C x H x W), three attentions, with R the reduction and
``r = max(1, C // R)`` (C/R):
- channel ``A_C = BN(W1 W0 GAP(x))``, W0: C -> r, W1: r -> C, no biases (Eq. 6);
- local spatial ``A_LS = BN(g2_1x1(g1_3x3(g0_1x1(x))))``, C -> r -> r -> C (Eq. 7);
  ``C²(9 + 2R)/R²`` weights as Eq. 16 counts them;
- global spatial ``A_GS = softmax(f gᵀ) h`` (Eq. 8, non-local). Eq. 16 gives f, g, h
  ``3C²/R²`` weights in all and Eq. 17 ``3HWC²/R²`` MACs for them and ``~(HW)²·2C/R``
  for the two products, and "X is processed by R groups": our reading is that x's C
  channels are cut into R groups of C/R and averaged into one C/R-channel map z, that
  f, g, h are 1x1 convs C/R -> C/R on z, and that A_GS (C/R channels) is tiled back over
  the R groups so that Eq. 9 compares it with A_C channel by channel (channel
  ``k·r + j`` gets A_GS's channel j). When R does not divide C the last group is
  zero-padded. Only ``GAP(A_GS)`` is used, and GAP over p of ``Σ_q S[p, q] h_q`` is h
  times the column means of S, so the second product is a matrix-vector product.
Like the equations, no activation sits between these layers.
``A(x_i) = mean_c max(A_C, GAP(A_LS), GAP(A_GS))`` (Eq. 9), then ``x̂_i = w_i · x_i``
(Eq. 13), with the weights w from the SAR A of the batch:

- ``formulation="mean"`` (default): ``w_i = exp(A_i) / mean_j exp(A_j) = N·softmax(A)_i``
  (mean 1 over the batch), kept within ``[1/max_weight, max_weight]`` (log-weights
  clamped, default 1.5). A mean of 1 keeps every feature at the scale the next layers
  (and their BN running statistics) see without the module, so the paper's inference
  (module off, Sec. III-D) evaluates the network it trained; the bound keeps one sample
  from taking the whole batch (N·softmax can reach N: on digits, ResNet-20 with BA2M on
  its three stages diverged with a cap of 4 and trained with 1.5) and keeps the weights
  near 1, which is what makes "module off" and "module on" agree at test time. In eval with ``in_eval`` the
  batch mean is replaced by its running
  estimate (a buffer, like BN's), so a test image's weight does not depend on the other
  images of its batch: the same predictions at every test batch size (the paper's
  "all the results are 21.63%" for test batches 1 ... 256).
- ``formulation="softmax"``: the literal Eq. 11, ``w = softmax(A)`` summing to 1 (each
  about 1/N, the bound of Eq. 4 needs 0 < w < 1); in eval with ``in_eval`` the softmax
  runs over the test batch. Features downstream are N times smaller in training than
  with the module off.

Eval: identity (the paper deactivates BA2M at inference, Sec. III-D) unless ``in_eval``:
``True`` weighs as in training (above); ``"sar"`` is the paper's other reading of Sec.
III-D, "the feature is refined by multiplying with the corresponding SAR": in eval
``x̂_i = A(x_i) · x_i`` with the raw SAR of Eq. 9 (no normalisation over the batch; A can
be negative or far from 1, since it is a mean of BN outputs).
A training batch of one sample has weight 1 and is returned unchanged.

``parts`` (BA2M Table IX) keeps a subset of the three attentions: Eq. 9's max runs over
the parts kept, and the layers of the others are not built (their parameters are gone).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ._affinity import softmax_column_mean
from ._base import AttentionModule
from ._checks import check_choice, hidden_width

FORMULATIONS = ("mean", "softmax")
PARTS = ("channel", "local", "global")  # A_C, A_LS, A_GS (BA2M Table IX: CA, LSA, GSA)


SMALL_CONV = 64  # out x in channels up to which a conv below runs as broadcast products


def _conv1x1(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight)`` for a 1x1 ``weight (o, i, 1, 1)``, bias-free. With few output
    channels (r = C/R: 1 or 2 at R = 32 on ResNet-20) as o channel-weighted sums: the CPU
    conv kernels measured 10-70x slower than these products on 1-16 channels here."""
    o, i = weight.shape[:2]
    if o * i > SMALL_CONV and o > 2:
        return F.conv2d(x, weight)
    w = weight.view(o, i, 1, 1).to(x.dtype)
    return torch.cat([(x * w[k]).sum(dim=1, keepdim=True) for k in range(o)], dim=1)


def _conv3x3(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``F.conv2d(x, weight, padding=1)`` for a 3x3 ``weight (o, i, 3, 3)``, bias-free; with
    o·i <= 4 (A_LS's r -> r conv at r <= 2) as the 9·o·i shifted products."""
    o, i = weight.shape[:2]
    if o * i > 4:
        return F.conv2d(x, weight, padding=1)
    height, width = x.shape[2:]
    xp = F.pad(x, (1, 1, 1, 1))
    w = weight.to(x.dtype)
    outs = []
    for k in range(o):
        acc = None
        for j in range(i):
            for dy in range(3):
                for dx in range(3):
                    term = xp[:, j:j + 1, dy:dy + height, dx:dx + width] * w[k, j, dy, dx]
                    acc = term if acc is None else acc + term
        outs.append(acc)
    return torch.cat(outs, dim=1)


class BatchAttention(AttentionModule):
    """BA2M: ``forward(x) -> w · x``, one weight per sample from the batch's SARs.

    Args:
        channels: C.
        reduction: R (inner width ``max(1, C // R)``).
        in_eval: also re-weight in eval mode (True), or multiply by the raw SAR (``"sar"``).
        formulation: ``mean`` (weights of mean 1, capped; default) or ``softmax``
            (Eq. 11 as written: weights summing to 1).
        max_weight: ``mean`` keeps weights in ``[1/max_weight, max_weight]`` (> 1).
        momentum: of the running estimate of ``log mean_j exp(A_j)`` (``mean``).
        parts: the attentions of Eq. 9 to keep (Table IX), a non-empty subset of ``PARTS``.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 32,
        *,
        in_eval: bool | str = False,
        formulation: str = "mean",
        max_weight: float = 1.5,
        momentum: float = 0.1,
        parts: tuple[str, ...] | list[str] = PARTS,
    ):
        super().__init__()
        r = hidden_width(channels, reduction)
        self.in_eval = in_eval if in_eval == "sar" else bool(in_eval)
        self.parts = tuple(p for p in PARTS if p in {check_choice(q, "batch_attention.parts", PARTS)
                                                   for q in parts})
        if not self.parts:
            raise ValueError("parts: [] is not accepted; expected a non-empty subset of " + ", ".join(PARTS))
        self.formulation = check_choice(formulation, "batch_attention.formulation", FORMULATIONS)
        if not max_weight > 1.0:
            raise ValueError(f"max_weight: {max_weight} is not accepted; expected a number > 1")
        self.max_weight = float(max_weight)
        self.momentum = float(momentum)
        self.groups = -(-channels // r)  # R groups of C/R channels (Eq. 8's "R groups")
        self.r = r
        if "channel" in self.parts:  # Channel attention A_C (Eq. 6): W0, W1, BN.
            self.fc0 = nn.Linear(channels, r, bias=False)
            self.fc1 = nn.Linear(r, channels, bias=False)
            self.bn_c = nn.BatchNorm1d(channels)
        if "local" in self.parts:  # Local spatial attention A_LS (Eq. 7).
            self.local = nn.Sequential(
                nn.Conv2d(channels, r, 1, bias=False),
                nn.Conv2d(r, r, 3, padding=1, bias=False),
                nn.Conv2d(r, channels, 1, bias=False),
                nn.BatchNorm2d(channels),
            )
        if "global" in self.parts:  # Global spatial attention A_GS (Eq. 8) on the group mean (Eq. 16).
            self.f = nn.Conv2d(r, r, 1, bias=False)
            self.g = nn.Conv2d(r, r, 1, bias=False)
            self.h = nn.Conv2d(r, r, 1, bias=False)
        # log mean_j exp(A_j) over training batches: the normaliser of `mean` in eval.
        self.register_buffer("running_log_norm", torch.zeros(()))

    def _global(self, x: torch.Tensor) -> torch.Tensor:
        """GAP(A_GS) tiled to C channels, ``(N, C)``."""
        n, c, height, width = x.shape
        r = self.r
        pad = self.groups * r - c
        if pad:
            x = F.pad(x, (0, 0, 0, 0, 0, pad))
        z = x.view(n, self.groups, r, height, width).mean(dim=1)  # (N, r, H, W)
        if z.device.type == "meta":  # poolnas.models.cost: the layers as Eq. 17 counts them
            f, g, h = self.f(z).flatten(2), self.g(z).flatten(2), self.h(z).flatten(2)  # (N, r, HW)
        else:  # the three 1x1 convs as one (a few channels: not through a conv kernel)
            weight = torch.cat([self.f.weight, self.g.weight, self.h.weight])
            f, g, h = _conv1x1(weight, z).flatten(2).split(r, dim=1)  # (N, r, HW) each
        # S = softmax(fᵀg) is (N, HW_p, HW_q); GAP over p of Σ_q S[p, q] h[:, q] = h · (column
        # means of S), computed a block of images at a time without keeping S (_affinity).
        col_mean = softmax_column_mean(f, g)  # (N, HW_q)
        pooled = torch.bmm(h, col_mean.to(h.dtype).unsqueeze(2)).squeeze(2)  # (N, r)
        return pooled.repeat(1, self.groups)[:, :c]

    def _local(self, x: torch.Tensor) -> torch.Tensor:
        """GAP(A_LS) of Eq. 7, ``(N, C)``, without A_LS's C-channel map: the last 1x1 conv
        (r -> C, W2) and BN are affine per channel, so with y = g1_3x3(g0_1x1(x)) (r channels),
        ȳ_i its GAP per image, ȳ and Σ_y its mean and covariance (r x r) over the N·H·W
        positions, ``GAP(BN(W2 y))_i = γ (W2 ȳ_i - μ) / sqrt(σ² + eps) + β`` with μ = W2 ȳ and
        σ² = diag(W2 Σ_y W2ᵀ) in training (BN's batch statistics; its running estimates are
        updated as BN updates them) and BN's running estimates otherwise. The same numbers as
        ``self.local(x).mean((2, 3))`` to float rounding (tests/attention/test_ba2m.py); on
        the meta device (poolnas.models.cost) the layers run as written, as Eq. 17 counts them."""
        if x.device.type == "meta":
            return self.local(x).mean(dim=(2, 3))
        conv0, conv1, conv2, bn = self.local
        y = _conv3x3(conv1.weight, _conv1x1(conv0.weight, x)).float()  # (N, r, H, W)
        r = y.shape[1]
        w2 = conv2.weight.view(-1, r).float()  # (C, r)
        gap = y.mean(dim=(2, 3)) @ w2.t()  # GAP(W2 y), (N, C)
        if bn.training or bn.running_mean is None:
            flat = y.transpose(0, 1).reshape(r, -1)  # (r, N·H·W)
            mean_y = flat.mean(dim=1)
            centred = flat - mean_y.unsqueeze(1)
            cov = centred @ centred.t() / flat.shape[1]
            mean, var = w2 @ mean_y, ((w2 @ cov) * w2).sum(dim=1)
            if bn.training and bn.running_mean is not None:
                with torch.no_grad():
                    bn.num_batches_tracked.add_(1)
                    factor = 1.0 / float(bn.num_batches_tracked) if bn.momentum is None else bn.momentum
                    m = flat.shape[1]
                    bn.running_mean.lerp_(mean.detach().to(bn.running_mean), factor)
                    bn.running_var.lerp_((var.detach() * (m / max(m - 1, 1))).to(bn.running_var), factor)
        else:
            mean, var = bn.running_mean.float(), bn.running_var.float()
        out = (gap - mean) * torch.rsqrt(var + bn.eps)
        if bn.affine:
            out = out * bn.weight.float() + bn.bias.float()
        return out

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """A(x_i) of Eq. 9 for every sample, shape ``(N,)`` (the max over ``parts``)."""
        found = []
        if "channel" in self.parts:
            found.append(self.bn_c(self.fc1(self.fc0(x.mean(dim=(2, 3))))))  # A_C, (N, C)
        if "local" in self.parts:
            found.append(self._local(x))  # GAP(A_LS), (N, C)
        if "global" in self.parts:
            found.append(self._global(x))  # GAP(A_GS), (N, C)
        best = found[0]
        for other in found[1:]:
            best = torch.maximum(best, other)
        return best.mean(dim=1)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """One weight per sample, ``(N,)``: see the module docstring for the formulations."""
        a = self.scores(x).float()
        if self.formulation == "softmax":
            return a.softmax(dim=0)  # Eq. 11
        if self.training:
            log_norm = torch.logsumexp(a, dim=0) - math.log(a.shape[0])  # log mean exp(A)
            with torch.no_grad():
                self.running_log_norm.lerp_(log_norm.detach().to(self.running_log_norm), self.momentum)
        else:
            log_norm = self.running_log_norm.to(a)
        bound = math.log(self.max_weight)
        return (a - log_norm).clamp(-bound, bound).exp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x̂_i = w_i · x_i`` (Eq. 13); identity in eval unless ``in_eval`` (Sec. III-D)."""
        if not (self.training or self.in_eval):
            return x
        if not self.training and self.in_eval == "sar":  # Sec. III-D: times the raw SAR
            return x * self.scores(x).view(-1, 1, 1, 1).to(x.dtype)
        if self.training and x.shape[0] == 1:
            return x  # the weight of a lone sample is 1 (and BN cannot train on one)
        return x * self.weights(x).view(-1, 1, 1, 1).to(x.dtype)

    def extra_repr(self) -> str:
        return (
            f"in_eval={self.in_eval}, formulation={self.formulation!r}, "
            f"max_weight={self.max_weight}, groups={self.groups}, parts={self.parts}"
        )
