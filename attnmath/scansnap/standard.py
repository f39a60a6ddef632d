r"""A standard-parameterisation 1-layer transformer: the CPU stand-in for the WikiText runs.

Parameters :math:`U\in\mathbb R^{M\times d}` (embedding, tied output), :math:`W_Q, W_K, W_V
\in\mathbb R^{d\times d}`; no positional encoding; the query's attention to itself is masked;
the attention output is :math:`\ell_2`-normalised in embedding space (as an RMSNorm would):

.. math::
   b_t \propto \exp\big(u_{x_T}^\top W_QW_K^\top u_{x_t}/\sqrt d\big),\qquad
   \hat u_T = U^\top X^\top b_T,\qquad
   \text{logits}_j = u_j^\top W_V\,\hat u_T/\|\hat u_T\|_2 .

With near-orthonormal embeddings this is the paper's :math:`\tilde u_T = U^\top\mathrm{LN}(X^\top b_T)` and
the model is :math:`Y = UW_V^\top U^\top`, :math:`Z = UW_QW_K^\top U^\top/\sqrt d`; here it is trained in the original coordinates with two learning-rate groups,
:math:`\{W_Q, W_K\}` at :math:`\eta_Z` and :math:`\{U, W_V\}` at :math:`\eta_Y` (reconstructed here;
see the book's Sources appendix). It is a *substitute* for the paper's WikiText experiments (Figs. 7
and 10), which need a download and have positional encodings; nothing here is WikiText.
Book: ``notebooks/40_scan_and_snap`` (claim ``scansnap.s13-standard-substitute``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from ..base.runtime import single_thread
from .data import Batch, SequenceClasses, check_classes, sample_batch
from .dynamics import _iterations
from .model import _check_batch


@dataclass
class StandardParams:
    """``U [M, d]``, ``WQ``, ``WK``, ``WV`` (``[d, d]`` each), float64."""

    U: torch.Tensor
    WQ: torch.Tensor
    WK: torch.Tensor
    WV: torch.Tensor

    def tensors(self) -> list[torch.Tensor]:
        return [self.U, self.WQ, self.WK, self.WV]


def init_standard(M: int, d: int, seed: int) -> StandardParams:
    r"""All four matrices :math:`\mathcal N(0, 1/d)` from ``torch_generator(seed)`` (order U, W_Q, W_K, W_V)."""
    M = V.integer(M, "M", minimum=2)
    d = V.integer(d, "d", minimum=1)
    g = torch_generator(seed)
    shapes = [(M, d), (d, d), (d, d), (d, d)]
    return StandardParams(*(torch.randn(*s, generator=g, dtype=torch.float64) / math.sqrt(d) for s in shapes))


def standard_forward(p: StandardParams, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Attention ``b [B, T-1]``, token-space mixture ``v [B, M]`` and logits ``[B, M]`` of the standard model."""
    if not isinstance(p, StandardParams):
        raise TypeError(f"p must be a scansnap.StandardParams (see init_standard), got {type(p).__name__}")
    U, WQ, WK, WV = p.tensors()
    _check_batch(batch, U.shape[0])
    scores = (U[batch.query] @ WQ) @ (U @ WK).T / math.sqrt(U.shape[1])  # [B, M]: query vs every token
    b = torch.softmax(scores.gather(1, batch.x), dim=-1)  # [B, T-1]
    v = torch.zeros(batch.x.shape[0], U.shape[0], dtype=U.dtype).scatter_add(1, batch.x, b)
    u_hat = v @ U  # U^T X^T b, as rows [B, d]
    u_tilde = u_hat / u_hat.norm(dim=1, keepdim=True)
    return b, v, u_tilde @ WV.T @ U.T


def attention_entropy_distinct(v: torch.Tensor, batch: Batch, data: SequenceClasses) -> float:
    r"""Mean over sequences of the entropy of the attention summed per token identity (``v``),
    restricted to the sequence class's distinct tokens and renormalised (nats).

    v: ``[B, M]`` non-negative attention mass per token (as :func:`standard_forward` returns it), one row
    per sequence of ``batch``. Raises ``TypeError``/``ValueError`` naming ``v``, ``batch`` or ``data``."""
    check_classes(data)
    _check_batch(batch, data.M)
    V.has_data(V.tensor(v, "v", shape=(None, data.M)), "v")
    V.same_size("v", v, 0, "batch", batch.cls, 0, "the number of sequences B")
    if bool((v < 0).any()):
        raise ValueError(f"v must be a non-negative attention mass, got min {float(v.min()):.3g}")
    mass = v * data.distinct[batch.cls].to(v.dtype)
    tot = mass.sum(1, keepdim=True)
    keep = tot[:, 0] > 0
    p = mass[keep] / tot[keep]
    return float(
        -(torch.where(p > 0, p * torch.log(p), torch.zeros_like(p))).sum(1).mean().detach()
    )  # a float: no graph


@single_thread()
def standard_train(
    data: SequenceClasses,
    *,
    eta_Y: float,
    eta_Z: float,
    seed: int,
    steps: int = 300,
    batch: int = 64,
    T: int = 64,
    d: int = 64,
    eval_at: Iterable[int] = (0, 50, 100, 150, 200, 250, 299),
    eval_seed: int = 1234,
    eval_batch: int = 256,
) -> dict[int, float]:
    r"""Plain SGD on the cross-entropy; :math:`\{W_Q,W_K\}` at ``eta_Z``, :math:`\{U,W_V\}` at ``eta_Y``.

    Training batches come from ``Generator(seed + 1)`` (init uses ``Generator(seed)``); the
    evaluation batch (``eval_batch`` sequences, ``Generator(eval_seed)``) is fixed. Returns
    ``{iteration: distinct-token attention entropy}`` measured before that iteration's update
    (``iteration == steps`` means after the last update).
    """
    check_classes(data)
    eY = V.real(eta_Y, "eta_Y", nonnegative=True)
    eZ = V.real(eta_Z, "eta_Z", nonnegative=True)
    S = V.integer(steps, "steps", minimum=1)
    eval_at = _iterations(eval_at, "eval_at", S)
    V.integer(eval_seed, "eval_seed", minimum=0)
    V.integer(eval_batch, "eval_batch", minimum=1)
    p = init_standard(data.M, d, seed)
    gen = torch_generator(seed + 1)
    ev = sample_batch(data, eval_batch, T, torch_generator(eval_seed))
    eval_at = set(eval_at)
    out: dict[int, float] = {}
    rates = [eY, eZ, eZ, eY]
    for it in range(S + 1):
        if it in eval_at:
            with torch.no_grad():
                out[it] = attention_entropy_distinct(standard_forward(p, ev)[1], ev, data)
        if it == S:
            break
        b = sample_batch(data, batch, T, gen)
        params = [t.clone().requires_grad_(True) for t in p.tensors()]
        loss = torch.nn.functional.cross_entropy(standard_forward(StandardParams(*params), b)[2], b.next_token)
        grads = torch.autograd.grad(loss, params)
        p = StandardParams(*(w.detach() - r * g for w, r, g in zip(params, rates, grads)))
    return out
