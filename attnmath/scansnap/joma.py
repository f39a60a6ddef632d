r"""Toy dynamics of the follow-up JoMA (Tian et al., ICLR 2024; bib key ``tian2024joma``), claim ``scansnap.s15-joma-sparse-then-dense``.

:func:`sparse_then_dense`: :math:`v \leftarrow v + \eta(\mu - v)\odot\mathrm{softmax}(v^2/\tau)`
(the official ``joma/draw_figure_4.py`` setting, re-implemented): the attention entropy first
drops (sparse), then rebounds (dense) once the salient components have been learned.
"""

from __future__ import annotations

import numpy as np
import torch

from ..base import validation as V
from ..base.numerics import torch_generator


def sparse_then_dense(
    n: int = 10,
    *,
    steps: int = 5000,
    eta: float = 0.02,
    tau: float = 3.0,
    v0: float = 0.05,
    seed: int = 0,
    dtype=torch.float32,
):
    r"""Run :math:`v_{t+1} = v_t + \eta(\mu - v_t)\odot\mathrm{softmax}(v_t^2/\tau)`, :math:`\mu` = sorted :math:`\mathcal U[1,4]^n`.

    :math:`\mu` comes from ``torch_generator(seed)`` (the same stream as the
    script's ``torch.manual_seed(0)``); float32 as in the script. Returns ``(entropy [steps], v_final [n])``,
    the entropy of :math:`\mathrm{softmax}(v_t^2/\tau)` before each update.
    """
    n = V.integer(n, "n", minimum=2)
    S = V.integer(steps, "steps", minimum=1)
    eta = V.real(eta, "eta", nonnegative=True)
    tau = V.real(tau, "tau", positive=True)
    g = torch_generator(seed)
    mu, _ = (torch.rand(n, generator=g, dtype=torch.float32) * 3 + 1).to(dtype).sort()  # float32 draws, as the script
    v = torch.full((n,), float(v0), dtype=dtype)
    ent = np.empty(S)
    for i in range(S):
        sa = torch.softmax(v * v / tau, 0)
        ent[i] = float(-(sa * torch.log(sa)).sum())
        v = v + eta * (mu - v) * sa
    return ent, v
