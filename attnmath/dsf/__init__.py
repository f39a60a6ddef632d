"""The Dynamical Systems Framework (Sieber et al. 2024): one LTV object for attention, SSMs and RNNs.

Modules:

- ``core``                      the :class:`DSF` object (recurrent, matrix/parallel, chunked, Hankel, eigenvalues)
- ``scan``                      log-space transition products and the chunked diagonal scan (routing point)
- ``features``                  elu+1 and Taylor features, Kronecker helpers
- ``architectures_attention``   softmax (Taylor truncations), linear, normalized (eq. (22)), Flowformer
- ``architectures_ssm``         S6 (Euler/ZOH), the paper's SSD, Mamba-2 SSD, GLA, RetNet
- ``architectures_rnn``         qLSTM, qLSTM-rev, RG-LRU (eq. (21)), mLSTM
- ``architectures_extensions``  DeltaNet / Gated DeltaNet (dplr), Titans linear memory (block dplr)
- ``native_*``                  each architecture from its own paper/code, independent of the DSF code
- ``analysis``                  numerical rank, Taylor bounds, masked forms, ZOH/Euler states
- ``symbolic``                  sympy counterparts of the identities (small sizes)
- ``lemmas``                    the paper's Lemmas 1-2, S6 vs separable attention, the block form of Φ
- ``sampling``                  seeded random DSFs and float64 inputs
- ``catalogue``                 every constructor against its native code on one draw
- ``mqar``                      a synthetic MQAR generator and tiny trainers (claims ``dsf.mqar-*``)
- ``claims``                    the chapter's claims ``dsf.*``, by topic (a subpackage, with its ``sizes`` table)

Book chapters: ``notebooks/10_dsf_framework`` .. ``13_dsf_extensions``.
"""

from .architectures_attention import (
    REALIZATIONS,
    flowformer_causal_dsf,
    linear_attention_dsf,
    normalized_attention_dsf,
    recurrent_norm_eigenvalues,
    separable_attention_dsf,
    softmax_taylor_dsf,
)
from .architectures_extensions import deltanet_dsf, titans_block_factors, titans_dsf
from .architectures_rnn import mlstm_dsf, qlstm_dsf, rglru_dsf
from .architectures_ssm import gla_dsf, mamba2_ssd_dsf, phi1, retnet_dsf, s6_dsf, ssd_paper_dsf
from .core import DSF, STRUCTURES
from .features import elu_plus_one, kron_eye_col, kron_eye_row, taylor_feature_dim, taylor_features
from .lemmas import embed_dsf, explicit_phi_matrix, monomial_feature_dim, monomial_features
from .scan import chunked_diag_scan, diag_transition_products, segsum

__all__ = [
    "DSF",
    "REALIZATIONS",
    "STRUCTURES",
    "chunked_diag_scan",
    "deltanet_dsf",
    "diag_transition_products",
    "elu_plus_one",
    "embed_dsf",
    "explicit_phi_matrix",
    "flowformer_causal_dsf",
    "gla_dsf",
    "kron_eye_col",
    "kron_eye_row",
    "linear_attention_dsf",
    "mamba2_ssd_dsf",
    "mlstm_dsf",
    "monomial_feature_dim",
    "monomial_features",
    "normalized_attention_dsf",
    "phi1",
    "qlstm_dsf",
    "recurrent_norm_eigenvalues",
    "retnet_dsf",
    "rglru_dsf",
    "s6_dsf",
    "segsum",
    "separable_attention_dsf",
    "softmax_taylor_dsf",
    "ssd_paper_dsf",
    "taylor_feature_dim",
    "taylor_features",
    "titans_block_factors",
    "titans_dsf",
]
