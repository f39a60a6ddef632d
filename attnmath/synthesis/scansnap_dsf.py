r"""Scan and Snap seen through the DSF: one-hot attention as a finite separable-attention DSF.

Glue between :mod:`attnmath.scansnap` and :mod:`attnmath.dsf`. Book: ``notebooks/90_synthesis``; claims
``synthesis.scansnap-attention-is-dsf``, ``synthesis.snap-freezes-normaliser``,
``synthesis.linear-attention-lr-ratio``.

With one-hot tokens :math:`\mathbf x_t=e_{x_t}` and query token :math:`m=x_T`, the scan-and-snap attention
:math:`b_t\propto e^{z_{mx_t}}` is separable attention with *vocabulary-size* features

.. math:: \phi(\mathbf x_T)=\mathrm{feat}(Z^\top\mathbf x_T)\in\mathbb R^M,\quad \psi(\mathbf x_t)=\mathbf x_t,\quad
          W_V=I_M,\quad \eta_i=\phi^\top\sum_{t\le i}\psi(\mathbf x_t),

with ``feat = exp`` (softmax, the paper's model) or ``feat = elu + 1`` (the linear-attention variant of this
chapter). The state :math:`S_i=\sum_{t\le i}\mathbf x_t\mathbf x_t^\top` is finite (:math:`M\times M`, diagonal)
because the vocabulary is finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..base import validation as V
from ..base.numerics import torch_generator
from ..base.runtime import single_thread
from ..dsf import DSF, elu_plus_one, separable_attention_dsf
from ..scansnap import Batch, Flow, Forward, SequenceClasses, entropy_distinct, init_yz, sample_batch
from . import _checks as C

FEATURES = ("exp", "elu1")
F64 = torch.float64

__all__ = [
    "FEATURES",
    "FeatureRun",
    "efold_changes",
    "feature",
    "feature_entropy_distinct",
    "feature_forward",
    "feature_sgd_train",
    "flow_attention",
    "onehot_attention_dsf",
    "onehot_normaliser",
    "population_normaliser",
]


def feature(z: torch.Tensor, kind: str) -> torch.Tensor:
    r"""The positive map applied to the logits: :math:`e^z` (``"exp"``) or :math:`\mathrm{elu}(z)+1` (``"elu1"``).

    Elementwise: ``z`` may have any shape. Raises ``ValueError`` for ``"exp"`` when an entry of ``z`` exceeds
    :func:`~attnmath.synthesis._checks.exp_bound` (700 in float64), where :math:`e^z` would overflow.
    """
    V.choice(kind, "kind", FEATURES)
    V.tensor(z, "z")
    if kind == "exp":
        C.exp_argument(z, "z")
    return torch.exp(z) if kind == "exp" else elu_plus_one(z)


def _check(Z: torch.Tensor, x: torch.Tensor, query: torch.Tensor) -> int:
    V.tensor(Z, "Z", ndim=2)
    M = Z.shape[0]
    V.tensor(Z, "Z", shape=(M, M))
    V.has_data(Z, "Z")
    C.token_ids(x, "x", ndim=2)
    C.token_ids(query, "query", ndim=1)
    V.same_size("x", x, 0, "query", query, 0, "the batch size B (x [B, L], query [B])")
    for name, ids in (("x", x), ("query", query)):
        lo, hi = int(ids.min()), int(ids.max())
        if lo < 0 or hi >= M:
            raise ValueError(f"{name} must hold token ids in [0, M={M}) (M = Z's size), got min {lo}, max {hi}")
    return M


def onehot_normaliser(Z: torch.Tensor, x: torch.Tensor, query: torch.Tensor, kind: str = "exp") -> torch.Tensor:
    r"""The DSF normaliser :math:`\eta_i=\sum_{t\le i}\mathrm{feat}(z_{m x_t})` of each prefix: ``[B, L]``.

    Z ``[M, M]``, x ``[B, L]`` contextual tokens, query ``[B]``. :math:`\eta_L` is the softmax denominator of
    :func:`attnmath.scansnap.yz_forward` (``kind="exp"``). Claims ``synthesis.scansnap-attention-is-dsf``,
    ``synthesis.snap-freezes-normaliser``.
    """
    _check(Z, x, query)
    return feature(Z[query[:, None], x], kind).cumsum(-1)


def onehot_attention_dsf(
    Z: torch.Tensor, x: torch.Tensor, query: torch.Tensor, kind: str = "exp", *, realization: str = "recurrent"
) -> DSF:
    r"""The scan-and-snap attention of the query over the contextual tokens as a DSF (module docstring).

    Built with :func:`attnmath.dsf.separable_attention_dsf`: :math:`\phi` is the query's feature row (the same at
    every position, so :math:`y_i` is the attention over the first :math:`i` tokens), :math:`\psi` the one-hot
    key, :math:`W_V=I_M`; input ``u = one_hot(x)`` ``[B, L, M]``. State size :math:`N=M^2`. The last output is
    :math:`v=X^\top b_T` of :func:`attnmath.scansnap.yz_forward` (``normalize=False``).
    """
    M = _check(Z, x, query)
    phi = feature(Z[query], kind)[:, None, :].expand(*x.shape, M)
    psi = torch.nn.functional.one_hot(x, M).to(Z.dtype)
    return separable_attention_dsf(
        phi, psi, torch.eye(M, dtype=Z.dtype), onehot_normaliser(Z, x, query, kind), realization=realization
    )


def population_normaliser(zq: torch.Tensor, data: SequenceClasses, kind: str = "exp") -> torch.Tensor:
    r"""Long-sequence limit of the DSF normaliser per token, :math:`\bar\eta_n=\lim\eta_{T-1}/(T-1)=\sum_l\mathbb P(l\mid n)\,\mathrm{feat}(z_{ml})`.

    zq ``[..., M]`` (the logits row of class n's query, e.g. a population flow's ``zq[:, q]``) → ``[..., K]``.
    """
    C.instance(data, "data", SequenceClasses, "attnmath.scansnap.SequenceClasses")
    V.tensor(zq, "zq")
    if zq.shape[-1] != data.M:
        raise ValueError(f"zq must have last dimension M = {data.M}, got {list(zq.shape)}")
    f = feature(zq.to(F64), kind)  # [..., M]
    return f @ data.probs.T


def flow_attention(flow: Flow, data: SequenceClasses, kind: str = "exp") -> torch.Tensor:
    r"""The long-sequence attention :math:`c_{l\mid n}\propto\mathbb P(l\mid n)\,\mathrm{feat}(z_{\psi(n)l})` along a recorded flow.

    flow: a :class:`attnmath.scansnap.Flow` (query rows ``zq [S+1, #q, M]``) → ``[S+1, K, M]``; for ``"exp"`` each
    step equals :func:`attnmath.scansnap.population_attention` of that step's :math:`Z`.
    """
    C.instance(flow, "flow", Flow, "attnmath.scansnap.Flow")
    C.instance(data, "data", SequenceClasses, "attnmath.scansnap.SequenceClasses")
    rows = torch.stack([torch.nonzero(flow.queries == q).flatten()[0] for q in data.query])  # class -> row of zq
    w = data.probs[None] * feature(flow.zq[:, rows, :].to(F64), kind)  # [S+1, K, M]
    return w / w.sum(-1, keepdim=True)


def efold_changes(t: np.ndarray, values: np.ndarray, t_ref: float, ks: Sequence[int]) -> np.ndarray:
    r"""Change of a recorded trajectory over each e-fold of time :math:`[t_{\rm ref}e^k, t_{\rm ref}e^{k+1}]`.

    ``t`` ``[S]`` increasing times, ``values`` ``[S, ...]``; the endpoints are the nearest recorded times. Returns
    the mean over trailing axes of :math:`\lVert\cdot\rVert_1` over the last axis of the change, ``[len(ks)]``.
    Claim ``synthesis.snap-freezes-normaliser``. ``ks`` are whole e-fold counts (negative ones lie before
    ``t_ref``). Raises ``ValueError`` when an e-fold ends after the last recorded time.
    """
    t = V.real_array(t, "t", ndim=1)
    v = V.real_array(values, "values", ndim=range(1, 33))
    if v.shape[0] != t.shape[0]:
        raise ValueError(f"values must have one row per time: t {t.shape}, values {v.shape}")
    if t.size > 1 and not bool(np.all(np.diff(t) > 0)):
        raise ValueError(f"t must be increasing times, got {t[:8].tolist()}{' ...' if t.size > 8 else ''}")
    t_ref = V.real(t_ref, "t_ref", positive=True)
    ks = V.integers(ks, "ks")
    out = []
    for k in ks:
        lo, hi = t_ref * np.exp(k), t_ref * np.exp(k + 1)
        if hi > t[-1] * (1 + 1e-12):
            raise ValueError(
                f"the e-fold [t_ref e^k, t_ref e^(k+1)] = [{lo:.3g}, {hi:.3g}] of t_ref = {t_ref:.3g}, k = {k} (in ks) "
                f"ends after the last recorded time t[-1] = {t[-1]:.3g}"
            )
        ia, ib = int(np.abs(t - lo).argmin()), int(np.abs(t - hi).argmin())
        d = np.abs(v[ib] - v[ia])
        out.append(float(d.sum(-1).mean()) if d.ndim > 1 else float(d.sum()))
    return np.array(out)


def feature_forward(Y: torch.Tensor, Z: torch.Tensor, batch: Batch, kind: str = "elu1") -> Forward:
    r"""The :math:`(Y, Z)` model of :func:`attnmath.scansnap.yz_forward` with attention :math:`b_t\propto\mathrm{feat}(z_{mx_t})`.

    ``kind="exp"`` is the paper's model; ``"elu1"`` the linear-attention variant. Returns
    :class:`attnmath.scansnap.Forward` (b ``[B, T-1]``, v, f, logits, alpha ``[B, M]``).
    """
    C.instance(batch, "batch", Batch, "attnmath.scansnap.Batch")
    M = _check(Z, batch.x, batch.query)
    V.tensor(Y, "Y", shape=(M, M))
    w = feature(Z[batch.query[:, None], batch.x], kind)
    b = w / w.sum(-1, keepdim=True)
    v = torch.zeros(batch.x.shape[0], M, dtype=Y.dtype).scatter_add(1, batch.x, b)
    f = v / v.norm(dim=1, keepdim=True)
    logits = f @ Y
    return Forward(b, v, f, logits, torch.softmax(logits, dim=-1))


@dataclass(frozen=True)
class FeatureRun:
    """A trained variant: final ``Y``, ``Z`` ``[M, M]`` and the per-iteration loss ``[steps]``."""

    Y: torch.Tensor
    Z: torch.Tensor
    loss: torch.Tensor


@single_thread()
def feature_sgd_train(
    data: SequenceClasses,
    kind: str,
    *,
    eta_Y: float,
    eta_Z: float,
    steps: int = 100,
    batch: int = 128,
    T: int = 128,
    momentum: float = 0.9,
    init: str = "zero",
    seed: int = 1,
) -> FeatureRun:
    r"""Train :func:`feature_forward` with the scan-and-snap SGD settings of :func:`attnmath.scansnap.sgd_train`.

    ``torch.optim.SGD`` with two parameter groups (:math:`Y` at :math:`\eta_Y`, :math:`Z` at :math:`\eta_Z`) and
    momentum (PyTorch's rule: the same as ``sgd_train``'s), autograd gradients of the cross-entropy; one
    ``Generator(seed)`` draws the init and then every batch, in ``sgd_train``'s order, so ``kind="exp"``
    reproduces ``sgd_train(grad="autograd")``. Claim ``synthesis.linear-attention-lr-ratio``.
    """
    C.instance(data, "data", SequenceClasses, "attnmath.scansnap.SequenceClasses")
    V.choice(kind, "kind", FEATURES)
    steps = V.integer(steps, "steps", minimum=1)
    gen = torch_generator(seed)
    Y, Z = init_yz(data.M, init, gen)
    Y.requires_grad_(True)
    Z.requires_grad_(True)
    opt = torch.optim.SGD(
        [
            {"params": [Y], "lr": V.real(eta_Y, "eta_Y", nonnegative=True)},
            {"params": [Z], "lr": V.real(eta_Z, "eta_Z", nonnegative=True)},
        ],
        momentum=V.real(momentum, "momentum", low=0.0, high=1.0, high_open=True),
    )
    losses = torch.empty(steps, dtype=F64)
    for it in range(steps):
        b = sample_batch(data, batch, T, gen)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(feature_forward(Y, Z, b, kind).logits, b.next_token)
        loss.backward()
        opt.step()
        losses[it] = loss.detach()
    return FeatureRun(Y.detach(), Z.detach(), losses)


def feature_entropy_distinct(Z: torch.Tensor, data: SequenceClasses, kind: str = "elu1") -> torch.Tensor:
    r"""Distinct-token entropy of the long-sequence attention :math:`c_{l\mid n}\propto\mathbb P(l\mid n)\,\mathrm{feat}(z_{ml})`: ``[K]``.

    :func:`attnmath.scansnap.entropy_distinct` applied to :math:`\ln\mathrm{feat}(Z)` (the softmax of
    :math:`\ln\mathrm{feat}` is the normalised feature).
    """
    C.instance(data, "data", SequenceClasses, "attnmath.scansnap.SequenceClasses")
    V.tensor(Z, "Z", shape=(data.M, data.M))
    V.has_data(Z, "Z")
    return entropy_distinct(torch.log(feature(Z, kind)), data)
