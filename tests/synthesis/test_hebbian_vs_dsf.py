"""The memory chapter's Hebbian memory and the DSF chapter's linear attention are one system.

Unnormalised linear attention with identity feature maps (eta = 1, W_V = I) as a DSF must give the
fast-weight outputs M_t q_t, and its state h_t = vec(S_t) with S_t = sum_j k_j v_j^T (column-major)
must be the transpose of the memory chapter's M_t = sum_j v_j k_j^T.
"""

import pytest
import torch

from attnmath.dsf import DSF, separable_attention_dsf
from attnmath.memory import decayed_recurrent, hebbian_recurrent

EPS = torch.finfo(torch.float64).eps


def _qkv(T=19, dk=5, dv=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(T, n, generator=g, dtype=torch.float64) for n in (dk, dk, dv))


@pytest.mark.parametrize("realization", ["output", "recurrent"])
def test_hebbian_memory_equals_unnormalised_linear_attention_dsf(realization):
    q, k, v = _qkv()
    T, dk, dv = q.shape[0], q.shape[1], v.shape[1]
    dsf = separable_attention_dsf(
        q, k, torch.eye(dv, dtype=torch.float64), torch.ones(T, dtype=torch.float64), realization=realization
    )
    y, H = dsf.recurrent(v, return_state=True)
    out, M = hebbian_recurrent(q, k, v)
    tol = 8 * T * dk * EPS  # float64: T-step accumulation of dk-term products
    torch.testing.assert_close(y, out, atol=tol * float(out.abs().max()), rtol=0)
    # h_T = vec(S_T) column-major, S_T = M_T^T  ->  h_T reshaped [dv, dk] (rows = columns of S) is M_T
    torch.testing.assert_close(H[-1].reshape(dv, dk), M, atol=tol * float(M.abs().max()), rtol=0)


def test_decayed_memory_equals_a_scalar_decay_dsf():
    q, k, v = _qkv(seed=1)
    T, dv = q.shape[0], v.shape[1]
    gamma = 0.8
    base = separable_attention_dsf(
        q, k, torch.eye(dv, dtype=torch.float64), torch.ones(T, dtype=torch.float64), realization="output"
    )
    decayed = DSF(torch.full((T,), gamma, dtype=torch.float64), base.B, base.C, structure="scalar")
    out, _ = decayed_recurrent(q, k, v, gamma)
    torch.testing.assert_close(decayed.recurrent(v), out, atol=1e-12, rtol=0)  # float64, 19 steps
