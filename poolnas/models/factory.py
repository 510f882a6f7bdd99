"""``build_model(config)``: the network of a trial config, with attention placed."""

from __future__ import annotations

import torch
from torch import nn

from poolnas.attention import create_attention, create_bam, create_batch_attention
from poolnas.config import TrialConfig
from poolnas.models.network import ResNet
from poolnas.models.placement import check_model_config, plan_sites
from poolnas.models.pretrained import load_pretrained

__all__ = ["attention_seed", "build_model", "count_parameters"]


def attention_seed(seed: int) -> int:
    """The seed of the attention modules' parameter stream for trial seed ``seed`` (a stream
    of its own: adding or changing an attention module moves no other draw)."""
    return (seed * 1_000_003 + 0xA77E) % 2**63


def build_model(config: TrialConfig, *, load_weights: bool = True) -> nn.Module:
    """Build the network of ``config.model`` with ``config.attention`` placed in it.

    Channel-attention modules come from ``poolnas.attention.create_attention`` (site i of
    N in forward order, for the depth schedule of λ), BA2M modules from
    ``create_batch_attention``, BAM modules from ``create_bam``; see
    ``poolnas.models.placement`` for the positions.

    Args:
        config: The trial config.
        load_weights: Load ``model.pretrained`` (if set) with :func:`load_pretrained`;
            False when only the structure is needed (e.g. counting on the meta device).

    Raises:
        ConfigError: From :func:`check_model_config`, naming the field.
    """
    plan = check_model_config(config)
    model = ResNet(plan, in_channels=config.model.in_channels, num_classes=config.model.num_classes,
                   stride=config.model.stride)
    sites = plan_sites(config)
    att = config.attention
    num_sites = sum(1 for site in sites if site.kind == "attention")
    # Common random numbers: the attention modules draw their parameters from their own
    # stream (seeded by the trial seed), so the backbone's initialisation (drawn from the
    # caller's RNG above) and everything drawn after build_model are the same for every
    # attention config of a seed: paired comparisons cancel the noise they share.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(attention_seed(config.seed))
        for site in sites:
            block = model.get_submodule(f"layer{site.stage}.{site.block}")
            if site.kind == "attention":
                width = plan.stages[site.stage - 1][site.block].width  # bottleneck planes (0: basic)
                module = create_attention(att, site.channels, site_index=site.site_index,
                                          num_sites=num_sites, planes=width or None)
                block.set_attention(module, site.position, double=att.branch == "double")
            elif site.kind == "bam":
                block.bam = create_bam(att, site.channels)
            else:
                block.batch_attn = create_batch_attention(att, site.channels)
                block.batch_attn_position = site.position
    if config.model.pretrained and load_weights:
        load_pretrained(model, config.model.pretrained)
    return model


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor once); works on the meta device."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
