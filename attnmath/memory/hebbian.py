r"""Linear attention as a Hebbian associative memory (fast weights).

Book chapter: ``notebooks/30_pavlovian_memory`` (claims ``memory.hebbian-fast-weights``,
``memory.signal-crosstalk``, ``memory.exact-capacity-dk``).

Conventions. Keys/queries live in :math:`\mathbb R^{d_k}`,
values in :math:`\mathbb R^{d_v}`; items are rows, so ``keys`` is ``[..., N, d_k]`` and
``values`` is ``[..., N, d_v]``. The memory is the *post × pre* outer-product sum

.. math:: M = \sum_{i=1}^N v_i k_i^\top = V^\top K \in \mathbb R^{d_v\times d_k},\qquad o(q) = Mq,

stored as ``[..., d_v, d_k]``. (flash-linear-attention stores the transpose
:math:`S = K^\top V` of shape ``[d_k, d_v]``; see ``tests/memory/test_fla_reference.py``.)
No :math:`1/\sqrt{d_k}` scale is applied anywhere: it does not change any ratio in the
capacity analysis and callers can scale ``q`` themselves.
"""

from __future__ import annotations

import torch

from ..base import validation as V
from ._checks import same_ndim


def _pairs(keys: torch.Tensor, values: torch.Tensor, kname: str = "keys", vname: str = "values") -> None:
    """keys ``[..., N, d_k]`` and values ``[..., N, d_v]`` with equal N and leading dims."""
    V.tensor(keys, kname, ndim=range(2, 7))
    V.tensor(values, vname, ndim=range(2, 7))
    same_ndim(kname, keys, vname, values)
    V.same_dtype(kname, keys, vname, values)
    V.same_device(kname, keys, vname, values)
    if keys.shape[-2] != values.shape[-2]:
        raise ValueError(
            f"{vname} must hold one vector per key: {kname} has N={keys.shape[-2]} items "
            f"(shape {list(keys.shape)}) but {vname} has {values.shape[-2]} (shape {list(values.shape)})"
        )
    if keys.shape[:-2] != values.shape[:-2]:
        raise ValueError(
            f"{kname} and {vname} must share leading (batch/head) dims, got {list(keys.shape)} and {list(values.shape)}"
        )


def _qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
    """q, k ``[..., T, d_k]`` and v ``[..., T, d_v]`` (one query per time step)."""
    _pairs(k, v, "k", "v")
    V.tensor(q, "q", ndim=range(2, 7))
    same_ndim("k", k, "q", q)
    V.same_dtype("q", q, "k", k)
    V.same_device("q", q, "k", k)
    if q.shape != k.shape:
        raise ValueError(
            f"q must have the shape of k (one query per key/time step), got q {list(q.shape)}, k {list(k.shape)}"
        )


def hebbian_memory(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    r"""Hebbian (correlation-matrix) memory :math:`M=\sum_i v_ik_i^\top=V^\top K`.

    keys ``[..., N, d_k]``, values ``[..., N, d_v]`` → ``[..., d_v, d_k]``.
    Each term is post-synaptic (US, value) × pre-synaptic (CS, key) activity (Kohonen 1972).
    Claims: ``memory.signal-crosstalk``, ``memory.exact-capacity-dk``.
    """
    _pairs(keys, values)
    return _memory(keys, values)


def _memory(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Unvalidated :func:`hebbian_memory` for Monte-Carlo loops whose inputs the library drew itself."""
    return values.transpose(-1, -2) @ keys


def _recall(memory: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Unvalidated :func:`retrieve`."""
    return queries @ memory.transpose(-1, -2)


def retrieve(memory: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    r"""Recall :math:`o_t = M q_t` for every query (the conditioned response to a test stimulus).

    memory ``[..., d_v, d_k]``, queries ``[..., T, d_k]`` → ``[..., T, d_v]``.
    """
    V.tensor(memory, "memory", ndim=range(2, 7))
    V.tensor(queries, "queries", ndim=range(2, 7))
    same_ndim("memory", memory, "queries", queries)
    V.same_dtype("memory", memory, "queries", queries)
    V.same_device("memory", memory, "queries", queries)
    if queries.shape[-1] != memory.shape[-1]:
        raise ValueError(
            f"queries must have width d_k={memory.shape[-1]} (memory is [d_v, d_k] = {list(memory.shape[-2:])}), "
            f"got {list(queries.shape)}"
        )
    return _recall(memory, queries)


def hebbian_parallel(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool = True) -> torch.Tensor:
    r"""Unnormalised linear attention, parallel form: :math:`O=\mathrm{tril}(QK^\top)V` (causal) or :math:`QK^\top V`.

    q, k ``[..., T, d_k]``, v ``[..., T, d_v]`` → ``[..., T, d_v]``;
    :math:`o_t=\sum_{i\le t} v_i\,(k_i^\top q_t)`; ``causal`` must be a bool.
    Claim ``memory.hebbian-fast-weights``.
    """
    _qkv(q, k, v)
    causal = V.flag(causal, "causal")
    scores = q @ k.transpose(-1, -2)
    if causal:
        scores = scores.tril()
    return scores @ v


def hebbian_recurrent(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, initial_state: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Fast-weight recurrence :math:`M_t=M_{t-1}+v_tk_t^\top`, :math:`o_t=M_tq_t` (Schmidhuber 1992).

    q, k ``[..., T, d_k]``, v ``[..., T, d_v]``, optional ``initial_state`` :math:`M_0`
    ``[..., d_v, d_k]`` (zeros by default) → (outputs ``[..., T, d_v]``, final memory
    :math:`M_T` ``[..., d_v, d_k]``). Equals :func:`hebbian_parallel` with ``causal=True``
    when :math:`M_0=0` (claim ``memory.hebbian-fast-weights``).
    """
    return decayed_recurrent(q, k, v, 1.0, initial_state=initial_state)


def decayed_recurrent(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gamma: float,
    *,
    initial_state: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Decayed (gated, RetNet/GLA-style) memory :math:`M_t=\gamma M_{t-1}+v_tk_t^\top`, :math:`o_t=M_tq_t`.

    ``gamma`` in [0, 1]; shapes as in :func:`hebbian_recurrent`. An item stored
    :math:`s` steps ago carries weight :math:`\gamma^s` (claim ``memory.decay-snr``).
    """
    _qkv(q, k, v)
    g = V.real(gamma, "gamma", low=0.0, high=1.0)
    lead, d_k, d_v = k.shape[:-2], k.shape[-1], v.shape[-1]
    if initial_state is None:
        M = torch.zeros(*lead, d_v, d_k, dtype=k.dtype, device=k.device)
    else:
        M = V.tensor(initial_state, "initial_state", shape=(*lead, d_v, d_k)).to(k.dtype).clone()
    outs = []
    for t in range(k.shape[-2]):
        M = g * M + v[..., t, :, None] * k[..., t, None, :]
        outs.append((M @ q[..., t, :, None])[..., 0])
    return torch.stack(outs, dim=-2), M


def decayed_memory(keys: torch.Tensor, values: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Closed form of the decayed memory after :math:`T` writes: :math:`M_T=\sum_{i=0}^{T-1}\gamma^{T-1-i}v_ik_i^\top`.

    keys ``[..., T, d_k]``, values ``[..., T, d_v]`` → ``[..., d_v, d_k]``. Equals the state of
    :func:`decayed_recurrent` (claim ``memory.decay-snr``).
    """
    _pairs(keys, values)
    g = V.real(gamma, "gamma", low=0.0, high=1.0)
    T = keys.shape[-2]
    w = g ** torch.arange(T - 1, -1, -1, dtype=keys.dtype, device=keys.device)
    return (values * w[:, None]).transpose(-1, -2) @ keys


def signal_crosstalk(keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Split every recall into signal and crosstalk:

    .. math:: Mk_j=\underbrace{\lVert k_j\rVert^2v_j}_{\text{signal}}+\underbrace{\sum_{i\ne j}(k_i^\top k_j)\,v_i}_{\text{crosstalk }\eta_j}.

    keys ``[..., N, d_k]``, values ``[..., N, d_v]`` → (signal, crosstalk), each ``[..., N, d_v]``,
    row ``j`` for item ``j``. Claim ``memory.signal-crosstalk``.
    """
    _pairs(keys, values)
    gram = keys @ keys.transpose(-1, -2)
    diag = torch.diagonal(gram, dim1=-2, dim2=-1)
    signal = diag[..., None] * values
    off = gram - torch.diag_embed(diag)
    return signal, off @ values


def olam_memory(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    r"""Optimal linear associative memory :math:`A^\star=V^\top(K^\top)^+` (Kohonen 1989).

    The minimum-norm minimiser of :math:`\lVert AK^\top-V^\top\rVert_F^2`; stores every pair
    exactly iff the keys are linearly independent (so at most :math:`N\le d_k` pairs).
    keys ``[..., N, d_k]``, values ``[..., N, d_v]`` → ``[..., d_v, d_k]``.
    Claim ``memory.exact-capacity-dk``.
    """
    _pairs(keys, values)
    return values.transpose(-1, -2) @ torch.linalg.pinv(keys.transpose(-1, -2))


def least_squares_residual(keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    r"""Residual of the best linear memory, :math:`\min_A\lVert AK^\top-V^\top\rVert_F^2`.

    Computed from the OLAM solution; ``[...]`` (one number per batch element). For
    :math:`N>d_k` and isotropic Gaussian values,
    :math:`\mathbb E[\text{residual}]/\mathbb E\lVert V\rVert_F^2=(N-d_k)/N` (claim ``memory.exact-capacity-dk``).
    """
    A = olam_memory(keys, values)
    return ((keys @ A.transpose(-1, -2) - values) ** 2).sum(dim=(-2, -1))


def relative_recall_error(memory: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    r"""Relative squared recall error :math:`\lVert MK^\top-V^\top\rVert_F^2/\lVert V\rVert_F^2` per batch element.

    memory ``[..., d_v, d_k]``, keys ``[..., N, d_k]``, values ``[..., N, d_v]`` → ``[...]``.
    Raises ``ValueError`` when the memory's ``d_v`` or ``d_k`` or leading dims disagree with the pairs.
    """
    _pairs(keys, values)
    V.tensor(memory, "memory", ndim=range(2, 7))
    same_ndim("keys", keys, "memory", memory)
    V.same_size("memory", memory, -1, "keys", keys, -1, "the key width d_k")
    V.same_size("memory", memory, -2, "values", values, -1, "the value width d_v")
    if memory.shape[:-2] != keys.shape[:-2]:
        raise ValueError(
            f"memory and keys must share leading (batch/head) dims, got {list(memory.shape)} and {list(keys.shape)}"
        )
    err = retrieve(memory, keys) - values
    return (err**2).sum(dim=(-2, -1)) / (values**2).sum(dim=(-2, -1))
