"""Run and time a kernel: causal linear attention, chunked (PyTorch or Triton) against the step-by-step loop.

``attnmath.kernels.linear_attention(q, k, v)`` takes ``q, k: [B, T, H, K]`` and ``v: [B, T, H, V]`` and
returns the outputs ``o: [B, T, H, V]`` and the final state ``S_T: [B, H, K, V]`` of the recurrence
S_t = S_{t-1} + k_t v_t^T, o_t = s S_t^T q_t.  The backend is Triton on a GPU (or with TRITON_INTERPRET=1,
slow: the CPU interpreter runs every program instance in Python) and the chunked PyTorch form otherwise.
This script checks the answer against the float64 loop and prints the median time of each form.

    python examples/time_a_kernel.py [--steps T] [--repeats R] [--backend auto|torch|triton]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from attnmath.kernels.linear_attention import reference

from attnmath import kernels
from attnmath.base.numerics import torch_generator
from attnmath.base.report import sig


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: Triton builds its kernels on the first launch
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1024, help="sequence length T")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median reported)")
    parser.add_argument("--backend", choices=("auto", "torch", "triton"), default="auto")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error(f"--steps and --repeats must be >= 1, got {args.steps} and {args.repeats}")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch_generator(0)
    B, T, H, K = 2, args.steps, 4, 64
    q, k, v = (torch.randn(B, T, H, K, generator=g).to(device) for _ in range(3))
    which = kernels.backend(device) if args.backend == "auto" else args.backend
    o, _ = kernels.linear_attention(q, k, v, backend=args.backend)
    o_ref, _ = reference.linear_attention_recurrent(q, k, v, dtype=torch.float64)
    err = float((o.double() - o_ref.double()).abs().max() / o_ref.double().abs().max())
    # fp32 with sums over T steps: unit roundoff 6e-8 times a growth factor of sqrt(T K) at most ~1e3
    print(f"linear attention, [B, T, H, K] = {[B, T, H, K]} on {device}, backend {which}")
    print(f"  agrees with the float64 loop: {'yes' if err < 1e-4 else 'NO'} (relative error < 1e-4)")
    chunked = median_seconds(lambda: kernels.linear_attention(q, k, v, backend=args.backend), args.repeats)
    loop = median_seconds(lambda: reference.linear_attention_recurrent(q, k, v), max(1, args.repeats // 2))
    print(f"  chunked ({which}): {sig(chunked * 1e3, 2)} ms   step-by-step loop: {sig(loop * 1e3, 2)} ms")
    print("  (timings vary from machine to machine; the agreement does not)")
    return 0 if err < 1e-4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
