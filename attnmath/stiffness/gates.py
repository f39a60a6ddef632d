r"""Gates as step sizes: the exact gate, the gated Euler block, Heun–Euler, SE and StepNet-lite gates.

- :func:`phi1`: :math:`\varphi_1(z)=(e^z-1)/z` via ``expm1``, re-exported from :mod:`attnmath.base.numerics`
  (claim ``stiffness.exact-gate``).
- :func:`gated_euler_step`: :math:`x_{t+1}=x_t+h\,a_t\odot f_t`, i.e. Euler with the diagonal step
  :math:`h\,\mathrm{diag}(a_t)` (reconstructed; claim ``stiffness.gated-block-is-diagonal-euler``).
- :func:`heun_euler`: the embedded pair; Heun − Euler :math:`=\frac h2(f(x^E_{n+1})-f(x_n))` (classical;
  claim ``stiffness.heun-euler-estimate``).
- :class:`SEGate`: squeeze-and-excitation (hu2018squeeze), as in the SE module of the authors' ASR code.
- :class:`SecantStepGate`, :class:`RecurrentStepGate`: the two *StepNet-lite reconstructions*
  (the paper's StepNet architecture was not available; see the book's Sources appendix).
- :class:`ScalarStepGate` and :func:`run_scalar_adaptor`: the learned step-size adaptor (claim
  ``stiffness.learned-adaptor``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..base import validation as V
from ..base.numerics import phi1
from ._checks import match_shape


def exact_gate(h: float, mu: torch.Tensor) -> torch.Tensor:
    r"""The error-free gate :math:`a^\star=\varphi_1(-h\mu)\in(0,1)` for :math:`\dot x=-\mu x`, :math:`\mu\ge0`.

    ``mu``: tensor of rates (any shape). The oracle arm of the learned adaptor and of the gate placement;
    claims ``stiffness.exact-gate``, ``stiffness.learned-adaptor``, ``stiffness.lottery-ticket-placement``.
    Raises ``ValueError`` for ``h < 0``, a negative, non-finite or meta ``mu``; ``TypeError`` for a non-float ``mu``.
    """
    h = V.real(h, "h", nonnegative=True)
    mu = V.has_data(V.tensor(mu, "mu", nonempty=False), "mu")
    if bool((mu < 0).any()):
        raise ValueError("mu must be >= 0 (a decay rate)")
    return phi1(-h * mu)


def gated_euler_step(x: torch.Tensor, f: torch.Tensor, a: torch.Tensor, h: float = 1.0) -> torch.Tensor:
    r"""Gated residual block :math:`x_{t+1}=x_t+h\,a\odot f` = Euler with step matrix :math:`h\,\mathrm{diag}(a)`.

    ``x``, ``f``: ``[B, D]`` (any shape, the same for both); ``a``: broadcastable to ``x``'s shape
    (``[B, D]``, ``[B, 1]``, ``[D]``, a scalar); ``h >= 0``. Reconstructed; claim
    ``stiffness.gated-block-is-diagonal-euler``. Raises ``ValueError`` for mismatched shapes, non-finite
    or meta tensors, ``h < 0``; ``TypeError`` for a non-float tensor.
    """
    for name, t in (("x", x), ("f", f), ("a", a)):
        V.has_data(V.tensor(t, name, nonempty=False), name)
    match_shape(f, "f", x.shape, "the shape of x")
    h = V.real(h, "h", nonnegative=True)
    try:
        fits = torch.broadcast_shapes(a.shape, x.shape) == x.shape
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"a must broadcast to x's shape {list(x.shape)}, got {list(a.shape)}")
    return x + h * a * f


def heun_euler(
    f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, h: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    r"""One embedded Heun–Euler step: returns ``(x_heun, x_euler, estimate)``.

    :math:`x^E=x+hf(x)`, :math:`x^H=x+\tfrac h2(f(x)+f(x^E))`, and the error estimate
    :math:`x^H-x^E=\tfrac h2\,(f(x^E)-f(x))`: two consecutive residual outputs suffice
    (classical; claim ``stiffness.heun-euler-estimate``). ``x``: a state of any shape (e.g. ``[..., D]``),
    ``f`` a callable field mapping it to its derivative.
    """
    V.function(f, "f")
    V.tensor(x, "x")
    h = V.real(h, "h", nonnegative=True)
    fx = f(x)
    x_e = x + h * fx
    f_e = f(x_e)
    return x + h / 2 * (fx + f_e), x_e, h / 2 * (f_e - fx)


def _gap(f: torch.Tensor, name: str) -> torch.Tensor:
    """Global average pooling over spatial dims: ``[B, C, *S] -> [B, C]`` (``[B, C]`` passes)."""
    V.tensor(f, name, finite=False)
    if f.ndim < 2:
        raise ValueError(f"{name} must have shape [B, C] or [B, C, *spatial], got {list(f.shape)}")
    return f.flatten(2).mean(-1) if f.ndim > 2 else f


class SEGate(nn.Module):
    r"""SE gate :math:`a=\sigma(W_2\,\mathrm{ReLU}(W_1\,\mathrm{GAP}(f)))\in(0,1)^C` (hu2018squeeze).

    Every gate class takes ``dtype`` for its parameters: the random initialisation then draws in
    that dtype, whatever ``torch.get_default_dtype()`` is, so a seeded model is the same in a
    script and in a notebook that sets a float64 default.

    ``forward(f)``: ``f`` of shape ``[B, C]`` or ``[B, C, H, W]``; returns ``[B, C]``. Hidden width
    ``max(1, C // reduction)``. It sees one residual output only (the reconstruction's point: it cannot
    estimate a local error, which needs two).
    """

    def __init__(self, channels: int, reduction: int = 16, bias: bool = True, dtype: torch.dtype | None = None):
        super().__init__()
        channels = V.integer(channels, "channels", minimum=1)
        reduction = V.integer(reduction, "reduction", minimum=1)
        bias = V.flag(bias, "bias")
        V.dtype(dtype, "dtype")
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden, bias=bias, dtype=dtype)
        self.fc2 = nn.Linear(hidden, channels, bias=bias, dtype=dtype)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(_gap(f, "f")))))


class SecantStepGate(nn.Module):
    r"""StepNet-lite, secant variant (a **reconstruction**; see the book's Sources appendix).

    :math:`a_t=\sigma(W_2\,\mathrm{ReLU}(W_1[\mathrm{GAP}(f_t);\mathrm{GAP}(f_t-f_{t-1});\mathrm{GAP}(x_t-x_{t-1})]))`.
    ``forward(f, f_prev, x=None, x_prev=None)``: all ``[B, C]`` (or ``[B, C, *S]``); the
    :math:`x` difference is used when ``use_dx``. Returns ``[B, C]``.
    """

    def __init__(
        self,
        channels: int,
        reduction: int = 4,
        use_dx: bool = False,
        bias: bool = True,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        channels = V.integer(channels, "channels", minimum=1)
        reduction = V.integer(reduction, "reduction", minimum=1)
        self.use_dx = V.flag(use_dx, "use_dx")
        bias = V.flag(bias, "bias")
        V.dtype(dtype, "dtype")
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear((3 if self.use_dx else 2) * channels, hidden, bias=bias, dtype=dtype)
        self.fc2 = nn.Linear(hidden, channels, bias=bias, dtype=dtype)

    def forward(
        self, f: torch.Tensor, f_prev: torch.Tensor, x: torch.Tensor | None = None, x_prev: torch.Tensor | None = None
    ) -> torch.Tensor:
        g, gp = _gap(f, "f"), _gap(f_prev, "f_prev")
        if gp.shape != g.shape:
            raise ValueError(f"f_prev must have the shape of f {list(f.shape)}, got {list(f_prev.shape)}")
        feats = [g, g - gp]
        if self.use_dx:
            if x is None or x_prev is None:
                raise ValueError("x and x_prev are required when use_dx=True")
            feats.append(_gap(x, "x") - _gap(x_prev, "x_prev"))
        return torch.sigmoid(self.fc2(torch.relu(self.fc1(torch.cat(feats, -1)))))


class RecurrentStepGate(nn.Module):
    r"""StepNet-lite, recurrent variant (a **reconstruction**) after the shared LSTM of the authors' DIANet code.

    One cell shared by all blocks; input :math:`u_t=[\mathrm{GAP}(f_t);\mathrm{GAP}(f_t-f_{t-1})]`,
    bottlenecked projections :math:`W_u u_t+W_s s_{t-1}\to(i,\phi,g,o)`,
    :math:`c_t=\sigma(\phi)\odot c_{t-1}+\sigma(i)\odot\tanh g`, :math:`a_t=s_t=\sigma(o)\odot\sigma(c_t)\in(0,1)^C`.
    ``forward(f, f_prev, state=None) -> (a [B, C], (s, c))``.
    """

    def __init__(self, channels: int, reduction: int = 4, dtype: torch.dtype | None = None):
        super().__init__()
        channels = V.integer(channels, "channels", minimum=1)
        reduction = V.integer(reduction, "reduction", minimum=1)
        V.dtype(dtype, "dtype")
        hidden = max(1, channels // reduction)
        self.channels = channels
        kw: dict[str, Any] = {"dtype": dtype}
        self.inp = nn.Sequential(
            nn.Linear(2 * channels, hidden, **kw), nn.ReLU(), nn.Linear(hidden, 4 * channels, **kw)
        )
        self.rec = nn.Sequential(nn.Linear(channels, hidden, **kw), nn.ReLU(), nn.Linear(hidden, 4 * channels, **kw))

    def forward(
        self, f: torch.Tensor, f_prev: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        g, gp = _gap(f, "f"), _gap(f_prev, "f_prev")
        if gp.shape != g.shape:
            raise ValueError(f"f_prev must have the shape of f {list(f.shape)}, got {list(f_prev.shape)}")
        if state is None:
            z = g.new_zeros(g.shape)
            state = (z, z)
        s, c = state
        i, fg, gg, o = (self.inp(torch.cat([g, g - gp], -1)) + self.rec(s)).chunk(4, -1)
        c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(gg)
        s = torch.sigmoid(o) * torch.sigmoid(c)
        return s, (s, c)


def signed_log(u: torch.Tensor) -> torch.Tensor:
    r""":math:`\mathrm{sl}(u)=\mathrm{sign}(u)\log(1+|u|)`, the learned adaptor's input squashing (any shape)."""
    V.tensor(u, "u", nonempty=False)
    return _sl(u)


def _sl(u: torch.Tensor) -> torch.Tensor:  # unvalidated, for the training loops (inputs checked upstream)
    return torch.sign(u) * torch.log1p(u.abs())


class ScalarStepGate(nn.Module):
    r"""The learned adaptor's gate: MLP ``n_features -> 32 -> 32 -> 1``, tanh, sigmoid output; ``[B, F] -> [B]``.

    ``kind="sam"``: features :math:`[\mathrm{sl}(f_t)]`; ``kind="stepnet"`` (StepNet-lite,
    reconstruction): :math:`[\mathrm{sl}(f_t),\mathrm{sl}(q_t),1\{t=0\}]` with the secant
    :math:`q_t=(f_t-f_{t-1})/(x_t-x_{t-1})` (claim ``stiffness.learned-adaptor``).
    """

    def __init__(self, kind: str, hidden: int = 32, dtype: torch.dtype | None = None):
        super().__init__()
        self.kind = V.choice(kind, "kind", ("sam", "stepnet"))
        hidden = V.integer(hidden, "hidden", minimum=1)
        V.dtype(dtype, "dtype")
        n_in = 1 if kind == "sam" else 3
        kw: dict[str, Any] = {"dtype": dtype}
        self.net = nn.Sequential(
            nn.Linear(n_in, hidden, **kw),
            nn.Tanh(),
            nn.Linear(hidden, hidden, **kw),
            nn.Tanh(),
            nn.Linear(hidden, 1, **kw),
        )

    def features(self, f: torch.Tensor, q: torch.Tensor | None, t: int) -> torch.Tensor:
        if self.kind == "sam":
            return _sl(f)[:, None]
        first = torch.full_like(f, float(t == 0))
        assert q is not None, "a stepnet gate reads the secant estimate q"
        return torch.stack([_sl(f), _sl(q), first], -1)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(feats)).squeeze(-1)


def run_scalar_adaptor(
    gate: ScalarStepGate | None,
    f: Callable[[torch.Tensor], torch.Tensor],
    x0: torch.Tensor,
    h: float,
    n_blocks: int,
    *,
    eps: float = 1e-2,
    clamp: float = 1e6,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run :math:`x_{t+1}=x_t+a_t\,h\,f(x_t)`, :math:`t<N`, with a learned gate (``None``: :math:`a=1`).

    ``x0``: ``[B]``; ``f``: elementwise field ``[B] -> [B]``. The StepNet-lite secant at :math:`t=0`
    uses the probe :math:`f(x_0+\epsilon h f_0)`; states are clamped to :math:`\pm` ``clamp``.
    Returns ``(xs [N+1, B], gates [N, B])`` (claim ``stiffness.learned-adaptor``). ``eps`` and
    ``clamp`` must be > 0 (and finite). Raises ``TypeError``/``ValueError`` naming the bad argument.
    """
    if gate is not None and not isinstance(gate, ScalarStepGate):
        raise TypeError(f"gate must be a ScalarStepGate or None, got {type(gate).__name__}")
    V.function(f, "f")
    V.tensor(x0, "x0", ndim=1)
    h = V.real(h, "h", nonnegative=True)
    n_blocks = V.integer(n_blocks, "n_blocks", minimum=1)
    eps = V.real(eps, "eps", positive=True)
    clamp = V.real(clamp, "clamp", positive=True)
    x, xs, gs = x0, [x0], []
    x_prev: torch.Tensor | None = None
    f_prev: torch.Tensor | None = None
    for t in range(n_blocks):
        fx = f(x)
        if gate is None:
            a = torch.ones_like(x)
        else:
            q = None
            if gate.kind == "stepnet":
                if t == 0:
                    x_prev = x + eps * h * fx
                    f_prev = f(x_prev)
                assert x_prev is not None and f_prev is not None  # the probe at t = 0, the last block after
                dx = x - x_prev
                q = torch.where(dx != 0, (fx - f_prev) / torch.where(dx != 0, dx, torch.ones_like(dx)), 0 * dx)
            a = gate(gate.features(fx, q, t))
        x_prev, f_prev = x, fx
        x = (x + a * h * fx).clamp(-clamp, clamp)
        xs.append(x)
        gs.append(a)
    return torch.stack(xs), torch.stack(gs)
