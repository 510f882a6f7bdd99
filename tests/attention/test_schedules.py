"""λ schedules: linear over depth (SRP "Scheduled SRP") and over training time."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from poolnas.attention import (
    create_attention,
    region_side,
    scheduled_lambda,
    set_training_progress,
)
from poolnas.config import AttentionConfig


def test_linear_goes_from_one_at_the_first_site_to_lambda_at_the_last():
    values = [scheduled_lambda(0.6, i, 5, "linear") for i in range(5)]
    assert values[0] == 1.0 and math.isclose(values[-1], 0.6)
    assert all(math.isclose(a - b, 0.1) for a, b in zip(values, values[1:], strict=False))
    assert scheduled_lambda(0.6, 0, 1, "linear") == 0.6  # a lone site gets the target


@pytest.mark.parametrize("schedule", ["fixed", "epochs"])
def test_fixed_and_epochs_keep_lambda_at_every_site(schedule):
    assert [scheduled_lambda(0.4, i, 3, schedule) for i in range(3)] == [0.4] * 3


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0.0, 0, 3, "linear"), "lam"),
        ((0.5, 3, 3, "linear"), "site_index"),
        ((0.5, -1, 3, "linear"), "site_index"),
        ((0.5, 0, 0, "linear"), "num_sites"),
        ((0.5, 0, 3, "cosine"), "schedule"),
    ],
)
def test_bad_schedule_arguments(args, field):
    with pytest.raises(ValueError, match=f"^{field}: "):
        scheduled_lambda(*args)


def _region_side_in_use(block: nn.Module, size: int = 10) -> int:
    x = torch.randn(2, 4, size, size, requires_grad=True)
    block.pool(x).sum().backward()
    return int((x.grad[0, 0] != 0).sum(dim=1).max())  # longest row of the square


def test_epochs_schedule_moves_lambda_from_one_to_target():
    cfg = AttentionConfig(pooling="srp-ss", lam=0.4, schedule="epochs")
    model = nn.Sequential(
        create_attention(cfg, 4, site_index=0, num_sites=2),
        create_attention(cfg, 4, site_index=1, num_sites=2),
    ).train()
    assert all(block.lam == 0.4 for block in model)
    assert _region_side_in_use(model[0]) == 10  # never told: λ = 1 at the start
    set_training_progress(model, 0.5)
    assert _region_side_in_use(model[1]) == region_side(0.7, 10)
    set_training_progress(model, 1.0)
    assert _region_side_in_use(model[0]) == region_side(0.4, 10)


def test_progress_leaves_other_schedules_alone_and_checks_its_range():
    block = create_attention(AttentionConfig(pooling="srp-ss", lam=0.4), 4).train()
    set_training_progress(block, 0.0)
    assert _region_side_in_use(block) == region_side(0.4, 10)
    with pytest.raises(ValueError, match="^fraction: 1.5 "):
        set_training_progress(block, 1.5)


def test_scheduled_lambda_rounds_half_way_cases_up_by_eq_2_exactly():
    # λ at site 5 of 8 for λ = 0.1 is 1 - 0.9·5/7 = 5/14; on 7 rows (Fashion-MNIST's last
    # stage) 7·5/14 + 1/2 = 3 exactly, so Eq. 2 gives 3; the float 0.35714285714285710 gave 2.
    lam = scheduled_lambda(0.1, 5, 8, "linear")
    assert math.floor((1.0 + (0.1 - 1.0) * 5 / 7) * 7 + 0.5) == 2  # what float rounding did
    assert region_side(lam, 7) == 3
    assert math.isclose(lam, 5 / 14)
    m = create_attention(
        AttentionConfig(pooling="srp-ss", lam=0.1, schedule="linear"), 8, site_index=5, num_sites=8
    )
    assert m.pool._side(7) == 3


def test_scheduled_lambda_is_a_plain_float():
    import yaml

    lam = scheduled_lambda(0.1, 5, 8, "linear")
    assert type(lam) is float
    assert yaml.safe_load(yaml.safe_dump({"lam": lam}))["lam"] == lam


def test_region_side_is_eq_2_away_from_half_way_cases():
    assert region_side(0.3499, 10) == 3 and region_side(0.3501, 10) == 4
    assert region_side(0.35, 10) == 4  # the float 0.35 is 0.34999999999999997...


@pytest.mark.parametrize(("pooling", "lam"), [("srp-ss", 0.8), ("srp-ms", 0.6), ("gap", 0.6)])
def test_lambda_defaults_to_the_papers_main_runs(pooling, lam):
    """SRP Sec. 4: SS-SRP with λ = 0.8, MS-SRP with λ = 0.6, when λ is not given."""
    cfg = AttentionConfig(pooling=pooling)
    assert cfg.lam == lam
    assert AttentionConfig.model_validate(cfg.model_dump()).lam == lam  # dumped: the same
    assert AttentionConfig(pooling=pooling, lam=0.3).lam == 0.3
