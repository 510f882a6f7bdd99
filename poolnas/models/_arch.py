"""Architecture names -> layer plans (no tensors): stages, blocks, channels, strides.

One plan feeds both the network builder and the cheap checks / site tables, so that
``poolnas model show`` and ``build_model`` can never disagree about where a site is.

References:
- CIFAR ResNet-{6n+2}: He et al., "Deep Residual Learning" (2016), Sec. 4.2: 3 stages of
  n basic blocks with 16/32/64 channels, option A shortcuts (identity, zero-padded
  channels, strided subsampling) -> ResNet-20 0.27M.
- PreResNet-{9n+2}: He et al., "Identity Mappings" (2016): bottleneck, pre-activation,
  16/32/64 bottleneck widths (x4 out), 1x1 projection shortcuts (conv only).
- WRN-d-k: Zagoruyko & Komodakis (2016): (d-4)/6 pre-activation basic blocks per stage,
  16k/32k/64k channels, 1x1 projection shortcuts.
- ResNeXt-29 Cx64d: Xie et al. (2017), CIFAR layout: 3 stages of 3 bottlenecks, outputs
  256/512/1024, grouped 3x3 of width C*64*(stage multiplier), conv+BN projections.
- ResNet-50: torchvision's layout (stride on the 3x3, "v1.5").
- ResNet-50 / ResNet-101 with a CIFAR stem (``resnet50-cifar``, ``resnet101-cifar``): the
  same stages on a 3x3 stride-1 conv and no max-pool, so that 32x32 inputs reach the
  last stage at 4x4 (BA2M Table I / VI: 23.71M, 1.22 G for ResNet-50 on CIFAR-100).
- PreResNet-{6n+2} with basic blocks (``preresnet110-basic``): He et al. (2016b)'s CIFAR
  pre-activation ResNet-110 (1.7M; BA2M Table I's 1.73M on CIFAR-100): 3 stages of n
  pre-activation basic blocks, 16/32/64 channels, 1x1 conv projections (as WRN).
- ResNet-164 (``resnet164``): He et al. (2016b)'s CIFAR bottleneck ResNet in its original
  post-activation form, as in SPEM's code (bearpaw's ``resnet.py``): 3 stages of 18
  bottlenecks, widths 16/32/64 (x4 out), 1x1 conv + BN projection shortcuts, ReLU after
  the add.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from poolnas.config import match_arch
from poolnas.errors import ConfigError

__all__ = ["ArchPlan", "BlockPlan", "parse_arch"]


@dataclass(frozen=True)
class BlockPlan:
    """One residual block: input/output channels, stride, and the bottleneck width."""

    in_channels: int
    out_channels: int
    stride: int
    width: int = 0  # inner width of bottlenecks (0 for basic blocks)
    groups: int = 1


@dataclass(frozen=True)
class ArchPlan:
    """A whole network without tensors."""

    name: str
    # cifar-resnet | preresnet | preresnet-basic | wrn | resnext | resnet50 | resnet-cifar-stem
    # | resnet-bottleneck
    family: str
    stem_channels: int
    stem_stride: int  # total downsampling of the stem (ResNet-50: conv /2 and max-pool /2)
    stages: tuple[tuple[BlockPlan, ...], ...]

    @property
    def num_stages(self) -> int:
        return len(self.stages)

    @property
    def out_channels(self) -> int:
        return self.stages[-1][-1].out_channels

    @property
    def preact(self) -> bool:
        return self.family in ("preresnet", "preresnet-basic", "wrn")

    @property
    def post_bottleneck(self) -> bool:
        """Post-activation bottlenecks, where ``model.stride`` (v1 / v1.5) applies."""
        return self.family in ("resnext", "resnet50", "resnet-cifar-stem", "resnet-bottleneck")


def _stage(in_ch: int, out_ch: int, n: int, stride: int, width: int = 0,
           groups: int = 1) -> tuple[BlockPlan, ...]:
    blocks = [BlockPlan(in_ch, out_ch, stride, width, groups)]
    blocks += [BlockPlan(out_ch, out_ch, 1, width, groups) for _ in range(n - 1)]
    return tuple(blocks)


def _cifar3(arch: str, family: str, n: int) -> ArchPlan:
    """Three stages of n basic blocks at 16/32/64 channels (CIFAR ResNet, PreResNet-basic)."""
    stages = (_stage(16, 16, n, 1), _stage(16, 32, n, 2), _stage(32, 64, n, 2))
    return ArchPlan(arch, family, 16, 1, stages)


def _bottleneck3(arch: str, family: str, n: int) -> ArchPlan:
    """Three stages of n bottlenecks of width 16/32/64 (x4 out): PreResNet, ResNet-164."""
    stages = (
        _stage(16, 64, n, 1, width=16),
        _stage(64, 128, n, 2, width=32),
        _stage(128, 256, n, 2, width=64),
    )
    return ArchPlan(arch, family, 16, 1, stages)


def _wrn(arch: str, depth: int, k: int) -> ArchPlan:
    n = (depth - 4) // 6
    stages = (_stage(16, 16 * k, n, 1), _stage(16 * k, 32 * k, n, 2), _stage(32 * k, 64 * k, n, 2))
    return ArchPlan(arch, "wrn", 16, 1, stages)


def _resnext(arch: str, card: int) -> ArchPlan:
    # widths: cardinality * base width (64) * out / 256 (Xie et al. 2017, CIFAR).
    stages = tuple(
        _stage(cin, cout, 3, stride, width=card * 64 * cout // 256, groups=card)
        for cin, cout, stride in ((64, 256, 1), (256, 512, 2), (512, 1024, 2))
    )
    return ArchPlan(arch, "resnext", 64, 1, stages)


# One plan builder per entry of the architecture registry (poolnas.config.ARCHITECTURES,
# whose rules have already checked the numbers): (name, the pattern's integers) -> plan.
_PLANS: dict[str, Callable[[str, tuple[int, ...]], ArchPlan]] = {
    "resnet{20,32,44,56,110}": lambda a, g: _cifar3(a, "cifar-resnet", (g[0] - 2) // 6),
    "preresnet{9n+2}": lambda a, g: _bottleneck3(a, "preresnet", (g[0] - 2) // 9),
    "wrn-{depth}-{width}": lambda a, g: _wrn(a, *g),
    "resnext29-{8,16}x64d": lambda a, g: _resnext(a, g[0]),
    "resnet50": lambda a, g: ArchPlan(a, "resnet50", 64, 4, _imagenet_stages((3, 4, 6, 3))),
    "resnet50-cifar": lambda a, g: ArchPlan(a, "resnet-cifar-stem", 64, 1, _imagenet_stages((3, 4, 6, 3))),
    "resnet101-cifar": lambda a, g: ArchPlan(a, "resnet-cifar-stem", 64, 1, _imagenet_stages((3, 4, 23, 3))),
    "resnet164": lambda a, g: _bottleneck3(a, "resnet-bottleneck", 18),
    "preresnet{6n+2}-basic": lambda a, g: _cifar3(a, "preresnet-basic", (g[0] - 2) // 6),
}


def parse_arch(arch: str) -> ArchPlan:
    """The layer plan of a ``model.arch`` name; ConfigError naming ``model.arch`` if unknown.

    Matching the name against the registry (``poolnas.config.match_arch``, the config's own
    check) picks the builder, so a name gives a plan exactly when it passes the config.
    """
    try:
        name, groups = match_arch(arch)
    except ValueError as err:
        raise ConfigError("model.arch", arch, str(err)) from None
    return _PLANS[name](arch, groups)


def _imagenet_stages(blocks: tuple[int, int, int, int]) -> tuple[tuple[BlockPlan, ...], ...]:
    """The four bottleneck stages of ImageNet ResNets (He et al. 2016, Table 1)."""
    return tuple(
        _stage(cin, planes * 4, n, stride, width=planes)
        for (cin, planes, stride), n in zip(
            ((64, 64, 1), (256, 128, 2), (512, 256, 2), (1024, 512, 2)), blocks, strict=True
        )
    )
