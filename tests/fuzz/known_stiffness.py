"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

_S = "stiffness."
_METRICS = ("oracle_gap", "stability_margin_rate", "stiffness_awareness_score")

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    # step sizes and counts: the zero step and the empty solve are well defined
    (_S + "exact_gate", "h", "zero", "h = 0 is the zero step: a* = phi1(0) = 1, the limit of the exact gate"),
    (_S + "gated_euler_step", "h", "zero", "h = 0 is the zero step (documented h >= 0): x_(t+1) = x_t"),
    (_S + "heun_euler", "h", "zero", "h = 0 is the zero step (documented h >= 0): both steps return x"),
    (_S + "rk_step", "h", "zero", "h = 0 is the zero step (documented h >= 0): the step returns y"),
    (_S + "fixed_step_solve", "h", "zero", "h = 0 is the zero step (documented h >= 0): a constant trajectory"),
    (_S + "run_scalar_adaptor", "h", "zero", "h = 0 is the zero step (documented h >= 0): the states stay at x0"),
    (_S + "fixed_step_solve", "n_steps", "zero", "zero steps (documented n_steps >= 0): the trajectory is [y0]"),
    (_S + "classical_step_update", "err", "zero", "err = 0 is an exact step: the documented maximal growth fmax"),
    # free shapes: elementwise maps, batches and pooled metrics
    (_S + "phi1", "z", "empty", "phi1 is elementwise on a tensor of any shape, an empty one included"),
    (_S + "phi1", "z", "rank_*", "phi1 is elementwise on a tensor of any shape"),
    (_S + "phi1", "z", "size", "phi1 is elementwise on a tensor of any shape"),
    (_S + "signed_log", "u", "empty", "signed_log is elementwise on a tensor of any shape, an empty one included"),
    (_S + "signed_log", "u", "rank_*", "signed_log is elementwise on a tensor of any shape"),
    (_S + "signed_log", "u", "size", "signed_log is elementwise on a tensor of any shape"),
    (_S + "exact_gate", "mu", "empty", "the gate is elementwise in the rates mu (any shape, empty included)"),
    (_S + "exact_gate", "mu", "rank_*", "the gate is elementwise in the rates mu, of any shape"),
    (_S + "exact_gate", "mu", "size", "the gate is elementwise in the rates mu, of any shape"),
    (_S + "gated_euler_step", "a", "rank_down", "a scalar gate broadcasts to x: one step size for every feature"),
    (_S + "euler_max_step", "lam", "rank_*", "h_max is elementwise in the eigenvalues lam, of any shape"),
    (_S + "euler_max_step", "lam", "size", "h_max is elementwise in the eigenvalues lam, of any shape"),
    (_S + "euler_max_step", "lam", "complex", "complex eigenvalues with Re < 0 have h_max = -2 Re / |lam|^2"),
    (_S + "euler_max_step", "lam", "int", "integer eigenvalues are real numbers (read as float64)"),
    (_S + "stability_function", "z", "complex", "R(z) is defined on the complex plane (z = h lam)"),
    (_S + "stability_function", "z", "negative", "R(z) is a rational function of any real or complex z"),
    (_S + "stability_function", "z", "zero", "R(0) = 1 for every method (consistency)"),
    (_S + "rk_step", "y", "int", "an integer state is a real state (computed in float64)"),
    (_S + "rk_step", "y", "rank_*", "the state y is an array of any shape, f maps it to its derivative"),
    (_S + "rk_step", "y", "size", "the state y is an array of any shape, f maps it to its derivative"),
    (_S + "fixed_step_solve", "y0", "int", "an integer initial state is a real state (computed in float64)"),
    (_S + "fixed_step_solve", "y0", "rank_*", "the state y0 is a number or an array of any shape"),
    (_S + "fixed_step_solve", "y0", "size", "the state y0 is a number or an array of any shape"),
    (_S + "heun_euler", "x", "rank_*", "the state x is a tensor of any shape, f maps it to its derivative"),
    (_S + "heun_euler", "x", "size", "the state x is a tensor of any shape, f maps it to its derivative"),
    (_S + "jacobian_spectral_radius", "x", "rows", "the batch size B of x [B, D] is free"),
    (_S + "jacobian_spectral_radius", "x", "size", "the width D of x [B, D] is free (func maps [B, D] to [B, D])"),
    (_S + "*_euler", "x0", "size", "the batch size B of x0 [B] is free (elementwise field)"),
    (_S + "run_scalar_adaptor", "x0", "size", "the batch size B of x0 [B] is free (elementwise field)"),
    (_S + "sai_profile_stats", "sai_profile", "rows", "the number of blocks L >= 2 of the profile [L, B] is free"),
    (_S + "sai_profile_stats", "sai_profile", "size", "the batch size B of the profile [L, B] is free"),
    (_S + "spikiness", "r", "rank_*", "max/median along dim of a tensor of any shape"),
    (_S + "spikiness", "r", "rows", "max/median along dim: the length along dim is free"),
    (_S + "spikiness", "r", "size", "max/median along dim: the other sizes are free"),
    (_S + "spikiness", "dim", "zero", "dim = 0 is the first axis (the default)"),
    (_S + "spikiness", "dim", "negative", "dim = -1 is the last axis, counted from the end"),
    # documented input types
    (_S + "eigenvalues", "A", "numpy", "A is documented as a numpy or torch real square matrix"),
    (_S + "spectral_radius", "A", "numpy", "A is documented as a numpy or torch real square matrix"),
    (_S + "stiffness_ratio", "A", "numpy", "A is documented as a numpy or torch real square matrix"),
]
# the metrics of measures.py take gates a / a_bar and rates rho as samples, flattened (V.real_array)
KNOWN_VALID += [
    (_S + fn, arg, corr, reason)
    for fn in _METRICS
    for arg in ("a*", "rho")
    for corr, reason in (
        ("list", "the metrics take a number, sequence, numpy array or tensor of samples"),
        ("numpy", "the metrics take a number, sequence, numpy array or tensor of samples"),
        ("rank_up", "the metrics pool all (sample, block) entries: the array is flattened"),
        ("int", "integer gates or rates are real samples (read as float64)"),
    )
]
