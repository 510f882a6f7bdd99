"""Student's t quantiles in plain Python, for the 95% intervals of ``poolnas compare``.

``scipy.special.stdtrit`` gives the same numbers, but importing scipy (with numpy) costs
0.4 s of CPU, more than the quick commands' whole start budget (docs/benchmarks.md). The
quantile is found by bisection on the t distribution's CDF, written with the regularized
incomplete beta function I_x(a, b) (CDF(t) = 1 - I_{ν/(ν+t²)}(ν/2, 1/2) / 2 for t > 0), which
is evaluated by its continued fraction (modified Lentz's method, as in Numerical Recipes
§6.4). Tested against scipy to a relative 1e-10 for ν from 1 to 10^4, integer or not.
"""

from __future__ import annotations

import functools
import math

__all__ = ["t_cdf", "t_quantile"]

_EPS = 1e-15
_TINY = 1e-300


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (Lentz), for x < (a + 1) / (a + b + 2)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def _beta_inc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                + a * math.log(x) + b * math.log1p(-x))
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    tail = 0.5 * _beta_inc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=4096)  # a study asks the same few (df, q) for every comparison
def t_quantile(df: float, q: float) -> float:
    """The ``q`` quantile of Student's t with ``df`` > 0 degrees of freedom, 0 < q < 1."""
    if not (df > 0 and 0.0 < q < 1.0):
        raise ValueError(f"t_quantile: df {df!r} and q {q!r} are not accepted; expected df > 0, 0 < q < 1")
    if q == 0.5:
        return 0.0
    if q < 0.5:
        return -t_quantile(df, 1.0 - q)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < q:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return 0.5 * (lo + hi)
