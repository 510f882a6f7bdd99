"""SRP pooling: exactly GAP in eval, region-only gradients, shared regions, no parameters."""

from __future__ import annotations

import pytest
import torch

from poolnas.attention import create_attention, create_pool, region_side, sample_region_masks
from poolnas.config import AttentionConfig


@pytest.mark.parametrize("pool_type", ["srp-ss", "srp-ms"])
@pytest.mark.parametrize("region", ["shared", "per-channel"])
def test_eval_is_exactly_gap(pool_type, region):
    x = torch.randn(4, 6, 8, 8)
    pool = create_pool(pool_type, 6, lam=0.3, M=4, region=region).eval()
    assert torch.equal(pool(x), x.mean(dim=(2, 3)))
    pool.train()
    assert not torch.allclose(pool(x), x.mean(dim=(2, 3)))


def test_lambda_one_in_training_is_gap():
    x = torch.randn(4, 6, 8, 8)
    pool = create_pool("srp-ms", 6, lam=1.0, M=3).train()
    assert torch.equal(pool(x), x.mean(dim=(2, 3)))


@pytest.mark.parametrize("pool_type", ["srp-ss", "srp-ms"])
def test_gradients_reach_only_the_region_shared_by_channels(pool_type):
    n, c, h, w, lam, m = 5, 4, 10, 10, 0.4, 3
    pool = create_pool(pool_type, c, lam=lam, M=m).train()
    x = torch.randn(n, c, h, w, requires_grad=True)
    torch.manual_seed(9)
    masks = sample_region_masks(n, h, w, lam=lam, num_regions=1 if pool_type == "srp-ss" else m)
    torch.manual_seed(9)
    pool(x).sum().backward()
    grad = x.grad
    for i in range(n):
        area = int(masks[i].sum())
        for ch in range(c):
            assert torch.equal(grad[i, ch] != 0, masks[i])  # only the region, same for all channels
            assert torch.allclose(grad[i, ch][masks[i]], torch.full((area,), 1.0 / area))


def test_per_channel_gradients_follow_each_channels_region():
    n, c, h, w = 3, 8, 8, 8
    pool = create_pool("srp-ms", c, lam=0.5, M=2, region="per-channel").train()
    x = torch.randn(n, c, h, w, requires_grad=True)
    torch.manual_seed(4)
    masks = sample_region_masks(n, h, w, lam=0.5, num_regions=2, channels=c)
    torch.manual_seed(4)
    z = pool(x)
    z.sum().backward()
    assert torch.equal(x.grad != 0, masks)
    brute = (x * masks).sum(dim=(2, 3)) / masks.sum(dim=(2, 3))
    assert torch.allclose(z, brute, atol=1e-6)


def test_ss_region_area_ratio_from_gradient_support():
    pool = create_pool("srp-ss", 2, lam=0.6).train()
    x = torch.randn(7, 2, 16, 16, requires_grad=True)
    pool(x).sum().backward()
    ratio = (x.grad[:, 0] != 0).double().mean(dim=(1, 2))
    side = region_side(0.6, 16)
    assert torch.allclose(ratio, torch.full_like(ratio, (side / 16) ** 2))


def test_double_branch_pools_both_branches_over_one_region():
    pool = create_pool("srp-ms", 4, lam=0.4, M=2).train()
    x = torch.randn(6, 4, 8, 8)
    z_res, z_id = pool.forward_pair(x, x.clone())
    assert torch.equal(z_res, z_id)
    z_a, z_b = pool.forward_paths(x), pool.forward_paths(x)
    assert not torch.equal(z_a, z_b)  # fresh regions on every call


@pytest.mark.parametrize("branch", ["one", "double"])
def test_srp_adds_no_parameters_to_its_head(branch):
    def count(pooling):
        cfg = AttentionConfig(pooling=pooling, branch=branch, reduction=4)
        return sum(p.numel() for p in create_attention(cfg, 32).parameters())

    assert count("srp-ss") == count("srp-ms") == count("gap")
    if branch == "one":
        assert count("gap") == 2 * 32 * 32 // 4 + 32 // 4 + 32  # SE: 2C^2/R and the FC biases


def test_channels_last_and_double_precision_match_brute_force():
    x = torch.randn(3, 5, 6, 6, dtype=torch.float64).to(memory_format=torch.channels_last)
    pool = create_pool("srp-ms", 5, lam=0.5, M=3).train()
    torch.manual_seed(2)
    masks = sample_region_masks(3, 6, 6, lam=0.5, num_regions=3)
    torch.manual_seed(2)
    z = pool(x)
    m = masks[:, None].to(x.dtype)
    assert torch.allclose(z, (x * m).sum(dim=(2, 3)) / m.sum(dim=(2, 3)))


def test_gradcheck_of_region_mean():
    pool = create_pool("srp-ms", 2, lam=0.5, M=2).train()
    x = torch.randn(2, 2, 4, 4, dtype=torch.float64, requires_grad=True)

    def fixed_region(inp):
        torch.manual_seed(3)
        return pool(inp)

    assert torch.autograd.gradcheck(fixed_region, (x,), fast_mode=True)


def test_moves_and_casts_like_any_module():
    block = create_attention(AttentionConfig(pooling="srp-ms", branch="double"), 16)
    block = block.to("cpu").double().train()
    x = torch.randn(2, 16, 8, 8, dtype=torch.float64)
    assert block(x, x).dtype == torch.float64
