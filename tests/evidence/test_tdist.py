"""Student's t quantiles in plain Python against scipy."""

from __future__ import annotations

import pytest
from scipy import special, stats

from poolnas.evidence._tdist import t_cdf, t_quantile


@pytest.mark.parametrize("df", [1, 1.5, 2, 3, 4, 4.5, 7.3, 10, 29, 30.2, 100, 1000.5, 10000])
@pytest.mark.parametrize("q", [0.6, 0.9, 0.95, 0.975, 0.995, 0.9995])
def test_quantile_matches_scipy(df, q) -> None:
    assert t_quantile(df, q) == pytest.approx(float(special.stdtrit(df, q)), rel=1e-10)
    assert t_quantile(df, 1 - q) == pytest.approx(float(stats.t.ppf(1 - q, df)), rel=1e-10)


@pytest.mark.parametrize("t", [-30.0, -2.0, -0.1, 0.0, 0.3, 1.96, 12.7])
def test_cdf_matches_scipy(t) -> None:
    for df in (1, 2.5, 9, 50):
        assert t_cdf(t, df) == pytest.approx(float(stats.t.cdf(t, df)), rel=1e-11, abs=1e-15)


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="df 0"):
        t_quantile(0, 0.9)
    with pytest.raises(ValueError, match="q 1"):
        t_quantile(3, 1)
    assert t_quantile(5, 0.5) == 0.0
