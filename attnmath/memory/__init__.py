r"""Attention as Pavlovian conditioning: linear attention as a Hebbian associative memory.

Book chapter: ``notebooks/30_pavlovian_memory`` (claims ``memory.*``), after Qiao (2025,
arXiv 2508.08289) whose body was not available: what is implemented is the classical
associative-memory theory its abstract points to (see the book's Sources appendix).

Test stimulus = query :math:`q`, conditional stimulus (CS) = key :math:`k_i`, unconditional
stimulus (US) = value :math:`v_i`, associative strengths = :math:`M=\sum_iv_ik_i^\top`,
conditioned response = :math:`Mq`.

Modules:

- :mod:`~attnmath.memory.hebbian`  Hebbian memory (parallel and recurrent fast-weight forms), signal/crosstalk,
  OLAM / least squares, decayed memory
- :mod:`~attnmath.memory.rules`    delta rule (Rescorla–Wagner / DeltaNet), Rescorla–Wagner conditioning
- :mod:`~attnmath.memory.capacity` relMSE, bisection for N* (random keys or your own), coherence guarantee, Welch bound, bit error, decay SNR
- :mod:`~attnmath.memory.depth`    depth-composition models P and C with H redundant heads, majority vote
- :mod:`~attnmath.memory.hopfield` contrast: softmax attention as a modern Hopfield network

The claims live in :mod:`attnmath.memory.claims` (one module per topic, sizes in ``claims/sizes.py``).
"""

from .capacity import (
    KeyCapacity,
    bit_error_exact,
    bit_error_monte_carlo,
    bit_error_theory,
    capacity_bisection,
    capacity_interpolated,
    capacity_of_keys,
    capacity_theory,
    coherence,
    coherence_error_bound,
    coherence_tight_instance,
    crosstalk_moment,
    decay_snr_monte_carlo,
    decay_snr_theory,
    guarantee_capacity,
    largest_true,
    mean_square_overlap,
    random_keys,
    random_values,
    ratio_of_means,
    relmse_curve,
    relmse_monte_carlo,
    relmse_of_keys,
    relmse_theory,
    simplex_frame,
    welch_bound,
    worst_vs_average,
)
from .depth import (
    compounding_multihop,
    head_average_error,
    heads_for_reliability,
    hoeffding_majority_bound,
    majority_failure,
    model_c_capacity,
    model_c_theory,
    model_p_capacity,
    model_p_theory,
    residual_accumulation,
)
from .hebbian import (
    decayed_memory,
    decayed_recurrent,
    hebbian_memory,
    hebbian_parallel,
    hebbian_recurrent,
    least_squares_residual,
    olam_memory,
    relative_recall_error,
    retrieve,
    signal_crosstalk,
)
from .hopfield import hopfield_error_bound, hopfield_tight_instance, separation, softmax_recall
from .rules import (
    blocking_closed_form,
    blocking_design,
    delta_rule_cyclic,
    delta_rule_recurrent,
    delta_sweep_map,
    extinction_closed_form,
    hebbian_conditioning,
    rescorla_wagner,
)

__all__ = [
    "KeyCapacity",
    "bit_error_exact",
    "bit_error_monte_carlo",
    "bit_error_theory",
    "blocking_closed_form",
    "blocking_design",
    "capacity_bisection",
    "capacity_interpolated",
    "capacity_of_keys",
    "capacity_theory",
    "coherence",
    "coherence_error_bound",
    "coherence_tight_instance",
    "compounding_multihop",
    "crosstalk_moment",
    "decay_snr_monte_carlo",
    "decay_snr_theory",
    "decayed_memory",
    "decayed_recurrent",
    "delta_rule_cyclic",
    "delta_rule_recurrent",
    "delta_sweep_map",
    "extinction_closed_form",
    "guarantee_capacity",
    "head_average_error",
    "heads_for_reliability",
    "hebbian_conditioning",
    "hebbian_memory",
    "hebbian_parallel",
    "hebbian_recurrent",
    "hoeffding_majority_bound",
    "hopfield_error_bound",
    "hopfield_tight_instance",
    "largest_true",
    "least_squares_residual",
    "majority_failure",
    "mean_square_overlap",
    "model_c_capacity",
    "model_c_theory",
    "model_p_capacity",
    "model_p_theory",
    "olam_memory",
    "random_keys",
    "random_values",
    "ratio_of_means",
    "relative_recall_error",
    "relmse_curve",
    "relmse_monte_carlo",
    "relmse_of_keys",
    "relmse_theory",
    "rescorla_wagner",
    "residual_accumulation",
    "retrieve",
    "separation",
    "signal_crosstalk",
    "simplex_frame",
    "softmax_recall",
    "welch_bound",
    "worst_vs_average",
]
