"""Excitation heads and the factory: parameter counts from the papers, SPEM's init and
regulariser, the double-branch heads, and clear errors for combinations that cannot work."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import poolnas.attention as attention
from poolnas.attention import (
    attention_parameters,
    attention_regularizer,
    create_attention,
)
from poolnas.attention.double_branch import fold_width
from poolnas.config import AttentionConfig
from poolnas.errors import ConfigError


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_public_names_are_exactly_the_interface():
    assert sorted(attention.__all__) == sorted(
        [
            "create_attention",
            "create_bam",
            "create_batch_attention",
            "scheduled_lambda",
            "set_training_progress",
            "attention_regularizer",
            "attention_parameters",
            "create_pool",
            "sample_region_masks",
            "region_side",
        ]
    )


@pytest.mark.parametrize(
    ("channels", "reduction", "hidden"), [(64, 16, 4), (16, 16, 1), (16, 32, 1), (30, 4, 7)]
)
def test_se_is_two_fcs_of_width_c_over_r(channels, reduction, hidden):
    # biases by default (SENet's code); se_bias: false gives SAAM Eq. 9's bias-free form
    m = create_attention(AttentionConfig(pooling="gap", reduction=reduction), channels)
    assert n_params(m) == 2 * channels * hidden + hidden + channels
    bare = create_attention(AttentionConfig(pooling="gap", reduction=reduction, se_bias=False), channels)
    assert n_params(bare) == 2 * channels * hidden
    assert all(not isinstance(x, nn.Linear) or x.bias is None for x in bare.modules())
    x = torch.randn(2, channels, 4, 4)
    gate = torch.sigmoid(m.head.fc2(torch.relu(m.head.fc1(x.mean(dim=(2, 3))))))
    assert torch.allclose(m(x), x * gate[:, :, None, None], atol=1e-6)


def test_avgmax_sums_the_shared_mlp_over_both_paths():
    m = create_attention(AttentionConfig(pooling="avgmax", reduction=4), 8)
    x = torch.randn(2, 8, 5, 5)
    mlp = lambda z: m.head.fc2(torch.relu(m.head.fc1(z)))  # noqa: E731
    gate = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))  # CBAM
    assert torch.allclose(m(x), x * gate[:, :, None, None], atol=1e-6)


def test_spem_adds_4c_plus_2_per_block_and_starts_as_iebn():
    c = 16
    m = create_attention(AttentionConfig(pooling="mix", excitation="spem"), c)
    assert n_params(m) == 4 * c + 2
    fixed = create_attention(AttentionConfig(pooling="mix", excitation="spem", mix_alpha=0.3), c)
    assert n_params(fixed) == 4 * c
    x = torch.randn(3, c, 6, 6)
    # w = 0, b = -1: mx' = mn' = mix' = -1, gate = sigmoid(-2) * sigmoid(-1) everywhere.
    expected = 1 / (1 + math.exp(2)) / (1 + math.exp(1))
    assert torch.allclose(m(x), x * expected)


def test_spem_gate_follows_the_authors_equations():
    c, alpha = 4, 0.3
    m = create_attention(AttentionConfig(pooling="mix", excitation="spem", mix_alpha=alpha), c)
    w1, b1, w2, b2 = (torch.randn(c) for _ in range(4))
    with torch.no_grad():
        m.w1.copy_(w1), m.b1.copy_(b1), m.w2.copy_(w2), m.b2.copy_(b2)
    x = torch.randn(2, c, 5, 5)
    mx = w2 * x.amax(dim=(2, 3)) + b2
    mn = w2 * x.amin(dim=(2, 3)) + b2
    mix = w1 * (alpha * mx + (1 - alpha) * mn) + b1
    gate = torch.sigmoid(mx + mn) * torch.sigmoid(mix)
    assert torch.allclose(m(x), x * gate[:, :, None, None], atol=1e-6)


def test_spem_regularizer_is_point_one_sum_p_squared_over_blocks():
    cfg = AttentionConfig(pooling="mix", excitation="spem")
    model = nn.Sequential(nn.Conv2d(3, 8, 1), create_attention(cfg, 8), create_attention(cfg, 8))
    reg = attention_regularizer(model)
    assert torch.isclose(reg, torch.tensor(2 * 0.1 * (0.5**2 + 0.5**2)))
    reg.backward()
    p = model[1].pool.p
    assert torch.allclose(p.grad, 0.2 * p.detach())
    plain = nn.Sequential(nn.Conv2d(3, 8, 1), create_attention(AttentionConfig(pooling="gap"), 8))
    zero = attention_regularizer(plain)
    assert zero.shape == () and float(zero) == 0.0


def test_spem_needs_mix_pooling_and_one_branch():
    with pytest.raises(ConfigError, match=r"^attention\.excitation: 'spem' .*pooling: mix"):
        create_attention(AttentionConfig(pooling="srp-ms", excitation="spem"), 16)
    with pytest.raises(ConfigError, match=r"^attention\.branch: 'double'"):
        create_attention(AttentionConfig(pooling="mix", excitation="spem", branch="double"), 16)


def test_off_gives_none_and_attributes_name_the_site():
    assert create_attention(AttentionConfig(pooling="none"), 16) is None
    assert create_attention(AttentionConfig(pooling="srp-ms", excitation="none"), 16) is None
    m = create_attention(
        {"pooling": "srp-ms", "lam": 0.6, "schedule": "linear"}, 16, site_index=2, num_sites=5
    )
    assert m.pooling == "srp-ms" and math.isclose(m.lam, 0.8)
    assert create_attention({"pooling": "gap"}, 16).lam is None


def test_dict_config_errors_name_the_attention_field():
    with pytest.raises(ConfigError, match=r"^attention\.lam: "):
        create_attention({"pooling": "srp-ss", "lam": 0}, 16)
    with pytest.raises(ConfigError, match=r"^attention\.reduction: "):
        create_attention({"reduction": 0}, 16)
    with pytest.raises(ConfigError, match=r"^channels: 0 "):
        create_attention({}, 0)


@pytest.mark.parametrize(
    ("channels", "k"), [(64, 16), (256, 16), (24, 12), (16, 8), (12, 6), (6, 3), (4, 0), (5, 0)]
)
def test_inner_imaging_fold_width(channels, k):
    assert fold_width(channels) == k


@pytest.mark.parametrize("head", ["conv", "fc"])
@pytest.mark.parametrize("channels", [4, 16, 64])
def test_double_branch_gate_uses_both_branches(head, channels):
    cfg = AttentionConfig(pooling="gap", branch="double", double_head=head, reduction=4)
    m = create_attention(cfg, channels)
    x, ident = torch.randn(3, channels, 6, 6), torch.randn(3, channels, 6, 6)
    y = m(x, ident)
    assert y.shape == x.shape
    gate = y / x
    assert torch.allclose(
        gate, gate[:, :, :1, :1].expand_as(gate), atol=1e-5
    )  # one gate per channel
    assert bool(((gate > 0) & (gate < 1)).all())
    assert not torch.allclose(m(x, ident + torch.randn_like(ident)), y)  # identity matters
    with pytest.raises(ValueError, match="identity"):
        m(x, ident[:, :, :3])


def test_double_fc_parameter_count():
    c, r = 32, 4
    m = create_attention(
        AttentionConfig(pooling="gap", branch="double", double_head="fc", reduction=r), c
    )
    h = c // r
    assert n_params(m) == 2 * c * h + 2 * h * c


def test_inner_imaging_head_follows_the_fold_and_conv():
    c, r = 32, 4
    m = create_attention(AttentionConfig(pooling="gap", branch="double", reduction=r), c)
    m.eval()
    head = m.head
    x, ident = torch.randn(2, c, 5, 5), torch.randn(2, c, 5, 5)
    z_r, z_i = x.mean(dim=(2, 3)), ident.mean(dim=(2, 3))
    image = torch.empty(2, 2 * c // 16, 16)  # the authors' fold: rows of 16 alternate
    image[:, 0::2], image[:, 1::2] = z_r.view(2, -1, 16), z_i.view(2, -1, 16)
    image = image.unsqueeze(1)
    maps = head.bn(nn.functional.conv2d(image, head.conv.weight)).mean(dim=1).flatten(1)
    gate = torch.sigmoid(head.fc2(torch.relu(head.fc1(maps))))
    assert torch.allclose(m(x, ident), x * gate[:, :, None, None], atol=1e-5)


def test_attention_parameters_are_those_of_the_attention_blocks():
    cfg = AttentionConfig(pooling="score", reduction=4, batch_attention={"enabled": True})
    conv = nn.Conv2d(3, 8, 3)
    block = create_attention(cfg, 8)
    ba = attention.create_batch_attention(cfg, 8)
    model = nn.Sequential(conv, block, ba, nn.Sequential(block))  # shared block counted once
    params = attention_parameters(model)
    assert {id(p) for p in params} == {id(p) for p in [*block.parameters(), *ba.parameters()]}
    assert len(params) == len({id(p) for p in params})
    assert not any(p is conv.weight for p in params)


def test_inner_image_rows_alternate_k_residual_and_k_identity_channels():
    """The authors' ResFoldReimageLayer: (C, 2) -> (C/k, k, 2) -> (C/k, 2, k) -> (2C/k, k)."""
    from poolnas.attention.double_branch import inner_image

    z_res = torch.arange(8.0).view(1, 8)  # residual channels 0..7
    z_id = 100 + torch.arange(8.0).view(1, 8)  # identity channels 100..107
    image = inner_image(z_res, z_id, 4)
    expected = torch.tensor([[0.0, 1, 2, 3], [100, 101, 102, 103], [4, 5, 6, 7], [104, 105, 106, 107]])
    assert torch.equal(image, expected.view(1, 1, 4, 4))


@pytest.mark.parametrize(("channels", "planes", "maps"), [(256, 64, 4), (64, 16, 1), (160, None, 10)])
def test_inner_imaging_conv_has_planes_over_16_maps(channels, planes, maps):
    cfg = AttentionConfig(pooling="gap", branch="double", reduction=16)
    m = create_attention(cfg, channels, planes=planes)
    assert m.head.conv.out_channels == maps  # the authors' channels / cmpe_se_ratio
    assert m.head.bn.num_features == maps
