"""Residual blocks with one optional channel-attention slot and one optional BA2M slot.

Every block has ``attn`` (channel attention at ``attn_position``, see
``poolnas.models.placement``) and ``batch_attn`` (BA2M after the block, or on its
residual branch before the add with ``batch_attn_position = "inside"``), both None
unless placed. Layer names of :class:`Bottleneck` follow torchvision's, so that a
ResNet-50's state dict matches torchvision's key for key when attention is off.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["BasicBlock", "Bottleneck", "PadShortcut", "PreActBasicBlock", "PreActBottleneck"]


def conv3x3(cin: int, cout: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, groups=groups, bias=False)


def conv1x1(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1, stride=stride, bias=False)


class PadShortcut(nn.Module):
    """He et al. (2016) option A: strided identity with zero-padded channels (no parameters)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.stride = stride
        self.pad = out_channels - in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            x = x[:, :, :: self.stride, :: self.stride]
        if self.pad:
            x = F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return x

    def extra_repr(self) -> str:
        return f"stride={self.stride}, pad={self.pad}"


class _AttentiveBlock(nn.Module):
    """The attention plumbing shared by all blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.attn: nn.Module | None = None
        self.attn_position = "residual"
        self.attn_double = False
        self.batch_attn: nn.Module | None = None
        self.batch_attn_position = "between"  # between (after the block) | inside
        self.bam: nn.Module | None = None  # BAM after a stage's last block

    def set_attention(self, module: nn.Module | None, position: str, double: bool = False) -> None:
        """Put a channel-attention module at ``position`` (``double``: it also gets the identity)."""
        self.attn = module
        self.attn_position = position
        self.attn_double = double

    def _at(self, position: str) -> nn.Module | None:
        return self.attn if self.attn is not None and self.attn_position == position else None

    def _pre(self, x: torch.Tensor) -> torch.Tensor:
        attn = self._at("pre")
        return x if attn is None else attn(x)

    def _residual(self, r: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """The residual branch's output before the add: SE (``residual``), then BA2M inside."""
        attn = self._at("residual")
        if attn is not None:
            r = attn(r, identity) if self.attn_double else attn(r)
        if self.batch_attn is not None and self.batch_attn_position == "inside":
            r = self.batch_attn(r)
        return r

    def _identity(self, identity: torch.Tensor) -> torch.Tensor:
        """SE-Identity: attention on the identity path (after any shortcut), before the add."""
        attn = self._at("identity")
        return identity if attn is None else attn(identity)

    def _add(self, r: torch.Tensor, identity: torch.Tensor) -> torch.Tensor:
        """``post_add(residual(r) + identity(identity))``: every in-block position."""
        return self._post_add(self._residual(r, identity) + self._identity(identity))

    def _post_add(self, out: torch.Tensor) -> torch.Tensor:
        attn = self._at("post-add")
        return out if attn is None else attn(out)

    def _after(self, out: torch.Tensor) -> torch.Tensor:
        attn = self._at("between")
        if attn is not None:
            out = attn(out)
        if self.bam is not None:
            out = self.bam(out)
        if self.batch_attn is not None and self.batch_attn_position == "between":
            out = self.batch_attn(out)
        return out


class BasicBlock(_AttentiveBlock):
    """CIFAR ResNet basic block (post-activation), option A shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = (
            PadShortcut(in_channels, out_channels, stride)
            if stride != 1 or in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = self.shortcut(x)
        r = self.relu(self.bn1(self.conv1(self._pre(x))))
        r = self.bn2(self.conv2(r))
        out = self._add(r, identity)
        return self._after(self.relu(out))


class Bottleneck(_AttentiveBlock):
    """Post-activation bottleneck, torchvision names (ResNet-50; ResNeXt with ``groups``).

    ``stride_on``: ``"3x3"`` (torchvision's "v1.5", the default) or ``"1x1"`` (He et al.
    2016's original "v1": the first 1x1 conv strides, so the 3x3 runs on the smaller map).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, width: int = 64, groups: int = 1,
                 stride_on: str = "3x3"):
        super().__init__()
        first = stride if stride_on == "1x1" else 1
        self.conv1 = conv1x1(in_channels, width, first)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride // first, groups)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(conv1x1(in_channels, out_channels, stride),
                                            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        r = self.relu(self.bn1(self.conv1(self._pre(x))))
        r = self.relu(self.bn2(self.conv2(r)))
        r = self.bn3(self.conv3(r))
        out = self._add(r, identity)
        return self._after(self.relu(out))


class _PreActBlock(_AttentiveBlock):
    """Pre-activation blocks: ``bn1 -> relu`` feeds both the residual branch and the
    projection shortcut (``shortcut``, a 1x1 conv, or None for the identity)."""

    def _add_shortcut(self, in_channels: int, out_channels: int, stride: int) -> None:
        # registered after the branch's layers: state-dict order and seeded init follow it
        self.relu = nn.ReLU(inplace=False)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = conv1x1(in_channels, out_channels, stride)

    def _branch_end(self, r: torch.Tensor) -> torch.Tensor:
        """The residual branch after ``conv2`` (nothing more in a basic block)."""
        return r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu(self.bn1(x))
        identity = x if self.shortcut is None else self.shortcut(a)
        r = self.conv1(self._pre(a))
        r = self._branch_end(self.conv2(self.relu(self.bn2(r))))
        out = self._add(r, identity)
        return self._after(out)


class PreActBasicBlock(_PreActBlock):
    """Pre-activation basic block (WRN); projection shortcut shares the pre-activation."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self._add_shortcut(in_channels, out_channels, stride)


class PreActBottleneck(_PreActBlock):
    """Pre-activation bottleneck (PreResNet-{9n+2}); projection shares the pre-activation."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, width: int = 16,
                 groups: int = 1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = conv1x1(in_channels, width)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride, groups)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = conv1x1(width, out_channels)
        self._add_shortcut(in_channels, out_channels, stride)

    def _branch_end(self, r: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.relu(self.bn3(r)))
