"""The capacity of your own keys: how many key/value pairs a linear-attention memory stores within a fidelity.

A linear-attention head stores pairs in the Hebbian matrix M = Σ_j v_j k_j^T and recalls v_j as M k_j; the
other stored pairs leak into the recall (cross-talk).  For random unit keys in d_k dimensions the recall
error relMSE = (N - 1)/d_k stays below ε² up to N* = 1 + ε² d_k pairs (claim ``memory.linear-capacity``).
Real keys are not random: this script bisects the capacity of a key set you supply (here: keys that share
a common direction, as the keys of one layer often do), and compares it with random keys.

    python examples/capacity_of_my_keys.py [--keys FILE.pt] [--eps 0.5]

``--keys`` loads a ``[P, d_k]`` float tensor saved with ``torch.save`` (rows are normalised to unit length).
"""

from __future__ import annotations

import argparse

import torch

from attnmath.base.numerics import torch_generator
from attnmath.memory import capacity_of_keys, capacity_theory, random_keys


def demo_keys(P: int, d_k: int, shared: float, seed: int) -> torch.Tensor:
    """Unit keys with a common component of weight ``shared`` (cosine ~ shared² / (1 + shared²) between keys)."""
    g = torch_generator(seed)
    keys = shared * random_keys(1, d_k, generator=g) + random_keys(P, d_k, generator=g)
    return keys / keys.norm(dim=-1, keepdim=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", default=None, help="a [P, d_k] tensor saved with torch.save (default: a demo set)")
    parser.add_argument("--eps", type=float, default=0.5, help="fidelity: recall relMSE <= eps^2")
    args = parser.parse_args(argv)
    if not args.eps > 0:
        parser.error(f"--eps must be >= 0 and nonzero (a fidelity), got {args.eps}")
    if args.keys:
        keys = torch.load(args.keys).to(torch.float64)
        keys = keys / keys.norm(dim=-1, keepdim=True)
        label = args.keys
    else:
        keys, label = demo_keys(400, 64, shared=0.5, seed=0).to(torch.float64), "demo keys sharing a direction"
    P, d_k = keys.shape
    mine = capacity_of_keys(keys, eps=args.eps, permutations=32)
    rand = capacity_of_keys(random_keys(P, d_k, generator=torch_generator(1)).to(torch.float64), eps=args.eps)
    print(f"{label}: P = {P} keys in d_k = {d_k} dimensions, fidelity eps = {args.eps:g}")
    more = "" if mine.bracketed else " (at least: every supplied pair is recalled within eps)"
    print(f"  capacity of your keys:   N* = {mine.n}{more}")
    print(f"  random unit keys:        N* = {rand.n} (theory 1 + eps^2 d_k = {capacity_theory(d_k, args.eps):g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
