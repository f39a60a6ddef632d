r"""The paper's two lemmas and the formal statements behind its S6/attention comparison (Sieber et al. 2024).

- :func:`monomial_features`, :func:`monomial_feature_dim`, :func:`monomial_kernel_difference`: Lemma 1
  (§3.2.1, eq. (18); proof in App. C with the monomial feature maps of eq. (24)): the symmetric monomials
  :math:`\phi_\alpha(x)=x^\alpha/\sqrt{\alpha!}`, :math:`|\alpha|\le P`, give
  :math:`\phi_P(q)^\top\phi_P(k)=\sum_{p\le P}(q^\top k)^p/p!\to e^{q^\top k}` (no :math:`1/\sqrt m` scale, as in
  the lemma).
- :func:`embed_dsf`, :func:`embedding_difference`: Lemma 2 (§4.1, App. D): a DSF with state :math:`N` is
  recovered by one with state :math:`\bar N\ge N` whose extra states never reach the output.
- :func:`s6_from_unnormalized_attention`: unnormalised separable attention as S6 with :math:`A=0`, a shared
  step and a diagonal :math:`W_V` (reconstructed; formalises eqs. (14) and (19)).
- :func:`s6_log_normalizers`: S6's transition as :math:`nd` per-state normaliser ratios
  :math:`\eta^{(k,r)}_{i-1}/\eta^{(k,r)}_i`, :math:`\eta^{(k,r)}_i=e^{-a^{(k)}_rt^{(k)}_i}` (reconstructed).
- :func:`channel_hankel_block`: the Hankel block of one channel's scalar kernel :math:`\Phi_{ij}[k,k]`
  (rank :math:`\le n` for S6; reconstructed).
- :func:`explicit_phi_blocks`, :func:`block_form_difference`: the blocks
  :math:`\Phi_{ij}=C_i\Lambda_i\cdots\Lambda_{j+1}B_j` (:math:`j<i`), :math:`C_iB_i+D_i` (:math:`j=i`) written as
  literal products (the paper's eq. (12)); works on torch tensors and sympy matrices alike.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import sympy as sp
import torch

from ..base import validation as V
from . import _checks
from .core import DSF

__all__ = [
    "block_form_difference",
    "channel_hankel_block",
    "embed_dsf",
    "embedding_difference",
    "explicit_phi_blocks",
    "explicit_phi_matrix",
    "monomial_feature_dim",
    "monomial_features",
    "monomial_kernel_difference",
    "multi_indices",
    "s6_from_unnormalized_attention",
    "s6_log_normalizers",
]


# ---------------------------------------------------------------------------------------------- Lemma 1
def multi_indices(m: int, order: int) -> list[tuple[int, ...]]:
    r"""All multi-indices :math:`\alpha\in\mathbb N^m` with :math:`|\alpha|\le P`, by degree (the monomials of eq. (24))."""
    m = V.integer(m, "m", minimum=1)
    order = V.integer(order, "order", minimum=0)
    out: list[tuple[int, ...]] = []
    for p in range(order + 1):
        for combo in itertools.combinations_with_replacement(range(m), p):
            alpha = [0] * m
            for c in combo:
                alpha[c] += 1
            out.append(tuple(alpha))
    return out


def _alpha_factorial(alpha: tuple[int, ...]) -> int:
    return math.prod(math.factorial(a) for a in alpha)


def monomial_feature_dim(m: int, order: int) -> int:
    r"""Number of symmetric monomials of degree :math:`\le P` in :math:`m` variables, :math:`\binom{m+P}{P}`."""
    m = V.integer(m, "m", minimum=1)
    order = V.integer(order, "order", minimum=0)
    return math.comb(m + order, order)


def monomial_features(x: torch.Tensor, order: int) -> torch.Tensor:
    r"""Lemma 1's truncated feature map: :math:`\phi_P(x)=\big(x^\alpha/\sqrt{\alpha!}\big)_{|\alpha|\le P}`.

    By the multinomial theorem :math:`\phi_P(q)^\top\phi_P(k)=\sum_{p\le P}(q^\top k)^p/p!=T_P(q^\top k)`, the
    degree-:math:`P` Taylor polynomial of :math:`e^{q^\top k}` (Sieber et al. 2024, App. C, eq. (24)); as
    :math:`P\to\infty` this is the kernel of Lemma 1. x ``[..., m]`` → ``[..., binom(m+P, P)]``; no
    :math:`1/\sqrt m` scale (the lemma has none).  Claim ``dsf.lemma-1``.
    """
    _checks.min_ndim(V.tensor(x, "x"), "x", 1, "[..., m]")
    order = V.integer(order, "order", minimum=0)
    cols = []
    for alpha in multi_indices(x.shape[-1], order):
        term = torch.ones_like(x[..., 0])
        for r, a in enumerate(alpha):
            if a:
                term = term * x[..., r] ** a
        cols.append(term / math.sqrt(_alpha_factorial(alpha)))
    return torch.stack(cols, dim=-1)


def monomial_kernel_difference(m: int = 2, order: int = 4) -> sp.Expr:
    r""":math:`\sum_{|\alpha|\le P}q^\alpha k^\alpha/\alpha!-\sum_{p\le P}(q^\top k)^p/p!` in sympy (zero by the multinomial theorem)."""
    q = sp.symbols(f"q1:{m + 1}", real=True)
    k = sp.symbols(f"k1:{m + 1}", real=True)
    inner = sp.Integer(0)
    for alpha in multi_indices(m, order):
        fq = sp.Mul(*[q[r] ** a for r, a in enumerate(alpha)]) / sp.sqrt(_alpha_factorial(alpha))
        fk = sp.Mul(*[k[r] ** a for r, a in enumerate(alpha)]) / sp.sqrt(_alpha_factorial(alpha))
        inner += fq * fk
    s = sum(a * b for a, b in zip(q, k))
    return sp.expand(inner - sum(s**p / sp.factorial(p) for p in range(order + 1)))


# ---------------------------------------------------------------------------------------------- Lemma 2
def embed_dsf(dsf: DSF, extra_lam: torch.Tensor, extra_B: torch.Tensor, coupling: torch.Tensor | None = None) -> DSF:
    r"""Lemma 2's construction (App. D): a DSF with state :math:`\bar N=N+E` and the same outputs as ``dsf``.

    .. math::
       \bar\Lambda_i=\begin{bmatrix}\Lambda_i&0\\X_i&\Lambda^{e}_i\end{bmatrix},\quad
       \bar B_i=\begin{bmatrix}B_i\\B^{e}_i\end{bmatrix},\quad
       \bar C_i=\begin{bmatrix}C_i&0\end{bmatrix},\quad \bar D_i=D_i .

    The extra states :math:`h^{e}` may be driven by the input and by the original states (``coupling``
    :math:`X_i`), but nothing feeds back into :math:`h` and :math:`\bar C_i` is zero on them, so
    :math:`\bar y=y`.  ``extra_lam``: ``[..., L, E]`` (diagonal :math:`\Lambda^e_i`) or ``[..., L, E, E]``
    (dense); ``extra_B``: ``[..., L, E, d]``; ``coupling``: ``[..., L, E, N]`` or None.  The result is
    ``"dense"`` when ``dsf`` or ``extra_lam`` is dense or a coupling is given (or ``dsf`` is dplr),
    ``"diagonal"`` otherwise (a scalar DSF becomes diagonal).  Claim ``dsf.lemma-2``.
    """
    if not isinstance(dsf, DSF):
        raise TypeError(f"dsf must be a DSF, got {type(dsf).__name__}")
    batch, L, N, d = dsf.batch, dsf.L, dsf.N, dsf.d
    _checks.matching(extra_B, "extra_B", dsf.B, "dsf.B", (*batch, L, None, d), what=f"dsf = {dsf!r}: [..., L, E, d]")
    E = extra_B.shape[-2]
    V.tensor_like(extra_lam, "extra_lam", dsf.B, "dsf.B")
    if tuple(extra_lam.shape) not in ((*batch, L, E), (*batch, L, E, E)):
        raise ValueError(
            f"extra_lam must have shape {[*batch, L, E]} (diagonal) or {[*batch, L, E, E]} (dense) to match dsf "
            f"and extra_B (shape {list(extra_B.shape)}), got {list(extra_lam.shape)}"
        )
    if coupling is not None:
        _checks.matching(
            coupling, "coupling", dsf.B, "dsf.B", (*batch, L, E, N), what=f"dsf = {dsf!r} and extra_B: [..., L, E, N]"
        )
    B = torch.cat([dsf.B, extra_B], dim=-2)
    C = torch.cat([dsf.C, dsf.C.new_zeros(*batch, L, dsf.p, E)], dim=-1)
    extra_dense = extra_lam.dim() == len(batch) + 3
    if dsf.structure in ("scalar", "diagonal") and not extra_dense and coupling is None:
        base = dsf.lam[..., None].expand(*batch, L, N) if dsf.structure == "scalar" else dsf.lam
        return DSF(torch.cat([base, extra_lam], dim=-1), B, C, dsf.D, structure="diagonal")
    top = torch.cat([dsf.dense_lam(), dsf.B.new_zeros(*batch, L, N, E)], dim=-1)
    low = extra_lam if extra_dense else torch.diag_embed(extra_lam)
    left = coupling if coupling is not None else dsf.B.new_zeros(*batch, L, E, N)
    lam = torch.cat([top, torch.cat([left, low], dim=-1)], dim=-2)
    return DSF(lam, B, C, dsf.D, structure="dense")


def embedding_difference(L: int = 3, N: int = 1, E: int = 1) -> sp.Matrix:
    r"""Sympy form of Lemma 2: outputs of the embedded loop (state :math:`N+E`, coupling :math:`X_i`) minus the original loop.

    Every matrix is a fully symbolic dense one (:math:`d=p=1`); zero by the block structure of :func:`embed_dsf`.
    """

    def mat(name: str, rows: int, cols: int, i: int) -> sp.Matrix:
        return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}{i}_{r}{c}"))

    u = sp.symbols(f"u1:{L + 1}")
    h, hb, diffs = sp.zeros(N, 1), sp.zeros(N + E, 1), []
    for i in range(1, L + 1):
        lam, B, C, D = mat("lam", N, N, i), mat("B", N, 1, i), mat("C", 1, N, i), sp.Symbol(f"D{i}")
        lam_e, B_e, X = mat("lame", E, E, i), mat("Be", E, 1, i), mat("X", E, N, i)
        lam_bar = sp.BlockMatrix([[lam, sp.zeros(N, E)], [X, lam_e]]).as_explicit()
        B_bar = sp.Matrix.vstack(B, B_e)
        C_bar = sp.Matrix.hstack(C, sp.zeros(1, E))
        h = lam * h + B * u[i - 1]
        hb = lam_bar * hb + B_bar * u[i - 1]
        diffs.append(sp.expand((C_bar * hb)[0] + D * u[i - 1] - (C * h)[0] - D * u[i - 1]))
    return sp.Matrix(diffs)


# ------------------------------------------------------------------------------------- L6(a) and L6(c)
def s6_from_unnormalized_attention(
    c: torch.Tensor, b: torch.Tensor, delta: torch.Tensor, w: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""S6 parameters equal to unnormalised separable attention (reconstructed; formalises eqs. (14) and (19)).

    Attention :math:`y_i=\sum_{j\le i}\phi(q_i)^\top\psi(k_j)\,W_Vu_j` with :math:`\eta\equiv1`,
    :math:`\phi(q_i)=c_i`, :math:`\psi(k_j)=\delta_jb_j`, :math:`W_V=\mathrm{diag}(w)` equals S6 with
    :math:`A=0` (so :math:`\Lambda_i=I`), the shared step :math:`\Delta^{(k)}_j=w_k\delta_j`, keys
    :math:`b_j`, queries :math:`c_i` and :math:`D=0`.  c, b ``[..., L, n]``; delta ``[..., L]`` and w ``[d]``
    positive (S6's step is positive).  Returns ``(Delta [..., L, d], A [d, n], b, c)`` for
    :func:`.architectures_ssm.s6_dsf`.  Claim ``dsf.l6a-separable-is-s6``.
    """
    V.tensor(c, "c")
    V.tensor(b, "b", shape=c.shape)
    V.tensor(delta, "delta", shape=c.shape[:-1])
    V.tensor(w, "w", ndim=1)
    if bool((delta <= 0).any()) or bool((w <= 0).any()):
        raise ValueError("delta and w must be positive (S6's step Δ = w_k δ_j is positive)")
    Delta = delta[..., None] * w
    A = torch.zeros(w.shape[0], c.shape[-1], dtype=c.dtype, device=c.device)
    return Delta, A, b, c


def s6_log_normalizers(delta: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    r"""S6's :math:`nd` per-state log-normalisers :math:`\log\eta^{(k,r)}_i=-a^{(k)}_rt^{(k)}_i`, :math:`t^{(k)}_i=\sum_{l\le i}\Delta^{(k)}_l`.

    Then :math:`\eta^{(k,r)}_{i-1}/\eta^{(k,r)}_i=e^{\Delta^{(k)}_ia^{(k)}_r}` is S6's transition entry
    (reconstructed; the paper's §4.2 counts :math:`d` parameters in S6's :math:`\Lambda_i`).  delta (positive)
    ``[..., L, d]``, A ``[d, n]`` → ``[..., L, d, n]``.  Claim ``dsf.l6c-s6-normalisers``.
    """
    V.tensor(delta, "delta")
    V.tensor(A, "A", shape=(delta.shape[-1], None))
    if bool((delta <= 0).any()):
        raise ValueError("delta must be positive (S6's step)")
    t = delta.cumsum(-2)
    return -t[..., None] * A


def channel_hankel_block(dsf: DSF, channel: int, t: int, blocks: torch.Tensor | None = None) -> torch.Tensor:
    r"""Hankel block :math:`[\Phi_{ij}[k,k]]_{i\ge t,\,j<t}` of channel ``k``'s scalar kernel (0-based, first batch element).

    For S6 it factors through that channel's :math:`n` states, so its rank is at most :math:`n`
    (reconstructed).  Needs ``dsf.p == dsf.d``.  Returns ``[L-t, t]``.  ``blocks``: ``dsf.blocks()`` if already
    computed (reused across channels and ``t``).  Claim ``dsf.s6-hankel-rank``.
    """
    if not isinstance(dsf, DSF):
        raise TypeError(f"dsf must be a DSF, got {type(dsf).__name__}")
    if dsf.p != dsf.d:
        raise ValueError(f"channel kernels need p == d, this DSF has p={dsf.p}, d={dsf.d}")
    channel = V.integer(channel, "channel", minimum=0, maximum=dsf.d - 1)
    t = V.integer(t, "t", minimum=1, maximum=dsf.L - 1)
    if blocks is None:
        blocks = dsf.blocks()
    V.tensor(blocks, "blocks", shape=(*dsf.batch, dsf.L, dsf.L, dsf.p, dsf.d))
    K = blocks[..., t:, :t, channel, channel]
    return K.reshape(-1, *K.shape[-2:])[0]


# ------------------------------------------------------------------------------------- E1, block form
def explicit_phi_blocks(
    lams: Sequence[torch.Tensor],
    Bs: Sequence[torch.Tensor],
    Cs: Sequence[torch.Tensor],
    Ds: Sequence[torch.Tensor] | None = None,
) -> dict:
    r"""The blocks of eq. (12) as literal products: :math:`\Phi_{ij}=C_i\Lambda_i\Lambda_{i-1}\cdots\Lambda_{j+1}B_j` (:math:`j<i`), :math:`\Phi_{ii}=C_iB_i+D_i`.

    ``lams``, ``Bs``, ``Cs`` (and ``Ds``) are length-:math:`L` lists of matrices (torch tensors or sympy
    matrices, 0-based); returns ``{(i, j): block}`` for :math:`j\le i` (blocks above the diagonal are zero).
    Claim ``dsf.e1-block-form``.
    """
    L = len(lams)
    if not (len(Bs) == len(Cs) == L) or (Ds is not None and len(Ds) != L):
        raise ValueError(
            f"lams, Bs, Cs (and Ds) must have the same length L, got {L}, {len(Bs)}, {len(Cs)}"
            + ("" if Ds is None else f", {len(Ds)}")
        )
    out = {}
    for i in range(L):
        for j in range(i + 1):
            M = Bs[j]
            for l in range(j + 1, i + 1):  # Λ_{j+1} first, Λ_i last (leftmost)
                M = lams[l] @ M
            block = Cs[i] @ M
            out[(i, j)] = block + Ds[i] if (j == i and Ds is not None) else block
    return out


def explicit_phi_matrix(dsf: DSF) -> torch.Tensor:
    r"""The block lower-triangular :math:`\Phi\in\mathbb R^{Lp\times Ld}` of an unbatched DSF from :func:`explicit_phi_blocks`."""
    if not isinstance(dsf, DSF):
        raise TypeError(f"dsf must be a DSF, got {type(dsf).__name__}")
    if dsf.batch:
        raise ValueError(f"explicit_phi_matrix needs an unbatched DSF, got batch {list(dsf.batch)}")
    L, p, d = dsf.L, dsf.p, dsf.d
    lam = dsf.dense_lam()
    Ds = None if dsf.D is None else list(dsf.D)
    blocks = explicit_phi_blocks(list(lam), list(dsf.B), list(dsf.C), Ds)
    Phi = dsf.B.new_zeros(L * p, L * d)
    for (i, j), blk in blocks.items():
        Phi[i * p : (i + 1) * p, j * d : (j + 1) * d] = blk
    return Phi


def block_form_difference(L: int = 3, N: int = 2, d: int = 2, p: int = 2) -> sp.Matrix:
    r"""Sympy, fully symbolic dense matrices: the stacked loop outputs minus :math:`\Phi u` with :math:`\Phi` from :func:`explicit_phi_blocks`.

    :math:`\Lambda_i` ``N x N``, :math:`B_i` ``N x d``, :math:`C_i` ``p x N``, :math:`D_i` ``p x d``, :math:`u_i` ``d x 1``.
    """

    def mat(name: str, rows: int, cols: int, i: int) -> sp.Matrix:
        return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}{i}_{r}{c}"))

    lams = [mat("lam", N, N, i) for i in range(1, L + 1)]
    Bs = [mat("B", N, d, i) for i in range(1, L + 1)]
    Cs = [mat("C", p, N, i) for i in range(1, L + 1)]
    Ds = [mat("D", p, d, i) for i in range(1, L + 1)]
    us = [mat("u", d, 1, i) for i in range(1, L + 1)]
    h, y_loop = sp.zeros(N, 1), []
    for i in range(L):
        h = lams[i] * h + Bs[i] * us[i]
        y_loop.append(Cs[i] * h + Ds[i] * us[i])
    blocks = explicit_phi_blocks(lams, Bs, Cs, Ds)
    rows = []
    for i in range(L):
        rows.append(sp.BlockMatrix([[blocks[(i, j)] if j <= i else sp.zeros(p, d) for j in range(L)]]).as_explicit())
    Phi = sp.Matrix.vstack(*rows)
    u = sp.Matrix.vstack(*us)
    return (sp.Matrix.vstack(*y_loop) - Phi * u).applyfunc(sp.expand)
