r"""The Dynamical Systems Framework object: :math:`h_i=\Lambda_ih_{i-1}+B_iu_i,\ y_i=C_ih_i+D_iu_i`.

Sieber et al. (2024), eq. (11).  Shapes (leading batch dims ``...`` shared by every tensor):

==============  ===========================  ==============================================
tensor          shape                        meaning
==============  ===========================  ==============================================
``lam``         ``[..., L]``                 ``structure="scalar"``: :math:`\Lambda_i=\lambda_iI_N`
``lam``         ``[..., L, N]``              ``"diagonal"``: :math:`\Lambda_i=\mathrm{diag}(\lambda_i)`;
                                             ``"dplr"``: the diagonal part of :math:`\mathrm{diag}(\lambda_i)+U_iV_i^\top`
``lam``         ``[..., L, N, N]``           ``"dense"``
``low_rank``    ``([..., L, N, r],)*2``      ``"dplr"`` only: :math:`(U_i, V_i)`
``B``           ``[..., L, N, d]``           input matrices
``C``           ``[..., L, p, N]``           output matrices
``D``           ``[..., L, p, d]`` or None   feed-through
``u``           ``[..., L, d]``              input sequence
==============  ===========================  ==============================================

Forms: :meth:`DSF.recurrent` (the loop), :meth:`DSF.matrix` / :meth:`DSF.parallel` (the block
lower-triangular :math:`\Phi` with :math:`\Phi_{ij}=C_i\Lambda_i\cdots\Lambda_{j+1}B_j`, the paper's
eq. (12)), :meth:`DSF.chunked` (O(L), scalar/diagonal only, chunks of ``chunk_size`` steps on every
backend: :func:`.scan.chunked_diag_scan` or the Triton kernels),
:meth:`DSF.transfer` / :meth:`DSF.hankel_block` and :meth:`DSF.eigenvalues`.
Claims ``dsf.convolutional-form``, ``dsf.chunked-equals-recurrent``, ``dsf.hankel-rank-bound``.
"""

from __future__ import annotations

import math
from typing import Literal, overload

import torch

from ..base import validation as V
from ..base.chunks import CHUNK_SIZE, check_chunk_size
from ..base.memory import check_quadratic_memory
from .scan import BACKENDS, _chunked_diag_scan, _kernel_backend, _kernel_readout_scan, diag_transition_products

STRUCTURES = ("scalar", "diagonal", "dplr", "dense")
__all__ = ["DSF", "STRUCTURES"]


def _check_same(name: str, t: torch.Tensor, ref_name: str, ref: torch.Tensor) -> None:
    V.same_dtype(name, t, ref_name, ref)
    V.same_device(name, t, ref_name, ref)


class DSF:
    r"""A linear time-varying system in the DSF form (Sieber et al. 2024, eq. (11)), with a declared ``structure`` of :math:`\Lambda`.

    Validation (ValueError/TypeError naming the argument): dtypes and devices agree, every
    tensor is finite, batch/length/state/input/output sizes agree, and the shape of ``lam``
    matches ``structure`` (e.g. ``structure="scalar"`` with a ``[L, N]`` tensor is rejected).
    """

    def __init__(
        self,
        lam: torch.Tensor,
        B: torch.Tensor,
        C: torch.Tensor,
        D: torch.Tensor | None = None,
        *,
        structure: str = "diagonal",
        low_rank: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        V.choice(structure, "structure", STRUCTURES)
        B = V.tensor(B, "B")
        if B.dim() < 3:
            raise ValueError(f"B must have shape [..., L, N, d], got {list(B.shape)}")
        *batch_dims, L, N, d = B.shape
        batch = tuple(batch_dims)
        C = V.tensor(C, "C")
        _check_same("C", C, "B", B)
        if C.dim() != B.dim() or tuple(C.shape[:-2]) != (*batch, L) or C.shape[-1] != N:
            raise ValueError(
                f"C must have shape [..., L={L}, p, N={N}] with B's batch {list(batch)}, got {list(C.shape)}"
            )
        p = C.shape[-2]
        if D is not None:
            D = V.tensor(D, "D")
            _check_same("D", D, "B", B)
            if tuple(D.shape) != (*batch, L, p, d):
                raise ValueError(f"D must have shape {[*batch, L, p, d]} (or be None), got {list(D.shape)}")
        lam = V.tensor(lam, "lam")
        _check_same("lam", lam, "B", B)
        want = {
            "scalar": (*batch, L),
            "diagonal": (*batch, L, N),
            "dplr": (*batch, L, N),
            "dense": (*batch, L, N, N),
        }[structure]
        if tuple(lam.shape) != want:
            raise ValueError(
                f"lam must have shape {list(want)} for structure={structure!r} (B is {list(B.shape)}), got {list(lam.shape)}"
            )
        if structure == "dplr":
            if low_rank is None or len(low_rank) != 2:
                raise ValueError("low_rank must be a pair (U, V) of [..., L, N, r] tensors for structure='dplr'")
            U, W = (V.tensor(t, n) for t, n in zip(low_rank, ("low_rank[0]", "low_rank[1]")))
            for n, t in (("low_rank[0]", U), ("low_rank[1]", W)):
                _check_same(n, t, "B", B)
                if t.dim() != B.dim() or tuple(t.shape[:-1]) != (*batch, L, N):
                    raise ValueError(f"{n} must have shape [..., L={L}, N={N}, r], got {list(t.shape)}")
            if U.shape[-1] != W.shape[-1]:
                raise ValueError(
                    f"low_rank[0] and low_rank[1] must have the same rank r, got {U.shape[-1]} and {W.shape[-1]}"
                )
            low_rank = (U, W)
        elif low_rank is not None:
            raise ValueError(f"low_rank is only used with structure='dplr', got structure={structure!r}")
        self.lam, self.B, self.C, self.D = lam, B, C, D
        self.low_rank = low_rank
        self.structure = structure
        self.batch, self.L, self.N, self.d, self.p = batch, L, N, d, p

    # ------------------------------------------------------------------ helpers
    def __repr__(self) -> str:
        return (
            f"DSF(structure={self.structure!r}, batch={list(self.batch)}, L={self.L}, N={self.N}, "
            f"d={self.d}, p={self.p}, dtype={str(self.B.dtype).replace('torch.', '')})"
        )

    def _check_u(self, u: torch.Tensor, name: str = "u") -> torch.Tensor:
        u = V.tensor(u, name)
        _check_same(name, u, "B", self.B)
        if tuple(u.shape) != (*self.batch, self.L, self.d):
            raise ValueError(f"{name} must have shape {[*self.batch, self.L, self.d]}, got {list(u.shape)}")
        return u

    def _check_h0(self, h0: torch.Tensor | None) -> torch.Tensor | None:
        if h0 is None:
            return None
        h0 = V.tensor(h0, "h0")
        _check_same("h0", h0, "B", self.B)
        if tuple(h0.shape) != (*self.batch, self.N):
            raise ValueError(f"h0 must have shape {[*self.batch, self.N]}, got {list(h0.shape)}")
        return h0

    def dense_lam(self) -> torch.Tensor:
        r"""Every :math:`\Lambda_i` as a dense matrix, ``[..., L, N, N]``."""
        if self.structure == "dense":
            return self.lam
        if self.structure == "scalar":
            eye = torch.eye(self.N, dtype=self.lam.dtype, device=self.lam.device)
            return self.lam[..., None, None] * eye
        out = torch.diag_embed(self.lam)
        if self.structure == "dplr":
            assert self.low_rank is not None  # __init__ requires it for dplr
            U, W = self.low_rank
            out = out + U @ W.transpose(-1, -2)
        return out

    def _apply_lam(self, i: int, h: torch.Tensor) -> torch.Tensor:
        """Λ_i h for a state ``h [..., N]`` using the structure (O(N), O(Nr) or O(N^2))."""
        if self.structure == "scalar":
            return self.lam[..., i, None] * h
        if self.structure == "diagonal":
            return self.lam[..., i, :] * h
        if self.structure == "dplr":
            assert self.low_rank is not None  # __init__ requires it for dplr
            U, W = self.low_rank
            return (
                self.lam[..., i, :] * h + (U[..., i, :, :] @ (W[..., i, :, :].transpose(-1, -2) @ h[..., None]))[..., 0]
            )
        return (self.lam[..., i, :, :] @ h[..., None])[..., 0]

    def _readout(self, h: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        y = (self.C @ h[..., None])[..., 0]
        if self.D is not None:
            y = y + (self.D @ u[..., None])[..., 0]
        return y

    # ------------------------------------------------------------------ forms
    @overload
    def recurrent(
        self, u: torch.Tensor, h0: torch.Tensor | None = None, *, return_state: Literal[False] = False
    ) -> torch.Tensor: ...
    @overload
    def recurrent(
        self, u: torch.Tensor, h0: torch.Tensor | None = None, *, return_state: Literal[True]
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
    @overload
    def recurrent(
        self, u: torch.Tensor, h0: torch.Tensor | None = None, *, return_state: bool
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...
    def recurrent(
        self, u: torch.Tensor, h0: torch.Tensor | None = None, *, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        r"""The step loop :math:`h_i=\Lambda_ih_{i-1}+B_iu_i`, :math:`y_i=C_ih_i+D_iu_i` (:math:`h_0=0` unless given).

        u: ``[..., L, d]`` → y ``[..., L, p]`` (and the states ``[..., L, N]`` with ``return_state``).
        """
        return_state = V.flag(return_state, "return_state")
        u = self._check_u(u)
        h = self._check_h0(h0)
        h = u.new_zeros(*self.batch, self.N) if h is None else h
        x = (self.B @ u[..., None])[..., 0]  # [..., L, N]
        hs = []
        for i in range(self.L):
            h = self._apply_lam(i, h) + x[..., i, :]
            hs.append(h)
        H = torch.stack(hs, dim=-2)
        y = self._readout(H, u)
        return (y, H) if return_state else y

    def transition_products(self) -> torch.Tensor:
        r""":math:`\Lambda_{i:j}=\Lambda_i\cdots\Lambda_{j+1}` (:math:`\Lambda_{i:i}=I`, zero for :math:`j>i`).

        Scalar: ``[..., L, L]``; diagonal: ``[..., L, L, N]`` (log space; the product excludes :math:`\Lambda_j`);
        dplr/dense: ``[..., L, L, N, N]`` by cumulative matrix products.
        """
        self._check_quadratic_memory("DSF.transition_products", with_blocks=False)
        if self.structure == "scalar":
            return diag_transition_products(self.lam[..., None])[..., 0]
        if self.structure == "diagonal":
            return diag_transition_products(self.lam)
        lam = self.dense_lam()
        eye = torch.eye(self.N, dtype=lam.dtype, device=lam.device).expand(*self.batch, self.N, self.N)
        rows = []
        for i in range(self.L):
            row = [torch.zeros_like(eye)] * self.L
            row[i] = eye
            for j in range(i - 1, -1, -1):  # Λ_{i:j} = Λ_{i:j+1} Λ_{j+1}
                row[j] = row[j + 1] @ lam[..., j + 1, :, :]
            rows.append(torch.stack(row, dim=-3))
        return torch.stack(rows, dim=-4)

    def quadratic_bytes(self, *, with_blocks: bool = True) -> int:
        r"""Bytes of the :math:`L\times L` intermediates of :meth:`blocks` (hence :meth:`matrix`, :meth:`parallel`).

        The transition products (``L^2``, ``L^2 N`` or ``L^2 N^2`` numbers per batch element, twice for the
        log-space cumulative sums) and, ``with_blocks``, the blocks :math:`\Phi_{ij}` (``L^2 p d``) and their
        einsum operands (about twice that).
        """
        with_blocks = V.flag(with_blocks, "with_blocks")
        per = {"scalar": 1, "diagonal": self.N}.get(self.structure, self.N * self.N)
        numbers = 2 * self.L * self.L * per
        if with_blocks:
            numbers += 3 * self.L * self.L * self.p * self.d
        batch = math.prod(self.batch) if self.batch else 1
        return int(batch * numbers * self.lam.element_size())

    def _check_quadratic_memory(self, what: str, *, with_blocks: bool = True) -> None:
        check_quadratic_memory(
            f"{what} (L = {self.L}, N = {self.N}, p = {self.p}, d = {self.d})",
            self.quadratic_bytes(with_blocks=with_blocks),
            alternative="DSF.recurrent(u) or, for scalar/diagonal transitions, DSF.chunked(u)",
            device=self.lam.device,
        )

    def blocks(self) -> torch.Tensor:
        r"""All blocks :math:`\Phi_{ij}` as ``[..., L, L, p, d]`` (zero for :math:`j>i`).

        Memory :math:`O(L^2)` (:meth:`quadratic_bytes`): refused with a ``MemoryError`` naming the size when it
        exceeds the free memory (use :meth:`recurrent` or :meth:`chunked`).
        """
        self._check_quadratic_memory("DSF.blocks")
        P = self.transition_products()
        C, B = self.C, self.B
        if self.structure == "scalar":
            Phi = P[..., None, None] * (C[..., :, None, :, :] @ B[..., None, :, :, :])
        elif self.structure == "diagonal":
            Phi = torch.einsum("...ipn,...ijn,...jnd->...ijpd", C, P, B)
        else:
            Phi = torch.einsum("...ipn,...ijnm,...jmd->...ijpd", C, P, B)
        if self.D is not None:
            idx = torch.arange(self.L, device=Phi.device)
            Phi[..., idx, idx, :, :] = Phi[..., idx, idx, :, :] + self.D
        return Phi

    def matrix(self) -> torch.Tensor:
        r"""The block lower-triangular :math:`\Phi\in\mathbb R^{Lp\times Ld}` with :math:`y=\Phi u` (the paper's eq. (12)); claim ``dsf.convolutional-form``."""
        Phi = self.blocks()
        return Phi.transpose(-3, -2).reshape(*self.batch, self.L * self.p, self.L * self.d)

    def parallel(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`y=\Phi u` (u ``[..., L, d]`` → ``[..., L, p]``); claim ``dsf.convolutional-form``."""
        u = self._check_u(u)
        return torch.einsum("...ijpd,...jd->...ip", self.blocks(), u)

    @overload
    def chunked(
        self,
        u: torch.Tensor,
        chunk_size: int = CHUNK_SIZE,
        h0: torch.Tensor | None = None,
        *,
        return_state: Literal[False] = False,
        backend: str = "auto",
    ) -> torch.Tensor: ...
    @overload
    def chunked(
        self,
        u: torch.Tensor,
        chunk_size: int = CHUNK_SIZE,
        h0: torch.Tensor | None = None,
        *,
        return_state: Literal[True],
        backend: str = "auto",
    ) -> tuple[torch.Tensor, torch.Tensor]: ...
    @overload
    def chunked(
        self,
        u: torch.Tensor,
        chunk_size: int = CHUNK_SIZE,
        h0: torch.Tensor | None = None,
        *,
        return_state: bool,
        backend: str = "auto",
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]: ...
    def chunked(
        self,
        u: torch.Tensor,
        chunk_size: int = CHUNK_SIZE,
        h0: torch.Tensor | None = None,
        *,
        return_state: bool = False,
        backend: str = "auto",
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        r"""The O(L) chunked form for scalar/diagonal :math:`\Lambda` (intra-chunk masked product + state passing).

        u: ``[..., L, d]``; ``chunk_size``: the chunk length (an int >= 1, checked once by
        :func:`attnmath.base.chunks.check_chunk_size`), honoured on every backend.  The one routing
        point :func:`.scan.kernel_backend` sends the scan to the Triton kernels of
        ``attnmath.kernels.dispatch`` when CUDA is available or ``TRITON_INTERPRET=1`` is set and the DSF
        suits them (fp32/fp16/bf16, :math:`0<\lambda\le1`, :math:`N\le256`, ``chunk_size`` a power of
        two >= 16, states not requested), and to :func:`.scan.chunked_diag_scan` otherwise;
        ``backend="torch"``/``"triton"`` forces one (``"triton"`` raises ValueError saying why it cannot run).
        Claims ``dsf.chunked-equals-recurrent`` and ``dsf.chunked-kernel-dispatch``.
        """
        chunk_size = check_chunk_size(chunk_size)
        V.choice(backend, "backend", BACKENDS)
        return_state = V.flag(return_state, "return_state")
        if self.structure not in ("scalar", "diagonal"):
            raise ValueError(
                f"chunked needs structure 'scalar' or 'diagonal', this DSF has structure={self.structure!r}"
            )
        u = self._check_u(u)
        h0 = self._check_h0(h0)
        x = (self.B @ u[..., None])[..., 0]
        if return_state and backend == "triton":
            raise ValueError("backend='triton' computes outputs only; use return_state=False or backend='torch'")
        if not return_state and _kernel_backend(self.lam, x, backend, chunk_size) == "triton":
            y, _hL = _kernel_readout_scan(self.lam, x, self.C, h0, chunk_size)
            return y if self.D is None else y + (self.D @ u[..., None])[..., 0]
        H, _hL = _chunked_diag_scan(self.lam, x, chunk_size, h0)
        y = self._readout(H, u)
        return (y, H) if return_state else y

    def transfer(self, i: int, j: int) -> torch.Tensor:
        r"""One block :math:`\Phi_{ij}` (0-based indices), ``[..., p, d]``: the map from :math:`u_j` to :math:`y_i`."""
        i = V.integer(i, "i", minimum=0, maximum=self.L - 1)
        j = V.integer(j, "j", minimum=0, maximum=self.L - 1)
        return self.blocks()[..., i, j, :, :]

    def hankel_block(self, t: int) -> torch.Tensor:
        r"""The Hankel block :math:`\Phi[i\ge t,\ j<t]` (0-based: rows after the first ``t`` steps, columns up to them).

        Shape ``[..., (L-t)p, t d]``; it factors through :math:`h_{t}`, so its rank is at most
        :math:`N` (reconstructed; claim ``dsf.hankel-rank-bound``).  ``1 <= t <= L-1``.
        """
        t = V.integer(t, "t", minimum=1, maximum=self.L - 1)
        Phi = self.blocks()[..., t:, :t, :, :]
        return Phi.transpose(-3, -2).reshape(*self.batch, (self.L - t) * self.p, t * self.d)

    def eigenvalues(self) -> torch.Tensor:
        r"""Spectra of every :math:`\Lambda_i`: ``[..., L, N]``, real for scalar/diagonal, complex for dplr/dense."""
        if self.structure == "scalar":
            return self.lam[..., None].expand(*self.batch, self.L, self.N)
        if self.structure == "diagonal":
            return self.lam
        return torch.linalg.eigvals(self.dense_lam())
