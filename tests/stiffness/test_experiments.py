"""attnmath.stiffness.experiments: the seeded runs at their smallest useful configurations (the fits are claims).

Van der Pol at mu = 1, Robertson with BDF, the placement enumeration with k <= 1, the controller
comparison on 32 samples, compared with references computed here: scipy called directly, the Euler
recursions written out, hand-worked eigenvalues and closed forms.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.stats import spearmanr

from attnmath.base.numerics import F64_EPS as EPS
from attnmath.stiffness import experiments as E
from attnmath.stiffness import gates as G
from tests._helpers import F64, msg


# ----------------------------------------------------------------------------- reference solves
def test_vdp_jacobian_radius_matches_numpy_eigvals():
    y = np.array([[2.0, -0.5, 1.1], [0.0, 3.0, -2.0]])
    for mu in (1.0, 10.0):
        for i in range(3):
            J = np.array([[0.0, 1.0], [-2 * mu * y[0, i] * y[1, i] - 1, mu * (1 - y[0, i] ** 2)]])
            ref = np.abs(np.linalg.eigvals(J)).max()
            assert E.vdp_jacobian_radius(mu, y[:, i : i + 1])[0] == pytest.approx(ref, rel=1e-13)  # same LAPACK call


def test_vdp_jacobian_radius_on_hand_worked_states():
    # mu = 2 at (0, 0): J = [[0, 1], [-1, 2]], double eigenvalue 1
    # mu = 1 at (1, 1): J = [[0, 1], [-3, 0]], eigenvalues +-i sqrt 3
    # mu = 1 at (2, 0): J = [[0, 1], [-1, -3]], eigenvalues (-3 +- sqrt 5) / 2
    assert E.vdp_jacobian_radius(2.0, np.array([[0.0], [0.0]]))[0] == pytest.approx(
        1.0, rel=1e-7
    )  # defective: sqrt(eps)
    r = E.vdp_jacobian_radius(1.0, np.array([[1.0, 2.0], [1.0, 0.0]]))
    assert r.shape == (2,)
    np.testing.assert_allclose(r, [math.sqrt(3), (3 + math.sqrt(5)) / 2], rtol=8 * EPS)
    assert E.vdp_jacobian_radius(0.5, [[0.0], [3.0]])[0] == pytest.approx(1.0, rel=8 * EPS)  # a list is accepted


def test_vdp_run_matches_a_direct_solve_ivp_call():
    run = E.vdp_run(1.0, 1e-4)
    sol = solve_ivp(lambda _t, y: [y[1], (1 - y[0] ** 2) * y[1] - y[0]], (0.0, 2.0), (2.0, 0.0), rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(run.t, sol.t)  # same solver, same arguments: bit for bit
    np.testing.assert_array_equal(run.y, sol.y)
    np.testing.assert_array_equal(run.h, np.diff(sol.t))
    assert run.n_steps == len(sol.t) - 1
    np.testing.assert_array_equal(run.rho, E.vdp_jacobian_radius(1.0, sol.y[:, :-1]))
    assert run.spearman == spearmanr(run.h, run.rho).statistic
    assert run.ratio == run.h.max() / run.h.min()
    radau = E.vdp_run(1.0, 1e-3, "Radau")
    assert radau.t[-1] == 2.0 and radau.y.shape == (2, radau.n_steps + 1)
    assert msg(ValueError, E.vdp_run, 1.0, 0.0) == "rtol must be > 0, got 0.0"
    assert msg(ValueError, E.vdp_run, 1.0, 1e-3, "Euler").startswith("method must be one of")


def test_reference_solver_failures_raise(monkeypatch):
    class Failed:
        success = False
        message = "step size too small"

    monkeypatch.setattr(E, "solve_ivp", lambda *a, **k: Failed())
    assert msg(RuntimeError, E.vdp_run.__wrapped__, 3.0, 1e-3, "BDF") == (
        "solve_ivp(BDF) failed on Van der Pol mu=3.0: step size too small"
    )
    assert msg(RuntimeError, E.robertson_run.__wrapped__, "LSODA") == (
        "solve_ivp(LSODA) failed on Robertson: step size too small"
    )


def test_robertson_run_with_an_implicit_solver():
    steps, nfev, y_end = E.robertson_run("BDF")
    k1, k2, k3 = 0.04, 1e4, 3e7

    def rhs(_t, y):
        return [-k1 * y[0] + k2 * y[1] * y[2], k1 * y[0] - k2 * y[1] * y[2] - k3 * y[1] ** 2, k3 * y[1] ** 2]

    sol = solve_ivp(rhs, (0.0, 40.0), [1.0, 0.0, 0.0], method="BDF", rtol=1e-4, atol=1e-8)
    assert (steps, nfev) == (len(sol.t) - 1, sol.nfev)
    np.testing.assert_array_equal(y_end, sol.y[:, -1])
    assert y_end.sum() == pytest.approx(1.0, abs=1e-6)  # mass is conserved up to the tolerances
    assert y_end[0] == pytest.approx(0.7158, abs=1e-3)  # Hairer-Wanner's reference value at t = 40


# ----------------------------------------------------------------------------- the stiff 2x2 threshold
def test_stiff_2x2_closed_form_solves_the_system():
    t = np.linspace(0, 0.01, 7)
    y = E.stiff_2x2_exact(t)
    dy = np.stack([2 * -np.exp(-t) + 1000 * np.exp(-1000 * t), np.exp(-t) - 1000 * np.exp(-1000 * t)], -1)
    np.testing.assert_allclose(dy, y @ E.STIFF_A.T, atol=1e-9)  # cancellation of entries ~2e3: 2e3 x 1e3 eps
    np.testing.assert_array_equal(y[0], [1.0, 0.0])


def test_stiff_2x2_euler_steps_with_the_amplification_matrix():
    t, y, _ = E.stiff_2x2_euler(0.001, t_end=0.005)
    M = np.eye(2) + 0.001 * E.STIFF_A
    np.testing.assert_allclose(y[-1], np.linalg.matrix_power(M, 5) @ np.array([1.0, 0.0]), rtol=1e-12)
    assert t[-1] == pytest.approx(0.005)


def test_stiff_2x2_euler_steps_default_end_and_error():
    t, y, err = E.stiff_2x2_euler(0.25)  # default t_end = 1: four steps
    assert t.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    M = np.eye(2) + 0.25 * E.STIFF_A
    ref = [np.linalg.matrix_power(M, k) @ np.array([1.0, 0.0]) for k in range(5)]
    np.testing.assert_allclose(y, np.stack(ref), rtol=1e-12)  # powers of an O(250) matrix, same products
    exact = np.array([2 * math.exp(-1) - math.exp(-1000), -math.exp(-1) + math.exp(-1000)])
    assert err == pytest.approx(np.abs(ref[-1] - exact).max(), rel=1e-12)
    t, y, err = E.stiff_2x2_euler(0.001, t_end=0.0026)  # round(2.6) = 3 steps
    assert len(t) == 4 and t[-1] == pytest.approx(0.003, rel=4 * EPS)
    exact = E.stiff_2x2_exact(np.array([0.003]))[0]
    assert err == pytest.approx(np.abs(y[-1] - exact).max(), rel=1e-12)
    assert isinstance(err, float)
    assert msg(ValueError, E.stiff_2x2_euler, 0.1, 0.0) == "t_end must be > 0, got 0.0"


def test_closed_forms_compute_in_float64_whatever_the_input_dtype():
    y32 = np.array([[0.1, -1.3], [0.3, 2.7]], dtype=np.float32)
    y64 = y32.astype(np.float64)  # the same numbers, exactly
    np.testing.assert_array_equal(E.vdp_jacobian_radius(3.0, y32), E.vdp_jacobian_radius(3.0, y64))
    t32 = np.array([1e-3, 0.7], dtype=np.float32)
    out = E.stiff_2x2_exact(t32)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, E.stiff_2x2_exact(t32.astype(np.float64)))
    one = E.stiff_2x2_exact(0.5)  # a scalar time gives one state [2]
    assert one.shape == (2,)
    np.testing.assert_allclose(one, [2 * math.exp(-0.5) - math.exp(-500), math.exp(-500) - math.exp(-0.5)], rtol=EPS)


# ----------------------------------------------------------------------------- the learned adaptor
class _Half(G.ScalarStepGate):
    """A stepnet gate returning 1/2 everywhere (the loss then has a closed form)."""

    def __init__(self):
        super().__init__("stepnet", hidden=1, dtype=F64)

    def forward(self, feats):
        return torch.full(feats.shape[:1], 0.5, dtype=feats.dtype)


def _closed_form_loss(factor, lam, y0):
    k = np.arange(1, 11)
    x = np.clip(y0[None] * factor[None] ** k[:, None], -1e6, 1e6)  # the runner clamps states to +-1e6
    exact = y0[None] * np.exp(-lam[None] * 0.1 * k[:, None])
    return np.mean(((x - exact) / y0[None]) ** 2)


def test_adaptor_loss_has_the_closed_form_of_a_constant_gate():
    lam = torch.tensor([1.0, 7.0, 70.0], dtype=F64)  # 1 - h lam = -6: clamped after 7 steps
    y0 = torch.tensor([0.5, 1.0, 2.0], dtype=F64)
    loss, gs = E.adaptor_loss(None, lam, y0)
    assert gs.shape == (10, 3) and torch.equal(gs, torch.ones(10, 3, dtype=F64))
    ref = _closed_form_loss(1 - 0.1 * lam.numpy(), lam.numpy(), y0.numpy())
    assert loss.item() == pytest.approx(ref, rel=1e-12)  # sums of 30 squares of O(1e4)
    # unclamped rates only: the loss is then sensitive to t_k = 0.1 k at float64 precision
    loss2, _ = E.adaptor_loss(None, lam[:2], y0[:2])
    ref2 = _closed_form_loss(1 - 0.1 * lam[:2].numpy(), lam[:2].numpy(), y0[:2].numpy())
    assert loss2.item() == pytest.approx(ref2, rel=1e-13)  # 20 squares of O(1e-2), float64
    loss, gs = E.adaptor_loss(_Half(), lam, y0)
    assert torch.equal(gs, torch.full((10, 3), 0.5, dtype=F64))
    ref = _closed_form_loss(1 - 0.05 * lam.numpy(), lam.numpy(), y0.numpy())
    assert loss.item() == pytest.approx(ref, rel=1e-12)


def test_adaptor_result_fields():
    lam = torch.tensor([1.0, 5.0, 20.0], dtype=F64)
    gs = torch.tensor([[0.9, 0.1, 0.5], [0.9, 0.6, 0.3], [0.8, 0.7, 0.2]], dtype=F64)  # [N, B]
    gate = G.ScalarStepGate("sam")
    res = E._adaptor_result(torch.tensor(0.25, dtype=F64), gs, lam, gate)
    assert res.rmse == 0.5 and res.gates is gs and res.gate is gate
    # Spearman over blocks t >= 1 only
    assert res.spearman == pytest.approx(spearmanr(gs[1:].flatten(), lam.expand(2, 3).flatten()).statistic, abs=1e-15)
    assert res.spearman != pytest.approx(spearmanr(gs.flatten(), lam.expand(3, 3).flatten()).statistic, abs=1e-3)
    oracle = -torch.expm1(-0.1 * lam) / (0.1 * lam)
    assert res.oracle_gap == pytest.approx(float((gs - oracle).abs().mean()), rel=1e-14)
    none = E._adaptor_result(torch.tensor(4.0, dtype=F64), gs, lam, None)
    assert math.isnan(none.spearman) and none.rmse == 2.0 and none.gate is None


def test_adaptor_oracle_baseline_is_exact():
    res = E.adaptor_baseline("oracle")
    assert res.rmse < 1e-14  # the exact gate reproduces e^{-lambda t} to float64 roundoff
    assert res.oracle_gap == 0.0


def test_adaptor_baselines():
    none = E.adaptor_baseline("none")
    _, (lam, y0) = E.adaptor_data()
    ref = _closed_form_loss(1 - 0.1 * lam.numpy(), lam.numpy(), y0.numpy())
    assert none.rmse == pytest.approx(math.sqrt(ref), rel=1e-12)
    assert torch.equal(none.gates, torch.ones(10, 2048, dtype=F64)) and none.gate is None
    assert math.isnan(none.spearman)
    oracle = E.adaptor_baseline("oracle")
    assert oracle.gates.shape == (10, 2048)
    assert msg(ValueError, E.adaptor_baseline, "sam") == "kind must be one of ('none', 'oracle'), got 'sam'"


def test_adaptor_and_controller_draws_are_seeded_and_in_range():
    (ltr, ytr), (lte, _) = E.adaptor_data()
    assert ltr.shape == (2048,) and lte.shape == (2048,)
    assert float(ltr.min()) >= 1.0 and float(ltr.max()) <= 100.0
    assert float(ytr.min()) >= 0.5 and float(ytr.max()) <= 2.0
    assert not torch.equal(ltr, lte)  # train is drawn first, test after it
    r = E.controller_vs_uniform(0, 64)
    assert r.lam.shape == (64,) and float(r.lam.max()) <= 30.0
    torch.testing.assert_close(r.steps_controller.sum(0), torch.ones(64, dtype=torch.float64), rtol=0, atol=1e-14)


def test_adaptor_data_is_drawn_in_the_documented_order():
    g = torch.Generator().manual_seed(0)
    draws = []
    for _ in range(2):
        lam = torch.exp(torch.empty(2048, dtype=F64).uniform_(0.0, math.log(100.0), generator=g))
        draws.append((lam, torch.empty(2048, dtype=F64).uniform_(0.5, 2.0, generator=g)))
    (ltr, ytr), (lte, yte) = E.adaptor_data()
    for a, b in zip((ltr, ytr, lte, yte), (*draws[0], *draws[1])):
        assert torch.equal(a, b)


def test_fit_adaptor_rejects_bad_arguments():
    assert msg(ValueError, E.fit_adaptor, "sam", 0, 0) == "n_train must be >= 1, got 0"
    assert msg(ValueError, E.fit_adaptor, "sam", 0, 2049) == "n_train must be <= 2048, got 2049"
    assert msg(ValueError, E.fit_adaptor, "sam", -1) == "seed must be >= 0, got -1"


def test_experiment_arguments_are_validated():
    with pytest.raises(ValueError, match="mu must be > 0"):
        E.vdp_run(-1.0, 1e-3)
    with pytest.raises(ValueError, match="method must be one of"):
        E.robertson_run("Euler")
    with pytest.raises(ValueError, match="h must be > 0"):
        E.stiff_2x2_euler(-0.001)
    with pytest.raises(ValueError, match="kind must be one of"):
        E.fit_adaptor("cbam", 0)


# ----------------------------------------------------------------------------- gate placement
def test_placement_rates():
    lam = E.placement_rates()
    assert lam.dtype == F64 and lam.shape == (20,)
    assert lam.tolist() == [1.0] * 6 + [100.0] * 4 + [1.0] * 10


def test_placement_errors_of_the_three_reference_masks():
    masks = torch.zeros(3, 20, dtype=torch.bool)
    masks[1] = True
    masks[2, 6:10] = True
    none, full, stiff = E.placement_errors(masks).tolist()
    assert none == pytest.approx(abs(0.95**16 * (-4.0) ** 4 / math.exp(-0.05 * (16 + 400)) - 1), rel=1e-10)
    assert full < 1e-13
    assert stiff == pytest.approx(abs(0.95**16 * math.exp(0.8) - 1), rel=1e-10)  # only the Euler factors are inexact


def test_placement_errors_with_custom_rates_and_step():
    lam = torch.tensor([2.0, 30.0, 4.0], dtype=F64)
    masks = torch.tensor([[False, False, False], [False, True, False], [True, True, True]])
    h = 0.1
    err = E.placement_errors(masks, lam, h)
    exact = math.exp(-h * 36.0)
    a1 = -math.expm1(-3.0) / 3.0
    ref = [
        abs(0.8 * (1 - 3.0) * 0.6 / exact - 1),
        abs(0.8 * (1 - a1 * 3.0) * 0.6 / exact - 1),
        0.0,
    ]
    np.testing.assert_allclose(err.numpy(), ref, rtol=1e-13, atol=1e-14)  # three products and a division
    err_default_h = E.placement_errors(masks[:1], lam)  # default h = 0.05
    assert err_default_h.item() == pytest.approx(abs(0.9 * (1 - 1.5) * 0.8 / math.exp(-1.8) - 1), rel=1e-13)
    assert msg(ValueError, E.placement_errors, masks, lam, 0.0) == "h must be > 0, got 0.0"
    assert msg(ValueError, E.placement_errors, masks, lam[None]) == "lam must have 1 dimensions, got shape [1, 3]"
    assert msg(TypeError, E.placement_errors, [[True] * 20]) == "masks must be a bool tensor [M, N]"
    assert msg(ValueError, E.placement_errors, torch.ones(20, dtype=torch.bool)) == (
        "masks must have shape [M, 20], got [20]"
    )


def test_placement_masks_are_validated():
    with pytest.raises(TypeError, match="masks must be a bool tensor"):
        E.placement_errors(torch.zeros(2, 20))
    with pytest.raises(ValueError, match=r"masks must have shape \[M, 20\]"):
        E.placement_errors(torch.zeros(2, 19, dtype=torch.bool))


def test_enumerate_placements_small_k():
    best, err, combos = E.enumerate_placements(1)
    assert combos == [(i,) for i in range(20)] and err.shape == (20,)
    masks = torch.eye(20, dtype=torch.bool)
    torch.testing.assert_close(err, E.placement_errors(masks), rtol=0, atol=0)
    assert best in {(6,), (7,), (8,), (9,)}  # one exact gate goes on a stiff block
    best0, err0, combos0 = E.enumerate_placements(0)
    assert best0 == () and combos0 == [()] and err0.shape == (1,)
    assert msg(ValueError, E.enumerate_placements, 21) == "k must be <= 20, got 21"


def test_stiffest_first_errors_gate_the_stiffest_blocks_first():
    err = E.stiffest_first_errors()  # default k_max = 5
    assert err.shape == (6,)
    masks = torch.zeros(6, 20, dtype=torch.bool)
    for k, blocks in enumerate(([], [6], [6, 7], [6, 7, 8], [6, 7, 8, 9], [6, 7, 8, 9, 0])):
        masks[k, blocks] = True
    torch.testing.assert_close(err, E.placement_errors(masks), rtol=0, atol=0)
    torch.testing.assert_close(E.stiffest_first_errors(2), err[:3], rtol=0, atol=0)
    assert E.stiffest_first_errors(0).shape == (1,)


# ----------------------------------------------------------------------------- the controller against uniform steps
def test_cubic_decay_exact_solves_its_ode():
    y0 = torch.tensor([0.5, 2.0], dtype=torch.float64)
    lam = torch.tensor([1.0, 30.0], dtype=torch.float64)
    t = torch.tensor(0.03, dtype=torch.float64, requires_grad=True)
    y = E.cubic_decay_exact(y0, lam, t)
    dy = torch.stack([torch.autograd.grad(y[i], t, retain_graph=True)[0] for i in range(2)])
    torch.testing.assert_close(dy, -lam * (y + y**3).detach(), rtol=1e-12, atol=0)  # autograd of a closed form
    torch.testing.assert_close(E.cubic_decay_exact(y0, lam, 0.0), y0, rtol=4 * EPS, atol=0)


def test_controller_vs_uniform_against_the_two_euler_recursions():
    r = E.controller_vs_uniform(3, 32)
    g = torch.Generator().manual_seed(3)
    lam = torch.exp(torch.empty(32, dtype=F64).uniform_(0.0, math.log(30.0), generator=g))
    y0 = torch.empty(32, dtype=F64).uniform_(0.5, 2.0, generator=g)
    assert torch.equal(r.lam, lam) and torch.equal(r.y0, y0)
    exact = E.cubic_decay_exact(y0, lam, 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        x = y0.numpy().copy()
        for _ in range(12):
            x = x + (1 / 12) * (-lam.numpy() * (x + x**3))
    err_u = np.abs(x - exact.numpy())
    blown = ~np.isfinite(err_u)
    assert blown.any()  # lam up to 30 with h = 1/12: some uniform runs overflow
    np.testing.assert_allclose(r.err_uniform.numpy()[~blown], err_u[~blown], rtol=1e-9)  # 12 steps, h summed
    assert bool(torch.isinf(r.err_uniform[torch.from_numpy(blown)]).all())  # NaN reported as inf
    assert r.steps_controller.shape == (12, 32)
    assert r.steps_controller[0].tolist() == [0.01] * 32  # c / rho0 = 0.5 / 50
    assert bool(torch.isfinite(r.err_controller).all())
    assert msg(ValueError, E.controller_vs_uniform, 0, 0) == "n_samples must be >= 1, got 0"


def test_stiff_2x2_backward_euler_is_stable_where_explicit_diverges():
    import pytest

    from attnmath.stiffness.experiments import stiff_2x2_euler

    assert stiff_2x2_euler(0.0021, implicit=True)[2] < 1e-2
    assert stiff_2x2_euler(0.0021)[2] > 1e10
    with pytest.raises(TypeError, match="implicit"):
        stiff_2x2_euler(0.001, implicit=1)


def test_vdp_settled_ratio_separates_stiff_from_non_stiff():
    from attnmath.stiffness.experiments import vdp_run

    assert vdp_run(1.0, 1e-3).settled_ratio < 10 < vdp_run(10.0, 1e-3).settled_ratio
