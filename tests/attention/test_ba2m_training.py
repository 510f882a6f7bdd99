"""BA2M's test-time claims on a real training run (BA2M Sec. III-D): the paper reports the
same error for test batches 1 ... 256 with the module on, and turns it off at inference.

ResNet-20 with BA2M after stages 1 and 2 (or before the classifier), trained on digits for a few epochs
(seconds on
one CPU thread). Under the default formulation (weights of mean 1, bounded, a running
normaliser in eval) eval accuracy with the module off is within 1 point of eval with it
on at batch 64, and the predictions are the same at test batch 1, 8 and 64. Under the
literal Eq. 11 (weights summing to 1), the module-off network was trained on features N
times smaller: it loses more than 30 points with the module off (measured on the training
digits: 0.986 on, 0.200 off).
"""

from __future__ import annotations

import math

import pytest
import torch

from poolnas.config import TrainerConfig, TrialConfig
from poolnas.models import build_model
from poolnas.trainers import load_dataset

pytestmark = pytest.mark.integration


def _train(formulation: str, stages: list[int], epochs: int = 6) -> tuple[torch.nn.Module, object]:
    torch.manual_seed(2)
    data = load_dataset(TrainerConfig(dataset="digits", val_fraction=0.0), in_channels=1, num_classes=10)
    config = TrialConfig(
        model={"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        attention={"pooling": "none", "batch_attention": {
            "enabled": True, "reduction": 4, "stages": stages, "formulation": formulation}},
        trainer={"dataset": "digits"},
    )
    model = build_model(config)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    x, y = data.train_x, data.train_y
    steps, step = epochs * math.ceil(len(y) / 64), 0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(y))
        for i in range(0, len(y) - 1, 64):
            idx = perm[i : i + 64]
            for group in opt.param_groups:  # cosine to 0
                group["lr"] = 0.025 * (1 + math.cos(math.pi * step / steps))
            step += 1
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return model, data


def _predict(model: torch.nn.Module, x: torch.Tensor, batch: int, module_on: bool) -> torch.Tensor:
    model.eval()
    for m in model.modules():
        if hasattr(m, "in_eval"):
            m.in_eval = module_on
    with torch.no_grad():
        return torch.cat([model(x[i : i + batch]).argmax(1) for i in range(0, len(x), batch)])


@pytest.mark.parametrize("stages", [[1, 2], [3]])  # [3]: BA2M right before the classifier
def test_default_ba2m_gives_the_same_eval_with_the_module_off_and_at_every_test_batch(stages):
    model, data = _train("mean", stages)
    x, y = data.train_x, data.train_y
    on = (_predict(model, x, 64, True) == y).float().mean().item()
    off = (_predict(model, x, 64, False) == y).float().mean().item()
    assert on > 0.9  # it trained
    assert abs(on - off) <= 0.01
    by_batch = [_predict(model, data.test_x, b, True) for b in (1, 8, 64)]
    assert torch.equal(by_batch[0], by_batch[1]) and torch.equal(by_batch[1], by_batch[2])


def test_literal_softmax_trains_a_network_that_needs_the_module_at_test_time():
    """formulation: softmax (Eq. 11, weights summing to 1): every layer after the module
    learns on features about N times smaller, so turning it off at inference (the paper's
    Sec. III-D) costs accuracy, and with it on the predictions depend on the test batch."""
    model, data = _train("softmax", [1, 2])
    x, y = data.train_x, data.train_y
    on = (_predict(model, x, 64, True) == y).float().mean().item()
    off = (_predict(model, x, 64, False) == y).float().mean().item()
    assert on > 0.9  # it trained, and works with the module on at the training batch size
    assert off < on - 0.3  # off: the network it trained is not the one evaluated
