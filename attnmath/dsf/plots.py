"""Figures of the DSF framework chapter (``notebooks/10_dsf_framework``), drawn from objects it computes.

Every function takes the chapter's data, draws on given axes or a new figure, and returns the
figure; matplotlib is imported lazily (``import attnmath.dsf`` stays light).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.figure import Figure

from .core import DSF


def plot_transfer_matrices(systems: Mapping[str, DSF], *, vmin: float = -4.0, vmax: float = 1.0) -> Figure:
    r"""Heatmaps of :math:`\log_{10}|\Phi|` (the DSF's block lower-triangular matrix), one panel per system.

    ``systems``: ``{title: DSF}`` with unbatched systems. Entries below :math:`10^{\text{vmin}}` are
    clipped to ``vmin``; one shared colorbar. Returns the figure.
    """
    import matplotlib.pyplot as plt  # lazy

    if not systems:
        raise ValueError("systems must name at least one DSF")
    fig, axes = plt.subplots(1, len(systems), figsize=(3.0 * len(systems) + 0.6, 3.2), squeeze=False)
    image = None
    for ax, (name, system) in zip(axes[0], systems.items(), strict=True):
        phi = system.matrix().detach().abs().clamp(min=10.0**vmin).log10().cpu().numpy()
        image = ax.imshow(phi, cmap="magma", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(f"{name}\n{system.structure}, N={system.N}", fontsize=9)
        ax.set_xlabel("input position (j, channel)", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_ylabel("output position (i, channel)", fontsize=8)
    assert image is not None  # systems is not empty (checked above)
    bar = fig.colorbar(image, ax=axes[0].tolist(), shrink=0.85, pad=0.02)
    bar.set_label(r"$\log_{10}|\Phi_{ij}|$")
    return fig


def plot_native_agreement(rows: Sequence, *, tolerance: float = 1e-12, floor: float = 1e-18) -> Figure:
    """Horizontal bars: the error of each DSF form against the architecture's native code.

    ``rows``: the rows of :func:`attnmath.dsf.catalogue.native_agreement` (``name``, ``loop_error``,
    ``other_error``, ``other_form``). Errors are drawn on a log axis, exact zeros at ``floor``; a
    dashed line marks ``tolerance``. Returns the figure.
    """
    import matplotlib.pyplot as plt  # lazy

    if not rows:
        raise ValueError("rows is empty")
    names = [row.name for row in rows]
    loop = np.maximum([row.loop_error for row in rows], floor)
    other = np.maximum([row.other_error for row in rows], floor)
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7.0, 0.26 * len(rows) + 1.2))
    ax.barh(y - 0.2, loop, height=0.4, left=floor, color="tab:blue", label="DSF loop vs native")
    ax.barh(y + 0.2, other, height=0.4, left=floor, color="tab:orange", label="chunked (or $\\Phi u$) vs native")
    ax.axvline(tolerance, color="k", ls="--", lw=1, label=f"tolerance {tolerance:.0e}")
    ax.set_xscale("log")
    ax.set_xlim(floor, max(1e-9, 10 * tolerance))
    ax.set_yticks(y, names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("max |DSF output - native output| (float64)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def factorised_scan(lam: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""The naive factorised form :math:`h_i=e^{b_i}\sum_{j\le i}e^{-b_j}x_j`, :math:`b_i=\sum_{l\le i}\log\lambda_l`.

    ``lam``: ``[L]`` positive decays, ``x``: ``[L, N]``. Overflows once :math:`-b_j` exceeds the
    largest exponent of the dtype; the negative control of claim ``dsf.chunked-equals-recurrent``.
    """
    b = torch.cumsum(torch.log(lam), 0)[:, None]
    return torch.exp(b) * torch.cumsum(torch.exp(-b) * x, 0)


def plot_log_space_scan(lam: torch.Tensor, x: torch.Tensor, *, chunk_size: int = 64) -> Figure:
    r"""Why the chunked scan works in log space: the factorised form's exponent and the errors of both forms.

    ``lam``: ``[L]`` decays in :math:`(0, 1]`, ``x``: ``[L, N]`` inputs (float64). Left: the exponent
    :math:`-b_j` that the factorised form exponentiates, against the largest float64 exponent. Right:
    the error of :func:`attnmath.dsf.scan.chunked_diag_scan` and of :func:`factorised_scan` against the
    loop, per step (a non-finite value is drawn at the top of the axis). Returns the figure.
    """
    import matplotlib.pyplot as plt  # lazy

    from .scan import chunked_diag_scan

    lam = lam.to(torch.float64)
    x = x.to(torch.float64)
    h = torch.zeros_like(x[0])
    loop = []
    for i in range(lam.shape[0]):
        h = lam[i] * h + x[i]
        loop.append(h)
    loop_t = torch.stack(loop)
    chunked, _ = chunked_diag_scan(lam, x, chunk_size)
    naive = factorised_scan(lam, x)
    scale = loop_t.abs().max(-1).values.clamp(min=1e-300)
    top = 1e2
    errors = {}
    for name, h_form in (("chunked scan (log space)", chunked), ("factorised form", naive)):
        err = ((h_form - loop_t).abs().max(-1).values / scale).numpy()
        errors[name] = np.where(np.isfinite(err), np.maximum(err, 1e-18), top)
    steps = np.arange(1, lam.shape[0] + 1)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(9.0, 3.0))
    ax0.plot(steps, -torch.cumsum(torch.log(lam), 0).numpy(), color="tab:red", label="$-b_j$")
    ax0.axhline(math.log(torch.finfo(torch.float64).max), color="k", ls="--", lw=1, label="largest float64 exponent")
    ax0.set_xlabel("step j")
    ax0.set_ylabel("exponent of $e^{-b_j}$")
    ax0.legend(fontsize=7)
    for (name, err), style in zip(errors.items(), ("-", "-"), strict=True):
        ax1.semilogy(steps, err, style, lw=1, label=name)
    ax1.axhline(top, color="0.6", lw=0.8)
    ax1.text(steps[0], top * 0.3, "not finite", fontsize=7, color="0.4", va="top")
    ax1.set_ylim(1e-18, top * 10)
    ax1.set_xlabel("step i")
    ax1.set_ylabel("relative error vs the loop")
    ax1.legend(fontsize=7, loc="center left")
    fig.tight_layout()
    return fig
