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

With one channel per head (r = 1) the logits are an outer product and E has a certified
low-rank form (Chebyshev interpolation in f, below: ``_LowRankColumnMean``), used when the
range of the products makes it cheap: (n + 1)(P + Q) numbers per image instead of P Q, the
column means within 1e-7 of the exact ones relative to their max
(tests/attention/test_ba2m_lowrank.py).
"""

from __future__ import annotations

import functools
import math

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


# ---- head width 1: a certified low-rank form of the affinity (no P x Q entries) ------------
#
# With one channel per head (r = C/R = 1: ResNet-20's stages 1-2 at R = 32) the logits of
# Eq. 8 are an outer product, L[p, q] = a_p b_q. Shift each row by its max (it cancels in S):
# for a_p >= 0 the max is a_p max(b), so E[p, q] = exp(-x_p y_q) with x_p = a_p, y_q = max(b) - b_q;
# for a_p < 0, x_p = -a_p, y_q = b_q - min(b). Both x and y lie in [0, X] x [0, Y] and every
# row holds a 1 (so Z_p >= 1). In x, exp(-x y) is smooth: on x = X (1 + t) / 2 it is
# exp(-c) exp(-c t), c = y X / 2, whose Chebyshev coefficients are 2 exp(-c) I_k(c) (I_k the
# modified Bessel functions), so its interpolant at the n + 1 Chebyshev points x_j is within
#     4 Σ_{k>n} exp(-c) I_k(c)    (Trefethen, Approximation Theory and Practice, Thm 4.2)
# of it, uniformly over the row. Then E ~ Λ K with Λ[p, j] = ℓ_j(x_p) (barycentric Lagrange
# basis) and K[j, q] = exp(-x_j y_q): (n + 1)(P + Q) numbers instead of P Q, and every
# product the forward and backward need (E·w, Eᵀ·v) goes through them. An error ε per entry
# moves Z_p by at most Q ε (relative, Z_p >= 1) and the column means m by at most 2 Q ε
# relative to their max (max m >= 1/Q), so n is chosen, from the bound, for
# ε = LOWRANK_TOL / Q; the factors are built and applied in float64 (their sums cancel: in
# float32 a peaked row would lose digits to rounding). When the product range X·Y needs more
# terms than a few percent of the exact work, or r > 1, the exact blocked kernel above runs.

LOWRANK_TOL = 1e-7  # bound on the column means' error relative to their max (float32 is ~6e-8)
LOWRANK_MAX_TERMS = 128  # Chebyshev degree above which the exact kernel runs
LOWRANK_COST = 0.2  # low rank if terms (P + Q) <= LOWRANK_COST P Q: ~0.6x the exact time (crossover ~0.35)
_C_STEP = 0.25  # grid of c = X Y / 2 on which the bound is tabulated


@functools.lru_cache(maxsize=1)
def _chebyshev_tail_bounds() -> torch.Tensor:
    """``bound[n, i] = max_{0 <= c <= i·_C_STEP} 4 Σ_{k>n} exp(-c) I_k(c)`` for n <= LOWRANK_MAX_TERMS,
    c up to 256. exp(-c) I_k(c) by Miller's backward recurrence I_{k-1} = (2k/c) I_k + I_{k+1},
    normalised with I_0 + 2 Σ_{k>=1} I_k = exp(c) (tests/attention/test_ba2m_affinity.py
    checks it against direct sums of the series)."""
    c = torch.arange(0, 1025, dtype=torch.float64) * _C_STEP
    cc = torch.where(c > 0, c, torch.ones_like(c))
    k0 = 600  # start well above every k that matters: I_600(256) / I_0(256) < 1e-200
    j = torch.zeros(k0 + 2, c.numel(), dtype=torch.float64)
    j[k0] = 1e-300
    for k in range(k0, 0, -1):
        j[k - 1] = (2 * k / cc) * j[k] + j[k + 1]
        big = j[k - 1] > 1e250
        if bool(big.any()):
            j[k - 1:, big] *= 1e-250
    ive = j / (j[0] + 2 * j[1:].sum(dim=0))
    ive[:, 0] = 0.0  # c = 0: a constant, interpolated exactly
    tail = ive.flip(0).cumsum(dim=0).flip(0)  # tail[k] = Σ_{j >= k}
    return (4 * tail[1:LOWRANK_MAX_TERMS + 2]).cummax(dim=1).values  # row n: Σ_{k > n}


def chebyshev_degree(xy: float, tol: float) -> int | None:
    """Smallest n whose interpolant of exp(-x y) on ``[0, X] x [0, Y]`` (``xy = X·Y``) is
    certified within ``tol`` of it everywhere (at least 1); None above LOWRANK_MAX_TERMS or
    beyond the table (X·Y > 512)."""
    bounds = _chebyshev_tail_bounds()
    if not math.isfinite(xy) or math.ceil(xy / 2 / _C_STEP) >= bounds.shape[1]:
        return None
    ok = (bounds[:, math.ceil(xy / 2 / _C_STEP)] <= tol).nonzero()
    return max(1, int(ok[0])) if ok.numel() else None  # n >= 1: two nodes at least


@functools.lru_cache(maxsize=8)
def _cheb_coefficients(n: int) -> torch.Tensor:
    """``(n + 1, n + 1)`` float64: values at ``t_j = cos(jπ/n)`` -> Chebyshev coefficients of
    their interpolant, ``c_k = (2/n) h_k Σ_j h_j cos(jkπ/n) v_j``, h = 1/2 at the ends, 1 inside."""
    k = torch.arange(n + 1, dtype=torch.float64)
    h = torch.ones(n + 1, dtype=torch.float64)
    h[0] = h[-1] = 0.5
    return (2.0 / n) * h.unsqueeze(1) * h.unsqueeze(0) * torch.cos(torch.outer(k, k) * (math.pi / n))


def _lowrank_factors(a: torch.Tensor, b: torch.Tensor, n: int, negative: bool
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One sign of a block: ``(T, K, member)`` with ``E[p, q] ~ Σ_k T[k, p] (C K)[k, q]`` on
    the member rows (C = :func:`_cheb_coefficients`): ``T (nb, n + 1, P)`` the Chebyshev
    polynomials at ``t_p = 2 x_p / X - 1``, ``K (nb, n + 1, Q)`` = exp(-x_j y_q) at the
    nodes; ``member`` (float, ``(nb, P)``) None when every row is a member."""
    member = (a < 0) if negative else (a >= 0)
    everyone = bool(member.all())
    x = a.abs() if everyone else torch.where(member, a.abs(), torch.zeros_like(a))
    y = (b - b.amin(dim=1, keepdim=True)) if negative else (b.amax(dim=1, keepdim=True) - b)
    span = x.amax(dim=1, keepdim=True)
    span = torch.where(span > 0, span, torch.ones_like(span))
    nb, p = a.shape
    t = torch.empty(nb, n + 1, p, dtype=a.dtype, device=a.device)
    t[:, 0] = 1.0
    t[:, 1] = x * (2.0 / span) - 1.0
    t2 = 2.0 * t[:, 1]
    for k in range(1, n):  # T_{k+1} = 2t T_k - T_{k-1}
        torch.mul(t2, t[:, k], out=t[:, k + 1])
        t[:, k + 1] -= t[:, k - 1]
    nodes = span * (1.0 + torch.cos(torch.arange(n + 1, dtype=a.dtype, device=a.device) * (math.pi / n))) / 2
    kn = (nodes.unsqueeze(2) * -y.unsqueeze(1)).exp_()
    return t, kn, None if everyone else member.to(a.dtype)


def _lowrank_parts(a: torch.Tensor, b: torch.Tensor, n: int, signs: tuple[bool, bool]) -> list:
    """The factors of :func:`_lowrank_factors` for each sign of f present in the batch."""
    return [_lowrank_factors(a, b, n, neg) for neg, on in zip((False, True), signs, strict=True) if on]


def _lowrank_plan(f: torch.Tensor, g: torch.Tensor) -> tuple[int, tuple[bool, bool]] | None:
    """(n, which signs of f occur) when the low-rank form applies and is cheaper, else None."""
    n_img, r, p = f.shape
    q = g.shape[2]
    if r != 1 or p * q == 0 or f.device.type == "meta":
        # meta (poolnas.models.cost): no values to plan from; the exact kernel's products are
        # the ones Eq. 17 counts
        return None
    a, b = f[:, 0], g[:, 0]
    signs = (bool((a >= 0).any()), bool((a < 0).any()))
    y = float((b.amax(dim=1) - b.amin(dim=1)).max())
    x = float(a.abs().max())
    n = chebyshev_degree(x * y, LOWRANK_TOL / q)
    if n is None or sum(signs) * (n + 1) * (p + q) > LOWRANK_COST * p * q:
        return None
    return n, signs


class _LowRankColumnMean(torch.autograd.Function):
    """The same m and gradients as :class:`_SoftmaxColumnMean` (formulas in the module
    docstring), with E replaced by its certified factors, one pair per sign of f (r = 1).
    Every product has its few right-hand sides as rows (``(k, m) @ (m, P)``: a thin GEMM the
    other way round measured 2-3x slower here). The factors are kept for the backward:
    ``(n + 1)(P + Q)`` float64 per image and sign, at most 2·LOWRANK_COST of the float32
    affinity the full softmax kept."""

    @staticmethod
    def forward(ctx, f: torch.Tensor, g: torch.Tensor, n: int,  # type: ignore[override]
                signs: tuple[bool, bool]) -> torch.Tensor:
        p = f.shape[2]
        a, b = f[:, 0].double(), g[:, 0].double()
        cm = _cheb_coefficients(n).to(a.device)
        parts = _lowrank_parts(a, b, n, signs)
        z = 0.0
        for t, kn, member in parts:  # Z_p = Σ_q E[p, q]
            zk = torch.bmm((kn.sum(dim=2) @ cm.t()).unsqueeze(1), t).squeeze(1)
            z = z + (zk if member is None else zk * member)
        inv_z = z.reciprocal()
        out = 0.0
        for t, kn, member in parts:  # m_q = Σ_p E[p, q] / Z_p  (/ P below)
            v = inv_z if member is None else inv_z * member
            out = out + torch.bmm(torch.bmm(v.unsqueeze(1), t.transpose(1, 2)) @ cm, kn).squeeze(1)
        ctx.save_for_backward(f, g)
        ctx.parts = parts
        ctx.n = n
        return (out / p).to(f.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        f, g = ctx.saved_tensors
        parts, ctx.parts = ctx.parts, None
        p = f.shape[2]
        a, b, u = f[:, 0].double(), g[:, 0].double(), grad.double()
        cm = _cheb_coefficients(ctx.n).to(a.device)
        # [1, u, u ⊙ b, b] @ Eᵀ: Z, Σ_q E u, Σ_q E u b, Σ_q E b, as (N, 4, P)
        rhs = torch.stack([torch.ones_like(u), u, u * b, b], dim=1)  # (N, 4, Q)
        sums = 0.0
        for t, kn, member in parts:
            sk = torch.bmm(torch.bmm(rhs, kn.transpose(1, 2)) @ cm.t(), t)
            sums = sums + (sk if member is None else sk * member.unsqueeze(1))
        z, eu, eub, eb = sums.unbind(dim=1)
        inv_z = z.reciprocal()
        c = eu * inv_z  # c_p = Σ_q S[p, q] u_q
        grad_a = (eub - c * eb) * inv_z
        az = a * inv_z
        lhs = torch.stack([az, az * c], dim=1)  # [f/Z, c f/Z] @ E
        grad_b = 0.0
        for t, kn, member in parts:
            v = lhs if member is None else lhs * member.unsqueeze(1)
            ef, ecf = torch.bmm(torch.bmm(v, t.transpose(1, 2)) @ cm, kn).unbind(dim=1)
            grad_b = grad_b + (u * ef - ecf)
        return (grad_a / p).unsqueeze(1).to(f.dtype), (grad_b / p).unsqueeze(1).to(g.dtype), None, None


def softmax_column_mean(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """``softmax(fᵀ g, dim=-1).mean(dim=1)`` for ``f (N, r, P)``, ``g (N, r, Q)``: ``(N, Q)``.

    Computed in float32 (or float64 for float64 inputs). With r = 1 and a product range
    ``max|f| (max g - min g)`` whose certified Chebyshev form is cheap, through that form
    (within LOWRANK_TOL of the exact column means relative to their max, the gradients
    alike); otherwise block by block exactly. The ``P x Q`` affinity of more than a block
    of images never exists at once, in forward or backward.
    """
    dtype = torch.float64 if f.dtype == torch.float64 else torch.float32
    f, g = f.to(dtype).contiguous(), g.to(dtype).contiguous()
    if f.device.type in ("cpu", "cuda") and torch.is_autocast_enabled(f.device.type):
        with torch.autocast(device_type=f.device.type, enabled=False):
            return _dispatch(f, g)
    return _dispatch(f, g)


def _dispatch(f: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        plan = _lowrank_plan(f, g)
    if plan is None:
        return _SoftmaxColumnMean.apply(f, g)
    return _LowRankColumnMean.apply(f, g, *plan)
