"""Regressions of the dsf fuzz fixes (issue 17): each bad call raises a ValueError/TypeError naming the argument.

Each row was, before the fix, a crash deep inside torch (AttributeError, IndexError, RuntimeError), a message
naming another argument (``k must have shape ...`` for a wrong ``q``), or a silent result (a string flag, a
``d = 0`` Kronecker factor, an overflowing exponential).  The last tests check that valid inputs still work:
``requires_grad`` tensors (same values, gradients flow), ``-inf`` in :func:`segsum`, a broadcast RetNet ``gamma``.
"""

from __future__ import annotations

import math

import pytest
import torch

from attnmath import dsf as D

F64 = torch.float64
NAN, INF = math.nan, math.inf


def r(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def pos(*shape: int, seed: int = 1) -> torch.Tensor:
    return 0.5 + 0.4 * torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def meta(x: torch.Tensor) -> torch.Tensor:
    return x.to("meta")


def poke(x: torch.Tensor, value: float) -> torch.Tensor:
    y = x.clone()
    y.reshape(-1)[0] = value
    return y


def dsf6() -> D.DSF:
    return D.DSF(pos(6, 4), r(6, 4, 2), r(6, 3, 4), structure="diagonal")


def q5() -> torch.Tensor:
    return r(5, 3)


BAD = [
    # DSF flags
    ("recurrent return_state", lambda: dsf6().recurrent(r(6, 2), return_state="yes"), TypeError, "return_state"),
    ("chunked return_state", lambda: dsf6().chunked(r(6, 2), 4, return_state=None), TypeError, "return_state"),
    ("quadratic_bytes with_blocks", lambda: dsf6().quadratic_bytes(with_blocks="x"), TypeError, "with_blocks"),
    # scan
    ("transition products meta", lambda: D.diag_transition_products(meta(pos(5, 3))), ValueError, "lam"),
    ("segsum None", lambda: D.segsum(None), TypeError, "x"),
    ("segsum int", lambda: D.segsum(torch.arange(5)), TypeError, "x"),
    ("segsum numpy", lambda: D.segsum(r(5).numpy()), TypeError, "x"),
    ("segsum NaN", lambda: D.segsum(poke(r(5), NAN)), ValueError, "x"),
    ("segsum +inf", lambda: D.segsum(poke(r(5), INF)), ValueError, "x"),
    ("segsum huge", lambda: D.segsum(poke(r(5), 1e308)), ValueError, "x"),
    ("segsum 0-d", lambda: D.segsum(r(5)[0]), ValueError, "x"),
    ("segsum empty", lambda: D.segsum(r(5)[:0]), ValueError, "x"),
    # features
    ("kron col d=0", lambda: D.kron_eye_col(r(3), 0), ValueError, "d"),
    ("kron col d=True", lambda: D.kron_eye_col(r(3), True), TypeError, "d"),
    ("kron col d=2.5", lambda: D.kron_eye_col(r(3), 2.5), TypeError, "d"),
    ("kron col v None", lambda: D.kron_eye_col(None, 2), TypeError, "v"),
    ("kron col v 0-d", lambda: D.kron_eye_col(r(3)[0], 2), ValueError, "v"),
    ("kron col v NaN", lambda: D.kron_eye_col(poke(r(3), NAN), 2), ValueError, "v"),
    ("kron row d=-1", lambda: D.kron_eye_row(r(3), -1), ValueError, "d"),
    ("kron row v int", lambda: D.kron_eye_row(torch.arange(3), 2), TypeError, "v"),
    ("kron row v empty", lambda: D.kron_eye_row(r(3)[:0], 2), ValueError, "v"),
    ("taylor x 0-d", lambda: D.taylor_features(r(3)[0], 2), ValueError, "x"),
    ("monomial x 0-d", lambda: D.monomial_features(r(3)[0], 2), ValueError, "x"),
    # attention family: a mismatch names the argument that is wrong, whichever of the pair it is
    ("separable phi_q rows", lambda: D.separable_attention_dsf(pos(4, 3), pos(5, 3), r(2, 2), torch.ones(5, dtype=F64)), ValueError, "phi_q"),
    ("separable phi_q 1-d", lambda: D.separable_attention_dsf(pos(3), pos(5, 3), r(2, 2), torch.ones(5, dtype=F64)), ValueError, "phi_q"),
    ("separable eta meta", lambda: D.separable_attention_dsf(pos(5, 3), pos(5, 3), r(2, 2), meta(torch.ones(5, dtype=F64))), ValueError, "eta"),
    ("separable phi_q meta", lambda: D.separable_attention_dsf(meta(pos(5, 3)), pos(5, 3), r(2, 2), torch.ones(5, dtype=F64)), ValueError, "phi_q"),
    ("linear W_K rows", lambda: D.linear_attention_dsf(r(5, 3), r(4, 3), r(3, 3), r(2, 3)), ValueError, "W_K"),
    ("linear W_Q rows", lambda: D.linear_attention_dsf(r(5, 3), r(3, 3), r(4, 3), r(2, 3)), ValueError, "W_Q"),
    ("linear u size", lambda: D.linear_attention_dsf(r(5, 2), r(4, 3), r(4, 3), r(2, 3)), ValueError, "u"),
    ("softmax_taylor W_Q rows", lambda: D.softmax_taylor_dsf(r(5, 3), r(1, 3), r(2, 3), r(2, 3), 2), ValueError, "W_Q"),
    ("softmax_taylor u size", lambda: D.softmax_taylor_dsf(r(5, 2), r(2, 3), r(2, 3), r(2, 3), 2), ValueError, "u"),
    ("normalized W_Q rows", lambda: D.normalized_attention_dsf(r(5, 3), r(3, 3), r(4), r(4, 3), r(4), r(2, 3), r(3), 0.5), ValueError, "W_Q"),
    ("normalized u size", lambda: D.normalized_attention_dsf(r(5, 2), r(4, 3), r(4), r(4, 3), r(4), r(2, 3), r(3), 0.5), ValueError, "u"),
    ("normalized eta overflow", lambda: D.normalized_attention_dsf(r(5, 3), r(4, 3), r(4), r(4, 3), r(4), r(2, 3), r(3), 1000.0), ValueError, "b_eta"),
    ("norm eigenvalues 0-d", lambda: D.recurrent_norm_eigenvalues(r(5)[0]), ValueError, "log_eta"),
    ("norm eigenvalues overflow", lambda: D.recurrent_norm_eigenvalues(torch.tensor([1000.0, -1000.0], dtype=F64)), ValueError, "log_eta"),
    ("flowformer q_raw size", lambda: D.flowformer_causal_dsf(r(5, 2), r(5, 3), r(5, 2)), ValueError, "q_raw"),
    # SSMs
    ("s6 u 1-d", lambda: D.s6_dsf(r(5), pos(5, 2), -pos(2, 3), r(5, 3), r(5, 3)), ValueError, "u"),
    ("s6 u rows", lambda: D.s6_dsf(r(4, 2), pos(5, 2), -pos(2, 3), r(5, 3), r(5, 3)), ValueError, "u"),
    ("s6 A size", lambda: D.s6_dsf(r(5, 2), pos(5, 2), -pos(2, 2), r(5, 3), r(5, 3)), ValueError, "A"),
    ("s6 A meta", lambda: D.s6_dsf(r(5, 2), pos(5, 2), meta(-pos(2, 3)), r(5, 3), r(5, 3)), ValueError, "A"),
    ("s6 delta_softplus", lambda: D.s6_dsf(r(5, 2), pos(5, 2), -pos(2, 3), r(5, 3), r(5, 3), delta_softplus="x"), TypeError, "delta_softplus"),
    ("ssd_paper B size", lambda: D.ssd_paper_dsf(r(5, 2), r(2), r(2), 0.1, r(5, 2), r(5, 3)), ValueError, "B"),
    ("ssd_paper u rows", lambda: D.ssd_paper_dsf(r(4, 2), r(2), r(2), 0.1, r(5, 3), r(5, 3)), ValueError, "u"),
    ("ssd_paper A_log overflow", lambda: D.ssd_paper_dsf(r(5, 2), r(2), r(2), 1000.0, r(5, 3), r(5, 3)), ValueError, "A_log"),
    ("mamba2 x rows", lambda: D.mamba2_ssd_dsf(r(4, 2, 3), pos(5, 2), -pos(2), r(5, 4), r(5, 4)), ValueError, "x"),
    ("mamba2 B rows", lambda: D.mamba2_ssd_dsf(r(5, 2, 3), pos(5, 2), -pos(2), r(4, 4), r(5, 4)), ValueError, "B"),
    ("mamba2 dt meta", lambda: D.mamba2_ssd_dsf(r(5, 2, 3), meta(pos(5, 2)), -pos(2), r(5, 4), r(5, 4)), ValueError, "dt"),
    ("mamba2 dt_softplus", lambda: D.mamba2_ssd_dsf(r(5, 2, 3), pos(5, 2), -pos(2), r(5, 4), r(5, 4), dt_softplus=None), TypeError, "dt_softplus"),
    ("gla q rows", lambda: D.gla_dsf(r(4, 3), r(5, 3), r(5, 2), -pos(5, 3)), ValueError, "q"),
    ("gla q meta", lambda: D.gla_dsf(meta(r(5, 3)), r(5, 3), r(5, 2), -pos(5, 3)), ValueError, "q"),
    ("gla log_gate overflow", lambda: D.gla_dsf(r(5, 3), r(5, 3), r(5, 2), torch.full((5, 3), 1000.0, dtype=F64)), ValueError, "log_gate"),
    ("retnet gamma list", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), [0.9, 0.8]), TypeError, "gamma"),
    ("retnet gamma None", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), None), TypeError, "gamma"),
    ("retnet gamma int", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), torch.tensor([1, 1])), TypeError, "gamma"),
    ("retnet gamma NaN", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), torch.tensor([NAN, 0.8], dtype=F64)), ValueError, "gamma"),
    ("retnet gamma rank up", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), torch.tensor([[0.9, 0.8]], dtype=F64)), ValueError, "gamma"),
    ("retnet gamma meta", lambda: D.retnet_dsf(r(2, 5, 3), r(2, 5, 3), r(2, 5, 2), meta(torch.tensor([0.9, 0.8], dtype=F64))), ValueError, "gamma"),
    ("retnet q rows", lambda: D.retnet_dsf(r(1, 5, 3), r(2, 5, 3), r(2, 5, 2), torch.tensor([0.9, 0.8], dtype=F64)), ValueError, "q"),
    ("retnet q 1-d", lambda: D.retnet_dsf(r(3), r(2, 5, 3), r(2, 5, 2), torch.tensor([0.9, 0.8], dtype=F64)), ValueError, "q"),
    # RNNs
    ("qlstm reversed", lambda: D.qlstm_dsf(r(5, 3), r(9, 3), r(9), reversed="yes"), TypeError, "reversed"),
    ("qlstm alpha None", lambda: D.qlstm_dsf(r(5, 3), r(9, 3), r(9), alpha=None), TypeError, "alpha"),
    ("qlstm alpha NaN", lambda: D.qlstm_dsf(r(5, 3), r(9, 3), r(9), alpha=NAN), ValueError, "alpha"),
    ("qlstm alpha complex", lambda: D.qlstm_dsf(r(5, 3), r(9, 3), r(9), alpha=1 + 1j), TypeError, "alpha"),
    ("qlstm x 1-d", lambda: D.qlstm_dsf(r(3), r(9, 3), r(9)), ValueError, "x"),
    ("qlstm x size", lambda: D.qlstm_dsf(r(5, 2), r(9, 3), r(9)), ValueError, "x"),
    ("qlstm b_g meta", lambda: D.qlstm_dsf(r(5, 3), r(9, 3), meta(r(9))), ValueError, "b_g"),
    ("rglru x size", lambda: D.rglru_dsf(r(5, 2), r(3, 3), r(3), r(3, 3), r(3), r(3)), ValueError, "x"),
    ("rglru reset list", lambda: D.rglru_dsf(r(5, 3), r(3, 3), r(3), r(3, 3), r(3), r(3), [False] * 5), TypeError, "reset"),
    ("mlstm q rows", lambda: D.mlstm_dsf(r(4, 3), r(5, 3), r(5, 2), r(5), r(5), r(5, 2)), ValueError, "q"),
    ("mlstm v size", lambda: D.mlstm_dsf(q5(), r(5, 3), r(5, 1), r(5), r(5), r(5, 2)), ValueError, "v"),
    ("mlstm i_pre overflow", lambda: D.mlstm_dsf(q5(), r(5, 3), r(5, 2), torch.full((5,), 1000.0, dtype=F64), r(5), r(5, 2)), ValueError, "i_pre"),
    # extensions and lemmas
    ("deltanet q rows", lambda: D.deltanet_dsf(r(4, 3), r(5, 3), r(5, 2), pos(5)), ValueError, "q"),
    ("deltanet q meta", lambda: D.deltanet_dsf(meta(r(5, 3)), r(5, 3), r(5, 2), pos(5)), ValueError, "q"),
    ("deltanet beta meta", lambda: D.deltanet_dsf(r(5, 3), r(5, 3), r(5, 2), meta(pos(5))), ValueError, "beta"),
    ("deltanet log_alpha overflow", lambda: D.deltanet_dsf(q5(), r(5, 3), r(5, 2), pos(5), torch.full((5,), 1e3, dtype=F64)), ValueError, "log_alpha"),
    ("titans q rows", lambda: D.titans_dsf(r(4, 3), r(5, 3), r(5, 2), pos(5), pos(5), pos(5)), ValueError, "q"),
    ("titans q meta", lambda: D.titans_dsf(meta(r(5, 3)), r(5, 3), r(5, 2), pos(5), pos(5), pos(5)), ValueError, "q"),
    ("titans factors k rows", lambda: D.titans_block_factors(r(4, 3), pos(5), pos(5), pos(5)), ValueError, "k"),
    ("embed extra_lam meta", lambda: D.embed_dsf(dsf6(), meta(pos(6, 2)), r(6, 2, 2)), ValueError, "extra_lam"),
    ("embed extra_B meta", lambda: D.embed_dsf(dsf6(), pos(6, 2), meta(r(6, 2, 2))), ValueError, "extra_B"),
]  # fmt: skip


@pytest.mark.parametrize("call,exc,arg", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_call_names_the_argument(call, exc, arg):
    with pytest.raises(exc, match=rf"(?<![A-Za-z0-9_]){arg}(?![A-Za-z0-9_])"):
        call()


def test_a_mismatched_pair_names_both_arguments():
    with pytest.raises(ValueError, match=r"^k must have shape \[4, 3\] to match q \(shape \[4, 3\]\), got \[5, 3\]$"):
        D.gla_dsf(r(4, 3), r(5, 3), r(5, 2), -pos(5, 3))


def _grad(x: torch.Tensor) -> torch.Tensor:
    return x.detach().clone().requires_grad_(True)


def test_requires_grad_inputs_give_the_same_values_and_gradients_flow():
    q, k, v, g = r(5, 3), r(5, 3, seed=1), r(5, 2, seed=2), -pos(5, 3)
    ref = D.gla_dsf(q, k, v, g)
    gq, gg = _grad(q), _grad(g)
    out = D.gla_dsf(gq, k, v, gg)
    assert torch.equal(out.lam.detach(), ref.lam) and torch.equal(out.C.detach(), ref.C)
    out.recurrent(v).sum().backward()
    assert gq.grad is not None and gg.grad is not None and bool(torch.isfinite(gg.grad).all())

    x = r(5)
    x[2] = -INF  # a log of 0 stays valid
    gx = _grad(x)
    S = D.segsum(gx)
    assert torch.equal(S.detach(), D.segsum(x)) and not bool(torch.isnan(S.detach()).any())

    gamma = torch.tensor([0.9, 0.8], dtype=F64)
    qr = r(2, 5, 3)
    ret = D.retnet_dsf(_grad(qr), r(2, 5, 3, seed=1), r(2, 5, 2, seed=2), _grad(gamma))
    assert torch.equal(ret.lam.detach(), D.retnet_dsf(qr, r(2, 5, 3, seed=1), r(2, 5, 2, seed=2), gamma).lam)

    le = _grad(r(6))
    D.recurrent_norm_eigenvalues(le).sum().backward()
    assert le.grad is not None


def test_valid_edge_inputs_still_work():
    q, k, v = r(2, 5, 3), r(2, 5, 3, seed=1), r(2, 5, 2, seed=2)
    shared = D.retnet_dsf(q, k, v, torch.tensor(0.9, dtype=F64))  # a 0-d gamma broadcasts over the heads
    assert torch.equal(shared.lam, D.retnet_dsf(q, k, v, 0.9).lam)
    assert D.kron_eye_col(r(2, 3), 1).shape == (2, 3, 1)  # a batch of vectors, d = 1
    assert D.taylor_features(r(3), 0).shape == (1,)  # order 0: the constant feature
    assert D.DSF(pos(6, 4), r(6, 4, 2), r(6, 3, 4)).transfer(0, 0).shape == (3, 2)
