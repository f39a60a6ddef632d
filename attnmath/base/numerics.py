r"""Numerical constants and helpers shared by every chapter: unit roundoff, seeded generators, :math:`\varphi_1`.

- :data:`F64_EPS`, :data:`F32_EPS`: machine epsilon :math:`2u` of float64 and float32 (``torch.finfo(dtype).eps``);
  :func:`unit_roundoff` gives :math:`u = \varepsilon/2` for any floating dtype.
- :func:`torch_generator`, :func:`numpy_rng`: seeded *local* generators (claims and experiments never
  touch the global random state).
- :func:`phi1`: :math:`\varphi_1(z) = (e^z - 1)/z` computed as ``expm1(z)/z`` (the exact gate of the
  stiffness chapter and the zero-order-hold input factor of the DSF chapter).
"""

from __future__ import annotations

from typing import overload

import numpy as np
import torch

from . import validation as V

F64_EPS = float(torch.finfo(torch.float64).eps)  # 2.2e-16 = 2 u64
F32_EPS = float(torch.finfo(torch.float32).eps)  # 1.2e-7 = 2 u32

__all__ = ["F32_EPS", "F64_EPS", "numpy_rng", "phi1", "torch_generator", "unit_roundoff"]


def unit_roundoff(dtype: torch.dtype) -> float:
    """:math:`u = \varepsilon/2` of a floating ``dtype`` (``2**-53`` for float64, ``2**-24`` for float32)."""
    dtype = V.float_dtype(dtype, "dtype")
    return float(torch.finfo(dtype).eps) / 2


def torch_generator(seed: int) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (>= 0)."""
    return torch.Generator().manual_seed(V.integer(seed, "seed", minimum=0))


def numpy_rng(seed: int) -> np.random.Generator:
    """``numpy.random.default_rng(seed)`` (``seed`` >= 0)."""
    return np.random.default_rng(V.integer(seed, "seed", minimum=0))


# expm1(z) overflows above log(largest float): phi1's upper bound for z, per dtype.
_LOG_MAX = {
    dt: float(np.log(torch.finfo(dt).max)) for dt in (torch.float16, torch.bfloat16, torch.float32, torch.float64)
}


@overload
def phi1(z: torch.Tensor) -> torch.Tensor: ...
@overload
def phi1(z: float) -> float: ...
def phi1(z: torch.Tensor | float) -> torch.Tensor | float:
    r""":math:`\varphi_1(z)=(e^z-1)/z`, :math:`\varphi_1(0)=1`, computed as ``expm1(z)/z``.

    ``z``: real tensor (any shape) or a real number (returns a float). ``expm1`` avoids the
    cancellation of :math:`e^z-1` near 0; for :math:`\lambda=-\mu<0` the gated block with
    :math:`a=\varphi_1(-h\mu)` is exact (claim ``stiffness.exact-gate``).

    Raises ``ValueError`` for :math:`z > \log(\text{largest float})` (709.78 in float64, 88.72 in
    float32): there :math:`e^z` overflows and :math:`\varphi_1(z)` is not representable.
    """
    if not isinstance(z, torch.Tensor):
        zf = V.real(z, "z")
        V.exponent(zf, "z")
        return float(phi1(torch.tensor(zf, dtype=torch.float64)))
    z = V.tensor(z, "z", nonempty=False)
    V.exponent(z, "z")
    safe = torch.where(z == 0, torch.ones_like(z), z)
    return torch.where(z == 0, torch.ones_like(z), torch.expm1(safe) / safe)
