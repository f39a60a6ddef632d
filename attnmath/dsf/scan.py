r"""Log-space transition products and the chunked diagonal scan (the one routing point for kernels).

Everything here is about the diagonal recurrence

.. math::
    h_i = \lambda_i \odot h_{i-1} + x_i,\qquad h_0 \text{ given},

with :math:`\lambda_i\in\mathbb R^N` (``structure="diagonal"``) or :math:`\lambda_i\in\mathbb R`
(``structure="scalar"``, broadcast over the state).  Products
:math:`\Lambda_{i:j}=\lambda_i\cdots\lambda_{j+1}` are formed as ``exp`` of *segment sums* of
:math:`\log|\lambda|` (the stable ``segsum`` of Dao & Gu 2024: a masked cumulative sum, never a
difference of two cumulative sums), with the sign carried separately by a parity count, and
:math:`\log 0=-\infty` for exact zeros (a reset).  So no intermediate is ever
:math:`e^{-b_j}` for a cumulative log-decay :math:`b_j\ll0`: the only numbers exponentiated are
the true products themselves, which are :math:`\le1` whenever :math:`|\lambda|\le1`.

:func:`chunked_diag_scan` is the single internal function that the DSF's ``chunked`` form calls
(the kernels chapter can route it to a Triton kernel later, DESIGN.md §5).  Claims
``dsf.chunked-equals-recurrent`` and ``dsf.convolutional-form``.
"""

from __future__ import annotations

import torch

__all__ = ["chunked_diag_scan", "diag_transition_products", "segsum"]


def segsum(x: torch.Tensor) -> torch.Tensor:
    r"""Segment sums :math:`S_{ij}=\sum_{l=j+1}^{i}x_l` for :math:`j\le i`, :math:`-\infty` above the diagonal.

    x: ``[..., T]`` (may contain :math:`-\infty`); returns ``[..., T, T]``.  Built as a masked
    cumulative sum (no subtraction), so :math:`-\infty` entries never produce NaN.
    """
    T = x.shape[-1]
    strict = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1)
    rep = x.unsqueeze(-1).expand(*x.shape, T)  # rep[..., l, j] = x_l
    rep = rep.masked_fill(~strict, 0.0)  # keep x_l for l > j
    out = rep.cumsum(dim=-2)  # out[..., i, j] = sum_{j < l <= i} x_l
    lower = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(0)
    return out.masked_fill(~lower, float("-inf"))


def _log_abs_and_negatives(lam: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``log|lam|`` (``-inf`` at zeros) and a 0/1 tensor marking negative entries (None if there are none)."""
    log_abs = torch.log(lam.abs())
    neg = (lam < 0).to(lam.dtype)
    return log_abs, (neg if bool(neg.any()) else None)


def _pairwise_products(lam_t: torch.Tensor) -> torch.Tensor:
    r"""``P[..., i, j] = prod_{l=j+1}^{i} lam_t[..., l]`` for ``j <= i`` and 0 above (lam_t: ``[..., T]``)."""
    log_abs, neg = _log_abs_and_negatives(lam_t)
    P = torch.exp(segsum(log_abs))
    if neg is not None:
        parity = segsum(neg).nan_to_num(neginf=0.0).remainder(2.0)
        P = P * (1.0 - 2.0 * parity)
    return P


def diag_transition_products(lam: torch.Tensor) -> torch.Tensor:
    r"""All products :math:`\Lambda_{i:j}=\lambda_i\cdots\lambda_{j+1}` (:math:`\Lambda_{i:i}=1`), zero for :math:`j>i`.

    lam: ``[..., L, N]`` (diagonal) → ``[..., L, L, N]`` with ``[..., i, j, :]`` the product.
    Log-space segment sums with a sign parity; exact zeros give exact zeros.
    """
    P = _pairwise_products(lam.movedim(-1, -2))  # [..., N, L, L]
    return P.movedim(-3, -1)


def chunked_diag_scan(
    lam: torch.Tensor,
    x: torch.Tensor,
    chunk: int,
    h0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All states of :math:`h_i=\lambda_i\odot h_{i-1}+x_i` in :math:`O(L\,C\,N)` work, chunk by chunk.

    lam: ``[..., L]`` (scalar decay, shared by the state) or ``[..., L, N]`` (diagonal);
    x: ``[..., L, N]``; ``h0``: ``[..., N]`` or None (zero).  Returns ``(h [..., L, N], h_L [..., N])``.

    Inside a chunk of ``C`` steps the entering state is treated as an extra input at
    position 0, so one masked product over ``C+1`` positions gives every state:
    :math:`h_i=\sum_{j=0}^{i}\Lambda_{i:j}x_j` with :math:`x_0=h_{\text{enter}}`, and
    :math:`\Lambda_{i:j}` from :func:`segsum` of :math:`\log|\lambda|` (intra-chunk masked product).
    The chunk's last state is passed to the next chunk (inter-chunk state passing).  This is
    the routing point for a future kernel; claim ``dsf.chunked-equals-recurrent``.
    """
    L, N = x.shape[-2], x.shape[-1]
    scalar = lam.dim() == x.dim() - 1
    batch = x.shape[:-2]
    state = x.new_zeros(*batch, N) if h0 is None else h0
    outs = []
    for start in range(0, L, chunk):
        stop = min(start + chunk, L)
        xc = torch.cat([state.unsqueeze(-2), x[..., start:stop, :]], dim=-2)  # [..., C+1, N]
        if scalar:
            lc = torch.cat([torch.ones_like(lam[..., :1]), lam[..., start:stop]], dim=-1)  # [..., C+1]
            W = _pairwise_products(lc)  # [..., C+1, C+1]
            hc = W @ xc
        else:
            lc = torch.cat([torch.ones_like(lam[..., :1, :]), lam[..., start:stop, :]], dim=-2)
            W = _pairwise_products(lc.movedim(-1, -2))  # [..., N, C+1, C+1]
            hc = torch.einsum("...nij,...jn->...in", W, xc)
        outs.append(hc[..., 1:, :])
        state = hc[..., -1, :]
    return torch.cat(outs, dim=-2), state
