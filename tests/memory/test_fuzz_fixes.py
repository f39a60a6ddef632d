"""Regressions of issue 17 (clear errors) for the memory chapter: each bad call names the bad argument."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath import memory as M

F64 = torch.float64


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


K, VV, Q = r(5, 4), r(5, 3, seed=1), r(5, 4, seed=2)
META = r(5, 4).to("meta")

BAD = [
    # a rank mismatch between two tensors names both (the message blamed only the second one)
    ("hebbian_memory keys rank", lambda: M.hebbian_memory(K[None], VV), ValueError, r"\bkeys\b"),
    ("signal_crosstalk keys rank", lambda: M.signal_crosstalk(K[None], VV), ValueError, r"\bkeys\b"),
    ("hebbian_parallel k rank", lambda: M.hebbian_parallel(Q, K[None], VV), ValueError, r"\bk\b"),
    ("decayed_recurrent k rank", lambda: M.decayed_recurrent(Q, K[None], VV, 0.9), ValueError, r"\bk\b"),
    ("delta_rule_recurrent k rank", lambda: M.delta_rule_recurrent(Q, K[None], VV, 0.3), ValueError, r"\bk\b"),
    ("softmax_recall keys rank", lambda: M.softmax_recall(K[None], VV, Q, 2.0), ValueError, r"\bkeys\b"),
    ("retrieve memory rank", lambda: M.retrieve(r(3, 4)[None], Q), ValueError, r"\bmemory\b"),
    ("head_average_error keys rank", lambda: M.head_average_error(r(1, 2, 5, 4), VV), ValueError, r"\bkeys\b"),
    # relative_recall_error checks the memory against the pairs (a torch broadcast error before)
    ("relative_recall_error memory rows", lambda: M.relative_recall_error(r(2, 4), K, VV), ValueError, r"\bmemory\b"),
    ("relative_recall_error values d_v", lambda: M.relative_recall_error(r(3, 4), K, VV[:, :2]), ValueError, "values"),
    ("relative_recall_error keys d_k", lambda: M.relative_recall_error(r(3, 4), K[:, :3], VV), ValueError, "keys"),
    ("relative_recall_error memory rank", lambda: M.relative_recall_error(r(1, 3, 4), K, VV), ValueError, "memory"),
    # flags are bools
    ("hebbian_parallel causal", lambda: M.hebbian_parallel(Q, K, VV, causal="yes"), TypeError, "causal"),
    ("hebbian_parallel causal None", lambda: M.hebbian_parallel(Q, K, VV, causal=None), TypeError, "causal"),
    ("model_p_theory aligned", lambda: M.model_p_theory(17, 64, 4, 2, aligned="yes"), TypeError, "aligned"),
    ("model_p_capacity aligned", lambda: M.model_p_capacity(64, 6, 2, 0.5, aligned=None), TypeError, "aligned"),
    (
        "residual_accumulation aligned",
        lambda: M.residual_accumulation(8, 16, 3, 2, trials=4, seed=0, aligned="no"),
        TypeError,
        "aligned",
    ),
    # the argument is d, not d_k
    ("crosstalk_moment d", lambda: M.crosstalk_moment(0, 20, seed=1), ValueError, r"^d must be >= 1"),
    ("crosstalk_moment d type", lambda: M.crosstalk_moment(8.5, 20, seed=1), TypeError, r"^d must be an int"),
    # sequences of ints
    ("random_keys batch None", lambda: M.random_keys(7, 5, batch=None), TypeError, "batch"),
    ("random_keys batch str", lambda: M.random_keys(7, 5, batch="x"), TypeError, "batch"),
    ("random_keys batch negative", lambda: M.random_keys(7, 5, batch=(-1,)), ValueError, "batch"),
    ("random_values batch nan", lambda: M.random_values(7, 2, batch=(math.nan,)), TypeError, "batch"),
    ("random_keys generator", lambda: M.random_keys(7, 5, generator=3), TypeError, "generator"),
    ("relmse_curve ns None", lambda: M.relmse_curve(8, None, trials=4, seed=1), TypeError, "ns"),
    (
        "decay_snr_monte_carlo ages None",
        lambda: M.decay_snr_monte_carlo(0.9, 8, 6, None, trials=4, seed=3),
        TypeError,
        "ages",
    ),
    (
        "decay_snr_monte_carlo ages []",
        lambda: M.decay_snr_monte_carlo(0.9, 8, 6, [], trials=4, seed=3),
        ValueError,
        "ages",
    ),
    (
        "decay_snr_monte_carlo ages floats",
        lambda: M.decay_snr_monte_carlo(0.9, 8, 6, np.array([0.0, 2.0]), trials=4, seed=3),
        TypeError,
        "ages",
    ),
    # a callable
    ("largest_true pred None", lambda: M.largest_true(None, 1, 100), TypeError, "pred"),
    ("largest_true pred str", lambda: M.largest_true("x", 1, 100), TypeError, "pred"),
    # meta tensors where values are needed
    ("ratio_of_means num meta", lambda: M.ratio_of_means(r(8).to("meta"), r(8)), ValueError, "num"),
    ("ratio_of_means den meta", lambda: M.ratio_of_means(r(8), r(8).to("meta")), ValueError, "den"),
    ("capacity_of_keys keys meta", lambda: M.capacity_of_keys(r(6, 8).to("meta"), eps=0.5), ValueError, "keys"),
    ("relmse_of_keys values meta", lambda: M.relmse_of_keys(r(6, 8), r(6, 3).to("meta"), 4), ValueError, "values"),
    ("head_average_error keys meta", lambda: M.head_average_error(r(2, 5, 4).to("meta"), VV), ValueError, "keys"),
    ("head_average_error values meta", lambda: M.head_average_error(r(2, 5, 4), VV.to("meta")), ValueError, "values"),
    # overflow from finite inputs is refused, not returned as Inf/NaN
    (
        "delta_sweep_map keys overflow",
        lambda: M.delta_sweep_map(torch.full((3, 3), 1e154, dtype=F64), r(3, 2), 0.1),
        ValueError,
        "keys",
    ),
    (
        "hopfield_error_bound overflow",
        lambda: M.hopfield_error_bound(torch.tensor([[1.0, 0.0], [2.0, 0.0]], dtype=F64), r(2, 3), 1e3),
        ValueError,
        "beta",
    ),
    (
        "softmax_recall overflow",
        lambda: M.softmax_recall(
            torch.full((2, 2), 1e150, dtype=F64), r(2, 3), torch.full((1, 2), 1e150, dtype=F64), 1e10
        ),
        ValueError,
        "beta",
    ),
]


@pytest.mark.parametrize("call, exc, pattern", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_call_names_the_argument(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_valid_edges_still_work():
    """The justified exceptions of tests/fuzz/known_memory.py: valid inputs, unchanged results."""
    assert M.random_keys(3, 2, batch=[]).shape == (3, 2)  # no batch dims
    assert M.random_keys(3, 2, batch=torch.Size([2])).shape == (2, 3, 2)
    snr, _ = M.decay_snr_monte_carlo(0.9, 8, 6, np.array([0, 2]), trials=4, seed=3)  # numpy ages (the notebook's)
    assert snr.shape == (2,) and np.array_equal(snr, M.decay_snr_monte_carlo(0.9, 8, 6, [0, 2], trials=4, seed=3)[0])
    assert M.relmse_curve(8, (2, 3), trials=4, seed=1)[0].shape == (2,)
    assert M.hebbian_parallel(Q, K, VV, causal=np.bool_(False)).shape == (5, 3)
    assert M.coherence(K[None]).shape == (1,)


def test_requires_grad_inputs_work_and_give_the_same_values():
    mem = r(3, 4, seed=3)
    ref = (
        M.relative_recall_error(mem, K, VV),
        M.softmax_recall(K, VV, Q, 2.0),
        M.hopfield_error_bound(K, VV, 2.0),
        M.head_average_error(r(2, 5, 4), VV),
    )
    g = [x.clone().requires_grad_(True) for x in (mem, K, VV, Q)]
    out = (
        M.relative_recall_error(g[0], g[1], g[2]),
        M.softmax_recall(g[1], g[2], g[3], 2.0),
        M.hopfield_error_bound(g[1], g[2], 2.0),
        M.head_average_error(r(2, 5, 4).requires_grad_(True), g[2]),
    )
    for a, b in zip(out, ref):
        assert torch.equal(a.detach(), b)
    sum(o.sum() for o in out).backward()
    assert all(x.grad is not None and bool(torch.isfinite(x.grad).all()) for x in g)
    assert M.ratio_of_means(r(8).abs().requires_grad_(True), r(8, seed=2).abs())[0] > 0


# ----------------------------------------------------------------------------- pools sized from eps
# capacity_bisection / capacity_interpolated draw 2(1+eps^2 d_k)+8 pairs per trial, worst_vs_average
# 2 eps^2 d_k + 8 pairs and [pool, pool] matrices: a finite but large eps must be refused naming eps and
# d_k before anything is allocated (it gave an OverflowError, a torch TypeError or a huge allocation)
POOLS = [
    ("capacity_bisection", lambda e: M.capacity_bisection(8, e, trials=4, seed=1)),
    ("capacity_interpolated", lambda e: M.capacity_interpolated(8, e, trials=4, seed=1)),
    ("worst_vs_average", lambda e: M.worst_vs_average(8, e, draws=1, seed=0)),
]


@pytest.mark.parametrize("call", [c for _, c in POOLS], ids=[n for n, _ in POOLS])
@pytest.mark.parametrize("eps", [1e100, 1e154, 1e6])
def test_a_pool_too_large_for_memory_names_eps_and_d_k(call, eps):
    with pytest.raises(ValueError, match=r"^eps=\S+ with d_k=8 needs a pool of .* free; lower eps or d_k$"):
        call(eps)


@pytest.mark.parametrize(
    "call, eps, budget",
    [
        (POOLS[0][1], 20.0, 2**20),  # 6410 pairs x 4 trials x (8 + 16 + 16) float64 = 8.2 MB > 1 MiB
        (POOLS[1][1], 20.0, 2**20),
        (POOLS[2][1], 2.0, 2**16),  # 72 pairs: 8 (4 * 72 * 8 + 3 * 72^2) = 143 kB > 64 KiB
    ],
    ids=[n for n, _ in POOLS],
)
def test_the_pool_is_checked_against_the_free_memory(monkeypatch, call, eps, budget):
    monkeypatch.setattr("attnmath.base.memory.available_bytes", lambda device="cpu": budget)
    with pytest.raises(ValueError, match=r"^eps=\S+ with d_k=8 needs a pool of .*, more than the .* free"):
        call(eps)
    monkeypatch.setattr("attnmath.base.memory.available_bytes", lambda device="cpu": 2**40)
    call(eps)  # the same call runs when the memory is there (eps > 1 is a legitimate fidelity)
