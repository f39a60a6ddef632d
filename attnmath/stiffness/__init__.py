r"""Stiffness and step size: residual networks as explicit Euler, attention as a step-size adaptor.

After Huang, Liang, Qin, Zhong and Lin, "Understanding Self-attention Mechanism via Dynamical
System Perspective" (huang2023understanding, ICCV 2023). The paper's body could not be obtained:
what is here is rebuilt from its abstract, the authors' related public code and classical numerical
analysis; each claim says whether it is classical or reconstructed (see the book's Sources
appendix). StepNet is *not* the paper's architecture: the two "StepNet-lite" gates are
reconstructions.

Modules:

- ``stability``   stability functions R(z) of Euler, RK2-4, backward Euler, trapezoid; real stability
                  boundaries; Euler's h_max; stiffness ratio; fixed-step RK solves
- ``gates``       the exact gate phi1 (from ``attnmath.base.numerics``), the gated Euler block,
                  Heun-Euler, SE gate, StepNet-lite (secant, recurrent), the learned scalar gate and its
                  runner
- ``measures``    SAI, secant rho, rho^J by JVP power iteration, the stiffness-awareness score,
                  stability-margin rate, oracle gap and SAI profile statistics
- ``controller``  classical step update, error-optimal step, uniform and stiffness-aware Euler
- ``networks``    residual MLP with plain / SE / secant / recurrent gates
- ``experiments`` the seeded runs: reference solves (Van der Pol, Robertson), the stiff 2x2 threshold,
                  the learned step-size adaptor, gate placement, the controller against uniform steps
- ``network_experiment``  the smoke test on scikit-learn's digits
- ``claims``      the chapter's claims ``stiffness.*``, one module per topic, and their run sizes

Book chapter: ``notebooks/50_stiffness``.
"""

from .controller import classical_step_update, error_optimal_step, stiffness_aware_euler, uniform_euler
from .gates import (
    RecurrentStepGate,
    ScalarStepGate,
    SecantStepGate,
    SEGate,
    exact_gate,
    gated_euler_step,
    heun_euler,
    phi1,
    run_scalar_adaptor,
    signed_log,
)
from .measures import (
    jacobian_spectral_radius,
    jacobian_stiffness_ratio,
    oracle_gap,
    sai,
    sai_profile_stats,
    secant_rho,
    spikiness,
    stability_margin_rate,
    stiffness_awareness_score,
    trajectory_measures,
)
from .networks import ResidualMLP, Trace
from .stability import (
    METHODS,
    eigenvalues,
    euler_max_step,
    fixed_step_solve,
    real_stability_boundary,
    rk_step,
    spectral_radius,
    stability_function,
    stability_function_sympy,
    stiffness_ratio,
)

__all__ = [
    "METHODS",
    "RecurrentStepGate",
    "ResidualMLP",
    "SEGate",
    "ScalarStepGate",
    "SecantStepGate",
    "Trace",
    "classical_step_update",
    "eigenvalues",
    "error_optimal_step",
    "euler_max_step",
    "exact_gate",
    "fixed_step_solve",
    "gated_euler_step",
    "heun_euler",
    "jacobian_spectral_radius",
    "jacobian_stiffness_ratio",
    "oracle_gap",
    "phi1",
    "real_stability_boundary",
    "rk_step",
    "run_scalar_adaptor",
    "sai",
    "sai_profile_stats",
    "secant_rho",
    "signed_log",
    "spectral_radius",
    "spikiness",
    "stability_function",
    "stability_function_sympy",
    "stability_margin_rate",
    "stiffness_aware_euler",
    "stiffness_awareness_score",
    "stiffness_ratio",
    "trajectory_measures",
    "uniform_euler",
]
