"""Regression tests of the fuzz findings (issue 17) in synthesis, softmax and kernels.dispatch.

Each bad call was silent or failed with an error that did not name the bad argument; it must now raise a
``ValueError``/``TypeError`` that names it.  The valid variants next to them (``requires_grad`` inputs, a
memoised run) must still work and give the same values.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from attnmath.kernels import dispatch

from attnmath import scansnap, softmax, synthesis
from attnmath.synthesis import experiments as sx

F64 = torch.float64
NAN = float("nan")


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def pos(*shape: int, seed: int = 1) -> torch.Tensor:
    return 0.5 + 0.4 * torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, dtype=F64, device="meta")


DATA = scansnap.syn_medium(1, 2, num_common=2, num_unique_per_next=2)
BATCH = scansnap.sample_batch(DATA, 4, 6, torch.Generator().manual_seed(0))
M = int(DATA.M)
K4 = (r(1, 1, 8, 4), r(1, 1, 8, 4, seed=1), r(1, 1, 8, 3, seed=2))

BAD = [
    # softmax: a rank mismatch names both tensors; causal must be a bool
    ("q", lambda: softmax.scores(r(1, 4, 3), r(5, 3))),
    ("q", lambda: softmax.attention_weights(r(1, 4, 3), r(5, 3))),
    ("k", lambda: softmax.softmax_attention(r(4, 3), r(3), r(5, 2))),
    ("k", lambda: softmax.softmax_attention(r(4, 3), r(1, 5, 3), r(5, 2))),
    ("causal", lambda: softmax.attention_weights(r(4, 3), r(4, 3), causal=None)),
    ("causal", lambda: softmax.softmax_attention(r(4, 3), r(4, 3), r(4, 2), causal="yes")),
    ("bandwidth", lambda: softmax.nadaraya_watson(r(2, 3), r(4, 3, seed=1), r(4, 1), bandwidth=1e-160)),
    # kernels.dispatch: q is checked before the backend is picked; flags are bools; dtype is a float dtype
    ("q", lambda: dispatch.diag_scan(None, *K4[1:], -pos(1, 1, 8, 4), chunk_size=4)),
    ("q", lambda: dispatch.diag_scan(K4[0].numpy(), *K4[1:], -pos(1, 1, 8, 4), chunk_size=4)),
    ("q", lambda: dispatch.softmax_attention("x", *K4[1:], block_size=4)),
    ("q", lambda: dispatch.softmax_attention(K4[0].tolist(), *K4[1:], block_size=4)),
    ("causal", lambda: dispatch.softmax_attention(*K4, causal=None, block_size=4)),
    ("normalize", lambda: dispatch.linear_attention(*K4, normalize=None, chunk_size=4)),
    ("dtype", lambda: dispatch.backend("cpu", torch.int64)),
    ("device", lambda: dispatch.backend("bogus", "float64")),
    ("g", lambda: dispatch.diag_scan(*K4, torch.full((1, 1, 8, 4), NAN, dtype=F64), chunk_size=4)),
    # synthesis.memory_states: every parameter is checked whatever the kind; meta tensors; empty ns
    ("gamma", lambda: synthesis.memory_dsf(r(5, 4), r(5, 3), "linear", gamma=NAN)),
    ("beta", lambda: synthesis.memory_dsf(r(5, 4), r(5, 3), "linear", beta="1")),
    ("dt", lambda: synthesis.memory_dsf(r(5, 4), r(5, 3), "retnet", dt=0.0)),
    ("keys", lambda: synthesis.memory_dsf(r(1, 5, 4), r(5, 3), "linear")),
    ("keys", lambda: synthesis.memory_dsf(meta(5, 4), r(5, 3), "linear")),
    ("values", lambda: synthesis.dsf_recall(r(2, 5, 4), meta(2, 5, 3), "linear")),
    ("ns", lambda: synthesis.softmax_relmse(8, [], 1.0, trials=4, seed=2)),
    ("ns", lambda: synthesis.softmax_relmse(8, None, 1.0, trials=4, seed=2)),
    ("h", lambda: synthesis.state_as_memory(r(12)[0], 4, 3)),
    ("beta", lambda: synthesis.softmax_capacity(16, 0.5, 16.0, n_max=8, trials=2, seed=0)),
    # synthesis.experiments: validated before the memo (True is not the memoised 1)
    ("efolds", lambda: sx.flow_run(0.5, 1.0, True)),
    ("efolds", lambda: sx.flow_run(0.5, 1.0, 40)),
    ("d_ks", lambda: sx.softmax_capacities((), 0.5, 2, 0)),
    ("d_ks", lambda: sx.softmax_capacities(None, 0.5, 2, 0)),
    ("d_ks", lambda: sx.softmax_capacities((NAN, 6), 0.5, 2, 0)),
    ("kind", lambda: sx.variant_run("relu", 1.0, 0)),
    # synthesis.scansnap_dsf: z of feature, token ids, the data/batch/fit objects, efold_changes' arrays
    ("z", lambda: synthesis.feature([1.0], "exp")),
    ("z", lambda: synthesis.feature(r(3).to(torch.complex128), "elu1")),
    ("z", lambda: synthesis.feature(torch.tensor([701.0], dtype=F64), "exp")),
    ("x", lambda: synthesis.onehot_normaliser(r(M, M), BATCH.x[:, :0], BATCH.query)),
    ("x", lambda: synthesis.onehot_normaliser(r(M, M), BATCH.x[1:], BATCH.query)),
    ("x", lambda: synthesis.onehot_attention_dsf(r(M, M), BATCH.x.to("meta"), BATCH.query)),
    ("query", lambda: synthesis.onehot_normaliser(r(M, M), BATCH.x, BATCH.query.to("meta"))),
    ("Z", lambda: synthesis.onehot_attention_dsf(meta(M, M), BATCH.x, BATCH.query)),
    ("Z", lambda: synthesis.feature_entropy_distinct(meta(M, M), DATA, "exp")),
    ("data", lambda: synthesis.population_normaliser(r(M, M), None)),
    ("data", lambda: synthesis.feature_entropy_distinct(r(M, M), "x", "exp")),
    ("data", lambda: synthesis.feature_sgd_train(3, "exp", eta_Y=1.0, eta_Z=0.5, steps=2, batch=4, T=6)),
    ("data", lambda: synthesis.flow_attention(sx.flow_run(0.5, 1.0, 0), None)),
    ("batch", lambda: synthesis.feature_forward(r(M, M), r(M, M), "x", "exp")),
    ("fit", lambda: synthesis.implied_euler_gate(None, 0.1)),
    ("t", lambda: synthesis.efold_changes(np.array([0.0, NAN, 2.0]), np.zeros((3, 1)), 1.0, [0])),
    ("t", lambda: synthesis.efold_changes("x", np.zeros((3, 1)), 1.0, [0])),
    ("t", lambda: synthesis.efold_changes(np.array([0.0, 2.0, 1.0]), np.zeros((3, 1)), 0.1, [0])),
    ("values", lambda: synthesis.efold_changes(np.arange(3.0), None, 1.0, [0])),
    ("values", lambda: synthesis.efold_changes(np.arange(3.0), np.zeros((3, 1)) + 1j, 1.0, [0])),
    ("values", lambda: synthesis.efold_changes(np.arange(3.0), np.zeros((3, 0)), 1.0, [0])),
    ("ks", lambda: synthesis.efold_changes(np.arange(3.0), np.zeros((3, 1)), 0.1, "x")),
    ("ks", lambda: synthesis.efold_changes(np.arange(3.0), np.zeros((3, 1)), 0.1, [NAN])),
    ("t_ref", lambda: synthesis.efold_changes(np.arange(3.0), np.zeros((3, 1)), 1e100, [0])),
    # synthesis.steps: toy_forward checks lam, u and params; meta tensors; an overflowing held-input ODE
    ("lam", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), [[1.0]], r(2, 6), "zoh")),
    ("lam", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), pos(6), r(2, 6), "zoh")),
    ("lam", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), -pos(2, 6), r(2, 6), "zoh")),
    ("lam", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), pos(2, 6).to(torch.complex128), r(2, 6), "zoh")),
    ("u", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), pos(2, 6), r(2, 5), "euler")),
    ("u", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), pos(2, 6), None, "zoh")),
    ("u", lambda: synthesis.toy_forward(torch.zeros(4, dtype=F64), pos(2, 6), r(1, 2, 6), "zoh")),
    ("params", lambda: synthesis.toy_forward(meta(4), pos(2, 6), r(2, 6), "zoh")),
    (
        "params",
        lambda: synthesis.toy_forward(torch.tensor([0.0, 0.0, 0.0, 800.0], dtype=F64), pos(2, 6), r(2, 6), "zoh"),
    ),
    ("lam", lambda: synthesis.relaxation_task(meta(2, 3), 4, 0.1)),
    ("a", lambda: synthesis.s4d_transition_dsf(meta(3), pos(5), "euler")),
    ("delta", lambda: synthesis.s4d_transition_dsf(-pos(3), meta(5), "zoh")),
    ("a", lambda: synthesis.held_input_ode_states(np.array([800.0]), np.ones((1, 1)), np.ones(1), np.ones(1))),
]


@pytest.mark.parametrize(("name", "call"), BAD, ids=[f"{i}-{n}" for i, (n, _) in enumerate(BAD)])
def test_bad_call_names_the_argument(name, call):
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", str(info.value)), str(info.value)


def test_memoised_runs_still_memoise_after_validation():
    assert sx.flow_run(0.5, 1.0, 0) is sx.flow_run(0.5, 1.0, 0)
    assert sx.flow_run(0.5, 1.0, 0) is sx.flow_run(0.5, 1, 0)  # an int rate is the same run


def test_requires_grad_inputs_work_and_match():
    lam, u, p = pos(2, 6), r(2, 6), 0.1 * r(4, seed=3)
    for transition in ("zoh", "euler"):
        ref = synthesis.toy_forward(p, lam, u, transition)
        got = synthesis.toy_forward(p.clone().requires_grad_(True), lam.clone().requires_grad_(True), u, transition)
        for a, b in zip(got, ref):
            torch.testing.assert_close(a.detach(), b, rtol=0, atol=0)
        got[0].sum().backward()  # still differentiable in the parameters
    z = r(3, 4)
    torch.testing.assert_close(synthesis.feature(z.clone().requires_grad_(True), "exp").detach(), torch.exp(z))
    q, k, v = r(4, 3), r(5, 3, seed=1), r(5, 2, seed=2)
    ref = softmax.softmax_attention(q, k, v)
    got = softmax.softmax_attention(q.clone().requires_grad_(True), k, v.clone().requires_grad_(True))
    torch.testing.assert_close(got.detach(), ref, rtol=0, atol=0)
    o_ref, _ = dispatch.diag_scan(*K4, -pos(1, 1, 8, 4), chunk_size=4, backend="torch")
    o, _ = dispatch.diag_scan(
        K4[0].clone().requires_grad_(True), *K4[1:], -pos(1, 1, 8, 4), chunk_size=4, backend="torch"
    )
    torch.testing.assert_close(o.detach(), o_ref, rtol=0, atol=0)


def test_valid_free_sizes_and_zero_rates_still_work():
    """The justified fuzz exceptions (tests/fuzz/known_synthesis_softmax_kernels.py) are valid calls."""
    assert synthesis.feature(r(2, 3, 4), "elu1").shape == (2, 3, 4)
    assert synthesis.population_normaliser(r(2, M, M), DATA).shape[:2] == (2, M)
    assert synthesis.state_as_memory(r(1, 12), 4, 3).shape == (1, 3, 4)
    out = synthesis.efold_changes(np.arange(60), np.arange(60)[:, None], 1.0, [-1, 0, 1])  # integer times
    np.testing.assert_allclose(out, [1.0, 2.0, 4.0])  # nearest times 0-1, 1-3, 3-7
    dsf = synthesis.memory_dsf(r(5, 4), r(5, 3), "deltanet", beta=0.0)
    assert dsf is not None
