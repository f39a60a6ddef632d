"""attnmath.stiffness.stability: stability functions, real stability boundaries, h_max, matrices, RK steps.

The sympy forms against hand-written polynomials and the numeric forms against sympy; the boundaries
against literature values and sympy roots; the RK steps against their Butcher tableaux on a nonlinear
field (a linear field only sees R(z)) and their local orders; every validated argument at its boundary,
with the message naming the argument.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import stability as S
from tests._helpers import msg


# ----------------------------------------------------------------------------- R(z), sympy
def test_sympy_stability_functions_are_the_textbook_polynomials_and_fractions():
    z = sp.Symbol("z")
    expected = {
        "euler": 1 + z,
        "rk2": 1 + z + z**2 / 2,
        "rk3": 1 + z + z**2 / 2 + z**3 / 6,
        "rk4": 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24,
        "backward_euler": 1 / (1 - z),
        "trapezoid": (2 + z) / (2 - z),
    }
    for method, ref in expected.items():
        assert sp.simplify(S.stability_function_sympy(method, z) - ref) == 0, method
        assert sp.simplify(S.stability_function_sympy(method) - ref) == 0, method  # default symbol is z
    w = sp.Symbol("w")
    assert S.stability_function_sympy("rk2", w).free_symbols == {w}
    assert S.stability_function_sympy("trapezoid").free_symbols == {z}


def test_sympy_stability_function_rejects_an_unknown_method():
    assert msg(ValueError, S.stability_function_sympy, "rk5") == (f"method must be one of {S.METHODS}, got 'rk5'")


# ----------------------------------------------------------------------------- R(z), numpy
@pytest.mark.parametrize("method", S.METHODS)
def test_numeric_stability_function_matches_sympy(method):
    z = sp.Symbol("z")
    expr = sp.lambdify(z, S.stability_function_sympy(method, z), "numpy")
    pts = np.array([-2.5, -1.0 + 0.5j, -0.1j, 0.3, -7.0])
    # Same closed form evaluated twice in float64: a few ulp of |R| <= ~1e3.
    np.testing.assert_allclose(S.stability_function(method, pts), expr(pts.astype(complex)), rtol=1e-13)


def test_numeric_stability_function_values_and_dtype():
    z = np.array([[-1.0, 0.5], [1.5, -3.0]])
    cases = {
        "euler": 1 + z,
        "rk2": 1 + z + z**2 / 2,
        "rk3": 1 + z + z**2 / 2 + z**3 / 6,
        "rk4": 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24,
        "backward_euler": 1 / (1 - z),
        "trapezoid": (1 + z / 2) / (1 - z / 2),
    }
    for method, ref in cases.items():
        out = S.stability_function(method, z)
        assert out.dtype == np.complex128 and out.shape == (2, 2)
        np.testing.assert_allclose(out, ref, rtol=8 * EPS, atol=0)  # a few float64 operations on |z| <= 3
    # integers are accepted (kind "i"), as are unsigned and complex
    assert S.stability_function("euler", np.array([-3, 1])).tolist() == [-2, 2]
    assert S.stability_function("euler", np.array([2], dtype=np.uint8)).tolist() == [3]
    assert S.stability_function("backward_euler", 1j).item() == pytest.approx(1 / (1 - 1j), rel=2 * EPS)
    assert S.stability_function("rk2", -2.0).item() == 1.0  # a scalar is a 0-d array


def test_numeric_stability_function_rejects_bad_z():
    assert msg(TypeError, S.stability_function, "euler", np.array([True])) == (
        "z must be a non-empty real or complex array, got dtype bool size 1"
    )
    assert msg(TypeError, S.stability_function, "euler", np.array([])) == (
        "z must be a non-empty real or complex array, got dtype float64 size 0"
    )
    assert msg(TypeError, S.stability_function, "euler", np.array(["a"])).startswith("z must be a non-empty")
    for bad in (np.inf, -np.inf, complex(0, np.nan)):
        assert msg(ValueError, S.stability_function, "rk4", np.array([0.0, bad])) == (
            "z must contain only finite values (found NaN or Inf)"
        )
    assert msg(ValueError, S.stability_function, "heun", np.array([0.0])).startswith("method must be one of")


def test_nan_state_and_nan_z_are_rejected():
    with pytest.raises(ValueError, match="y0 must contain only finite"):
        S.fixed_step_solve(lambda v: v, np.array([np.nan]), 0.1, 3)
    with pytest.raises(ValueError, match="z must contain only finite"):
        S.stability_function("euler", np.array([np.nan]))


# ----------------------------------------------------------------------------- boundary
@pytest.mark.parametrize(
    ("method", "beta"), [("euler", 2.0), ("rk2", 2.0), ("rk3", 2.5127453266183), ("rk4", 2.7852935634053)]
)
def test_real_stability_boundary_is_where_abs_r_reaches_one(method, beta):
    b = S.real_stability_boundary(method)
    assert b == pytest.approx(-beta, abs=1e-12)  # literature values quoted to 13 digits
    inside = np.linspace(b, 0, 200)[1:-1]
    assert np.all(np.abs(S.stability_function(method, inside)) <= 1 + 1e-12)  # roundoff of a degree-4 polynomial
    assert abs(S.stability_function(method, np.array([b - 1e-3]))[0]) > 1


def test_a_stable_methods_have_no_left_end():
    assert S.real_stability_boundary("backward_euler") == -math.inf
    assert S.real_stability_boundary("trapezoid") == -math.inf


def test_real_stability_boundary_with_a_short_or_a_huge_search_interval():
    # the interval of Euler is [-2, 0]: with zmax < 2 no sign change is seen
    assert S.real_stability_boundary("euler", zmax=1.9) == -math.inf
    assert S.real_stability_boundary("rk4", zmax=2.7) == -math.inf
    # zmax slightly above 2: the sign change sits in the last grid cell
    assert S.real_stability_boundary("euler", zmax=2.001) == pytest.approx(-2.0, abs=1e-13)  # brentq xtol 1e-15
    # a huge zmax puts the first grid point outside already (here -5): the search restarts closer to 0
    assert S.real_stability_boundary("euler", zmax=1e5) == pytest.approx(-2.0, abs=1e-13)
    assert S.real_stability_boundary("rk3", zmax=1e9) == pytest.approx(-2.5127453266183, abs=1e-12)
    assert S.real_stability_boundary("trapezoid", zmax=1.0) == -math.inf


def test_real_stability_boundary_default_zmax_and_precision():
    # rk4's root to within a few ulp: the xtol/rtol 1e-15 refinement, not the grid's 5e-4 spacing
    b = S.real_stability_boundary("rk4")
    poly = 1 + b + b**2 / 2 + b**3 / 6 + b**4 / 24
    assert abs(poly - 1.0) < 1e-13  # |R'(b)| ~ 1.3: a root good to ~1e-14 in b
    assert b < -2.78 and b > -2.79


def test_real_stability_boundary_is_refined_to_a_few_ulp():
    # reference roots of |R(z)| = 1 (rk3: R = -1, rk4: R = 1) by sympy's bisection to 30 digits; on [-3, 0]
    # brentq's default xtol (2e-12) would stop ~1e-13 off
    z = sp.Symbol("z")
    for method, lo, hi in (("rk3", -2.6, -2.4), ("rk4", -2.9, -2.7)):
        R = S.stability_function_sympy(method, z)
        ref = float(sp.nsolve(R**2 - 1, z, (lo, hi), solver="bisect", prec=30))
        for zmax in (3.0, 2.9, 7.3):
            assert abs(S.real_stability_boundary(method, zmax) - ref) < 2e-15, (method, zmax)  # ~4 ulp of 2.8


def test_real_stability_boundary_rejects_bad_arguments():
    assert msg(ValueError, S.real_stability_boundary, "euler", 0.0) == "zmax must be > 0, got 0.0"
    assert msg(TypeError, S.real_stability_boundary, "euler", "10") == "zmax must be a real number, got str"
    assert msg(ValueError, S.real_stability_boundary, "rk5").startswith("method must be one of")


# ----------------------------------------------------------------------------- h_max
def test_euler_max_step_real_and_complex():
    np.testing.assert_allclose(S.euler_max_step(np.array([-1.0, -4.0])), [2.0, 0.5], rtol=4 * EPS)
    lam = -1.0 + 1.0j  # (1 + h a)^2 + (h b)^2 = 1 at h = 1
    assert S.euler_max_step(lam) == pytest.approx(1.0, rel=4 * EPS)
    h = S.euler_max_step(lam)
    assert abs(1 + h * lam) == pytest.approx(1.0, rel=8 * EPS)


def test_euler_max_step_values_and_boundaries():
    assert S.euler_max_step(np.array([-2])).tolist() == [1.0]  # integers accepted
    h = S.euler_max_step(np.array([-3.0 + 4.0j, -1e-3]))
    np.testing.assert_allclose(h, [6.0 / 25.0, 2000.0], rtol=4 * EPS)  # -2 Re / |lam|^2
    assert h.dtype == np.float64
    assert S.euler_max_step(-0.5) == 4.0
    assert msg(ValueError, S.euler_max_step, np.array([-1.0, 0.0])) == (
        "lam must have negative real part (no stable Euler step otherwise)"
    )
    assert msg(ValueError, S.euler_max_step, np.array([3j])).startswith("lam must have negative real part")
    assert msg(ValueError, S.euler_max_step, np.array([-1.0, -np.inf])) == (
        "lam must contain only finite values (found NaN or Inf)"
    )
    assert msg(TypeError, S.euler_max_step, np.array([], dtype=np.float64)) == (
        "lam must be a non-empty real or complex array, got dtype float64 size 0"
    )
    assert msg(TypeError, S.euler_max_step, np.array(["x"])).startswith("lam must be a non-empty real or complex")


def test_unknown_method_and_unstable_lambda_are_rejected():
    with pytest.raises(ValueError, match="method must be one of"):
        S.stability_function("rk5", np.array([0.1]))
    with pytest.raises(ValueError, match="lam must have negative real part"):
        S.euler_max_step(np.array([-1.0, 0.5j]))


# ----------------------------------------------------------------------------- matrices
def test_stiffness_ratio_and_spectral_radius_of_a_diagonal():
    A = torch.diag(torch.tensor([-1.0, -10.0, -250.0], dtype=torch.float64))
    assert S.stiffness_ratio(A) == pytest.approx(250.0, rel=1e-14)  # eigenvalues of a diagonal are exact
    assert S.spectral_radius(A.numpy()) == pytest.approx(250.0, rel=1e-14)


def test_stiffness_ratio_is_similarity_invariant():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = Q @ np.diag([-1.0, -3.0, -30.0, -300.0]) @ Q.T
    assert S.stiffness_ratio(A) == pytest.approx(300.0, rel=1e-10)  # eig of a conditioned 4x4: 1e3 x 1e3 eps


def test_eigenvalues_accept_numpy_and_torch_of_any_real_dtype():
    A = np.array([[0, -2], [2, 0]])  # integer rotation: eigenvalues +-2i
    ev = S.eigenvalues(A)
    assert ev.dtype == np.complex128
    np.testing.assert_allclose(sorted(ev, key=lambda c: c.imag), [-2j, 2j], atol=4 * EPS)
    assert S.spectral_radius(A) == pytest.approx(2.0, rel=4 * EPS)
    ev32 = S.eigenvalues(torch.tensor([[-1.0, 0.0], [0.0, -3.0]], dtype=torch.float32))
    assert ev32.dtype == np.complex128  # promoted to float64 before eigvals
    np.testing.assert_allclose(sorted(ev32.real), [-3.0, -1.0], rtol=0, atol=0)
    B = np.array([[-1.0, 5.0], [0.0, -4.0]]).T  # a transposed (non-contiguous) view is fine
    np.testing.assert_allclose(sorted(S.eigenvalues(B).real), [-4.0, -1.0], atol=8 * EPS)


def test_spectral_radius_is_the_largest_modulus_not_the_largest_value():
    assert S.spectral_radius(np.diag([-7.0, 2.0])) == 7.0


def test_stiffness_ratio_boundary_and_message():
    assert S.stiffness_ratio(np.diag([-4.0, -1.0])) == 4.0
    assert S.stiffness_ratio(np.diag([-2.0, -2.0])) == 1.0
    # complex pair -1 +- 5i and -10: real parts 1 and 10
    A = np.array([[-1.0, 5.0, 0.0], [-5.0, -1.0, 0.0], [0.0, 0.0, -10.0]])
    assert S.stiffness_ratio(A) == pytest.approx(10.0, rel=16 * EPS)
    m = msg(ValueError, S.stiffness_ratio, np.diag([-1.0, 0.0]))  # a zero eigenvalue is not allowed
    assert m.startswith("A must have eigenvalues with negative real parts for a stiffness ratio, got [")


def test_matrix_checks_name_the_argument():
    assert msg(TypeError, S.eigenvalues, np.array([[1j]])) == "A must be a real matrix, got dtype complex128"
    assert msg(TypeError, S.eigenvalues, np.array([[True]])) == "A must be a real matrix, got dtype bool"
    assert msg(ValueError, S.spectral_radius, np.ones((2, 3))) == "A must be a square matrix, got shape [2, 3]"
    assert msg(ValueError, S.spectral_radius, torch.ones(3, dtype=torch.float64)) == (
        "A must have 2 dimensions, got shape [3]"
    )


def test_non_square_matrix_is_rejected():
    with pytest.raises(ValueError, match="A must be a square matrix"):
        S.stiffness_ratio(np.ones((2, 3)))


def test_nan_matrix_is_rejected():
    A = torch.tensor([[-1.0, float("nan")], [0.0, -2.0]], dtype=torch.float64)
    with pytest.raises(ValueError, match="A must contain only finite"):
        S.stiffness_ratio(A)


def test_matrix_with_a_nonnegative_eigenvalue_has_no_stiffness_ratio():
    with pytest.raises(ValueError, match="negative real parts"):
        S.stiffness_ratio(np.diag([-1.0, 0.5]))


def test_complex_or_string_matrix_is_a_type_error():
    with pytest.raises(TypeError, match="A must be a real matrix"):
        S.stiffness_ratio(np.array([["a", "b"], ["c", "d"]]))
    with pytest.raises(TypeError, match=r"A must be a torch\.Tensor"):
        S.stiffness_ratio([[1.0]])


# ----------------------------------------------------------------------------- RK steps
@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(S.EXPLICIT),
    hl=st.floats(-3.0, 0.5),
    y=st.floats(-5.0, 5.0).filter(lambda v: abs(v) > 1e-3),
)
def test_one_rk_step_on_the_test_equation_is_r_of_z(method, hl, y):
    out = S.rk_step(lambda v: hl * v, np.array([y]), 1.0, method)[0]
    expected = S.stability_function(method, np.array([hl]))[0].real * y
    assert out == pytest.approx(expected, rel=1e-13, abs=1e-13)  # a few float64 operations


def _tableau_step(f, y, h, A, b):
    ks = []
    for i in range(len(b)):
        ks.append(f(y + h * sum(A[i][j] * ks[j] for j in range(i))))
    return y + h * sum(bi * k for bi, k in zip(b, ks))


TABLEAUX = {
    "euler": ([[]], [1.0]),
    "rk2": ([[], [1.0]], [0.5, 0.5]),
    "rk3": ([[], [0.5], [-1.0, 2.0]], [1 / 6, 4 / 6, 1 / 6]),
    "rk4": ([[], [0.5], [0.0, 0.5], [0.0, 0.0, 1.0]], [1 / 6, 2 / 6, 2 / 6, 1 / 6]),
}


@pytest.mark.parametrize("method", S.EXPLICIT)
def test_rk_step_is_its_butcher_tableau_on_a_nonlinear_field(method):
    def f(y):
        return np.array([y[1] ** 2 - y[0], np.sin(y[0]) * y[1]])

    y = np.array([0.7, -1.3])
    A, b = TABLEAUX[method]
    for h in (0.0, 0.3, 1.1):
        out = S.rk_step(f, y, h, method)
        ref = _tableau_step(f, y, h, [row + [0.0] * (4 - len(row)) for row in A], b)
        np.testing.assert_allclose(out, ref, rtol=0, atol=32 * EPS)  # same sums, other association: a few ulp of O(3)
    np.testing.assert_array_equal(S.rk_step(f, y, 0.0, method), y)


@pytest.mark.parametrize(("method", "order"), [("euler", 1), ("rk2", 2), ("rk3", 3), ("rk4", 4)])
def test_rk_step_local_error_order_on_the_riccati_equation(method, order):
    # y' = y^2, y(0) = 1: y(h) = 1 / (1 - h). Local error ~ C h^{p+1}: halving h divides it by 2^{p+1}.
    errs = [abs(S.rk_step(lambda v: v**2, np.array([1.0]), h, method)[0] - 1 / (1 - h)) for h in (0.02, 0.01)]
    assert math.log2(errs[0] / errs[1]) == pytest.approx(order + 1, abs=0.15)  # O(h^{p+2}) correction at h=0.02


def test_rk_step_rejects_implicit_methods_and_negative_steps():
    assert msg(ValueError, S.rk_step, lambda v: v, np.ones(1), 0.1, "backward_euler") == (
        f"method must be one of {S.EXPLICIT}, got 'backward_euler'"
    )
    assert msg(ValueError, S.rk_step, lambda v: v, np.ones(1), -0.1, "rk4") == "h must be >= 0, got -0.1"


def test_negative_step_is_rejected():
    with pytest.raises(ValueError, match="h must be >= 0"):
        S.rk_step(lambda v: v, np.array([1.0]), -0.1, "euler")
    with pytest.raises(ValueError, match="h must be >= 0"):
        S.fixed_step_solve(lambda v: v, np.array([1.0]), -1.0, 3)


# ----------------------------------------------------------------------------- fixed-step solve
def test_fixed_step_solve_shape_and_euler_closed_form():
    traj = S.fixed_step_solve(lambda v: -2.0 * v, np.array([1.0, -3.0]), 0.1, 5)
    assert traj.shape == (6, 2)
    np.testing.assert_allclose(traj[-1], 0.8**5 * np.array([1.0, -3.0]), rtol=1e-14)  # 5 products: 5 eps


def test_fixed_step_solve_defaults_to_euler_and_accepts_lists():
    traj = S.fixed_step_solve(lambda v: v**2, [1.0, 0.5], 0.1, 2)
    y1 = np.array([1.0, 0.5]) + 0.1 * np.array([1.0, 0.25])
    y2 = y1 + 0.1 * y1**2
    np.testing.assert_allclose(traj, np.stack([[1.0, 0.5], y1, y2]), rtol=2 * EPS, atol=0)
    assert traj.dtype == np.float64


def test_fixed_step_solve_with_other_methods_and_zero_steps():
    traj = S.fixed_step_solve(lambda v: -v, np.array([2.0]), 0.5, 3, method="rk2")
    np.testing.assert_allclose(traj[:, 0], 2.0 * 0.625 ** np.arange(4), rtol=4 * EPS)  # R(-1/2) = 5/8
    one = S.fixed_step_solve(lambda v: -v, np.array([[2.0, 3.0]]), 0.5, 0)
    assert one.shape == (1, 1, 2)
    np.testing.assert_array_equal(one[0], [[2.0, 3.0]])


def test_fixed_step_solve_lets_a_blow_up_overflow_quietly():
    with np.errstate(all="raise"):  # the solver's own errstate must win inside it
        traj = S.fixed_step_solve(lambda v: v**4, np.array([10.0]), 1.0, 5)
        assert traj.shape == (6, 1)
        assert np.isinf(traj[-1, 0])
        # overflow, then inf - inf: the invalid operation is silenced too
        traj = S.fixed_step_solve(lambda v: v**3 - v**2, np.array([10.0]), 1.0, 8)
    assert np.isfinite(traj[5, 0]) and np.isnan(traj[-1, 0])  # (4.7e239)^3 - (4.7e239)^2 = inf - inf


def test_fixed_step_solve_works_in_float64_and_checks_h_without_steps():
    y0 = np.array([0.1, 0.7], dtype=np.float32)
    traj = S.fixed_step_solve(lambda v: -3.0 * v, y0, 0.1, 2)
    assert traj.dtype == np.float64
    np.testing.assert_allclose(traj[-1], y0.astype(np.float64) * 0.7**2, rtol=4 * EPS, atol=0)  # two products
    assert msg(ValueError, S.fixed_step_solve, lambda v: v, np.array([1.0]), -1.0, 0) == "h must be >= 0, got -1.0"


def test_fixed_step_solve_rejects_bad_arguments():
    assert msg(ValueError, S.fixed_step_solve, lambda v: v, np.array([1.0]), 0.1, -1) == "n_steps must be >= 0, got -1"
    assert msg(TypeError, S.fixed_step_solve, lambda v: v, np.array([1.0]), 0.1, 2.0) == (
        "n_steps must be an int, got float"
    )
    assert msg(ValueError, S.fixed_step_solve, lambda v: v, np.array([1.0, np.inf]), 0.1, 1) == (
        "y0 must contain only finite values (found NaN or Inf)"
    )
    assert msg(ValueError, S.fixed_step_solve, lambda v: v, np.array([1.0]), 0.1, 1, "implicit").startswith(
        "method must be one of"
    )
