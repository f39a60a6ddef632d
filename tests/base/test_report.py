"""attnmath.base.report.sig: rounding to significant digits for portable printed outputs."""

import math

import pytest

from attnmath.base.report import sig


@pytest.mark.parametrize(
    ("x", "digits", "expected"),
    [
        (11885, 3, "11,900"),
        (11892, 3, "11,900"),  # another CPU's step count prints the same
        (11895, 3, "11,900"),
        (138, 3, "138"),
        (34554, 3, "34,600"),
        (0.71583, 3, "0.716"),
        (-0.7149, 2, "-0.71"),
        (9.996, 3, "10.0"),  # rounding carries into a new decade
        (1191.3, 2, "1,200"),
        (2.6e-7, 1, "0.0000003"),
        (0, 3, "0"),
        (29, 3, "29"),  # an integer count gets no decimals
        (29.0, 3, "29.0"),
    ],
)
def test_sig_rounds_to_significant_digits(x, digits, expected):
    assert sig(x, digits) == expected


def test_sig_keeps_exactly_digits_significant_figures():
    for x in (1.23456, 123.456, 123456.0, 0.000123456):
        s = sig(x, 4).replace(",", "")
        assert math.isclose(float(s), float(f"{x:.3e}"))


@pytest.mark.parametrize(
    ("x", "digits", "err", "word"),
    [
        ("3", 3, TypeError, "x must be a real number"),
        (True, 3, TypeError, "x must be a real number"),
        (1.0, 0, ValueError, "digits must be an integer >= 1"),
        (1.0, 2.5, ValueError, "digits must be an integer >= 1"),
        (math.nan, 3, ValueError, "x must be finite"),
    ],
)
def test_sig_rejects_bad_input(x, digits, err, word):
    with pytest.raises(err, match=word):
        sig(x, digits)
