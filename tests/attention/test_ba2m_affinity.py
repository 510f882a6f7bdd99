"""BA2M's global spatial attention without the HW x HW matrix (issue 20 item 1): the blocked
column mean of softmax(fᵀg) against the formulation it replaced (bmm -> softmax -> mean),
outputs and gradients, and the whole module against the same brute force."""

from __future__ import annotations

import pytest
import torch

import poolnas.attention._affinity as affinity
import poolnas.attention.ba2m as ba2m_module
from poolnas.attention._affinity import softmax_column_mean
from poolnas.attention.ba2m import BatchAttention
from poolnas.testing.ba2m_reference import full_softmax_column_mean, values_and_grads

brute = full_softmax_column_mean  # the full (N, P, Q) softmax, then its column means
_values_and_grads = values_and_grads


@pytest.mark.parametrize("block", [1 << 20, 50])  # one block; many blocks and a short last one
@pytest.mark.parametrize("n,r,p,q,scale", [
    (5, 1, 37, 41, 1.0),  # r = 1: the default reduction 32 on C <= 63 (an outer product)
    (4, 3, 20, 20, 1.0),
    (3, 8, 16, 9, 0.5),
    (6, 1, 30, 30, 5.0),  # logits over +-100: rows far below their max
    (4, 2, 25, 25, 4.0),
])
def test_matches_the_full_softmax_in_value_and_gradient(monkeypatch, block, n, r, p, q, scale):
    monkeypatch.setattr(affinity, "BLOCK_ELEMENTS", block)
    gen = torch.Generator().manual_seed(n * 100 + r)
    f = torch.randn(n, r, p, generator=gen, dtype=torch.float64) * scale
    g = torch.randn(n, r, q, generator=gen, dtype=torch.float64) * scale
    w = torch.randn(n, q, generator=gen, dtype=torch.float64)
    truth = _values_and_grads(brute, f, g, w)
    got64 = _values_and_grads(softmax_column_mean, f, g, w)
    got32 = _values_and_grads(softmax_column_mean, f.float(), g.float(), w.float())
    old32 = _values_and_grads(brute, f.float(), g.float(), w.float())
    for name, t, a, b, old in zip(("value", "grad f", "grad g"), truth, got64, got32, old32, strict=True):
        assert a.dtype == torch.float64 and b.dtype == torch.float32 and a.shape == t.shape
        size = float(t.abs().max())
        assert float((a - t).abs().max()) <= 1e-12 * size, name
        # float32: as close to the truth as the formulation it replaced, to rounding
        err, err_old = float((b.double() - t).abs().max()), float((old.double() - t).abs().max())
        assert err <= max(4 * err_old, 2e-6 * size), (name, err, err_old)


def test_extreme_logits_stay_finite_and_close():
    # logits over +-2000 (a near one-hot softmax): the float32 gradients lose digits to
    # cancellation in both formulations; the values and the sizes of the gradients hold
    gen = torch.Generator().manual_seed(601)
    f = torch.randn(6, 1, 30, generator=gen) * 25
    g = torch.randn(6, 1, 30, generator=gen) * 25
    w = torch.randn(6, 30, generator=gen)
    truth = _values_and_grads(brute, f.double(), g.double(), w.double())
    got = _values_and_grads(softmax_column_mean, f, g, w)
    for t, b in zip(truth, got, strict=True):
        assert bool(torch.isfinite(b).all())
        assert float((b.double() - t).abs().max()) <= 1e-3 * float(t.abs().max())


def test_gradcheck_float64():
    gen = torch.Generator().manual_seed(3)
    f = torch.randn(3, 2, 12, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.randn(3, 2, 15, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(softmax_column_mean, (f, g))


def test_columns_are_a_distribution():
    # each row of S sums to 1, so the column means sum to 1 and are positive
    f, g = torch.randn(4, 1, 64), torch.randn(4, 1, 64)
    m = softmax_column_mean(f, g)
    assert torch.allclose(m.sum(dim=1), torch.ones(4), atol=1e-5) and bool((m > 0).all())


def test_bf16_autocast_runs_in_float32():
    f, g = torch.randn(2, 2, 16), torch.randn(2, 2, 16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        m = softmax_column_mean(f.bfloat16(), g.bfloat16())
    assert m.dtype == torch.float32
    assert torch.allclose(m, brute(f.bfloat16().float(), g.bfloat16().float()), atol=1e-6)


@pytest.mark.parametrize("channels,reduction,side", [(16, 32, 8), (24, 4, 6), (20, 8, 5)])
def test_ba2m_module_outputs_and_gradients_unchanged(monkeypatch, channels, reduction, side):
    """The module's output and every gradient (input and parameters) as with the full
    softmax, with the parameters of one seeded module."""
    torch.manual_seed(0)
    m = BatchAttention(channels, reduction).train()
    x = torch.randn(6, channels, side, side)
    wgt = torch.randn(6, channels, side, side)

    def run():
        xx = x.clone().requires_grad_(True)
        m.zero_grad(set_to_none=True)
        out = m(xx)  # training: the weights come from this batch alone
        (out * wgt).sum().backward()
        return [out.detach(), xx.grad] + [p.grad for p in m.parameters()]

    got = run()
    monkeypatch.setattr(ba2m_module, "softmax_column_mean", brute)
    want = run()
    assert len(got) == len(want) > 10  # output, input grad, the parameters of Eq. 6-8
    for a, b in zip(got, want, strict=True):
        assert a is not None and b is not None
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
