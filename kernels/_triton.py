"""Lazy access to Triton, so that ``import attnmath.kernels`` is safe without CUDA and without the interpreter.

Why lazy.  ``triton.jit`` decides at *decoration* time whether a function runs compiled (GPU) or in
the CPU interpreter (``TRITON_INTERPRET=1``), and Triton decorates its own standard-library helpers
(``tl.sum``, ``tl.cumsum``, ``tl.max``) when ``triton`` is first imported.  So the interpreter must be
switched on *before the first* ``import triton`` of the process: setting the knob later lets simple
kernels run but makes every ``tl.sum``/``tl.cumsum`` fail with "Cannot call @triton.jit'd outside of
the scope of a kernel" (checked with triton 3.7.1, the pinned version).

How.  No module of :mod:`kernels` imports triton at import time.  Kernel sources are plain functions
(with ``from __future__ import annotations``, so ``BT: tl.constexpr`` stays a string) wrapped by
:func:`lazy_jit`; the first launch calls :func:`load`, which imports triton (switching the interpreter
on, for the import only, when there is no GPU and the user set nothing: ``os.environ`` is restored afterwards), injects the real ``triton.language`` as the
module global ``tl`` and only then applies ``triton.jit``.

Helpers.  A ``@triton.jit`` function may call another one (a device function, inlined when compiled).
Helpers are wrapped by :func:`lazy_jit` too and are never launched: building a kernel first builds
every lazy helper its source names and replaces, in the caller's module globals, the
:class:`LazyKernel` by the jitted helper (recursively, for helpers calling helpers), because Triton
accepts only jitted functions and constexprs as globals of a kernel.  So a kernel imports its helpers
by name (``from .._tiles import load_tile``; only names its code uses directly are bound).  Calling a
helper from Python raises a ``TypeError`` (it is device code).

Which backend is the default is decided by :func:`attnmath.kernels.dispatch.backend`: Triton when CUDA is
available or the *user* set ``TRITON_INTERPRET=1``; an interpreter that :func:`load` switched on by
itself (because a caller forced ``backend="triton"`` on a CPU machine) does not change that default.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import torch

from attnmath.base.chunks import CHUNK_SIZE, check_chunk_size
from attnmath.base.errors import MissingDependency

_SET_BY_US = False  # True once load() switched the interpreter on itself (no GPU, nothing set by the user)


@contextlib.contextmanager
def _interpreter_env() -> Iterator[None]:
    """``TRITON_INTERPRET=1`` while Triton reads it (its import, ``triton.jit``), when :func:`load` switched the
    interpreter on itself; the caller's ``os.environ`` is restored afterwards (no permanent side effect)."""
    if not _SET_BY_US:
        yield
        return
    old = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TRITON_INTERPRET", None)
        else:
            os.environ["TRITON_INTERPRET"] = old


class _LanguagePlaceholder:
    """Stands in for ``triton.language`` until :func:`load` injects the real module."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(
            f"tl.{name} used before triton was loaded: kernels are built on first launch by attnmath.kernels._triton.load()"
        )


tl: Any = _LanguagePlaceholder()


def available() -> bool:
    """True when the ``triton`` package is installed (without importing it)."""
    return importlib.util.find_spec("triton") is not None


def interpreter_requested() -> bool:
    """True when the user (not :func:`load`) set ``TRITON_INTERPRET=1``."""
    return os.environ.get("TRITON_INTERPRET") == "1" and not _SET_BY_US


def interpreting() -> bool:
    """True when Triton runs (or will run) kernels in its CPU interpreter."""
    if not available():
        load()  # raises MissingDependency: no triton, no interpreter to ask about
    if sys.modules.get("triton") is not None:
        import triton

        return _SET_BY_US or bool(triton.knobs.runtime.interpret)
    return os.environ.get("TRITON_INTERPRET") == "1" or not torch.cuda.is_available()


def load() -> tuple[ModuleType, ModuleType]:
    """Import triton (switching the interpreter on first when there is no GPU) and return ``(triton, tl)``.

    Raises :class:`~attnmath.base.errors.MissingDependency` (a ``RuntimeError``) when triton is
    missing, and ``RuntimeError`` when there is no GPU and triton was already
    imported without the interpreter (its own ``@jit`` helpers then cannot run on CPU).
    """
    global _SET_BY_US
    if not available():
        raise MissingDependency("triton", "the Triton backend needs the `triton` package (pip install triton)")
    if not torch.cuda.is_available() and "triton" not in sys.modules and "TRITON_INTERPRET" not in os.environ:
        _SET_BY_US = True
    with _interpreter_env():
        import triton
        import triton.language as language

        interpret = bool(triton.knobs.runtime.interpret)
    if not torch.cuda.is_available() and not interpret:
        raise RuntimeError(
            "no GPU and Triton is not in interpreter mode: set TRITON_INTERPRET=1 before the first "
            "`import triton` of the process (Triton decorates tl.sum/tl.cumsum at import time)"
        )
    return triton, language


class LazyKernel:
    """A Triton kernel (or device helper) source that is ``triton.jit``-ed on first use: a kernel on its
    first launch (``kernel[grid](...)``), a helper when the first kernel that calls it is built."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.__name__ = fn.__name__
        self.__doc__ = fn.__doc__
        self._kernel: Any = None  # the triton.jit object, once built

    @property
    def kernel(self) -> Any:
        if self._kernel is None:
            triton, language = load()
            with _interpreter_env():
                _bind_globals(self.fn, language)
                self._kernel = triton.jit(self.fn)
        return self._kernel

    def __getitem__(self, grid: tuple[int, ...]) -> Callable[..., Any]:
        launch = self.kernel[grid]
        if not _SET_BY_US:
            return launch

        def interpreted_launch(*args: Any, **kwargs: Any) -> Any:
            with _interpreter_env():  # Triton's interpreter imports helpers lazily and reads the knob on launch
                return launch(*args, **kwargs)

        return interpreted_launch

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"{self.__name__} is Triton device code: launch a kernel as kernel[grid](...); helpers run inside kernels"
        )


def _bind_globals(fn: Callable[..., Any], language: ModuleType) -> None:
    """Make ``fn``'s module globals what ``triton.jit`` needs: the real ``tl``, and every lazy helper that
    ``fn`` names replaced by its jitted function (built first, with its own globals bound the same way)."""
    scope = fn.__globals__
    scope["tl"] = language  # replace the placeholder in the source module
    for name in fn.__code__.co_names:
        obj = scope.get(name)
        if isinstance(obj, LazyKernel):
            scope[name] = obj.kernel


def lazy_jit(fn: Callable[..., Any]) -> LazyKernel:
    """Decorator for kernels and their device helpers: defer ``triton.jit(fn)`` to first use (module docstring)."""
    return LazyKernel(fn)


MAX_BLOCK_WIDTH = 256  # the kernels keep a whole key width (softmax: and value width) in one block
MIN_BLOCK = 16  # tl.dot needs block sides >= 16 on a GPU


def next_pow2(n: int, minimum: int = MIN_BLOCK) -> int:
    """Smallest power of two >= max(n, minimum) (``tl.dot`` needs block sides >= 16 on a GPU)."""
    p = minimum
    while p < n:
        p *= 2
    return p


def dot_precision(dtype: torch.dtype) -> str:
    """``tl.dot`` input precision: IEEE fp32 for fp32 inputs (a GPU defaults to TF32, ~1e-3 relative
    error), TF32 for fp16/bf16 inputs whose own rounding (>= 4.9e-4) already dominates.  The
    interpreter always multiplies in full fp32 (it runs ``tl.dot`` as a NumPy product)."""
    return "ieee" if dtype == torch.float32 else "tf32"


def check_dtype(q: torch.Tensor) -> None:
    """The Triton kernels compute in fp32: fp16, bf16 and fp32 inputs only (``TypeError`` for float64)."""
    if q.dtype == torch.float64:
        raise TypeError("the Triton kernels compute in fp32: q must be fp16, bf16 or fp32, got float64")


def check_block(size: int, name: str = "chunk_size") -> int:
    """A Triton block side (chunk length or softmax block): a power of two >= 16 (``tl.dot`` block sides)."""
    c = check_chunk_size(size, name, power_of_two=True)
    if c < MIN_BLOCK:
        raise ValueError(f"{name} must be >= {MIN_BLOCK} for the Triton kernels (tl.dot block sides), got {c}")
    return c


def chunk_blocks(K: int, V: int, chunk_size: int = CHUNK_SIZE) -> tuple[int, int, int]:
    """Block sides ``(BT, BK, BV)`` of the chunk kernels: the chunk, the whole key width, a value block.

    The key width is one block (``K <= 256``); the value width is split in blocks of 64 on a GPU and
    kept whole in the interpreter (one large block is fastest there).
    """
    BK = next_pow2(K)
    if BK > MAX_BLOCK_WIDTH:
        raise ValueError(
            f"the Triton kernels keep the whole key width in one block: K must be <= {MAX_BLOCK_WIDTH}, got {K}"
        )
    BV = next_pow2(V) if interpreting() else min(64, next_pow2(V))
    return check_block(chunk_size), BK, BV
