"""Figures of the kernels chapter (``notebooks/20_kernels``), drawn from tensors the chapter computes.

Every function returns the figure; matplotlib is imported lazily.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from attnmath.base import validation as V

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def chunk_weights(q: torch.Tensor, k: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    r"""The masked ("attention") weights :math:`w_{ij}=(q_i\odot e^{G_i-G_j})^\top k_j` for :math:`j\le i`, else 0.

    ``q``, ``k``: ``[T, K]``; ``g``: ``[T, K]`` or ``[T]`` log-decays :math:`\le 0`. Formed with
    non-positive exponents only (the differences :math:`G_i-G_j` are masked before the exponential).

    Raises ``TypeError``/``ValueError`` naming the argument for a non-tensor, a non-float dtype, a wrong
    shape, a meta tensor, non-finite entries or a positive log-decay.
    """
    _check_qkg(q, k, g)
    q, k, g = q.to(torch.float64), k.to(torch.float64), g.to(torch.float64)
    if g.dim() == 1:
        g = g[:, None].expand_as(q)
    G = torch.cumsum(g, 0)
    diff = G[:, None, :] - G[None, :, :]  # [T, T, K]
    mask = torch.ones(q.shape[0], q.shape[0], dtype=torch.bool, device=q.device).tril()
    diff = diff.masked_fill(~mask[..., None], -math.inf)
    return torch.einsum("ik,ijk,jk->ij", q, torch.exp(diff), k)


def plot_chunk_structure(q: torch.Tensor, k: torch.Tensor, g: torch.Tensor, chunk_size: int) -> Figure:
    r"""Heatmap of :math:`\log_{10}|w_{ij}|` (:func:`chunk_weights`) with the chunk grid of the chunked form.

    Diagonal blocks are the intra-chunk masked products; everything left of them reaches step
    :math:`i` only through the state entering its chunk. Returns the figure.
    """
    import matplotlib.pyplot as plt  # lazy

    chunk_size = V.integer(chunk_size, "chunk_size", minimum=1)
    w = chunk_weights(q, k, g).detach().abs()  # a figure: read the values, do not differentiate
    T = w.shape[0]
    logw = torch.where(w > 0, w.clamp(min=1e-300).log10(), torch.tensor(math.nan, dtype=w.dtype)).numpy()
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    image = ax.imshow(logw, cmap="viridis", vmin=-6, vmax=float(np.nanmax(logw)), interpolation="nearest")
    for edge in range(chunk_size, T, chunk_size):
        ax.axhline(edge - 0.5, color="w", lw=0.8)
        ax.axvline(edge - 0.5, color="w", lw=0.8)
    for start in range(0, T, chunk_size):
        end = min(start + chunk_size, T)
        ax.add_patch(
            plt.Rectangle((start - 0.5, start - 0.5), end - start, end - start, fill=False, ec="tab:red", lw=1.5)
        )
    ax.set_xlabel("key step j")
    ax.set_ylabel("query step i")
    bar = fig.colorbar(image, ax=ax, shrink=0.9)
    bar.set_label(r"$\log_{10}|w_{ij}|$ (white: masked, $j>i$)")
    fig.tight_layout()
    return fig


def plot_log_space_exponents(g: torch.Tensor, *, dtype: torch.dtype = torch.float32) -> Figure:
    r"""One chunk of log-decays ``g`` (``[C]``): the factorised exponent :math:`-b_j` against the dtype's
    largest exponent (left), and the pairwise exponents :math:`b_i-b_j\le 0` the kernels use (right).

    ``dtype`` is a floating torch dtype. Returns the figure.
    """
    import matplotlib.pyplot as plt  # lazy

    dtype = V.float_dtype(dtype, "dtype")
    _log_decays(g, "g", ndim=1)
    g = g.detach().to(torch.float64)  # a figure: read the values, do not differentiate
    b = torch.cumsum(g, 0)
    C = g.shape[0]
    steps = np.arange(1, C + 1)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9.0, 3.2))
    ax0.semilogy(steps, (-b).clamp(min=1e-3).numpy(), "o-", ms=2, color="tab:red", label="factorised: $-b_j$")
    limit = V.max_exponent(dtype)
    ax0.axhline(
        limit, color="k", ls="--", lw=1, label=f"largest {str(dtype).removeprefix('torch.')} exponent ({limit:.1f})"
    )
    ax0.set_xlabel("step j in the chunk")
    ax0.set_ylabel("exponent (log scale)")
    ax0.legend(fontsize=7)
    pair = (b[:, None] - b[None, :]).masked_fill(~torch.ones(C, C, dtype=torch.bool).tril(), math.nan).numpy()
    image = ax1.imshow(pair, cmap="cividis", interpolation="nearest")
    ax1.set_xlabel("key step j")
    ax1.set_ylabel("query step i")
    bar = fig.colorbar(image, ax=ax1, shrink=0.9)
    bar.set_label(r"$b_i-b_j$ (all $\leq 0$; blank: masked)")
    fig.tight_layout()
    return fig


def plot_relative_errors(errors: Mapping[str, float], bound: float, *, floor: float = 1e-12) -> Figure:
    """Horizontal bars of relative errors on a log axis, with the acceptance ``bound`` dashed. Returns the figure.

    ``errors``: a non-empty mapping of names to finite errors >= 0; ``bound`` > 0; ``0 < floor < bound``
    (the left end of the log axis).
    """
    import matplotlib.pyplot as plt  # lazy

    if not isinstance(errors, Mapping):
        raise TypeError(f"errors must be a mapping of names to relative errors, got {type(errors).__name__}")
    if not errors:
        raise ValueError("errors must be non-empty, got an empty mapping")
    bound = V.real(bound, "bound", positive=True)
    floor = V.real(floor, "floor", positive=True, high=bound, high_open=True)
    names = list(errors)
    values = np.maximum([V.real(errors[n], f"errors[{n!r}]", nonnegative=True) for n in names], floor)
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * len(names) + 1.1))
    y = np.arange(len(names))
    ax.barh(y, values, left=floor, color=["tab:green" if v < bound else "tab:red" for v in values])
    ax.axvline(bound, color="k", ls="--", lw=1, label=f"bound {bound:.0e}")
    ax.set_xscale("log")
    ax.set_xlim(floor, 10 * bound)
    ax.set_yticks(y, names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("relative error, max norm (vs float64 reference)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _log_decays(g: torch.Tensor, name: str, *, ndim: int | tuple[int, ...]) -> torch.Tensor:
    """A float tensor of log-decays: finite, holding values, every entry <= 0 (a decay factor in (0, 1])."""
    V.has_data(V.tensor(g, name, ndim=ndim), name)
    if g.numel() and float(g.detach().max()) > 0:
        raise ValueError(f"{name} must hold log-decays <= 0, got a maximum of {float(g.detach().max()):.3g}")
    return g


def _check_qkg(q: torch.Tensor, k: torch.Tensor, g: torch.Tensor) -> None:
    """``q``, ``k``: ``[T, K]`` float tensors on one device; ``g``: log-decays ``[T]`` or ``[T, K]`` there too."""
    V.has_data(V.tensor(q, "q", ndim=2), "q")
    V.has_data(V.tensor(k, "k", ndim=2), "k")
    _log_decays(g, "g", ndim=(1, 2))
    V.same_size("q", q, 0, "k", k, 0, "the length T")
    V.same_size("q", q, 1, "k", k, 1, "the key width K")
    V.same_size("q", q, 0, "g", g, 0, "the length T")
    if g.ndim == 2:
        V.same_size("q", q, 1, "g", g, 1, "the key width K")
    V.same_device("k", k, "q", q)
    V.same_device("g", g, "q", q)
