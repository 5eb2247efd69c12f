"""The shared argument checks: one error type per kind of mistake, messages naming the argument."""

from __future__ import annotations

import numpy as np
import pytest

from symresp.errors import ArgumentError, ArgumentTypeError
from symresp.validation import check_bool, check_choice, check_float, check_int


def test_integers():
    assert check_int(3, "n") == 3 and check_int(np.int64(4), "n") == 4
    for bad in (1.7, 2.0, True, "3", None):
        with pytest.raises(ArgumentTypeError, match="n: expected an integer"):
            check_int(bad, "n")
    with pytest.raises(ArgumentError, match="paths: expected an integer ≥ 1, got 0"):
        check_int(0, "paths", minimum=1)
    with pytest.raises(ArgumentError, match="≤ 5"):
        check_int(6, "level", maximum=5)


def test_booleans_are_strict():
    assert check_bool(True, "flag") is True and check_bool(np.bool_(False), "flag") is False
    for bad in ("no", "false", 0, 1, None):
        with pytest.raises(ArgumentTypeError, match="flag: expected True or False"):
            check_bool(bad, "flag")


def test_floats():
    assert check_float(0.5, "eps") == 0.5 and check_float(2, "T", positive=True) == 2.0
    for bad in (float("nan"), float("inf"), -float("inf")):
        with pytest.raises(ArgumentError, match="eps: expected a finite number"):
            check_float(bad, "eps")
    with pytest.raises(ArgumentTypeError):
        check_float("0.1", "dt")
    with pytest.raises(ArgumentTypeError):
        check_float(True, "dt")
    with pytest.raises(ArgumentError, match="> 0"):
        check_float(0.0, "dt", positive=True)
    with pytest.raises(ArgumentError, match="≥ 0"):
        check_float(-1e-9, "lag", nonnegative=True)


def test_choices():
    assert check_choice("box", "truncation", ("total", "box")) == "box"
    with pytest.raises(ArgumentError, match="truncation: expected one of 'total', 'box'"):
        check_choice("cube", "truncation", ("total", "box"))


def test_budgets_name_the_estimate_and_the_option():
    from symresp.validation import check_budget

    check_budget(10, "grid", limit=10, option="max_steps=")  # at the limit: fine
    with pytest.raises(
        ArgumentError, match=r"grid: the request needs 11 steps.*limit of 10.*max_steps="
    ):
        check_budget(11, "grid", limit=10, option="max_steps=", unit="steps")
    with pytest.raises(ArgumentError, match=r"about 1 GiB"):
        check_budget(2, "x", limit=1, option="o=", nbytes=2**30)
    with pytest.raises(ArgumentError, match="would not finish"):
        check_budget(2, "x", limit=1, option=None, why="it would not finish")


def test_precision_is_bounded():
    from symresp.expectation.evaluator import MAX_PRECISION, check_precision, evaluation_precision

    assert check_precision(None) is None and check_precision(50) == 50
    with pytest.raises(ArgumentError, match="precision"):
        evaluation_precision(MAX_PRECISION + 1)
    with pytest.raises(ArgumentError, match="≥ 16"):
        check_precision(8)
    with pytest.raises(ArgumentTypeError):
        check_precision(50.5)
