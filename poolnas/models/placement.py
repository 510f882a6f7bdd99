"""Where attention goes: the site plan, the cheap config checks and the site table.

Positions (``attention.placement.position``), per residual block of the chosen stages,
named after the variants of the SE paper (Hu et al., "Squeeze-and-Excitation Networks",
Sec. 6.5 / Fig. 5: standard SE, SE-PRE, SE-POST, SE-Identity):

- ``residual`` (standard SE): on the residual branch output (after its last BN in
  post-activation blocks, after its last conv in pre-activation blocks), before the add.
  ``branch: double`` (SRP-D, CMPE-SE) is valid only here: the module gets the residual
  output and the identity after any shortcut (zero-padding or 1x1 projection).
- ``post-add``: on the sum, before the block's output ReLU (post-activation blocks; a
  pre-activation block has none, so there it is simply the sum).
- ``pre`` (SE-PRE): on the input of the residual branch's first convolution; the
  shortcut does not see it. In pre-activation blocks that is the BN-ReLU'd input, which projection
  shortcuts share (He et al. 2016b), so BN runs once.
- ``between`` (SE-POST): a module after the block's output (after the output ReLU),
  before the next block (the SE paper's ablation puts it after the ReLU). In
  pre-activation nets it computes the same function as ``post-add``.
- ``identity`` (SE-Identity): on the identity path, after any shortcut (zero-padding or
  projection), in parallel with the residual branch, before the add:
  ``out = F(x) + SE(shortcut(x))``.

BA2M (``attention.batch_attention``) goes once per chosen stage: with ``position:
between`` (the paper's choice, Fig. 4(d)) after the stage's last block (and after that
block's ``between`` channel attention, if any); with ``position: inside`` (Fig. 4(c),
BA2M Table VII) on that block's residual branch, after any ``residual`` channel
attention, before the add. BA2M
Eq. 15 re-weights after every "block" F_j with "T = 4 for ResNet-50": its blocks are the
four stages, and its Table XIII sweeps the 15 non-empty subsets of those stages.

BAM (``attention.bam``, Park et al. 2018) sits after the last block of each chosen stage
(default: every stage but the last, the "bottlenecks" where the network downsamples: BAM
Sec. 3), at ``layer{s}.{last}.bam``: after that block's ``between`` channel attention and
before its ``between`` BA2M.

Sites are numbered in forward order over the whole network; the channel-attention sites
(not BA2M) form the depth schedule of λ (SRP, "Scheduled SRP"): site i of N.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from poolnas.attention._checks import check_int
from poolnas.config import TrialConfig
from poolnas.errors import ConfigError
from poolnas.models._arch import ArchPlan, parse_arch

__all__ = [
    "Site",
    "attention_enabled",
    "attention_sites",
    "check_model_config",
    "default_input_size",
    "natural_input_size",
    "plan_sites",
]

DATASET_INPUT_SIZE = {"digits": 8, "fashion-mnist": 28, "cifar10": 32, "cifar100": 32}


@dataclass(frozen=True)
class Site:
    """One attention module in the network."""

    kind: str  # "attention" (channel attention) | "bam" (BAM) | "batch" (BA2M)
    stage: int  # 1-based, as in attention.placement.stages
    block: int  # 0-based, as in the module path layer{stage}.{block}
    position: str  # residual | post-add | pre | between | identity; BA2M: between | inside
    module: str  # dotted module path, e.g. "layer2.0.attn"
    channels: int
    spatial: tuple[int, int]
    site_index: int | None  # index among the channel-attention sites (None for BA2M)


def attention_enabled(config: TrialConfig) -> bool:
    """Whether channel attention is built (the attention factory returns None otherwise)."""
    att = config.attention
    return att.pooling != "none" and att.excitation != "none"


def default_input_size(config: TrialConfig) -> int:
    """Input side from the dataset: digits 8, Fashion-MNIST 28, CIFAR 32, synthetic its size."""
    trainer = config.trainer
    if trainer.dataset == "synthetic":
        return trainer.image_size or 32
    if trainer.dataset == "imagefolder" and (trainer.crop or trainer.resize):
        return int(trainer.crop or trainer.resize)  # the images the trainer makes (crop: default resize)
    return DATASET_INPUT_SIZE.get(trainer.dataset, 32)  # npz, imagefolder at its own size: 32


def natural_input_size(config: TrialConfig) -> int:
    """The input side an architecture was designed for: 224 for the ImageNet stem
    (``resnet50``), 32 for the CIFAR ones (``poolnas model show``'s default)."""
    return 224 if parse_arch(config.model.arch).family == "resnet50" else 32


def _down(size: int, stride: int) -> int:
    # every stride-s layer here (3x3 pad 1, 1x1 pad 0, 7x7 pad 3, max-pool 3 pad 1) gives ceil(size/s)
    return -(-size // stride)


def _check_stages(stages: list[int] | None, plan: ArchPlan, field: str) -> list[int]:
    all_stages = list(range(1, plan.num_stages + 1))
    if stages is None:
        return all_stages
    bad = [s for s in stages if s not in all_stages]
    if bad:
        raise ConfigError(field, stages,
                          f"{plan.name} has stages {all_stages}; stage {bad[0]} does not exist")
    return list(stages)


def _bam_stages(stages: list[int] | None, plan: ArchPlan) -> list[int]:
    """BAM's stages: every stage but the last unless given (BAM's bottlenecks)."""
    if stages is None:
        return list(range(1, plan.num_stages))
    return _check_stages(stages, plan, "attention.bam.stages")


def plan_sites(config: TrialConfig, input_size: int | tuple[int, int] | None = None) -> list[Site]:
    """Every attention site of ``config``'s network in forward order (no checks beyond stages)."""
    plan = parse_arch(config.model.arch)
    att = config.attention
    stages = _check_stages(att.placement.stages, plan, "attention.placement.stages")
    ba = att.batch_attention
    ba_stages = _check_stages(ba.stages, plan, "attention.batch_attention.stages")
    bam_stages = _bam_stages(att.bam.stages, plan)
    if input_size is None:
        input_size = default_input_size(config)
    h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
    h, w = _down(h, plan.stem_stride), _down(w, plan.stem_stride)
    channel_on = attention_enabled(config)
    position = att.placement.position
    sites: list[Site] = []
    n_attn = 0
    for s, blocks in enumerate(plan.stages, start=1):
        for b, block in enumerate(blocks):
            out_h, out_w = _down(h, block.stride), _down(w, block.stride)
            if channel_on and s in stages:
                if position == "pre":
                    ch, hw = block.in_channels, (h, w)
                else:
                    ch, hw = block.out_channels, (out_h, out_w)
                sites.append(Site("attention", s, b, position, f"layer{s}.{b}.attn", ch, hw, n_attn))
                n_attn += 1
            if att.bam.enabled and s in bam_stages and b == len(blocks) - 1:
                sites.append(Site("bam", s, b, "between", f"layer{s}.{b}.bam",
                                  block.out_channels, (out_h, out_w), None))
            if ba.enabled and s in ba_stages and b == len(blocks) - 1:
                sites.append(Site("batch", s, b, ba.position, f"layer{s}.{b}.batch_attn",
                                  block.out_channels, (out_h, out_w), None))
            h, w = out_h, out_w
    return sites


def check_model_config(config: TrialConfig) -> ArchPlan:
    """Cross-section checks that need the architecture; cheap (no tensors).

    Raises:
        ConfigError: naming the field: ``model.arch`` (unknown name, zero blocks or width),
            ``model.num_classes`` / ``model.in_channels`` (not integers >= 2 / >= 1),
            ``attention.placement.stages`` / ``attention.batch_attention.stages`` (a stage
            the network does not have), ``attention.branch`` (``double`` with a position
            other than ``residual``: only there do the identity and the residual branch
            exist as two tensors), ``model.pretrained`` (no such file).

    Returns:
        The architecture's layer plan.
    """
    plan = parse_arch(config.model.arch)
    check_int(config.model.num_classes, "model.num_classes", 2)
    check_int(config.model.in_channels, "model.in_channels", 1)
    att = config.attention
    _check_stages(att.placement.stages, plan, "attention.placement.stages")
    _check_stages(att.batch_attention.stages, plan, "attention.batch_attention.stages")
    _bam_stages(att.bam.stages, plan)
    if config.model.stride == "v1" and not plan.post_bottleneck:
        raise ConfigError("model.stride", "v1", f"{plan.name} has no post-activation bottlenecks (v1 moves "
                          f"their stride to the first 1x1 conv); expected v1.5 there")
    if attention_enabled(config) and att.branch == "double" and att.placement.position != "residual":
        raise ConfigError(
            "attention.branch", "double",
            f"branch 'double' pools the identity and the residual branch before their add, so it "
            f"needs attention.placement.position 'residual' (got {att.placement.position!r}); "
            f"use branch 'one' there",
        )
    # No check of R against the narrowest site: the attention library makes every hidden
    # width max(1, C // R) (SE, double heads, BA2M), so any R >= 1 builds and trains.
    pretrained = config.model.pretrained
    if pretrained and not Path(pretrained).expanduser().is_file():
        raise ConfigError("model.pretrained", pretrained, "expected an existing state-dict file (torch.save)")
    return plan


def attention_sites(config: TrialConfig,
                    input_size: int | tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """The table of ``poolnas model show``: one dict per attention site, forward order.

    Args:
        config: The trial config.
        input_size: Input side (or (H, W)); default from the dataset (digits 8,
            Fashion-MNIST 28, CIFAR 32; use 224 for ImageNet).

    Returns:
        Dicts with kind, stage, block, position, module, channels, spatial (H, W),
        site_index, pooling and lam (λ at that depth, None where the pooling has no λ).
    """
    # Imported here: schedules imports torch, and `poolnas space validate` runs the model checks
    # above without it (tests/test_cold_start.py checks that torch stays out).
    from poolnas.attention.schedules import site_lambda

    check_model_config(config)
    sites = plan_sites(config, input_size)
    num_sites = sum(1 for site in sites if site.kind == "attention")
    rows = []
    for site in sites:
        row = asdict(site)
        if site.kind == "attention":
            row["pooling"] = config.attention.pooling
            row["lam"] = site_lambda(config.attention, site.site_index, num_sites)
        else:
            row["pooling"] = "ba2m" if site.kind == "batch" else site.kind
            row["lam"] = None
        rows.append(row)
    return rows
