r"""Sequence classes of Scan and Snap (Tian et al. 2023, §3.2) and a vectorised sampler.

A *sequence class* :math:`s_{m,n} = (\mathbb P(l\mid m,n), m, n)` fixes the query token
:math:`x_T = m` and the next token :math:`x_{T+1} = n`; the :math:`T-1` contextual tokens are
drawn i.i.d. from :math:`\mathbb P(l\mid n)`. The query is a function of the next token,
:math:`m = \psi(n)`. A contextual token :math:`l` is *distinct* when exactly one class can emit
it (:math:`|\Omega(l)| = 1`) and *common* when several can.

Shapes: ``K`` classes, vocabulary ``M``; ``probs`` is ``[K, M]``; a batch holds contextual
tokens ``x: [B, T-1]`` (long), ``query: [B]``, ``next_token: [B]`` and ``cls: [B]``.
Book: ``notebooks/40_scan_and_snap`` (claims ``scansnap.s01-long-sequence-limit``, ``scansnap.s08-frequency-bias``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..base import validation as V


@dataclass(frozen=True)
class SequenceClasses:
    """``K`` sequence classes over a vocabulary of ``M`` tokens (see :func:`sequence_classes`).

    ``probs[n]`` is :math:`\\mathbb P(\\cdot\\mid n)` (``[K, M]``, float64), ``query[n]`` is
    :math:`\\psi(n)` and ``next_token[n]`` the vocabulary id of the next token (``[K]`` long);
    ``distinct[n, l]`` marks the distinct tokens of class ``n`` (``[K, M]`` bool) and
    ``common[l]`` the common tokens (``[M]`` bool).
    """

    probs: torch.Tensor
    query: torch.Tensor
    next_token: torch.Tensor
    distinct: torch.Tensor
    common: torch.Tensor

    @property
    def M(self) -> int:
        return int(self.probs.shape[1])

    @property
    def K(self) -> int:
        return int(self.probs.shape[0])

    @property
    def queries(self) -> torch.Tensor:
        """The distinct query tokens, sorted (``[#q]`` long)."""
        return torch.unique(self.query)


def sequence_classes(
    probs: torch.Tensor | Sequence[Sequence[float]],
    query: Sequence[int] | torch.Tensor,
    next_token: Sequence[int] | torch.Tensor,
    *,
    atol: float = 1e-10,
) -> SequenceClasses:
    r"""Validate and build sequence classes.

    probs: ``[K, M]`` rows :math:`\mathbb P(\cdot\mid n)`, non-negative and summing to 1
    (to ``atol``: float64 roundoff x M); query, next_token: ``K`` token ids in ``[0, M)``.
    Raises ``TypeError``/``ValueError`` naming the argument for a wrong type, shape or ``atol <= 0``,
    ``ValueError`` naming ``probs`` for a row that is not a probability vector and naming
    ``query`` when the query map :math:`\psi` is not a function of the next token (one next
    token listed with two different queries).
    """
    atol = V.real(atol, "atol", positive=True)
    if not isinstance(probs, torch.Tensor):
        probs = torch.as_tensor(V.real_array(probs, "probs", ndim=2))
    V.tensor(probs, "probs", ndim=2)
    V.has_data(probs, "probs")
    probs = probs.to(torch.float64)
    K, M = probs.shape
    for n in range(K):
        try:
            V.probability_vector(probs[n], f"probs[{n}]", atol=atol)
        except ValueError as err:
            raise ValueError(f"probs: every row must be a probability vector P(l | n); {err}") from None
    query = _token_ids(query, "query", K, M)
    next_token = _token_ids(next_token, "next_token", K, M)
    psi: dict[int, int] = {}
    for n, m in zip(next_token.tolist(), query.tolist()):
        if n in psi and psi[n] != m:
            raise ValueError(
                f"query: the query map psi must be a function of the next token, but next token {n} "
                f"is listed with queries {psi[n]} and {m}"
            )
        if n in psi:
            raise ValueError(f"next_token: class (query {m}, next {n}) is listed twice; classes must be distinct")
        psi[n] = m
    support = probs > 0  # [K, M]
    omega = support.sum(0)  # |Omega(l)|
    distinct = support & (omega == 1)[None, :]
    common = omega > 1
    return SequenceClasses(probs, query, next_token, distinct, common)


def _token_ids(ids: Sequence[int] | torch.Tensor, name: str, K: int, M: int) -> torch.Tensor:
    t = token_tensor(ids, name, M, arrays=True)
    if t.ndim != 1 or t.numel() != K:
        raise ValueError(f"{name} must be {K} integer token ids (one per class), got {list(t.shape)} {t.dtype}")
    return t.to(torch.long)


def token_tensor(
    ids: object, name: str, M: int, *, ndim: int | None = None, arrays: bool = False, minimum_last: int = 1
) -> torch.Tensor:
    """Token ids in ``[0, M)``: an integer tensor (or, with ``arrays``, an integer array-like) of rank ``ndim``.

    Raises ``TypeError`` for a non-tensor (non-integer array-like) or a float/bool/complex dtype and
    ``ValueError`` for a wrong rank, an empty tensor (or a last axis shorter than ``minimum_last``),
    a meta tensor or an id outside ``[0, M)``; every message names ``name``.
    """
    if not isinstance(ids, torch.Tensor):
        if not arrays or ids is None or isinstance(ids, str | bytes):
            kind = "a torch.Tensor or an array-like" if arrays else "a torch.Tensor"
            raise TypeError(f"{name} must be {kind} of integer token ids, got {type(ids).__name__}")
        raw = np.asarray(ids)
        if raw.dtype.kind not in "iu":
            raise TypeError(f"{name} must hold integer token ids, got dtype {raw.dtype}")
        ids = torch.as_tensor(raw)
    if ids.dtype not in V.INT_DTYPES:
        raise TypeError(f"{name} must hold integer token ids, got dtype {str(ids.dtype).replace('torch.', '')}")
    if ndim is not None and ids.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {list(ids.shape)}")
    if ids.numel() == 0 or (ids.ndim and ids.shape[-1] < minimum_last):
        raise ValueError(f"{name} must hold at least {minimum_last} token id(s) per row, got shape {list(ids.shape)}")
    V.has_data(ids, name)
    if bool(((ids < 0) | (ids >= M)).any()):
        raise ValueError(f"{name} must hold token ids in [0, {M}), got min {int(ids.min())}, max {int(ids.max())}")
    return ids


def check_classes(data: object, name: str = "data") -> SequenceClasses:
    """``data`` must be a :class:`SequenceClasses` (``TypeError`` naming ``name`` otherwise)."""
    if not isinstance(data, SequenceClasses):
        raise TypeError(f"{name} must be a SequenceClasses, got {type(data).__name__}")
    return data


def syn_medium(
    num_last: int,
    num_next_per_last: int,
    *,
    num_common: int = 10,
    num_unique_per_next: int = 10,
    common_weight: float = 1.0,
    unique_min: float = 0.1,
    unique_max: float = 1.0,
) -> SequenceClasses:
    r"""The token layout of the official generator (``Dataset2`` in the paper's code): Syn-Small is ``syn_medium(2, 1)``.

    Token ids: common tokens ``[0, num_common)`` (weight ``common_weight`` each); then
    ``num_unique_per_next`` distinct tokens per next token with weights
    ``linspace(unique_min, unique_max)``; then the ``num_last`` query tokens; then the
    :math:`K` = ``num_last * num_next_per_last`` next tokens. So
    :math:`M = \text{num\_common} + 10K + \#q + K` (34 for Syn-Small, 33 for #q/#n = 1/2).
    One class: :math:`\mathbb P = (1,\dots,1, 0.1, 0.2, \dots, 1.0)/15.5`.
    """
    nq = V.integer(num_last, "num_last", minimum=1)
    npl = V.integer(num_next_per_last, "num_next_per_last", minimum=1)
    nc = V.integer(num_common, "num_common", minimum=0)
    nu = V.integer(num_unique_per_next, "num_unique_per_next", minimum=1)
    cw = V.real(common_weight, "common_weight", nonnegative=True)
    lo = V.real(unique_min, "unique_min", positive=True)
    hi = V.real(unique_max, "unique_max", low=lo)
    K = nq * npl
    unique_off = nc
    query_off = unique_off + nu * K
    next_off = query_off + nq
    M = next_off + K
    probs = torch.zeros(K, M, dtype=torch.float64)
    weights = torch.linspace(lo, hi, nu, dtype=torch.float64)
    for n in range(K):
        probs[n, :nc] = cw
        probs[n, unique_off + nu * n : unique_off + nu * (n + 1)] = weights
    probs /= probs.sum(1, keepdim=True)
    query = torch.arange(K) // npl + query_off
    next_token = torch.arange(K) + next_off
    return sequence_classes(probs, query, next_token)


def syn_small() -> SequenceClasses:
    """Syn-Small of Fig. 4: two classes, each with its own query, 10 common and 10+10 distinct tokens, M = 34."""
    return syn_medium(2, 1)


@dataclass(frozen=True)
class Batch:
    """Sampled sequences: ``x [B, T-1]`` contextual tokens, ``query [B]``, ``next_token [B]``, ``cls [B]``."""

    x: torch.Tensor
    query: torch.Tensor
    next_token: torch.Tensor
    cls: torch.Tensor


def sample_batch(data: SequenceClasses, batch: int, T: int, generator: torch.Generator) -> Batch:
    r"""Draw ``batch`` sequences of length ``T`` (``T-1`` contextual tokens, then the query).

    Classes are uniform; contextual tokens i.i.d. from :math:`\mathbb P(\cdot\mid n)`, one
    ``torch.multinomial`` call on the ``[B, M]`` probability matrix (vectorised ``Dataset2``).
    """
    check_classes(data)
    B = V.integer(batch, "batch", minimum=1)
    T = V.integer(T, "T", minimum=2)
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    cls = torch.randint(data.K, (B,), generator=generator)
    x = torch.multinomial(data.probs[cls], T - 1, replacement=True, generator=generator)
    return Batch(x, data.query[cls], data.next_token[cls], cls)


def population_attention(Z: torch.Tensor, data: SequenceClasses) -> torch.Tensor:
    r"""Lemma 2 (:math:`T\to\infty`): :math:`c_{l\mid n} = \mathbb P(l\mid n)e^{z_{ml}} / \sum_{l'}\mathbb P(l'\mid n)e^{z_{ml'}}`, :math:`m=\psi(n)`.

    Z: ``[M, M]`` (row ``m`` = logits of query ``m``) → c: ``[K, M]`` (zero off the support).
    """
    check_classes(data)
    V.has_data(V.tensor(Z, "Z", shape=(data.M, data.M)), "Z")
    logits = Z[data.query].to(torch.float64) + torch.log(data.probs)  # -inf off the support
    return torch.softmax(logits, dim=-1).to(Z.dtype)


def distinct_attention(c: torch.Tensor, data: SequenceClasses) -> torch.Tensor:
    r"""Attention restricted to each class's distinct tokens and renormalised: ``[K, M]`` → ``[K, n_d]``.

    Entries follow the vocabulary order of the distinct tokens (increasing
    :math:`\mathbb P(l\mid n)` in the official layout). Needs the same number ``n_d`` of
    distinct tokens in every class.
    """
    check_classes(data)
    V.has_data(V.tensor(c, "c", shape=(data.K, data.M)), "c")
    counts = data.distinct.sum(1)
    if bool((counts != counts[0]).any()) or int(counts[0]) == 0:
        raise ValueError(f"data: every class needs the same positive number of distinct tokens, got {counts.tolist()}")
    cd = c[data.distinct].reshape(data.K, int(counts[0]))
    return cd / cd.sum(1, keepdim=True)


def entropy_distinct(Z: torch.Tensor, data: SequenceClasses) -> torch.Tensor:
    r"""Shannon entropy (nats) of :math:`c_n` on class ``n``'s distinct tokens: ``[K]``.

    The Fig. 6 metric as reconstructed here (the authors' statistics script is not public; see the
    book's Sources appendix): restrict :math:`c_n \propto
    \mathbb P(\cdot\mid n)\odot e^{z_m}` to the distinct tokens, renormalise, take
    :math:`-\sum p\ln p`. At :math:`Z = 0` it is 2.151 for the official layout (:math:`\ln 10 = 2.303`).
    """
    p = distinct_attention(population_attention(Z, data), data)
    return -(p * torch.log(p)).sum(1)


def hoeffding_radius(T_minus_1: int, delta: float) -> float:
    r"""Lemma 18: :math:`|q_l - \mathbb P(l\mid n)| \le \sqrt{\ln(2/\delta)/(2(T-1))}` w.p. :math:`\ge 1-\delta`."""
    n = V.integer(T_minus_1, "T_minus_1", minimum=1)
    d = V.real(delta, "delta", low=0.0, high=1.0, low_open=True, high_open=True)
    return math.sqrt(math.log(2.0 / d) / (2.0 * n))
