"""Parse-time limits of user expressions: nothing the user writes can make SymPy run for
ever or recurse without bound, and the message gives the limit.

``9**9**9`` used to hang (SymPy evaluates numeric powers eagerly); an activation nested 200
deep gave a traceback.
"""

from __future__ import annotations

import time

import pytest
import sympy as sp

from symresp import SRNN
from symresp.errors import SpecError, SymrespError
from symresp.model.activations import (
    MAX_EXPONENT,
    MAX_EXPRESSION_LENGTH,
    MAX_NESTING,
    parse_expression,
)

z = sp.Symbol("z")


@pytest.mark.parametrize(
    "text, match",
    [
        ("9**9**9", "chained powers"),
        ("2^3^4", "chained powers"),
        ("2**(2**100)", "power inside an exponent"),
        (f"z**{MAX_EXPONENT + 1}", f"limit of {MAX_EXPONENT}"),
        ("(" * (MAX_NESTING + 1) + "z" + ")" * (MAX_NESTING + 1), f"limit of {MAX_NESTING}"),
        ("z+" * MAX_EXPRESSION_LENGTH + "z", f"limit of {MAX_EXPRESSION_LENGTH}"),
        ("(" * 200 + "z" + ")" * 200, "limit of"),
    ],
)
def test_refused_quickly_with_the_limit(text, match):
    t0 = time.perf_counter()
    with pytest.raises(SymrespError, match=match):
        parse_expression(text, {"z": z}, "activation")
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "text", ["z**3", "z**(1/2)", "z**-3", "exp(-z**2/2)", "(1+z)**64", "tanh(z)**2 - z/3"]
)
def test_ordinary_powers_still_parse(text):
    assert parse_expression(text, {"z": z}, "activation").free_symbols == {z}


def test_spec_activation_tower_is_a_spec_error():
    with pytest.raises(SpecError, match="chained powers"):
        SRNN.create(n=1, activation="z**2**3**4", W=[["1"]], C=[["1"]], sigma="0.3", V=[["1"]])
