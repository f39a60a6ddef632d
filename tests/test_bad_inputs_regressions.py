"""The ten worst cases of issue 17, each re-checked as a regression test.

Each test pins the clear ``ValueError``/``TypeError`` that names the bad argument (case 10: that a
``requires_grad`` tensor works and matches the detached result), and, where the case was a hang or a
silent result, that the valid input next to it still gives the same answer.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch
from attnmath.kernels import dispatch

from attnmath import dsf, memory, scansnap, stiffness, synthesis
from attnmath.scansnap import closed_forms as cf
from attnmath.synthesis import experiments as sx
from attnmath.synthesis import steps

F64 = torch.float64
NAN, INF = float("nan"), float("inf")


def r(*shape: int, dtype: torch.dtype = F64, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def decays(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64) * 0.8 + 0.1


# --- 1. held_input_ode_states: NaN/Inf delta hung; the ODE solve now has a bound ----------------------------
@pytest.mark.parametrize("bad", [NAN, INF])
def test_case01_held_input_ode_states_rejects_nonfinite_delta_quickly(bad):
    a, b, u = -torch.arange(1.0, 3.0, dtype=F64), torch.ones(3, 2, dtype=F64), torch.ones(3, dtype=F64)
    delta = torch.tensor([0.1, bad, 0.2], dtype=F64)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"^delta must contain only finite values"):
        synthesis.held_input_ode_states(a, b, u, delta)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(TypeError, match=r"^a must be real"):
        synthesis.held_input_ode_states(a.to(torch.complex128), b, u, delta.nan_to_num(0.1, 0.1))


def test_case01_held_input_ode_solve_is_bounded_and_valid_input_unchanged():
    a, b, u = -torch.arange(1.0, 3.0, dtype=F64), torch.ones(3, 2, dtype=F64), torch.ones(3, dtype=F64)
    delta = torch.tensor([0.1, 0.3, 0.2], dtype=F64)
    h = synthesis.held_input_ode_states(a, b, u, delta)
    exact = (1.0 - np.exp(a.numpy()[None, :] * np.cumsum(delta.numpy())[:, None])) / -a.numpy()[None, :]
    np.testing.assert_allclose(h, exact, rtol=1e-10)
    # far too stiff for the explicit solver (|a| delta = 1e9): a bounded ValueError, not a spin
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"a and delta .*too stiff.*more than 200000"):
        synthesis.held_input_ode_states(torch.tensor([-1e9], dtype=F64), b[:, :1], u, delta * 10)
    assert time.perf_counter() - start < 60.0
    assert steps.MAX_RHS_EVALS == 200_000


# --- 2. chunked_diag_scan: mismatched lam, NaN / int / bool x and h0 ----------------------------------------
def test_case02_chunked_diag_scan_checks_every_tensor():
    with pytest.raises(ValueError, match=r"^lam must have shape \[\.\.\., L\] or \[\.\.\., L, N\].*got \[5, 3\]"):
        dsf.chunked_diag_scan(decays(5, 3), r(4, 3), 2)
    with pytest.raises(ValueError, match=r"^x must contain only finite values"):
        dsf.chunked_diag_scan(decays(4, 3), r(4, 3).index_fill(0, torch.tensor([1]), NAN), 2)
    for dt in (torch.int64, torch.bool):
        with pytest.raises(TypeError, match=r"^x must have a real floating dtype"):
            dsf.chunked_diag_scan(decays(4, 3), r(4, 3).to(dt), 2)
        with pytest.raises(TypeError, match=r"^h0 must have a real floating dtype"):
            dsf.chunked_diag_scan(decays(4, 3), r(4, 3), 2, h0=r(3).to(dt))
    with pytest.raises(ValueError, match=r"^h0 must contain only finite values"):
        dsf.chunked_diag_scan(decays(4, 3), r(4, 3), 2, h0=torch.full((3,), INF, dtype=F64))
    with pytest.raises(ValueError, match=r"^h0 must have shape \[3\], got \[4\]"):
        dsf.chunked_diag_scan(decays(4, 3), r(4, 3), 2, h0=r(4))
    h, hL = dsf.chunked_diag_scan(decays(4, 3), r(4, 3), 2)  # valid input unchanged: the literal recurrence
    want, state = [], torch.zeros(3, dtype=F64)
    for i in range(4):
        state = decays(4, 3)[i] * state + r(4, 3)[i]
        want.append(state)
    torch.testing.assert_close(h, torch.stack(want))
    torch.testing.assert_close(hL, state)


# --- 3. titans_block_factors validated nothing ---------------------------------------------------------------
@pytest.mark.parametrize(
    "gate,exc,msg",
    [
        (torch.full((5,), NAN, dtype=F64), ValueError, r"^theta must contain only finite values"),
        (torch.ones(5, dtype=torch.complex128), TypeError, r"^theta must have a real floating dtype"),
        (torch.ones(5, dtype=torch.bool), TypeError, r"^theta must have a real floating dtype"),
        (torch.ones(5, dtype=torch.int64), TypeError, r"^theta must have a real floating dtype"),
        (torch.ones(4, dtype=F64), ValueError, r"^theta must have shape \[5\] to match k .*, got \[4\]"),
    ],
)
def test_case03_titans_block_factors_checks_gates(gate, exc, msg):
    k = r(5, 3)
    with pytest.raises(exc, match=msg):
        dsf.titans_block_factors(k, gate, decays(5), decays(5))
    with pytest.raises(exc, match=msg.replace("theta", "eta")):
        dsf.titans_block_factors(k, decays(5), decays(5), gate)
    P, a, b = dsf.titans_block_factors(k, decays(5), decays(5), decays(5))
    assert P.shape == (5, 6, 6) and a.shape == b.shape == (5, 6) and bool(torch.isfinite(P).all())


# --- 4. diag_transition_products accepted NaN/Inf, int64 and empty lam -------------------------------------
def test_case04_diag_transition_products_checks_lam():
    with pytest.raises(ValueError, match=r"^lam must contain only finite values"):
        dsf.diag_transition_products(torch.tensor([[0.5], [NAN]], dtype=F64))
    with pytest.raises(ValueError, match=r"^lam must contain only finite values"):
        dsf.diag_transition_products(torch.tensor([[0.5], [INF]], dtype=F64))
    with pytest.raises(TypeError, match=r"^lam must have a real floating dtype .* got int64$"):
        dsf.diag_transition_products(torch.ones(3, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"^lam must be non-empty, got shape \[0, 2\]$"):
        dsf.diag_transition_products(torch.ones(0, 2, dtype=F64))
    P = dsf.diag_transition_products(torch.tensor([[0.5], [-2.0], [0.0]], dtype=F64))
    assert P[2, 0, 0] == 0.0 and P[1, 0, 0] == -2.0 and P[2, 2, 0] == 1.0 and P[0, 1, 0] == 0.0


# --- 5. flowformer_causal_dsf: v and eps; mlstm_dsf checked only q, k ----------------------------------------
def test_case05_flowformer_checks_v_and_eps():
    q, k = r(6, 3), r(6, 3, seed=1)
    with pytest.raises(ValueError, match=r"^v must have shape \[6, \*\] to match q_raw .*, got \[5, 2\]$"):
        dsf.flowformer_causal_dsf(q, k, r(5, 2))
    with pytest.raises(ValueError, match=r"^v must have shape \[6, \*\] to match q_raw .*, got \[6\]$"):
        dsf.flowformer_causal_dsf(q, k, r(6))
    for eps, msg in ((0.0, r"^eps must be > 0, got 0.0$"), (-1e-3, r"^eps must be > 0"), (INF, r"^eps must be finite")):
        with pytest.raises(ValueError, match=msg):
            dsf.flowformer_causal_dsf(q, k, r(6, 2), eps=eps)
    assert dsf.flowformer_causal_dsf(q, k, r(6, 2)).L == 6


def test_case05_mlstm_checks_v_and_gates():
    q, k, v = r(6, 3), r(6, 3, seed=1), r(6, 2, seed=2)
    ip, fp, op = r(6, seed=3), r(6, seed=4), r(6, 2, seed=5)
    with pytest.raises(ValueError, match=r"^v must have shape \[6, \*\] to match q .*, got \[5, 2\]$"):
        dsf.mlstm_dsf(q, k, r(5, 2), ip, fp, op)
    with pytest.raises(ValueError, match=r"^i_pre must contain only finite values"):
        dsf.mlstm_dsf(q, k, v, torch.full((6,), NAN, dtype=F64), fp, op)
    with pytest.raises(ValueError, match=r"^f_pre must have shape \[6\] to match q .*, got \[6, 1\]$"):
        dsf.mlstm_dsf(q, k, v, ip, fp[:, None], op)
    with pytest.raises(ValueError, match=r"^o_pre must have shape \[6, 2\] to match v .*, got \[6, 3\]$"):
        dsf.mlstm_dsf(q, k, v, ip, fp, r(6, 3))
    with pytest.raises(TypeError, match=r"^f_pre must have a real floating dtype"):
        dsf.mlstm_dsf(q, k, v, ip, fp.to(torch.bool), op)
    assert dsf.mlstm_dsf(q, k, v, ip, fp, op).structure == "scalar"


# --- 6. weights and biases of five constructors were never validated; numpy weights accepted --------------
def _constructor_calls():
    u, d, m, dv = r(2, 5, 3), 3, 2, 2
    WQ, WK, WV = r(m, d, seed=1), r(m, d, seed=2), r(dv, d, seed=3)
    bQ, bK, w, b0 = r(m, seed=4), r(m, seed=5), r(d, seed=6) / 2, 0.1
    rg = (r(d, d, seed=7), r(d, seed=8), r(d, d, seed=9), r(d, seed=10), r(d, seed=11))
    return {
        "normalized_attention_dsf": (dsf.normalized_attention_dsf, [u, WQ, bQ, WK, bK, WV, w, b0], 2, "b_Q"),
        "linear_attention_dsf": (dsf.linear_attention_dsf, [u, WQ, WK, WV], 1, "W_Q"),
        "softmax_taylor_dsf": (dsf.softmax_taylor_dsf, [u, WQ, WK, WV, 2], 3, "W_V"),
        "rglru_dsf": (dsf.rglru_dsf, [u, *rg], 5, "a_param"),
        "ssd_paper_dsf": (
            dsf.ssd_paper_dsf,
            [u, r(d, seed=12), r(d, seed=13), 0.0, r(2, 5, 2), r(2, 5, 2)],
            2,
            "dt_bias",
        ),
    }


@pytest.mark.parametrize("fn_name", sorted(_constructor_calls()))
def test_case06_weights_and_biases_are_validated(fn_name):
    fn, args, i, name = _constructor_calls()[fn_name]
    good = fn(*args)
    assert good.L == 5
    bad_nan, bad_np, bad_shape, bad_dtype = list(args), list(args), list(args), list(args)
    bad_nan[i] = torch.full_like(args[i], NAN)
    bad_np[i] = args[i].numpy()
    bad_shape[i] = torch.ones(*args[i].shape, 7, dtype=F64)
    bad_dtype[i] = args[i].float()
    with pytest.raises(ValueError, match=rf"^{name} must contain only finite values"):
        fn(*bad_nan)
    with pytest.raises(TypeError, match=rf"^{name} must be a torch.Tensor, got ndarray$"):
        fn(*bad_np)
    with pytest.raises(
        ValueError, match=rf"^{name} must have shape .*got \[{', '.join(map(str, bad_shape[i].shape))}\]$"
    ):
        fn(*bad_shape)
    ref = "x" if fn_name == "rglru_dsf" else "u"  # the sequence input the weight multiplies
    with pytest.raises(TypeError, match=rf"^{name} has dtype torch.float32 but {ref} has dtype torch.float64"):
        fn(*bad_dtype)


# --- 7. kernels: backend('bogus'), NaN g / initial_state, scale=1e308 ------------------------------------------
def test_case07_backend_checks_device_and_dtype():
    with pytest.raises(ValueError, match=r"^device must be a device such as 'cpu' or 'cuda:0', got 'bogus'$"):
        dispatch.backend("bogus", torch.float64)
    with pytest.raises(
        TypeError,
        match=r"^dtype must be a floating torch\.dtype \(float16, bfloat16, float32, float64\), got str 'float64'$",
    ):
        dispatch.backend("cpu", "float64")
    assert dispatch.backend("cpu", torch.float64) == "torch"


def _scan_inputs():
    B, T, H, K, Vd = 1, 16, 2, 4, 3
    q, k, v = (
        r(B, T, H, K, dtype=torch.float32),
        r(B, T, H, K, dtype=torch.float32, seed=1),
        r(B, T, H, Vd, dtype=torch.float32, seed=2),
    )
    g = -torch.rand(B, T, H, K, generator=torch.Generator().manual_seed(3))
    return q, k, v, g, torch.zeros(B, H, K, Vd)


def test_case07_diag_scan_checks_g_and_initial_state():
    q, k, v, g, S0 = _scan_inputs()
    for bad in (NAN, INF, -INF):  # -inf (a "reset") gave NaN in the chunked form's b_i - b_j
        with pytest.raises(ValueError, match=r"^g must contain only finite values"):
            dispatch.diag_scan(q, k, v, g.index_fill(1, torch.tensor([3]), bad), backend="torch")
    with pytest.raises(ValueError, match=r"^initial_state must contain only finite values"):
        dispatch.diag_scan(q, k, v, g, initial_state=S0.fill_(NAN), backend="torch")
    o, _ = dispatch.diag_scan(q, k, v, g, backend="torch")
    assert bool(torch.isfinite(o).all())


@pytest.mark.parametrize("which", ["linear_attention", "diag_scan", "softmax_attention"])
def test_case07_huge_scale_is_rejected_by_all_three_kernels(which):
    q, k, v, g, _ = _scan_inputs()
    fn = getattr(dispatch, which)
    args = (q, k, v, g) if which == "diag_scan" else (q, k, v)
    with pytest.raises(ValueError, match=r"^scale must be <= 1.8446744073709552e\+19, got 1e\+308$"):
        fn(*args, scale=1e308, backend="torch")
    out = fn(*args, scale=0.5, backend="torch")
    o = out[0] if isinstance(out, tuple) else out
    assert bool(torch.isfinite(o).all())


# --- 8. scan-and-snap closed forms -------------------------------------------------------------------------------
def test_case08_scansnap_closed_forms_check_counts_and_index():
    with pytest.raises(ValueError, match=r"^K must be >= 1, got -1$"):
        scansnap.t0_snap(34, -1, 1.0)
    with pytest.raises(ValueError, match=r"^K must be >= 1, got 0$"):
        scansnap.gamma_argmax(34, 0, 1.0)
    with pytest.raises(TypeError, match=r"^n must be an int, got NoneType$"):
        scansnap.zeta(None, 4)
    with pytest.raises(ValueError, match=r"^n must be >= 0, got -1$"):
        scansnap.zeta(-1, 4)
    with pytest.raises(ValueError, match=r"^n must be <= 3, got 4$"):
        scansnap.zeta(4, 4)
    np.testing.assert_allclose(scansnap.zeta(1, 4), [-1 / 3, 1.0, -1 / 3, -1 / 3])
    assert scansnap.t0_snap(34, 2, 1.0) == pytest.approx(4 * math.log(34))


def test_case08_dlog_gamma_at_zero_is_its_limit_one():
    s = cf.dlog_gamma_dlog_t(np.array([0.0, 1e-6, 1.0]), 34, 2, 1.0)
    assert s[0] == 1.0 and abs(s[1] - 1.0) < 1e-3 and np.isfinite(s).all()
    with pytest.raises(ValueError, match=r"^K must be >= 1, got 0$"):
        cf.dlog_gamma_dlog_t(1.0, 34, 0, 1.0)


def test_case08_population_objective_checks_Y_shape():
    data = scansnap.syn_small()
    M = data.M
    with pytest.raises(ValueError, match=rf"^Y must have shape \[{M}, {M}\], got \[{M}, {M + 1}\]$"):
        scansnap.population_objective(torch.zeros(M, M + 1, dtype=F64), torch.zeros(M, M, dtype=F64), data)
    with pytest.raises(ValueError, match=r"^Z must contain only finite values"):
        scansnap.population_objective(torch.zeros(M, M, dtype=F64), torch.full((M, M), NAN, dtype=F64), data)
    with pytest.raises(TypeError, match=r"^data must be a SequenceClasses, got dict$"):
        scansnap.population_objective(torch.zeros(M, M, dtype=F64), torch.zeros(M, M, dtype=F64), {})
    J = scansnap.population_objective(torch.zeros(M, M, dtype=F64), torch.zeros(M, M, dtype=F64), data)
    assert float(J) == pytest.approx(-math.log(M))


# --- 9. bool/complex samples, alpha=None, a string rate ---------------------------------------------------------
def test_case09_ratio_of_means_and_sas_reject_bool_and_complex():
    good = torch.arange(1.0, 6.0, dtype=F64)
    for dt in (torch.bool, torch.complex128):
        with pytest.raises(TypeError, match=r"^num must have a real floating dtype"):
            memory.ratio_of_means(good.to(dt), good)
        with pytest.raises(TypeError, match=r"^rho must be real \(float or integer\), got dtype"):
            stiffness.stiffness_awareness_score(good, good.to(dt))
    with pytest.raises(TypeError, match=r"^a_bar must be real \(float or integer\), got dtype bool$"):
        stiffness.stiffness_awareness_score(np.array([True, False, True]), [1.0, 2.0, 3.0])
    assert memory.ratio_of_means(2 * good, good)[0] == pytest.approx(2.0)
    assert memory.ratio_of_means(torch.arange(1, 6), good)[0] == pytest.approx(1.0)  # integer counts still work
    assert stiffness.stiffness_awareness_score(good, -good) == pytest.approx(1.0)


def test_case09_rescorla_wagner_rejects_missing_alpha():
    cs, us = np.ones((3, 2)), np.ones(3)
    with pytest.raises(TypeError, match=r"^alpha must be a real number or array, got NoneType$"):
        memory.rescorla_wagner(cs, us, None)
    with pytest.raises(ValueError, match=r"^alpha must contain only finite values"):
        memory.rescorla_wagner(cs, us, [0.5, NAN])
    with pytest.raises(ValueError, match=r"^alpha must be a scalar or one rate per CS, shape \[2\], got \[3\]$"):
        memory.rescorla_wagner(cs, us, [0.5, 0.5, 0.5])
    with pytest.raises(TypeError, match=r"^initial must be a real number or array, got str$"):
        memory.rescorla_wagner(cs, us, 0.5, initial="0")
    Vs = memory.rescorla_wagner(cs, us, 0.5)
    np.testing.assert_allclose(Vs[1], [0.5, 0.5])  # delta = 1 - 0, each CS gets alpha * delta


def test_case09_variant_run_rejects_a_string_rate():
    with pytest.raises(TypeError, match=r"^ratio must be a real number, got str$"):
        sx.variant_run("exp", "3", 0)
    with pytest.raises(ValueError, match=r"^ratio must be > 0, got -1.0$"):
        sx.variant_run("exp", -1.0, 0)


# --- 10. stiffness: requires_grad tensors work and match; meta tensors get a clear error -----------------------
def test_case10_stiffness_accepts_requires_grad_and_rejects_meta():
    A = torch.tensor([[-1.0, 0.5], [0.0, -1000.0]], dtype=F64)
    Ag = A.clone().requires_grad_(True)
    np.testing.assert_array_equal(stiffness.eigenvalues(Ag), stiffness.eigenvalues(A))
    assert stiffness.spectral_radius(Ag) == stiffness.spectral_radius(A) == pytest.approx(1000.0)
    assert stiffness.stiffness_ratio(Ag) == stiffness.stiffness_ratio(A) == pytest.approx(1000.0)
    meta = torch.empty(2, 2, dtype=F64, device="meta")
    for fn in (stiffness.eigenvalues, stiffness.spectral_radius, stiffness.stiffness_ratio):
        with pytest.raises(ValueError, match=r"^A must hold values, got a tensor on the meta device"):
            fn(meta)


@pytest.mark.parametrize("rtol", [0.0, float("nan"), float("inf"), -1e-6, 1.0])
def test_scansnap_reference_solvers_refuse_a_tolerance_that_would_make_them_spin(rtol):
    """make fuzz found h_ode and reduced_distinct_flow spinning with rtol = 0, NaN or Inf (the last 6 hangs)."""
    import time

    from attnmath.scansnap import closed_forms as CF
    from attnmath.scansnap import dynamics as DY

    for call in (
        lambda: CF.h_ode([1.0, 2.0], 10, 1.0, rtol=rtol),
        lambda: DY.reduced_distinct_flow([0.5, 0.5], [0.2], [0.0, 1.0], rtol=rtol),
        lambda: CF.snap_ode([1.0, 2.0], 10, 4, 1.0, 0.5, 0.1, rtol=rtol),
    ):
        start = time.monotonic()
        with pytest.raises(ValueError, match="rtol must be"):
            call()
        assert time.monotonic() - start < 1.0
