r"""DSF constructors for RNNs (Sieber et al. 2024, eqs. (20)-(21), (23)) and the mLSTM: all have :math:`n=1` or scalar :math:`\Lambda`.

- :func:`qlstm_dsf`: :math:`\Lambda_i=\mathrm{diag}(\sigma(f_i))` or, reversed (eq. 23),
  :math:`\Lambda_i=e^{\Delta_iA}` with :math:`\Delta_i=\mathrm{softplus}(f_i)`, :math:`A=-\mathrm{ReLU}(\alpha)`;
  :math:`B_i=\mathrm{diag}(\sigma(\iota_i))`, :math:`C_i=\mathrm{diag}(\sigma(o_i))`, :math:`D=0`.
- :func:`rglru_dsf`: :math:`\Lambda_i=\mathrm{diag}(e^{\Delta_iA})`, :math:`\Delta_i=r_i`, :math:`A=-c\,\mathrm{softplus}(\lambda)`
  (zero at a reset), :math:`B_i=\mathrm{diag}(\sqrt{1-\Lambda_i^2}\odot\iota_i)`, :math:`C=I`.
- :func:`mlstm_dsf`: :math:`\Lambda_i=f_iI`, :math:`B_i=i_i(I_V\otimes k_i)`, :math:`C_i=\mathrm{diag}(o_i)(I_V\otimes q_i^\top)/\max(|n_i^\top q_i|,1)`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import validation as V
from . import _checks
from .core import DSF
from .features import _kron_eye_col, _kron_eye_row

__all__ = ["mlstm_dsf", "qlstm_dsf", "rglru_dsf"]


def _diag_seq(x: torch.Tensor) -> torch.Tensor:
    return torch.diag_embed(x)


def qlstm_dsf(
    x: torch.Tensor, W_g: torch.Tensor, b_g: torch.Tensor, *, reversed: bool = False, alpha: float | torch.Tensor = 1.0
) -> DSF:
    r"""qLSTM / qLSTM-rev as a DSF with :math:`N=d` (x ``[..., L, d]``, W_g ``[3d, d]``, b_g ``[3d]``).

    The reversed forget gate is written as :math:`e^{\Delta A}` (S6 form), the official code as
    :math:`\sigma(-f)^{\mathrm{ReLU}(\alpha)}`; claims ``dsf.native.qlstm`` and ``dsf.reversed-sigmoid``.
    """
    reversed = V.flag(reversed, "reversed")
    _checks.min_ndim(V.tensor(x, "x"), "x", 2, "[..., L, d]")
    d = x.shape[-1]
    width = f"x's width d = {d} (x has shape {list(x.shape)})"
    _checks.matching(W_g, "W_g", x, "x", (3 * d, d), what=width)
    _checks.matching(b_g, "b_g", x, "x", (3 * d,), what=width)
    if isinstance(alpha, torch.Tensor):
        _checks.matching(alpha, "alpha", x, "x", (), what="a scalar")
    else:
        alpha = V.real(alpha, "alpha")
    f, i, o = (x @ W_g.T + b_g).chunk(3, dim=-1)
    if reversed:
        A = -torch.relu(torch.as_tensor(alpha, dtype=x.dtype))
        lam = torch.exp(F.softplus(f) * A)
    else:
        lam = torch.sigmoid(f)
    return DSF(lam, _diag_seq(torch.sigmoid(i)), _diag_seq(torch.sigmoid(o)), structure="diagonal")


def rglru_dsf(
    x: torch.Tensor,
    W_a: torch.Tensor,
    b_a: torch.Tensor,
    W_x: torch.Tensor,
    b_x: torch.Tensor,
    a_param: torch.Tensor,
    reset: torch.Tensor | None = None,
    c: float = 8.0,
) -> DSF:
    r"""RG-LRU as an :math:`n=1` DSF (the paper's eq. (21)); x ``[..., L, d]``, ``reset`` bool ``[..., L]``.

    :math:`\Lambda_i=e^{\Delta_iA}` with :math:`\Delta_i=r_i=\sigma(W_ax_i+b_a)` and :math:`A=-c\,\mathrm{softplus}(\lambda)`;
    the input gain :math:`\sqrt{1-\Lambda_i^2}=\sqrt{-\mathrm{expm1}(2\Delta_iA)}`.  Claim ``dsf.native.rg-lru``.
    """
    _checks.min_ndim(V.tensor(x, "x"), "x", 2, "[..., L, d]")
    d = x.shape[-1]
    width = f"x's width d = {d} (x has shape {list(x.shape)})"
    for name, W, b in (("W_a", W_a, b_a), ("W_x", W_x, b_x)):
        _checks.matching(W, name, x, "x", (d, d), what=width)
        _checks.matching(b, "b" + name[1:], x, "x", (d,), what=width)
    _checks.matching(a_param, "a_param", x, "x", (d,), what=width)
    c = V.real(c, "c", positive=True)
    if reset is not None:
        if not isinstance(reset, torch.Tensor) or reset.dtype != torch.bool:
            got = str(reset.dtype) if isinstance(reset, torch.Tensor) else type(reset).__name__
            raise TypeError(f"reset must be a bool tensor, got {got}")
        if tuple(reset.shape) != tuple(x.shape[:-1]):
            raise ValueError(f"reset must have shape {list(x.shape[:-1])} (x's [..., L]), got {list(reset.shape)}")
        V.same_device("reset", reset, "x", x)
    r = torch.sigmoid(x @ W_a.T + b_a)
    iota = torch.sigmoid(x @ W_x.T + b_x)
    A = -c * F.softplus(a_param)
    lam = torch.exp(r * A)
    gain = torch.sqrt(-torch.expm1(2 * r * A))
    if reset is not None:
        lam = torch.where(reset[..., None], torch.zeros_like(lam), lam)
        gain = torch.where(reset[..., None], torch.ones_like(gain), gain)
    return DSF(
        lam,
        _diag_seq(gain * iota),
        torch.eye(x.shape[-1], dtype=x.dtype, device=x.device).expand(*x.shape[:-1], x.shape[-1], x.shape[-1]),
        structure="diagonal",
    )


def mlstm_dsf(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, i_pre: torch.Tensor, f_pre: torch.Tensor, o_pre: torch.Tensor
) -> DSF:
    r"""mLSTM (xLSTM) as a scalar DSF with input :math:`v`; the normaliser :math:`n_i` is an auxiliary :math:`O(K)` prefix recurrence.

    q, k ``[..., L, K]``, v, o_pre ``[..., L, V]``, i_pre, f_pre ``[..., L]``.  Claim ``dsf.native.mlstm``.
    """
    _checks.qkv(q, k, v)
    _checks.matching(i_pre, "i_pre", q, "q", q.shape[:-1])
    _checks.exponent(i_pre, "i_pre", q.dtype)  # the input gate exp(i_pre) must stay finite
    _checks.matching(f_pre, "f_pre", q, "q", q.shape[:-1])
    _checks.matching(o_pre, "o_pre", v, "v", v.shape)
    Vd = v.shape[-1]
    ig, fg = torch.exp(i_pre), torch.sigmoid(f_pre)
    n = torch.zeros_like(q[..., 0, :])
    denoms = []
    for t in range(q.shape[-2]):
        n = fg[..., t, None] * n + ig[..., t, None] * k[..., t, :]
        denoms.append(torch.clamp((n * q[..., t, :]).sum(-1).abs(), min=1.0))
    denom = torch.stack(denoms, dim=-1)
    Cm = torch.sigmoid(o_pre)[..., :, None] * _kron_eye_row(q, Vd) / denom[..., None, None]
    return DSF(fg, ig[..., None, None] * _kron_eye_col(k, Vd), Cm, structure="scalar")
