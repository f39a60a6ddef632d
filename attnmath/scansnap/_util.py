"""Small helpers shared by the Scan and Snap modules."""

from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def single_thread():
    """Run tiny-tensor loops on one intra-op thread, then restore the previous setting.

    The simulations here are thousands of steps on ``[128, 127]``-sized tensors. On the
    shared 2-core CI machine, torch's intra-op thread pool makes each op 10-40x slower
    (measured: a 100-step Fig. 6 run 4.8 s with 2 threads, 0.12 s with 1). Usable as a
    decorator.
    """
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
