r"""DSF instances as diagonal scans: S6 (Mamba), Mamba-2/SSD, RetNet and GLA mapped onto ``attnmath.kernels``.

Each ``*_scan`` maps a model's own parameters onto ``(q, k, v, g)`` of
:math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` and calls
:func:`attnmath.kernels.dispatch.diag_scan`; each ``*_reference`` writes the model's recurrence (or, for
RetNet, its parallel form) literally, in the model's own variables: S6 in the semantics of Mamba's
``selective_scan_ref`` (Gu & Dao 2023, with the implemented Euler input gain :math:`\Delta b`), the SSD
recurrence of Dao & Gu (2024), RetNet's parallel retention (Sun et al. 2023).  The mappings are
reconstructed here (S6 in the DSF is eq. (19) of Sieber et al. 2024; see the book's Sources appendix).
Claim ``kernels.dsf-instances``.

======  ========================================  ===============  ======================================  =================
model   decay :math:`g_t`                         key :math:`k_t`  value :math:`v_t`                       query :math:`q_t`
======  ========================================  ===============  ======================================  =================
S6      :math:`\Delta^{(c)}_t a^{(c)}` (per key)  :math:`b_t`      :math:`\Delta^{(c)}_t u^{(c)}_t` (V=1)  :math:`c_t`
SSD     :math:`\Delta^{(h)}_t a^{(h)}` (scalar)   :math:`b_t`      :math:`\Delta^{(h)}_t x^{(h)}_t`        :math:`c_t`
RetNet  :math:`\log\gamma_h` (scalar, constant)   :math:`k_t`      :math:`v_t`                             :math:`q_t`
GLA     :math:`\log\alpha_t` (per key)            :math:`k_t`      :math:`v_t`                             :math:`q_t`
======  ========================================  ===============  ======================================  =================

S6 is mapped with one head per channel :math:`c` and value width 1: S6 is :math:`d`-head linear
attention with value width 1 and shared queries and keys (§4.2 of Sieber et al. 2024: S6's
:math:`b_i, c_i` play keys and queries).

Why this chapter writes its own reference models.  The DSF chapter (:mod:`attnmath.dsf`) has the same
models written from their papers (``selective_scan_ref``, ``mamba2_recurrent``, ``retention_parallel``,
``gla_recurrent``), but chapters are independent (the layers contract of ``[tool.importlinter]``: no
chapter imports another), and the kernels (:mod:`attnmath.kernels`, operators only) may not hold
model code.  So the references live here, in the layout of the kernels (``[B, T, ...]``, batch first),
and ``tests/fastforms/test_instances.py`` checks that they agree with the DSF chapter's.
"""

from __future__ import annotations

import math

import torch

from attnmath.base import validation as V
from attnmath.kernels import dispatch

__all__ = [
    "default_retnet_gammas",
    "gla_scan",
    "retnet_reference",
    "retnet_scan",
    "s6_reference",
    "s6_scan",
    "ssd_reference",
    "ssd_scan",
]


def _check_s6(
    u: torch.Tensor, delta: torch.Tensor, A: torch.Tensor, Bm: torch.Tensor, Cm: torch.Tensor, D: torch.Tensor | None
) -> tuple[int, int, int, int]:
    V.tensor(u, "u", ndim=3, finite=False)
    Bsz, T, d = u.shape
    V.tensor(delta, "delta", shape=(Bsz, T, d), finite=False)
    V.tensor(A, "A", ndim=2, finite=False)
    if A.shape[0] != d:
        raise ValueError(f"A must have shape [D, N] with D = {d} channels, got {list(A.shape)}")
    n = A.shape[1]
    V.tensor(Bm, "B", shape=(Bsz, T, n), finite=False)
    V.tensor(Cm, "C", shape=(Bsz, T, n), finite=False)
    if D is not None:
        V.tensor(D, "D", shape=(d,), finite=False)
    return Bsz, T, d, n


def s6_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba's selective scan :math:`h_t = e^{\Delta_t a}\odot h_{t-1} + \Delta_t b_t u_t`, :math:`y_t = c_t^\top h_t + D u_t`.

    u, delta (:math:`\Delta > 0`): ``[B, T, D]``; A (:math:`a < 0`): ``[D, N]``; B, C: ``[B, T, N]``;
    D: ``[D]``; ``initial_state``: ``[B, D, N]``.  Implemented input gain :math:`\bar B = \Delta b`
    (Euler, as in Mamba's reference scan).  Returns ``(y [B, T, D], h_T [B, D, N])``.
    """
    Bsz, T, d, n = _check_s6(u, delta, A, B, C, D)
    q = C[:, :, None, :].expand(Bsz, T, d, n)
    k = B[:, :, None, :].expand(Bsz, T, d, n)
    v = (delta * u)[..., None]
    g = delta[..., None] * A
    h0 = None if initial_state is None else initial_state[..., None]
    o, S = dispatch.diag_scan(q, k, v, g, scale=1.0, initial_state=h0, chunk_size=chunk_size, backend=backend)
    y = o[..., 0]
    if D is not None:
        y = y + D * u
    return y, S[..., 0]


def s6_reference(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The selective scan loop in Mamba's ``selective_scan_ref`` semantics (layout ``[B, T, ...]``)."""
    Bsz, T, d, n = _check_s6(u, delta, A, B, C, D)
    u, delta, A, B, C = (x.to(dtype) for x in (u, delta, A, B, C))
    h = torch.zeros(Bsz, d, n, dtype=dtype) if initial_state is None else initial_state.to(dtype)
    ys = []
    for t in range(T):
        h = torch.exp(delta[:, t, :, None] * A) * h + delta[:, t, :, None] * B[:, t, None, :] * u[:, t, :, None]
        ys.append((h * C[:, t, None, :]).sum(-1))
    y = torch.stack(ys, 1)
    if D is not None:
        y = y + D.to(dtype) * u
    return y, h


def _check_ssd(
    x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, D: torch.Tensor | None
) -> tuple[int, int, int, int, int]:
    V.tensor(x, "x", ndim=4, finite=False)
    Bsz, T, H, P = x.shape
    V.tensor(dt, "dt", shape=(Bsz, T, H), finite=False)
    V.tensor(A, "A", shape=(H,), finite=False)
    V.tensor(B, "B", ndim=3, finite=False)
    n = B.shape[-1]
    V.tensor(B, "B", shape=(Bsz, T, n), finite=False)
    V.tensor(C, "C", shape=(Bsz, T, n), finite=False)
    if D is not None:
        V.tensor(D, "D", shape=(H,), finite=False)
    return Bsz, T, H, P, n


def ssd_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba-2/SSD :math:`h_t = e^{\Delta_t a}h_{t-1} + \Delta_t\,b_t x_t^\top`, :math:`y_t = h_t^\top c_t + D x_t`, per head.

    x: ``[B, T, H, P]``, dt (:math:`\Delta > 0`): ``[B, T, H]``, A (:math:`a < 0`): ``[H]``, B, C:
    ``[B, T, N]`` (one group shared by the heads), D: ``[H]``; ``initial_state``: ``[B, H, N, P]``.
    Returns ``(y [B, T, H, P], h_T [B, H, N, P])``.
    """
    Bsz, T, H, _P, n = _check_ssd(x, dt, A, B, C, D)
    q = C[:, :, None, :].expand(Bsz, T, H, n)
    k = B[:, :, None, :].expand(Bsz, T, H, n)
    y, S = dispatch.diag_scan(
        q, k, dt[..., None] * x, dt * A, scale=1.0, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )
    if D is not None:
        y = y + D[:, None] * x
    return y, S


def ssd_reference(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The SSD recurrence of Dao & Gu (2024), one step at a time (layout ``[B, T, H, P]``)."""
    Bsz, T, H, P, n = _check_ssd(x, dt, A, B, C, D)
    x, dt, A, B, C = (z.to(dtype) for z in (x, dt, A, B, C))
    h = torch.zeros(Bsz, H, n, P, dtype=dtype) if initial_state is None else initial_state.to(dtype)
    ys = []
    for t in range(T):
        h = (
            torch.exp(dt[:, t] * A)[..., None, None] * h
            + dt[:, t, :, None, None] * B[:, t, None, :, None] * x[:, t, :, None, :]
        )
        ys.append(torch.einsum("bhnp,bn->bhp", h, C[:, t]))
    y = torch.stack(ys, 1)
    if D is not None:
        y = y + D.to(dtype)[:, None] * x
    return y, h


def retnet_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gamma: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""RetNet retention :math:`S_t = \gamma_h S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` (constant decay per head).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, gamma: ``[H]`` in ``(0, 1]``.  Returns ``(o, S_T)``.
    """
    V.tensor(gamma, "gamma", shape=(q.shape[2],), finite=False)
    g = torch.log(gamma.to(q.dtype))[None, None, :].expand(q.shape[0], q.shape[1], q.shape[2])
    return dispatch.diag_scan(
        q, k, v, g, scale=scale, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )


def retnet_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gamma: torch.Tensor,
    *,
    scale: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""RetNet's parallel form :math:`O = s\,[(QK^\top)\odot D]V`, :math:`D_{nm} = \gamma^{n-m}[m\le n]` (Sun et al. 2023)."""
    T, K = q.shape[1], q.shape[-1]
    s = K**-0.5 if scale is None else scale
    qf, kf, vf = (x.to(dtype).transpose(1, 2) for x in (q, k, v))
    n = torch.arange(T, dtype=dtype)
    expo = (n[:, None] - n[None, :]).clamp(min=0)
    Dm = gamma.to(dtype)[:, None, None] ** expo * torch.ones(T, T, dtype=dtype).tril()
    return (s * (qf @ kf.transpose(-1, -2)) * Dm @ vf).transpose(1, 2)


def gla_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gk: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gated linear attention :math:`S_t = \mathrm{diag}(\alpha_t)S_{t-1} + k_tv_t^\top`, ``gk`` :math:`= \log\alpha_t` ``[B, T, H, K]``."""
    return dispatch.diag_scan(
        q, k, v, gk, scale=scale, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )


def default_retnet_gammas(H: int) -> torch.Tensor:
    r"""RetNet's per-head decays :math:`\gamma_h = 1 - 2^{-5-h}` (Sun et al. 2023), ``[H]`` float64."""
    return torch.tensor([1 - math.pow(2, -5 - h) for h in range(H)], dtype=torch.float64)
