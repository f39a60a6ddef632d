"""Softmax attention three ways: the definition, a Nadaraya–Watson smoother, a mixing matrix.

Book chapter: ``notebooks/00_softmax_attention`` (claims ``softmax.*``).

Shapes follow ``[..., L, m]``: any leading batch/head dimensions, then sequence length
``L`` and feature width ``m`` (``d_v`` for values).
"""

from __future__ import annotations

import math

import torch

from ..base import validation as V


def _same_rank(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.ndim != b.ndim:
        raise ValueError(
            f"{name_a} and {name_b} must have as many dimensions ([..., L, m] each): {name_a} has shape "
            f"{list(a.shape)}, {name_b} has shape {list(b.shape)}"
        )


def _qk(q: torch.Tensor, k: torch.Tensor) -> None:
    V.tensor(q, "q", ndim=range(2, 6))
    V.tensor(k, "k", ndim=range(2, 6))
    _same_rank("q", q, "k", k)
    V.same_dtype("q", q, "k", k)
    V.same_device("q", q, "k", k)
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share the feature width m (last dim), got q {list(q.shape)}, k {list(k.shape)}")
    if q.shape[:-2] != k.shape[:-2]:
        raise ValueError(f"q and k must share leading (batch/head) dims, got q {list(q.shape)}, k {list(k.shape)}")


def scores(q: torch.Tensor, k: torch.Tensor, *, scale: float | None = None) -> torch.Tensor:
    r"""Attention logits :math:`S = s\,QK^\top`, with :math:`s = 1/\sqrt{m}` by default.

    q: ``[..., Lq, m]``, k: ``[..., Lk, m]`` → ``[..., Lq, Lk]``. Book: eq. ``eq-softmax-attn``.
    """
    _qk(q, k)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else V.real(scale, "scale", positive=True)
    return (q @ k.transpose(-1, -2)) * s


def attention_weights(
    q: torch.Tensor,
    k: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = False,
    temperature: float = 1.0,
) -> torch.Tensor:
    r"""Row-stochastic attention matrix :math:`A = \mathrm{softmax}(s\,QK^\top/\tau)`.

    With ``causal=True`` position ``i`` attends to ``j <= i`` only (needs ``Lq == Lk``).
    Returns ``[..., Lq, Lk]``; every row is a probability vector (claim
    ``softmax.rows-sum-to-one``).
    """
    tau = V.real(temperature, "temperature", positive=True)
    causal = V.flag(causal, "causal")
    logits = scores(q, k, scale=scale) / tau
    if causal:
        Lq, Lk = logits.shape[-2:]
        if Lq != Lk:
            raise ValueError(f"causal attention needs as many queries as keys, got Lq={Lq}, Lk={Lk}")
        mask = torch.ones(Lq, Lk, dtype=torch.bool, device=logits.device).tril()
        logits = logits.masked_fill(~mask, float("-inf"))
    return torch.softmax(logits, dim=-1)


def softmax_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    scale: float | None = None,
    causal: bool = False,
    temperature: float = 1.0,
) -> torch.Tensor:
    r"""Softmax attention :math:`y_i = \sum_j \frac{\exp(s\,q_i^\top k_j/\tau)}{\sum_l \exp(s\,q_i^\top k_l/\tau)} v_j`.

    q: ``[..., Lq, m]``, k: ``[..., Lk, m]``, v: ``[..., Lk, d_v]`` → ``[..., Lq, d_v]``
    (Vaswani et al. 2017, eq. 1). Book: ``eq-softmax-attn``.
    """
    _qk(q, k)
    _values(k, v)
    A = attention_weights(q, k, scale=scale, causal=causal, temperature=temperature)
    return A @ v


def _values(k: torch.Tensor, v: torch.Tensor) -> None:
    """``v`` ``[..., Lk, d_v]``: one row per key of ``k`` (``[..., Lk, m]``), same dtype and device."""
    V.tensor(v, "v", ndim=range(2, 6))
    _same_rank("k", k, "v", v)
    if v.shape[:-1] != k.shape[:-1]:
        raise ValueError(f"v must have one row per key: k is {list(k.shape)}, v is {list(v.shape)}")
    V.same_dtype("k", k, "v", v)
    V.same_device("k", k, "v", v)


def hard_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    r"""Zero-temperature limit: :math:`y_i = v_{j^*(i)}`, :math:`j^*(i) = \arg\max_j q_i^\top k_j`.

    Shapes as :func:`softmax_attention` (non-causal). Ties go to the first maximiser.
    """
    logits = scores(q, k, scale=1.0)
    _values(k, v)
    idx = logits.argmax(dim=-1, keepdim=True)  # [..., Lq, 1]
    return torch.gather(v, -2, idx.expand(*idx.shape[:-1], v.shape[-1]))


def nadaraya_watson(
    x_query: torch.Tensor, x_data: torch.Tensor, y_data: torch.Tensor, *, bandwidth: float
) -> torch.Tensor:
    r"""Nadaraya–Watson kernel regression with a Gaussian kernel of bandwidth :math:`h`.

    :math:`\hat y(x) = \sum_i K_h(x - x_i)\, y_i / \sum_i K_h(x - x_i)`,
    :math:`K_h(r) = \exp(-\lVert r\rVert^2 / 2h^2)`.
    x_query: ``[Lq, m]``, x_data: ``[N, m]``, y_data: ``[N, d_v]`` → ``[Lq, d_v]``.
    When all ``x_i`` have one norm this *is* softmax attention with scale ``1/h^2``
    (claim ``softmax.nadaraya-watson``). Raises ``ValueError`` when every logit of a query overflows to
    :math:`-\infty` (inputs ~1e154 apart or a bandwidth ~1e-150), where the softmax has no value.
    """
    V.tensor(x_query, "x_query", ndim=2)
    V.tensor(x_data, "x_data", ndim=2)
    V.tensor(y_data, "y_data", ndim=2)
    h = V.real(bandwidth, "bandwidth", positive=True)
    if x_query.shape[1] != x_data.shape[1]:
        raise ValueError(
            f"x_query and x_data must have the same width, got {list(x_query.shape)}, {list(x_data.shape)}"
        )
    if y_data.shape[0] != x_data.shape[0]:
        raise ValueError(f"y_data needs one row per x_data row, got {list(y_data.shape)} vs {list(x_data.shape)}")
    V.same_dtype("x_query", x_query, "x_data", x_data)
    V.same_dtype("x_data", x_data, "y_data", y_data)
    sq = torch.cdist(x_query, x_data).pow(2)  # [Lq, N]
    logits = -sq / (2 * h * h)
    # a row whose every logit overflowed to -inf (points ~1e154 apart, or a bandwidth ~1e-150) has no softmax
    if logits.device.type != "meta" and not bool(torch.isfinite(logits.detach().max(dim=-1).values).all()):
        raise ValueError(
            "x_query, x_data and bandwidth give Gaussian logits -|x - x_i|^2 / (2 bandwidth^2) that overflow for "
            f"every x_i of some query (bandwidth = {h:.3g}): rescale the inputs"
        )
    return torch.softmax(logits, dim=-1) @ y_data
