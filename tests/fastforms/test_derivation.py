"""The sympy derivation of the chunked forms (``attnmath/fastforms/derivation.py``) at the smallest sizes."""

from __future__ import annotations

import pytest
import sympy as sp

from attnmath.fastforms import derivation as der


def _zero(M) -> bool:
    return all(sp.simplify(e) == 0 for e in M)


def test_sequence_shapes_and_gates():
    seq = der.sequence(3, 2, 1, gate="scalar")
    assert (seq["q"].shape, seq["v"].shape, seq["g"].shape, seq["h0"].shape) == ((3, 2), (3, 1), (3, 2), (2, 1))
    assert all(seq["g"][t, 0] == seq["g"][t, 1] for t in range(3))  # one decay per step, broadcast over keys
    assert der.sequence(2, 2, 1)["g"] == sp.zeros(2, 2)
    assert der.sequence(2, 2, 1, initial_state=False)["h0"] == sp.zeros(2, 1)


@pytest.mark.parametrize("gate", [None, "scalar", "key"])
def test_chunked_equals_recurrent_with_a_partial_last_chunk(gate):
    seq = der.sequence(3, 1, 1, gate=gate)
    O_rec, S_rec = der.recurrent(seq)
    O_chk, S_chk = der.chunked(seq, 2)
    assert _zero(O_rec - O_chk) and _zero(S_rec - S_chk)


def test_the_planted_bug_differs_from_the_second_chunk_on():
    seq = der.sequence(4, 1, 1, gate="key")
    O_rec, _ = der.recurrent(seq)
    O_bug, _ = der.chunked(seq, 2, carry=False)
    assert [sp.simplify(e) != 0 for e in O_rec - O_bug] == [False, False, True, True]


def test_normaliser_gate_gradient_and_online_softmax_sides_agree():
    direct, augmented = der.normalised_and_augmented(2, 1)
    assert _zero(direct - augmented)
    lhs, rhs = der.gate_gradient_sides(2)
    assert _zero(lhs - rhs)
    assert all(sp.simplify(d) == 0 for d in der.online_softmax_sides(1, 1))


def test_evaluate_matches_hand_computed_values_and_rejects_bad_inputs():
    import numpy as np

    seq = der.sequence(2, 1, 1, gate="scalar")
    vals = {"q": [[2.0], [3.0]], "k": [[1.0], [-1.0]], "v": [[5.0], [7.0]], "h0": [[0.5]], "g": [[-1.0], [0.0]]}
    O, S = der.recurrent(seq)
    # S_1 = e^-1 0.5 + 5, o_1 = 2 S_1; S_2 = S_1 - 7, o_2 = 3 S_2
    s1 = np.exp(-1.0) * 0.5 + 5.0
    assert np.allclose(der.evaluate(O, seq, vals), [[2 * s1], [3 * (s1 - 7)]], rtol=1e-15, atol=0)
    assert der.evaluate(S, seq, vals).shape == (1, 1)
    with pytest.raises(ValueError, match="shape"):
        der.evaluate(O, seq, {**vals, "q": [[1.0, 2.0]]})
    with pytest.raises(ValueError, match="without a value"):
        der.evaluate(O, seq, {n: x for n, x in vals.items() if n != "v"})
    with pytest.raises(ValueError, match="no such entry"):
        der.evaluate(O, seq, {**vals, "w": [[1.0]]})
    key2 = der.sequence(1, 2, 1, gate="scalar")  # the scalar gate repeats one symbol over both keys
    with pytest.raises(ValueError, match="two values"):
        der.evaluate(key2["g"], key2, {"g": [[-1.0, -2.0]]})
    with pytest.raises(TypeError, match="dicts"):
        der.evaluate(O, seq, [1.0])


def test_softmax_attention_is_the_weighted_average():
    import numpy as np

    seq = der.sequence(2, 1, 1, initial_state=False)
    vals = {"q": [[1.0], [2.0]], "k": [[0.0], [1.0]], "v": [[3.0], [5.0]]}
    o = der.evaluate(der.softmax_attention(seq, causal=True), seq, vals)
    w = np.exp([0.0, 2.0])
    assert np.allclose(o[:, 0], [3.0, (3 * w[0] + 5 * w[1]) / w.sum()], rtol=1e-15, atol=0)
    o_full = der.evaluate(der.softmax_attention(seq, causal=False, scale=2), seq, vals)
    w1 = np.exp([0.0, 2.0])  # row 1: x = 2 * 1 * (0, 1)
    assert np.allclose(o_full[0, 0], (3 * w1[0] + 5 * w1[1]) / w1.sum(), rtol=1e-15, atol=0)
