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

:func:`chunked_diag_scan` is the PyTorch chunked form the DSF's ``chunked`` method uses;
:func:`kernel_backend` and :func:`kernel_readout_scan` are the one routing point to the Triton
kernels of ``attnmath.kernels.dispatch``: Triton when CUDA is available or ``TRITON_INTERPRET=1`` is
set (and the inputs and the chunk length suit the kernel), this PyTorch form otherwise.  The chunk
length is ``chunk_size`` on both routes (default :data:`attnmath.base.chunks.CHUNK_SIZE`).
Claims ``dsf.chunked-equals-recurrent``, ``dsf.convolutional-form`` and ``dsf.chunked-kernel-dispatch``.
"""

from __future__ import annotations

import torch

from ..base import validation as V
from ..base.chunks import CHUNK_SIZE, check_chunk_size
from . import _checks

__all__ = ["chunked_diag_scan", "diag_transition_products", "kernel_backend", "kernel_readout_scan", "segsum"]
BACKENDS = ("auto", "torch", "triton")
KERNEL_MAX_STATE = 256  # the Triton kernels keep the whole key width (here the state size N) in one block
KERNEL_MIN_CHUNK = 16  # the Triton kernels' chunk is a tl.dot block side: a power of two >= 16


def segsum(x: torch.Tensor) -> torch.Tensor:
    r"""Segment sums :math:`S_{ij}=\sum_{l=j+1}^{i}x_l` for :math:`j\le i`, :math:`-\infty` above the diagonal.

    x: ``[..., T]`` (may contain :math:`-\infty`); returns ``[..., T, T]``.  Built as a masked
    cumulative sum (no subtraction), so :math:`-\infty` entries never produce NaN.

    Raises ``TypeError`` for a non-tensor or a non-floating ``x`` and ``ValueError`` for a 0-d or empty
    ``x``, NaN or :math:`+\infty` entries, or finite entries too large to sum.
    """
    x = _checks.log_values(x, "x")
    _checks.min_ndim(x, "x", 1, "[..., T]")
    return _segsum(x)


def _segsum(x: torch.Tensor) -> torch.Tensor:
    """:func:`segsum` of an already validated ``x`` (the log-space products call it on ``log|lam|``)."""
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
    P = torch.exp(_segsum(log_abs))
    if neg is not None:
        parity = _segsum(neg).nan_to_num(neginf=0.0).remainder(2.0)
        P = P * (1.0 - 2.0 * parity)
    return P


def diag_transition_products(lam: torch.Tensor) -> torch.Tensor:
    r"""All products :math:`\Lambda_{i:j}=\lambda_i\cdots\lambda_{j+1}` (:math:`\Lambda_{i:i}=1`), zero for :math:`j>i`.

    lam: ``[..., L, N]`` (diagonal) → ``[..., L, L, N]`` with ``[..., i, j, :]`` the product.
    Log-space segment sums with a sign parity; exact zeros give exact zeros.
    """
    V.has_data(V.tensor(lam, "lam"), "lam")  # the sign parity reads the values
    _checks.min_ndim(lam, "lam", 2, "[..., L, N]")
    P = _pairwise_products(lam.movedim(-1, -2))  # [..., N, L, L]
    return P.movedim(-3, -1)


def chunked_diag_scan(
    lam: torch.Tensor,
    x: torch.Tensor,
    chunk_size: int = CHUNK_SIZE,
    h0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""All states of :math:`h_i=\lambda_i\odot h_{i-1}+x_i` in :math:`O(L\,C\,N)` work, chunk by chunk.

    lam: ``[..., L]`` (scalar decay, shared by the state) or ``[..., L, N]`` (diagonal);
    x: ``[..., L, N]``; ``chunk_size``: the chunk length :math:`C`, any integer >= 1 (checked by
    :func:`attnmath.base.chunks.check_chunk_size`); ``h0``: ``[..., N]`` or None (zero).
    Returns ``(h [..., L, N], h_L [..., N])``.

    Inside a chunk of ``C`` steps the entering state is treated as an extra input at
    position 0, so one masked product over ``C+1`` positions gives every state:
    :math:`h_i=\sum_{j=0}^{i}\Lambda_{i:j}x_j` with :math:`x_0=h_{\text{enter}}`, and
    :math:`\Lambda_{i:j}` from :func:`segsum` of :math:`\log|\lambda|` (intra-chunk masked product).
    The chunk's last state is passed to the next chunk (inter-chunk state passing).  Claim
    ``dsf.chunked-equals-recurrent``.

    Why this is not the kernels' PyTorch chunked form ``attnmath.kernels.diag_scan.chunk.chunk_diag_scan``:
    that form takes log-decays :math:`g=\log\lambda\le0` (so :math:`0<\lambda\le1`) and forms
    :math:`e^{b_i-b_j}` from cumulative sums :math:`b` of :math:`g` within a chunk.  A DSF's
    transitions are any real numbers, and the chapter's claims use all of them:

    - negative :math:`\lambda` (random DSFs, claim ``dsf.chunked-equals-recurrent``): :math:`\log\lambda`
      is NaN there; here the sign is carried by a parity count;
    - exact zeros (RG-LRU resets, claim ``dsf.native.rg-lru``): :math:`g=-\infty` makes
      :math:`b_i-b_j=-\infty-(-\infty)` NaN there; here :func:`segsum` never subtracts, so a reset
      gives exact zeros;
    - :math:`\lambda>1` (recurrent normalisation :math:`\Lambda_i=\eta_{i-1}/\eta_i`, normalized
      attention): outside that form's stated domain :math:`g\le0`;
    - any chunk length :math:`C\ge1` (the claims use 1, 5, 6, 7 and :math:`L+3`), where that form
      needs a power of two;
    - every state :math:`h_i` (``DSF.chunked(..., return_state=True)``), where that form returns the
      outputs :math:`s\,S_t^\top q_t` and the final state only.

    Both forms compute float64 inputs in float64, so the dtype is not a reason.  Inputs that suit
    the kernels (fp32/fp16/bf16, :math:`0<\lambda\le1`) go to the Triton kernels instead
    (:func:`kernel_backend`, :func:`kernel_readout_scan`).
    """
    chunk_size = check_chunk_size(chunk_size)
    V.tensor(x, "x")
    if x.dim() < 2:
        raise ValueError(f"x must have shape [..., L, N], got {list(x.shape)}")
    V.tensor_like(lam, "lam", x, "x")
    V.shape_in(lam, "lam", (x.shape[:-1], x.shape), f"[..., L] or [..., L, N] matching x {list(x.shape)}")
    if h0 is not None:
        V.tensor_like(h0, "h0", x, "x", shape=(*x.shape[:-2], x.shape[-1]))
    return _chunked_diag_scan(lam, x, chunk_size, h0)


def _chunked_diag_scan(
    lam: torch.Tensor, x: torch.Tensor, chunk_size: int, h0: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`chunked_diag_scan` for an already validated ``chunk_size``."""
    L, N = x.shape[-2], x.shape[-1]
    scalar = lam.dim() == x.dim() - 1
    batch = x.shape[:-2]
    state = x.new_zeros(*batch, N) if h0 is None else h0
    outs = []
    for start in range(0, L, chunk_size):
        stop = min(start + chunk_size, L)
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


def _kernel_unsuitable(lam: torch.Tensor, x: torch.Tensor, chunk_size: int) -> str | None:
    """Why the Triton diagonal scan cannot run this DSF with this chunk length (None if it can)."""
    if x.dtype not in (torch.float32, torch.float16, torch.bfloat16):
        return f"the kernels compute in fp32/fp16/bf16, got {str(x.dtype).replace('torch.', '')}"
    if not bool(((lam > 0) & (lam <= 1)).all()):
        return "the kernels take log-decays <= 0, i.e. 0 < lam <= 1 (this DSF has lam outside (0, 1])"
    if x.shape[-1] > KERNEL_MAX_STATE:
        return f"the kernels hold the state in one block: N must be <= {KERNEL_MAX_STATE}, got {x.shape[-1]}"
    if chunk_size < KERNEL_MIN_CHUNK or chunk_size & (chunk_size - 1):
        return f"the kernels need chunk_size a power of two >= {KERNEL_MIN_CHUNK}, got {chunk_size}"
    return None


def kernel_backend(lam: torch.Tensor, x: torch.Tensor, backend: str = "auto", chunk_size: int = CHUNK_SIZE) -> str:
    r"""``"triton"`` or ``"torch"``: where :meth:`DSF.chunked` sends this scan with this ``chunk_size``.

    ``"auto"`` follows ``attnmath.kernels.dispatch.backend`` (Triton on CUDA or under ``TRITON_INTERPRET=1``)
    when the DSF and the chunk length suit the kernel (fp32/fp16/bf16, :math:`0<\lambda\le1`,
    :math:`N\le256`, ``chunk_size`` a power of two >= 16), else PyTorch; ``"triton"`` forces the kernel
    and raises ValueError saying why it cannot run.
    """
    V.choice(backend, "backend", BACKENDS)
    return _kernel_backend(lam, x, backend, check_chunk_size(chunk_size))


def _kernel_backend(lam: torch.Tensor, x: torch.Tensor, backend: str, chunk_size: int) -> str:
    """:func:`kernel_backend` for an already validated ``backend`` and ``chunk_size``."""
    if backend == "torch":
        return "torch"
    why = _kernel_unsuitable(lam, x, chunk_size)
    if backend == "triton":
        if why:
            raise ValueError(f"backend='triton': {why}")
        return "triton"
    from attnmath.kernels import dispatch

    return "triton" if why is None and dispatch.backend(x.device, x.dtype) == "triton" else "torch"


def kernel_readout_scan(
    lam: torch.Tensor,
    x: torch.Tensor,
    C: torch.Tensor,
    h0: torch.Tensor | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Outputs :math:`C_ih_i` of :math:`h_i=\lambda_i\odot h_{i-1}+x_i` through ``attnmath.kernels.dispatch.diag_scan``.

    The GLA-form kernel runs :math:`S_t=\mathrm{diag}(e^{g_t})S_{t-1}+k_tv_t^\top`,
    :math:`o_t=S_t^\top q_t`.  With one head per output row :math:`r` (``H = p``), key width
    :math:`K=N`, :math:`k_t=x_t`, :math:`v_t=1`, :math:`g_t=\log\lambda_t` and :math:`q_t=C_t[r,:]`, every
    head carries :math:`S_t=h_t` and outputs :math:`o_t^{(r)}=C_t[r,:]\,h_t`.  The kernel runs chunks of
    ``chunk_size`` steps (a power of two >= 16; the kernel checks it).  lam: ``[..., L]`` or
    ``[..., L, N]``; x: ``[..., L, N]``; C: ``[..., L, p, N]``; h0: ``[..., N]`` or None →
    ``(y [..., L, p], h_L [..., N])``.
    """
    return _kernel_readout_scan(lam, x, C, h0, check_chunk_size(chunk_size))


def _kernel_readout_scan(
    lam: torch.Tensor, x: torch.Tensor, C: torch.Tensor, h0: torch.Tensor | None, chunk_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`kernel_readout_scan` for an already validated ``chunk_size``."""
    from attnmath.kernels import dispatch

    *batch, L, N = x.shape
    p = C.shape[-2]
    Bf = 1
    for b in batch:
        Bf *= b
    q = C.reshape(Bf, L, p, N)
    k = x.reshape(Bf, L, 1, N).expand(Bf, L, p, N)
    v = x.new_ones(Bf, L, p, 1)
    g = torch.log(lam)
    g = g.reshape(Bf, L, 1).expand(Bf, L, p) if lam.dim() == x.dim() - 1 else g.reshape(Bf, L, 1, N).expand(Bf, L, p, N)
    S0 = None if h0 is None else h0.reshape(Bf, 1, N, 1).expand(Bf, p, N, 1)
    o, S = dispatch.diag_scan(
        q.contiguous(),
        k.contiguous(),
        v,
        g.contiguous(),
        scale=1.0,
        initial_state=S0,
        chunk_size=chunk_size,
        backend="triton",
    )
    return o[..., 0].reshape(*batch, L, p).to(x.dtype), S[:, 0, :, 0].reshape(*batch, N).to(x.dtype)
