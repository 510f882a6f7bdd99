"""Column means of a softmax affinity without keeping the ``HW x HW`` matrix (BA2M, Eq. 8).

BA2M's global spatial attention (Eq. 8) is ``A_GS = softmax(f gᵀ) h`` on an ``HW x HW``
affinity ``S[p, q] = exp(f_p·g_q) / Z_p``, ``Z_p = Σ_q exp(f_p·g_q)``; only its GAP is used,
and GAP over p of ``Σ_q S[p, q] h_q`` is ``h`` times the column means of S,
``m_q = (1/P) Σ_p S[p, q]``. Autograd on ``bmm -> softmax -> mean`` keeps the whole
``N x HW x HW`` softmax for the backward pass and runs six or more passes over it (512 MB
at 32x32 for 128 images: a ResNet-20 step with BA2M cost ~4x the plain step, most of it in
softmax's backward and mean's broadcast). :func:`softmax_column_mean` computes the same
``m`` a few images at a time, with the divisions by ``Z_p`` folded into vectors:

- forward: ``E = exp(L - shift)`` for the block (a row shift cancels in S), ``Z = E·1``, ``m = Eᵀ (1/Z) / P``;
- backward (E recomputed per block, nothing of size ``HW x HW`` saved): with ``u = ∂ℓ/∂m``
  and ``c_p = Σ_q S[p, q] u_q``, ``∂ℓ/∂L[p, q] = S[p, q] (u_q - c_p) / P``, so
  ``∂ℓ/∂f_p = (E (u ⊙ g) - c_p E g)_p / (P Z_p)`` and
  ``∂ℓ/∂g_q = (u_q (Eᵀ (f/Z))_q - (Eᵀ (c f / Z))_q) / P``: two matrix products with E
  (the right-hand sides stacked) instead of softmax's and mean's backward passes.

Same numbers as the autograd formulation to float rounding (tests/attention/test_ba2m.py
compares outputs and gradients), at a fraction of the time and memory
(docs/benchmarks.md, "BA2M step").
"""

from __future__ import annotations

import torch

__all__ = ["softmax_column_mean"]

BLOCK_ELEMENTS = 1 << 20  # affinity entries per block (4 MB in float32: stays in cache)
LOG2E = 1.4426950408889634  # exp(x) = 2^(x log2 e); exp2 measured 1.7x faster than exp here


def _exp_block(f2: torch.Tensor, g: torch.Tensor, buf: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``E = 2^(f2ᵀg - max_q f2ᵀg)`` for a block, ``(nb, P, Q)``, written into ``buf`` (one
    workspace for every block: a fresh 4 MB tensor per block costs page faults that
    measured longer than the exp), and its row sums ``Z``. ``f2 = f log2 e``."""
    e = torch.bmm(f2.transpose(1, 2), g, out=buf[:f2.shape[0]])
    if f2.shape[1] == 1:  # r = 1: the row max of the outer product a_p b_q, without a pass
        a = f2.squeeze(1)
        row_max = torch.maximum(a * g.amax(dim=2), a * g.amin(dim=2))  # (nb, P)
        e -= row_max.unsqueeze(2)
    else:
        e -= e.amax(dim=2, keepdim=True)
    e.exp2_()
    return e, e.sum(dim=2)


def _rows(e: torch.Tensor, rhs: torch.Tensor) -> torch.Tensor:
    """``e @ rhs``, ``(nb, P, Q) @ (nb, Q, k)``; a few columns go one by one (matrix-vector
    products: a thin GEMM measured 5x slower than k of them here)."""
    if rhs.shape[2] > 4:
        return torch.bmm(e, rhs)
    return torch.cat([torch.bmm(e, rhs[:, :, j:j + 1]) for j in range(rhs.shape[2])], dim=2)


def _blocks(n: int, p: int, q: int) -> list[slice]:
    step = max(1, BLOCK_ELEMENTS // max(1, p * q))
    return [slice(i, min(n, i + step)) for i in range(0, n, step)]


class _SoftmaxColumnMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n, _, p = f.shape
        q = g.shape[2]
        f2 = f * LOG2E
        out = f.new_empty(n, q)
        blocks = _blocks(n, p, q)
        buf = f.new_empty(blocks[0].stop - blocks[0].start, p, q)
        for b in blocks:
            e, z = _exp_block(f2[b], g[b], buf)
            inv_z = z.reciprocal()
            # Σ_p E[p, q] / Z_p, image by image: matrix-vector products, which
            # poolnas.models.cost does not count as MACs, as it did not count softmax's mean
            for i, e_i in enumerate(e):
                out[b.start + i] = torch.mv(e_i.t(), inv_z[i])
        out /= p
        ctx.save_for_backward(f, g)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # type: ignore[override]
        f, g = ctx.saved_tensors
        n, r, p = f.shape
        q = g.shape[2]
        grad = grad.to(f.dtype)
        f2 = f * LOG2E
        grad_f = torch.empty_like(f)
        grad_g = torch.empty_like(g)
        blocks = _blocks(n, p, q)
        buf = f.new_empty(blocks[0].stop - blocks[0].start, p, q)
        for b in blocks:
            fb, gb, u = f[b], g[b], grad[b]  # (nb, r, P), (nb, r, Q), (nb, Q)
            e, z = _exp_block(f2[b], gb, buf)  # recomputed: cheaper than keeping N·P·Q floats
            inv_z = z.reciprocal()  # (nb, P)
            # E @ [u, u ⊙ g, g]: (nb, Q, 1 + 2r) -> (nb, P, 1 + 2r)
            rhs = torch.cat([u.unsqueeze(1), gb * u.unsqueeze(1), gb], dim=1).transpose(1, 2)
            eu, eug, eg = _rows(e, rhs).split([1, r, r], dim=2)
            c = eu.squeeze(2) * inv_z  # c_p = Σ_q S[p, q] u_q
            grad_f[b] = ((eug - c.unsqueeze(2) * eg) * inv_z.unsqueeze(2)).transpose(1, 2)
            # [f/Z, c f/Z] @ E: (nb, 2r, P) -> (nb, 2r, Q)
            fz = fb * inv_z.unsqueeze(1)  # (nb, r, P)
            ef, ecf = torch.bmm(torch.cat([fz, fz * c.unsqueeze(1)], dim=1), e).split([r, r], dim=1)
            grad_g[b] = u.unsqueeze(1) * ef - ecf
        return grad_f / p, grad_g / p


def softmax_column_mean(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``softmax(fᵀ g, dim=-1).mean(dim=1)`` for ``f (N, r, P)``, ``g (N, r, Q)``: ``(N, Q)``.

    Computed in float32 (or float64 for float64 inputs) block by block; the ``P x Q``
    affinity of more than a block of images never exists at once, in forward or backward.
    """
    dtype = torch.float64 if f.dtype == torch.float64 else torch.float32
    f, g = f.to(dtype).contiguous(), g.to(dtype).contiguous()
    if f.device.type in ("cpu", "cuda") and torch.is_autocast_enabled(f.device.type):
        with torch.autocast(device_type=f.device.type, enabled=False):
            return _SoftmaxColumnMean.apply(f, g)
    return _SoftmaxColumnMean.apply(f, g)
