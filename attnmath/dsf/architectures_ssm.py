r"""DSF constructors for selective SSMs and gated linear attention (Sieber et al. 2024, eq. (19) and §4.2; GLA, RetNet).

- :func:`s6_dsf`: S6/Mamba, :math:`\Lambda_i=\mathrm{diag}_k(e^{\Delta^{(k)}_ia^{(k)}})`,
  :math:`B_i=\mathrm{diag}(\Delta_i)\otimes b_i` (Euler, as implemented) or
  :math:`\mathrm{diag}_k(\Delta^{(k)}_i\varphi_1(\Delta^{(k)}_ia^{(k)}))\,(I\otimes b_i)` (ZOH),
  :math:`C_i=I_d\otimes c_i^\top`, :math:`D_i=\mathrm{diag}(D)`; state :math:`N=nd`, index :math:`k n + r`.
- :func:`ssd_paper_dsf`: the paper's "SSD" (``S6_2``): scalar :math:`A`, a scalar step repeated across channels.
- :func:`mamba2_ssd_dsf`: Mamba-2 SSD per head (heads become a leading batch axis).
- :func:`gla_dsf`: :math:`S_i=\mathrm{diag}(\alpha_i)S_{i-1}+k_iv_i^\top`, :math:`o_i=sS_i^\top q_i` with a scalar
  (simple GLA / Mamba-2 type) or key-wise (GLA) gate; :func:`retnet_dsf` is the constant :math:`\gamma_h`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import validation as V
from ..base.numerics import (
    phi1,  # one implementation: expm1(z)/z, phi1(0) = 1 (claims dsf.zoh-vs-euler, stiffness.exact-gate)
)
from . import _checks
from .core import DSF
from .features import _kron_eye_col, _kron_eye_row

DISCRETIZATIONS = ("euler", "zoh")
__all__ = ["DISCRETIZATIONS", "gla_dsf", "mamba2_ssd_dsf", "phi1", "retnet_dsf", "s6_dsf", "ssd_paper_dsf"]


def s6_dsf(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    *,
    discretization: str = "euler",
) -> DSF:
    r"""S6 (Mamba's selective SSM) as a diagonal DSF (the paper's eq. (19)).

    u, delta: ``[..., L, d]``; A: ``[d, n]`` (negative); B, C: ``[..., L, n]``; D: ``[d]`` or None.
    ``discretization="euler"`` is Mamba's implemented :math:`\bar B=\Delta b`; ``"zoh"`` the exact
    :math:`\bar B=\varphi_1(\Delta A)\Delta b`.  Claims ``dsf.native.s6``, ``dsf.s6-is-d-head-attention``.
    """
    V.choice(discretization, "discretization", DISCRETIZATIONS)
    delta_softplus = V.flag(delta_softplus, "delta_softplus")
    _checks.min_ndim(V.tensor(u, "u"), "u", 2, "[..., L, d]")
    *batch, L, d = u.shape
    _checks.matching(delta, "delta", u, "u", u.shape)
    _checks.matching(A, "A", u, "u", (d, None), what=f"u's width d = {d} (u has shape {list(u.shape)})")
    n = A.shape[1]
    lengths = f"u (shape {list(u.shape)}) and A (shape {list(A.shape)}): [..., L, n]"
    _checks.matching(B, "B", u, "u", (*batch, L, n), what=lengths)
    _checks.matching(C, "C", u, "u", (*batch, L, n), what=lengths)
    if D is not None:
        _checks.matching(D, "D", u, "u", (d,), what=f"u's width d = {d}")
    if delta_bias is not None:
        _checks.matching(delta_bias, "delta_bias", u, "u", (d,), what=f"u's width d = {d}")
    if delta_bias is not None:
        delta = delta + delta_bias
    if delta_softplus:
        delta = F.softplus(delta)
    dA = delta[..., None] * A  # [..., L, d, n]
    lam = torch.exp(dA).reshape(*batch, L, d * n)
    gain = delta[..., None] * (phi1(dA) if discretization == "zoh" else torch.ones_like(dA))  # [..., L, d, n]
    eye = torch.eye(d, dtype=u.dtype, device=u.device)
    Bm = (gain * B[..., None, :])[..., :, :, None] * eye[:, None, :]  # [..., L, d, n, d]
    Bm = Bm.reshape(*batch, L, d * n, d)
    Cm = _kron_eye_row(C, d)
    Dm = None if D is None else torch.diag(D).expand(*batch, L, d, d)
    return DSF(lam, Bm, Cm, Dm, structure="diagonal")


def ssd_paper_dsf(
    u: torch.Tensor,
    w_dt: torch.Tensor,
    dt_bias: torch.Tensor,
    A_log: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    discretization: str = "euler",
) -> DSF:
    r"""The paper's "SSD" (official ``S6_2``): :math:`A=-e^{A_{\log}}` shared by every channel and state,
    :math:`\Delta^{(k)}_i=\mathrm{softplus}(w^\top u_i+\beta_k)` (one scalar step per time step, repeated
    across the channels, plus a per-channel bias; no per-channel factor).

    u ``[..., L, d]``, ``w_dt`` and ``dt_bias`` ``[d]``, ``A_log`` a float or 0-d tensor, B, C ``[..., L, n]``.
    With :math:`A_{\log}=0` (init), :math:`\Lambda_i=e^{-\mathrm{softplus}(z)}=\sigma(-z)`, the reversed
    sigmoid (the paper's eq. (23)).  Claim ``dsf.native.ssd-paper``.
    """
    _checks.min_ndim(V.tensor(u, "u"), "u", 2, "[..., L, d]")
    d = u.shape[-1]
    width = f"u's width d = {d} (u has shape {list(u.shape)})"
    _checks.matching(w_dt, "w_dt", u, "u", (d,), what=width)
    _checks.matching(dt_bias, "dt_bias", u, "u", (d,), what=width)
    _checks.matching(B, "B", u, "u", (*u.shape[:-1], None))
    _checks.matching(C, "C", B, "B", B.shape)
    if D is not None:
        _checks.matching(D, "D", u, "u", (d,), what=width)
    if isinstance(A_log, torch.Tensor):
        _checks.matching(A_log, "A_log", u, "u", (), what="a scalar")
    else:
        A_log = V.real(A_log, "A_log")
    _checks.exponent(A_log, "A_log", u.dtype)  # A = -exp(A_log) must stay finite
    n = B.shape[-1]
    dt = (u @ w_dt)[..., None].expand(*u.shape)
    A = -torch.exp(torch.as_tensor(A_log, dtype=u.dtype) * torch.ones(d, n, dtype=u.dtype, device=u.device))
    return s6_dsf(u, dt, A, B, C, D, delta_bias=dt_bias, delta_softplus=True, discretization=discretization)


def mamba2_ssd_dsf(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = False,
) -> DSF:
    r"""Mamba-2 SSD as a DSF per head: batch ``[..., H]``, :math:`\Lambda_i=e^{\Delta^{(h)}_ia_h}` (scalar),
    :math:`B_i=\Delta^{(h)}_i(I_P\otimes b_i)`, :math:`C_i=I_P\otimes c_i^\top`, :math:`D_i=D_hI_P`.

    x ``[..., L, H, P]``, dt ``[..., L, H]``, A ``[H]``, B, C ``[..., L, n]``.  The DSF's input and output
    are head-major: ``x.movedim(-2, -3)`` (``[..., H, L, P]``).  Claim ``dsf.ssd-duality``.
    """
    dt_softplus = V.flag(dt_softplus, "dt_softplus")
    _checks.min_ndim(V.tensor(x, "x"), "x", 3, "[..., L, H, P]")
    *batch, L, H, P = x.shape
    _checks.matching(dt, "dt", x, "x", (*batch, L, H))
    heads = f"x's heads H = {H} (x has shape {list(x.shape)})"
    _checks.matching(A, "A", x, "x", (H,), what=heads)
    _checks.matching(B, "B", x, "x", (*batch, L, None))
    _checks.matching(C, "C", B, "B", B.shape)
    if D is not None:
        _checks.matching(D, "D", x, "x", (H,), what=heads)
    if dt_bias is not None:
        _checks.matching(dt_bias, "dt_bias", x, "x", (H,), what=heads)
    if dt_bias is not None:
        dt = dt + dt_bias
    if dt_softplus:
        dt = F.softplus(dt)
    dt_h = dt.movedim(-1, -2)  # [..., H, L]
    lam = torch.exp(dt_h * A[:, None])
    Bh = B[..., None, :, :].expand(*batch, H, L, B.shape[-1])
    Ch = C[..., None, :, :].expand(*batch, H, L, C.shape[-1])
    Bm = dt_h[..., None, None] * _kron_eye_col(Bh, P)
    Cm = _kron_eye_row(Ch, P)
    Dm = None
    if D is not None:
        Dm = (D[:, None, None, None] * torch.eye(P, dtype=x.dtype, device=x.device)).expand(*batch, H, L, P, P)
    return DSF(lam, Bm, Cm, Dm, structure="scalar")


def gla_dsf(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_gate: torch.Tensor, scale: float | None = None
) -> DSF:
    r"""Gated linear attention as a DSF with input :math:`v`: :math:`\Lambda_i=I_{V}\otimes\mathrm{diag}(e^{g_i})`,
    :math:`B_i=I_V\otimes k_i`, :math:`C_i=s(I_V\otimes q_i^\top)`.

    q, k ``[..., L, K]``, v ``[..., L, V]``; ``log_gate`` :math:`g\le0`: ``[..., L]`` (scalar gate, simple
    GLA/Mamba-2/RetNet type, structure ``"scalar"``) or ``[..., L, K]`` (GLA, ``"diagonal"``).
    ``scale`` defaults to :math:`K^{-1/2}` (fla's convention).  Claim ``dsf.native.gla``.
    """
    _checks.qkv(q, k, v)
    V.tensor_like(log_gate, "log_gate", q, "q")
    _checks.exponent(log_gate, "log_gate", q.dtype)  # the gate exp(log_gate) must stay finite
    s = q.shape[-1] ** -0.5 if scale is None else V.real(scale, "scale", positive=True)
    Vd = v.shape[-1]
    if tuple(log_gate.shape) == tuple(q.shape[:-1]):
        lam, structure = torch.exp(log_gate), "scalar"
    elif tuple(log_gate.shape) == tuple(q.shape):
        lam, structure = torch.exp(log_gate).repeat(*([1] * (q.dim() - 1)), Vd), "diagonal"
    else:
        raise ValueError(
            f"log_gate must have shape {list(q.shape[:-1])} (scalar) or {list(q.shape)} (key-wise), got {list(log_gate.shape)}"
        )
    return DSF(lam, _kron_eye_col(k, Vd), s * _kron_eye_row(q, Vd), structure=structure)


def retnet_dsf(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gamma: torch.Tensor | float, scale: float | None = None
) -> DSF:
    r"""RetNet: :math:`\Lambda=\gamma_hI` constant per head (q, k, v ``[..., H, L, *]``, gamma ``[H]``-broadcastable); claim ``dsf.native.retnet``.

    ``gamma``: a number or a tensor broadcasting to ``q.shape[:-2]``, every entry in :math:`(0, 1]`.  Raises
    ``TypeError``/``ValueError`` naming ``gamma`` otherwise (a list, a wrong dtype or shape, a value outside).
    """
    q = _checks.qkv(q, k, v)
    if isinstance(gamma, torch.Tensor):
        V.has_data(V.tensor_like(gamma, "gamma", q, "q"), "gamma")
        _checks.broadcasts_to(gamma, "gamma", q.shape[:-2], f"q's leading shape [..., H] (q has shape {list(q.shape)})")
    else:
        V.real(gamma, "gamma")
    g = torch.as_tensor(gamma, dtype=q.dtype, device=q.device)
    if bool((g <= 0).any()) or bool((g > 1).any()):
        raise ValueError(f"gamma must lie in (0, 1], got {g.tolist()}")
    log_gate = torch.log(g)[..., None].expand(q.shape[:-1]).clone()
    return gla_dsf(q, k, v, log_gate, scale)
