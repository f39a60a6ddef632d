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
from ..base.runtime import single_thread


def sparse_then_dense(
    n: int = 10,
    *,
    steps: int = 5000,
    eta: float = 0.02,
    tau: float = 3.0,
    v0: float = 0.05,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> tuple[np.ndarray, torch.Tensor]:
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


# ---------------------------------------------------------------------------------------------------------
# JoMA's Theorem 1 (the invariant between attention logits and lower-layer weights), claim
# ``scansnap.s14-joma-invariant``: the setting of the official ``joma/draw_figure_2_3.py``, re-implemented.
# ---------------------------------------------------------------------------------------------------------

JOMA_ATTENTION = ("exp", "softmax")
JOMA_INIT = ("zero", "random")


def joma_contexts(
    kind: str = "gaussian", *, n_distinct: int = 10, n_common: int = 10, K: int = 20, seed: int = 0
) -> torch.Tensor:
    r"""Token distributions of the ``K`` classes, ``X`` of shape ``[n_distinct + n_common, K]`` (float64).

    Column :math:`k` is :math:`\mathbb P(l\mid k)`. Rows :math:`l<` ``n_distinct`` are Gaussian bumps
    :math:`X_{lk}=\exp(-(l-k\,n_\mathrm{distinct}/K)^2/30)` (``kind="gaussian"``) or draws from
    :math:`\mathcal U[0,\tfrac12]` (``kind="random"``); the other rows are :math:`\mathcal U[0,\tfrac12]`
    draws (``torch_generator(seed)``). Columns are then normalised to sum 1.
    """
    kind = V.choice(kind, "kind", ("gaussian", "random"))
    nd = V.integer(n_distinct, "n_distinct", minimum=1)
    nc = V.integer(n_common, "n_common", minimum=0)
    K = V.integer(K, "K", minimum=2)
    X = torch.rand(nd + nc, K, generator=torch_generator(seed), dtype=torch.float64) / 2
    if kind == "gaussian":
        l_idx = torch.arange(nd, dtype=torch.float64)[:, None]
        k_idx = torch.arange(K, dtype=torch.float64)[None, :]
        X[:nd] = torch.exp(-((l_idx - k_idx * nd / K) ** 2) / 30)
    return X / X.sum(0, keepdim=True)


def joma_attention(z: torch.Tensor, X: torch.Tensor, tau: float, attention: str = "exp") -> torch.Tensor:
    r"""Attention of each class's query on the contextual tokens, ``B`` of shape ``[M_c, K]``.

    ``"exp"``: :math:`b_{lk}=X_{lk}\,e^{z_l/\tau}` (JoMA's exp attention, constant normaliser 1);
    ``"softmax"``: :math:`b_{lk}=X_{lk}e^{z_l/\tau}/\sum_{l'}X_{l'k}e^{z_{l'}/\tau}`.
    """
    X = V.tensor(X, "X", ndim=2)
    z = V.tensor(z, "z", shape=(X.shape[0],))
    tau = V.real(tau, "tau", positive=True)
    attention = V.choice(attention, "attention", JOMA_ATTENTION)
    B = torch.exp(z / tau)[:, None] * X
    return B / B.sum(0, keepdim=True) if attention == "softmax" else B


def joma_loss(W: torch.Tensor, z: torch.Tensor, X: torch.Tensor, tau: float, attention: str = "exp") -> torch.Tensor:
    r"""Cross-entropy of the one-layer JoMA model over the ``K`` classes (class ``k`` has label ``k``).

    Embeddings are the identity (token :math:`l\mapsto e_l`, the query :math:`\mapsto e_{M_c}` in
    :math:`\mathbb R^d`, :math:`d\ge M_c+1`); the attended input with the query as residual is
    :math:`f_k=\sum_l b_{lk}e_l+e_{M_c}`, the outputs are :math:`o_k=W^\top f_k` (``W`` is
    ``[d, K]``, one lower-layer weight vector :math:`w_j` per column) and
    :math:`L=\frac1K\sum_k-\log\mathrm{softmax}(o_k)_k`. In token space :math:`v_j=U_C^\top w_j`
    is row block ``W[:M_c]``.
    """
    X = V.tensor(X, "X", ndim=2)
    Mc, K = X.shape
    W = V.tensor(W, "W", shape=(None, K))
    if W.shape[0] < Mc + 1:
        raise ValueError(f"W must have >= M_c + 1 = {Mc + 1} rows (embedding dimension d), got {W.shape[0]}")
    B = joma_attention(z, X, tau, attention)
    out = B.T @ W[:Mc] + W[Mc][None, :]  # f_k^T W with f_k = U_C b_k + u_q, U = identity
    return torch.nn.functional.cross_entropy(out, torch.arange(K))


def _joma_init(X: torch.Tensor, d: int, init: str, init_scale: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    Mc, K = X.shape
    if init == "zero":
        return torch.zeros(d, K, dtype=torch.float64), torch.zeros(Mc, dtype=torch.float64)
    g = torch_generator(seed)
    W = torch.randn(d, K, generator=g, dtype=torch.float64) * init_scale
    z = torch.randn(Mc, generator=g, dtype=torch.float64) * init_scale
    return W, z


def _joma_args(
    X: torch.Tensor, tau: float, attention: str, d: int, init: str, init_scale: float, seed: int
) -> tuple[torch.Tensor, float, str, int, str, float]:
    X = V.tensor(X, "X", ndim=2, dtypes=(torch.float64,))
    tau = V.real(tau, "tau", positive=True)
    attention = V.choice(attention, "attention", JOMA_ATTENTION)
    d = V.integer(d, "d", minimum=X.shape[0] + 1)
    init = V.choice(init, "init", JOMA_INIT)
    init_scale = V.real(init_scale, "init_scale", nonnegative=True)
    V.integer(seed, "seed", minimum=0)
    return X, tau, attention, d, init, init_scale


def joma_gradients(
    W: torch.Tensor, z: torch.Tensor, X: torch.Tensor, tau: float, attention: str = "exp"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(dL/dW, dL/dz)`` of :func:`joma_loss` by autograd (float64)."""
    W = W.detach().requires_grad_(True)
    z = z.detach().requires_grad_(True)
    gW, gz = torch.autograd.grad(joma_loss(W, z, X, tau, attention), (W, z))
    return gW, gz


@single_thread()
def joma_sgd(
    X: torch.Tensor,
    *,
    steps: int,
    lr: float,
    tau: float = 0.5,
    attention: str = "exp",
    d: int = 30,
    init: str = "zero",
    init_scale: float = 1e-2,
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    r"""Joint SGD (plain Euler steps) on :math:`(W, z)` with one learning rate ``lr``, as in ``draw_figure_2_3.py``.

    ``init="zero"``: :math:`W=0`, :math:`z=0` (JoMA's Theorem 1 setting); ``"random"``: entries
    :math:`\mathcal N(0,\text{init\_scale}^2)` (the script uses ``randn / 100``). Returns ``z0``, ``V0``,
    ``z``, ``V`` (:math:`V=W_{[:M_c]}`, the :math:`v_j` as columns) after ``steps`` steps, and ``dv2``: per
    token :math:`l`, :math:`\sum_s\sum_j(\Delta v_{jl}(s))^2`, the squared increments that a discrete step adds
    to :math:`\tfrac12\sum_j v_{jl}^2` beyond :math:`\sum_j v_{jl}\Delta v_{jl}`.
    """
    X, tau, attention, d, init, init_scale = _joma_args(X, tau, attention, d, init, init_scale, seed)
    S = V.integer(steps, "steps", minimum=0)
    lr = V.real(lr, "lr", positive=True)
    Mc = X.shape[0]
    W, z = _joma_init(X, d, init, init_scale, seed)
    z0, V0 = z.clone(), W[:Mc].clone()
    dv2 = torch.zeros(Mc, dtype=torch.float64)
    for _ in range(S):
        gW, gz = joma_gradients(W, z, X, tau, attention)
        dv2 += ((lr * gW[:Mc]) ** 2).sum(1)
        W, z = W - lr * gW, z - lr * gz
    return {"z0": z0, "V0": V0, "z": z, "V": W[:Mc], "dv2": dv2}


@single_thread()
def joma_flow(
    X: torch.Tensor,
    t: float,
    *,
    tau: float = 0.5,
    attention: str = "exp",
    d: int = 30,
    init: str = "zero",
    init_scale: float = 1e-2,
    seed: int = 0,
    rtol: float = 1e-11,
    atol: float = 1e-13,
) -> dict[str, torch.Tensor]:
    r"""Gradient flow :math:`\dot W=-\partial L/\partial W`, :math:`\dot z=-\partial L/\partial z` up to time ``t``.

    Integrated by ``scipy.integrate.solve_ivp`` (DOP853, ``rtol``, ``atol``) with autograd gradients of
    :func:`joma_loss`; same initialisation as :func:`joma_sgd`. Returns ``z0``, ``V0``, ``z``, ``V`` at ``t``
    and ``nfev``.
    """
    from scipy.integrate import solve_ivp

    X, tau, attention, d, init, init_scale = _joma_args(X, tau, attention, d, init, init_scale, seed)
    t = V.real(t, "t", positive=True)
    rtol = V.real(rtol, "rtol", positive=True)
    atol = V.real(atol, "atol", positive=True)
    Mc, K = X.shape
    W, z = _joma_init(X, d, init, init_scale, seed)

    def rhs(_: float, y: np.ndarray) -> np.ndarray:
        gW, gz = joma_gradients(
            torch.from_numpy(y[: d * K]).reshape(d, K), torch.from_numpy(y[d * K :]), X, tau, attention
        )
        return -np.concatenate([gW.reshape(-1).numpy(), gz.numpy()])

    y0 = np.concatenate([W.reshape(-1).numpy(), z.numpy()])
    sol = solve_ivp(rhs, (0.0, t), y0, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"joma_flow: solve_ivp failed: {sol.message}")
    y = torch.from_numpy(sol.y[:, -1].copy())
    Wt = y[: d * K].reshape(d, K)
    return {"z0": z, "V0": W[:Mc], "z": y[d * K :], "V": Wt[:Mc], "nfev": torch.tensor(sol.nfev)}


def joma_invariant(v: torch.Tensor, tau: float) -> torch.Tensor:
    r"""JoMA's Theorem 1 prediction of the logits from the token-space weights: :math:`\hat z_l=\frac1{2\tau}\sum_j v_{jl}^2`.

    ``v`` is ``[M_c, K']`` (row :math:`l` holds :math:`v_{jl}` over the lower-layer neurons :math:`j`).
    Under exp attention, one learning rate and zero init, the gradient flow keeps :math:`z_l(t)=\hat z_l(t)`.
    """
    v = V.tensor(v, "v", ndim=2)
    tau = V.real(tau, "tau", positive=True)
    return (v**2).sum(1) / (2 * tau)
