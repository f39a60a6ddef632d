"""Run sizes of the stiffness chapter's claims and of its notebook, one ``(ci, paper)`` pair per entry.

Claims read ``S = SIZES[tier]``; ``notebooks/50_stiffness`` reads the same table for the runs it shows.
"""

from __future__ import annotations

from attnmath.claims import Sizes

_DIGITS_ARMS = ("plain", "se", "secant")


def _vdp_cases(rtols: tuple[float, ...]) -> tuple[tuple[float, float], ...]:
    """``(mu, rtol)`` pairs: mu in {10, 100} times the given tolerances."""
    return tuple((mu, r) for mu in (10.0, 100.0) for r in rtols)


SIZES = Sizes(
    # stiffness.euler-stability: random complex eigenvalues classified as growing or not
    complex_eigenvalues=(1000, 20000),
    # stiffness.local-error-order: Euler halves the step h = 2^-k for k = 4..k_max (RK4 stays at 8:
    # beyond it its error is round-off)
    euler_halvings_k_max=(8, 12),
    # stiffness.heun-euler-estimate: random states of the tanh MLP
    heun_states=(64, 1024),
    # stiffness.secant-bound: random symmetric 5x5 Jacobians, 10 Euler steps each
    secant_matrices=(200, 2000),
    # stiffness.phi1-stable: points per sign on the log grid +-[1e-12, 10^2.5]
    phi1_points_per_sign=(41, 401),
    # stiffness.jvp-power-iteration: random symmetric 6x6 Jacobians
    jvp_matrices=(16, 256),
    # stiffness.exact-gate: points of the h mu grid in [1e-2, 1e2]
    exact_gate_grid=(50, 1000),
    # stiffness.gated-block-is-diagonal-euler: samples through the SE block
    se_block_samples=(32, 512),
    # stiffness.metrics-scale-invariant: (width, blocks, batch) of the bias-free ReLU stack
    scale_invariance_net=((16, 6, 64), (64, 16, 512)),
    # stiffness.sp-in-accurate-solutions: Van der Pol (mu, rtol) cases solved with RK45
    vdp_cases=(_vdp_cases((1e-3, 1e-6)), _vdp_cases((1e-3, 1e-6, 1e-9))),
    # stiffness.learned-adaptor: seeds of the SAM and StepNet-lite fits (seeds 3, 4 measured here:
    # SAM 0.080 / 0.071, StepNet-lite 4.7e-4 / 6.2e-4)
    adaptor_seeds=((0, 1, 2), (0, 1, 2, 3, 4)),
    # stiffness.learned-adaptor: training draws used, the first n of 2048 (ci measured here: StepNet-lite
    # 2.6-4.9e-4, SAM 0.07-0.08)
    adaptor_train_size=(1024, 2048),
    # stiffness.controller-beats-uniform: seeds of 4096 draws each; the max error grows with the sample
    # size, so both tiers keep the calibrated 3 x 4096
    controller_seeds=((0, 1, 2), (0, 1, 2)),
    # stiffness.network-smoke-test: gated arms checked (the same on both tiers)
    digits_arms=(_DIGITS_ARMS, _DIGITS_ARMS),
    # stiffness.network-smoke-test: training seeds
    digits_seeds=((0, 1, 2), (0, 1, 2, 3, 4)),
    # stiffness.network-smoke-test: epochs (the recipe's 60 on paper; 15 fit the ci budget); also
    # stiffness.neural-stiffness-index
    digits_epochs=(15, 60),
    # stiffness.neural-stiffness-index: training seeds of both arms (plain, se), one log ratio per seed
    nsi_seeds=((0, 1, 2, 3, 4), (0, 1, 2, 3, 4, 5, 6, 7, 8, 9)),
    # notebook only: arms trained and plotted (the recurrent StepNet-lite on paper only)
    digits_arms_shown=(_DIGITS_ARMS, (*_DIGITS_ARMS, "recurrent")),
    # notebook only: points of the exact-gate curve over h mu in [1e-2, 1e2]
    gate_curve_points=(100, 400),
    # notebook only: steps h in [0.0015, 0.0025] of the stiff 2x2 threshold sweep
    threshold_sweep_points=(21, 81),
)
