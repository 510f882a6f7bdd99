"""The pooling ops against their definitions: one signature, mix endpoints, SAAM limits."""

from __future__ import annotations

import pytest
import torch

from poolnas.attention import create_pool
from poolnas.attention.pool_types import POOL_TYPES


@pytest.mark.parametrize("pool_type", POOL_TYPES)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_every_op_maps_nchw_to_nc(pool_type, mode):
    pool = create_pool(pool_type, 6, lam=0.5, M=2, paths=2, mix_alpha=0.3)
    pool.train(mode == "train")
    x = torch.randn(3, 6, 8, 5, requires_grad=True)
    z = pool(x)
    assert z.shape == (3, 6)
    z.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert pool.forward_paths(x).shape == (3, pool.paths, 6)


def test_static_ops_are_their_definitions():
    x = torch.randn(2, 3, 4, 5)
    flat = x.flatten(2)
    assert torch.allclose(create_pool("gap", 3)(x), flat.sum(-1) / 20)
    assert torch.equal(create_pool("max", 3)(x), flat.max(-1).values)
    assert torch.equal(create_pool("min", 3)(x), flat.min(-1).values)
    paths = create_pool("avgmax", 3).forward_paths(x)
    assert torch.allclose(paths[:, 0], flat.mean(-1)) and torch.equal(
        paths[:, 1], flat.max(-1).values
    )


@pytest.mark.parametrize(("alpha", "op"), [(1.0, "max"), (0.0, "min"), (1, "max"), (0, "min")])
def test_mix_endpoints_are_max_and_min(alpha, op):
    x = torch.randn(3, 4, 6, 6)
    assert torch.equal(create_pool("mix", 4, mix_alpha=alpha)(x), create_pool(op, 4)(x))


def test_mix_fixed_alpha_and_learned_start_half_way():
    x = torch.randn(3, 4, 6, 6)
    mx, mn = x.amax(dim=(2, 3)), x.amin(dim=(2, 3))
    assert torch.allclose(create_pool("mix", 4, mix_alpha=0.3)(x), 0.3 * mx + 0.7 * mn)
    learned = create_pool("mix", 4)
    assert [p.numel() for p in learned.parameters()] == [2]
    assert torch.allclose(learned(x), 0.5 * (mx + mn))
    with torch.no_grad():
        learned.p.copy_(torch.tensor([3.0, 1.0]))  # α = 9 / 10 (p² normalised)
    assert torch.allclose(learned(x), 0.9 * mx + 0.1 * mn)
    assert sum(p.numel() for p in create_pool("mix", 4, mix_alpha=0.3).parameters()) == 0


@pytest.mark.parametrize("paths", [1, 3])
def test_score_with_uniform_scores_is_gap(paths):
    pool = create_pool("score", 5, paths=paths)
    with torch.no_grad():
        pool.score.weight.zero_()
    x = torch.randn(2, 5, 7, 7)
    assert torch.allclose(pool(x), x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(
        pool.forward_paths(x), x.mean(dim=(2, 3))[:, None].expand(2, paths, 5), atol=1e-6
    )


def test_score_with_one_sharp_score_picks_that_position():
    pool = create_pool("score", 4)
    with torch.no_grad():
        pool.score.weight.zero_()
        pool.score.weight[0, 0, 2, 2] = 1000.0  # Ũ = 1000 · U: softmax is one-hot at max U
    x = torch.randn(3, 4, 6, 6) * 0.01
    x[0, :, 1, 4] += 1.0  # channel mean largest here
    x[1, :, 5, 0] += 1.0
    x[2, :, 3, 3] += 1.0
    z = pool(x)
    assert torch.allclose(z[0], x[0, :, 1, 4], atol=1e-5)
    assert torch.allclose(z[1], x[1, :, 5, 0], atol=1e-5)
    assert torch.allclose(z[2], x[2, :, 3, 3], atol=1e-5)


def test_score_maps_are_softmax_over_positions():
    pool = create_pool("score", 4, paths=2)
    v = pool.scores(torch.randn(3, 4, 5, 6))
    assert v.shape == (3, 2, 30)
    assert torch.allclose(v.sum(-1), torch.ones(3, 2)) and bool((v > 0).all())
    assert sum(p.numel() for p in pool.parameters()) == 2 * 25  # one 5x5 map per path


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("gapp", 8), {}, "pool_type"),
        (("avg", 8), {}, "pool_type"),
        (("srp-ss", 8), {"lam": 0.0}, "lam"),
        (("srp-ms", 8), {"lam": 1.01}, "lam"),
        (("srp-ms", 8), {"M": 0}, "M"),
        (("srp-ss", 8), {"region": "channel"}, "region"),
        (("mix", 8), {"mix_alpha": 1.5}, "mix_alpha"),
        (("mix", 8), {"mix_alpha": "learned"}, "mix_alpha"),
        (("score", 8), {"paths": 0}, "paths"),
        (("gap", 0), {}, "channels"),
        (("gap", 8), {"lambda": 0.5}, "create_pool keyword"),
    ],
)
def test_bad_arguments_name_field_value_and_accepted(args, kwargs, field):
    with pytest.raises(ValueError) as err:
        create_pool(*args, **kwargs)
    text = str(err.value)
    assert text.startswith(f"{field}: ") and "is not accepted; expected" in text


def test_unknown_pool_type_suggests_the_closest():
    with pytest.raises(ValueError, match=r"did you mean 'srp-ms'\?"):
        create_pool("srp_ms", 8)
