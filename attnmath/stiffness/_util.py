"""Small helpers of the stiffness chapter."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def single_thread():
    """Run tiny-tensor loops on one intra-op thread, then restore the previous setting.

    The E4 and E7 loops work on ``[2048, 32]``-sized tensors. On the shared 2-core machine a
    second intra-op thread made them up to 20x slower whenever another process held a core
    (measured: one L-BFGS closure 25 ms with 1 thread, 175-600 ms with 2 under load), and a
    fixed thread count keeps float64 reductions, hence the printed results, identical on every
    machine. Usable as a decorator (``@single_thread()``).
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
