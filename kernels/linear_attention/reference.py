r"""Causal linear attention written literally: the step-by-step recurrence and the quadratic masked form.

Recurrence (one head; :math:`q_t, k_t \in \mathbb R^K`, :math:`v_t \in \mathbb R^V`, state
:math:`S_t \in \mathbb R^{K\times V}`, scale :math:`s`):

.. math::  S_t = S_{t-1} + k_t v_t^\top,\qquad o_t = s\,S_t^\top q_t,\qquad S_0 = h_0 .

With ``normalize=True`` a normaliser state :math:`z_t = z_{t-1} + k_t` (:math:`z_0` given) divides
the output, :math:`o_t = S_t^\top q_t / (q_t^\top z_t)` (the scale cancels; use positive feature
maps so that the denominator is positive: a denominator ``<= 0`` raises ``ValueError``).  Without the normaliser this is linear attention
(Katharopoulos et al. 2020) as a DSF with :math:`\Lambda_t = I` (Sieber et al. 2024, eqs. (15)-(16)).

Layout ``[B, T, H, D]``.  These loops are the references the chunked and Triton forms are tested
against (claims ``kernels.linear-attention-chunked-form``, ``kernels.normalizer-is-a-value-column``).
"""

from __future__ import annotations

import torch

from attnmath.base.memory import check_quadratic_memory

from .._common import check_positive_denominator, check_qkv, check_state, resolve_scale


def _split_state(
    initial_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None,
    normalize: bool,
    B: int,
    H: int,
    K: int,
    V: int,
    q: torch.Tensor,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    if initial_state is None:
        return None, None
    if normalize:
        if not (isinstance(initial_state, tuple) and len(initial_state) == 2):
            raise TypeError("initial_state must be a tuple (S0 [B, H, K, V], z0 [B, H, K]) when normalize=True")
        S0, z0 = initial_state
        return check_state(S0, "initial_state[0]", (B, H, K, V), q), check_state(z0, "initial_state[1]", (B, H, K), q)
    # a tuple without normalize is rejected by check_state (TypeError: initial_state must be a torch.Tensor)
    return check_state(initial_state, "initial_state", (B, H, K, V), q), None  # type: ignore[arg-type]


def linear_attention_recurrent(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | tuple[torch.Tensor, torch.Tensor] | None = None,
    normalize: bool = False,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor | tuple[torch.Tensor, torch.Tensor]]:
    r"""The recurrence :math:`S_t = S_{t-1} + k_t v_t^\top`, :math:`o_t = s\,S_t^\top q_t`, one step at a time.

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``; ``initial_state``: ``[B, H, K, V]`` (a tuple
    ``(S0, z0 [B, H, K])`` when ``normalize``).  Computes in ``dtype`` (fp32 or fp64).  Returns
    ``(o [B, T, H, V]`` in q's dtype, ``final_state)``, the final state in ``dtype`` (a tuple
    ``(S_T, z_T)`` when ``normalize``).  ``scale=None`` means ``K**-0.5``.
    """
    B, T, H, K, V = check_qkv(q, k, v)
    s = resolve_scale(scale, K)
    S0, z0 = _split_state(initial_state, normalize, B, H, K, V, q)
    qf, kf, vf = (x.to(dtype) for x in (q, k, v))
    S = torch.zeros(B, H, K, V, dtype=dtype, device=q.device) if S0 is None else S0.to(dtype).clone()
    z = torch.zeros(B, H, K, dtype=dtype, device=q.device) if z0 is None else z0.to(dtype).clone()
    o = torch.zeros(B, T, H, V, dtype=dtype, device=q.device)
    dens = []
    for t in range(T):
        S = S + torch.einsum("bhk,bhv->bhkv", kf[:, t], vf[:, t])
        out = s * torch.einsum("bhkv,bhk->bhv", S, qf[:, t])
        if normalize:
            z = z + kf[:, t]
            dens.append(s * torch.einsum("bhk,bhk->bh", z, qf[:, t])[..., None])
            out = out / dens[-1]
        o[:, t] = out
    if normalize and T:
        check_positive_denominator(torch.stack(dens, dim=1).detach())
    return o.to(q.dtype), ((S, z) if normalize else S)


def linear_attention_quadratic(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    r"""The quadratic masked form :math:`O = s\,[(QK^\top)\odot M]\,V + s\,Q h_0`, :math:`M_{ij} = [j \le i]`.

    Same shapes as :func:`linear_attention_recurrent` (no normaliser); memory ``O(B H T^2)``.
    Returns ``o [B, T, H, V]`` in q's dtype.
    """
    B, T, H, K, V = check_qkv(q, k, v)
    s = resolve_scale(scale, K)
    S0 = check_state(initial_state, "initial_state", (B, H, K, V), q)
    check_quadratic_memory(
        "linear_attention_quadratic",
        2 * B * H * T * T * torch.finfo(dtype).bits // 8,  # the scores and their masked copy
        alternative="attnmath.kernels.linear_attention (chunked) or linear_attention_recurrent",
        device=q.device,
    )
    qf, kf, vf = (x.to(dtype).transpose(1, 2) for x in (q, k, v))  # [B, H, T, D]
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    o = (qf @ kf.transpose(-1, -2)).masked_fill(~mask, 0) @ vf
    if S0 is not None:
        o = o + qf @ S0.to(dtype)
    return (s * o).transpose(1, 2).to(q.dtype)
