"""SRP Fig. 7 data: SS area ratio exact, MS mean/band against brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from poolnas.dashboards import plot_srp_area
from poolnas.dashboards.srp_area import _get_srp_area_info, _get_study_area_info
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S


def _squares(size: int, side: int) -> np.ndarray:
    """Every side×side square of a size×size map as a flat bool mask, (positions, size²)."""
    out = []
    for a in range(size - side + 1):
        for b in range(size - side + 1):
            m = np.zeros((size, size), bool)
            m[a:a + side, b:b + side] = True
            out.append(m.ravel())
    return np.array(out)


def _exact_mean(size: int, side: int, M: int) -> float:
    """E|union of M uniform squares| / size²: a point covered by c of P squares is missed by
    all M with probability (1 - c/P)^M."""
    sq = _squares(size, side)
    cover = sq.mean(axis=0)
    return float((1 - (1 - cover) ** M).mean())


def _exact_distribution(size: int, side: int, M: int) -> np.ndarray:
    """Union area ratio of every equally likely tuple of M corners (brute force)."""
    sq = _squares(size, side)
    idx = np.array(list(itertools.product(range(len(sq)), repeat=M)))
    return sq[idx].any(axis=1).mean(axis=1)


def test_ss_ratio_is_side_over_size_squared():
    config = S.make_config({"model.arch": "resnet20", "model.in_channels": 3, "trainer.dataset": "cifar10",
                            "attention.pooling": "srp-ss", "attention.schedule": "fixed"})
    info = _get_srp_area_info(config, ss_lam=0.8, samples=200)
    assert len(info.depth) == 9 and info.spatial == [32] * 3 + [16] * 3 + [8] * 3
    # Eq. 2 by hand: H' = floor(0.8 H + 1/2): 32 -> 26, 16 -> 13, 8 -> 6.
    assert info.ss_ratio == pytest.approx([(26 / 32) ** 2] * 3 + [(13 / 16) ** 2] * 3 + [(6 / 8) ** 2] * 3)


def test_linear_schedule_goes_from_one_to_lambda():
    config = S.make_config({"attention.pooling": "srp-ms", "attention.schedule": "linear"})
    info = _get_srp_area_info(config, ss_lam=0.5, ms_lam=0.5, samples=200)
    assert info.ss_lam[0] == 1.0 and info.ss_lam[-1] == pytest.approx(0.5)
    assert info.ss_ratio[0] == 1.0 and info.ms_mean[0] == 1.0  # λ = 1: the whole map


def test_ms_mean_and_band_match_brute_force():
    # resnet20 on digits: 8x8, 4x4 and 2x2 maps; λ = 0.5 gives squares of side 4, 2 and 1.
    config = S.make_config({"attention.pooling": "srp-ms", "attention.schedule": "fixed"})
    info = _get_srp_area_info(config, ms_lam=0.5, M=3, samples=4000, seed=1)
    assert info.spatial == [8] * 3 + [4] * 3 + [2] * 3
    for i, size in enumerate(info.spatial):
        side = {8: 4, 4: 2, 2: 1}[size]
        assert info.ms_mean[i] == pytest.approx(_exact_mean(size, side, 3), abs=0.01)
        assert info.ms_low[i] <= info.ms_mean[i] <= info.ms_high[i]
        if size <= 4:  # the whole distribution by enumeration: the band holds >= 95% of it
            dist = _exact_distribution(size, side, 3)
            inside = ((dist >= info.ms_low[i] - 1e-9) & (dist <= info.ms_high[i] + 1e-9)).mean()
            assert inside >= 0.95
            # Here the exact 2.5% / 97.5% quantiles sit well inside a jump of the CDF, so the
            # Monte Carlo band must find them exactly (4x4: 0.375 and 0.75; 2x2: 0.25, 0.75).
            assert [info.ms_low[i], info.ms_high[i]] == pytest.approx(np.quantile(dist, [0.025, 0.975]))


def test_ms_one_square_equals_ss():
    config = S.make_config({"attention.pooling": "srp-ms"})
    info = _get_srp_area_info(config, ss_lam=0.6, ms_lam=0.6, M=1, samples=50)
    assert info.ms_mean == pytest.approx(info.ss_ratio)
    assert info.ms_low == pytest.approx(info.ss_ratio) and info.ms_high == pytest.approx(info.ss_ratio)


def test_study_figure_uses_best_srp_settings():
    study = S.create("fig7")
    S.fill(study, [({"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": m}, [0.5 + m / 100])
                   for m in (2, 4)])
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": lam}, [0.5 + lam / 10])
                   for lam in (0.3, 0.9)])
    # One lucky seed (0.99 then 0.10) must not make λ=0.5 the best: the best is a mean.
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": 0.5}, [0.99, 0.10])])
    info = _get_study_area_info(from_study(study), samples=100)
    # λ at the last block is the λ set (the default linear schedule starts from 1)
    assert info.M == 4 and info.ss_lam[-1] == pytest.approx(0.9) and info.ms_lam[-1] == pytest.approx(0.6)
    fig = plot_srp_area(from_study(study), samples=100)
    assert [len(t.y) for t in fig.data] == [9] * 6  # SS λ 0.3 and 0.5 dotted, then the best's four
    ran = sorted(t.name for t in fig.data if "(ran)" in (t.name or ""))
    assert ran == ["SS-SRP λ=0.3 (ran)", "SS-SRP λ=0.5 (ran)"]
