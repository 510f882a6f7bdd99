"""``create_pool``: one ``pool_type`` vocabulary for every pooling op (timm style).

``POOL_TYPES``: the trial config's ``attention.pooling`` values without ``none``
(``poolnas.config``, the vocabulary's one home). Keywords that an op does not use are
ignored, so that a factory can pass the whole config section; unknown keywords and bad
values raise ``ConfigError`` (a ValueError) naming the argument.
"""

from __future__ import annotations

from typing import Any

from poolnas.config import POOL_TYPES, SRP_DEFAULT_LAM, SRP_DEFAULT_M

from ._base import Pool
from ._checks import check_choice, check_int
from .gem_pool import GeMPool
from .mix_pool import MixPool
from .pooling import AvgMaxPool, GapPool, MaxPool, MinPool
from .score_pool import ScorePool
from .srp_pool import SRPPool
from .style_pool import StdPool, StylePool

_KEYWORDS = ("lam", "M", "region", "mix_alpha", "paths", "over_epochs")


def create_pool(pool_type: str, channels: int, **kwargs: Any) -> Pool:
    """A pooling op ``x (N, C, H, W) -> (N, C)``.

    Args:
        pool_type: one of ``POOL_TYPES``.
        channels: C (checked; the ops themselves work for any C).
        **kwargs: ``lam`` (SRP λ in (0, 1]; default the config's, ``SRP_DEFAULT_LAM``),
            ``M`` (srp-ms squares, default ``SRP_DEFAULT_M``),
            ``region`` (``shared`` | ``per-channel``), ``over_epochs`` (SRP λ schedule over
            training time), ``mix_alpha`` (``learn`` | α in [0, 1]), ``paths`` (score K).

    Returns:
        The op, an ``nn.Module`` with ``pool_type`` and ``paths`` attributes.

    Raises:
        ConfigError: unknown ``pool_type`` or keyword, or a value out of range.
    """
    check_choice(pool_type, "pool_type", POOL_TYPES)
    check_int(channels, "channels", 1)
    for key in kwargs:
        check_choice(key, "create_pool keyword", _KEYWORDS)
    if pool_type == "gap":
        return GapPool()
    if pool_type == "max":
        return MaxPool()
    if pool_type == "min":
        return MinPool()
    if pool_type == "avgmax":
        return AvgMaxPool()
    if pool_type == "gem":
        return GeMPool()
    if pool_type == "std":
        return StdPool()
    if pool_type == "style":
        return StylePool()
    if pool_type == "mix":
        return MixPool(kwargs.get("mix_alpha", "learn"))
    if pool_type == "score":
        return ScorePool(kwargs.get("paths", 1))
    # srp-ss / srp-ms
    num_regions = 1 if pool_type == "srp-ss" else kwargs.get("M", SRP_DEFAULT_M)
    pool = SRPPool(  # checks lam, M and region (the module API's boundary)
        kwargs.get("lam", SRP_DEFAULT_LAM[pool_type]),
        num_regions,
        kwargs.get("region", "shared"),
        over_epochs=bool(kwargs.get("over_epochs", False)),
    )
    pool.pool_type = pool_type  # srp-ms with M = 1 is still named srp-ms
    return pool
