"""BA2M's global spatial attention (Eq. 8) through the certified Chebyshev form of its
affinity (head width r = 1, issue 20 item 1): the bound it is chosen from, and its column
means and gradients against the float64 full softmax, across product ranges, including
the ranges that fall back to the exact blocked kernel."""

from __future__ import annotations

import math

import pytest
import torch

import poolnas.attention._affinity as affinity
import poolnas.attention.ba2m as ba2m_module
from poolnas.attention._affinity import chebyshev_degree, softmax_column_mean
from poolnas.attention.ba2m import BatchAttention
from poolnas.testing.ba2m_reference import full_softmax_column_mean, values_and_grads

brute = full_softmax_column_mean  # the full (N, P, Q) softmax, then its column means
_values_and_grads = values_and_grads


def _scaled_bessel(k: int, c: float) -> float:
    """exp(-c) I_k(c) from its power series (terms summed in log space)."""
    total = 0.0
    for m in range(400):
        total += math.exp((2 * m + k) * math.log(c / 2) - math.lgamma(m + 1) - math.lgamma(m + k + 1) - c)
    return total


@pytest.mark.parametrize("c", [0.25, 3.0, 17.5, 60.0])
def test_bound_table_matches_the_bessel_series(c):
    bounds = affinity._chebyshev_tail_bounds()
    i = round(c / affinity._C_STEP)
    ive = [_scaled_bessel(k, c) for k in range(200)]
    for n in (0, 5, 20, 60):
        tail = 4 * sum(ive[n + 1:])
        # the table holds the running max over c' <= c: at least the tail at c itself
        assert bounds[n, i] >= tail * (1 - 1e-9)
        assert bounds[n, i] <= max(4 * max(sum(_scaled_bessel(k, cc) for k in range(n + 1, 200))
                                       for cc in (c * 0.5, c * 0.75, c)), 1e-300) * 1.5 + 1e-300


@pytest.mark.parametrize("xy", [0.5, 4.0, 30.0, 150.0])
def test_the_certified_degree_interpolates_within_its_bound(xy):
    # interpolate exp(-x y) in x at the n + 1 Chebyshev points of [0, X], X = 1, y in [0, xy]:
    # the largest error over a fine grid stays below the tolerance the degree was chosen for
    tol = 1e-10
    n = chebyshev_degree(xy, tol)
    assert n is not None and (n == 1 or chebyshev_degree(xy, tol * 1e6) < n)
    x = torch.linspace(0, 1, 2001, dtype=torch.float64)
    y = torch.linspace(0, xy, 301, dtype=torch.float64)
    nodes = (1 + torch.cos(torch.arange(n + 1, dtype=torch.float64) * math.pi / n)) / 2
    coef = torch.exp(-torch.outer(y, nodes)) @ affinity._cheb_coefficients(n).t()  # (y, k)
    cheb = torch.cos(torch.outer(torch.arange(n + 1, dtype=torch.float64), torch.arccos(2 * x - 1)))
    err = (coef @ cheb - torch.exp(-torch.outer(y, x))).abs().max()
    assert float(err) <= tol


def test_degree_refuses_ranges_beyond_the_table():
    assert chebyshev_degree(1e4, 1e-10) is None
    assert chebyshev_degree(float("inf"), 1e-10) is None
    assert chebyshev_degree(0.0, 1e-10) == 1
    assert chebyshev_degree(float("nan"), 1e-10) is None


def _inputs(n, p, q, scale, shift, sign, seed):
    gen = torch.Generator().manual_seed(seed)
    f = torch.randn(n, 1, p, generator=gen, dtype=torch.float64) * scale + shift
    if sign:
        f = f.abs() * sign  # one sign, as in a network (f = w_f z with z >= 0 after a ReLU)
    g = torch.randn(n, 1, q, generator=gen, dtype=torch.float64) * scale
    w = torch.randn(n, q, generator=gen, dtype=torch.float64)
    return f, g, w


@pytest.mark.parametrize("p,q,scale,shift,sign,low_rank", [
    (1024, 1024, 0.3, 0.0, 0, True),  # X·Y ~ 2: a few terms
    (1024, 1024, 1.0, 0.0, 0, True),  # X·Y ~ 27, both signs of f
    (1024, 1024, 1.0, 0.0, 1, True),
    (1024, 1024, 1.2, 0.5, -1, True),  # f all negative
    (700, 900, 1.5, 0.0, 1, True),
    (1024, 1024, 4.0, 0.0, 0, False),  # X·Y ~ 450: too many terms, the exact kernel
    (256, 256, 0.2, 0.0, 1, True),
    (256, 256, 1.5, 1.0, 0, False),
])
def test_matches_the_float64_full_softmax(p, q, scale, shift, sign, low_rank):
    f, g, w = _inputs(3, p, q, scale, shift, sign, seed=p + q + int(10 * scale))
    plan = affinity._lowrank_plan(f.float(), g.float())
    assert (plan is not None) == low_rank
    truth = _values_and_grads(brute, f, g, w)
    got32 = _values_and_grads(softmax_column_mean, f.float(), g.float(), w.float())
    got64 = _values_and_grads(softmax_column_mean, f, g, w)
    old32 = _values_and_grads(brute, f.float(), g.float(), w.float())
    for name, t, a, b, old in zip(("value", "grad f", "grad g"), truth, got64, got32, old32, strict=True):
        size = float(t.abs().max())
        assert b.dtype == torch.float32 and a.dtype == torch.float64
        # float64 inputs: within the certified 1e-7 (relative to the largest entry)
        assert float((a - t).abs().max()) <= 1e-7 * size, name
        err, err_old = float((b.double() - t).abs().max()), float((old.double() - t).abs().max())
        assert err <= max(4 * err_old, 2e-6 * size), (name, err, err_old)  # as the exact kernel's test


def test_degenerate_rows_and_columns():
    # f = 0 in some rows (uniform rows of S), g constant in one image (Y = 0), f all zero in another
    f, g, w = _inputs(3, 400, 300, 0.5, 0.0, 0, seed=5)
    f[0, 0, :50] = 0.0
    g[1] = 0.7
    f[2] = 0.0
    assert affinity._lowrank_plan(f.float(), g.float()) is not None
    truth = _values_and_grads(brute, f, g, w)
    got = _values_and_grads(softmax_column_mean, f.float(), g.float(), w.float())
    for t, b in zip(truth, got, strict=True):
        assert bool(torch.isfinite(b).all())
        assert float((b.double() - t).abs().max()) <= 1e-6 * float(t.abs().max())


def test_wider_heads_and_meta_tensors_run_the_exact_kernel():
    assert affinity._lowrank_plan(torch.randn(2, 2, 1024), torch.randn(2, 2, 1024)) is None
    assert affinity._lowrank_plan(torch.randn(2, 1, 1024), torch.randn(2, 1, 1024)) is not None
    meta = torch.empty(2, 1, 1024, device="meta")
    assert affinity._lowrank_plan(meta, meta) is None
    assert softmax_column_mean(meta, meta).shape == (2, 1024)


def test_cost_model_counts_resnet20_with_ba2m_r32():
    # poolnas.models.cost runs on the meta device: r = 1 at every stage but the last
    from poolnas.config import config_from_dict
    from poolnas.models import model_cost

    def cfg(enabled):
        return config_from_dict({
            "model": {"arch": "resnet20", "in_channels": 3, "num_classes": 10},
            "attention": {"pooling": "none", "batch_attention": {
                "enabled": enabled, "reduction": 32, "stages": [1, 2, 3], "in_eval": True}},
            "trainer": {"dataset": "synthetic"}})

    hw_terms = 1024 * 1024 + 256 * 256 + 64 * 64 * 2  # Eq. 17's (HW)²·C/R, one product per site
    assert model_cost(cfg(True))["macs"] - model_cost(cfg(False))["macs"] > hw_terms


def test_ba2m_module_on_the_low_rank_path_matches_the_exact_kernel(monkeypatch):
    """Stage 1 of ResNet-20 at R = 32 (C = 16, r = 1, 32x32): the module's output and every
    gradient as with today's exact blocked kernel."""
    torch.manual_seed(0)
    m = BatchAttention(16, 32).train()
    x = torch.relu(torch.randn(8, 16, 32, 32))
    wgt = torch.randn(8, 16, 32, 32)
    used = []
    real = affinity._LowRankColumnMean.apply

    def spy(*args):
        used.append(args[2])
        return real(*args)

    monkeypatch.setattr(affinity._LowRankColumnMean, "apply", spy)

    def run():
        xx = x.clone().requires_grad_(True)
        m.zero_grad(set_to_none=True)
        out = m(xx)
        (out * wgt).sum().backward()
        return [out.detach(), xx.grad] + [p.grad for p in m.parameters()]

    got = run()
    assert used  # the low-rank form ran
    monkeypatch.setattr(affinity, "LOWRANK_COST", 0.0)  # today's exact kernel
    want = run()
    monkeypatch.setattr(ba2m_module, "softmax_column_mean", brute)
    full = run()
    assert len(got) == len(want) > 10
    for a, b, c in zip(got, want, full, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
        assert torch.allclose(a, c, rtol=1e-4, atol=1e-6)
