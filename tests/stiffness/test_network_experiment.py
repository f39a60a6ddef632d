"""attnmath.stiffness.network_experiment: the digits split and the smallest training run."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnmath.stiffness import network_experiment as N
from tests._helpers import F64, msg


def test_digits_split_sizes():
    Xtr, ytr, Xte, _ = N.digits_split()
    assert Xtr.shape == (1200, 64) and Xte.shape == (597, 64)
    assert float(Xtr.max()) <= 1.0 and set(ytr.tolist()) == set(range(10))


def test_digits_split_is_the_seeded_permutation():
    from sklearn.datasets import load_digits

    d = load_digits()
    perm = np.random.default_rng(0).permutation(1797)
    Xtr, ytr, _, yte = N.digits_split()
    np.testing.assert_array_equal(Xtr.numpy(), d.data[perm[:1200]] / 16.0)
    np.testing.assert_array_equal(yte.numpy(), d.target[perm[1200:]])
    assert Xtr.dtype == F64 and ytr.dtype == torch.long


# train_digits_arm is memoised and decorated, so mutmut does not mutate it; this smoke run of the smallest
# configuration (1 epoch, 1 block, ~1.5 s) is kept out of the per-mutant runs, where it would be
# repeated for every mutant of ResidualMLP, the gates and the measures it touches.
@pytest.mark.slow
def test_train_digits_arm_smallest_configuration():
    se = N.train_digits_arm("se", 0, 1, 1)
    assert 0.5 < se.accuracy <= 1.0  # one epoch on digits already beats chance (0.1) by far
    for arr in (se.sai, se.rho_j, se.gate_mean):
        assert arr.shape == (1,)
    assert 0.0 < se.gate_min <= float(se.gate_mean[0]) <= se.gate_max < 1.0
    assert -1.0 <= se.awareness_score <= 1.0 and 0.0 <= se.margin_rate <= 1.0
    plain = N.train_digits_arm("plain", 0, 1, 1)
    assert math.isnan(plain.awareness_score) and plain.gate_min == plain.gate_max == 1.0
    assert plain.gate_mean.tolist() == [1.0]
    assert msg(ValueError, N.train_digits_arm, "cbam", 0, 1) == (
        "arm must be one of ('plain', 'se', 'secant', 'recurrent'), got 'cbam'"
    )
    assert msg(ValueError, N.train_digits_arm, "plain", 0, 0) == "epochs must be >= 1, got 0"


def test_nsi_profile_stats_and_log_ratios():
    import numpy as np
    import pytest

    from attnmath.stiffness.network_experiment import nsi_direction_pvalue, nsi_log_ratios, nsi_profile_stats

    idx = np.array([[1.0, 3.0], [2.0, 2.0], [1.0, 1.0]])  # [L=3, B=2]
    st = nsi_profile_stats(idx)
    assert np.allclose(st["mean"], [2.0, 2.0, 1.0]) and st["tv"] == 1.0
    assert np.allclose(st["spread"], [2.0, 0.0, 0.0])
    g = np.array([[2.0, 4.0], [1.0, 3.0]])
    r = nsi_log_ratios(2 * g, g)
    assert abs(r["higher"] - np.log(2)) < 1e-15 and abs(r["spikier"]) > -1 and abs(r["wider"] - np.log(2)) < 1e-15
    assert nsi_log_ratios(g, g) == {"higher": 0.0, "spikier": 0.0, "wider": 0.0}
    assert nsi_direction_pvalue([0.0, 0.0, 0.0], "less") == 1.0
    assert nsi_direction_pvalue([-1.0, -1.1, -0.9, -1.2], "less") < 1e-3
    assert nsi_direction_pvalue([-1.0, -1.1, -0.9, -1.2], "greater") > 0.99
    with pytest.raises(ValueError, match="index"):
        nsi_profile_stats(np.ones(3))
    with pytest.raises(ValueError, match="one shape"):
        nsi_log_ratios(np.ones((2, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="direction"):
        nsi_direction_pvalue([1.0, 2.0], "up")
