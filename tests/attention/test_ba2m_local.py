"""BA2M's local spatial attention (Eq. 7) pooled without its C-channel map (issue 20 item 1):
GAP(BN(W2 y)) from y's r-channel mean and covariance, against the layers as written
(``self.local(x).mean((2, 3))``): values, every gradient, BN's running estimates, eval."""

from __future__ import annotations

import copy

import pytest
import torch

from poolnas.attention.ba2m import BatchAttention


def _pair(channels, reduction, momentum=0.1):
    torch.manual_seed(1)
    m = BatchAttention(channels, reduction, parts=("local",)).train()
    m.local[3].momentum = momentum
    with torch.no_grad():  # BN's affine away from 1 and 0, so that it is tested
        m.local[3].weight.uniform_(0.5, 1.5)
        m.local[3].bias.uniform_(-0.5, 0.5)
    return m, copy.deepcopy(m)


def _as_written(m, x):
    return m.local(x).mean(dim=(2, 3))


@pytest.mark.parametrize("channels,reduction,side,momentum", [
    (16, 32, 8, 0.1),  # r = 1: ResNet-20's stage 1 at R = 32
    (64, 32, 5, 0.1),  # r = 2
    (24, 4, 6, None),  # r = 6; cumulative running averages
])
def test_pooled_local_attention_equals_the_layers_as_written(channels, reduction, side, momentum):
    new, old = _pair(channels, reduction, momentum)
    gen = torch.Generator().manual_seed(channels)
    for step in range(3):  # training: batch statistics, running estimates updated alike
        x = torch.randn(5, channels, side, side, generator=gen) * (1 + step)
        w = torch.randn(5, channels, generator=gen)
        outs = []
        for m, fn in ((new, BatchAttention._local), (old, _as_written)):
            xx = x.clone().requires_grad_(True)
            m.zero_grad(set_to_none=True)
            out = fn(m, xx)
            (out * w).sum().backward()
            outs.append([out.detach(), xx.grad] + [p.grad for p in m.local.parameters()])
        assert len(outs[0]) == 2 + 5  # output, input, W0, W1 (3x3), W2, γ, β
        for a, b in zip(*outs, strict=True):
            assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)
    for name, buf in new.local[3].named_buffers():
        assert torch.allclose(buf.float(), dict(old.local[3].named_buffers())[name].float(), rtol=1e-5), name
    new.eval()
    old.eval()
    x = torch.randn(4, channels, side, side, generator=gen)
    assert torch.allclose(new._local(x), _as_written(old, x), rtol=1e-4, atol=1e-5)


def test_scores_use_the_pooled_form():
    m = BatchAttention(16, 32).train()
    x = torch.randn(4, 16, 8, 8)
    assert torch.allclose(m._local(x), _as_written(copy.deepcopy(m), x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("o,i,side", [(1, 1, 7), (2, 2, 5), (1, 16, 6), (3, 3, 4), (8, 16, 4)])
def test_small_convs_equal_conv2d(o, i, side):
    from torch.nn import functional as F

    from poolnas.attention.ba2m import _conv1x1, _conv3x3

    gen = torch.Generator().manual_seed(o * 10 + i)
    x = torch.randn(3, i, side, side + 1, generator=gen)
    w1 = torch.randn(o, i, 1, 1, generator=gen)
    w3 = torch.randn(o, i, 3, 3, generator=gen)
    assert torch.allclose(_conv1x1(w1, x), F.conv2d(x, w1), atol=1e-5)
    assert torch.allclose(_conv3x3(w3, x), F.conv2d(x, w3, padding=1), atol=1e-5)


def test_global_attention_equals_the_layers_as_written():
    # f, g, h as one product of the three 1x1 weights: A_GS (Eq. 8) as with the conv layers
    torch.manual_seed(2)
    m = BatchAttention(64, 32).train()  # r = 2
    x = torch.randn(3, 64, 6, 6, requires_grad=True)
    got = m._global(x)
    z = x.view(3, 32, 2, 6, 6).mean(dim=1)
    f, g, h = (conv(z).flatten(2) for conv in (m.f, m.g, m.h))
    s = torch.softmax(f.transpose(1, 2) @ g, dim=-1)  # (N, HW, HW), Eq. 8
    want = (s @ h.transpose(1, 2)).mean(dim=1).repeat(1, 32)
    assert torch.allclose(got, want, atol=1e-6)
    gx, = torch.autograd.grad(got.sum(), x)
    wx, = torch.autograd.grad(want.sum(), x)
    assert torch.allclose(gx, wx, atol=1e-6)
