"""Cross-check of DSF instances against flash-linear-attention's naive PyTorch references (CPU).

fla conventions minded here: ``naive_recurrent_linear_attn``, ``naive_recurrent_gla`` and
``naive_recurrent_simple_gla`` take ``[B, T, H, K]``; ``naive_retention`` takes ``[B, H, T, K]``;
the default scale is ``K ** -0.5``; fla computes in float32.  The DSF side runs in float64 with
heads as a leading batch axis ``[B, H, T, K]``.

Tolerance: fla's naive references accumulate T outer products in float32, so their relative
error is about T * eps32 * (a small growth factor); we allow 64 * T * eps32 relative to the
largest output (T = 32: 2.4e-4), far tighter than the 5e-3 relative RMSE fla's own kernel tests allow and far
looser than the float64 DSF's own roundoff.
"""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F

pytest.importorskip("fla", reason="flash-linear-attention (the `compare` extra, fla-core) is not installed")

from attnmath.dsf import gla_dsf, qlstm_dsf, retnet_dsf, separable_attention_dsf

pytestmark = pytest.mark.slow  # importing fla.ops takes 10-20 s on a CPU machine

B, H, T, K, V = 2, 3, 32, 4, 5
TOL = 64 * T * torch.finfo(torch.float32).eps


@pytest.fixture(scope="module")
def naive():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Triton is not supported on current platform, roll back to CPU."
        from fla.ops.gla.naive import naive_recurrent_gla
        from fla.ops.hgrn.naive import naive_recurrent_hgrn
        from fla.ops.linear_attn.naive import naive_recurrent_linear_attn
        from fla.ops.retention.naive import naive_retention
        from fla.ops.simple_gla.naive import naive_recurrent_simple_gla
    return {
        "linear": naive_recurrent_linear_attn,
        "gla": naive_recurrent_gla,
        "retention": naive_retention,
        "simple_gla": naive_recurrent_simple_gla,
        "hgrn": naive_recurrent_hgrn,
    }


def _inputs(seed):
    g = torch.Generator().manual_seed(seed)
    q, k = (
        torch.randn(B, H, T, K, generator=g, dtype=torch.float64),
        torch.randn(B, H, T, K, generator=g, dtype=torch.float64),
    )
    v = torch.randn(B, H, T, V, generator=g, dtype=torch.float64)
    return g, q, k, v


def _fla(x):  # [B, H, T, ...] -> fla's [B, T, H, ...] in float32
    return x.transpose(1, 2).float()


def _check_close(ours, theirs):
    err = (ours - theirs.double()).abs().max() / ours.abs().max()
    assert err <= TOL, f"relative error {err:.2e} > {TOL:.2e}"


def test_linear_attention_normalized_vs_naive_recurrent_linear_attn(naive):
    _, q, k, v = _inputs(0)
    fq, fk = F.elu(q) + 1, F.elu(k) + 1
    eta = (fq * fk.cumsum(-2)).sum(-1)
    for realization in ("output", "recurrent"):
        dsf = separable_attention_dsf(fq, fk, torch.eye(V, dtype=torch.float64), eta, realization=realization)
        o, _ = naive["linear"](_fla(fq), _fla(fk), _fla(v), scale=1.0, normalize=True)
        _check_close(dsf.recurrent(v), o.transpose(1, 2))


def test_unnormalized_linear_attention_uses_the_default_scale(naive):
    _, q, k, v = _inputs(1)
    dsf = gla_dsf(q, k, v, torch.zeros(B, H, T, dtype=torch.float64))  # Λ = I, default scale K^-1/2
    o, _ = naive["linear"](_fla(q), _fla(k), _fla(v))
    _check_close(dsf.recurrent(v), o.transpose(1, 2))


def test_retention_vs_naive_retention_head_major_layout(naive):
    _, q, k, v = _inputs(2)
    gamma = 1 - 2.0 ** (-5.0 - torch.arange(H, dtype=torch.float64))
    o = naive["retention"](q.float(), k.float(), v.float())  # [B, H, T, K]: no transpose
    _check_close(retnet_dsf(q, k, v, gamma).recurrent(v), o)


def test_simple_gla_scalar_gate_vs_naive_recurrent_simple_gla(naive):
    g, q, k, v = _inputs(3)
    lg = F.logsigmoid(torch.randn(B, H, T, generator=g, dtype=torch.float64) + 2)
    o, _ = naive["simple_gla"](_fla(q), _fla(k), _fla(v), _fla(lg))
    _check_close(gla_dsf(q, k, v, lg).recurrent(v), o.transpose(1, 2))


def test_gla_keywise_gate_vs_naive_recurrent_gla(naive):
    g, q, k, v = _inputs(4)
    lg = F.logsigmoid(torch.randn(B, H, T, K, generator=g, dtype=torch.float64) + 2)
    o, _ = naive["gla"](_fla(q), _fla(k), _fla(v), _fla(lg))
    dsf = gla_dsf(q, k, v, lg)
    _check_close(dsf.recurrent(v), o.transpose(1, 2))
    _check_close(dsf.chunked(v, 8), o.transpose(1, 2))


def test_qlstm_scan_vs_naive_recurrent_hgrn(naive):
    g = torch.Generator().manual_seed(5)
    d = 6
    x = torch.randn(B, T, d, generator=g, dtype=torch.float64)
    W, b = (
        torch.randn(3 * d, d, generator=g, dtype=torch.float64) / d**0.5,
        torch.randn(3 * d, generator=g, dtype=torch.float64),
    )
    f, i, o = (x @ W.T + b).chunk(3, dim=-1)
    h, _ = naive["hgrn"]((torch.sigmoid(i) * x).float(), F.logsigmoid(f).float())  # h = e^g h + x
    _check_close(qlstm_dsf(x, W, b).recurrent(x), torch.sigmoid(o) * h.double())
