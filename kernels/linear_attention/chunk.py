r"""Chunked causal linear attention in PyTorch: forward and a hand-written backward.

Split time into chunks of ``C`` steps; chunk ``n`` holds rows :math:`Q_n, K_n \in \mathbb R^{C\times K}`,
:math:`V_n \in \mathbb R^{C\times V}`, and enters with state :math:`S_n` (``S_0 = h_0``).  Then

.. math::
    O_n = s\,\big(Q_n S_n + [(Q_n K_n^\top)\odot M]\,V_n\big),\qquad
    S_{n+1} = S_n + K_n^\top V_n ,

the first term is the inter-chunk (state) part, the second the intra-chunk masked product
(:math:`M_{ij} = [j\le i]`).  Without decay the chunk states are an exclusive prefix sum of
:math:`K_n^\top V_n`, so no loop is needed; cost :math:`O(T C (K+V) + T K V)`, linear in ``T``.

Backward, with :math:`dS_{n}^{\rm out}` the gradient of the state leaving chunk ``n``
(:math:`= dS_T + s\sum_{m>n} Q_m^\top dO_m`):

.. math::
    dQ_n = s\,(dO_n S_n^\top + [(dO_n V_n^\top)\odot M] K_n),\quad
    dK_n = s\,[(dO_n V_n^\top)\odot M]^\top Q_n + V_n (dS_n^{\rm out})^\top,\quad
    dV_n = s\,[(Q_n K_n^\top)\odot M]^\top dO_n + K_n\, dS_n^{\rm out},

and :math:`dh_0 = dS_T + s\sum_n Q_n^\top dO_n`.  Forward and backward stream over groups of about
512 steps (whole chunks), carrying the state (forward) and its gradient (backward) between groups.
Claim ``kernels.linear-attention-chunked-form``.
"""

from __future__ import annotations

from typing import Any

import torch

from attnmath.base.chunks import CHUNK_SIZE, check_chunk_size

from .._common import (
    causal_mask,
    check_qkv,
    check_state,
    compute_dtype,
    from_chunks,
    group_len,
    resolve_scale,
    to_chunks,
)


def _state_passing(kv: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """States entering each chunk, ``S_n = h_0 + sum_{m<n} K_m^T V_m`` ([B, H, N, K, V]), and the final state."""
    csum = kv.cumsum(2)
    states = torch.cat([torch.zeros_like(kv[:, :, :1]), csum[:, :, :-1]], dim=2)
    final = csum[:, :, -1]
    if h0 is not None:
        states = states + h0[:, :, None]
        final = final + h0
    return states, final


def _forward_group(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, h0: torch.Tensor | None, scale: float, C: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """One group of whole chunks: ``(o`` in q's dtype, state leaving the group``)``; h0 in the compute dtype or None."""
    dt = compute_dtype(q.dtype)
    qc, kc, vc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v))  # one copy each, reused twice
    states, final = _state_passing(kc.transpose(-1, -2) @ vc, h0)
    A = (qc @ kc.transpose(-1, -2)).masked_fill_(~causal_mask(C, q.device), 0)
    o = (qc @ states).add_(A @ vc).mul_(scale)  # in place: no autograd graph inside the Function
    return from_chunks(o, q.shape[1]).to(q.dtype), final


def _backward_group(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    h0: torch.Tensor | None,
    do: torch.Tensor,
    dht: torch.Tensor,
    scale: float,
    C: int,
) -> tuple[torch.Tensor, ...]:
    """Gradients of one group given the gradient ``dht`` of the state leaving it; returns ``dq, dk, dv, dh0``."""
    s, T = scale, q.shape[1]
    dt = compute_dtype(q.dtype)
    qc, kc, vc, doc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v, do))
    states, _ = _state_passing(kc.transpose(-1, -2) @ vc, h0)
    mask = causal_mask(C, q.device)
    dA = (doc @ vc.transpose(-1, -2)).masked_fill(~mask, 0)
    A = (qc @ kc.transpose(-1, -2)).masked_fill(~mask, 0)
    qdo = s * qc.transpose(-1, -2) @ doc  # [B, H, N, K, V]: each chunk's pull on the states before it
    rev = qdo.flip(2).cumsum(2).flip(2)  # sum_{m >= n}
    dS_out = torch.cat([rev[:, :, 1:], torch.zeros_like(rev[:, :, :1])], dim=2) + dht[:, :, None]  # dS_T + sum_{m > n}
    dq = s * (doc @ states.transpose(-1, -2) + dA @ kc)
    dk = s * dA.transpose(-1, -2) @ qc + vc @ dS_out.transpose(-1, -2)
    dv = s * A.transpose(-1, -2) @ doc + kc @ dS_out
    return (*(from_chunks(x, T).to(q.dtype) for x in (dq, dk, dv)), dht + rev[:, :, 0])


class ChunkLinearAttentionFunction(torch.autograd.Function):
    """``(q, k, v, h0) -> (o, S_T)`` with the chunked forward and the hand-written backward above.

    Time is processed in groups of whole chunks (about 512 steps) with the state carried between
    groups: the same algebra, but every intermediate of a group stays in cache.
    """

    @staticmethod
    def forward(
        ctx: Any,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        h0: torch.Tensor | None,
        scale: float,
        chunk_size: int,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        dt = compute_dtype(q.dtype)
        G, T = group_len(chunk_size), q.shape[1]
        h = None if h0 is None else h0.to(dt)
        outs, entering = [], []
        for start in range(0, T, G):
            entering.append(h)
            o, h = _forward_group(
                q[:, start : start + G], k[:, start : start + G], v[:, start : start + G], h, scale, chunk_size
            )
            outs.append(o)
        ctx.save_for_backward(q, k, v, h0)
        ctx.entering = entering  # states at group starts: n_groups x [B, H, K, V]
        ctx.scale, ctx.C = scale, chunk_size
        return torch.cat(outs, dim=1), h

    @staticmethod
    def backward(
        ctx: Any, do: torch.Tensor, dht: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, None, None]:
        q, k, v, h0 = ctx.saved_tensors
        G, T, C = group_len(ctx.C), q.shape[1], ctx.C
        dt = compute_dtype(q.dtype)
        B, _, H, K = q.shape
        dS = torch.zeros(B, H, K, v.shape[-1], dtype=dt, device=q.device) if dht is None else dht.to(dt)
        parts = []
        for i, start in reversed(list(enumerate(range(0, T, G)))):
            sl = slice(start, start + G)
            dq, dk, dv, dS = _backward_group(q[:, sl], k[:, sl], v[:, sl], ctx.entering[i], do[:, sl], dS, ctx.scale, C)
            parts.append((dq, dk, dv))
        dq, dk, dv = (torch.cat([p[j] for p in reversed(parts)], dim=1) for j in range(3))
        return dq, dk, dv, (None if h0 is None else dS.to(h0.dtype)), None, None


def chunk_linear_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Chunked causal linear attention :math:`o_t = s\,(h_0 + \sum_{j\le t} k_j v_j^\top)^\top q_t` (PyTorch).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, ``initial_state``: ``[B, H, K, V]`` or ``None``;
    ``chunk_size`` a power of two.  Returns ``(o [B, T, H, V]`` in q's dtype, ``S_T [B, H, K, V]``
    in fp32/fp64``)``; differentiable in q, k, v and the initial state.  No normaliser here: see
    :func:`attnmath.kernels.dispatch.linear_attention` (``normalize=True``).
    """
    B, _T, H, K, V = check_qkv(q, k, v)
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, V), q)
    C = check_chunk_size(chunk_size, power_of_two=True)
    return ChunkLinearAttentionFunction.apply(q, k, v, h0, s, C)
