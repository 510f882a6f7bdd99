"""From the trial config's ``attention`` section to modules (timm's ``create_attn`` style).

``create_attention`` gives the block-level attention (or None when it is off),
``create_batch_attention`` BA2M between blocks (or None), ``create_bam`` BAM between
stages (or None). Excitations (``attention.excitation``): ``se`` (SENet), ``eca``
(ECA-Net), ``srm`` (SRM), ``ge`` (GE-θ⁻), ``sge`` (SGE), ``spem`` (SPEM); ``spatial:
cbam`` adds CBAM's spatial gate. Combinations that cannot work raise ``ConfigError``
naming the config field:
- ``excitation: spem`` needs ``pooling: mix`` (SPEM gates by the map's max and min and
  mixes them; another pooling has nothing to mix) and ``branch: one``;
- ``branch: double`` has heads for SE only (CMPE-SE's), and no spatial gate;
- ``excitation: sge`` needs a single-path pooling (its g is one vector per group) and
  has its own spatial gate (no ``spatial: cbam``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from torch import nn

from poolnas.config import AttentionConfig, format_validation_error
from poolnas.errors import ConfigError

from ._checks import check_int, check_site
from .ba2m import BatchAttention
from .bam import BAM
from .cbam import SpatialGate
from .double_branch import DoubleBranchAttention
from .eca import ECAHead
from .ge import GEHead
from .pool_types import create_pool
from .schedules import site_lambda
from .se import ChannelAttention, SEHead
from .sge import SGEAttention
from .spem import SPEMAttention
from .srm import SRMHead


def _config(cfg: AttentionConfig | Mapping[str, Any]) -> AttentionConfig:
    if isinstance(cfg, AttentionConfig):
        return cfg
    if isinstance(cfg, Mapping):
        try:
            return AttentionConfig.model_validate(dict(cfg))
        except ValidationError as err:
            raise format_validation_error(err, AttentionConfig, prefix="attention.") from None
    raise ConfigError("attention", type(cfg).__name__, "expected an AttentionConfig or a mapping")


def create_attention(
    cfg: AttentionConfig | Mapping[str, Any],
    channels: int,
    *,
    site_index: int = 0,
    num_sites: int = 1,
    planes: int | None = None,
) -> nn.Module | None:
    """The attention block at one site, or None when pooling or excitation is ``none``.

    Args:
        cfg: the ``attention`` section (an ``AttentionConfig`` or a plain mapping).
        channels: C at this site.
        site_index: 0-based depth index of this site among the attention sites.
        num_sites: number of attention sites (for the linear λ schedule).
        planes: the block's planes (bottleneck width; None: C), for CMPE-SE's conv head.

    Returns:
        ``branch: one``: a module with ``forward(x) -> x * gate``;
        ``branch: double``: ``forward(x, identity) -> x * gate``. Both have ``.lam``
        (λ at this site after the depth schedule, None unless SRP) and ``.pooling``.
    """
    cfg = _config(cfg)
    if cfg.pooling == "none" or cfg.excitation == "none":
        return None
    channels = check_int(channels, "channels", 1)
    site_index, num_sites = check_site(site_index, num_sites)
    if cfg.excitation == "spem":
        if cfg.pooling != "mix":
            raise ConfigError(
                "attention.excitation",
                "spem",
                f"spem gates by the max and min of the map and mixes them, so it needs "
                f"attention.pooling: mix (got {cfg.pooling!r}); use excitation: se with "
                f"{cfg.pooling!r}",
            )
        if cfg.branch != "one":
            raise ConfigError(
                "attention.branch", cfg.branch, "excitation spem has one branch: expected one"
            )
        if cfg.spatial != "none":
            raise ConfigError("attention.spatial", cfg.spatial,
                              "excitation spem has no spatial gate: expected none")
        return SPEMAttention(channels, cfg.mix_alpha, cfg.spem_reweight)
    if cfg.branch == "double":
        if cfg.excitation != "se":
            raise ConfigError("attention.branch", "double",
                              f"branch double has CMPE-SE's heads (excitation se) only, not "
                              f"{cfg.excitation!r}: expected one")
        if cfg.spatial != "none":
            raise ConfigError("attention.spatial", cfg.spatial,
                              "branch double has no spatial gate: expected none")
    lam = site_lambda(cfg, site_index, num_sites)  # None unless SRP (other pools ignore it)
    pool = create_pool(
        cfg.pooling,
        channels,
        lam=lam,
        M=cfg.M,
        region=cfg.region,
        mix_alpha=cfg.mix_alpha,
        paths=cfg.paths,
        over_epochs=cfg.schedule == "epochs",
    )
    if cfg.excitation == "sge":
        if pool.paths != 1 or cfg.spatial != "none":
            field, value = ("attention.pooling", cfg.pooling) if pool.paths != 1 else (
                "attention.spatial", cfg.spatial)
            raise ConfigError(field, value, "excitation sge takes one descriptor per group and "
                              "gates positions itself: expected a single-path pooling and spatial none")
        return SGEAttention(channels, pool, lam=lam)
    if cfg.branch == "one":
        return ChannelAttention(channels, pool, cfg.reduction, lam=lam,
                                head=_head(cfg, channels, pool.paths),
                                spatial=SpatialGate() if cfg.spatial == "cbam" else None)
    return DoubleBranchAttention(
        channels, pool, cfg.reduction, cfg.double_head, lam=lam, planes=planes
    )


def _head(cfg: AttentionConfig, channels: int, paths: int) -> nn.Module:
    """The excitation head of ``ChannelAttention``: descriptors -> one logit per channel."""
    if cfg.excitation == "eca":
        return ECAHead(channels)
    if cfg.excitation == "srm":
        return SRMHead(channels, paths)
    if cfg.excitation == "ge":
        return GEHead()
    return SEHead(channels, cfg.reduction, bias=cfg.se_bias)


def create_bam(cfg: AttentionConfig | Mapping[str, Any], channels: int) -> nn.Module | None:
    """BAM after a stage of C channels, or None unless ``bam.enabled`` (BAM Eq. 1-4)."""
    cfg = _config(cfg)
    if not cfg.bam.enabled:
        return None
    return BAM(channels, cfg.bam.reduction, cfg.bam.dilation)


def create_batch_attention(
    cfg: AttentionConfig | Mapping[str, Any], channels: int
) -> nn.Module | None:
    """BA2M for a stage of C channels, or None unless ``batch_attention.enabled``.

    ``forward(x) -> x * weights`` (BA2M Eq. 9-13; ``batch_attention.formulation``: mean 1,
    capped at ``max_weight``, by default, or Eq. 11's softmax summing to 1); identity in
    eval unless ``batch_attention.in_eval``.
    """
    cfg = _config(cfg)
    ba = cfg.batch_attention
    if not ba.enabled:
        return None
    return BatchAttention(
        channels,
        ba.reduction,
        in_eval=ba.in_eval,
        formulation=ba.formulation,
        max_weight=ba.max_weight,
        parts=tuple(ba.parts),
    )
