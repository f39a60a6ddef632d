"""Unit, property and bad-input tests of attnmath.stiffness.measures and controller."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from attnmath.stiffness import controller as C
from attnmath.stiffness import measures as M

EPS = torch.finfo(torch.float64).eps


def test_sai_and_secant_on_hand_computed_vectors():
    x = torch.tensor([[3.0, 4.0]], dtype=torch.float64)  # |x| = 5
    xn = torch.tensor([[3.0, 1.0]], dtype=torch.float64)  # |dx| = 3
    assert M.sai(x, xn, h=0.5).item() == pytest.approx(3 / (0.5 * 5), rel=2 * EPS)
    f = torch.tensor([[0.0, 0.0]], dtype=torch.float64)
    fn = torch.tensor([[6.0, 8.0]], dtype=torch.float64)  # |df| = 10
    assert M.secant_rho(x, xn, f, fn).item() == pytest.approx(10 / 3, rel=2 * EPS)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.floats(1e-3, 0.5))
def test_secant_of_a_symmetric_linear_field_lies_in_its_spectrum(seed, h):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    lam = -np.exp(rng.uniform(0, 4, 4))
    J = torch.from_numpy(Q @ np.diag(lam) @ Q.T)
    x = torch.from_numpy(rng.standard_normal((3, 4)))
    xn = x + h * x @ J.T
    r = M.secant_rho(x, xn, x @ J.T, xn @ J.T)
    assert bool((r >= np.abs(lam).min() * (1 - 1e-9)).all())  # dossier T8 tolerance
    assert bool((r <= np.abs(lam).max() * (1 + 1e-9)).all())


def test_jacobian_spectral_radius_per_row_of_a_batch():
    J1 = torch.diag(torch.tensor([-8.0, -1.0, -0.5], dtype=torch.float64))
    scale = torch.tensor([[1.0], [3.0]], dtype=torch.float64)  # row 2's field is 3x row 1's
    rho = M.jacobian_spectral_radius(lambda u: scale * (u @ J1.T), torch.ones(2, 3, dtype=torch.float64))
    torch.testing.assert_close(rho, torch.tensor([8.0, 24.0], dtype=torch.float64), rtol=1e-9, atol=0)  # (1/8)^19


def test_jacobian_spectral_radius_of_a_nonlinear_field_matches_eigvals():
    g = torch.Generator().manual_seed(3)
    W = torch.randn(5, 5, generator=g, dtype=torch.float64)
    W = W @ W.T + 5 * torch.eye(5, dtype=torch.float64)  # symmetric positive definite

    def f(u):
        return -u @ W.T + 0.1 * u**2

    x = torch.randn(1, 5, generator=g, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda v: f(v[None])[0], x[0])
    ref = torch.linalg.eigvals(J).abs().max()
    est = M.jacobian_spectral_radius(f, x, n_iter=200)
    assert est.item() == pytest.approx(ref.item(), rel=1e-6)  # 200 power steps on a gapped spectrum


def test_jacobian_stiffness_ratio_of_a_linear_field():
    A = torch.diag(torch.tensor([-2.0, -20.0, -400.0], dtype=torch.float64))
    assert M.jacobian_stiffness_ratio(lambda v: A @ v, torch.ones(3, dtype=torch.float64)) == pytest.approx(200.0)


def test_metrics_m1_to_m4():
    rho = torch.tensor([1.0, 2.0, 5.0, 10.0], dtype=torch.float64)
    assert M.stiffness_awareness_score(1 / rho, rho) == pytest.approx(1.0)  # perfectly inverse
    assert M.stiffness_awareness_score(rho, rho) == pytest.approx(-1.0)
    assert M.stability_margin_rate(torch.ones(4, dtype=torch.float64), rho, h=0.3) == 0.75  # h rho = .3 .6 1.5 3
    oracle = torch.expm1(-0.1 * rho) / (-0.1 * rho)
    assert M.oracle_gap(oracle, rho, h=0.1) == pytest.approx(0.0, abs=4 * EPS)
    stats = M.sai_profile_stats(torch.tensor([[1.0, 1.0], [1.0, 1.0], [4.0, 4.0]], dtype=torch.float64))
    assert stats["spikiness"] == pytest.approx(4.0)
    assert stats["cv"] == pytest.approx(math.sqrt(3) / 2)  # mean 2, sample std sqrt(3)


def test_classical_controller_and_error_optimal_step():
    assert C.classical_step_update(0.1, 4e-4, 1e-4) == pytest.approx(0.1 * 0.9 * 0.5)  # (1/4)^(1/2) = 1/2
    assert C.classical_step_update(0.1, 0.0, 1e-4) == pytest.approx(0.5)  # err = 0 -> fmax
    assert C.error_optimal_step(2e-4, 1.0, -20.0) == pytest.approx(0.02 / 20)
    h = C.error_optimal_step(1e-5, 2.0, 7.0)
    assert (h * 7.0) ** 2 / 2 * 2.0 == pytest.approx(1e-5)  # it meets the local error exactly


def test_uniform_and_stiffness_aware_euler_on_a_linear_field():
    lam = torch.tensor([2.0, 40.0], dtype=torch.float64)
    x0 = torch.ones(2, dtype=torch.float64)
    xs, hs = C.uniform_euler(lambda x: -lam * x, x0, 1.0, 8)
    torch.testing.assert_close(xs[-1], (1 - lam / 8) ** 8, rtol=16 * EPS, atol=0)
    xs, hs, rhos = C.stiffness_aware_euler(lambda x: -lam * x, x0, 1.0, 8, c=0.5, rho0=50.0)
    torch.testing.assert_close(hs.sum(0), torch.ones(2, dtype=torch.float64), rtol=0, atol=8 * EPS)  # reaches T
    torch.testing.assert_close(rhos[1:], lam.expand(7, 2), rtol=1e-12, atol=0)  # the secant of a linear field
    assert hs[1, 1].item() == pytest.approx(0.5 / 40)


# ------------------------------------------------------------------ bad input
def test_measures_reject_bad_input():
    x = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="x_next must have shape"):
        M.sai(x, torch.ones(2, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="h must be > 0"):
        M.sai(x, x, h=-1.0)
    with pytest.raises(ValueError, match="x must contain only finite"):
        M.secant_rho(x * float("nan"), x, x, x)
    with pytest.raises(ValueError, match="a_bar and rho must have the same number"):
        M.stability_margin_rate(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="rho must contain only finite"):
        M.stiffness_awareness_score(np.ones(2), np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match="rho must be >= 0"):
        M.oracle_gap(np.ones(2), np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        M.jacobian_spectral_radius(lambda u: u, torch.ones(3, dtype=torch.float64))


def test_controller_rejects_bad_input():
    x0 = torch.ones(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="T must be > 0"):
        C.uniform_euler(lambda x: -x, x0, -1.0, 4)
    with pytest.raises(TypeError, match="f must be callable"):
        C.stiffness_aware_euler(3.0, x0, 1.0, 4)
    with pytest.raises(ValueError, match="x0 must contain only finite"):
        C.stiffness_aware_euler(lambda x: -x, x0 * float("nan"), 1.0, 4)
    with pytest.raises(ValueError, match="h must be > 0"):
        C.classical_step_update(-0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="x and lam must be non-zero"):
        C.error_optimal_step(1e-3, 0.0, 1.0)
