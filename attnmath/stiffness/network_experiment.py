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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import ttest_1samp

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
def digits_model(arm: str, seed: int, epochs: int, n_blocks: int = DIGITS_BLOCKS) -> ResidualMLP:
    """Train one arm from ``torch.manual_seed(seed)`` init (batches shuffled by ``Generator(seed)``); eval mode.

    Adam (lr 1e-3, weight decay 1e-4), batch 64, on the 1200 training digits. Shared by
    :func:`train_digits_arm` and :func:`neural_stiffness_index`, so both read the same trained networks.
    Do not modify the returned model.
    """
    V.choice(arm, "arm", GATES)
    V.integer(seed, "seed", minimum=0)
    epochs = V.integer(epochs, "epochs", minimum=1)
    n_blocks = V.integer(n_blocks, "n_blocks", minimum=1)
    Xtr, ytr, _, _ = digits_split()
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
    return model.eval()


@cache
@single_thread()
def train_digits_arm(arm: str, seed: int, epochs: int, n_blocks: int = DIGITS_BLOCKS) -> DigitsResult:
    """Train one arm (:func:`digits_model`) and measure it on the 597 test digits."""
    _, _, Xte, yte = digits_split()
    model = digits_model(arm, seed, epochs, n_blocks)
    with torch.no_grad():
        logits, tr = model(Xte, return_trace=True)
    acc = float((logits.argmax(1) == yte).double().mean())
    rho = torch.stack(
        [
            jacobian_spectral_radius(lambda x, t=t: model.residual(t, x), tr.xs[t], generator=torch_generator(t))  # type: ignore[misc]  # mypy cannot infer a lambda that binds loop values as default arguments
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


# ---------------------------------------------------------------- the neural stiffness index (a reading of the paper's NSI)
@cache
def neural_stiffness_index(arm: str, seed: int, epochs: int, n_blocks: int = DIGITS_BLOCKS) -> np.ndarray:
    r"""Per-block, per-sample index :math:`I_{t,i}=\lVert x_{t+1,i}-x_{t,i}\rVert/\lVert x_{t,i}\rVert` on the test digits.

    The SAI with :math:`h=1` (:func:`~attnmath.stiffness.measures.sai`) of the trained network
    :func:`digits_model` (``arm``, ``seed``, ``epochs``), over its ``n_blocks`` blocks and the 597 test
    digits: returns ``[L, 597]``. A *reading* of the paper's "Neural Stiffness Index" figure, whose
    formula is not known (reconstructed, see the book's Sources appendix; claim
    ``stiffness.neural-stiffness-index``).
    """
    _, _, Xte, _ = digits_split()
    model = digits_model(arm, seed, epochs, n_blocks)
    with torch.no_grad():
        _, tr = model(Xte, return_trace=True)
    return sai(tr.xs[:-1], tr.xs[1:], 1.0).numpy()


def nsi_profile_stats(index: np.ndarray) -> dict[str, Any]:
    r"""Summary of one index ``[L, B]`` (blocks × samples): block means, total variation, per-block spread.

    - ``mean``: :math:`m_t=\mathrm{mean}_i I_{t,i}` (``[L]``);
    - ``tv``: the block-to-block total variation :math:`\sum_{t=0}^{L-2}|m_{t+1}-m_t|` (spikiness);
    - ``spread``: :math:`w_t=\max_i I_{t,i}-\min_i I_{t,i}` (``[L]``), the width of the figure's
      per-sample max/min band.
    """
    index = np.asarray(index, dtype=np.float64)
    if index.ndim != 2 or index.shape[0] < 2 or index.shape[1] < 1:
        raise ValueError(f"index must have shape [L >= 2, B >= 1] (blocks x samples), got {list(index.shape)}")
    if not np.all(np.isfinite(index)):
        raise ValueError("index must contain only finite values (found NaN or Inf)")
    m = index.mean(1)
    return {"mean": m, "tv": float(np.abs(np.diff(m)).sum()), "spread": index.max(1) - index.min(1)}


def nsi_log_ratios(gated: np.ndarray, plain: np.ndarray) -> dict[str, float]:
    r"""Log ratios gated / plain of the three properties of the NSI figure, for one seed.

    ``gated``, ``plain``: indices ``[L, B]`` of one shape (:func:`neural_stiffness_index`). Returns
    ``higher`` :math:`=\mathrm{mean}_t\log(m^{\rm g}_t/m^{\rm p}_t)`, ``spikier``
    :math:`=\log(\mathrm{TV}^{\rm g}/\mathrm{TV}^{\rm p})` and ``wider`` :math:`=\mathrm{mean}_t\log(w^{\rm g}_t/w^{\rm p}_t)`
    (:func:`nsi_profile_stats`); each is 0 when the two networks are the same, positive where the gated
    one has more of the property.
    """
    gated, plain = np.asarray(gated, dtype=np.float64), np.asarray(plain, dtype=np.float64)
    if gated.shape != plain.shape:
        raise ValueError(f"gated and plain must have one shape [L, B], got {list(gated.shape)} and {list(plain.shape)}")
    g, p = nsi_profile_stats(gated), nsi_profile_stats(plain)
    if min(g["mean"].min(), p["mean"].min(), g["tv"], p["tv"], g["spread"].min(), p["spread"].min()) <= 0:
        raise ValueError("the index's block means, total variation and spreads must be positive to take log ratios")
    return {
        "higher": float(np.mean(np.log(g["mean"] / p["mean"]))),
        "spikier": float(np.log(g["tv"] / p["tv"])),
        "wider": float(np.mean(np.log(g["spread"] / p["spread"]))),
    }


def nsi_direction_pvalue(values: float | np.ndarray | Sequence[float], direction: str) -> float:
    r"""One-sided one-sample t-test that the mean of per-seed log ratios is below (``"less"``) or above (``"greater"``) 0.

    ``values``: 1-d, at least 2 finite numbers (one per seed, from :func:`nsi_log_ratios`). Returns the p-value
    of :math:`t=\bar v/(s/\sqrt n)` against :math:`H_0`: mean :math:`\ge0` (``"less"``) or :math:`\le0`
    (``"greater"``). Equal values carry no spread: all 0 (equal networks) give p = 1; all of one sign give
    p = 0 in their own direction and 1 in the other.
    """
    v = np.asarray(values, dtype=np.float64)
    V.choice(direction, "direction", ("less", "greater"))
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"values must be 1-d with at least 2 entries (one per seed), got shape {list(v.shape)}")
    if not np.all(np.isfinite(v)):
        raise ValueError("values must contain only finite numbers (found NaN or Inf)")
    if np.all(v == v[0]):
        if v[0] == 0:
            return 1.0
        return 0.0 if (v[0] < 0) == (direction == "less") else 1.0
    return float(ttest_1samp(v, 0.0, alternative="less" if direction == "less" else "greater").pvalue)


def plot_neural_stiffness_index(gated, plain, ax=None, labels=("SE-gated", "plain")):
    r"""Plot two neural stiffness indices per block: the mean over samples and seeds, and the per-sample min/max band.

    ``gated``, ``plain``: sequences of indices ``[L, B]`` (one per seed, from :func:`neural_stiffness_index`),
    all of one shape. The line is :math:`\mathrm{mean}_{s,i}I_{t,i}`, the band :math:`[\min_{s,i}I_{t,i},\max_{s,i}I_{t,i}]`
    over every sample of every seed, as the per-sample max/min bands of the paper's figure. Creates a
    150-dpi figure when ``ax`` is None; returns the axes.
    """
    import matplotlib.pyplot as plt  # lazy: keeps `import attnmath` light

    arrays = []
    for name, runs in (("gated", gated), ("plain", plain)):
        runs = [np.asarray(r, dtype=np.float64) for r in runs]
        if not runs or any(r.ndim != 2 or r.shape != runs[0].shape for r in runs):
            raise ValueError(f"{name} must be a non-empty sequence of [L, B] arrays of one shape")
        arrays.append(np.stack(runs))  # [S, L, B]
    if arrays[0].shape[1] != arrays[1].shape[1]:
        raise ValueError(
            f"gated and plain must have the same number of blocks, got {arrays[0].shape[1]} and {arrays[1].shape[1]}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(5.6, 3.4), dpi=150)
    for arr, label, color in zip(arrays, labels, ("tab:red", "tab:blue"), strict=True):
        t = np.arange(arr.shape[1])
        pooled = arr.transpose(1, 0, 2).reshape(arr.shape[1], -1)  # [L, S * B]
        ax.fill_between(t, pooled.min(1), pooled.max(1), color=color, alpha=0.18, lw=0)
        ax.plot(t, pooled.mean(1), "o-", ms=3, color=color, label=f"{label} (mean; band: sample min/max)")
    ax.set_xlabel("block t")
    ax.set_ylabel(r"$\|x_{t+1}-x_t\| / \|x_t\|$")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    return ax
