"""Cross-checks of the Hebbian memory and the delta rule against flash-linear-attention's naive references.

fla (``pip install -e ".[compare]"``) uses layout ``[B, T, H, D]`` for linear attention and
``[B, H, T, D]`` for the delta rule, stores the state transposed (:math:`S = K^\\top V`, ``[d_k, d_v]``),
scales queries by ``d_k ** -0.5`` by default and computes in float32.
"""

from __future__ import annotations

import pytest
import torch

from attnmath.memory import delta_rule_recurrent, hebbian_recurrent

pytestmark = pytest.mark.slow  # importing fla (and transformers) takes several seconds
FP32_TOL = 1e-4  # float32 accumulation of T * d_k products of O(1) terms vs our float64 (T = 33, d_k = 16)


@pytest.fixture(scope="module")
def fla_naive():
    naive = pytest.importorskip(
        "fla.ops.linear_attn.naive", reason="flash-linear-attention is the optional [compare] extra"
    )
    delta = pytest.importorskip(
        "fla.ops.delta_rule.naive", reason="flash-linear-attention is the optional [compare] extra"
    )
    return naive, delta


def _qkv(B=2, H=3, T=33, dk=16, dv=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    q, k = (torch.randn(B, H, T, dk, generator=g, dtype=torch.float64) for _ in range(2))
    v = torch.randn(B, H, T, dv, generator=g, dtype=torch.float64)
    return q, k, v


def test_hebbian_equals_fla_naive_recurrent_linear_attn(fla_naive):
    naive, _ = fla_naive
    q, k, v = _qkv()
    o, M = hebbian_recurrent(q, k, v)  # ours: [B, H, T, d], M = V^T K  [B, H, d_v, d_k]
    to_fla = lambda x: x.transpose(1, 2).float().contiguous()  # noqa: E731  [B, H, T, D] -> [B, T, H, D]
    o_fla, S = naive.naive_recurrent_linear_attn(to_fla(q), to_fla(k), to_fla(v), scale=1.0, output_final_state=True)
    torch.testing.assert_close(o_fla.transpose(1, 2).double(), o, atol=FP32_TOL, rtol=FP32_TOL)
    torch.testing.assert_close(S.double(), M.transpose(-1, -2), atol=FP32_TOL, rtol=FP32_TOL)  # S = K^T V = M^T
    # fla's default scale d_k^-1/2 is a query rescaling, not part of the memory
    o_def, _ = naive.naive_recurrent_linear_attn(to_fla(q), to_fla(k), to_fla(v))
    o_scaled, _ = hebbian_recurrent(q * q.shape[-1] ** -0.5, k, v)
    torch.testing.assert_close(o_def.transpose(1, 2).double(), o_scaled, atol=FP32_TOL, rtol=FP32_TOL)


def test_delta_rule_equals_fla_delta_rule_recurrence(fla_naive):
    _, delta = fla_naive
    q, k, v = _qkv(seed=1)
    k = k / k.norm(dim=-1, keepdim=True)  # DeltaNet normalises keys; keeps every write a contraction
    beta = torch.rand(q.shape[:3], generator=torch.Generator().manual_seed(2), dtype=torch.float64)  # [B, H, T]
    o_fla, S = delta.delta_rule_recurrence(q.float(), k.float(), v.float(), beta.float())  # layout [B, H, T, D]
    o, M = delta_rule_recurrent(q * q.shape[-1] ** -0.5, k, v, beta)  # fla scales q by d_k^-1/2 internally
    torch.testing.assert_close(o_fla.double(), o, atol=FP32_TOL, rtol=FP32_TOL)
    torch.testing.assert_close(S.double(), M.transpose(-1, -2), atol=FP32_TOL, rtol=FP32_TOL)
