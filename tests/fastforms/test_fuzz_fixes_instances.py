"""Issue 17 regressions of ``attnmath/fastforms/instances.py``: every bad input is a ``ValueError``/``TypeError``
naming the argument (no AttributeError, no error about the mapped ``q, k, v, g``, no silent NaN), and
``requires_grad`` inputs work and give the same values."""

from __future__ import annotations

import pytest
import torch

from attnmath.fastforms import instances as ins

F64 = torch.float64
NAN, INF = float("nan"), float("inf")


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def pos(*shape: int, seed: int = 1) -> torch.Tensor:
    return 0.5 + 0.4 * torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def poke(x: torch.Tensor, value: float) -> torch.Tensor:
    y = x.clone()
    y.reshape(-1)[0] = value
    return y


def s6_args() -> dict:
    return dict(u=r(1, 8, 2), delta=pos(1, 8, 2), A=-pos(2, 3), B=r(1, 8, 3, seed=1), C=r(1, 8, 3, seed=2))


def ssd_args() -> dict:
    return dict(x=r(1, 8, 2, 3), dt=pos(1, 8, 2), A=-pos(2), B=r(1, 8, 4, seed=1), C=r(1, 8, 4, seed=2))


def qkv() -> dict:
    return dict(q=r(1, 8, 2, 4), k=r(1, 8, 2, 4, seed=1), v=r(1, 8, 2, 3, seed=2))


def retnet_args() -> dict:
    return dict(**qkv(), gamma=pos(2))


def gla_args() -> dict:
    return dict(**qkv(), gk=-pos(1, 8, 2, 4))


FNS = {
    "s6_scan": (ins.s6_scan, s6_args, {"chunk_size": 4}),
    "s6_reference": (ins.s6_reference, s6_args, {}),
    "ssd_scan": (ins.ssd_scan, ssd_args, {"chunk_size": 4}),
    "ssd_reference": (ins.ssd_reference, ssd_args, {}),
    "retnet_scan": (ins.retnet_scan, retnet_args, {"chunk_size": 4}),
    "retnet_reference": (ins.retnet_reference, retnet_args, {}),
    "gla_scan": (ins.gla_scan, gla_args, {"chunk_size": 4}),
}

# (function, argument, how to corrupt it, the error type); the message must name the argument
BAD = [
    # the mapped scans used to blame q, k, v or g, the references returned NaN or crashed
    ("s6_scan", "u", lambda x: poke(x, NAN), ValueError),
    ("s6_scan", "delta", lambda x: poke(x, INF), ValueError),
    ("s6_scan", "A", lambda x: x.to("meta"), ValueError),
    ("s6_scan", "A", lambda x: x[:, :2], ValueError),  # N disagrees with B and C
    ("s6_scan", "u", lambda x: torch.cat([x, x]), ValueError),  # batch disagrees with delta
    ("s6_scan", "B", lambda x: poke(x, NAN), ValueError),
    ("s6_scan", "C", lambda x: x.to("meta"), ValueError),
    ("s6_scan", "delta", lambda x: -x, ValueError),  # a negative step
    ("s6_scan", "A", lambda x: -x, ValueError),  # a growing state: exp(delta a) overflows
    ("s6_scan", "A", lambda x: x.float(), TypeError),  # the scan needs one dtype
    ("s6_scan", "initial_state", lambda x: [0.0], TypeError),
    ("s6_reference", "A", lambda x: poke(x, 1e308), ValueError),
    ("s6_reference", "delta", lambda x: poke(x, NAN), ValueError),
    ("s6_reference", "u", lambda x: x[..., :1], ValueError),  # channels disagree with delta and A
    ("s6_reference", "dtype", lambda x: torch.int64, TypeError),
    ("s6_reference", "dtype", lambda x: "torch.float64", TypeError),
    ("ssd_scan", "dt", lambda x: poke(x, INF), ValueError),
    ("ssd_scan", "B", lambda x: x[..., :3], ValueError),  # N disagrees with C
    ("ssd_scan", "x", lambda x: torch.cat([x, x]), ValueError),
    ("ssd_scan", "A", lambda x: -x, ValueError),
    ("ssd_reference", "A", lambda x: poke(x, NAN), ValueError),
    ("ssd_reference", "x", lambda x: x.to("meta"), ValueError),
    ("ssd_reference", "dtype", lambda x: torch.int64, TypeError),
    ("retnet_scan", "q", lambda x: None, TypeError),
    ("retnet_scan", "q", lambda x: x[0], ValueError),
    ("retnet_scan", "gamma", lambda x: poke(x, NAN), ValueError),
    ("retnet_scan", "gamma", lambda x: x.to("meta"), ValueError),
    ("retnet_scan", "gamma", lambda x: x + 1.0, ValueError),  # > 1: the state grows
    ("retnet_scan", "gamma", lambda x: x * 0.0, ValueError),  # 0 has no log-decay
    ("retnet_reference", "q", lambda x: x.to(torch.complex128), TypeError),
    ("retnet_reference", "k", lambda x: torch.cat([x, x]), ValueError),
    ("retnet_reference", "v", lambda x: poke(x, INF), ValueError),
    ("retnet_reference", "v", lambda x: x[:, 1:], ValueError),
    ("retnet_reference", "gamma", lambda x: x.tolist(), TypeError),
    ("retnet_reference", "gamma", lambda x: x[:1], ValueError),
    ("retnet_reference", "gamma", lambda x: poke(x, 1e308), ValueError),
    ("retnet_reference", "scale", lambda x: -1.0, ValueError),
    ("gla_scan", "q", lambda x: x.tolist(), TypeError),
    ("gla_scan", "gk", lambda x: x > 0, TypeError),
    ("gla_scan", "gk", lambda x: poke(x, NAN), ValueError),
    ("gla_scan", "gk", lambda x: x[..., :3], ValueError),
    ("gla_scan", "gk", lambda x: -x, ValueError),  # a positive log-gate
]


@pytest.mark.parametrize(
    ("fn", "arg", "corrupt", "err"), BAD, ids=[f"{f}-{a}-{i}" for i, (f, a, _, _) in enumerate(BAD)]
)
def test_bad_inputs_are_named(fn, arg, corrupt, err):
    f, make, extra = FNS[fn]
    kwargs = {**make(), **extra}
    if arg == "initial_state":
        kwargs[arg] = corrupt(None)
    elif arg in ("dtype", "scale"):
        kwargs[arg] = corrupt(None)
    else:
        kwargs[arg] = corrupt(kwargs[arg])
    with pytest.raises(err, match=rf"(?<![A-Za-z0-9_]){arg}(?![A-Za-z0-9_])"):
        f(**kwargs)


@pytest.mark.parametrize("H", [0, -1, 2.5, True, None, "4"])
def test_default_retnet_gammas_needs_a_positive_int(H):
    with pytest.raises((TypeError, ValueError), match=r"\bH\b"):
        ins.default_retnet_gammas(H)


def test_products_of_two_large_inputs_are_named():
    """Each factor is bounded, their product (the scan's log-decay) is not: named as the product of both."""
    a = s6_args()
    a["delta"], a["A"] = poke(a["delta"], 1e100), poke(a["A"], -1e100)
    with pytest.raises(ValueError, match=r"delta \* A"):
        ins.s6_scan(**a, chunk_size=4)


def test_the_exceptions_keep_the_valid_boundary():
    """delta = 0, A = 0, gamma = 1 and gk = 0 lie in the models' domains: accepted, and finite."""
    a = s6_args()
    a["delta"][0, 0, 0], a["A"][0, 0] = 0.0, 0.0
    assert torch.isfinite(ins.s6_reference(**a)[0]).all()
    b = retnet_args()
    b["gamma"][0] = 1.0
    assert torch.isfinite(ins.retnet_scan(**b, chunk_size=4)[0]).all()
    c = gla_args()
    c["gk"][0, 0] = 0.0
    assert torch.isfinite(ins.gla_scan(**c, chunk_size=4)[0]).all()


@pytest.mark.parametrize("fn", sorted(FNS))
def test_requires_grad_inputs_work_and_match(fn):
    f, make, extra = FNS[fn]
    plain = f(**make(), **extra)
    grads = {k: v.detach().clone().requires_grad_(True) for k, v in make().items()}
    out = f(**grads, **extra)
    first = out[0] if isinstance(out, tuple) else out
    torch.testing.assert_close(first, plain[0] if isinstance(plain, tuple) else plain, rtol=0, atol=0)
    first.sum().backward()
    assert all(g.grad is not None for g in grads.values())
