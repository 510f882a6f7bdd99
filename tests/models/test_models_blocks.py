"""Pre-activation blocks: state-dict keys in construction order, and a seeded block's
weights are PyTorch's default init drawn conv1, conv2, (conv3), shortcut in that order
(what checkpoints and seeded runs of WRN / PreResNet rely on)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from poolnas.models.blocks import PreActBasicBlock, PreActBottleneck

BN = ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


def _bn(name: str) -> list[str]:
    return [f"{name}.{k}" for k in BN]


CASES = [
    (PreActBasicBlock, (16, 32, 2),
     _bn("bn1") + ["conv1.weight"] + _bn("bn2") + ["conv2.weight", "shortcut.weight"],
     [(16, 32, 3, 2, 1), (32, 32, 3, 1, 1), (16, 32, 1, 2, 0)]),
    (PreActBasicBlock, (16, 16, 1), _bn("bn1") + ["conv1.weight"] + _bn("bn2") + ["conv2.weight"],
     [(16, 16, 3, 1, 1), (16, 16, 3, 1, 1)]),
    (PreActBottleneck, (16, 64, 2, 16),
     _bn("bn1") + ["conv1.weight"] + _bn("bn2") + ["conv2.weight"] + _bn("bn3")
     + ["conv3.weight", "shortcut.weight"],
     [(16, 16, 1, 1, 0), (16, 16, 3, 2, 1), (16, 64, 1, 1, 0), (16, 64, 1, 2, 0)]),
]


@pytest.mark.parametrize(("cls", "args", "keys", "convs"), CASES)
def test_keys_and_seeded_init_of_preact_blocks(cls, args, keys, convs) -> None:
    torch.manual_seed(0)
    block = cls(*args)
    assert list(block.state_dict()) == keys
    torch.manual_seed(0)
    reference = [nn.Conv2d(i, o, k, stride=s, padding=p, bias=False) for i, o, k, s, p in convs]
    weights = [v for v in block.state_dict().values() if v.ndim == 4]  # the convs, in key order
    assert len(weights) == len(reference)
    assert all(torch.equal(w, r.weight) for w, r in zip(weights, reference, strict=True))


def test_bottleneck_branch_runs_conv3_and_shortcut_sees_the_preactivation() -> None:
    torch.manual_seed(0)
    block = PreActBottleneck(8, 32, 2, 8).eval()
    x = torch.randn(2, 8, 8, 8)
    a = block.relu(block.bn1(x))
    r = block.conv2(block.relu(block.bn2(block.conv1(a))))
    expected = block.conv3(block.relu(block.bn3(r))) + block.shortcut(a)
    assert torch.allclose(block(x), expected)
