r"""Synthesis: the four views of attention as one picture, with the cross-view claims executed.

The connections are this book's reconstruction (see the book's Sources appendix), built on the chapters' own
functions; no paper states them. This package holds only the glue the chapters do not have, and it is the one
package that may combine several chapters (the chapters never import each other).

Modules:

- ``memory_states``  DSF states read as associative memories; recall relMSE of linear, decayed and
                     delta-rule states; softmax (Hopfield) recall and capacity
- ``steps``          S4D-real transitions (ZOH, Euler) as DSFs; the held-input ODE reference; the toy
                     selective SSM trained against per-token stiffness
- ``scansnap_dsf``   one-hot scan-and-snap attention as a finite separable-attention DSF; its normaliser;
                     the linear-attention (elu+1) variant and its trainer
- ``experiments``    memoised runs shared by the claims and the notebook
- ``viewmap``        the one-screen map of the views (:func:`draw_view_map`)
- ``claims``         the claims that need more than one chapter, by topic (:mod:`attnmath.synthesis.claims`):
                     the chapter's ``synthesis.*`` claims and chapter claims that moved here

Book chapter: ``notebooks/90_synthesis``.
"""

from .experiments import flow_run, flow_t0, softmax_capacities, variant_run
from .memory_states import (
    KINDS,
    decayed_relmse_theory,
    dsf_recall,
    effective_load,
    memory_dsf,
    softmax_capacity,
    softmax_relmse,
    state_as_memory,
    state_recall_relmse,
)
from .scansnap_dsf import (
    FEATURES,
    FeatureRun,
    efold_changes,
    feature,
    feature_entropy_distinct,
    feature_forward,
    feature_sgd_train,
    flow_attention,
    onehot_attention_dsf,
    onehot_normaliser,
    population_normaliser,
)
from .steps import (
    TRANSITIONS,
    ToyFit,
    fit_selective_toy,
    held_input_ode_states,
    implied_euler_gate,
    relaxation_task,
    s4d_real,
    s4d_transition_dsf,
    toy_forward,
)
from .viewmap import EDGES, VIEWS, Edge, View, claim_ids, draw_view_map

__all__ = [
    "EDGES",
    "FEATURES",
    "KINDS",
    "TRANSITIONS",
    "VIEWS",
    "Edge",
    "FeatureRun",
    "ToyFit",
    "View",
    "claim_ids",
    "decayed_relmse_theory",
    "draw_view_map",
    "dsf_recall",
    "effective_load",
    "efold_changes",
    "feature",
    "feature_entropy_distinct",
    "feature_forward",
    "feature_sgd_train",
    "fit_selective_toy",
    "flow_attention",
    "flow_run",
    "flow_t0",
    "held_input_ode_states",
    "implied_euler_gate",
    "memory_dsf",
    "onehot_attention_dsf",
    "onehot_normaliser",
    "population_normaliser",
    "relaxation_task",
    "s4d_real",
    "s4d_transition_dsf",
    "softmax_capacities",
    "softmax_capacity",
    "softmax_relmse",
    "state_as_memory",
    "state_recall_relmse",
    "toy_forward",
    "variant_run",
]
