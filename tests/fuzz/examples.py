"""The one table of valid example calls of the public API (issue 17): one per public callable.

``EXAMPLES[key]()`` returns ``(args, kwargs)`` for a call that must succeed; the key is the
callable's name as :func:`tests.fuzz.api.public_callables` spells it (``chapter.name``,
``dsf.DSF.method``, ``fastforms.<module>.name``, ``kernels.dispatch.name``).  A new public
callable without an entry here fails ``tests/fuzz/test_fuzz.py``: add its example call.
Sizes are tiny so that every corruption of every argument runs in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

Call = tuple[tuple[Any, ...], dict[str, Any]]
EXAMPLES: dict[str, Callable[[], Call]] = {}
F64 = torch.float64


def ex(*keys: str) -> Callable[[Callable[[], Call]], Callable[[], Call]]:
    def deco(fn: Callable[[], Call]) -> Callable[[], Call]:
        for key in keys:
            if key in EXAMPLES:
                raise KeyError(f"duplicate example for {key}")
            EXAMPLES[key] = fn
        return fn

    return deco


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def pos(*shape: int, seed: int = 1) -> torch.Tensor:
    """Entries in (0.5, 0.9): decays, gates, positive rates."""
    return 0.5 + 0.4 * torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def a(*args: Any, **kwargs: Any) -> Call:
    return args, kwargs


def _dsf() -> Any:
    from attnmath import dsf

    return dsf.DSF(pos(6, 4), r(6, 4, 2), r(6, 3, 4), structure="diagonal")


def _data() -> Any:
    from attnmath import scansnap

    return scansnap.syn_medium(1, 2, num_common=2, num_unique_per_next=2)


def _batch() -> Any:
    from attnmath import scansnap

    return scansnap.sample_batch(_data(), 4, 6, torch.Generator().manual_seed(0))


def _M() -> int:
    return int(_data().probs.shape[-1])


# ---- softmax ---------------------------------------------------------------------------------------
ex("softmax.attention_weights")(lambda: a(r(4, 3), r(5, 3, seed=1)))
ex("softmax.hard_attention")(lambda: a(r(4, 3), r(5, 3, seed=1), r(5, 2, seed=2)))
ex("softmax.nadaraya_watson")(lambda: a(r(4, 3), r(5, 3, seed=1), r(5, 2, seed=2), bandwidth=1.0))
ex("softmax.scores")(lambda: a(r(4, 3), r(5, 3, seed=1)))
ex("softmax.softmax_attention")(lambda: a(r(4, 3), r(5, 3, seed=1), r(5, 2, seed=2)))

# ---- dsf -------------------------------------------------------------------------------------------
ex("dsf.DSF")(lambda: a(pos(6, 4), r(6, 4, 2), r(6, 3, 4), structure="diagonal"))
for _m in ("dense_lam", "transition_products", "blocks", "matrix", "eigenvalues"):
    ex(f"dsf.DSF.{_m}")(lambda: a(_dsf()))
ex("dsf.DSF.quadratic_bytes")(lambda: a(_dsf(), with_blocks=True))
ex("dsf.DSF.recurrent")(lambda: a(_dsf(), r(6, 2, seed=3)))
ex("dsf.DSF.parallel")(lambda: a(_dsf(), r(6, 2, seed=3)))
ex("dsf.DSF.chunked")(lambda: a(_dsf(), r(6, 2, seed=3), 4))
ex("dsf.DSF.transfer")(lambda: a(_dsf(), 4, 1))
ex("dsf.DSF.hankel_block")(lambda: a(_dsf(), 3))
ex("dsf.chunked_diag_scan")(lambda: a(pos(6, 3), r(6, 3), 4))
ex("dsf.deltanet_dsf")(lambda: a(r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2), pos(5)))
ex("dsf.diag_transition_products")(lambda: a(pos(5, 3)))
ex("dsf.elu_plus_one")(lambda: a(r(4, 3)))
ex("dsf.embed_dsf")(lambda: a(_dsf(), pos(6, 2), r(6, 2, 2, seed=4)))
ex("dsf.explicit_phi_matrix")(lambda: a(_dsf()))
ex("dsf.flowformer_causal_dsf")(lambda: a(r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2)))
ex("dsf.gla_dsf")(lambda: a(r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2), -pos(5, 3)))
ex("dsf.kron_eye_col")(lambda: a(r(3), 2))
ex("dsf.kron_eye_row")(lambda: a(r(3), 2))
ex("dsf.linear_attention_dsf")(lambda: a(r(5, 3), r(4, 3, seed=1), r(4, 3, seed=2), r(2, 3, seed=3)))
ex("dsf.mamba2_ssd_dsf")(lambda: a(r(5, 2, 3), pos(5, 2), -pos(2), r(5, 4, seed=1), r(5, 4, seed=2)))
ex("dsf.mlstm_dsf")(lambda: a(r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2), r(5, seed=3), r(5, seed=4), r(5, 2, seed=5)))
ex("dsf.monomial_feature_dim")(lambda: a(3, 2))
ex("dsf.monomial_features")(lambda: a(r(4, 3), 2))
ex("dsf.normalized_attention_dsf")(
    lambda: a(r(5, 3), r(4, 3, seed=1), r(4, seed=2), r(4, 3, seed=3), r(4, seed=4), r(2, 3, seed=5), r(3, seed=6), 0.5)
)
ex("dsf.phi1")(lambda: a(r(4)))
ex("dsf.qlstm_dsf")(lambda: a(r(5, 3), r(9, 3, seed=1), r(9, seed=2)))
ex("dsf.recurrent_norm_eigenvalues")(lambda: a(r(5)))
ex("dsf.retnet_dsf")(lambda: a(r(2, 5, 3), r(2, 5, 3, seed=1), r(2, 5, 2, seed=2), torch.tensor([0.9, 0.8], dtype=F64)))
ex("dsf.rglru_dsf")(lambda: a(r(5, 3), r(3, 3, seed=1), r(3, seed=2), r(3, 3, seed=3), r(3, seed=4), r(3, seed=5)))
ex("dsf.s6_dsf")(lambda: a(r(5, 2), pos(5, 2), -pos(2, 3), r(5, 3, seed=1), r(5, 3, seed=2)))
ex("dsf.segsum")(lambda: a(r(5)))
ex("dsf.separable_attention_dsf")(lambda: a(pos(5, 3), pos(5, 3, seed=2), r(2, 2), torch.ones(5, dtype=F64)))
ex("dsf.softmax_taylor_dsf")(lambda: a(r(5, 3), r(2, 3, seed=1), r(2, 3, seed=2), r(2, 3, seed=3), 2))
ex("dsf.ssd_paper_dsf")(
    lambda: a(r(5, 2), r(2, seed=1), r(2, seed=2), torch.tensor(0.1, dtype=F64), r(5, 3, seed=3), r(5, 3, seed=4))
)
ex("dsf.taylor_feature_dim")(lambda: a(3, 2))
ex("dsf.taylor_features")(lambda: a(r(4, 3), 2))
ex("dsf.titans_block_factors")(lambda: a(r(5, 3), pos(5), pos(5, seed=2), pos(5, seed=3)))
ex("dsf.titans_dsf")(lambda: a(r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2), pos(5), pos(5, seed=2), pos(5, seed=3)))

# ---- memory ----------------------------------------------------------------------------------------
ex("memory.bit_error_exact")(lambda: a(2, 2))
ex("memory.bit_error_monte_carlo")(lambda: a(12, 20, trials=10, seed=3))
ex("memory.bit_error_theory")(lambda: a(55, 400))
ex("memory.blocking_closed_form")(lambda: a(0.2, 1.0, 5, 5))
ex("memory.blocking_design")(lambda: a(5, 5, 1.0))
ex("memory.capacity_bisection")(lambda: a(8, 0.5, trials=4, seed=1))
ex("memory.capacity_interpolated")(lambda: a(8, 0.5, trials=4, seed=1))
ex("memory.capacity_of_keys")(lambda: a(torch.nn.functional.normalize(r(6, 8), dim=-1), eps=0.5, permutations=2))
ex("memory.capacity_theory")(lambda: a(64, 0.5))
ex("memory.coherence")(lambda: a(r(5, 4)))
ex("memory.coherence_error_bound")(lambda: a(r(5, 4), r(5, 3, seed=1)))
ex("memory.coherence_tight_instance")(lambda: a(10, 12, 0.2, d_v=5, generator=torch.Generator().manual_seed(0)))
ex("memory.compounding_multihop")(lambda: a(8, 16, 3, trials=4, seed=0))
ex("memory.crosstalk_moment")(lambda: a(8, 20, seed=1))
ex("memory.decay_snr_monte_carlo")(lambda: a(0.9, 8, 6, [0, 2], trials=10, seed=3))
ex("memory.decay_snr_theory")(lambda: a(0.9, 8, 6, 2))
ex("memory.decayed_memory")(lambda: a(r(5, 4), r(5, 3, seed=1), 0.9))
ex("memory.decayed_recurrent")(lambda: a(r(5, 4), r(5, 4, seed=1), r(5, 3, seed=2), 0.9))
ex("memory.delta_rule_cyclic")(lambda: a(torch.eye(3, dtype=F64), r(3, 2), 0.5, 3))
ex("memory.delta_rule_recurrent")(lambda: a(r(5, 4), r(5, 4, seed=1), r(5, 3, seed=2), 0.3))
ex("memory.delta_sweep_map")(lambda: a(r(5, 4), r(5, 3, seed=1), 0.1))
ex("memory.extinction_closed_form")(lambda: a(3.0, 0.25, 10))
ex("memory.guarantee_capacity")(lambda: a(0.1, 0.5))
ex("memory.head_average_error")(lambda: a(r(2, 5, 4), r(5, 3, seed=1)))
ex("memory.heads_for_reliability")(lambda: a(0.6, 10, 0.05))
ex("memory.hebbian_conditioning")(lambda: a(np.ones((6, 2)), np.ones(6), 0.2))
ex("memory.hebbian_memory")(lambda: a(r(5, 4), r(5, 3, seed=1)))
ex("memory.hebbian_parallel")(lambda: a(r(5, 4), r(5, 4, seed=1), r(5, 3, seed=2)))
ex("memory.hebbian_recurrent")(lambda: a(r(5, 4), r(5, 4, seed=1), r(5, 3, seed=2)))
ex("memory.hoeffding_majority_bound")(lambda: a(0.7, 5))
ex("memory.hopfield_error_bound")(lambda: a(r(5, 4), r(5, 3, seed=1), 2.0))
ex("memory.hopfield_tight_instance")(lambda: a(6, 16, 0.5, d_v=4, generator=torch.Generator().manual_seed(1)))
ex("memory.largest_true")(lambda: a(lambda n: n <= 37, 1, 100))
ex("memory.least_squares_residual")(lambda: a(r(5, 4), r(5, 3, seed=1)))
ex("memory.majority_failure")(lambda: a(0.7, 3))
ex("memory.mean_square_overlap")(lambda: a(r(5, 4)))
ex("memory.model_c_capacity")(lambda: a(64, 6, 2, 0.5))
ex("memory.model_c_theory")(lambda: a(17, 64, 1, 2))
ex("memory.model_p_capacity")(lambda: a(64, 6, 2, 0.5))
ex("memory.model_p_theory")(lambda: a(17, 64, 4, 2))
ex("memory.olam_memory")(lambda: a(r(3, 5), r(3, 2, seed=1)))
ex("memory.random_keys")(lambda: a(7, 5, batch=(2,), generator=torch.Generator().manual_seed(0)))
ex("memory.random_values")(lambda: a(7, 2, batch=(2,), generator=torch.Generator().manual_seed(0)))
ex("memory.ratio_of_means")(lambda: a(pos(8), pos(8, seed=2)))
ex("memory.relative_recall_error")(lambda: a(r(3, 4), r(5, 4, seed=1), r(5, 3, seed=2)))
ex("memory.relmse_curve")(lambda: a(8, [3], trials=4, seed=1))
ex("memory.relmse_monte_carlo")(lambda: a(5, 8, trials=4, seed=1))
ex("memory.relmse_of_keys")(lambda: a(r(6, 8), r(6, 3, seed=1), 4, permutations=2))
ex("memory.relmse_theory")(lambda: a(5, 8))
ex("memory.rescorla_wagner")(lambda: a(np.ones((6, 2)), np.ones(6), 0.2))
ex("memory.residual_accumulation")(lambda: a(8, 16, 3, 2, trials=4, seed=0))
ex("memory.retrieve")(lambda: a(r(3, 4), r(2, 4, seed=1)))
ex("memory.separation")(lambda: a(r(5, 4)))
ex("memory.signal_crosstalk")(lambda: a(r(5, 4), r(5, 3, seed=1)))
ex("memory.simplex_frame")(lambda: a(7))
ex("memory.softmax_recall")(lambda: a(r(5, 4), r(5, 3, seed=1), r(2, 4, seed=2), 2.0))
ex("memory.welch_bound")(lambda: a(5, 4))
ex("memory.worst_vs_average")(lambda: a(8, 0.5, draws=2, seed=0))

# ---- scansnap --------------------------------------------------------------------------------------
_T = np.array([0.5, 1.0, 2.0])
for _f in ("B_snap", "B_snap_branches", "B_snap_printed", "dB_dlog_t"):
    ex(f"scansnap.{_f}")(lambda: a(_T, 1000, 10, 1.0, 0.5, 0.1))
ex("scansnap.Gamma_closed")(lambda: a(_T, 1000, 10, 1.0, 0.5))
ex("scansnap.attention_entropy_distinct")(lambda: a(r(4, _M()).abs(), _batch(), _data()))
ex("scansnap.attention_ratio_decay")(lambda: a(3.0, 1.0))
ex("scansnap.chi")(lambda: a(np.array([1.0]), np.array([0.5])))
ex("scansnap.distinct_attention")(
    lambda: a(__import__("attnmath.scansnap", fromlist=["x"]).population_attention(r(_M(), _M()), _data()), _data())
)
ex("scansnap.dlog_gamma_dlog_t")(lambda: a(_T, 1000, 10, 1.0))
ex("scansnap.entropy_distinct")(lambda: a(r(_M(), _M()), _data()))
ex("scansnap.gamma_argmax")(lambda: a(1000, 10, 1.0))
ex("scansnap.gamma_speed")(lambda: a(_T, 1000, 10, 1.0))
ex("scansnap.h_closed")(lambda: a(_T, 20, 0.7))
ex("scansnap.h_ode")(lambda: a(_T, 20, 0.7))
ex("scansnap.h_star")(lambda: a(3, 20, 0.7))
ex("scansnap.hoeffding_radius")(lambda: a(127, 0.05))
ex("scansnap.init_standard")(lambda: a(6, 4, seed=1))
ex("scansnap.init_yz")(lambda: a(6, "zero"))
ex("scansnap.lemma1_gradients")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _batch()))
ex("scansnap.official_orientation_loss")(
    lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _batch().x, _batch().next_token)
)
ex("scansnap.omega1")(lambda: a(20))
ex("scansnap.population_attention")(lambda: a(r(_M(), _M()), _data()))
ex("scansnap.population_flow")(lambda: a(_data(), eta_Y=1.0, eta_Z=0.5, steps=2))
ex("scansnap.population_gradients")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _data()))
ex("scansnap.population_objective")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _data()))
ex("scansnap.reduced_distinct_flow")(lambda: a([0.25, 0.75], [0.5], _T))
ex("scansnap.relative_gain")(lambda: a(np.array([[1.0, 2.0], [3.0, 4.0]]), 0, 1))
ex("scansnap.sample_batch")(lambda: a(_data(), 4, 6, torch.Generator().manual_seed(0)))
ex("scansnap.sequence_classes")(lambda: a([[0.5, 0.25, 0.25, 0, 0], [0.5, 0, 0, 0.5, 0]], [4, 4], [1, 2]))
ex("scansnap.sgd_train")(lambda: a(_data(), eta_Y=1.0, eta_Z=0.5, steps=2, batch=4, T=6))
ex("scansnap.snap_ode")(lambda: a(_T, 1000, 10, 1.0, 0.5, 0.1))
ex("scansnap.standard_forward")(
    lambda: a(__import__("attnmath.scansnap", fromlist=["x"]).init_standard(_M(), 4, seed=1), _batch())
)
ex("scansnap.standard_train")(
    lambda: a(_data(), eta_Y=0.25, eta_Z=8.0, seed=1, steps=2, batch=4, T=6, d=4, eval_at=(0, 1))
)
ex("scansnap.syn_medium")(lambda: a(1, 2, num_common=2, num_unique_per_next=2))
ex("scansnap.syn_small")(lambda: a())
ex("scansnap.t0_scan")(lambda: a(1000, 10, 1.0))
ex("scansnap.t0_snap")(lambda: a(1000, 10, 2.0))
ex("scansnap.yz_forward")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _batch()))
ex("scansnap.yz_loss")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _batch()))
ex("scansnap.zeta")(lambda: a(3, 5))


# ---- stiffness -------------------------------------------------------------------------------------
def _decay(x: torch.Tensor) -> torch.Tensor:
    return -x


def _decay_np(y: np.ndarray) -> np.ndarray:
    return -y


ex("stiffness.RecurrentStepGate")(lambda: a(6, reduction=2))
ex("stiffness.ResidualMLP")(lambda: a(10, 8, 2, 4, "plain"))
ex("stiffness.SEGate")(lambda: a(8, reduction=4))
ex("stiffness.ScalarStepGate")(lambda: a("sam"))
ex("stiffness.SecantStepGate")(lambda: a(6, reduction=2, use_dx=True))
ex("stiffness.classical_step_update")(lambda: a(0.1, 4e-4, 1e-4))
ex("stiffness.eigenvalues")(lambda: a(torch.diag(torch.tensor([-1.0, -2.0], dtype=F64))))
ex("stiffness.error_optimal_step")(lambda: a(2e-4, 1.0, -20.0))
ex("stiffness.euler_max_step")(lambda: a(np.array([-1.0, -4.0])))
ex("stiffness.exact_gate")(lambda: a(0.1, pos(3)))
ex("stiffness.fixed_step_solve")(lambda: a(_decay_np, np.ones(2), 0.1, 5))
ex("stiffness.gated_euler_step")(lambda: a(r(3), r(3, seed=1), pos(3)))
ex("stiffness.heun_euler")(lambda: a(_decay, r(3), 0.1))
ex("stiffness.jacobian_spectral_radius")(lambda: a(_decay, torch.ones(2, 3, dtype=F64)))
ex("stiffness.jacobian_stiffness_ratio")(
    lambda: a(lambda v: torch.diag(torch.tensor([-1.0, -10.0, -100.0], dtype=F64)) @ v, torch.ones(3, dtype=F64))
)
ex("stiffness.oracle_gap")(lambda: a(pos(4), pos(4, seed=2), h=0.1))
ex("stiffness.phi1")(lambda: a(r(4)))
ex("stiffness.real_stability_boundary")(lambda: a("rk4"))
ex("stiffness.rk_step")(lambda: a(_decay_np, np.array([1.0]), 0.1, "rk4"))
ex("stiffness.run_scalar_adaptor")(lambda: a(None, _decay, torch.ones(3, dtype=F64), 0.1, 4))
ex("stiffness.sai")(lambda: a(r(3), r(3, seed=1), h=0.5))
ex("stiffness.sai_profile_stats")(lambda: a(torch.tensor([[1.0, 1.0], [1.0, 1.0], [4.0, 4.0]], dtype=F64)))
ex("stiffness.secant_rho")(lambda: a(r(3), r(3, seed=1), r(3, seed=2), r(3, seed=3)))
ex("stiffness.signed_log")(lambda: a(r(4)))
ex("stiffness.spectral_radius")(lambda: a(torch.diag(torch.tensor([-1.0, -2.0], dtype=F64))))
ex("stiffness.spikiness")(lambda: a(pos(3, 2)))
ex("stiffness.stability_function")(lambda: a("rk4", 0.5))
ex("stiffness.stability_function_sympy")(lambda: a("rk4"))
ex("stiffness.stability_margin_rate")(lambda: a(torch.ones(4, dtype=F64), pos(4), h=0.3))
ex("stiffness.stiffness_aware_euler")(lambda: a(_decay, torch.ones(3, dtype=F64), 1.0, 8))
ex("stiffness.stiffness_awareness_score")(lambda: a(pos(4), pos(4, seed=2)))
ex("stiffness.stiffness_ratio")(lambda: a(torch.diag(torch.tensor([-1.0, -2.0], dtype=F64))))
ex("stiffness.trajectory_measures")(lambda: a(r(4, 2, 3), r(3, 2, 3, seed=1), h=0.5))
ex("stiffness.uniform_euler")(lambda: a(_decay, torch.ones(2, dtype=F64), 1.0, 4))


# ---- synthesis -------------------------------------------------------------------------------------
def _fit() -> Any:
    from attnmath import synthesis

    lam = -pos(4)
    return synthesis.ToyFit(torch.zeros(4, dtype=F64), lam, 0.1 * lam / 2.0, -2.0, 0.0, 1.0)


def _flow() -> Any:
    from attnmath import scansnap

    return scansnap.population_flow(_data(), eta_Y=1.0, eta_Z=0.5, steps=2)


ex("synthesis.claim_ids")(lambda: a())
ex("synthesis.decayed_relmse_theory")(lambda: a(0.9, 8, 5))
ex("synthesis.draw_view_map")(lambda: a(None))
ex("synthesis.dsf_recall")(lambda: a(r(2, 5, 4), r(2, 5, 3, seed=1), "linear", chunk=2))
ex("synthesis.effective_load")(lambda: a(0.9, 5))
ex("synthesis.efold_changes")(lambda: a(np.exp(np.arange(6.0)), np.arange(6.0)[:, None], 1.0, [1, 2]))
ex("synthesis.feature")(lambda: a(r(3, 4), "elu1"))
ex("synthesis.feature_entropy_distinct")(lambda: a(r(_M(), _M()), _data(), "exp"))
ex("synthesis.feature_forward")(lambda: a(r(_M(), _M()), r(_M(), _M(), seed=1), _batch(), "exp"))
ex("synthesis.feature_sgd_train")(lambda: a(_data(), "exp", eta_Y=1.0, eta_Z=0.5, steps=2, batch=4, T=6))
ex("synthesis.fit_selective_toy")(lambda: a("zoh", 0))
ex("synthesis.flow_attention")(lambda: a(_flow(), _data()))
ex("synthesis.flow_run")(lambda: a(0.5, 1.0, 1))
ex("synthesis.flow_t0")(lambda: a(1.0))
ex("synthesis.held_input_ode_states")(lambda: a(np.array([-1.0]), np.array([[1.0]]), np.array([0.7]), np.array([1.3])))
ex("synthesis.implied_euler_gate")(lambda: a(_fit(), 0.1))
ex("synthesis.memory_dsf")(lambda: a(r(5, 4), r(5, 3, seed=1), "linear"))
ex("synthesis.onehot_attention_dsf")(lambda: a(r(_M(), _M()), _batch().x, _batch().query))
ex("synthesis.onehot_normaliser")(lambda: a(r(_M(), _M()), _batch().x, _batch().query))
ex("synthesis.population_normaliser")(lambda: a(r(_M(), _M()), _data()))
ex("synthesis.relaxation_task")(lambda: a(pos(2, 3), 4, 0.1))
ex("synthesis.s4d_real")(lambda: a(5))
ex("synthesis.s4d_transition_dsf")(lambda: a(-pos(3), pos(5) * 0.1, "euler"))
ex("synthesis.softmax_capacities")(lambda: a((4, 6), 0.5, 2, 0))
ex("synthesis.softmax_capacity")(lambda: a(6, 0.5, 3.0, n_max=16, trials=2, seed=0))
ex("synthesis.softmax_relmse")(lambda: a(8, [3], 1.0, trials=4, seed=2))
ex("synthesis.state_as_memory")(lambda: a(r(12), 4, 3))
ex("synthesis.state_recall_relmse")(lambda: a("linear", 6, 8, 4, trials=4, seed=1))
ex("synthesis.toy_forward")(lambda: a(torch.zeros(4, dtype=F64), pos(2, 6), r(2, 6), "zoh"))
ex("synthesis.variant_run")(lambda: a("exp", 1.0, 0))

# ---- kernels.dispatch ------------------------------------------------------------------------------
ex("kernels.dispatch.backend")(lambda: a("cpu", F64))
ex("kernels.dispatch.diag_scan")(
    lambda: a(r(1, 1, 8, 4), r(1, 1, 8, 4, seed=1), r(1, 1, 8, 3, seed=2), -pos(1, 1, 8, 4), chunk_size=4)
)
ex("kernels.dispatch.linear_attention")(
    lambda: a(r(1, 1, 8, 4), r(1, 1, 8, 4, seed=1), r(1, 1, 8, 3, seed=2), chunk_size=4)
)
ex("kernels.dispatch.softmax_attention")(
    lambda: a(r(1, 1, 8, 4), r(1, 1, 8, 4, seed=1), r(1, 1, 8, 3, seed=2), block_size=4)
)


# ---- fastforms (modules: no package __all__) -------------------------------------------------------
def _seq() -> Any:
    from attnmath.fastforms import derivation

    return derivation.sequence(3, 2, 1, gate="scalar")


ex("fastforms.derivation.sequence")(lambda: a(3, 2, 1, gate="scalar"))
ex("fastforms.derivation.recurrent")(lambda: a(_seq()))
ex("fastforms.derivation.chunked")(lambda: a(_seq(), 2))
ex("fastforms.derivation.normalised_and_augmented")(lambda: a(2, 1))
ex("fastforms.derivation.gate_gradient_sides")(lambda: a(2))
ex("fastforms.derivation.online_softmax_sides")(lambda: a(1, 1))
ex("fastforms.derivation.softmax_attention")(lambda: a(_seq()))
ex("fastforms.derivation.evaluate")(lambda: a(2 * _seq()["q"], _seq(), {"q": [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]}))
ex("fastforms.instances.s6_scan")(
    lambda: a(r(1, 8, 2), pos(1, 8, 2), -pos(2, 3), r(1, 8, 3, seed=1), r(1, 8, 3, seed=2), chunk_size=4)
)
ex("fastforms.instances.s6_reference")(
    lambda: a(r(1, 8, 2), pos(1, 8, 2), -pos(2, 3), r(1, 8, 3, seed=1), r(1, 8, 3, seed=2))
)
ex("fastforms.instances.ssd_scan")(
    lambda: a(r(1, 8, 2, 3), pos(1, 8, 2), -pos(2), r(1, 8, 4, seed=1), r(1, 8, 4, seed=2), chunk_size=4)
)
ex("fastforms.instances.ssd_reference")(
    lambda: a(r(1, 8, 2, 3), pos(1, 8, 2), -pos(2), r(1, 8, 4, seed=1), r(1, 8, 4, seed=2))
)
ex("fastforms.instances.retnet_scan")(
    lambda: a(r(1, 8, 2, 4), r(1, 8, 2, 4, seed=1), r(1, 8, 2, 3, seed=2), pos(2), chunk_size=4)
)
ex("fastforms.instances.retnet_reference")(
    lambda: a(r(1, 8, 2, 4), r(1, 8, 2, 4, seed=1), r(1, 8, 2, 3, seed=2), pos(2))
)
ex("fastforms.instances.gla_scan")(
    lambda: a(r(1, 8, 2, 4), r(1, 8, 2, 4, seed=1), r(1, 8, 2, 3, seed=2), -pos(1, 8, 2, 4), chunk_size=4)
)
ex("fastforms.instances.default_retnet_gammas")(lambda: a(4))
ex("fastforms.plots.chunk_weights")(lambda: a(r(8, 4), r(8, 4, seed=1), -pos(8)))
ex("fastforms.plots.plot_chunk_structure")(lambda: a(r(8, 4), r(8, 4, seed=1), -pos(8), 4))
ex("fastforms.plots.plot_log_space_exponents")(lambda: a(torch.full((8,), -6.0)))
ex("fastforms.plots.plot_relative_errors")(lambda: a({"a": 1e-7}, 5e-4))
ex("fastforms.timing.time_call")(lambda: a(lambda: None, repeats=2, budget_s=0.01))
ex("fastforms.timing.scaling_exponent")(lambda: a([16, 32, 64], [1.0, 2.0, 4.0]))
ex("fastforms.timing.fla_references")(lambda: a())
ex("fastforms.timing.forms")(lambda: a("linear_attention", with_fla=False))
ex("fastforms.timing.scaling_table")(
    lambda: a("linear_attention", [16, 32], B=1, H=1, D=4, rounds=1, with_fla=False, threads=1)
)
ex("fastforms.timing.ratios")(lambda: a({"chunked": {1: 1.0, 2: 2.0}, "recurrent": {1: 3.0, 2: 6.0}}))
ex("fastforms.timing.exponents")(lambda: a({"chunked": {16: 1.0, 32: 2.0}}))
