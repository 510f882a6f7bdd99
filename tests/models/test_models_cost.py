"""FLOPs (multiply-accumulates) and parameters against the papers (BA2M Table I / VI, Eq. 16-17).

``count_flops`` counts with torch.utils.flop_counter and halves its FLOPs: MACs, as the
papers count them. Tables print G = 1e9 MACs and M = 1e6 parameters.
"""

from __future__ import annotations

import pytest
import torch
from models_helpers import make_config

from poolnas.models import build_model, count_flops, count_parameters, model_cost
from poolnas.models._arch import parse_arch

# BA2M stages of ResNet-50 / 101 on 32x32 inputs with the CIFAR stem: (C, H*W).
BA2M_SITES = ((256, 32 * 32), (512, 16 * 16), (1024, 8 * 8), (2048, 4 * 4))
# torchvision's ResNet ("v1.5") strides the 3x3 conv of each stage's first block; the
# original ResNet (v1) strides its first 1x1 conv, which then runs on the smaller map:
# 1x1 C_in -> planes at stages 2-4 on 32², 16², 8² instead of 16², 8², 4².
V15_EXTRA = sum(cin * planes * (hw - hw // 4) for cin, planes, hw in (
    (256, 128, 32 * 32), (512, 256, 16 * 16), (1024, 512, 8 * 8)))


def _meta(config) -> torch.nn.Module:
    with torch.device("meta"):
        return build_model(config)


def test_count_flops_counts_macs_of_convs_and_fcs() -> None:
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.BatchNorm2d(8),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 4))
    model.train()
    assert count_flops(model, (3, 8, 8)) == 8 * 8 * 8 * 3 * 9 + 8 * 4
    assert model.training  # mode restored


def test_resnet50_cifar_matches_table_vi() -> None:
    """BA2M Table VI: ResNet-50 on CIFAR-100, 23.71M parameters, 1.22 GFLOPs."""
    cost = model_cost(make_config("resnet50-cifar", num_classes=100, dataset="cifar100"))
    assert round(cost["params"] / 1e6, 2) == 23.71
    assert cost["flops"] == 1_298_014_208
    # The table's 1.22 G is the original ResNet's layout (stride on the first 1x1 conv).
    assert round((cost["flops"] - V15_EXTRA) / 1e9, 2) == 1.22


def test_resnet101_cifar_matches_table_i() -> None:
    """BA2M Table I: ResNet-101 on CIFAR-100, 42.70M parameters, 2.44 GFLOPs."""
    cost = model_cost(make_config("resnet101-cifar", num_classes=100, dataset="cifar100"))
    assert round(cost["params"] / 1e6, 2) == 42.70
    assert abs(cost["flops"] - V15_EXTRA - 2.44e9) / 2.44e9 < 0.005  # 2.435 G


def test_imagenet_stem_reaches_ba2m_last_stage_at_1x1_on_cifar() -> None:
    assert parse_arch("resnet50").stem_stride == 4 and parse_arch("resnet50-cifar").stem_stride == 1
    imagenet = model_cost(make_config("resnet50", num_classes=100, dataset="cifar100"))["flops"]
    assert imagenet < 0.1e9  # 0.084 G: the wrong backbone for CIFAR


def _ba2m_config(**ba):
    return make_config("resnet50-cifar", num_classes=100, dataset="cifar100",
                       batch_attention={"enabled": True, "reduction": 32, "stages": [1, 2, 3, 4], **ba})


def test_resnet50_ba2m_parameters_follow_eq_16() -> None:
    """Eq. 16 (R = 32, BA2M after each of the four stages), plus the two BNs (4C) per module:
    24.48M. Table VI prints 24.21M, which no reading of Eq. 16 gives (docs/models.md)."""
    base = count_parameters(_meta(make_config("resnet50-cifar", num_classes=100)))
    n = count_parameters(_meta(_ba2m_config()))
    r = 32
    eq16 = sum(2 * c * c // r + c * c * (9 + 2 * r) // r**2 + 3 * c * c // r**2 for c, _ in BA2M_SITES)
    assert n - base == eq16 + sum(4 * c for c, _ in BA2M_SITES)
    assert round(n / 1e6, 2) == 24.48


def test_ba2m_flops_at_inference_and_when_on_follow_eq_17() -> None:
    """Off at inference (the paper's Sec. III-D): no MACs. On (in_eval): Eq. 17's A_C, A_LS
    and A_GS conv terms exactly, and one (HW)²·C/R product of Eq. 8 (the second is a
    matrix-vector product, GAP taken first)."""
    base = model_cost(make_config("resnet50-cifar", num_classes=100, dataset="cifar100"))["macs"]
    assert model_cost(_ba2m_config())["macs"] == base
    on = model_cost(_ba2m_config(in_eval=True))["macs"]
    r_ = 32
    expected = 0
    for c, hw in BA2M_SITES:
        r = c // r_
        eq17 = c * c * 2 // r_ + hw * c * c * (9 + 2 * r_) // r_**2 + hw * c * c * 3 // r_**2
        expected += eq17 + hw * hw * r + hw * r
    assert on - base == expected


def test_srp_costs_gap_at_inference_and_more_in_training() -> None:
    gap = model_cost(make_config("resnet56", num_classes=100, pooling="gap"))
    srp = model_cost(make_config("resnet56", num_classes=100, pooling="srp-ms", lam=0.6))
    assert srp["flops"] == gap["flops"] and srp["params"] == gap["params"]
    assert srp["train_flops"] > gap["train_flops"] == gap["flops"]  # masks and region means
    assert gap["macs"] > model_cost(make_config("resnet56", num_classes=100))["macs"]  # SE's FCs


def test_model_cost_uses_the_dataset_input_size() -> None:
    digits = model_cost(make_config("resnet20", in_channels=1, dataset="digits"))
    cifar = model_cost(make_config("resnet20", dataset="cifar10"))
    assert set(digits) == {"params", "flops", "train_flops", "macs"}
    assert cifar["flops"] == cifar["macs"] == 40_551_040  # He et al.: ~41 M MACs; no attention, no op added
    assert digits["flops"] < cifar["flops"] / 10  # 8x8 against 32x32


@pytest.mark.parametrize("batch", [1, 3])
def test_count_flops_is_per_image(batch) -> None:
    model = build_model(make_config("resnet20", pooling="gap"))
    x = torch.zeros(batch, 3, 16, 16)
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() // 2 == batch * count_flops(model, (3, 16, 16))


def test_every_pooling_type_has_its_op_count() -> None:
    """One ops function per pooling (extensible by registering): none left uncounted."""
    from poolnas.attention.pool_types import POOL_TYPES
    from poolnas.models.cost import POOL_OPS

    assert set(POOL_TYPES) <= set(POOL_OPS)


def test_op_counts_of_one_attention_block_by_hand() -> None:
    """A ChannelAttention on one (C, H, W) = (4, 3, 3) map: the pooling's ops, then the gate's
    sigmoid (4 per channel) and x · gate, counted by hand beside the SE head's MACs."""
    from poolnas.attention import create_pool
    from poolnas.attention.se import ChannelAttention
    from poolnas.models.cost import count_ops

    c, h, w = 4, 3, 3
    gate = 4 * c + c * h * w
    by_hand = {"gap": c * h * w + c, "max": c * h * w, "min": c * h * w,
               "mix": 2 * c * h * w + 3 * c + 5, "avgmax": 2 * c * h * w + c}
    head_macs = c * 1 + 1 * c  # SE head C -> max(1, C // 16) -> C
    for kind, pool_ops in by_hand.items():
        block = ChannelAttention(c, create_pool(kind, c))
        count = count_ops(block, (c, h, w))
        extra = c if kind == "avgmax" else 0  # the second path's logits, summed
        assert count.ops == count.train_ops == pool_ops + gate + extra, kind
        assert count.macs == head_macs * (2 if kind == "avgmax" else 1), kind
    # score, K = 2: channel mean, softmax per path (MACs: the 5x5 conv and Σ V·X)
    block = ChannelAttention(c, create_pool("score", c, paths=2))
    count = count_ops(block, (c, h, w))
    assert count.ops == c * h * w + h * w + 3 * 2 * h * w + gate + c
    assert count.macs == 2 * 25 * h * w + 2 * c * h * w + 2 * head_macs


def test_srp_training_cost_is_masks_and_region_means() -> None:
    """SRP in training: a bmm of H·W·C MACs (the region mean) and (M + 2)·H·W ops for the
    mask (union of M squares, its size, 1/size); in eval exactly GAP."""
    from poolnas.attention import create_pool
    from poolnas.attention.se import ChannelAttention
    from poolnas.models.cost import count_ops

    c, h, w = 8, 6, 6
    gap = count_ops(ChannelAttention(c, create_pool("gap", c)), (c, h, w))
    for m in (1, 3):
        kind = "srp-ss" if m == 1 else "srp-ms"
        srp = count_ops(ChannelAttention(c, create_pool(kind, c, lam=0.5, M=m)), (c, h, w))
        assert (srp.macs, srp.ops) == (gap.macs, gap.ops)
        assert srp.train_macs == gap.macs + c * h * w
        assert srp.train_ops == gap.ops - (c * h * w + c) + (m + 2) * h * w


def test_ba2m_counts_in_training_as_table_viii_reports_it() -> None:
    """BA2M Table VIII gives the FLOPs of the network trained with BA2M on: its Eq. 17 MACs
    count in train_flops (off at inference: not in flops), fewer as R grows."""
    base = model_cost(make_config("resnet50-cifar", num_classes=100, dataset="cifar100"))
    costs = {r: model_cost(_ba2m_config(reduction=r)) for r in (8, 32)}
    for cost in costs.values():
        assert cost["flops"] == base["flops"]
        assert cost["train_flops"] > cost["flops"]
    assert costs[8]["train_flops"] > costs[32]["train_flops"]
    # training adds what BA2M costs when it also runs in eval (the Eq. 17 MACs of the test above)
    on = model_cost(_ba2m_config(reduction=32, in_eval=True))
    assert costs[32]["train_flops"] - costs[32]["flops"] == on["flops"] - base["flops"]
