"""DSF instances as diagonal scans (``attnmath/fastforms/instances.py``): each mapping against the model's own
recurrence, on both backends, and the chapter's reference models against the DSF chapter's natives."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from attnmath.kernels.diag_scan import diag_scan_recurrent

from attnmath.dsf import native_ssm as native
from attnmath.fastforms.instances import (
    default_retnet_gammas,
    gla_scan,
    retnet_reference,
    retnet_scan,
    s6_reference,
    s6_scan,
    ssd_reference,
    ssd_scan,
)

from ..kernels._helpers import assert_close

F32, F64 = torch.float32, torch.float64


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_s6_as_a_diagonal_scan(backend):
    g = torch.Generator().manual_seed(51)
    Bs, T, d, n = 2, 45, 5, 16
    u, z = torch.randn(Bs, T, d, generator=g, dtype=F64), torch.randn(Bs, T, d, generator=g, dtype=F64)
    delta = F.softplus(z - 1)
    A = -torch.arange(1, n + 1, dtype=F64).repeat(d, 1)  # S4D-real initialisation a_r = -r
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D, h0 = torch.randn(d, generator=g, dtype=F64), torch.randn(Bs, d, n, generator=g, dtype=F64)
    dt = F64 if backend == "torch" else F32
    y, h = s6_scan(
        *(t.to(dt) for t in (u, delta, A, Bm, Cm, D)), initial_state=h0.to(dt), backend=backend, chunk_size=16
    )
    y_r, h_r = s6_reference(u, delta, A, Bm, Cm, D, initial_state=h0)
    if backend == "torch":
        torch.testing.assert_close(y, y_r, rtol=0, atol=1e-12)  # float64 reordering of <= 45 terms
        torch.testing.assert_close(h, h_r, rtol=0, atol=1e-12)
    else:
        assert_close("y (S6)", y_r, y, F32)
        assert_close("h_T (S6)", h_r, h, F32)


@pytest.mark.parametrize("backend", ["torch", "triton"])
def test_ssd_retnet_and_gla_as_diagonal_scans(backend):
    g = torch.Generator().manual_seed(52)
    Bs, T, H, P, n = 2, 45, 3, 8, 16
    dt = F64 if backend == "torch" else F32
    x = torch.randn(Bs, T, H, P, generator=g, dtype=F64)
    dts = F.softplus(torch.randn(Bs, T, H, generator=g, dtype=F64))
    A = -torch.rand(H, generator=g, dtype=F64) - 0.1
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D = torch.randn(H, generator=g, dtype=F64)
    y, h = ssd_scan(*(t.to(dt) for t in (x, dts, A, Bm, Cm, D)), backend=backend, chunk_size=16)
    y_r, h_r = ssd_reference(x, dts, A, Bm, Cm, D)
    q, k, v = (torch.randn(Bs, T, H, 16, generator=g, dtype=F64) for _ in range(3))
    gam = default_retnet_gammas(H)
    o_ret, _ = retnet_scan(q.to(dt), k.to(dt), v.to(dt), gam.to(dt), backend=backend, chunk_size=16)
    o_ret_r = retnet_reference(q, k, v, gam)
    gk = F.logsigmoid(torch.randn(Bs, T, H, 16, generator=g, dtype=F64))
    o_gla, _ = gla_scan(q.to(dt), k.to(dt), v.to(dt), gk.to(dt), backend=backend, chunk_size=16)
    o_gla_r, _ = diag_scan_recurrent(q, k, v, gk, dtype=F64)
    pairs = {"y (SSD)": (y_r, y), "h_T (SSD)": (h_r, h), "o (RetNet)": (o_ret_r, o_ret), "o (GLA)": (o_gla_r, o_gla)}
    for name, (ref, out) in pairs.items():
        if backend == "torch":
            torch.testing.assert_close(out, ref, rtol=0, atol=1e-12, msg=name)  # float64, <= 45 terms
        else:
            assert_close(name, ref, out, F32)


def test_the_reference_models_agree_with_the_dsf_chapters_natives():
    """This chapter writes S6, SSD and RetNet literally (chapters do not import each other); the DSF chapter
    has the same models from their papers: the two copies must not drift apart (float64, <= 45 terms)."""
    g = torch.Generator().manual_seed(54)
    Bs, T, d, n, H, P = 2, 45, 5, 16, 3, 8
    u, delta = torch.randn(Bs, T, d, generator=g, dtype=F64), F.softplus(torch.randn(Bs, T, d, generator=g, dtype=F64))
    A = -torch.arange(1, n + 1, dtype=F64).repeat(d, 1)
    Bm, Cm = torch.randn(Bs, T, n, generator=g, dtype=F64), torch.randn(Bs, T, n, generator=g, dtype=F64)
    D = torch.randn(d, generator=g, dtype=F64)
    torch.testing.assert_close(
        s6_reference(u, delta, A, Bm, Cm, D)[0], native.selective_scan_ref(u, delta, A, Bm, Cm, D), rtol=0, atol=1e-12
    )
    x, dts = torch.randn(Bs, T, H, P, generator=g, dtype=F64), F.softplus(torch.randn(Bs, T, H, generator=g, dtype=F64))
    Ah, Dh = -torch.rand(H, generator=g, dtype=F64) - 0.1, torch.randn(H, generator=g, dtype=F64)
    torch.testing.assert_close(
        ssd_reference(x, dts, Ah, Bm, Cm, Dh)[0], native.mamba2_recurrent(x, dts, Ah, Bm, Cm, Dh), rtol=0, atol=1e-12
    )
    q, k, v = (torch.randn(Bs, T, H, 16, generator=g, dtype=F64) for _ in range(3))
    gam = default_retnet_gammas(H)
    theirs = native.retention_parallel(*(t.transpose(1, 2) for t in (q, k, v)), gam).transpose(1, 2)
    torch.testing.assert_close(retnet_reference(q, k, v, gam), theirs, rtol=0, atol=1e-12)
    gk = F.logsigmoid(torch.randn(Bs, T, H, 16, generator=g, dtype=F64))
    theirs = native.gla_recurrent(*(t.transpose(1, 2) for t in (q, k, v, gk))).transpose(1, 2)
    torch.testing.assert_close(diag_scan_recurrent(q, k, v, gk, dtype=F64)[0], theirs, rtol=0, atol=1e-12)
