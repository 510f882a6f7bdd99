"""Placement: modules exactly where the config says, hooks firing at the right tensors, λ schedule."""

from __future__ import annotations

import pytest
import torch
from models_helpers import make_config

from poolnas.models import attention_sites, build_model, plan_sites
from poolnas.models.pretrained import attention_module_names


def _blocks(model):
    return [(s, b, block) for s, layer in enumerate(model.layers(), start=1) for b, block in enumerate(layer)]


@pytest.mark.parametrize("position", ["residual", "post-add", "pre", "between", "identity"])
@pytest.mark.parametrize("stages", [None, [1], [2, 3], [1, 3]])
def test_modules_only_where_configured(position, stages) -> None:
    config = make_config("resnet20", pooling="gap", placement={"stages": stages, "position": position})
    model = build_model(config)
    wanted = stages or [1, 2, 3]
    for s, b, block in _blocks(model):
        if s in wanted:
            assert block.attn is not None and block.attn_position == position, (s, b)
        else:
            assert block.attn is None, (s, b)
        assert block.batch_attn is None
    names = attention_module_names(model)
    assert names == [f"layer{s}.{b}.attn" for s in wanted for b in range(3)]
    assert [site.module for site in plan_sites(config)] == names


def test_ba2m_once_after_each_of_its_stages() -> None:
    config = make_config("resnet50", pooling="gap", placement={"stages": [4]},
                         batch_attention={"enabled": True, "stages": [2, 3], "reduction": 16})
    with torch.device("meta"):
        model = build_model(config)
    where = [(s, b) for s, b, block in _blocks(model) if block.batch_attn is not None]
    assert where == [(2, 3), (3, 5)]  # the last block of stages 2 and 3
    attn = {s: sum(block.attn is not None for block in layer)
            for s, layer in enumerate(model.layers(), start=1)}
    assert attn == {1: 0, 2: 0, 3: 0, 4: 3}


def test_ba2m_follows_the_between_attention_of_the_last_block() -> None:
    config = make_config("resnet20", pooling="gap", placement={"position": "between"},
                         batch_attention={"enabled": True, "reduction": 4})
    _, seen, order = _run(config)
    i = order.index("layer1.2.attn")
    assert order[i + 1] == "layer1.2.batch_attn"
    assert torch.equal(seen["layer1.2.batch_attn"][0][0], seen["layer1.2.attn"][1])
    assert torch.equal(seen["layer1.2"][1], seen["layer1.2.batch_attn"][1])


def test_no_modules_when_attention_is_off() -> None:
    for pooling, excitation in (("none", "se"), ("gap", "none")):
        model = build_model(make_config("resnet20", pooling=pooling, excitation=excitation))
        assert attention_module_names(model) == []
        assert plan_sites(make_config("resnet20", pooling=pooling, excitation=excitation)) == []


def _record(model):
    """Forward hooks on every attention module and block: (name, inputs, output) in call order."""
    calls = []

    def hook(name):
        def fn(module, args, out):
            calls.append((name, tuple(a.detach().clone() for a in args), out.detach().clone()))
        return fn

    for name, module in model.named_modules():
        if name.endswith((".attn", ".batch_attn", ".bn2", ".bn3", ".shortcut", ".downsample", ".conv3",
                          ".conv2")) or name.count(".") == 1 and name.startswith("layer"):
            module.register_forward_hook(hook(name))
    return calls


def _run(config, size=16, batch=2):
    torch.manual_seed(0)
    model = build_model(config)
    model.train()
    calls = _record(model)
    model(torch.randn(batch, config.model.in_channels, size, size))
    return model, {name: (args, out) for name, args, out in calls}, [name for name, _, _ in calls]


def test_hooks_fire_in_forward_order_with_planned_shapes() -> None:
    config = make_config("resnet20", pooling="gap", placement={"stages": [2, 3], "position": "pre"},
                         batch_attention={"enabled": True, "stages": [1, 3], "reduction": 4})
    model, seen, order = _run(config, size=16)
    fired = [n for n in order if n.endswith((".attn", ".batch_attn"))]
    sites = attention_sites(config, input_size=16)
    assert fired == [site["module"] for site in sites]
    for site in sites:
        x = seen[site["module"]][0][0]
        assert x.shape[1:] == (site["channels"], *site["spatial"]), site


def test_residual_position_gets_the_last_bn_output_before_the_add() -> None:
    _, seen, _ = _run(make_config("resnet20", pooling="gap", placement={"position": "residual"}))
    for b in range(3):
        args, _ = seen[f"layer2.{b}.attn"]
        assert len(args) == 1
        assert torch.equal(args[0], seen[f"layer2.{b}.bn2"][1])


def test_resnet164_gate_is_on_the_bn3_output_and_relu_follows_the_add() -> None:
    """SPEM's ResNet-164: the gate on bn3's output, the residual add, then ReLU."""
    _, seen, _ = _run(make_config("resnet164", pooling="mix", excitation="spem"), size=8)
    args, out = seen["layer1.1.attn"]
    assert torch.equal(args[0], seen["layer1.1.bn3"][1])
    assert torch.allclose(seen["layer1.1"][1], torch.relu(out + seen["layer1.0"][1]), atol=1e-6)


def test_double_branch_gets_the_identity_after_the_shortcut() -> None:
    _, seen, _ = _run(make_config("resnet20", pooling="gap", branch="double"))
    args, _ = seen["layer2.0.attn"]
    assert len(args) == 2
    assert torch.equal(args[0], seen["layer2.0.bn2"][1])
    assert torch.equal(args[1], seen["layer2.0.shortcut"][1])  # strided, zero-padded
    assert args[1].shape == args[0].shape
    _, seen, _ = _run(make_config("resnet50", pooling="gap", branch="double"), size=32)
    args, _ = seen["layer3.0.attn"]
    assert torch.equal(args[1], seen["layer3.0.downsample"][1])  # 1x1 projection + BN
    _, seen, _ = _run(make_config("preresnet11", pooling="gap", branch="double"))
    args, _ = seen["layer1.0.attn"]
    assert torch.equal(args[0], seen["layer1.0.conv3"][1])
    assert torch.equal(args[1], seen["layer1.0.shortcut"][1])


def test_post_add_is_before_the_output_relu() -> None:
    _, seen, _ = _run(make_config("resnet20", pooling="gap", placement={"position": "post-add"}))
    for b in range(3):
        args, out = seen[f"layer1.{b}.attn"]
        assert (args[0] < 0).any()  # the sum, not yet rectified
        assert torch.equal(torch.relu(out), seen[f"layer1.{b}"][1])


def test_pre_is_on_the_block_input_only() -> None:
    model, seen, _ = _run(make_config("resnet20", pooling="gap", placement={"position": "pre"}))
    blocks = [f"layer{s}.{b}" for s in (1, 2, 3) for b in range(3)]
    for prev, name in zip(blocks[:-1], blocks[1:], strict=True):
        args, _ = seen[f"{name}.attn"]
        assert torch.equal(args[0], seen[prev][1])  # the block's input, untouched
    # the shortcut sees the input, not the gated tensor: replacing the module changes only the residual
    args, out = seen["layer2.0.attn"]
    assert not torch.equal(out, args[0])
    assert torch.equal(seen["layer2.0.shortcut"][0][0], args[0])


def test_between_is_on_the_block_output() -> None:
    _, seen, _ = _run(make_config("resnet20", pooling="gap", placement={"position": "between"}))
    for b in range(3):
        args, out = seen[f"layer3.{b}.attn"]
        assert (args[0] >= 0).all()  # after the output ReLU
        assert torch.equal(out, seen[f"layer3.{b}"][1])


@pytest.mark.parametrize("arch", ["resnet20", "resnet50", "preresnet11"])
def test_identity_is_on_the_shortcut_output_in_parallel_with_the_residual(arch) -> None:
    """SE-Identity (SE paper, Fig. 5(e)): out = F(x) + SE(shortcut(x))."""
    model, seen, _ = _run(make_config(arch, pooling="gap", placement={"position": "identity"}), size=32)
    shortcut = {"resnet20": "shortcut", "resnet50": "downsample", "preresnet11": "shortcut"}[arch]
    args, out = seen["layer2.0.attn"]
    assert torch.equal(args[0], seen[f"layer2.0.{shortcut}"][1])  # the identity after the shortcut
    assert not torch.equal(out, args[0])
    last = {"resnet20": "bn2", "resnet50": "bn3", "preresnet11": "conv3"}[arch]
    block = model.get_submodule("layer2.0")
    total = seen[f"layer2.0.{last}"][1] + out
    expected = total if arch == "preresnet11" else torch.relu(total)
    assert torch.allclose(seen["layer2.0"][1], expected, atol=1e-6)
    assert block.attn_position == "identity"


def test_ba2m_inside_is_on_the_last_blocks_residual_before_the_add() -> None:
    """BA2M Fig. 4(c) / Table VII "inside": on the residual branch of the stage's last block."""
    config = make_config("resnet20", pooling="gap", batch_attention={
        "enabled": True, "reduction": 4, "stages": [2], "position": "inside"})
    model, seen, order = _run(config, batch=4)
    assert [s.position for s in plan_sites(config) if s.kind == "batch"] == ["inside"]
    args, out = seen["layer2.2.batch_attn"]
    assert torch.equal(args[0], seen["layer2.2.attn"][1])  # after the residual SE
    identity = seen["layer2.1"][1]
    assert torch.allclose(seen["layer2.2"][1], torch.relu(out + identity), atol=1e-6)
    assert model.get_submodule("layer2.2").batch_attn_position == "inside"


@pytest.mark.parametrize("schedule", ["fixed", "linear"])
@pytest.mark.parametrize("stages", [None, [2, 3]])
def test_lambda_follows_the_depth_schedule(schedule, stages) -> None:
    lam = 0.4
    config = make_config("resnet20", pooling="srp-ss", lam=lam, schedule=schedule,
                         placement={"stages": stages, "position": "residual"},
                         batch_attention={"enabled": True, "reduction": 4})
    model = build_model(config)
    modules = [model.get_submodule(name) for name in attention_module_names(model) if name.endswith(".attn")]
    n = len(modules)
    assert n == 3 * len(stages or [1, 2, 3])
    expected = [1.0 + (lam - 1.0) * i / (n - 1) if schedule == "linear" else lam for i in range(n)]
    assert [m.lam for m in modules] == pytest.approx(expected)
    assert [row["lam"] for row in attention_sites(config)
            if row["kind"] == "attention"] == pytest.approx(expected)
    if schedule == "linear":
        assert modules[0].lam == pytest.approx(1.0) and modules[-1].lam == pytest.approx(lam)


def test_gap_sites_have_no_lambda() -> None:
    model = build_model(make_config("resnet20", pooling="gap", schedule="linear"))
    assert all(model.get_submodule(n).lam is None for n in attention_module_names(model))


def test_sites_table_spatial_sizes() -> None:
    rows = attention_sites(make_config("resnet50", pooling="gap"), input_size=224)
    assert {(r["stage"], r["channels"], r["spatial"]) for r in rows} == {
        (1, 256, (56, 56)), (2, 512, (28, 28)), (3, 1024, (14, 14)), (4, 2048, (7, 7))}
    rows = attention_sites(make_config("resnet20", pooling="gap", dataset="fashion-mnist"))
    assert [r["spatial"] for r in rows[::3]] == [(28, 28), (14, 14), (7, 7)]
    rows = attention_sites(make_config("resnet20", pooling="gap", dataset="digits",
                                       placement={"position": "pre"}))
    assert [(r["channels"], r["spatial"]) for r in rows[::3]] == [(16, (8, 8)), (16, (8, 8)), (32, (4, 4))]


@pytest.mark.parametrize("arch,stages,ba_stages", [
    ("resnet20", [2], [3]), ("preresnet11", [1, 3], None), ("wrn-10-1", None, [1]),
    ("resnext29-8x64d (1/16 width)", [3], [1, 2]), ("resnet50", [1, 4], [2])])
@pytest.mark.parametrize("position", ["residual", "between"])
def test_attention_modules_nowhere_else(arch, stages, ba_stages, position, request) -> None:
    from poolnas.attention import attention_parameters

    if arch.startswith("resnext"):
        arch = request.getfixturevalue("tiny_resnext")
    config = make_config(arch, pooling="srp-ms", placement={"stages": stages, "position": position},
                         batch_attention={"enabled": True, "stages": ba_stages, "reduction": 8})
    with torch.device("meta"):
        model = build_model(config)
    planned = [site.module for site in plan_sites(config)]
    assert attention_module_names(model) == planned
    n_stages = len(model.layers())
    for kind, wanted in (("attention", stages), ("batch", ba_stages)):
        per_stage = {s: sum(1 for site in plan_sites(config) if site.kind == kind and site.stage == s)
                     for s in range(1, n_stages + 1)}
        sizes = [len(layer) if kind == "attention" else 1 for layer in model.layers()]
        assert per_stage == {s: sizes[s - 1] if s in (wanted or range(1, n_stages + 1)) else 0
                             for s in range(1, n_stages + 1)}
    # every attention parameter of the model sits in a planned module, and vice versa
    in_sites = {id(p) for name in planned for p in model.get_submodule(name).parameters()}
    assert {id(p) for p in attention_parameters(model)} == in_sites
