"""Unit, property and bad-input tests of attnmath.stiffness.stability."""

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.stiffness import stability as S

EPS = np.finfo(np.float64).eps


@pytest.mark.parametrize("method", S.METHODS)
def test_numeric_stability_function_matches_sympy(method):
    z = sp.Symbol("z")
    expr = sp.lambdify(z, S.stability_function_sympy(method, z), "numpy")
    pts = np.array([-2.5, -1.0 + 0.5j, -0.1j, 0.3, -7.0])
    # Same closed form evaluated twice in float64: a few ulp of |R| <= ~1e3.
    np.testing.assert_allclose(S.stability_function(method, pts), expr(pts.astype(complex)), rtol=1e-13)


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


def test_euler_max_step_real_and_complex():
    np.testing.assert_allclose(S.euler_max_step(np.array([-1.0, -4.0])), [2.0, 0.5], rtol=4 * EPS)
    lam = -1.0 + 1.0j  # (1 + h a)^2 + (h b)^2 = 1 at h = 1
    assert S.euler_max_step(lam) == pytest.approx(1.0, rel=4 * EPS)
    h = S.euler_max_step(lam)
    assert abs(1 + h * lam) == pytest.approx(1.0, rel=8 * EPS)


def test_stiffness_ratio_and_spectral_radius_of_a_diagonal():
    A = torch.diag(torch.tensor([-1.0, -10.0, -250.0], dtype=torch.float64))
    assert S.stiffness_ratio(A) == pytest.approx(250.0, rel=1e-14)  # eigenvalues of a diagonal are exact
    assert S.spectral_radius(A.numpy()) == pytest.approx(250.0, rel=1e-14)


def test_stiffness_ratio_is_similarity_invariant():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = Q @ np.diag([-1.0, -3.0, -30.0, -300.0]) @ Q.T
    assert S.stiffness_ratio(A) == pytest.approx(300.0, rel=1e-10)  # eig of a conditioned 4x4: 1e3 x 1e3 eps


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


def test_fixed_step_solve_shape_and_euler_closed_form():
    traj = S.fixed_step_solve(lambda v: -2.0 * v, np.array([1.0, -3.0]), 0.1, 5)
    assert traj.shape == (6, 2)
    np.testing.assert_allclose(traj[-1], 0.8**5 * np.array([1.0, -3.0]), rtol=1e-14)  # 5 products: 5 eps


# ------------------------------------------------------------------ bad input
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


def test_negative_step_is_rejected():
    with pytest.raises(ValueError, match="h must be >= 0"):
        S.rk_step(lambda v: v, np.array([1.0]), -0.1, "euler")
    with pytest.raises(ValueError, match="h must be >= 0"):
        S.fixed_step_solve(lambda v: v, np.array([1.0]), -1.0, 3)


def test_nan_state_and_nan_z_are_rejected():
    with pytest.raises(ValueError, match="y0 must contain only finite"):
        S.fixed_step_solve(lambda v: v, np.array([np.nan]), 0.1, 3)
    with pytest.raises(ValueError, match="z must contain only finite"):
        S.stability_function("euler", np.array([np.nan]))


def test_unknown_method_and_unstable_lambda_are_rejected():
    with pytest.raises(ValueError, match="method must be one of"):
        S.stability_function("rk5", np.array([0.1]))
    with pytest.raises(ValueError, match="lam must have negative real part"):
        S.euler_max_step(np.array([-1.0, 0.5j]))
