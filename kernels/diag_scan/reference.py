r"""The time-varying diagonal recurrence (GLA form) written literally, and its quadratic masked form.

One head, state :math:`S_t \in \mathbb R^{K\times V}`, log-decay :math:`g_t \le 0` (per key, or one
scalar per head and step), scale :math:`s`:

.. math::  S_t = \mathrm{diag}(e^{g_t})\,S_{t-1} + k_t v_t^\top,\qquad o_t = s\,S_t^\top q_t,\qquad S_0 = h_0 .

This is the diagonal DSF :math:`h_t = \Lambda_t h_{t-1} + B_t u_t`, :math:`y_t = C_t h_t` with
:math:`\Lambda_t = I_V \otimes \mathrm{diag}(e^{g_t})` (the DSF is eq. (11) of Sieber et al. 2024): S6
(one head per channel, ``V = 1``), Mamba-2/SSD and RetNet (scalar ``g``), GLA (per-key ``g``); the
kernels chapter maps them onto this scan (:mod:`attnmath.fastforms.instances`).  Unrolled, with :math:`G_t = \sum_{l\le t} g_l`,

.. math::  o_i = s\sum_{j\le i} \big(q_i \odot e^{G_i - G_j}\big)^\top k_j\; v_j + s\,(q_i\odot e^{G_i})^\top h_0 ,

whose decays :math:`e^{G_i-G_j}` (:math:`j\le i`) are products of :math:`e^{g_l}` over
:math:`l = j+1..i` (the input of step :math:`j` enters after the transition of its own step, as the
recurrence says).
Layout ``[B, T, H, D]``; ``g``: ``[B, T, H, K]`` or ``[B, T, H]``.
"""

from __future__ import annotations

import torch

from attnmath.base import validation as V
from attnmath.base.memory import check_quadratic_memory

from .._common import check_qkv, check_state, resolve_scale


def check_g(g: torch.Tensor, q: torch.Tensor, *, finite: bool = True) -> bool:
    """Validate the log-decay ``g <= 0``: ``[B, T, H, K]`` (per key) or ``[B, T, H]`` (scalar); return ``scalar``.

    A positive ``g`` is a growing state: the chunked form's within-chunk factors :math:`e^{-b}` assume
    :math:`b` non-increasing and overflow otherwise, so it is refused.  ``finite=False`` leaves the values
    (finite, ``<= 0``) to the caller, as :func:`attnmath.kernels._common.check_qkv` does.
    """
    V.tensor(g, "g", ndim=(3, 4), high=0.0, finite=finite)  # finite and <= 0 in one aminmax pass
    V.same_device("q", q, "g", g)
    B, T, H, K = q.shape
    if g.shape not in ((B, T, H, K), (B, T, H)):
        raise ValueError(
            f"g must have shape [B, T, H, K] = {[B, T, H, K]} or [B, T, H] = {[B, T, H]}, got {list(g.shape)}"
        )
    return g.ndim == 3


def diag_scan_recurrent(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The recurrence :math:`S_t = \mathrm{diag}(e^{g_t}) S_{t-1} + k_t v_t^\top`, :math:`o_t = s\,S_t^\top q_t`, step by step.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, g: ``[B, T, H, K]`` or ``[B, T, H]``,
    ``initial_state``: ``[B, H, K, V]``.  Computes in ``dtype``; returns ``(o`` in q's dtype,
    ``S_T`` in ``dtype)``.  ``scale=None`` means ``K**-0.5``.
    """
    B, T, H, K, Vd = check_qkv(q, k, v)
    scalar = check_g(g, q)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, Vd), q)
    qf, kf, vf, gf = (x.to(dtype) for x in (q, k, v, g))
    if scalar:
        gf = gf[..., None]  # [B, T, H, 1]: one decay for every key
    S = torch.zeros(B, H, K, Vd, dtype=dtype, device=q.device) if h0 is None else h0.to(dtype).clone()
    o = torch.zeros(B, T, H, Vd, dtype=dtype, device=q.device)
    for t in range(T):
        S = torch.exp(gf[:, t])[..., None] * S + torch.einsum("bhk,bhv->bhkv", kf[:, t], vf[:, t])
        o[:, t] = s * torch.einsum("bhkv,bhk->bhv", S, qf[:, t])
    return o.to(q.dtype), S


def diag_scan_quadratic(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    g: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""The masked ("attention") form :math:`o_i = s\sum_{j\le i} (q_i\odot e^{G_i-G_j})^\top k_j\,v_j + s(q_i\odot e^{G_i})^\top h_0`.

    The decay exponents :math:`G_i - G_j` are formed for :math:`j \le i` only (masked to
    :math:`-\infty` above the diagonal before ``exp``), so nothing overflows.  Memory
    ``O(B H T^2)`` for scalar ``g`` and ``O(B H T^2 K)`` per key.  Returns ``o [B, T, H, V]``.
    """
    B, T, H, K, Vd = check_qkv(q, k, v)
    scalar = check_g(g, q)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, Vd), q)
    check_quadratic_memory(
        "diag_scan_quadratic",
        3 * B * H * T * T * (1 if scalar else K) * torch.finfo(dtype).bits // 8,  # exponents, their exp, the scores
        alternative="attnmath.kernels.diag_scan (chunked) or diag_scan_recurrent",
        device=q.device,
    )
    qf, kf, vf = (x.to(dtype).transpose(1, 2) for x in (q, k, v))  # [B, H, T, D]
    G = g.to(dtype).transpose(1, 2).cumsum(2)  # [B, H, T(, K)]
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    if scalar:
        L = (G[..., :, None] - G[..., None, :]).masked_fill(~mask, float("-inf")).exp()
        A = (qf @ kf.transpose(-1, -2)) * L
        qdec = qf * G.exp()[..., None]
    else:
        E = (G[..., :, None, :] - G[..., None, :, :]).masked_fill(~mask[..., None], float("-inf")).exp()
        A = torch.einsum("bhik,bhjk,bhijk->bhij", qf, kf, E)
        qdec = qf * G.exp()
    o = A @ vf
    if h0 is not None:
        o = o + qdec @ h0.to(dtype)
    return (s * o).transpose(1, 2).to(q.dtype)
