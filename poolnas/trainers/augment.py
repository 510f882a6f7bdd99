"""Batched augmentation on tensors: random pad-and-crop shifts and horizontal flips.

The whole batch is augmented with a few tensor ops (no per-image Python, no PIL), on
whatever device holds the data — on CUDA the batch never leaves the GPU (airbench's
way). Randomness comes from an explicit ``torch.Generator`` on the data's device, so a
seeded run is reproducible.
"""

from __future__ import annotations

import torch

__all__ = ["augment_batch", "random_crop", "random_flip"]


def random_crop(x: torch.Tensor, pad: int, fill: torch.Tensor | None,
                generator: torch.Generator | None) -> torch.Tensor:
    """Shift every image by its own random (dy, dx) in [-pad, pad], filling with ``fill``.

    Equivalent to padding by ``pad`` and cropping back to (H, W) at a random corner.

    Args:
        x: (N, C, H, W) images.
        pad: the largest shift in pixels; 0 returns ``x``.
        fill: (C,) value of the padding (a black pixel after normalisation), or None for 0.
        generator: random source on ``x.device``.
    """
    if pad <= 0:
        return x
    n, c, h, w = x.shape
    padded = x.new_empty(n, c, h + 2 * pad, w + 2 * pad)
    if fill is None:
        padded.zero_()
    else:
        padded.copy_(fill.to(x.dtype).view(1, c, 1, 1).expand_as(padded))
    padded[:, :, pad:pad + h, pad:pad + w] = x
    shifts = torch.randint(0, 2 * pad + 1, (2, n), device=x.device, generator=generator)
    rows = (shifts[0, :, None] + torch.arange(h, device=x.device))  # (N, H)
    cols = (shifts[1, :, None] + torch.arange(w, device=x.device))  # (N, W)
    # Gather rows then columns: two index_select-like gathers, vectorised over the batch.
    out = padded.gather(2, rows[:, None, :, None].expand(n, c, h, w + 2 * pad))
    return out.gather(3, cols[:, None, None, :].expand(n, c, h, w))


def random_flip(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Flip each image left-right with probability 1/2."""
    mask = torch.rand(x.shape[0], device=x.device, generator=generator) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def augment_batch(x: torch.Tensor, *, pad: int, flip: bool, fill: torch.Tensor | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop (shift up to ``pad``) then, if ``flip``, random horizontal flip."""
    x = random_crop(x, pad, fill, generator)
    return random_flip(x, generator) if flip else x
