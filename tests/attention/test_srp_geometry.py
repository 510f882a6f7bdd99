"""SRP's geometry without torch: the exact mean area of MS-SRP's union of M squares against
brute-force enumeration and against the torch sampler, the numpy draws against the sampler's
distribution, and the report's Fig. 7 drawn without importing torch."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pytest
import torch

from poolnas.attention import region_side, sample_region_masks, scheduled_lambda
from poolnas.attention import srp_geometry as G


def _brute_mean(size: int, lam: float, M: int) -> float:
    """The mean of |union| / size² over every combination of M corners (all equally likely)."""
    side = region_side(lam, size)
    k = size - side + 1
    squares = []
    for a, b in itertools.product(range(k), range(k)):
        sq = np.zeros((size, size), dtype=bool)
        sq[a:a + side, b:b + side] = True
        squares.append(sq)
    total = 0.0
    for combo in itertools.product(range(len(squares)), repeat=M):
        total += np.logical_or.reduce([squares[i] for i in combo]).mean()
    return total / len(squares) ** M


@pytest.mark.parametrize(("size", "lam", "M"), [(5, 0.6, 2), (4, 0.5, 3), (6, 0.35, 2), (3, 1.0, 2),
                                                (7, 5 / 14, 1)])
def test_exact_mean_equals_brute_force(size: int, lam: float, M: int) -> None:
    assert G.union_area_mean(size, lam, M) == pytest.approx(_brute_mean(size, lam, M), abs=1e-12)


@pytest.mark.parametrize(("size", "lam", "M"), [(32, 0.6, 5), (16, 0.3, 3), (8, 0.6, 5)])
def test_exact_mean_and_numpy_draws_match_the_torch_sampler(size: int, lam: float, M: int) -> None:
    n = 20000
    gen = torch.Generator().manual_seed(1)
    sampler = sample_region_masks(n, size, size, lam=lam, num_regions=M, generator=gen)
    ratios = sampler.reshape(n, -1).double().mean(dim=1).numpy()
    draws = G.union_area_draws(size, lam, M, n, seed=2)
    se = ratios.std() / n**0.5
    assert abs(ratios.mean() - G.union_area_mean(size, lam, M)) < 4 * se + 1e-12
    assert abs(draws.mean() - G.union_area_mean(size, lam, M)) < 4 * se + 1e-12
    # the same law: the quartiles and the central 95% agree (M - 1 squares would move them ~0.04)
    for q in (0.025, 0.25, 0.5, 0.75, 0.975):
        assert np.quantile(draws, q) == pytest.approx(np.quantile(ratios, q), abs=0.015)


def test_the_sampler_modules_keep_their_names() -> None:
    from poolnas.attention import regions, schedules

    assert regions.region_side is G.region_side and schedules.scheduled_lambda is G.scheduled_lambda
    assert scheduled_lambda(0.1, 5, 8, "linear") == G.scheduled_lambda(0.1, 5, 8, "linear")


def test_fig7_is_drawn_without_torch() -> None:
    code = ("import sys\n"
            "from poolnas.dashboards.srp_area import plot_srp_area\n"
            "fig = plot_srp_area(config={'model': {'arch': 'resnet56'},"
            " 'attention': {'pooling': 'srp-ms', 'lam': 0.6, 'M': 5}}, samples=200)\n"
            "assert len(fig.data) >= 3\n"
            "print('torch' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=True).stdout.split()
    assert out == ["False"]
