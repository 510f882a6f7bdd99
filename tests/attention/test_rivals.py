"""The papers' rivals and the learned poolings against their equations, by brute force on
small tensors (loops over samples, channels and positions): ECA, SRM (style pooling and its
channel-wise FC), CBAM (shared MLP over avg and max, 7x7 spatial gate), GE-θ⁻, SGE, BAM,
GeM, std pooling, SE with and without biases, SPEM's reweighting variants (Table 4)."""

from __future__ import annotations

import math

import pytest
import torch

from poolnas.attention import create_attention, create_bam, create_pool
from poolnas.attention.bam import BAM
from poolnas.attention.eca import eca_kernel_size
from poolnas.attention.sge import sge_groups
from poolnas.attention.spem import SPEMAttention
from poolnas.config import AttentionConfig
from poolnas.errors import ConfigError

torch.manual_seed(0)


def _att(channels: int = 8, **kw):
    return create_attention(AttentionConfig(**kw), channels)


def _randomise(module: torch.nn.Module) -> torch.nn.Module:
    """Random parameters and BN statistics, so that no init value hides a term."""
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
        for name, b in module.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand_like(b) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn_like(b) * 0.1)
    return module.eval()


def sigmoid(v: float) -> float:
    return 1.0 / (1.0 + math.exp(-v))


def _bn(v: float, bn: torch.nn.Module, c: int) -> float:
    """An eval-mode BN of channel c, by its formula."""
    return float((v - bn.running_mean[c]) / math.sqrt(bn.running_var[c] + bn.eps) * bn.weight[c] + bn.bias[c])


# -- ECA ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("channels", "k"), [(16, 3), (64, 3), (128, 5), (256, 5), (512, 5), (1024, 5),
                                             (2048, 7)])
def test_eca_kernel_follows_eq_12(channels, k):
    # ψ(C) = |log2(C)/2 + 1/2|_odd
    assert eca_kernel_size(channels) == k


def test_eca_gate_is_a_1d_conv_across_channels():
    m = _randomise(_att(16, excitation="eca"))
    x = torch.randn(2, 16, 3, 3)
    w = m.head.conv.weight.view(-1).tolist()  # k = 3
    y = m(x)
    for n in range(2):
        z = [float(x[n, c].mean()) for c in range(16)]
        for c in range(16):
            logit = sum(w[j] * z[c + j - 1] for j in range(3) if 0 <= c + j - 1 < 16)  # zero padding
            assert torch.allclose(y[n, c], x[n, c] * sigmoid(logit), atol=1e-5)
    assert sum(p.numel() for p in m.parameters()) == 3


# -- SRM ------------------------------------------------------------------------------------

def test_style_and_std_pooling_follow_srm_eq_1_2():
    x = torch.randn(2, 3, 4, 5)
    style = create_pool("style", 3).forward_paths(x)
    std = create_pool("std", 3)(x)
    for n in range(2):
        for c in range(3):
            v = x[n, c].flatten().tolist()
            mu = sum(v) / len(v)
            sd = math.sqrt(sum((a - mu) ** 2 for a in v) / len(v) + 1e-5)
            assert math.isclose(float(style[n, 0, c]), mu, abs_tol=1e-5)
            assert math.isclose(float(style[n, 1, c]), sd, abs_tol=1e-5)
            assert math.isclose(float(std[n, c]), sd, abs_tol=1e-5)


def test_srm_gate_is_channel_wise_fc_then_bn():
    m = _randomise(_att(4, pooling="style", excitation="srm"))
    x = torch.randn(3, 4, 5, 5)
    y = m(x)
    for n in range(3):
        for c in range(4):
            v = x[n, c].flatten().tolist()
            mu = sum(v) / len(v)
            sd = math.sqrt(sum((a - mu) ** 2 for a in v) / len(v) + 1e-5)
            z = float(m.head.cfc[c, 0]) * mu + float(m.head.cfc[c, 1]) * sd  # Eq. 3
            g = sigmoid(_bn(z, m.head.bn, c))  # Eq. 4-5
            assert torch.allclose(y[n, c], x[n, c] * g, atol=1e-5)
    assert sum(p.numel() for p in m.parameters()) == 4 * 4  # 2C CFC + 2C BN


# -- CBAM -----------------------------------------------------------------------------------

def test_cbam_channel_then_spatial_gate():
    m = _randomise(_att(8, pooling="avgmax", spatial="cbam", reduction=2))
    x = torch.randn(2, 8, 4, 4)
    y = m(x)
    fc1, fc2 = m.head.fc1, m.head.fc2

    def mlp(z):  # W1, W0 with biases (CBAM's code), ReLU between
        h = [max(0.0, float(fc1.bias[i]) + sum(float(fc1.weight[i, c]) * z[c] for c in range(8)))
             for i in range(4)]
        return [float(fc2.bias[c]) + sum(float(fc2.weight[c, i]) * h[i] for i in range(4)) for c in range(8)]

    conv, bn = m.spatial.conv.weight[0], m.spatial.bn
    for n in range(2):
        avg = [float(x[n, c].mean()) for c in range(8)]
        mx = [float(x[n, c].max()) for c in range(8)]
        gate = [sigmoid(a + b) for a, b in zip(mlp(avg), mlp(mx), strict=True)]  # Eq. 2
        f = [[[float(x[n, c, i, j]) * gate[c] for j in range(4)] for i in range(4)] for c in range(8)]
        for i in range(4):
            for j in range(4):
                s = 0.0
                for di in range(7):
                    for dj in range(7):
                        a, b = i + di - 3, j + dj - 3
                        if 0 <= a < 4 and 0 <= b < 4:
                            chans = [f[c][a][b] for c in range(8)]
                            s += float(conv[0, di, dj]) * sum(chans) / 8 + float(conv[1, di, dj]) * max(chans)
                ms = sigmoid(_bn(s, bn, 0))  # Eq. 3
                for c in range(8):
                    assert math.isclose(float(y[n, c, i, j]), f[c][i][j] * ms, abs_tol=1e-5)
    # the shared MLP with biases + 7x7x2 conv + BN(1)
    assert sum(p.numel() for p in m.parameters()) == (8 * 4 + 4 + 4 * 8 + 8) + 98 + 2


# -- SE biases --------------------------------------------------------------------------------

def test_se_has_biases_by_default_and_is_bias_free_on_request():
    se = _att(16, reduction=4)
    assert se.head.fc1.bias is not None and se.head.fc2.bias is not None
    assert sum(p.numel() for p in se.parameters()) == 2 * 16 * 4 + 4 + 16
    bare = _att(16, reduction=4, se_bias=False)
    assert bare.head.fc1.bias is None and sum(p.numel() for p in bare.parameters()) == 2 * 16 * 4
    x = torch.randn(2, 16, 3, 3)
    _randomise(bare)
    z = x.mean(dim=(2, 3))
    expected = torch.sigmoid(torch.relu(z @ bare.head.fc1.weight.T) @ bare.head.fc2.weight.T)  # SAAM Eq. 9
    assert torch.allclose(bare(x), x * expected[:, :, None, None], atol=1e-6)


# -- GE-θ⁻ ------------------------------------------------------------------------------------

def test_ge_theta_minus_is_parameter_free_sigmoid_of_the_average():
    m = _att(6, excitation="ge")
    x = torch.randn(2, 6, 3, 4)
    assert sum(p.numel() for p in m.parameters()) == 0
    for n in range(2):
        for c in range(6):
            assert torch.allclose(m(x)[n, c], x[n, c] * sigmoid(float(x[n, c].mean())), atol=1e-6)


# -- SGE ------------------------------------------------------------------------------------

def test_sge_groups():
    assert sge_groups(256) == 64 and sge_groups(16) == 16 and sge_groups(96) == 48


def test_sge_follows_eq_2_to_6():
    m = _att(8, excitation="sge")  # C = 8: G = 8 groups of one channel
    m.groups = 2  # two groups of 4 channels, to exercise the dot product of Eq. 2
    m.weight = torch.nn.Parameter(torch.randn(1, 2, 1, 1))
    m.bias = torch.nn.Parameter(torch.randn(1, 2, 1, 1))
    x = torch.randn(2, 8, 3, 3)
    y = m(x)
    for n in range(2):
        for grp in range(2):
            chans = range(4 * grp, 4 * grp + 4)
            g = [float(x[n, c].mean()) for c in chans]
            pos = [(i, j) for i in range(3) for j in range(3)]
            cs = [sum(g[k] * float(x[n, c, i, j]) for k, c in enumerate(chans)) for i, j in pos]  # Eq. 2
            mu = sum(cs) / 9
            sd = math.sqrt(sum((v - mu) ** 2 for v in cs) / 8)  # Bessel, as the authors' code
            for (i, j), v in zip(pos, cs, strict=True):
                a = float(m.weight[0, grp]) * (v - mu) / (sd + 1e-5) + float(m.bias[0, grp])  # Eq. 3-5
                for c in chans:
                    assert math.isclose(float(y[n, c, i, j]), float(x[n, c, i, j]) * sigmoid(a), abs_tol=1e-5)


def test_sge_parameters_and_refusals():
    assert sum(p.numel() for p in _att(256, excitation="sge").parameters()) == 2 * 64
    with pytest.raises(ConfigError, match="attention.pooling"):
        _att(8, excitation="sge", pooling="avgmax")
    with pytest.raises(ConfigError, match="attention.branch"):
        _att(8, excitation="eca", branch="double")
    with pytest.raises(ConfigError, match="attention.spatial"):
        _att(8, pooling="mix", excitation="spem", spatial="cbam")


# -- BAM ------------------------------------------------------------------------------------

def test_bam_follows_eq_1_to_4():
    m = _randomise(BAM(32, reduction=16, dilation=2))
    x = torch.randn(2, 32, 5, 5)
    y = m(x)
    ch = m.channel
    z = x.mean(dim=(2, 3))
    h = z @ ch[0].weight.T + ch[0].bias
    h = (h - ch[1].running_mean) / torch.sqrt(ch[1].running_var + 1e-5)
    h = torch.relu(h * ch[1].weight + ch[1].bias)
    m_c = h @ ch[3].weight.T + ch[3].bias  # Eq. 3, (N, C)
    s = m.spatial
    f = x
    for conv, bn in ((s[0], s[1]), (s[3], s[4]), (s[6], s[7])):
        f = torch.nn.functional.conv2d(f, conv.weight, conv.bias, padding=conv.padding,
                                       dilation=conv.dilation)
        f = torch.relu((f - bn.running_mean[None, :, None, None])
                       / torch.sqrt(bn.running_var[None, :, None, None] + 1e-5)
                       * bn.weight[None, :, None, None] + bn.bias[None, :, None, None])
    m_s = torch.nn.functional.conv2d(f, s[9].weight, s[9].bias)  # Eq. 4, (N, 1, H, W)
    assert s[3].dilation == (2, 2) and s[3].padding == (2, 2)
    for n in range(2):
        for c in (0, 7, 31):
            for i, j in ((0, 0), (2, 3), (4, 4)):
                att = sigmoid(float(m_c[n, c] + m_s[n, 0, i, j]))  # Eq. 2
                assert math.isclose(float(y[n, c, i, j]), float(x[n, c, i, j]) * (1 + att), abs_tol=1e-5)


def test_bam_from_config_and_its_parameter_count():
    assert create_bam(AttentionConfig(), 64) is None
    m = create_bam(AttentionConfig(bam={"enabled": True}), 256)
    h = 16  # channel MLP with biases and BN; 1x1, two dilated 3x3 (each with BN), 1x1 to one map
    assert sum(p.numel() for p in m.parameters()) == (256 * h + h + 2 * h + h * 256 + 256) + (
        256 * h + h + 2 * h + 2 * (h * h * 9 + h + 2 * h) + h + 1)


# -- GeM ------------------------------------------------------------------------------------

def test_gem_is_the_generalised_mean_with_a_learned_p():
    pool = create_pool("gem", 3)
    assert float(pool.p) == 3.0 and sum(p.numel() for p in pool.parameters()) == 1
    x = torch.randn(2, 3, 4, 4)
    out = pool(x)
    for n in range(2):
        for c in range(3):
            v = [max(a, 1e-6) ** 3 for a in x[n, c].flatten().tolist()]
            assert math.isclose(float(out[n, c]), (sum(v) / len(v)) ** (1 / 3), rel_tol=1e-4)
    out.sum().backward()
    assert pool.p.grad is not None and float(pool.p.grad) != 0.0  # p learns
    pos = torch.rand(1, 2, 5, 5) + 0.1
    with torch.no_grad():
        pool.p.fill_(1.0)
        assert torch.allclose(pool(pos), pos.mean(dim=(2, 3)), atol=1e-5)  # p = 1: GAP
        pool.p.fill_(60.0)
        assert torch.allclose(pool(pos), pos.amax(dim=(2, 3)), rtol=0.06)  # large p: near max


# -- SPEM Table 4 -------------------------------------------------------------------------------

@pytest.mark.parametrize(("reweight", "extra"), [("shared", 4), ("unshared", 6), ("none", 2)])
def test_spem_reweight_variants(reweight, extra):
    m = _randomise(SPEMAttention(5, "learn", reweight))
    assert sum(p.numel() for p in m.parameters()) == extra * 5 + 2
    x = torch.randn(2, 5, 3, 3)
    y = m(x)
    a = m.pool.weights().tolist()
    for n in range(2):
        for c in range(5):
            mx, mn = float(x[n, c].max()), float(x[n, c].min())
            w1, b1 = float(m.w1[c]), float(m.b1[c])
            if reweight == "none":
                g = sigmoid(w1 * (a[0] * mx + a[1] * mn) + b1)
            else:
                w2, b2 = float(m.w2[c]), float(m.b2[c])
                w3, b3 = (float(m.w3[c]), float(m.b3[c])) if reweight == "unshared" else (w2, b2)
                mx2, mn2 = w2 * mx + b2, w3 * mn + b3
                g = sigmoid(mx2 + mn2) * sigmoid(w1 * (a[0] * mx2 + a[1] * mn2) + b1)
            assert torch.allclose(y[n, c], x[n, c] * g, atol=1e-5)
