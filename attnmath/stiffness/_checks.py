"""Private input checks of the stiffness chapter that :mod:`attnmath.base.validation` does not cover.

- :func:`match_shape`: a tensor must have the shape another argument fixes; the message names both.
- :func:`complex_array`: a real or complex array-like (stability functions take complex ``z``).
- :func:`call_field`: evaluate a user field, so that a state it cannot take is reported naming both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import torch

from ..base import validation as V

T = TypeVar("T")


def match_shape(x: torch.Tensor, name: str, shape: Sequence[int], why: str) -> torch.Tensor:
    """``x.shape == shape``, else ``ValueError``; ``why`` says which argument fixes it (e.g. ``"the shape of x"``)."""
    if tuple(x.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {list(shape)} ({why}), got {list(x.shape)}")
    return x


def complex_array(x: Any, name: str, *, max_abs: float) -> np.ndarray:
    """A non-empty, finite real or complex array-like (or tensor) as complex128 numpy.

    Every entry must have magnitude ``<= max_abs`` (the caller's overflow bound). ``TypeError`` for
    another dtype, ``ValueError`` otherwise.
    """
    if isinstance(x, torch.Tensor):
        x = V.has_data(x, name).detach().cpu().numpy()
    if x is None or isinstance(x, str | bytes):
        raise TypeError(f"{name} must be a non-empty real or complex array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "fciu" or arr.size == 0:
        raise TypeError(f"{name} must be a non-empty real or complex array, got dtype {arr.dtype} size {arr.size}")
    arr = arr.astype(np.complex128)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or Inf)")
    biggest = float(np.abs(arr).max())
    if biggest > max_abs:
        raise ValueError(f"{name} must have magnitude <= {max_abs:.3g}, got {biggest:.3g}")
    return arr


def call_field(run: Callable[[], T], fn_name: str, x: torch.Tensor, x_name: str) -> T:
    """``run()``, which evaluates the user's field ``fn_name`` (or its derivatives) at the state ``x_name``.

    A ``RuntimeError`` or ``IndexError`` inside it (a state of the wrong size for the field) becomes a
    ``ValueError`` naming both.
    """
    try:
        return run()
    except (RuntimeError, IndexError) as err:
        raise ValueError(
            f"{fn_name} could not be evaluated at {x_name} of shape {list(x.shape)} (does {x_name} fit {fn_name}?): {err}"
        ) from err
