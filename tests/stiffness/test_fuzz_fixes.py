"""Regression tests of issue 17 for the stiffness chapter: every bad input the fuzz harness found silent or
unclear is now a ``ValueError``/``TypeError`` naming the argument; requires_grad inputs still work."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath import stiffness as S
from tests._helpers import F64


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def meta(*shape: int) -> torch.Tensor:
    return torch.empty(*shape, dtype=F64, device="meta")


def decay(x):
    return -x


ONES3 = torch.ones(3, dtype=F64)
DIAG3 = torch.diag(torch.tensor([-1.0, -10.0, -100.0], dtype=F64))

BAD_CALLS = [
    # constructors: flags are bools, counts are ints >= 1, dtype a torch.dtype
    ("ResidualMLP bias", lambda: S.ResidualMLP(10, 8, 2, 4, bias="yes"), TypeError, "bias"),
    ("ResidualMLP norm", lambda: S.ResidualMLP(10, 8, 2, 4, norm=None), TypeError, "norm"),
    ("ResidualMLP reduction 0", lambda: S.ResidualMLP(10, 8, 2, 4, reduction=0), ValueError, "reduction"),
    ("ResidualMLP reduction 2.5", lambda: S.ResidualMLP(10, 8, 2, 4, reduction=2.5), TypeError, "reduction"),
    ("ResidualMLP reduction bool", lambda: S.ResidualMLP(10, 8, 2, 4, reduction=True), TypeError, "reduction"),
    ("ResidualMLP dtype", lambda: S.ResidualMLP(10, 8, 2, 4, dtype="float64"), TypeError, "dtype"),
    ("SEGate bias", lambda: S.SEGate(8, bias=None), TypeError, "bias"),
    ("SecantStepGate use_dx", lambda: S.SecantStepGate(6, use_dx="yes"), TypeError, "use_dx"),
    ("SecantStepGate bias", lambda: S.SecantStepGate(6, bias="x"), TypeError, "bias"),
    # gates
    ("exact_gate meta mu", lambda: S.exact_gate(0.1, meta(3)), ValueError, "mu"),
    ("gated_euler_step meta x", lambda: S.gated_euler_step(meta(3), r(3), r(3)), ValueError, "x"),
    ("gated_euler_step meta f", lambda: S.gated_euler_step(r(3), meta(3), r(3)), ValueError, "f"),
    ("gated_euler_step meta a", lambda: S.gated_euler_step(r(3), r(3), meta(3)), ValueError, "a"),
    ("gated_euler_step x rank", lambda: S.gated_euler_step(r(1, 3), r(3), r(3)), ValueError, r"\bx\b"),
    ("gated_euler_step x size", lambda: S.gated_euler_step(r(2), r(3), r(3)), ValueError, r"\bx\b"),
    ("gated_euler_step a widens x", lambda: S.gated_euler_step(r(3), r(3), r(1, 3)), ValueError, r"\ba\b"),
    ("heun_euler f", lambda: S.heun_euler("x", r(3), 0.1), TypeError, r"\bf\b"),
    ("run_scalar_adaptor f", lambda: S.run_scalar_adaptor(None, 3, ONES3, 0.1, 4), TypeError, r"\bf\b"),
    ("run_scalar_adaptor gate", lambda: S.run_scalar_adaptor("x", decay, ONES3, 0.1, 4), TypeError, "gate"),
    ("run_scalar_adaptor eps 0", lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, eps=0.0), ValueError, "eps"),
    (
        "run_scalar_adaptor eps NaN",
        lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, eps=math.nan),
        ValueError,
        "eps",
    ),
    ("run_scalar_adaptor eps str", lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, eps="x"), TypeError, "eps"),
    (
        "run_scalar_adaptor clamp 0",
        lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, clamp=0.0),
        ValueError,
        "clamp",
    ),
    (
        "run_scalar_adaptor clamp -1",
        lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, clamp=-1.0),
        ValueError,
        "clamp",
    ),
    (
        "run_scalar_adaptor clamp None",
        lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, clamp=None),
        TypeError,
        "clamp",
    ),
    (
        "run_scalar_adaptor clamp inf",
        lambda: S.run_scalar_adaptor(None, decay, ONES3, 0.1, 4, clamp=math.inf),
        ValueError,
        "clamp",
    ),
    # stability
    ("rk_step f", lambda: S.rk_step(None, np.ones(1), 0.1, "rk4"), TypeError, r"\bf\b"),
    ("rk_step y None", lambda: S.rk_step(decay, None, 0.1, "rk4"), TypeError, r"\by\b"),
    ("rk_step y str", lambda: S.rk_step(decay, "x", 0.1, "rk4"), TypeError, r"\by\b"),
    ("rk_step y complex", lambda: S.rk_step(decay, np.ones(1, complex), 0.1, "rk4"), TypeError, r"\by\b"),
    ("rk_step y NaN", lambda: S.rk_step(decay, np.array([np.nan]), 0.1, "rk4"), ValueError, r"\by\b"),
    ("rk_step y huge", lambda: S.rk_step(decay, np.array([1e300]), 0.1, "rk4"), ValueError, r"\by\b"),
    ("rk_step y empty", lambda: S.rk_step(decay, np.ones(0), 0.1, "rk4"), ValueError, r"\by\b"),
    ("fixed_step_solve f", lambda: S.fixed_step_solve("x", np.ones(2), 0.1, 5), TypeError, r"\bf\b"),
    ("fixed_step_solve y0 complex", lambda: S.fixed_step_solve(decay, np.ones(2, complex), 0.1, 5), TypeError, "y0"),
    ("fixed_step_solve y0 str", lambda: S.fixed_step_solve(decay, "x", 0.1, 5), TypeError, "y0"),
    ("fixed_step_solve y0 empty", lambda: S.fixed_step_solve(decay, np.ones(0), 0.1, 5), ValueError, "y0"),
    (
        "fixed_step_solve method, 0 steps",
        lambda: S.fixed_step_solve(decay, np.ones(2), 0.1, 0, "x"),
        ValueError,
        "method",
    ),
    ("stability_function z overflows", lambda: S.stability_function("rk4", 1e100), ValueError, r"\bz\b"),
    ("stability_function z tensor meta", lambda: S.stability_function("rk4", meta(2)), ValueError, r"\bz\b"),
    ("euler_max_step lam underflows", lambda: S.euler_max_step(-1e-170), ValueError, "lam"),
    ("euler_max_step lam overflows", lambda: S.euler_max_step(-1e200), ValueError, "lam"),
    # measures
    ("sai meta x", lambda: S.sai(meta(3), r(3)), ValueError, r"\bx\b"),
    ("sai meta x_next", lambda: S.sai(r(3), meta(3)), ValueError, "x_next"),
    ("sai x rank", lambda: S.sai(r(1, 3), r(3)), ValueError, r"\bx\b"),
    ("secant_rho x size", lambda: S.secant_rho(r(2), r(3), r(3), r(3)), ValueError, r"\bx\b"),
    ("secant_rho meta f", lambda: S.secant_rho(r(3), r(3), meta(3), r(3)), ValueError, r"\bf\b"),
    ("secant_rho meta f_next", lambda: S.secant_rho(r(3), r(3), r(3), meta(3)), ValueError, "f_next"),
    ("trajectory_measures xs rows", lambda: S.trajectory_measures(r(3, 2, 3), r(3, 2, 3)), ValueError, r"\bxs\b"),
    ("trajectory_measures xs size", lambda: S.trajectory_measures(r(4, 2, 2), r(3, 2, 3)), ValueError, r"\bxs\b"),
    ("trajectory_measures meta xs", lambda: S.trajectory_measures(meta(4, 2, 3), r(3, 2, 3)), ValueError, r"\bxs\b"),
    ("trajectory_measures meta fs", lambda: S.trajectory_measures(r(4, 2, 3), meta(3, 2, 3)), ValueError, r"\bfs\b"),
    ("jacobian_spectral_radius func", lambda: S.jacobian_spectral_radius(3, r(2, 3)), TypeError, "func"),
    (
        "jacobian_spectral_radius generator",
        lambda: S.jacobian_spectral_radius(decay, r(2, 3), generator="x"),
        TypeError,
        "generator",
    ),
    ("jacobian_stiffness_ratio func", lambda: S.jacobian_stiffness_ratio(None, ONES3), TypeError, "func"),
    ("jacobian_stiffness_ratio meta x", lambda: S.jacobian_stiffness_ratio(decay, meta(3)), ValueError, r"\bx\b"),
    (
        "jacobian_stiffness_ratio x size",
        lambda: S.jacobian_stiffness_ratio(lambda v: DIAG3 @ v, ONES3[:2]),
        ValueError,
        r"\bx\b",
    ),
    (
        "jacobian_stiffness_ratio not square",
        lambda: S.jacobian_stiffness_ratio(lambda v: v[:2], ONES3),
        ValueError,
        "func",
    ),
    ("spikiness dim out of range", lambda: S.spikiness(r(3, 2), dim=2), ValueError, "dim"),
    ("spikiness dim fraction", lambda: S.spikiness(r(3, 2), dim=0.5), TypeError, "dim"),
    ("sai_profile_stats meta", lambda: S.sai_profile_stats(meta(3, 2)), ValueError, "sai_profile"),
    (
        "sai_profile_stats one block",
        lambda: S.sai_profile_stats(torch.ones(1, 2, dtype=F64)),
        ValueError,
        "sai_profile",
    ),
    (
        "sai_profile_stats all zero",
        lambda: S.sai_profile_stats(torch.zeros(3, 2, dtype=F64)),
        ValueError,
        "sai_profile",
    ),
    (
        "sai_profile_stats negative",
        lambda: S.sai_profile_stats(-torch.ones(3, 2, dtype=F64)),
        ValueError,
        "sai_profile",
    ),
    ("SAS constant a_bar", lambda: S.stiffness_awareness_score(np.ones(4), [1.0, 2.0, 3.0, 4.0]), ValueError, "a_bar"),
    ("SAS constant rho", lambda: S.stiffness_awareness_score([1.0, 2.0, 3.0, 4.0], np.ones(4)), ValueError, "rho"),
    # controller
    ("error_optimal_step overflow", lambda: S.error_optimal_step(1.0, 1e-300, 1e-300), ValueError, "tol"),
]


@pytest.mark.parametrize("label, call, exc, pattern", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_call_is_rejected_naming_the_argument(label, call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_requires_grad_inputs_work_and_match():
    x, xn, f, fn = r(2, 3), r(2, 3, seed=1), r(2, 3, seed=2), r(2, 3, seed=3)

    def g(t):
        return t.detach().clone().requires_grad_(True)

    torch.testing.assert_close(S.sai(g(x), g(xn)), S.sai(x, xn), rtol=0, atol=0)
    torch.testing.assert_close(S.secant_rho(g(x), g(xn), g(f), g(fn)), S.secant_rho(x, xn, f, fn), rtol=0, atol=0)
    a = torch.rand(2, 3, dtype=F64)
    torch.testing.assert_close(S.gated_euler_step(g(x), g(f), g(a)), S.gated_euler_step(x, f, a), rtol=0, atol=0)
    xs, fs = r(4, 2, 3), r(3, 2, 3, seed=1)
    got, ref = S.trajectory_measures(g(xs), g(fs)), S.trajectory_measures(xs, fs)
    for k in ref:
        torch.testing.assert_close(got[k], ref[k], rtol=0, atol=0)
    assert S.jacobian_stiffness_ratio(lambda v: DIAG3 @ v, g(ONES3)) == pytest.approx(100.0, rel=1e-12)
    prof = torch.tensor([[1.0, 1.0], [1.0, 1.0], [4.0, 4.0]], dtype=F64)
    assert S.sai_profile_stats(g(prof)) == S.sai_profile_stats(prof)
    y = np.array([1.0, 2.0])
    np.testing.assert_array_equal(
        S.rk_step(decay, torch.tensor(y).requires_grad_(True), 0.1, "rk4"), S.rk_step(decay, y, 0.1, "rk4")
    )


def test_valid_edge_values_still_work():
    # the justified exceptions of tests/fuzz/known_stiffness.py: valid values, unchanged results
    assert torch.equal(S.gated_euler_step(r(3), r(3, seed=1), torch.tensor(0.5, dtype=F64), 0.0), r(3))
    np.testing.assert_array_equal(S.fixed_step_solve(decay, np.ones(2), 0.1, 0), [[1.0, 1.0]])
    assert S.classical_step_update(0.1, 0.0, 1e-4) == pytest.approx(0.5)  # err = 0: growth fmax = 5
    assert S.spikiness(torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64), dim=-1).tolist() == [2.0, 4.0 / 3.0]
    assert S.euler_max_step(-1e-150).item() == pytest.approx(2e150)
    assert S.stability_function("rk4", 1e70).real > 0  # finite below the bound
