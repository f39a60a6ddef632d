r"""Feature maps and block helpers shared by the DSF constructors.

- :func:`elu_plus_one`: :math:`\phi(x)=\mathrm{elu}(x)+1` (Katharopoulos et al. 2020, linear attention).
- :func:`taylor_features`: the order-:math:`P` truncation of the exponential-kernel features
  :math:`\phi_\infty(x)=\big(x^{\otimes p}\,s^{p/2}/\sqrt{p!}\big)_{p\ge0}` with
  :math:`\phi_\infty(q)^\top\phi_\infty(k)=e^{s\,q^\top k}` (Lemma 1 of Sieber et al. 2024 and its App. C, eq. (24);
  :math:`s=1/\sqrt m` by default).
- :func:`kron_eye_col` / :func:`kron_eye_row`: :math:`I_{d}\otimes v` and :math:`I_d\otimes v^\top` in the
  column-major convention :math:`h=\mathrm{vec}(S)`, :math:`S\in\mathbb R^{n\times d}` (the convention used throughout this chapter).
"""

from __future__ import annotations

import math

import torch

from ..base import validation as V
from . import _checks

__all__ = ["elu_plus_one", "kron_eye_col", "kron_eye_row", "taylor_feature_dim", "taylor_features"]


def elu_plus_one(x: torch.Tensor) -> torch.Tensor:
    r""":math:`\phi(x)=\mathrm{elu}(x)+1>0` elementwise (x ``[..., m]``); claim ``dsf.linear-attention-three-ways``."""
    V.tensor(x, "x")
    return torch.nn.functional.elu(x) + 1.0


def taylor_feature_dim(m: int, order: int) -> int:
    r"""Number of full-tensor Taylor features :math:`n_P=\sum_{p=0}^{P}m^p` (Taylor truncation of the exponential kernel)."""
    m = V.integer(m, "m", minimum=1)
    order = V.integer(order, "order", minimum=0)
    return sum(m**p for p in range(order + 1))


def taylor_features(x: torch.Tensor, order: int, scale: float | None = None) -> torch.Tensor:
    r"""Degree-:math:`P` exponential-kernel features, :math:`\phi_P(q)^\top\phi_P(k)=T_P(s\,q^\top k)`.

    :math:`\phi_P(x)=\big[\mathrm{vec}(x^{\otimes p})\,s^{p/2}/\sqrt{p!}\big]_{p=0}^{P}` with
    :math:`T_P(z)=\sum_{p\le P}z^p/p!` the Taylor polynomial of :math:`e^z`; x ``[..., m]`` →
    ``[..., n_P]``.  ``scale`` :math:`s` defaults to :math:`1/\sqrt m`.  Claims
    ``dsf.taylor-features``, ``dsf.native.softmax-taylor``.
    """
    _checks.min_ndim(V.tensor(x, "x"), "x", 1, "[..., m]")
    order = V.integer(order, "order", minimum=0)
    m = x.shape[-1]
    s = 1.0 / math.sqrt(m) if scale is None else V.real(scale, "scale", positive=True)
    parts = [torch.ones_like(x[..., :1])]
    t = parts[0]
    for p in range(1, order + 1):
        t = (t[..., :, None] * x[..., None, :]).flatten(-2)  # vec(x^{⊗p}), m^p entries
        parts.append(t * (s ** (p / 2) / math.sqrt(math.factorial(p))))
    return torch.cat(parts, dim=-1)


def kron_eye_col(v: torch.Tensor, d: int) -> torch.Tensor:
    r""":math:`I_d\otimes v` for v ``[..., n]`` → ``[..., d n, d]``: :math:`(I_d\otimes v)w=\mathrm{vec}(v w^\top)`."""
    _checks.min_ndim(V.tensor(v, "v"), "v", 1, "[..., n]")
    d = V.integer(d, "d", minimum=1)
    return _kron_eye_col(v, d)


def _kron_eye_col(v: torch.Tensor, d: int) -> torch.Tensor:
    """:func:`kron_eye_col` of validated arguments (the constructors' internal calls)."""
    n = v.shape[-1]
    eye = torch.eye(d, dtype=v.dtype, device=v.device)
    return (eye[:, None, :] * v[..., None, :, None]).reshape(*v.shape[:-1], d * n, d)


def kron_eye_row(v: torch.Tensor, d: int) -> torch.Tensor:
    r""":math:`I_d\otimes v^\top` for v ``[..., n]`` → ``[..., d, d n]``: :math:`(I_d\otimes v^\top)\mathrm{vec}(S)=S^\top v`."""
    _checks.min_ndim(V.tensor(v, "v"), "v", 1, "[..., n]")
    d = V.integer(d, "d", minimum=1)
    return _kron_eye_row(v, d)


def _kron_eye_row(v: torch.Tensor, d: int) -> torch.Tensor:
    """:func:`kron_eye_row` of validated arguments (the constructors' internal calls)."""
    n = v.shape[-1]
    eye = torch.eye(d, dtype=v.dtype, device=v.device)
    return (eye[:, :, None] * v[..., None, None, :]).reshape(*v.shape[:-1], d, d * n)
