r"""DSF instances as diagonal scans: S6 (Mamba), Mamba-2/SSD, RetNet and GLA mapped onto ``attnmath.kernels``.

Each ``*_scan`` maps a model's own parameters onto ``(q, k, v, g)`` of
:math:`S_t = \mathrm{diag}(e^{g_t})S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` and calls
:func:`attnmath.kernels.dispatch.diag_scan`; each ``*_reference`` writes the model's recurrence (or, for
RetNet, its parallel form) literally, in the model's own variables: S6 in the semantics of Mamba's
``selective_scan_ref`` (Gu & Dao 2023, with the implemented Euler input gain :math:`\Delta b`), the SSD
recurrence of Dao & Gu (2024), RetNet's parallel retention (Sun et al. 2023).  The mappings are
reconstructed here (S6 in the DSF is eq. (19) of Sieber et al. 2024; see the book's Sources appendix).
Claim ``kernels.dsf-instances``.

======  ========================================  ===============  ======================================  =================
model   decay :math:`g_t`                         key :math:`k_t`  value :math:`v_t`                       query :math:`q_t`
======  ========================================  ===============  ======================================  =================
S6      :math:`\Delta^{(c)}_t a^{(c)}` (per key)  :math:`b_t`      :math:`\Delta^{(c)}_t u^{(c)}_t` (V=1)  :math:`c_t`
SSD     :math:`\Delta^{(h)}_t a^{(h)}` (scalar)   :math:`b_t`      :math:`\Delta^{(h)}_t x^{(h)}_t`        :math:`c_t`
RetNet  :math:`\log\gamma_h` (scalar, constant)   :math:`k_t`      :math:`v_t`                             :math:`q_t`
GLA     :math:`\log\alpha_t` (per key)            :math:`k_t`      :math:`v_t`                             :math:`q_t`
======  ========================================  ===============  ======================================  =================

S6 is mapped with one head per channel :math:`c` and value width 1: S6 is :math:`d`-head linear
attention with value width 1 and shared queries and keys (§4.2 of Sieber et al. 2024: S6's
:math:`b_i, c_i` play keys and queries).

Why this chapter writes its own reference models.  The DSF chapter (:mod:`attnmath.dsf`) has the same
models written from their papers (``selective_scan_ref``, ``mamba2_recurrent``, ``retention_parallel``,
``gla_recurrent``), but chapters are independent (the layers contract of ``[tool.importlinter]``: no
chapter imports another), and the kernels (:mod:`attnmath.kernels`, operators only) may not hold
model code.  So the references live here, in the layout of the kernels (``[B, T, ...]``, batch first),
and ``tests/fastforms/test_instances.py`` checks that they agree with the DSF chapter's.
"""

from __future__ import annotations

import math

import torch

from attnmath.base import validation as V
from attnmath.kernels import dispatch

__all__ = [
    "default_retnet_gammas",
    "gla_scan",
    "retnet_reference",
    "retnet_scan",
    "s6_reference",
    "s6_scan",
    "ssd_reference",
    "ssd_scan",
]


def _tensor(
    x: torch.Tensor, name: str, *, ndim: int | tuple[int, ...] | None = None, shape: tuple[int, ...] | None = None
) -> torch.Tensor:
    """:func:`V.tensor` (finite, magnitude-bounded, non-empty) of a tensor that must hold values (not ``meta``)."""
    return V.has_data(V.tensor(x, name, ndim=ndim, shape=shape), name)


def _entries(
    x: torch.Tensor, name: str, *, low: float | None = None, high: float | None = None, low_open: bool = False
) -> None:
    """Every entry of ``x`` in ``[low, high]`` (``(low, ...`` with ``low_open``): its smallest and largest through
    :func:`V.real`, so that the message names ``name`` and gives the offending entry."""
    xd = x.detach()
    if low is not None:
        V.real(float(xd.min()), f"{name} (smallest entry)", low=low, low_open=low_open, max_abs=None)
    if high is not None:
        V.real(float(xd.max()), f"{name} (largest entry)", high=high, max_abs=None)


def _same_sizes(ref_name: str, ref: torch.Tensor, name: str, x: torch.Tensor, dims: dict[int, str]) -> None:
    """``x.shape[i] == ref.shape[i]`` for each ``i`` of ``dims`` (its value names the size) and ``x`` on ``ref``'s device."""
    for i, what in dims.items():
        V.same_size(ref_name, ref, i, name, x, i, what)
    V.same_device(ref_name, ref, name, x)


_BT = {0: "the batch size", 1: "the length T"}
_BTH = {**_BT, 2: "the number of heads H"}


def _check_product(x: torch.Tensor, names: str) -> None:
    r"""A product of two inputs that a scan takes as one input (its log-decay :math:`\Delta_t a`, its value
    :math:`\Delta_t u_t`): bounded as an input is, or the scan's own check would name an argument the caller never
    passed.  (The chunked scans sum the log-decays over a chunk: two products near the largest float sum to
    ``-inf``, and NaN outputs.)  ``names`` names both factors.
    """
    V.tensor(x, names)


def _check_s6(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    Bm: torch.Tensor,
    Cm: torch.Tensor,
    D: torch.Tensor | None,
    initial_state: torch.Tensor | None,
    *,
    same_dtype: bool,
) -> tuple[int, int, int, int]:
    r"""Validate the S6 inputs (``same_dtype``: all of u's dtype, as the scan needs); return ``B, T, D, N``.

    :math:`\Delta \ge 0` and :math:`a \le 0` (a step and a decay rate): then :math:`e^{\Delta a}\le 1` never overflows.
    """
    _tensor(u, "u", ndim=3)
    Bsz, T, d = u.shape
    _tensor(delta, "delta", ndim=3)
    _same_sizes("u", u, "delta", delta, {**_BT, 2: "the number of channels"})
    _entries(delta, "delta", low=0.0)
    _tensor(A, "A", ndim=2)
    V.same_size("u", u, 2, "A", A, 0, "the number of channels")
    V.same_device("u", u, "A", A)
    _entries(A, "A", high=0.0)
    n = A.shape[1]
    for name, x in (("B", Bm), ("C", Cm)):
        _tensor(x, name, ndim=3)
        _same_sizes("u", u, name, x, _BT)
        V.same_size("A", A, 1, name, x, 2, "the state size N")
    if D is not None:
        _tensor(D, "D", ndim=1)
        V.same_size("u", u, 2, "D", D, 0, "the number of channels")
        V.same_device("u", u, "D", D)
    if same_dtype:
        for name, y in (("delta", delta), ("A", A), ("B", Bm), ("C", Cm), ("D", D)):
            if y is not None:
                V.same_dtype("u", u, name, y)
    if initial_state is not None:
        _tensor(initial_state, "initial_state", shape=(Bsz, d, n))
        V.same_device("u", u, "initial_state", initial_state)
    return Bsz, T, d, n


def s6_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba's selective scan :math:`h_t = e^{\Delta_t a}\odot h_{t-1} + \Delta_t b_t u_t`, :math:`y_t = c_t^\top h_t + D u_t`.

    u, delta (:math:`\Delta \ge 0`): ``[B, T, D]``; A (:math:`a \le 0`): ``[D, N]``; B, C: ``[B, T, N]``;
    D: ``[D]``; ``initial_state``: ``[B, D, N]``; all of u's dtype and device.  Implemented input gain
    :math:`\bar B = \Delta b` (Euler, as in Mamba's reference scan).  Returns ``(y [B, T, D], h_T [B, D, N])``.
    Raises ``TypeError``/``ValueError`` naming the argument for a wrong type, shape, non-finite entry or sign.
    """
    Bsz, T, d, n = _check_s6(u, delta, A, B, C, D, initial_state, same_dtype=True)
    q = C[:, :, None, :].expand(Bsz, T, d, n)
    k = B[:, :, None, :].expand(Bsz, T, d, n)
    v = (delta * u)[..., None]
    g = delta[..., None] * A
    _check_product(v, "delta * u")
    _check_product(g, "delta * A")
    h0 = None if initial_state is None else initial_state[..., None]
    o, S = dispatch.diag_scan(q, k, v, g, scale=1.0, initial_state=h0, chunk_size=chunk_size, backend=backend)
    y = o[..., 0]
    if D is not None:
        y = y + D * u
    return y, S[..., 0]


def s6_reference(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The selective scan loop in Mamba's ``selective_scan_ref`` semantics (layout ``[B, T, ...]``).

    Inputs as :func:`s6_scan` (any floating dtypes: computed in ``dtype``); raises as :func:`s6_scan`.
    """
    Bsz, T, d, n = _check_s6(u, delta, A, B, C, D, initial_state, same_dtype=False)
    dtype = V.float_dtype(dtype, "dtype")
    u, delta, A, B, C = (x.to(dtype) for x in (u, delta, A, B, C))
    h = torch.zeros(Bsz, d, n, dtype=dtype) if initial_state is None else initial_state.to(dtype)
    ys = []
    for t in range(T):
        h = torch.exp(delta[:, t, :, None] * A) * h + delta[:, t, :, None] * B[:, t, None, :] * u[:, t, :, None]
        ys.append((h * C[:, t, None, :]).sum(-1))
    y = torch.stack(ys, 1)
    if D is not None:
        y = y + D.to(dtype) * u
    return y, h


def _check_ssd(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None,
    initial_state: torch.Tensor | None,
    *,
    same_dtype: bool,
) -> tuple[int, int, int, int, int]:
    r"""Validate the SSD inputs (``same_dtype``: all of x's dtype, as the scan needs); return ``B, T, H, P, N``.

    :math:`\Delta \ge 0` and :math:`a \le 0`: then :math:`e^{\Delta a}\le 1` never overflows.
    """
    _tensor(x, "x", ndim=4)
    Bsz, T, H, P = x.shape
    _tensor(dt, "dt", ndim=3)
    _same_sizes("x", x, "dt", dt, _BTH)
    _entries(dt, "dt", low=0.0)
    _tensor(A, "A", ndim=1)
    V.same_size("x", x, 2, "A", A, 0, "the number of heads H")
    V.same_device("x", x, "A", A)
    _entries(A, "A", high=0.0)
    _tensor(B, "B", ndim=3)
    _same_sizes("x", x, "B", B, _BT)
    n = B.shape[-1]
    _tensor(C, "C", ndim=3)
    _same_sizes("x", x, "C", C, _BT)
    V.same_size("B", B, 2, "C", C, 2, "the state size N")
    if D is not None:
        _tensor(D, "D", ndim=1)
        V.same_size("x", x, 2, "D", D, 0, "the number of heads H")
        V.same_device("x", x, "D", D)
    if same_dtype:
        for name, z in (("dt", dt), ("A", A), ("B", B), ("C", C), ("D", D)):
            if z is not None:
                V.same_dtype("x", x, name, z)
    if initial_state is not None:
        _tensor(initial_state, "initial_state", shape=(Bsz, H, n, P))
        V.same_device("x", x, "initial_state", initial_state)
    return Bsz, T, H, P, n


def ssd_scan(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba-2/SSD :math:`h_t = e^{\Delta_t a}h_{t-1} + \Delta_t\,b_t x_t^\top`, :math:`y_t = h_t^\top c_t + D x_t`, per head.

    x: ``[B, T, H, P]``, dt (:math:`\Delta \ge 0`): ``[B, T, H]``, A (:math:`a \le 0`): ``[H]``, B, C:
    ``[B, T, N]`` (one group shared by the heads), D: ``[H]``; ``initial_state``: ``[B, H, N, P]``; all of x's
    dtype and device.  Returns ``(y [B, T, H, P], h_T [B, H, N, P])``.  Raises ``TypeError``/``ValueError``
    naming the argument for a wrong type, shape, non-finite entry or sign.
    """
    Bsz, T, H, _P, n = _check_ssd(x, dt, A, B, C, D, initial_state, same_dtype=True)
    q = C[:, :, None, :].expand(Bsz, T, H, n)
    k = B[:, :, None, :].expand(Bsz, T, H, n)
    v, g = dt[..., None] * x, dt * A
    _check_product(v, "dt * x")
    _check_product(g, "dt * A")
    y, S = dispatch.diag_scan(
        q, k, v, g, scale=1.0, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )
    if D is not None:
        y = y + D[:, None] * x
    return y, S


def ssd_reference(
    x: torch.Tensor,
    dt: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float64,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The SSD recurrence of Dao & Gu (2024), one step at a time (layout ``[B, T, H, P]``).

    Inputs as :func:`ssd_scan` (any floating dtypes: computed in ``dtype``); raises as :func:`ssd_scan`.
    """
    Bsz, T, H, P, n = _check_ssd(x, dt, A, B, C, D, initial_state, same_dtype=False)
    dtype = V.float_dtype(dtype, "dtype")
    x, dt, A, B, C = (z.to(dtype) for z in (x, dt, A, B, C))
    h = torch.zeros(Bsz, H, n, P, dtype=dtype) if initial_state is None else initial_state.to(dtype)
    ys = []
    for t in range(T):
        h = (
            torch.exp(dt[:, t] * A)[..., None, None] * h
            + dt[:, t, :, None, None] * B[:, t, None, :, None] * x[:, t, :, None, :]
        )
        ys.append(torch.einsum("bhnp,bn->bhp", h, C[:, t]))
    y = torch.stack(ys, 1)
    if D is not None:
        y = y + D.to(dtype)[:, None] * x
    return y, h


def _check_qkv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[int, int, int, int]:
    """Validate ``q, k: [B, T, H, K]``, ``v: [B, T, H, V]`` (finite, holding values, on one device); return ``B, T, H, K``."""
    _tensor(q, "q", ndim=4)
    _tensor(k, "k", ndim=4)
    _same_sizes("q", q, "k", k, {**_BTH, 3: "the key width K"})
    _tensor(v, "v", ndim=4)
    _same_sizes("q", q, "v", v, _BTH)
    B, T, H, K = q.shape
    return B, T, H, K


def _check_gamma(gamma: torch.Tensor, q: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    r"""RetNet's decays ``gamma [H]`` in :math:`(0, 1]`, as ``dtype`` (the dtype they are used in).

    :math:`\gamma > 1` makes :math:`\gamma^{t}` grow without bound (Inf), :math:`\gamma \le 0` has no logarithm
    (the scan's log-decay); checked after the cast, where a tiny positive decay may have become 0.
    """
    _tensor(gamma, "gamma", ndim=1)
    V.same_size("q", q, 2, "gamma", gamma, 0, "the number of heads H")
    V.same_device("q", q, "gamma", gamma)
    gam = gamma.to(dtype)
    _entries(gam, "gamma", low=0.0, low_open=True, high=1.0)
    return gam


def retnet_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gamma: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""RetNet retention :math:`S_t = \gamma_h S_{t-1} + k_tv_t^\top`, :math:`o_t = s\,S_t^\top q_t` (constant decay per head).

    q, k: ``[B, T, H, K]``, v: ``[B, T, H, V]``, gamma: ``[H]`` in ``(0, 1]``.  Returns ``(o, S_T)``.
    Raises ``TypeError``/``ValueError`` naming the argument for a wrong type, shape, non-finite entry or a
    ``gamma`` outside ``(0, 1]``.
    """
    _check_qkv(q, k, v)
    gam = _check_gamma(gamma, q, q.dtype)
    g = torch.log(gam)[None, None, :].expand(q.shape[0], q.shape[1], q.shape[2])
    return dispatch.diag_scan(
        q, k, v, g, scale=scale, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )


def retnet_reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gamma: torch.Tensor,
    *,
    scale: float | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    r"""RetNet's parallel form :math:`O = s\,[(QK^\top)\odot D]V`, :math:`D_{nm} = \gamma^{n-m}[m\le n]` (Sun et al. 2023).

    Shapes as :func:`retnet_scan`; ``scale`` (``None``: ``K**-0.5``) positive; computed in ``dtype``.
    Raises ``TypeError``/``ValueError`` naming the argument for a wrong type, shape, non-finite entry or range.
    """
    _, T, _, K = _check_qkv(q, k, v)
    dtype = V.float_dtype(dtype, "dtype")
    gam = _check_gamma(gamma, q, dtype)
    s = K**-0.5 if scale is None else V.real(scale, "scale", positive=True)
    qf, kf, vf = (x.to(dtype).transpose(1, 2) for x in (q, k, v))
    n = torch.arange(T, dtype=dtype)
    expo = (n[:, None] - n[None, :]).clamp(min=0)
    Dm = gam[:, None, None] ** expo * torch.ones(T, T, dtype=dtype).tril()
    return (s * (qf @ kf.transpose(-1, -2)) * Dm @ vf).transpose(1, 2)


def gla_scan(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    gk: torch.Tensor,
    *,
    scale: float | None = None,
    initial_state: torch.Tensor | None = None,
    chunk_size: int | None = None,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Gated linear attention :math:`S_t = \mathrm{diag}(\alpha_t)S_{t-1} + k_tv_t^\top`, ``gk`` :math:`= \log\alpha_t` ``[B, T, H, K]``.

    ``gk <= 0`` (:math:`\alpha_t \in (0, 1]`; ``[B, T, H]``: one gate per head and step).  Raises
    ``TypeError``/``ValueError`` naming the argument for a wrong type, shape, non-finite entry or a positive ``gk``.
    """
    _check_qkv(q, k, v)
    _tensor(gk, "gk", ndim=(3, 4))
    _same_sizes("q", q, "gk", gk, {**_BTH, 3: "the key width K"} if gk.ndim == 4 else _BTH)
    # a positive log-gate grows the state as exp(sum of gk): it overflows silently, so the gate is a decay
    _entries(gk, "gk", high=0.0)
    return dispatch.diag_scan(
        q, k, v, gk, scale=scale, initial_state=initial_state, chunk_size=chunk_size, backend=backend
    )


def default_retnet_gammas(H: int) -> torch.Tensor:
    r"""RetNet's per-head decays :math:`\gamma_h = 1 - 2^{-5-h}` (Sun et al. 2023), ``[H]`` float64 (``H >= 1`` heads)."""
    H = V.integer(H, "H", minimum=1)
    return torch.tensor([1 - math.pow(2, -5 - h) for h in range(H)], dtype=torch.float64)
