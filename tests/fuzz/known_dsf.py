"""Justified fuzz exceptions of one room (see tests/fuzz/classification.py): a corruption that is valid there.

Each entry is ``(callable glob, argument glob, corruption, reason)``.
"""

from __future__ import annotations

_ELEMENTWISE = "an elementwise map: any shape [..., m] is valid"
_BATCH_L = "a leading batch dimension or another length L is valid: nothing else fixes them"

KNOWN_VALID: list[tuple[str, str, str, str]] = [
    # the DSF object
    ("dsf.DSF", "B", "size", "B [..., L, N, d] fixes the input width d; no other argument has it (D is None)"),
    ("dsf.DSF.transfer", "[ij]", "zero", "0 is the first step: a valid 0-based block index"),
    # elementwise maps and feature maps: any batch shape, any feature width
    ("dsf.elu_plus_one", "x", "rank_down", _ELEMENTWISE),
    ("dsf.elu_plus_one", "x", "rank_up", _ELEMENTWISE),
    ("dsf.elu_plus_one", "x", "rows", _ELEMENTWISE),
    ("dsf.elu_plus_one", "x", "size", _ELEMENTWISE),
    ("dsf.phi1", "z", "rank_down", "phi1 is elementwise on a tensor of any shape (0-d included)"),
    ("dsf.phi1", "z", "rank_up", "phi1 is elementwise on a tensor of any shape"),
    ("dsf.phi1", "z", "size", "phi1 is elementwise on a tensor of any shape"),
    ("dsf.phi1", "z", "empty", "phi1 is elementwise: an empty tensor maps to an empty tensor (documented)"),
    ("dsf.taylor_features", "x", "rank_*", "features of x [..., m]: one vector or any batch of them"),
    ("dsf.taylor_features", "x", "rows", "features of x [..., m]: the batch size is free"),
    ("dsf.taylor_features", "x", "size", "features of x [..., m]: any width m >= 1"),
    ("dsf.monomial_features", "x", "rank_*", "features of x [..., m]: one vector or any batch of them"),
    ("dsf.monomial_features", "x", "rows", "features of x [..., m]: the batch size is free"),
    ("dsf.monomial_features", "x", "size", "features of x [..., m]: any width m >= 1"),
    ("dsf.*feature*", "order", "zero", "order P = 0 is the constant feature 1 (T_0 = 1): a valid truncation"),
    ("dsf.softmax_taylor_dsf", "order", "zero", "order 0 gives T_0 = 1, eta_i = i > 0: uniform causal averaging"),
    ("dsf.kron_eye_*", "v", "rank_up", "v [..., n]: a leading batch dimension is valid"),
    # sizes that nothing else fixes
    ("dsf.diag_transition_products", "lam", "rank_up", "lam [..., L, N]: a leading batch dimension is valid"),
    ("dsf.diag_transition_products", "lam", "rows", "lam [..., L, N]: any length L"),
    ("dsf.diag_transition_products", "lam", "size", "lam [..., L, N]: any state size N"),
    ("dsf.segsum", "x", "rank_up", "x [..., T]: a batch dimension is valid; -inf above the diagonal is the output"),
    ("dsf.segsum", "x", "size", "x [..., T]: any length T; -inf above the diagonal is the documented output"),
    ("dsf.recurrent_norm_eigenvalues", "log_eta", "rank_up", "log_eta [..., L]: a batch dimension is valid"),
    ("dsf.recurrent_norm_eigenvalues", "log_eta", "size", "log_eta [..., L]: any length L"),
    ("dsf.*_attention_dsf", "u", "rank_up", _BATCH_L),
    ("dsf.*_attention_dsf", "u", "rows", _BATCH_L),
    ("dsf.softmax_taylor_dsf", "u", "rank_up", _BATCH_L),
    ("dsf.softmax_taylor_dsf", "u", "rows", _BATCH_L),
    ("dsf.qlstm_dsf", "x", "rank_up", _BATCH_L),
    ("dsf.qlstm_dsf", "x", "rows", _BATCH_L),
    ("dsf.rglru_dsf", "x", "rank_up", _BATCH_L),
    ("dsf.rglru_dsf", "x", "rows", _BATCH_L),
    ("dsf.*_dsf", "W_V", "rows", "W_V [d_v, d]: the value width d_v is free"),
    ("dsf.separable_attention_dsf", "W_V", "size", "W_V [d_v, d]: no other argument has the input width d"),
    ("dsf.mamba2_ssd_dsf", "x", "size", "x [..., L, H, P]: the head width P is free (only x has it)"),
    ("dsf.titans_block_factors", "k", "size", "k [..., L, K]: the key width K is free (only k has it)"),
    # values that are valid
    ("dsf.normalized_attention_dsf", "b_eta", "zero", "b_eta is the bias of log eta: any real number"),
    ("dsf.normalized_attention_dsf", "b_eta", "negative", "b_eta is the bias of log eta: any real number"),
    ("dsf.qlstm_dsf", "alpha", "zero", "A = -ReLU(alpha) (the official code): alpha <= 0 is a unit forget gate"),
    ("dsf.qlstm_dsf", "alpha", "negative", "A = -ReLU(alpha) (the official code): alpha <= 0 is a unit forget gate"),
    ("dsf.ssd_paper_dsf", "A_log", "list", "a 0-d tensor's tolist() is a float, and A_log may be a float"),
    ("dsf.retnet_dsf", "gamma", "rank_down", "gamma broadcasts over the heads: a 0-d gamma is one shared decay"),
    ("dsf.retnet_dsf", "gamma", "size", "gamma broadcasts over the heads: a [1] gamma is one shared decay"),
]
