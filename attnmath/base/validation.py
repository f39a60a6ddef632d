"""Input validation shared by every public function of ``attnmath`` and ``kernels``.

Each helper raises ``TypeError`` (wrong type or dtype) or ``ValueError`` (wrong shape,
value or range) with a message that names the argument, says what was expected and
what was given.  Public functions call these first, so a bad input never surfaces as a
crash deep inside torch or as a silent NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch

from .errors import MissingDependency  # noqa: F401 - re-exported: the shared error of the base layer

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

# The largest magnitude an input may have: the square root of the largest finite number, so that a
# product of two inputs cannot overflow to Inf.  float16/bfloat16/float32 inputs are computed in (at
# least) float32, so they share float32's bound (float16's own maximum, 65504, lies below it).
MAX_ABS_F64 = math.sqrt(torch.finfo(torch.float64).max)  # 1.34e154
MAX_ABS_F32 = math.sqrt(torch.finfo(torch.float32).max)  # 1.84e19


def max_abs_of(dtype: torch.dtype | np.dtype | None) -> float:
    """The magnitude bound for inputs of ``dtype`` (see :data:`MAX_ABS_F64`)."""
    return MAX_ABS_F64 if dtype in (None, torch.float64, torch.complex128, np.dtype("float64")) else MAX_ABS_F32


def _too_big(name: str, biggest: float, bound: float) -> ValueError:
    return ValueError(
        f"{name} must have magnitude <= {bound:.3g} (larger inputs overflow in a product), got {biggest:.3g}"
    )


def _shape_str(shape: Sequence[int | str | None]) -> str:
    return "[" + ", ".join("*" if s is None else str(s) for s in shape) + "]"


def tensor(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | str | None] | None = None,
    dtypes: Sequence[torch.dtype] = FLOAT_DTYPES,
    finite: bool = True,
    nonempty: bool = True,
    max_abs: float | None = -1.0,
    high: float | None = None,
) -> torch.Tensor:
    """Check that ``x`` is a real floating tensor of the expected rank/shape; return it.

    ``shape`` entries may be ``None`` (any size). Raises ``TypeError`` for a non-tensor or
    a wrong dtype (integer, complex, bool) and ``ValueError`` for a wrong rank, shape,
    an empty tensor, non-finite entries or (with ``finite``) entries larger than ``max_abs``
    in magnitude (default: :func:`max_abs_of` the dtype; ``None``: no bound).  ``high`` (with ``finite``):
    every entry must be ``<= high``, checked on the same one-pass ``aminmax``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in dtypes:
        names = ", ".join(str(d).replace("torch.", "") for d in dtypes)
        raise TypeError(f"{name} must have a real floating dtype ({names}), got {str(x.dtype).replace('torch.', '')}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {list(x.shape)}")
    if shape is not None:
        if x.ndim != len(shape) or any(s is not None and s != xs for s, xs in zip(shape, x.shape)):
            raise ValueError(f"{name} must have shape {_shape_str(shape)}, got {list(x.shape)}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} must be non-empty, got shape {list(x.shape)}")
    if finite and x.numel() and x.device.type != "meta":
        # one pass, no temporary (isfinite().all() allocates and reads x three times): a NaN propagates to
        # both ends of aminmax and an Inf shows at one of them
        lo_t, hi_t = torch.aminmax(x.detach())
        lo, hi = float(lo_t), float(hi_t)
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise ValueError(f"{name} must contain only finite values (found NaN or Inf)")
        bound = max_abs_of(x.dtype) if max_abs is not None and max_abs < 0 else max_abs
        biggest = max(-lo, hi)
        if bound is not None and biggest > bound:
            raise _too_big(name, biggest, bound)
        if high is not None and hi > high:
            raise ValueError(f"{name} must be <= {high}, got {hi}")
    return x


def same_device(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.device != b.device:
        raise ValueError(f"{name_a} is on {a.device} but {name_b} is on {b.device}; put them on one device")


def same_dtype(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{name_a} has dtype {a.dtype} but {name_b} has dtype {b.dtype}; they must match")


def integer(x: Any, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(x, bool) or not isinstance(x, Integral | np.integer):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    x = int(x)
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {x}")
    if maximum is not None and x > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {x}")
    return x


def real(
    x: Any,
    name: str,
    *,
    positive: bool = False,
    nonnegative: bool = False,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    max_abs: float | None = MAX_ABS_F64,
) -> float:
    """A finite real scalar, optionally positive / non-negative / inside [low, high].

    Its magnitude must not exceed ``max_abs`` (default :data:`MAX_ABS_F64`; ``None``: no bound).
    """
    if isinstance(x, bool) or not isinstance(x, Real | np.floating | np.integer):
        if isinstance(x, torch.Tensor) and x.numel() == 1 and x.dtype.is_floating_point:
            x = float(x)
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {x}")
    if max_abs is not None and abs(x) > max_abs:
        raise _too_big(name, abs(x), max_abs)
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {x}")
    if nonnegative and x < 0:
        raise ValueError(f"{name} must be >= 0, got {x}")
    if low is not None and (x < low or (low_open and x == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {x}")
    if high is not None and (x > high or (high_open and x == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '<='} {high}, got {x}")
    return x


def choice(x: Any, name: str, options: Sequence[str]) -> str:
    """One of ``options``: ``TypeError`` for a non-string, ``ValueError`` for an unknown one."""
    if not isinstance(x, str) and all(isinstance(o, str) for o in options):
        raise TypeError(f"{name} must be a string, one of {tuple(options)}, got {type(x).__name__} {x!r}")
    if x not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {x!r}")
    return x


def probability_vector(p: Any, name: str, *, atol: float = 1e-8) -> np.ndarray:
    """A 1-D non-negative vector summing to 1 (to ``atol``: float64 roundoff x length)."""
    arr = np.asarray(p.detach().cpu() if isinstance(p, torch.Tensor) else p)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"{name} must be a real vector of probabilities, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D probability vector, got shape {list(arr.shape)}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got min {arr.min():.3g}")
    if abs(arr.sum() - 1.0) > atol:
        raise ValueError(f"{name} must sum to 1, got sum {arr.sum():.6g}")
    return arr


INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
REAL_DTYPES = FLOAT_DTYPES + INT_DTYPES  # real numbers: floats and integers (never bool or complex)


def tensor_like(
    x: Any,
    name: str,
    ref: torch.Tensor,
    ref_name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | str | None] | None = None,
    finite: bool = True,
) -> torch.Tensor:
    """:func:`tensor`, then the same dtype and device as ``ref`` (a weight or gate that meets ``ref`` in one product)."""
    x = tensor(x, name, ndim=ndim, shape=shape, finite=finite)
    same_dtype(name, x, ref_name, ref)
    same_device(name, x, ref_name, ref)
    return x


def shape_in(x: torch.Tensor, name: str, shapes: Sequence[Sequence[int]], what: str) -> torch.Tensor:
    """Check that ``x.shape`` is one of ``shapes`` (``what`` describes them, e.g. ``"[..., L] or [..., L, N]"``)."""
    if tuple(x.shape) not in {tuple(s) for s in shapes}:
        got = " or ".join(str(list(s)) for s in shapes)
        raise ValueError(f"{name} must have shape {what} = {got}, got {list(x.shape)}")
    return x


def has_data(x: torch.Tensor, name: str) -> torch.Tensor:
    """Reject a ``meta`` tensor (shape only) where the function needs the values."""
    if x.device.type == "meta":
        raise ValueError(f"{name} must hold values, got a tensor on the meta device (shape {list(x.shape)} only)")
    return x


def real_array(
    x: Any,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    finite: bool = True,
    nonempty: bool = True,
) -> np.ndarray:
    """A real (float or integer, never bool/complex/None/str) array-like, tensor or scalar as float64 numpy.

    Tensors are detached (a ``requires_grad`` tensor is read, not differentiated) and must hold values.
    """
    if isinstance(x, torch.Tensor):
        has_data(x, name)
        if x.dtype not in REAL_DTYPES:
            raise TypeError(f"{name} must be real (float or integer), got dtype {str(x.dtype).replace('torch.', '')}")
        arr = x.detach().cpu().to(torch.float64).numpy()
    else:
        if x is None or isinstance(x, str | bytes):
            raise TypeError(f"{name} must be a real number or array, got {type(x).__name__}")
        raw = np.asarray(x)
        if raw.dtype.kind not in "fiu":
            raise TypeError(f"{name} must be real (float or integer), got dtype {raw.dtype}")
        arr = raw.astype(np.float64)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {list(arr.shape)}"
            )
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got shape {list(arr.shape)}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or Inf)")
    if finite and arr.size and float(np.abs(arr).max()) > MAX_ABS_F64:
        raise _too_big(name, float(np.abs(arr).max()), MAX_ABS_F64)
    return arr


def device(x: Any, name: str) -> torch.device | None:
    """``None``, a ``torch.device`` or a device string torch understands (``"cpu"``, ``"cuda:0"``)."""
    if x is None or isinstance(x, torch.device):
        return x
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a torch.device, a device string or None, got {type(x).__name__}")
    try:
        return torch.device(x)
    except RuntimeError:
        raise ValueError(f"{name} must be a device such as 'cpu' or 'cuda:0', got {x!r}") from None


def dtype(x: Any, name: str) -> torch.dtype | None:
    """``None`` or a ``torch.dtype`` (not its name as a string)."""
    if x is not None and not isinstance(x, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype or None, got {type(x).__name__} {x!r}")
    return x


def flag(x: Any, name: str) -> bool:
    """A ``bool`` (not 0/1, not a string)."""
    if not isinstance(x, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def generator(x: Any, name: str) -> torch.Generator | None:
    """``None`` or a ``torch.Generator``."""
    if x is not None and not isinstance(x, torch.Generator):
        raise TypeError(f"{name} must be a torch.Generator or None, got {type(x).__name__}")
    return x


def same_size(name_a: str, a: torch.Tensor, dim_a: int, name_b: str, b: torch.Tensor, dim_b: int, what: str) -> None:
    """``a.shape[dim_a] == b.shape[dim_b]`` (``what`` names the shared size, e.g. ``"the length T"``)."""
    if a.shape[dim_a] != b.shape[dim_b]:
        raise ValueError(
            f"{name_a} and {name_b} must agree on {what}: {name_a} has shape {list(a.shape)}, "
            f"{name_b} has shape {list(b.shape)}"
        )


def integers(x: Any, name: str, *, minimum: int | None = None, nonempty: bool = True) -> list[int]:
    """A list or tuple of ints (each checked by :func:`integer`)."""
    if not isinstance(x, list | tuple | range):
        raise TypeError(f"{name} must be a list or tuple of ints, got {type(x).__name__}")
    if nonempty and len(x) == 0:
        raise ValueError(f"{name} must be non-empty, got {x!r}")
    return [integer(v, f"{name}[{i}]", minimum=minimum) for i, v in enumerate(x)]


def reals(
    x: Any, name: str, *, positive: bool = False, nonnegative: bool = False, nonempty: bool = True
) -> list[float]:
    """A list or tuple of finite real numbers (each checked by :func:`real`)."""
    if not isinstance(x, list | tuple):
        raise TypeError(f"{name} must be a list or tuple of numbers, got {type(x).__name__}")
    if nonempty and len(x) == 0:
        raise ValueError(f"{name} must be non-empty, got {x!r}")
    return [real(v, f"{name}[{i}]", positive=positive, nonnegative=nonnegative) for i, v in enumerate(x)]


def function(x: Any, name: str) -> Any:
    """A callable."""
    if not callable(x):
        raise TypeError(f"{name} must be callable, got {type(x).__name__}")
    return x


def max_exponent(dtype: torch.dtype) -> float:
    """The largest :math:`z` with :math:`e^z` finite in ``dtype`` (709.78 for float64, 88.72 for float32)."""
    return math.log(torch.finfo(dtype).max)


def exponent(x: torch.Tensor | float, name: str, dtype: torch.dtype | None = None) -> None:
    """Every entry of ``x`` (an input that is exponentiated) is at most :func:`max_exponent` of ``dtype``
    (default: ``x``'s own dtype, float64 for a number), so a finite input never overflows to Inf (then NaN)."""
    if dtype is None:
        dtype = x.dtype if isinstance(x, torch.Tensor) else torch.float64
    bound = max_exponent(dtype)
    if isinstance(x, torch.Tensor):
        if x.device.type == "meta" or x.numel() == 0:
            return
        top = float(x.detach().max())
    else:
        top = float(x)
    if top > bound:
        raise ValueError(
            f"{name} must be <= {bound:.6g} (its exponential overflows {str(dtype).replace('torch.', '')}), got {top:.6g}"
        )


def same_ndim(name_a: str, a: torch.Tensor, name_b: str, b: torch.Tensor, what: str = "") -> None:
    """``a`` and ``b`` have as many dimensions (``what`` may describe their layouts); the message names both."""
    if a.ndim != b.ndim:
        layouts = f" ({what})" if what else ""
        raise ValueError(
            f"{name_a} and {name_b} must have as many dimensions{layouts}: {name_a} has shape {list(a.shape)}, "
            f"{name_b} has shape {list(b.shape)}"
        )


def min_ndim(x: torch.Tensor, name: str, ndim: int, layout: str) -> torch.Tensor:
    """At least ``ndim`` dimensions (``layout`` spells them, e.g. ``"[..., L, d]"``)."""
    if x.ndim < ndim:
        raise ValueError(f"{name} must have shape {layout} (at least {ndim} dimensions), got {list(x.shape)}")
    return x


def instance(x: Any, name: str, cls: type, what: str) -> Any:
    """``x`` must be an instance of ``cls`` (``what`` spells it for the message, e.g. ``"attnmath.scansnap.Batch"``)."""
    if not isinstance(x, cls):
        raise TypeError(f"{name} must be an {what}, got {type(x).__name__}")
    return x


def float_dtype(x: Any, name: str) -> torch.dtype:
    """A real floating ``torch.dtype`` (float16, bfloat16, float32, float64; not float8, not a string)."""
    if not isinstance(x, torch.dtype) or x not in FLOAT_DTYPES:
        names = ", ".join(str(d).replace("torch.", "") for d in FLOAT_DTYPES)
        got = str(x).replace("torch.", "") if isinstance(x, torch.dtype) else f"{type(x).__name__} {x!r}"
        raise TypeError(f"{name} must be a floating torch.dtype ({names}), got {got}")
    return x
