r"""A residual MLP read as explicit Euler, with plain, SE, secant or recurrent StepNet-lite gates.

Block :math:`t`: :math:`f_t=W_2\,\mathrm{ReLU}(W_1\,\mathrm{LN}(x_t))`, :math:`x_{t+1}=x_t+h\,a_t\odot f_t`
(pre-activation, no outer nonlinearity, so the stack is exactly Euler). Gates:

- ``plain``: :math:`a_t\equiv1`;
- ``se``: :class:`~attnmath.stiffness.gates.SEGate` on :math:`f_t` (one module per block);
- ``secant``: :class:`~attnmath.stiffness.gates.SecantStepGate` on :math:`[f_t, f_t-f_{t-1}]`,
  :math:`f_{-1}=0` (StepNet-lite, reconstruction);
- ``recurrent``: one :class:`~attnmath.stiffness.gates.RecurrentStepGate` shared by all blocks
  (StepNet-lite, reconstruction, DIA-style).

With ``norm=False, bias=False`` the field is positively homogeneous, :math:`f(cx)=cf(x)` for
:math:`c>0`, which claim ``stiffness.metrics-scale-invariant`` uses. The digits network of
:mod:`attnmath.stiffness.network_experiment` (claim ``stiffness.network-smoke-test``) is one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, overload

import torch
from torch import nn

from ..base import validation as V
from .gates import RecurrentStepGate, SecantStepGate, SEGate

GATES = ("plain", "se", "secant", "recurrent")


@dataclass
class Trace:
    """A recorded forward pass: states ``xs [L+1, B, W]``, residuals ``fs [L, B, W]``, gates ``gates [L, B, W]``."""

    xs: torch.Tensor
    fs: torch.Tensor
    gates: torch.Tensor


class ResidualMLP(nn.Module):
    r"""``d_in -> width`` stem, ``n_blocks`` gated Euler blocks of step ``h``, ``LN + Linear`` head.

    ``forward(x [B, d_in]) -> logits [B, n_classes]``; :meth:`trajectory` runs the blocks from a
    state ``[B, width]`` and returns a :class:`Trace`. ``dtype`` is the parameters' dtype (the seeded
    initialisation draws in it, independent of the global default).
    """

    def __init__(
        self,
        d_in: int,
        width: int,
        n_blocks: int,
        n_classes: int,
        gate: str = "plain",
        *,
        norm: bool = True,
        bias: bool = True,
        h: float = 1.0,
        reduction: int = 4,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        for name, val in (("d_in", d_in), ("width", width), ("n_blocks", n_blocks), ("n_classes", n_classes)):
            V.integer(val, name, minimum=1)
        self.gate_kind = V.choice(gate, "gate", GATES)
        norm = V.flag(norm, "norm")
        bias = V.flag(bias, "bias")
        self.h = V.real(h, "h", positive=True)
        reduction = V.integer(reduction, "reduction", minimum=1)  # read by the se and secant gates only
        V.dtype(dtype, "dtype")
        kw: dict[str, Any] = {"dtype": dtype}
        self.stem = nn.Linear(d_in, width, bias=bias, **kw)
        self.norms = nn.ModuleList(nn.LayerNorm(width, **kw) if norm else nn.Identity() for _ in range(n_blocks))
        self.fc1 = nn.ModuleList(nn.Linear(width, width, bias=bias, **kw) for _ in range(n_blocks))
        self.fc2 = nn.ModuleList(nn.Linear(width, width, bias=bias, **kw) for _ in range(n_blocks))
        if gate == "se":
            self.gates = nn.ModuleList(SEGate(width, reduction, bias=bias, **kw) for _ in range(n_blocks))
        elif gate == "secant":
            self.gates = nn.ModuleList(SecantStepGate(width, reduction, bias=bias, **kw) for _ in range(n_blocks))
        elif gate == "recurrent":
            self.shared = RecurrentStepGate(width, reduction, **kw)
        self.head = nn.Sequential(
            nn.LayerNorm(width, **kw) if norm else nn.Identity(), nn.Linear(width, n_classes, **kw)
        )

    @property
    def n_blocks(self) -> int:
        return len(self.fc1)

    def residual(self, t: int, x: torch.Tensor) -> torch.Tensor:
        r"""The residual branch :math:`f_t(x)=W_2\mathrm{ReLU}(W_1\mathrm{LN}(x))` of block ``t``; ``[B, W] -> [B, W]``."""
        return self.fc2[t](torch.relu(self.fc1[t](self.norms[t](x))))

    def trajectory(self, x0: torch.Tensor) -> Trace:
        """Run the gated blocks from the state ``x0 [B, W]``; record states, residuals and gates."""
        V.tensor(x0, "x0", ndim=2)
        x, xs, fs, gs = x0, [x0], [], []
        f_prev, state = torch.zeros_like(x0), None
        for t in range(self.n_blocks):
            f = self.residual(t, x)
            if self.gate_kind == "plain":
                a = torch.ones_like(f)
            elif self.gate_kind == "se":
                a = self.gates[t](f)
            elif self.gate_kind == "secant":
                a = self.gates[t](f, f_prev)
            else:
                a, state = self.shared(f, f_prev, state)
            x = x + self.h * a * f
            f_prev = f
            xs.append(x)
            fs.append(f)
            gs.append(a)
        return Trace(torch.stack(xs), torch.stack(fs), torch.stack(gs))

    @overload
    def forward(self, x: torch.Tensor, return_trace: Literal[False] = False) -> torch.Tensor: ...
    @overload
    def forward(self, x: torch.Tensor, return_trace: Literal[True]) -> tuple[torch.Tensor, Trace]: ...
    @overload
    def forward(self, x: torch.Tensor, return_trace: bool) -> torch.Tensor | tuple[torch.Tensor, Trace]: ...
    def forward(self, x: torch.Tensor, return_trace: bool = False) -> torch.Tensor | tuple[torch.Tensor, Trace]:
        V.tensor(x, "x", ndim=2)
        tr = self.trajectory(self.stem(x))
        logits = self.head(tr.xs[-1])
        return (logits, tr) if return_trace else logits
