"""Every architecture runs forward and backward on CPU at tiny batch and input size."""

from __future__ import annotations

import pytest
import torch
from models_helpers import make_config

from poolnas.models import build_model

ARCHS = ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110", "preresnet11", "preresnet164",
         "wrn-10-1", "wrn-16-8", "resnext29-8x64d"]


def _step(model: torch.nn.Module, x: torch.Tensor, classes: int) -> None:
    model.train()
    out = model(x)
    assert out.shape == (x.shape[0], classes)
    out.sum().backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


@pytest.mark.parametrize("arch", ARCHS)
def test_forward_backward_plain(arch) -> None:
    torch.manual_seed(0)
    _step(build_model(make_config(arch, num_classes=7)), torch.randn(2, 3, 8, 8), 7)


@pytest.mark.parametrize("arch", ["resnet20", "preresnet11", "wrn-10-1", "resnext29-8x64d (1/16 width)"])
@pytest.mark.parametrize("position,branch", [("residual", "one"), ("residual", "double"),
                                             ("post-add", "one"), ("pre", "one"), ("between", "one")])
def test_forward_backward_with_attention(arch, position, branch, request) -> None:
    if arch.startswith("resnext"):
        arch = request.getfixturevalue("tiny_resnext")
    torch.manual_seed(0)
    config = make_config(arch, pooling="srp-ms", lam=0.6, M=2, schedule="linear", branch=branch,
                         placement={"position": position},
                         batch_attention={"enabled": True, "reduction": 4})
    _step(build_model(config), torch.randn(2, 3, 8, 8), 10)


def test_resnet50_small_inputs() -> None:
    torch.manual_seed(0)
    model = build_model(make_config("resnet50", num_classes=5, pooling="gap"))
    _step(model, torch.randn(2, 3, 32, 32), 5)
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 32, 32)).shape == (1, 5)
        assert model(torch.randn(1, 3, 8, 8)).shape == (1, 5)


@pytest.mark.parametrize("size", [8, 28])
def test_grayscale_small_inputs(size) -> None:
    # digits (1x8x8) and Fashion-MNIST (1x28x28): odd sizes (7 after two strides) work too.
    torch.manual_seed(0)
    model = build_model(make_config("resnet20", in_channels=1, pooling="gap"))
    _step(model, torch.randn(2, 1, size, size), 10)
