"""Scan and Snap (Tian, Wang, Chen, Du, NeurIPS 2023; bib key ``tian2023scan``): SGD dynamics of a 1-layer transformer.

Modules:

- ``data``          sequence classes (distinct/common tokens, query = psi(next token)), the
                    vectorised sampler, Lemma 2's c_n and the distinct-token entropy
- ``model``         the (Y, Z) reparameterised model, Lemma 1's closed-form gradients
- ``dynamics``      population flow (exact c_n, T -> oo) and sampled SGD, kept apart
- ``closed_forms``  h*(s), h(t) via Wright omega, gamma(t), Gamma, the corrected B_n(t), r and chi
- ``standard``      the standard-parameterisation model (U, W_Q, W_K, W_V): the WikiText substitute
- ``experiments``   cached runs of Figs. 4 and 6, the population flow and the substitute
- ``joma``          the toy dynamics of the follow-up JoMA (``tian2024joma``): sparse, then dense attention
- ``claims``        the chapter's claims ``scansnap.*``, one module per topic (see its docstring)

Book chapter: ``notebooks/40_scan_and_snap``.
"""

from .closed_forms import (
    B_snap,
    B_snap_branches,
    B_snap_printed,
    Gamma_closed,
    attention_ratio_decay,
    chi,
    dB_dlog_t,
    dlog_gamma_dlog_t,
    gamma_argmax,
    gamma_speed,
    h_closed,
    h_ode,
    h_star,
    omega1,
    relative_gain,
    snap_ode,
    t0_scan,
    t0_snap,
    zeta,
)
from .data import (
    Batch,
    SequenceClasses,
    distinct_attention,
    entropy_distinct,
    hoeffding_radius,
    population_attention,
    sample_batch,
    sequence_classes,
    syn_medium,
    syn_small,
)
from .dynamics import (
    Flow,
    SGDRun,
    population_flow,
    population_gradients,
    population_objective,
    reduced_distinct_flow,
    sgd_train,
)
from .model import Forward, init_yz, lemma1_gradients, official_orientation_loss, yz_forward, yz_loss
from .standard import StandardParams, attention_entropy_distinct, init_standard, standard_forward, standard_train

__all__ = [
    "B_snap",
    "B_snap_branches",
    "B_snap_printed",
    "Batch",
    "Flow",
    "Forward",
    "Gamma_closed",
    "SGDRun",
    "SequenceClasses",
    "StandardParams",
    "attention_entropy_distinct",
    "attention_ratio_decay",
    "chi",
    "dB_dlog_t",
    "distinct_attention",
    "dlog_gamma_dlog_t",
    "entropy_distinct",
    "gamma_argmax",
    "gamma_speed",
    "h_closed",
    "h_ode",
    "h_star",
    "hoeffding_radius",
    "init_standard",
    "init_yz",
    "lemma1_gradients",
    "official_orientation_loss",
    "omega1",
    "population_attention",
    "population_flow",
    "population_gradients",
    "population_objective",
    "reduced_distinct_flow",
    "relative_gain",
    "sample_batch",
    "sequence_classes",
    "sgd_train",
    "snap_ode",
    "standard_forward",
    "standard_train",
    "syn_medium",
    "syn_small",
    "t0_scan",
    "t0_snap",
    "yz_forward",
    "yz_loss",
    "zeta",
]
