"""One residual network class for every architecture: stem, ``layer{1..S}``, head.

Names follow torchvision's ResNet (``conv1``, ``bn1``, ``layer1.0.conv1``, ``fc``) so that
the ImageNet ResNet-50 loads torchvision weights; pre-activation nets add ``bn`` (the
final BN-ReLU before pooling). Pooling is adaptive, so any input size of at least 1x1
after the stem works (8x8 digits, 28x28 Fashion-MNIST, 32x32 CIFAR, 224x224 ImageNet).
"""

from __future__ import annotations

import torch
from torch import nn

from poolnas.models._arch import ArchPlan
from poolnas.models.blocks import BasicBlock, Bottleneck, PreActBasicBlock, PreActBottleneck

__all__ = ["ResNet", "make_block"]

_BLOCKS = {
    "cifar-resnet": BasicBlock,
    "wrn": PreActBasicBlock,
    "preresnet-basic": PreActBasicBlock,
    "preresnet": PreActBottleneck,
    "resnext": Bottleneck,
    "resnet50": Bottleneck,
    "resnet-cifar-stem": Bottleneck,
    "resnet-bottleneck": Bottleneck,
}


def make_block(family: str, in_channels: int, out_channels: int, stride: int, width: int, groups: int,
               stride_on: str = "3x3") -> nn.Module:
    """The residual block of an architecture family (``stride_on``: post-activation
    bottlenecks only, ``"3x3"`` v1.5 or ``"1x1"`` v1)."""
    cls = _BLOCKS[family]
    if cls in (BasicBlock, PreActBasicBlock):
        return cls(in_channels, out_channels, stride)
    if cls is Bottleneck:
        return cls(in_channels, out_channels, stride, width=width, groups=groups, stride_on=stride_on)
    return cls(in_channels, out_channels, stride, width=width, groups=groups)


class ResNet(nn.Module):
    """A residual network built from an :class:`ArchPlan`.

    Args:
        plan: The layer plan (``poolnas.models._arch.parse_arch``).
        in_channels: Input image channels.
        num_classes: Classifier outputs.
        stride: ``"v1.5"`` (torchvision: bottlenecks stride on the 3x3 conv) or ``"v1"`` (on
            the first 1x1 conv, He et al. 2016); post-activation bottlenecks only.
    """

    def __init__(self, plan: ArchPlan, in_channels: int = 3, num_classes: int = 10, stride: str = "v1.5"):
        super().__init__()
        self.arch = plan.name
        if plan.family == "resnet50":
            self.conv1 = nn.Conv2d(in_channels, plan.stem_channels, 7, stride=2, padding=3, bias=False)
        else:
            self.conv1 = nn.Conv2d(in_channels, plan.stem_channels, 3, stride=1, padding=1, bias=False)
        # Pre-activation nets: every block starts with BN-ReLU, so the stem is a bare conv.
        self.bn1 = None if plan.preact else nn.BatchNorm2d(plan.stem_channels)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if plan.family == "resnet50" else None
        self.num_stages = plan.num_stages
        for s, blocks in enumerate(plan.stages, start=1):
            layer = nn.Sequential(*(
                make_block(plan.family, b.in_channels, b.out_channels, b.stride, b.width, b.groups,
                           "1x1" if stride == "v1" else "3x3")
                for b in blocks
            ))
            self.add_module(f"layer{s}", layer)
        self.bn = nn.BatchNorm2d(plan.out_channels) if plan.preact else None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(plan.out_channels, num_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's / He et al.'s initialisation.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def layers(self) -> list[nn.Sequential]:
        """The stages ``layer1 .. layerS``."""
        return [getattr(self, f"layer{s}") for s in range(1, self.num_stages + 1)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        if self.bn1 is not None:
            x = self.relu(self.bn1(x))
        if self.maxpool is not None:
            x = self.maxpool(x)
        for layer in self.layers():
            x = layer(x)
        if self.bn is not None:
            x = self.relu(self.bn(x))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.forward_features(x))
        return self.fc(torch.flatten(x, 1))
