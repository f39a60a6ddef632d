"""attnmath.dsf.architectures_rnn: qLSTM and RG-LRU structures (resets), and bad inputs."""

from __future__ import annotations

import pytest
import torch

from attnmath.dsf import (
    qlstm_dsf,
    rglru_dsf,
)
from tests._helpers import gen
from tests._helpers import randn as _r

F64 = torch.float64
EPS = torch.finfo(F64).eps
RTOL = 1e-12  # float64 identities at L <= 32: roundoff ~ L eps


def test_qlstm_and_rglru_structures():
    g = gen(8)
    x = _r(g, 7, 3)
    assert qlstm_dsf(x, _r(g, 9, 3), _r(g, 9)).structure == "diagonal"
    reset = torch.zeros(7, dtype=torch.bool)
    reset[3] = True
    rg = rglru_dsf(x, _r(g, 3, 3), _r(g, 3), _r(g, 3, 3), _r(g, 3), _r(g, 3), reset)
    assert bool((rg.lam[3] == 0).all()) and bool((rg.lam[:3] > 0).all())


def test_rnn_constructor_bad_inputs_name_the_argument():
    g = gen(9)
    u = _r(g, 4, 2)
    with pytest.raises(TypeError, match="reset must be a bool tensor"):
        rglru_dsf(u, _r(g, 2, 2), _r(g, 2), _r(g, 2, 2), _r(g, 2), _r(g, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="W_g must have shape"):
        qlstm_dsf(u, _r(g, 5, 2), _r(g, 6))
