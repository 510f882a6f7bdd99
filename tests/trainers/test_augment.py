from __future__ import annotations

import pytest
import torch

from poolnas.trainers.augment import augment_batch, random_crop, random_flip


def _ramp(n=64, c=2, h=6, w=7):
    return torch.arange(n * c * h * w, dtype=torch.float32).view(n, c, h, w)


def test_crop_is_a_shift_of_the_padded_image():
    x = _ramp()
    g = torch.Generator().manual_seed(0)
    out = random_crop(x, 2, torch.tensor([-1.0, -2.0]), g)
    assert out.shape == x.shape
    shifts_seen = set()
    for i in range(len(x)):
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2), value=0.0)
        padded[0][padded[0] == 0] = -1.0
        padded[1][padded[1] == 0] = -2.0
        padded[0, 2:8, 2:9] = x[i, 0]
        padded[1, 2:8, 2:9] = x[i, 1]
        found = [(dy, dx) for dy in range(5) for dx in range(5)
                 if torch.equal(padded[:, dy:dy + 6, dx:dx + 7], out[i])]
        assert found, f"image {i} is not a crop of its padded self"
        shifts_seen.add(found[0])
    assert len(shifts_seen) > 10  # random shifts, not one for the whole batch


def test_pad_zero_is_identity_and_flip_rate():
    x = _ramp(n=2000, c=1, h=2, w=3)
    assert random_crop(x, 0, None, None) is x
    out = random_flip(x, torch.Generator().manual_seed(1))
    flipped = (out != x).any(dim=(1, 2, 3)).float().mean().item()
    assert abs(flipped - 0.5) < 0.04
    assert torch.equal(out[(out != x).any(dim=(1, 2, 3))], x[(out != x).any(dim=(1, 2, 3))].flip(3))


def test_augment_is_seeded():
    x = _ramp()
    a = augment_batch(x, pad=2, flip=True, generator=torch.Generator().manual_seed(3))
    b = augment_batch(x, pad=2, flip=True, generator=torch.Generator().manual_seed(3))
    c = augment_batch(x, pad=2, flip=True, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")
def test_augment_runs_on_cuda():
    x = _ramp().cuda()
    g = torch.Generator(device="cuda").manual_seed(0)
    out = augment_batch(x, pad=2, flip=True, fill=torch.zeros(2, device="cuda"), generator=g)
    assert out.device.type == "cuda" and out.shape == x.shape
