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
