r"""The network-level smoke test on scikit-learn's ``load_digits`` (exploratory; no ordering claim).

Residual MLP of width 64 with 8 blocks (:class:`~attnmath.stiffness.networks.ResidualMLP`), arms
``plain``, ``se`` (:math:`f\to64/4\to64`) and ``secant`` (StepNet-lite reconstruction, input
:math:`[f_t,f_t-f_{t-1}]`); Adam (lr 1e-3, weight decay 1e-4), batch 64. The reconstructed recipe
trains 60 epochs (the ``paper`` tier); the ``ci`` tier trains 15 epochs to fit the CI budget
(measured here, seeds 0-2: mean test accuracy 0.979 for the plain arm at 15 epochs, above the
0.95 bar; at 10 epochs it was 0.961, too close to it). The epochs per tier are in
:mod:`attnmath.stiffness.claims.sizes`.
After training: test accuracy, the SAI profile, :math:`\rho^J_t` by JVP power iteration, and the
stiffness-awareness score and stability-margin rate of the channel-mean gate (claim
``stiffness.network-smoke-test``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torch.nn.functional as F

from ..base import validation as V
from ..base.numerics import numpy_rng, torch_generator
from ..base.runtime import single_thread
from .measures import jacobian_spectral_radius, sai, stability_margin_rate, stiffness_awareness_score
from .networks import GATES, ResidualMLP

DIGITS_WIDTH, DIGITS_BLOCKS, DIGITS_TRAIN, DIGITS_BATCH = 64, 8, 1200, 64


@cache
def digits_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``load_digits`` (1797 x 64, shipped with scikit-learn) / 16, permuted with seed 0: 1200 train, 597 test."""
    from sklearn.datasets import load_digits  # lazy: keeps `import attnmath` fast

    d = load_digits()
    X = torch.tensor(d.data / 16.0, dtype=torch.float64)
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.from_numpy(numpy_rng(0).permutation(len(y)))
    tr, te = perm[:DIGITS_TRAIN], perm[DIGITS_TRAIN:]
    return X[tr], y[tr], X[te], y[te]


@dataclass(frozen=True)
class DigitsResult:
    """Test accuracy; block means of SAI, :math:`\\rho^J` and the channel-mean gate (``[L]`` each); gate range; SAS, SMR.

    ``awareness_score`` is the stiffness-awareness score of the channel-mean gate against :math:`\\rho^J`
    (NaN for the plain arm), ``margin_rate`` the stability-margin rate (both in :mod:`~attnmath.stiffness.measures`).
    """

    accuracy: float
    sai: np.ndarray
    rho_j: np.ndarray
    gate_mean: np.ndarray
    gate_min: float
    gate_max: float
    awareness_score: float
    margin_rate: float


@cache
@single_thread()
def train_digits_arm(arm: str, seed: int, epochs: int, n_blocks: int = DIGITS_BLOCKS) -> DigitsResult:
    """Train one arm from ``torch.manual_seed(seed)`` init (batches shuffled by ``Generator(seed)``) and measure it."""
    V.choice(arm, "arm", GATES)
    V.integer(seed, "seed", minimum=0)
    epochs = V.integer(epochs, "epochs", minimum=1)
    n_blocks = V.integer(n_blocks, "n_blocks", minimum=1)
    Xtr, ytr, Xte, yte = digits_split()
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ResidualMLP(64, DIGITS_WIDTH, n_blocks, 10, arm, dtype=torch.float64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4, fused=True)  # one fused kernel: same update
    g = torch_generator(seed)
    for _ in range(epochs):
        perm = torch.randperm(len(ytr), generator=g)
        for i in range(0, len(ytr), DIGITS_BATCH):
            idx = perm[i : i + DIGITS_BATCH]
            opt.zero_grad()
            F.cross_entropy(model(Xtr[idx]), ytr[idx]).backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        logits, tr = model(Xte, return_trace=True)
    acc = float((logits.argmax(1) == yte).double().mean())
    rho = torch.stack(
        [
            jacobian_spectral_radius(lambda x, t=t: model.residual(t, x), tr.xs[t], generator=torch_generator(t))
            for t in range(n_blocks)
        ]
    )  # [L, B]
    a_bar = tr.gates.mean(-1)  # [L, B]
    gated = arm != "plain"
    return DigitsResult(
        acc,
        sai(tr.xs[:-1], tr.xs[1:]).mean(1).numpy(),
        rho.mean(1).numpy(),
        a_bar.mean(1).numpy(),
        float(tr.gates.min()),
        float(tr.gates.max()),
        stiffness_awareness_score(a_bar, rho) if gated else math.nan,
        stability_margin_rate(a_bar, rho),
    )
