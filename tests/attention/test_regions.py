"""SRP's region sampler against the paper (Algorithm 1, Eq. 2-5), by brute force."""

from __future__ import annotations

import math

import pytest
import torch

from poolnas.attention import create_pool, region_side, sample_region_masks
from poolnas.attention import regions as regions_module


@pytest.mark.parametrize(
    ("lam", "size", "side"),
    [
        (1e-6, 32, 1),  # λ -> 0: at least one pixel
        (0.01, 8, 1),  # floor(0.08 + 0.5) = 0 -> 1
        (1.0, 32, 32),  # λ = 1: the whole map
        (1.0, 7, 7),
        (0.6, 32, 19),  # floor(19.2 + 0.5)
        (0.8, 8, 6),  # floor(6.4 + 0.5)
        (0.5, 5, 3),  # floor(2.5 + 0.5): half-way rounds up
        (0.35, 10, 4),  # floor(3.5 + 0.5) = 4 (float 0.35 * 10 is 3.4999...)
        (0.7, 5, 4),
        (0.2, 8, 2),  # floor(1.6 + 0.5)
    ],
)
def test_region_side_is_floor_lambda_h_plus_half(lam, size, side):
    assert region_side(lam, size) == side


def _brute_union(corners, side_h, side_w, height, width):
    """Python loops: the set Ω* of Eq. 4 as a 0/1 grid."""
    grid = [[0] * width for _ in range(height)]
    for top, left in corners:
        for i in range(top, top + side_h):
            for j in range(left, left + side_w):
                grid[i][j] = 1  # a point in several squares counts once
    return torch.tensor(grid, dtype=torch.bool)


def test_ms_srp_is_the_mean_over_the_union_counted_once():
    n, c, h, w, lam, m = 6, 3, 7, 9, 0.6, 5
    side_h, side_w = region_side(lam, h), region_side(lam, w)
    x = torch.randn(n, c, h, w, dtype=torch.float64)
    pool = create_pool("srp-ms", c, lam=lam, M=m).train()
    torch.manual_seed(123)
    masks, corners = sample_region_masks(n, h, w, lam=lam, num_regions=m, return_corners=True)
    torch.manual_seed(123)
    z = pool(x)
    overlapped = 0
    for i in range(n):
        union = _brute_union(corners[i].tolist(), side_h, side_w, h, w)
        assert torch.equal(masks[i], union)
        area = int(union.sum())
        overlapped += area < m * side_h * side_w
        for ch in range(c):
            total = sum(float(x[i, ch, a, b]) for a in range(h) for b in range(w) if union[a, b])
            assert math.isclose(float(z[i, ch]), total / area, rel_tol=1e-9, abs_tol=1e-12)
    assert overlapped > 0  # the draw did contain overlapping squares


def test_corners_are_uniform_over_valid_positions():
    h, w, lam = 6, 9, 0.5  # squares 3 x 5 (floor(4.5 + 0.5)): 4 x 5 corner positions
    n = 20000
    _, corners = sample_region_masks(n, h, w, lam=lam, return_corners=True)
    top, left = corners[:, 0, 0], corners[:, 0, 1]
    assert int(top.min()) == 0 and int(top.max()) == h - 3
    assert int(left.min()) == 0 and int(left.max()) == w - 5
    counts = torch.bincount(top * 5 + left, minlength=20).double()
    assert counts.numel() == 20
    expected = n / 20
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 43.8  # chi-square, 19 degrees of freedom, p = 0.001


def test_ms_corners_independent_across_squares():
    _, corners = sample_region_masks(4000, 8, 8, lam=0.5, num_regions=3, return_corners=True)
    first, second = corners[:, 0, 0].double(), corners[:, 1, 0].double()
    corr = torch.corrcoef(torch.stack((first, second)))[0, 1]
    assert abs(float(corr)) < 0.06


@pytest.mark.parametrize(("h", "w", "lam"), [(8, 8, 0.6), (16, 16, 0.3), (6, 10, 0.5)])
def test_ss_area_ratio_is_side_ratio_squared(h, w, lam):
    masks = sample_region_masks(50, h, w, lam=lam)
    ratio = masks.double().mean(dim=(1, 2))
    expected = region_side(lam, h) * region_side(lam, w) / (h * w)
    assert torch.allclose(ratio, torch.full_like(ratio, expected))
    if h == w:
        assert math.isclose(expected, (region_side(lam, h) / h) ** 2)


def test_extreme_lambdas_give_one_pixel_and_whole_map():
    assert torch.equal(
        sample_region_masks(5, 8, 8, lam=1e-9).sum(dim=(1, 2)), torch.ones(5, dtype=torch.long)
    )
    assert bool(sample_region_masks(5, 8, 8, lam=1.0, num_regions=3).all())


def test_per_channel_regions_differ_across_channels():
    masks = sample_region_masks(4, 8, 8, lam=0.5, channels=16)
    assert masks.shape == (4, 16, 8, 8)
    for i in range(4):
        distinct = {tuple(masks[i, ch].flatten().tolist()) for ch in range(16)}
        assert len(distinct) > 1


def test_table_and_separable_paths_draw_the_same_masks(monkeypatch):
    torch.manual_seed(5)
    table = sample_region_masks(8, 9, 7, lam=0.4, num_regions=4, channels=3)
    monkeypatch.setattr(regions_module, "_TABLE_MAX_BYTES", 0)
    torch.manual_seed(5)
    separable = sample_region_masks(8, 9, 7, lam=0.4, num_regions=4, channels=3)
    assert torch.equal(table, separable)


def test_generator_makes_draws_reproducible():
    a = sample_region_masks(8, 8, 8, lam=0.5, generator=torch.Generator().manual_seed(1))
    b = sample_region_masks(8, 8, 8, lam=0.5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"lam": 0.0}, "lam"),
        ({"lam": 1.5}, "lam"),
        ({"lam": float("nan")}, "lam"),
        ({"lam": 0.5, "num_regions": 0}, "M"),
        ({"lam": 0.5, "channels": 0}, "channels"),
    ],
)
def test_bad_sampler_arguments_raise_value_error_naming_them(kwargs, field):
    with pytest.raises(ValueError, match=f"^{field}: .* is not accepted; expected"):
        sample_region_masks(2, 8, 8, **kwargs)


def test_region_table_cache_is_bounded_lru():
    regions = regions_module
    regions._cached_table.cache_clear()
    sizes = range(2, regions.TABLE_CACHE_SIZE + 12)
    for size in sizes:  # more distinct map sizes than the cache holds
        sample_region_masks(1, size, 3, lam=0.5)
    info = regions.table_cache_info()
    assert info.maxsize == regions.TABLE_CACHE_SIZE
    assert info.currsize == regions.TABLE_CACHE_SIZE
    hits = info.hits
    sample_region_masks(1, sizes[-1], 3, lam=0.5)  # most recent: still cached
    assert regions.table_cache_info().hits == hits + 1
    misses = regions.table_cache_info().misses
    sample_region_masks(1, 2, 3, lam=0.5)  # least recently used: evicted, built again
    assert regions.table_cache_info().misses == misses + 1
