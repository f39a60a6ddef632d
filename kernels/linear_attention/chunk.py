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
    causal_,
    check_finite,
    check_qkv,
    check_state,
    checks_by_group,
    compute_dtype,
    group_len,
    resolve_scale,
    scaled_chunks,
    to_chunks,
    write_chunks,
)


def _prefix_matrix(N: int, dtype: torch.dtype, device: torch.device, *, reverse: bool = False) -> torch.Tensor:
    """``[N, N]`` 0/1 matrix of the exclusive prefix sum over chunks, ``P_nm = [m < n]`` (``reverse``: the
    exclusive suffix sum, ``[m > n]``).

    A prefix sum over the chunk axis as one small matmul writes a fresh contiguous tensor in one pass, where
    ``cumsum`` over a middle axis, a shift (``cat``) and an add take three; every product is by 0 or 1, so
    each entry is a plain sum of the same terms.
    """
    ones = torch.ones(N, N, dtype=dtype, device=device)
    return ones.triu(1) if reverse else ones.tril(-1)


def _state_passing(kv: torch.Tensor, h0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """States entering each chunk, ``S_n = h_0 + sum_{m<n} K_m^T V_m`` ([B, H, N, K, V]), and the final state."""
    B, H, N, K, V = kv.shape
    flat = kv.reshape(B * H, N, K * V)
    P = _prefix_matrix(N, kv.dtype, kv.device).expand(B * H, N, N)
    if h0 is None:
        states = torch.bmm(P, flat)
    else:
        states = torch.baddbmm(h0.reshape(B * H, 1, K * V), P, flat)  # h0 + prefix, one pass
    states = states.view(B, H, N, K, V)
    return states, states[:, :, -1] + kv[:, :, -1]


def _forward_group(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    h0: torch.Tensor | None,
    scale: float,
    C: int,
    out: torch.Tensor,
) -> torch.Tensor:
    """One group of whole chunks: writes ``o`` (q's dtype) into ``out`` (the group's slice of the output, ``[B, G, H, V]``)
    and returns the state leaving the group; h0 in the compute dtype or None."""
    dt = compute_dtype(q.dtype)
    qc, kc, vc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v))  # one copy each, reused twice
    states, final = _state_passing(kc.transpose(-1, -2) @ vc, h0)
    A = causal_(qc @ kc.transpose(-1, -2))
    B, H, N = qc.shape[:3]
    M = B * H * N
    # s (Q S + A V): the sum fused into the second product, in place on the first (no copy of it)
    o = (qc @ states).view(M, C, -1).baddbmm_(A.view(M, C, C), vc.view(M, C, -1), beta=scale, alpha=scale)
    write_chunks(out, o.view(B, H, N, C, -1))
    return final


def _backward_group(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    h0: torch.Tensor | None,
    do: torch.Tensor,
    dht: torch.Tensor,
    scale: float,
    C: int,
    grads: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Gradients of one group given the gradient ``dht`` of the state leaving it: writes ``dq, dk, dv`` into
    ``grads`` (the group's slices of the full gradients) and returns the gradient of the state entering it.

    The scale is folded into ``dO`` once (``dO_s = s dO``): ``s (dO V^T)``, ``s Q^T dO``, ``s A^T dO`` are then
    plain products, and each gradient is one matmul plus one fused ``baddbmm``.
    """
    dt = compute_dtype(q.dtype)
    qc, kc, vc = (to_chunks(x.to(dt), C).contiguous() for x in (q, k, v))
    doc = scaled_chunks(do, C, dt, scale)  # s dO, never in place on the caller's dO
    B, H, N = qc.shape[:3]
    K, V = qc.shape[-1], vc.shape[-1]
    states, _ = _state_passing(kc.transpose(-1, -2) @ vc, h0)
    dA = causal_(doc @ vc.transpose(-1, -2))  # s (dO V^T), causal
    A = causal_(qc @ kc.transpose(-1, -2))
    qdo = (qc.transpose(-1, -2) @ doc).reshape(B * H, N, K * V)  # s Q_n^T dO_n: each chunk's pull on earlier states
    suffix = _prefix_matrix(N, dt, q.device, reverse=True).expand(B * H, N, N)
    dS_out = torch.baddbmm(dht.reshape(B * H, 1, K * V), suffix, qdo).view(B, H, N, K, V)  # dS_T + sum_{m > n}
    M = B * H * N

    def flat(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(M, *x.shape[-2:])

    dq = torch.baddbmm((doc @ states.transpose(-1, -2)).view(M, C, K), flat(dA), flat(kc))
    dk = torch.baddbmm((vc @ dS_out.transpose(-1, -2)).view(M, C, K), flat(dA).transpose(-1, -2), flat(qc))
    dv = torch.baddbmm((kc @ dS_out).view(M, C, V), flat(A).transpose(-1, -2), flat(doc))
    for out, x in zip(grads, (dq, dk, dv)):
        write_chunks(out, x.view(B, H, N, C, -1))
    return dS_out[:, :, 0] + qdo.view(B, H, N, K, V)[:, :, 0]


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
        out = torch.empty(*q.shape[:3], v.shape[-1], dtype=q.dtype, device=q.device)
        entering = []
        by_group = checks_by_group(q)  # else chunk_linear_attention checked the whole inputs
        for start in range(0, T, G):
            entering.append(h)
            sl = slice(start, start + G)
            if by_group:
                check_finite(q=q[:, sl], k=k[:, sl], v=v[:, sl])  # this group's part, while it is in cache
            h = _forward_group(q[:, sl], k[:, sl], v[:, sl], h, scale, chunk_size, out[:, sl])
        ctx.save_for_backward(q, k, v, h0)
        ctx.entering = entering  # states at group starts: n_groups x [B, H, K, V]
        ctx.scale, ctx.C = scale, chunk_size
        return out, h

    @staticmethod
    def backward(
        ctx: Any, do: torch.Tensor, dht: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, None, None]:
        q, k, v, h0 = ctx.saved_tensors
        G, T, C = group_len(ctx.C), q.shape[1], ctx.C
        dt = compute_dtype(q.dtype)
        B, _, H, K = q.shape
        dS = torch.zeros(B, H, K, v.shape[-1], dtype=dt, device=q.device) if dht is None else dht.to(dt)
        dq, dk, dv = (torch.empty(x.shape, dtype=x.dtype, device=x.device) for x in (q, k, v))  # contiguous
        for i, start in reversed(list(enumerate(range(0, T, G)))):
            sl = slice(start, start + G)
            dS = _backward_group(
                q[:, sl],
                k[:, sl],
                v[:, sl],
                ctx.entering[i],
                do[:, sl],
                dS,
                ctx.scale,
                C,
                (dq[:, sl], dk[:, sl], dv[:, sl]),
            )
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
    B, _T, H, K, V = check_qkv(q, k, v, finite=not checks_by_group(q))  # on a CPU: group by group, in the forward
    s = resolve_scale(scale, K)
    h0 = check_state(initial_state, "initial_state", (B, H, K, V), q)
    C = check_chunk_size(chunk_size, power_of_two=True)
    return ChunkLinearAttentionFunction.apply(q, k, v, h0, s, C)
