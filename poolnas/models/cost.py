"""Cost of a network: parameters and the ops of a forward pass per image, at inference and
in training.

Two kinds of op are counted:

- **MACs** of matrix products and convolutions (``mm``, ``addmm``, ``bmm``, convolution),
  counted by ``torch.utils.flop_counter.FlopCounterMode`` (2 FLOPs per multiply-accumulate,
  halved here: the papers' "FLOPs", BA2M Table I / VI / VIII and SE's GFLOPs, are MACs).
- **Element-wise ops of the poolings and attention modules** (an add, a comparison, a
  multiply, an exp: one op each, as thop counts pooling), which FlopCounterMode does not
  see: GAP's sum, max's comparisons, mix's two reductions and its weighting, score's channel
  mean and softmax, SRP's region masks and region mean, the gates' sigmoid and rescaling.
  One function per pooling type (:data:`POOL_OPS`) and per attention module class
  (:data:`MODULE_OPS`) gives them from the input shape; a new module registers its own with
  :func:`register_pool_ops` / :func:`register_module_ops`. An attention module or pooling
  without a function is listed in ``uncounted`` (its MACs are still counted).
  The backbone's own element-wise ops (BN, ReLU, residual adds, the classifier's GAP) are
  the same for every pooling and are not counted.

``flops`` is MACs + element-wise ops at inference (eval mode), ``train_flops`` the same for
a forward pass in training mode, where the modules differ:

- SRP pools a random region in training (Algorithm 1): the union of M squares (M·H·W ops to
  draw the mask, 2·H·W to normalise it) and the region mean (one ``bmm``, H·W·C MACs); in
  eval it is GAP (H·W·C adds), so its ``flops`` equal GAP's and its ``train_flops`` do not.
- BA2M runs only in training unless ``batch_attention.in_eval`` (Sec. III-D): its layers
  (Eq. 17's A_C, A_LS, A_GS terms, as BA2M Table VIII reports the cost per R) count in
  ``train_flops``, and in ``flops`` only when it runs in eval.

Only the forward pass is counted (the papers' convention); a training step's backward is
about twice its forward.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from poolnas.attention._base import AttentionModule, Pool
from poolnas.config import TrialConfig
from poolnas.models.factory import build_model, count_parameters
from poolnas.models.placement import default_input_size

__all__ = [
    "MODULE_OPS",
    "POOL_OPS",
    "OpCount",
    "count_flops",
    "count_ops",
    "model_cost",
    "register_module_ops",
    "register_pool_ops",
]

Shape = tuple[int, int, int]  # (C, H, W) of the module's input, one image
# (module, (C, H, W), training) -> element-wise ops for one image
OpsFn = Callable[[nn.Module, Shape, bool], int]

POOL_OPS: dict[str, OpsFn] = {}  # by the pool's ``pool_type``
MODULE_OPS: dict[str, OpsFn] = {}  # by the attention module's class name (its own ops, not its pool's)


def register_pool_ops(*pool_types: str) -> Callable[[OpsFn], OpsFn]:
    """Decorator: ``fn(pool, (C, H, W), training) -> element-wise ops`` for these pool types."""
    def add(fn: OpsFn) -> OpsFn:
        for name in pool_types:
            POOL_OPS[name] = fn
        return fn
    return add


def register_module_ops(*class_names: str) -> Callable[[OpsFn], OpsFn]:
    """Decorator: ``fn(module, (C, H, W), training) -> element-wise ops`` of an attention
    module's own gate (its pool is counted by :data:`POOL_OPS`)."""
    def add(fn: OpsFn) -> OpsFn:
        for name in class_names:
            MODULE_OPS[name] = fn
        return fn
    return add


# --- poolings: x (C, H, W) -> (C,) ------------------------------------------------------


@register_pool_ops("gap")
def _gap_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    return c * h * w + c  # a sum per map, then 1/HW (SRP Eq. 1)


@register_pool_ops("max", "min")
def _extreme_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    return c * h * w  # a comparison per element


@register_pool_ops("avgmax")
def _avgmax_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    return 2 * c * h * w + c  # CBAM's average and max paths


@register_pool_ops("mix")
def _mix_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    learned = 5 if getattr(pool, "mix_alpha", "learn") == "learn" else 0  # p̂ = p² / Σp²
    return 2 * c * h * w + 3 * c + learned  # max and min (SPEM Eq. 2), α·max + (1−α)·min


@register_pool_ops("score")
def _score_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    # SAAM Eq. 5: U = mean over C (H·W·C); Eq. 7: softmax over H·W per path (exp, sum,
    # divide). The 5x5 conv (Eq. 6) and Σ V·X (Eq. 4, a bmm) are MACs, counted by torch.
    c, h, w = shape
    k = int(getattr(pool, "paths", 1))
    return c * h * w + h * w + 3 * k * h * w


@register_pool_ops("srp-ss", "srp-ms")
def _srp_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    full = hasattr(pool, "_side") and pool._side(h) == h and pool._side(w) == w
    if not training or full:  # Algorithm 1, lines 1-3 (eval), or a region that is the whole map
        return _gap_ops(pool, shape, training)
    m = int(getattr(pool, "num_regions", 1))
    per = c if getattr(pool, "region", "shared") == "per-channel" else 1
    # the union of M squares (Eq. 4: M maps of H·W), its size |Ω*| and 1/|Ω*| (Eq. 5);
    # the region mean itself is a bmm of H·W·C MACs: see _train_macs
    return per * (m * h * w + 2 * h * w)


@register_pool_ops("gem")
def _gem_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    return 3 * c * h * w + 2 * c  # clamp, x^p, sum; 1/HW and the p-th root per channel


@register_pool_ops("std")
def _std_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    return 4 * c * h * w + 3 * c  # mean, x − mean, its square, sum; 1/HW, 1/(HW−1), sqrt


@register_pool_ops("style")
def _style_ops(pool: nn.Module, shape: Shape, training: bool) -> int:
    return _std_ops(pool, shape, training) + shape[0]  # mean and std (SRM's style pooling)


# --- attention modules: their own gate, beside the pool ------------------------------------


@register_module_ops("ChannelAttention", "DoubleBranchAttention")
def _gate_ops(module: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    k = int(getattr(getattr(module, "pool", None), "paths", 1))
    return (k - 1) * c + 4 * c + c * h * w  # sum of K logits, sigmoid (4 ops), x · gate


@register_module_ops("SPEMAttention")
def _spem_ops(module: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    # w2·mx + b2, w3·mn + b3, w1·mix + b1 (6C), two sigmoids (8C), their sum and product (2C),
    # then x · gate; "none" re-weighting: w1·mix + b1, one sigmoid
    if getattr(module, "reweight", "shared") == "none":
        return 2 * c + 4 * c + c * h * w
    return 6 * c + 8 * c + 2 * c + c * h * w


@register_module_ops("BatchAttention")
def _ba2m_ops(module: nn.Module, shape: Shape, training: bool) -> int:
    c, h, w = shape
    in_eval = getattr(module, "in_eval", False)
    if not (training or in_eval):
        return 0  # off at inference (BA2M Sec. III-D)
    parts = getattr(module, "parts", ("channel", "local", "global"))
    r = int(getattr(module, "r", 1))
    ops = 0
    if "channel" in parts:
        ops += c * h * w + c + 2 * c  # GAP, BN (scale and shift)
    if "local" in parts:
        ops += 2 * c * h * w + c * h * w + c  # BN over the map, its GAP
    if "global" in parts:
        hw = h * w
        ops += c * h * w + r * hw  # the group mean z (Eq. 8's R groups)
        ops += 3 * hw * hw + hw * hw  # softmax over q of every row p, column means of S
    ops += (len(parts) - 1) * c + c  # max over the parts (Eq. 9), mean over C
    ops += 2 + c * h * w  # the weight (exp, normalise), x · w (Eq. 13)
    return ops


# --- counting ------------------------------------------------------------------------------


class OpCount(NamedTuple):
    """Ops of one image's forward pass."""

    macs: int  # matrix products and convolutions, inference (eval mode)
    train_macs: int  # the same in training mode
    ops: int  # element-wise ops of the poolings and attention modules, inference
    train_ops: int  # the same in training mode
    uncounted: tuple[str, ...]  # attention modules / pool types without an ops function

    @property
    def flops(self) -> int:
        return self.macs + self.ops

    @property
    def train_flops(self) -> int:
        return self.train_macs + self.train_ops


def _dtype_device(model: nn.Module) -> tuple[torch.dtype, torch.device]:
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None and first.is_floating_point() else torch.float32
    return dtype, device


def _macs(model: nn.Module, input_shape: Shape, *, training: bool, batch: int = 1,
          shapes: dict[int, Shape] | None = None) -> int:
    """MACs per image of a forward pass in eval or training mode; ``shapes`` collects the
    input shape of every attention module on the way."""
    dtype, device = _dtype_device(model)
    hooks = []
    if shapes is not None:
        def grab(module: nn.Module, args: tuple[object, ...]) -> None:
            if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 4:
                shape = tuple(int(s) for s in args[0].shape[1:])
                shapes.setdefault(id(module), shape)  # type: ignore[arg-type]

        hooks = [m.register_forward_pre_hook(grab) for m in model.modules() if isinstance(m, AttentionModule)]
    was_training = model.training
    model.train(training)
    try:
        x = torch.zeros((batch, *input_shape), device=device, dtype=dtype)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    return int(counter.get_total_flops()) // 2 // batch


def count_flops(model: nn.Module, input_shape: tuple[int, int, int]) -> int:
    """Forward multiply-accumulates for one image of ``input_shape`` = (C, H, W), in eval mode
    (convolutions and matrix products only; :func:`count_ops` adds the element-wise ops).

    Works on the meta device (no memory, no arithmetic). The model's train/eval mode is
    restored afterwards.
    """
    return _macs(model, input_shape, training=False)


def _module_ops(model: nn.Module, shapes: dict[int, Shape], training: bool) -> tuple[int, set[str]]:
    total, missing = 0, set()
    for module in model.modules():
        if not isinstance(module, AttentionModule) or id(module) not in shapes:
            continue
        shape = shapes[id(module)]
        fn = MODULE_OPS.get(type(module).__name__)
        if fn is None:
            missing.add(type(module).__name__)
        else:
            total += fn(module, shape, training)
        # its pools: a double branch pools the residual and the identity (SRP-D)
        twice = 2 if type(module).__name__ == "DoubleBranchAttention" else 1
        for child in module.children():
            if isinstance(child, Pool):
                pfn = POOL_OPS.get(child.pool_type)
                if pfn is None:
                    missing.add(f"pool {child.pool_type}")
                else:
                    total += twice * pfn(child, shape, training)
    return total, missing


def count_ops(model: nn.Module, input_shape: Shape) -> OpCount:
    """MACs and element-wise ops of one image's forward pass at inference and in training.

    Training is counted on a batch of two (BA2M leaves a lone sample unchanged), per image.
    Works on the meta device; the model's train/eval mode is restored afterwards.
    """
    shapes: dict[int, Shape] = {}
    macs = _macs(model, input_shape, training=False, shapes=shapes)
    train_shapes: dict[int, Shape] = {}
    train_macs = _macs(model, input_shape, training=True, batch=2, shapes=train_shapes)
    ops, missing = _module_ops(model, shapes, training=False)
    # BA2M is identity in eval: its input shape is seen in training only
    train_ops, missing_t = _module_ops(model, {**train_shapes, **shapes}, training=True)
    return OpCount(macs, train_macs, ops, train_ops, tuple(sorted(missing | missing_t)))


def model_cost(config: TrialConfig) -> dict[str, int]:
    """``params``, ``flops`` (MACs + the poolings' and attention's element-wise ops per image,
    forward, at inference), ``train_flops`` (the same in training mode), ``macs`` (MACs alone,
    inference) of ``config``'s network at the dataset's input size (digits 8, Fashion-MNIST
    28, CIFAR 32). Built on the meta device: cheap, and no pretrained weights are read."""
    with torch.device("meta"):
        model = build_model(config, load_weights=False)
    size = default_input_size(config)
    count = count_ops(model, (config.model.in_channels, size, size))
    return {
        "params": count_parameters(model),
        "flops": count.flops,
        "train_flops": count.train_flops,
        "macs": count.macs,
    }
