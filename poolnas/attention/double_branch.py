"""Double-branch channel attention (SRP-D's T^D; Hu et al., CMPE-SE, "Competitive Inner-
Imaging Squeeze and Excitation for Residual Network").

``DoubleBranchAttention.forward(x, identity) -> x * gate``: both the residual output x
and the identity are pooled (SRP pools both over the same region, SRP Sec. 3), and the
gate of x's channels comes from the two descriptors. The block then adds the identity.

Heads (config ``double_head``):
- ``conv`` (CMPE-SE "inner imaging", the authors' MXNet code, ``ResFoldReimageLayer`` and
  ``PreActBottleneckCMPESEBlock3x3``): stack the two C-vectors as a ``(C, 2)`` map
  (columns residual, identity), fold it to ``(C/k, k, 2)``, swap the last two axes and
  fold to a one-channel ``(2C/k, k)`` image, so that rows alternate k residual and k
  identity channels: row 2j holds residual channels jk..jk+k-1, row 2j+1 the identity's
  same channels. A 3x3 conv (no padding, no bias) with ``max(1, planes // 16)`` output
  maps (the authors' ``channels / cmpe_se_ratio``: the block's planes, i.e. the
  bottleneck width C/4, or C for basic blocks), BN, mean over the maps, flatten; FC to
  ``max(1, C // R)`` + ReLU, FC to C, sigmoid (FCs bias-free). k = 16 as in the authors'
  code when C allows; otherwise the largest divisor k <= 16 of C leaving at least 3 rows
  and 3 columns; if none exists (tiny C), the ``(C, 2)`` map itself with padding 1.
- ``fc`` (the "double FC" variant of the same code): each descriptor through its own
  bias-free FC to ``max(1, C // R)`` + ReLU, concatenated, bias-free FC to C, sigmoid.

Multi-path pools: the head runs on every path and the logits are summed (CBAM style).
"""

from __future__ import annotations

import torch
from torch import nn

from ._base import AttentionModule, Pool
from ._checks import check_choice, hidden_width

DOUBLE_HEADS = ("conv", "fc")
FOLD_WIDTH = 16  # k in CMPE-SE's (C, 2) -> (2C/k, k) fold (the authors' reimage_k)
MAPS_RATIO = 16  # conv output maps = planes / 16 (the authors' cmpe_se_ratio)


def fold_width(channels: int) -> int:
    """k for the inner-imaging fold (k divides C), or 0 for the unfolded (C, 2) map."""
    for k in range(FOLD_WIDTH, 2, -1):
        if channels % k == 0 and 2 * channels // k >= 3:
            return k
    return 0


def inner_image(z_res: torch.Tensor, z_id: torch.Tensor, fold: int) -> torch.Tensor:
    """``(B, C)`` twice -> the ``(B, 1, 2C/k, k)`` image of the authors' fold (k = ``fold``).

    ``(C, 2) -> (C/k, k, 2) -> transpose -> (C/k, 2, k) -> (2C/k, k)``; with ``fold = 0``
    the unfolded ``(B, 1, C, 2)`` map.
    """
    pair = torch.stack((z_res, z_id), dim=-1)  # (B, C, 2)
    b, c, _ = pair.shape
    if not fold:
        return pair.view(b, 1, c, 2)
    return pair.view(b, c // fold, fold, 2).transpose(-1, -2).reshape(b, 1, 2 * c // fold, fold)


class InnerImagingHead(nn.Module):
    """CMPE-SE's fold + 3x3 conv head: ``(z_res, z_id) (N, C) -> logits (N, C)``."""

    def __init__(self, channels: int, reduction: int = 16, planes: int | None = None):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        maps = max(1, (channels if planes is None else planes) // MAPS_RATIO)
        self.fold = fold_width(channels)
        if self.fold:
            rows, cols, pad = 2 * channels // self.fold, self.fold, 0
        else:
            rows, cols, pad = channels, 2, 1
        self.image_shape = (rows, cols)
        self.conv = nn.Conv2d(1, maps, 3, padding=pad, bias=False)
        self.bn = nn.BatchNorm2d(maps)
        features = (rows - 2 + 2 * pad) * (cols - 2 + 2 * pad)
        self.fc1 = nn.Linear(features, hidden, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Linear(hidden, channels, bias=False)

    def forward(self, z_res: torch.Tensor, z_id: torch.Tensor) -> torch.Tensor:
        image = inner_image(z_res, z_id, self.fold)
        maps = self.bn(self.conv(image)).mean(dim=1)  # (B, rows', cols')
        return self.fc2(self.act(self.fc1(maps.flatten(1))))


class DoubleFCHead(nn.Module):
    """CMPE-SE's "double FC" variant: one FC per descriptor, concatenated, one FC to C."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = hidden_width(channels, reduction)
        self.fc_res = nn.Linear(channels, hidden, bias=False)
        self.fc_id = nn.Linear(channels, hidden, bias=False)
        self.act = nn.ReLU(inplace=True)
        self.fc = nn.Linear(2 * hidden, channels, bias=False)

    def forward(self, z_res: torch.Tensor, z_id: torch.Tensor) -> torch.Tensor:
        h = torch.cat((self.act(self.fc_res(z_res)), self.act(self.fc_id(z_id))), dim=-1)
        return self.fc(h)


class DoubleBranchAttention(AttentionModule):
    """``forward(x, identity) -> x * sigmoid(T^D(pool(identity), pool(x)))`` (SRP-D).

    Args:
        channels: C (x and identity have the same shape).
        pool: a pooling op (``create_pool``).
        reduction: R.
        head: ``conv`` (CMPE-SE inner imaging) or ``fc`` (double FC).
        lam: λ at this site, None when not SRP.
        planes: the block's planes (bottleneck width; default C) for the conv head's
            ``planes // 16`` maps.
    """

    def __init__(
        self,
        channels: int,
        pool: Pool,
        reduction: int = 16,
        head: str = "conv",
        *,
        lam: float | None = None,
        planes: int | None = None,
    ):
        super().__init__()
        self.pool = pool
        if check_choice(head, "double_head", DOUBLE_HEADS) == "conv":
            self.head: nn.Module = InnerImagingHead(channels, reduction, planes)
        else:
            self.head = DoubleFCHead(channels, reduction)
        self.pooling = pool.pool_type
        self.lam = lam

    def gate(self, x: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """The sigmoid gate ``(N, C, 1, 1)``."""
        if identity.shape != x.shape:
            raise ValueError(
                f"identity: shape {tuple(identity.shape)} is not accepted; "
                f"expected the residual's shape {tuple(x.shape)}"
            )
        z_res, z_id = self.pool.forward_pair(x, identity)  # (N, K, C) each
        n, k, c = z_res.shape
        logits = self.head(z_res.reshape(n * k, c), z_id.reshape(n * k, c))
        logits = logits.view(n, k, c).sum(dim=1)
        return torch.sigmoid(logits).view(n, c, 1, 1).to(x.dtype)

    def forward(self, x: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        return x * self.gate(x, identity)
