"""SRP's region sampler (Luo et al., "Stochastic Region Pooling", Algorithm 1, Eq. 2-5).

Pure and vectorised: no Python loop over samples or channels. For a batch it draws,
per sample (or per sample and channel with ``channels=C``), ``M`` top-left corners
uniformly over the valid positions ``0 <= a <= H - H'``, ``0 <= b <= W - W'``
(Algorithm 1, line 6) and returns the union of the M squares of side
``H' = floor(λH + 1/2)``, ``W' = floor(λW + 1/2)`` (Eq. 2, at least 1) as a boolean mask
(Eq. 4: a point covered by several squares counts once).

How: all ``P = (H - H' + 1)(W - W' + 1)`` possible squares of one map size are kept as
a small float32 table ``(P, H*W)`` (an LRU cache of ``TABLE_CACHE_SIZE`` tables, keyed
by map size, square size and device, so that a long sweep over many sizes and devices
holds a bounded amount of memory). A draw is one
``randint`` of flat corner indices (uniform over P is uniform over (a, b)), one
``index_select`` of table rows and, for M > 1, one ``amax`` over the M rows (the union).
``region_weights`` divides by the union's area ``|Ω*|`` to give the weights of Eq. 3 /
Eq. 5, so that SRP pooling is one ``bmm`` of x with them: about the cost of GAP.
Maps too large for a table use separable row / column indicators instead.

Used by ``SRPPool`` and by the area-ratio figure (SRP Fig. 7).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import torch

from ._checks import check_int, check_lam
from .srp_geometry import _region_side, region_side  # noqa: F401 - region_side: part of this module's API

_TABLE_MAX_BYTES = 16 * 2**20  # larger tables: separable indicators instead
TABLE_CACHE_SIZE = 64  # tables kept (least recently used dropped): at most 64 x 16 MiB




def _indicators(start: torch.Tensor, side: int, size: int) -> torch.Tensor:
    """``start (...) -> (..., size)`` uint8: 1 on ``[start, start + side)``."""
    d = torch.arange(size, device=start.device) - start.unsqueeze(-1)
    return ((d >= 0) & (d < side)).to(torch.uint8)


def _corners(flat: torch.Tensor, n_w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat corner indices ``a * n_w + b`` -> (rows a, columns b), ``n_w = W - W' + 1``."""
    return flat // n_w, flat % n_w


@functools.lru_cache(maxsize=TABLE_CACHE_SIZE)
def _cached_table(height: int, width: int, side_h: int, side_w: int, device: str) -> torch.Tensor:
    n_h, n_w = height - side_h + 1, width - side_w + 1
    dev = torch.device(device)
    rows = _indicators(torch.arange(n_h, device=dev), side_h, height)  # (n_h, H)
    cols = _indicators(torch.arange(n_w, device=dev), side_w, width)  # (n_w, W)
    table = (rows[:, None, :, None] * cols[None, :, None, :]).reshape(n_h * n_w, -1)
    # float32: a draw indexes rows straight into pooling weights, no cast per step
    return table.float()


def _table(
    height: int, width: int, side_h: int, side_w: int, device: torch.device
) -> torch.Tensor | None:
    """All squares of one size as rows of a float32 ``(P, H*W)`` 0/1 table, or None if too big."""
    n_h, n_w = height - side_h + 1, width - side_w + 1
    if 4 * n_h * n_w * height * width > _TABLE_MAX_BYTES:
        return None
    return _cached_table(height, width, side_h, side_w, str(device))


def table_cache_info() -> tuple[int, int, int | None, int]:
    """``(hits, misses, maxsize, currsize)`` of the region-table LRU cache (a named tuple)."""
    return _cached_table.cache_info()


class Squares(NamedTuple):
    """What one region is drawn from: an ``H x W`` map, M squares of ``H' x W'``."""

    height: int
    width: int
    side_h: int
    side_w: int
    num_regions: int


def _draw(
    groups: int, squares: Squares, device: torch.device | str | None, generator: torch.Generator | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat corner indices ``(G, M)`` and the union as 0/1 ``(G, H*W)`` (Alg. 1, l. 6-7).

    The flat index ``a * (W - W' + 1) + b`` is uniform over the valid corners (a, b).
    """
    height, width, side_h, side_w, num_regions = squares
    device = torch.device(device) if device is not None else torch.device("cpu")
    n_w = width - side_w + 1
    positions = (height - side_h + 1) * n_w
    flat = torch.randint(0, positions, (groups, num_regions), device=device, generator=generator)
    table = _table(height, width, side_h, side_w, device)
    if table is not None:
        squares = table.index_select(0, flat.view(-1)).view(groups, num_regions, -1)
    else:
        top, left = _corners(flat, n_w)
        rows = _indicators(top, side_h, height)  # (G, M, H)
        cols = _indicators(left, side_w, width)  # (G, M, W)
        squares = (rows.unsqueeze(-1) * cols.unsqueeze(-2)).view(groups, num_regions, -1)
    union = squares.squeeze(1) if num_regions == 1 else squares.amax(dim=1)  # Eq. 4
    return flat, union


def sample_region_masks(
    batch: int,
    height: int,
    width: int,
    *,
    lam: float,
    num_regions: int = 1,
    channels: int | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
    return_corners: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Boolean SRP region masks for a batch (SRP Algorithm 1, Eq. 2-4).

    Args:
        batch: N, the number of samples.
        height: H of the feature map.
        width: W of the feature map.
        lam: scale ratio λ in (0, 1]; squares of ``region_side(λ, H)`` x ``region_side(λ, W)``.
        num_regions: M >= 1 squares per region (1: SS-SRP; more: MS-SRP, their union).
        channels: None for one region per sample shared by its channels (default);
            C for an independent region per sample and channel.
        device: where to draw.
        generator: a torch.Generator for reproducible draws (default: the global one).
        return_corners: also return the top-left corners.

    Returns:
        ``masks``, bool, ``(N, H, W)`` (shared) or ``(N, C, H, W)`` (per channel), True on
        the union of the squares; with ``return_corners`` also ``corners``, int64,
        ``(N, M, 2)`` or ``(N, C, M, 2)``: (row, column) of each top-left corner, 0-based.
    """
    lam = check_lam(lam)
    batch = check_int(batch, "batch", 1)
    height = check_int(height, "height", 1)
    width = check_int(width, "width", 1)
    num_regions = check_int(num_regions, "M", 1)
    if channels is not None:
        channels = check_int(channels, "channels", 1)
    side_h, side_w = _region_side(lam, height), _region_side(lam, width)
    lead = (batch,) if channels is None else (batch, channels)
    flat, union = _draw(math.prod(lead), Squares(height, width, side_h, side_w, num_regions), device,
                        generator)
    masks = union.view(*lead, height, width).bool()
    if not return_corners:
        return masks
    corners = torch.stack(_corners(flat, width - side_w + 1), dim=-1)
    return masks, corners.view(*lead, num_regions, 2)


def region_weights(
    groups: int,
    squares: Squares,
    *,
    dtype: torch.dtype,
    device: torch.device | str | None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pooling weights ``(G, H*W)``: ``1/|Ω*|`` on the union of the squares, 0 elsewhere.

    ``x_flat @ weights`` is Eq. 3 (one square, ``|Ω*| = H'W'``) or Eq. 5 (union of M
    squares). Draws in the same order as ``sample_region_masks``, so that a test can
    reseed and compare the two.
    """
    _, union = _draw(groups, squares, device, generator)
    union = union.to(dtype)  # a no-op for float32 from the table
    if squares.num_regions == 1:
        return union.mul(1.0 / (squares.side_h * squares.side_w))
    return union.div(union.sum(dim=1, keepdim=True))  # |Ω*| of Eq. 5
