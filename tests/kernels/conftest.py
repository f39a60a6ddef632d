"""Kernel-test setup: every fresh allocation is poisoned with NaN (an idea from fla's tests/conftest.py).

``torch.empty``, ``torch.empty_like`` and ``Tensor.new_empty`` return NaN-filled floating tensors
while a kernel test runs, so an output element a kernel forgets to write reads as NaN and fails
the comparison instead of passing on leftover memory.  (``tests/conftest.py`` sets
``TRITON_INTERPRET=1`` when there is no GPU before anything imports triton.)  Each test process also
uses one torch thread (see below).
"""

from __future__ import annotations

import pytest
import torch

# One intra-op thread per test process: the shapes are small, and under `pytest -n 2` on 2 cores two
# workers with two threads each oversubscribe the CPU, where every tiny parallel region then waits
# for a descheduled thread (measured: the same suite took 4 min instead of 40 s on a loaded machine).
torch.set_num_threads(1)

_REAL = {"empty": torch.empty, "empty_like": torch.empty_like, "new_empty": torch.Tensor.new_empty}


def _poison(t: torch.Tensor) -> torch.Tensor:
    if t.dtype.is_floating_point or t.dtype.is_complex:
        with torch.no_grad():
            t.fill_(float("nan"))
    return t


@pytest.fixture(autouse=True)
def nan_poisoned_allocations(monkeypatch):
    """Patch the uninitialised allocators to return NaN-filled tensors for the duration of one test."""
    monkeypatch.setattr(torch, "empty", lambda *a, **kw: _poison(_REAL["empty"](*a, **kw)))
    monkeypatch.setattr(torch, "empty_like", lambda *a, **kw: _poison(_REAL["empty_like"](*a, **kw)))
    monkeypatch.setattr(torch.Tensor, "new_empty", lambda self, *a, **kw: _poison(_REAL["new_empty"](self, *a, **kw)))
    yield
