"""SRP's geometry without tensors: the square's side (Luo et al., "Stochastic Region
Pooling", Eq. 2), λ per attention block under a depth schedule (Sec. 3, "Scheduled SRP"), and
the area of the region MS-SRP pools (the union of M squares, Eq. 4), exactly in the mean and
by draws of the same law for its spread.

No torch here: the report's SRP Fig. 7 (``poolnas.dashboards.srp_area``) draws from these
without importing it. ``regions`` (the sampler) and ``schedules`` use the same functions.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from poolnas.config import SRP_SCHEDULES

from ._checks import check_choice, check_int, check_lam, check_site

__all__ = ["SCHEDULES", "region_side", "scheduled_lambda", "union_area_draws", "union_area_mean"]

SCHEDULES = SRP_SCHEDULES  # the trial config's attention.schedule values
_HALF_WAY_TOL = Fraction(1, 10**12)  # |λ·size + 1/2 - integer| below this: a half-way case


def region_side(lam: float, size: int) -> int:
    """Side of an SRP square: ``floor(λ·size + 1/2)``, at least 1 (SRP Eq. 2).

    Half-way cases round up as Eq. 2 says even when λ is a float just below the decimal:
    λ = 0.35 on 10 rows gives 4, not 3, and so does a scheduled λ such as
    1 + (0.1 - 1)·5/7 = 5/14 on 7 rows (3). ``λ·size + 1/2`` is computed exactly from the
    float (``Fraction``), and a value within ``_HALF_WAY_TOL`` of an integer counts as
    that integer: float error is ~1e-16·size, while λ·size + 1/2 is either an integer
    (a half-way case) or at least 1/(2·size·q) away from one for a λ with denominator q.

    Args:
        lam: scale ratio λ in (0, 1].
        size: H or W of the feature map (>= 1).

    Returns:
        An int in [1, size].
    """
    return _region_side(check_lam(lam), check_int(size, "size", 1))


def _region_side(lam: float, size: int) -> int:
    """``region_side`` for arguments already checked (SRPPool, the sampler, the area figures)."""
    value = Fraction(lam) * size + Fraction(1, 2)
    nearest = round(value)
    side = nearest if abs(value - nearest) <= _HALF_WAY_TOL else math.floor(value)
    return min(size, max(1, side))


def scheduled_lambda(lam: float, site_index: int, num_sites: int, schedule: str) -> float:
    """λ at one attention site after the depth schedule (SRP Sec. 3, "Scheduled SRP").

    Args:
        lam: the target λ in (0, 1].
        site_index: 0-based index of the attention block, in depth order.
        num_sites: number of attention blocks in the network (>= 1).
        schedule: ``fixed``, ``linear`` or ``epochs``.

    Returns:
        ``lam`` for fixed / epochs; ``1 + (lam - 1) · site_index / (num_sites - 1)`` for
        linear (a float; ``region_side`` rounds its half-way cases up, Eq. 2).
    """
    lam = check_lam(lam)
    check_choice(schedule, "schedule", SCHEDULES)
    site_index, num_sites = check_site(site_index, num_sites)
    return _scheduled_lambda(lam, site_index, num_sites, schedule)


def _scheduled_lambda(lam: float, site_index: int, num_sites: int, schedule: str) -> float:
    """``scheduled_lambda`` for arguments already checked (a validated AttentionConfig and
    the sites of its network: ``schedules.site_lambda``)."""
    if schedule != "linear" or num_sites == 1:
        return lam
    # In fractions from the decimal written, then the nearest float (region_side rounds
    # Eq. 2's half-way cases up even a few ulps off).
    return float(1 + (Fraction(repr(lam)) - 1) * Fraction(site_index, num_sites - 1))


def _row_cover(size: int, side: int) -> np.ndarray:
    """Per row i: how many of the ``size - side + 1`` corner rows put row i inside the square."""
    i = np.arange(size)
    return (np.minimum(i, size - side) - np.maximum(0, i - side + 1) + 1).astype(float)


def union_area_mean(size: int, lam: float, num_regions: int) -> float:
    """E[|union of M squares| / size²] for SRP's sampler on a ``size x size`` map, exactly.

    Each of the M squares has side ``region_side(λ, size)`` and a top-left corner uniform
    over the valid positions, independently (Algorithm 1, line 6), so a pixel (i, j) lies in
    one square with probability ``q = c_i · c_j / k²`` (``c``: corner rows / columns that
    cover it, ``k = size - side + 1``) and in the union with ``1 - (1 - q)^M``; the mean
    area ratio is the mean of that over the pixels.
    """
    size = check_int(size, "size", 1)
    num_regions = check_int(num_regions, "M", 1)
    side = region_side(lam, size)  # checks λ
    cover = _row_cover(size, side) / (size - side + 1)
    q = np.outer(cover, cover)
    return float(np.mean(1.0 - (1.0 - q) ** num_regions))


def union_area_draws(size: int, lam: float, num_regions: int, samples: int,
                     seed: int = 0) -> np.ndarray:
    """|union of M squares| / size² for ``samples`` draws of the sampler's law (uniform,
    independent corners; ``poolnas.attention.sample_region_masks`` draws the same with
    torch), with numpy: for the spread of MS-SRP's area where the mean is not enough."""
    size = check_int(size, "size", 1)
    num_regions = check_int(num_regions, "M", 1)
    samples = check_int(samples, "samples", 1)
    side = region_side(lam, size)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, size - side + 1, size=(samples, num_regions, 2))
    span = np.arange(size)
    rows = (span >= corners[..., 0:1]) & (span < corners[..., 0:1] + side)  # (S, M, size)
    cols = (span >= corners[..., 1:2]) & (span < corners[..., 1:2] + side)
    union = (rows[..., :, None] & cols[..., None, :]).any(axis=1)  # (S, size, size)
    return union.reshape(samples, -1).mean(axis=1)
