"""Runtime helpers shared by the chapters' training loops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


@contextmanager
def single_thread() -> Iterator[None]:
    """Run tiny-tensor loops on one intra-op thread, then restore the previous setting.

    The chapters' simulations are thousands of small steps (``[128, 127]`` tensors in Scan
    and Snap, ``[2048, 32]`` in the stiffness experiments). On the shared 2-core CI machine a
    second intra-op thread made them 10-40x slower whenever another process held a core
    (measured: a 100-step Fig. 6 run 4.8 s with 2 threads, 0.12 s with 1; one L-BFGS closure
    25 ms with 1 thread, 175-600 ms with 2 under load), and a fixed thread count keeps float64
    reductions, hence printed results, identical on every machine. Usable as a decorator
    (``@single_thread()``).
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
