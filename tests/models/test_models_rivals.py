"""The papers' rivals in the search space, counted against the papers' tables (within
0.5%, and exactly against our own build), and the v1 bottleneck stride against BA2M Table
I's GFLOPs. Counted on the meta device."""

from __future__ import annotations

import pytest
import torch
from models_helpers import make_config

from poolnas.errors import ConfigError
from poolnas.models import build_model, count_flops, count_parameters


def n_params(config) -> int:
    with torch.device("meta"):
        return count_parameters(build_model(config))


SE = {"pooling": "gap"}
ECA = {"pooling": "gap", "excitation": "eca"}
SRM = {"pooling": "style", "excitation": "srm"}
CBAM = {"pooling": "avgmax", "spatial": "cbam"}
GE = {"pooling": "gap", "excitation": "ge"}
SGE = {"pooling": "gap", "excitation": "sge"}
BAM = {"bam": {"enabled": True}}
SPEM = {"pooling": "mix", "excitation": "spem"}

# (network, classes, attention, the paper's count, where, our exact count)
TABLES = [
    # BA2M Table V (ImageNet ResNet-50); ECA-Net Table 2 and GE Table 1 print the same 25.56M
    ("resnet50", 1000, SE, 28.09e6, "BA2M Table V", 28_088_024),
    ("resnet50", 1000, SRM, 25.62e6, "BA2M Table V", 25_617_448),
    ("resnet50", 1000, CBAM, 28.09e6, "BA2M Table V", 28_089_624),
    ("resnet50", 1000, SGE, 25.56e6, "BA2M Table V", 25_559_080),
    ("resnet50", 1000, BAM, 25.92e6, "BA2M Table V", 25_915_099),
    ("resnet50", 1000, ECA, 25.56e6, "ECA-Net Table 2", 25_557_118),
    ("resnet50", 1000, GE, 25.56e6, "GE-θ⁻: no parameters", 25_557_032),
    # BA2M Table VI (CIFAR-100, ResNet-50 with the CIFAR stem)
    ("resnet50-cifar", 100, SE, 26.24e6, "BA2M Table VI", 26_236_244),
    ("resnet50-cifar", 100, BAM, 24.07e6, "BA2M Table VI", 24_063_319),
    # SPEM Table 1 (ResNet-164, CIFAR-10 / CIFAR-100)
    ("resnet164", 10, SE, 1.91e6, "SPEM Table 1", 1_906_258),
    ("resnet164", 10, CBAM, 1.92e6, "SPEM Table 1", 1_911_658),
    ("resnet164", 10, ECA, 1.70e6, "SPEM Table 1", 1_704_388),
    ("resnet164", 10, SRM, 1.74e6, "SPEM Table 1", 1_736_410),
    ("resnet164", 10, SGE, 1.71e6, "SPEM Table 1", 1_711_066),
    ("resnet164", 10, SPEM, 1.74e6, "SPEM Table 1", 1_736_518),
    ("resnet164", 100, SE, 1.93e6, "SPEM Table 1", 1_929_388),
    ("resnet164", 100, CBAM, 1.94e6, "SPEM Table 1", 1_934_788),
    ("resnet164", 100, ECA, 1.72e6, "SPEM Table 1", 1_727_518),
    ("resnet164", 100, SRM, 1.76e6, "SPEM Table 1", 1_759_540),
    ("resnet164", 100, SGE, 1.73e6, "SPEM Table 1", 1_734_196),
    ("resnet164", 100, SPEM, 1.76e6, "SPEM Table 1", 1_759_648),
    # SPEM Table 4: reweighting module (a) unshared, without RM
    ("resnet164", 10, {**SPEM, "spem_reweight": "unshared"}, 1.75e6, "SPEM Table 4 (a)", 1_752_646),
    ("resnet164", 10, {**SPEM, "spem_reweight": "none"}, 1.72e6, "SPEM Table 4, without RM", 1_720_390),
    ("resnet164", 100, {**SPEM, "spem_reweight": "unshared"}, 1.78e6, "SPEM Table 4 (a)", 1_775_776),
    ("resnet164", 100, {**SPEM, "spem_reweight": "none"}, 1.74e6, "SPEM Table 4, without RM", 1_743_520),
    # BA2M Table I / XI: the basic-block pre-activation ResNet-110 (He et al. 2016b), CIFAR-100
    ("preresnet110-basic", 100, {}, 1.73e6, "BA2M Table I", 1_736_372),
    ("preresnet110-basic", 100, BAM, 1.73e6, "BA2M Table XI", 1_736_791),
]


@pytest.mark.parametrize(("arch", "classes", "attention", "paper", "where", "exact"), TABLES,
                         ids=[f"{t[0]}-{t[1]}-{t[4]}-{i}" for i, t in enumerate(TABLES)])
def test_rivals_match_the_papers_tables(arch, classes, attention, paper, where, exact):
    attention = {"pooling": "none", **attention}
    n = n_params(make_config(arch, num_classes=classes, **attention))
    assert n == exact
    assert abs(n - paper) / paper < 0.005, where


def test_bam_sits_between_stages():
    from poolnas.models import attention_sites

    sites = attention_sites(make_config("resnet50-cifar", num_classes=100, **BAM), 32)
    assert [(s["stage"], s["block"], s["module"], s["channels"]) for s in sites] == [
        (1, 2, "layer1.2.bam", 256), (2, 3, "layer2.3.bam", 512), (3, 5, "layer3.5.bam", 1024)]
    cfg = make_config("resnet20", bam={"enabled": True, "stages": [3]})
    assert [s["module"] for s in attention_sites(cfg)] == ["layer3.2.bam"]
    with pytest.raises(ConfigError, match="attention.bam.stages"):
        build_model(make_config("resnet20", bam={"enabled": True, "stages": [4]}))


@pytest.mark.parametrize(("arch", "v15", "v1"), [("resnet50-cifar", 1.298, 1.2225),
                                                 ("resnet101-cifar", 2.510, 2.4347)])
def test_v1_stride_gives_ba2m_table_i_gflops(arch, v15, v1):
    """BA2M Table I: 1.22 / 2.44 GFLOPs: the original ResNet strides the first 1x1 conv."""
    macs = {}
    for stride in ("v1.5", "v1"):
        cfg = make_config(arch, num_classes=100, dataset="cifar100")
        cfg.model.stride = stride
        with torch.device("meta"):
            model = build_model(cfg)
        macs[stride] = count_flops(model, (3, 32, 32)) / 1e9
        assert count_parameters(model) == n_params(make_config(arch, num_classes=100))  # same weights
    assert round(macs["v1.5"], 3) == v15 and round(macs["v1"], 4) == v1
    cfg = make_config(arch)
    cfg.model.stride = "v1"
    first = build_model(cfg).layer2[0]
    assert first.conv1.stride == (2, 2) and first.conv2.stride == (1, 1)


def test_v1_is_refused_where_there_is_no_post_activation_bottleneck():
    cfg = make_config("resnet20")
    cfg.model.stride = "v1"
    with pytest.raises(ConfigError, match="model.stride"):
        build_model(cfg)


def test_preresnet_basic_names():
    from poolnas.config import config_from_dict

    with pytest.raises(ConfigError, match="6n\\+2"):
        config_from_dict({"model": {"arch": "preresnet33-basic"}})
    model = build_model(make_config("preresnet20-basic"))
    assert len(model.layer1) == 3 and model.bn is not None  # pre-activation: the final BN-ReLU


@pytest.mark.parametrize("attention", [
    ECA, SRM, CBAM, GE, SGE, BAM, {"pooling": "gem"}, {"pooling": "std"}, {"pooling": "style"},
    {"pooling": "gem", "excitation": "srm"}, {**SPEM, "spem_reweight": "unshared"},
    {**SPEM, "spem_reweight": "none"}, {"pooling": "srp-ms", "excitation": "eca"},
    {"pooling": "avgmax", "spatial": "cbam", "placement": {"position": "pre"}},
], ids=lambda a: "-".join(f"{k}={v}" for k, v in a.items()))
def test_every_new_module_trains_a_step_and_evaluates_one_image(attention):
    torch.manual_seed(0)
    model = build_model(make_config("resnet20", **attention))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert torch.isfinite(loss) and all(torch.isfinite(g).all() for g in grads)
    opt.step()
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(model(x[:1])).all()
