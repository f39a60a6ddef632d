r"""The reparameterised 1-layer transformer of Scan and Snap: decoder ``Y`` and attention logits ``Z``.

:math:`Y = UW_V^\top U^\top` and :math:`Z = UW_QW_K^\top U^\top/\sqrt d` (both ``[M, M]``) are
free variables (§3.1). For a sequence with contextual tokens :math:`X` and query :math:`m`,

.. math::
   b_T = \mathrm{softmax}(XZ^\top \mathbf x_T),\quad v = X^\top b_T,\quad f = v/\|v\|_2,\quad
   \alpha = \mathrm{softmax}(Y^\top f),\quad J = \mathbf x_{T+1}^\top Y^\top f - \log \mathbf 1^\top e^{Y^\top f}.

The query's attention to itself is masked and there is no positional encoding. The official
code stores ``K1.weight`` :math:`= Y^\top` and ``K2.weight`` :math:`= Z` (row = query token).
Book: ``notebooks/40_scan_and_snap`` (claims ``scansnap.s02-lemma1-autograd``,
``scansnap.s02-lemma1-symbolic``, ``scansnap.s03-invariants``).
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple, overload

import torch

from ..base import validation as V
from .data import Batch, token_tensor


class Forward(NamedTuple):
    """Intermediate values of one forward pass; shapes ``[B, T-1]`` (b) and ``[B, M]`` (rest)."""

    b: torch.Tensor
    v: torch.Tensor
    f: torch.Tensor
    logits: torch.Tensor
    alpha: torch.Tensor


def _check_yz(Y: torch.Tensor, Z: torch.Tensor) -> int:
    V.tensor(Y, "Y", ndim=2)
    M = Y.shape[0]
    V.tensor(Y, "Y", shape=(M, M))
    V.tensor(Z, "Z", shape=(M, M))
    V.same_dtype("Y", Y, "Z", Z)
    V.has_data(Y, "Y")
    V.has_data(Z, "Z")
    return M


def _check_batch(batch: Batch, M: int) -> None:
    if not isinstance(batch, Batch):
        raise TypeError(f"batch must be a scansnap.Batch, got {type(batch).__name__}")
    if batch.x.ndim != 2 or batch.x.dtype != torch.long:
        raise ValueError(f"batch.x must be a [B, T-1] long tensor, got {list(batch.x.shape)} {batch.x.dtype}")
    if int(batch.x.max()) >= M or int(batch.query.max()) >= M or int(batch.next_token.max()) >= M:
        raise ValueError(f"batch token ids must be < M = {M}")


def yz_forward(Y: torch.Tensor, Z: torch.Tensor, batch: Batch, *, normalize: bool = True) -> Forward:
    r"""Forward pass of the :math:`(Y, Z)` model on a batch (gather form; no one-hot tensor).

    :math:`b_{t} \propto e^{z_{m x_t}}` over the ``T-1`` contextual positions;
    :math:`v = X^\top b` (``[B, M]``); :math:`f = v/\|v\|` (or ``v`` if ``normalize=False``);
    logits :math:`Y^\top f` (``[B, M]``, computed as ``f @ Y``); :math:`\alpha` = softmax(logits).
    """
    M = _check_yz(Y, Z)
    _check_batch(batch, M)
    normalize = V.flag(normalize, "normalize")
    a = Z[batch.query[:, None], batch.x]  # [B, T-1]: z_{m, x_t}
    b = torch.softmax(a, dim=-1)
    v = torch.zeros(batch.x.shape[0], M, dtype=Y.dtype).scatter_add(1, batch.x, b)
    f = v / v.norm(dim=1, keepdim=True) if normalize else v
    logits = f @ Y
    return Forward(b, v, f, logits, torch.softmax(logits, dim=-1))


def yz_loss(Y: torch.Tensor, Z: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Cross-entropy of the next token, averaged over the batch: :math:`-\\bar J` (a scalar)."""
    out = yz_forward(Y, Z, batch)
    return torch.nn.functional.cross_entropy(out.logits, batch.next_token)


@overload
def lemma1_gradients(
    Y: torch.Tensor, Z: torch.Tensor, batch: Batch, *, return_loss: Literal[False] = False
) -> tuple[torch.Tensor, torch.Tensor]: ...
@overload
def lemma1_gradients(
    Y: torch.Tensor, Z: torch.Tensor, batch: Batch, *, return_loss: Literal[True]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]: ...
def lemma1_gradients(
    Y: torch.Tensor, Z: torch.Tensor, batch: Batch, *, return_loss: bool = False
) -> tuple[torch.Tensor, torch.Tensor] | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""Lemma 1 in closed form: the ascent directions :math:`\dot Y/\eta_Y` and :math:`\dot Z/\eta_Z` of :math:`\bar J`.

    Per sequence, :math:`\dot Y/\eta_Y = f(\mathbf x_{T+1}-\alpha)^\top` and only row
    :math:`m = x_T` of :math:`Z` moves, :math:`\dot z_m/\eta_Z = X^\top\mathrm{diag}(b)X\,
    \frac{P^\perp_{v}}{\|v\|} Y(\mathbf x_{T+1}-\alpha)`, with :math:`X^\top\mathrm{diag}(b)X
    = \mathrm{diag}(v)` for one-hot rows. Returned as batch means (``[M, M]`` each), i.e.
    minus the gradient of :func:`yz_loss`; with ``return_loss=True`` also that loss (a 0-d
    tensor) as a third element. Claim ``scansnap.s02-lemma1-autograd``.
    """
    return_loss = V.flag(return_loss, "return_loss")
    out = yz_forward(Y, Z, batch)
    B = out.v.shape[0]
    err = -out.alpha
    err[torch.arange(B), batch.next_token] += 1.0  # x_{T+1} - alpha, [B, M]
    dY = out.f.T @ err / B
    g = err @ Y.T  # rows: Y (x_{T+1} - alpha)
    g_perp = g - out.f * (out.f * g).sum(1, keepdim=True)  # P_perp_v g
    rows = out.v * g_perp / out.v.norm(dim=1, keepdim=True)  # diag(v) P_perp g / ||v||
    dZ = torch.zeros_like(Z).index_add(0, batch.query, rows) / B
    if return_loss:
        return dY, dZ, torch.nn.functional.cross_entropy(out.logits, batch.next_token)
    return dY, dZ


def official_orientation_loss(
    K1_weight: torch.Tensor, K2_weight: torch.Tensor, tokens: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    r"""The same model written the way the official ``Model2`` is: one-hot inputs and two linear maps.

    tokens: ``[B, T]`` (contextual tokens then the query in the last column), labels ``[B]``.
    ``K2_weight`` (= :math:`Z`) scores key :math:`x_t` against query :math:`x_T` by
    :math:`(X K_2^\top \mathbf x_T)_t`; ``K1_weight`` (= :math:`Y^\top`) maps the normalised
    mixture to logits. Written independently of :func:`yz_forward` to cross-check the orientation.
    ``labels`` may also be an integer array-like (converted with ``torch.as_tensor``).

    Raises ``TypeError``/``ValueError`` naming the argument: non-square or mismatched weights, tokens
    that are not a ``[B, T]`` (``T >= 2``) integer tensor of ids in ``[0, M)``, labels not ``B`` such ids.
    """
    V.tensor(K1_weight, "K1_weight", ndim=2)
    M = K1_weight.shape[0]
    V.has_data(V.tensor(K1_weight, "K1_weight", shape=(M, M)), "K1_weight")
    V.has_data(V.tensor_like(K2_weight, "K2_weight", K1_weight, "K1_weight", shape=(M, M)), "K2_weight")
    tokens = token_tensor(tokens, "tokens", M, ndim=2, minimum_last=2).to(torch.long)
    labels = token_tensor(labels, "labels", M, ndim=1, arrays=True).to(torch.long)
    V.same_size("tokens", tokens, 0, "labels", labels, 0, "the batch size B")
    X = torch.nn.functional.one_hot(tokens, M).to(K1_weight.dtype)  # [B, T, M]
    keys, q = X[:, :-1, :], X[:, -1, :]
    scores = torch.einsum("btj,ij,bi->bt", keys, K2_weight, q)
    attn = torch.softmax(scores, dim=1)
    mixed = torch.einsum("bt,btj->bj", attn, keys)
    mixed = mixed / mixed.norm(dim=1, keepdim=True)
    return torch.nn.functional.cross_entropy(mixed @ K1_weight.T, labels)


def init_yz(
    M: int, init: str, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Initial :math:`(Y, Z)`: ``"zero"`` (the theory's :math:`Y(0)=Z(0)=0`, Fig. 4) or ``"uniform"``.

    ``"uniform"`` is PyTorch's default ``nn.Linear`` init used by the Fig. 6 sweep
    (``model2.zero_init=false``): every entry :math:`\mathcal U(\pm 1/\sqrt M)`, ``K1`` drawn
    first (:math:`Y = K_1^\top`), then ``K2`` (:math:`= Z`). Returns ``(Y, Z)``, ``[M, M]`` each.
    """
    M = V.integer(M, "M", minimum=2)
    V.choice(init, "init", ("zero", "uniform"))
    dtype = V.float_dtype(dtype, "dtype")
    if init == "zero":
        return torch.zeros(M, M, dtype=dtype), torch.zeros(M, M, dtype=dtype)
    if not isinstance(generator, torch.Generator):
        raise TypeError("generator: a torch.Generator is needed for init='uniform'")
    bound = 1.0 / math.sqrt(M)
    K1 = (torch.rand(M, M, generator=generator, dtype=dtype) * 2 - 1) * bound
    K2 = (torch.rand(M, M, generator=generator, dtype=dtype) * 2 - 1) * bound
    return K1.T.contiguous(), K2
