"""Cost of a network: parameters and forward multiply-accumulates (MACs) per image.

``count_flops`` counts with ``torch.utils.flop_counter.FlopCounterMode``, which counts the
FLOPs of matrix products and convolutions (``mm``, ``addmm``, ``bmm``, convolution, ...)
as 2 per multiply-accumulate and nothing for element-wise ops, pooling, BN or softmax.
We divide by 2: the papers' "FLOPs" (BA2M Table I / VI, SE's GFLOPs) are MACs.

The count is taken in eval mode on one image, i.e. the cost at inference:
- SRP pools are GAP in eval (Algorithm 1), and GAP is a mean (not counted), so SRP adds
  no MACs, as the SRP paper says. In training SRP's region pooling is one ``bmm`` of the
  map with 0/1 weights (H·W·C multiply-adds per sample and pool, the same as a GAP
  written as a matrix product); it is not counted.
- BA2M counts as it runs at inference: nothing when it is off in eval (the default,
  BA2M Sec. III-D), its whole forward with ``batch_attention.in_eval``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from poolnas.config import TrialConfig
from poolnas.models.factory import build_model, count_parameters
from poolnas.models.placement import default_input_size

__all__ = ["count_flops", "model_cost"]


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Forward multiply-accumulates for one image of ``input_shape`` = (C, H, W), in eval mode.

    Works on the meta device (no memory, no arithmetic). The model's train/eval mode is
    restored afterwards.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    was_training = model.training
    model.eval()
    try:
        x = torch.zeros((1, *input_shape), device=device, dtype=dtype)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops()) // 2


def model_cost(config: TrialConfig) -> dict[str, Any]:
    """``{"params": int, "flops": int}`` of ``config``'s network (MACs per image, forward,
    at the dataset's input size: digits 8, Fashion-MNIST 28, CIFAR 32). Built on the meta
    device: cheap, and no pretrained weights are read."""
    with torch.device("meta"):
        model = build_model(config, load_weights=False)
    size = default_input_size(config)
    return {
        "params": count_parameters(model),
        "flops": count_flops(model, (config.model.in_channels, size, size)),
    }
