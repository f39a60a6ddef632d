r"""State space models written from their own papers/code semantics (loops and masked forms, no DSF code).

Layout is time-major ``[..., L, channels]`` (Mamba's kernels use ``(B, D, L)``; only the axis order differs).

- :func:`selective_scan_ref`: Mamba's ``selective_scan_ref`` semantics (Gu & Dao 2023): softplus step,
  :math:`\bar A=e^{\Delta A}`, the *implemented* Euler input :math:`\bar B=\Delta b`, :math:`y=c^\top h+Du`.
- :func:`selective_scan_zoh`: the same loop with the exact ZOH input :math:`\bar B=A^{-1}(e^{\Delta A}-1)b` (Mamba eq. 4).
- :func:`s6_2_ref`: the DSF paper's "SSD" mixer (``S6_2``): one scalar :math:`A=-e^{A_{\log}}`, one scalar step
  :math:`w^\top u_i` per time step, repeated across channels, plus a per-channel bias.
- :func:`ssd_minimal_discrete`: a port of Mamba-2's ``ssd_minimal_discrete`` (Dao & Gu 2024, Listing 1).
- :func:`mamba2_recurrent`: the SSD recurrence :math:`h_i=e^{\Delta_ia}h_{i-1}+\Delta_i b_ix_i^\top` per head.
- :func:`retention_parallel`: RetNet's parallel retention :math:`(QK^\top\odot D)V`, :math:`D_{ij}=\gamma^{i-j}`.
- :func:`gla_recurrent`: gated linear attention :math:`S_i=\mathrm{diag}(\alpha_i)S_{i-1}+k_iv_i^\top`, :math:`o_i=sS_i^\top q_i`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "gla_recurrent",
    "mamba2_recurrent",
    "retention_parallel",
    "s6_2_ref",
    "selective_scan_ref",
    "selective_scan_zoh",
    "ssd_minimal_discrete",
]


def _delta(delta: torch.Tensor, delta_bias: torch.Tensor | None, delta_softplus: bool) -> torch.Tensor:
    if delta_bias is not None:
        delta = delta + delta_bias
    return F.softplus(delta) if delta_softplus else delta


def selective_scan_ref(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    r"""Mamba's reference selective scan: :math:`h_i=e^{\Delta_iA}\odot h_{i-1}+\Delta_i b_i u_i`, :math:`y_i=h_i c_i+Du_i`.

    u, delta: ``[..., L, d]``; A: ``[d, n]``; B, C: ``[..., L, n]``; D: ``[d]``.  Returns ``[..., L, d]``.
    """
    delta = _delta(delta, delta_bias, delta_softplus)
    deltaA = torch.exp(delta[..., :, :, None] * A)  # [..., L, d, n]
    deltaB_u = delta[..., :, :, None] * B[..., :, None, :] * u[..., :, :, None]
    x = torch.zeros_like(deltaA[..., 0, :, :])
    ys = []
    for i in range(u.shape[-2]):
        x = deltaA[..., i, :, :] * x + deltaB_u[..., i, :, :]
        ys.append((x * C[..., i, None, :]).sum(-1))
    y = torch.stack(ys, dim=-2)
    return y if D is None else y + u * D


def selective_scan_zoh(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
) -> torch.Tensor:
    r"""Selective scan with exact zero-order hold: :math:`\bar B=(e^{\Delta A}-1)A^{-1}b` (A entries < 0)."""
    delta = _delta(delta, delta_bias, delta_softplus)
    x = torch.zeros(*u.shape[:-2], *A.shape, dtype=u.dtype, device=u.device)
    ys = []
    for i in range(u.shape[-2]):
        dA = delta[..., i, :, None] * A
        gain = torch.expm1(dA) / A  # ZOH: ∫_0^Δ e^{A s} ds
        x = torch.exp(dA) * x + gain * B[..., i, None, :] * u[..., i, :, None]
        ys.append((x * C[..., i, None, :]).sum(-1))
    y = torch.stack(ys, dim=-2)
    return y if D is None else y + u * D


def s6_2_ref(
    u: torch.Tensor,
    w_dt: torch.Tensor,
    dt_bias: torch.Tensor,
    A_log: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""The paper's SSD mixer (``zoology/mixers/mamba.py::S6_2`` of the official code) after its projections.

    ``S6_2`` projects each step to a *scalar* (``dt_rank = 1``), repeats it across the ``d`` channels
    (``torch.repeat_interleave(dt, d_model, dim=1)``; its ``dt_proj`` weight is never applied) and lets
    the selective scan add the per-channel bias before the softplus:
    :math:`\Delta^{(k)}_i=\mathrm{softplus}(w^\top u_i+\beta_k)`, with one scalar :math:`A=-e^{A_{\log}}`
    for every channel and state (``A_log`` times a ones matrix ``Id``), then the selective scan
    :func:`selective_scan_ref`.  u ``[..., L, d]``; ``w_dt`` :math:`w` ``[d]`` (the dt column of ``x_proj``);
    ``dt_bias`` :math:`\beta` ``[d]``; ``A_log`` a 0-d tensor or float; B, C ``[..., L, n]``; D ``[d]`` or None.
    """
    if not all(isinstance(t, torch.Tensor) for t in (u, w_dt, dt_bias, B, C)):
        raise TypeError("u, w_dt, dt_bias, B and C must be torch.Tensors")
    if u.dim() < 2:
        raise ValueError(f"u must have shape [..., L, d], got {list(u.shape)}")
    d = u.shape[-1]
    for name, t in (("w_dt", w_dt), ("dt_bias", dt_bias)):
        if tuple(t.shape) != (d,):
            raise ValueError(f"{name} must have shape [d={d}], got {list(t.shape)}")
    if B.shape[:-1] != u.shape[:-1] or C.shape != B.shape:
        raise ValueError(
            f"B and C must have shape [..., L, n] = {list(u.shape[:-1])} + [n], got {list(B.shape)}, {list(C.shape)}"
        )
    n = B.shape[-1]
    dt = (u @ w_dt)[..., None].expand(*u.shape)  # the scalar step repeated across channels
    A = -torch.exp(
        torch.as_tensor(A_log, dtype=u.dtype, device=u.device) * torch.ones(d, n, dtype=u.dtype, device=u.device)
    )
    return selective_scan_ref(u, dt, A, B, C, D, delta_bias=dt_bias, delta_softplus=True)


def _segsum(x: torch.Tensor) -> torch.Tensor:
    """Stable segment sum (Mamba-2 Listing 1): out[..., i, j] = sum_{j<l<=i} x_l, -inf for j > i."""
    T = x.shape[-1]
    x = x[..., None].repeat_interleave(T, dim=-1)
    x = x.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1), 0)
    x = x.cumsum(-2)
    return x.masked_fill(~torch.ones(T, T, dtype=torch.bool, device=x.device).tril(0), float("-inf"))


def ssd_minimal_discrete(
    X: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor, block_len: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba-2's chunked SSD (port of ``ssd_minimal_discrete``): X ``[b, L, h, p]``, A ``[b, L, h]``, B, C ``[b, L, h, n]``.

    Called with ``(X * dt, A * dt, B, C)``; ``L`` must be a multiple of ``block_len``.  Returns ``(Y, final_state)``.
    """
    b, L, h, p = X.shape
    c = L // block_len
    X, A, B, C = (t.reshape(b, c, block_len, *t.shape[2:]) for t in (X, A, B, C))
    A = A.permute(0, 3, 1, 2)  # b h c l
    A_cum = A.cumsum(-1)
    Lmask = torch.exp(_segsum(A))  # b h c l s
    Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, Lmask, X)
    decay_states = torch.exp(A_cum[..., -1:] - A_cum)
    states = torch.einsum("bclhn,bhcl,bclhp->bchpn", B, decay_states, X)
    states = torch.cat([torch.zeros_like(states[:, :1]), states], dim=1)
    decay_chunk = torch.exp(_segsum(F.pad(A_cum[..., -1], (1, 0))))
    new_states = torch.einsum("bhzc,bchpn->bzhpn", decay_chunk, states)
    states, final = new_states[:, :-1], new_states[:, -1]
    Y_off = torch.einsum("bclhn,bchpn,bhcl->bclhp", C, states, torch.exp(A_cum))
    return (Y_diag + Y_off).reshape(b, L, h, p), final


def mamba2_recurrent(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    dt_bias: torch.Tensor | None = None,
    dt_softplus: bool = False,
) -> torch.Tensor:
    r"""Mamba-2 SSD recurrence: :math:`h^{(h)}_i=e^{\Delta^{(h)}_ia_h}h^{(h)}_{i-1}+\Delta^{(h)}_ib_ix^{(h)\top}_i`, :math:`y^{(h)}_i=h^{(h)\top}_ic_i+D_hx^{(h)}_i`.

    x ``[..., L, H, P]``, dt ``[..., L, H]``, A ``[H]``, B, C ``[..., L, n]`` (one group), D ``[H]``.
    """
    dt = _delta(dt, dt_bias, dt_softplus)
    h = torch.zeros(
        *x.shape[:-3], x.shape[-2], B.shape[-1], x.shape[-1], dtype=x.dtype, device=x.device
    )  # [..., H, n, P]
    ys = []
    for i in range(x.shape[-3]):
        decay = torch.exp(dt[..., i, :] * A)[..., None, None]
        h = decay * h + dt[..., i, :, None, None] * B[..., i, None, :, None] * x[..., i, :, None, :]
        ys.append((h * C[..., i, None, :, None]).sum(-2))
    y = torch.stack(ys, dim=-3)
    return y if D is None else y + D[:, None] * x


def retention_parallel(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, gamma: torch.Tensor | float, scale: float | None = None
) -> torch.Tensor:
    r"""Parallel retention (Sun et al. 2023): :math:`O=(sQK^\top\odot D)V`, :math:`D_{ij}=\gamma^{i-j}[i\ge j]`.

    q, k ``[..., L, K]``, v ``[..., L, V]``, gamma broadcastable to ``q.shape[:-2]``; scale defaults to :math:`K^{-1/2}`.
    """
    s = q.shape[-1] ** -0.5 if scale is None else scale
    L = q.shape[-2]
    idx = torch.arange(L, device=q.device, dtype=q.dtype)
    diff = idx[:, None] - idx[None, :]
    g = torch.as_tensor(gamma, dtype=q.dtype, device=q.device)[..., None, None]
    Dm = torch.where(diff >= 0, g ** diff.clamp(min=0), torch.zeros((), dtype=q.dtype))
    return (s * (q @ k.transpose(-1, -2)) * Dm) @ v


def gla_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, log_alpha: torch.Tensor, scale: float | None = None
) -> torch.Tensor:
    r"""Gated linear attention (Yang et al. 2024), recurrent form with a key-wise gate :math:`\alpha_i=e^{g_i}`.

    q, k, log_alpha ``[..., L, K]``, v ``[..., L, V]``; :math:`S_i=\mathrm{diag}(\alpha_i)S_{i-1}+k_iv_i^\top`, :math:`o_i=sS_i^\top q_i`.
    """
    s = q.shape[-1] ** -0.5 if scale is None else scale
    S = torch.zeros(*q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device)
    outs = []
    for i in range(q.shape[-2]):
        S = torch.exp(log_alpha[..., i, :, None]) * S + k[..., i, :, None] * v[..., i, None, :]
        outs.append(s * (q[..., i, :, None] * S).sum(-2))
    return torch.stack(outs, dim=-2)
