"""attnmath.dsf.architectures_extensions: DeltaNet (dplr) and Titans (block dplr, stored dense), and bad inputs."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from attnmath.dsf import (
    deltanet_dsf,
    titans_dsf,
)
from attnmath.dsf import native_rnn as NR
from tests._helpers import gen
from tests._helpers import randn as _r
from tests._helpers import rel_err as _rel

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def test_deltanet_and_titans_structures():
    g = gen(8)
    q, k, v = _r(g, 5, 3), F.normalize(_r(g, 5, 3), dim=-1), _r(g, 5, 2)
    beta = torch.rand(5, generator=g, dtype=F64)
    dn = deltanet_dsf(q, k, v, beta)
    assert dn.structure == "dplr" and dn.low_rank[0].shape == (5, 6, 2)
    assert _rel(dn.recurrent(v), NR.delta_rule_recurrent(q, k, v, beta)) <= RTOL
    th = 0.1 * torch.rand(5, generator=g, dtype=F64)
    ti = titans_dsf(q, k, v, th, th, th)
    assert ti.structure == "dense" and ti.N == 12


def test_extension_constructor_bad_inputs_name_the_argument():
    g = gen(9)
    u = _r(g, 4, 2)
    with pytest.raises(ValueError, match="beta must have shape"):
        deltanet_dsf(u, u, u, torch.ones(3, dtype=F64))
