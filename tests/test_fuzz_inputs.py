"""Fuzzing the two ways users talk to symresp: spec tables and command lines.

Every generated spec either loads or is refused with a SymrespError (never another
exception); every generated command line exits 0, 2, 3 or 4 (never 1, a bug) and, with
--json, prints strict JSON.  The vocabularies hold the kinds of mistakes seen in practice:
division by zero, overflow, irrational constants, booleans and strings for numbers, empty
and ragged matrices, unknown keys, huge exponents, non-finite numbers, bad lags and indices.
"""

from __future__ import annotations

import io
import json
import warnings
from contextlib import redirect_stderr, redirect_stdout

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symresp
from symresp.cli import main
from symresp.model.spec import spec_from_dict

NUMBERS = st.one_of(
    st.integers(-4, 4),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from(
        [
            "3/0",
            "exp(1000)",
            "sqrt(2)",
            "1e400",
            "pi/4",
            "x",
            "",
            "9**9**9",
            "-0.5",
            "1/3",
            "h1",
            "2**-2000",
            "1e-400",
            "(1",
            "nan",
            "inf",
        ]
    ),
    st.booleans(),
    st.none(),
)


def _matrix(rows, cols):
    return st.lists(st.lists(NUMBERS, min_size=cols, max_size=cols), min_size=rows, max_size=rows)


@st.composite
def specs(draw):
    n = draw(st.integers(1, 3))
    shape = st.one_of(st.just(n), st.integers(0, 4))
    net = {
        "n": draw(st.one_of(st.just(n), NUMBERS)),
        "W": draw(
            st.one_of(_matrix(n, n), _matrix(draw(shape), draw(shape)), NUMBERS, st.just([]))
        ),
        "C": draw(st.one_of(_matrix(n, 1), NUMBERS, st.just([[]]))),
        "sigma": draw(st.one_of(NUMBERS, st.lists(NUMBERS, min_size=n, max_size=n))),
        "activation": draw(
            st.sampled_from(
                [
                    "tanh",
                    "identity",
                    "relu",
                    "5*z",
                    "z**2**3",
                    "sin(z)",
                    "foo",
                    "",
                    3,
                    "z**70",
                    "sigmoid",
                ]
            )
        ),
    }
    for key, strat in (
        ("b", st.lists(NUMBERS, min_size=n, max_size=n)),
        ("Gamma", NUMBERS),
        ("assume_stationary", st.one_of(st.booleans(), st.sampled_from(["no", 1]))),
        ("form", st.sampled_from(["standard", "hopfield", "other"])),
        ("bogus", NUMBERS),
    ):
        if draw(st.booleans()):
            net[key] = draw(strat)
    if draw(st.booleans()):
        readout = {"V": draw(st.one_of(_matrix(1, n), st.just([]), NUMBERS))}
    else:
        readout = {
            "expression": draw(st.sampled_from(["h1**2", "h1", "x", "", "h1**99", "tanh(h1)"]))
        }
    data = {"network": net, "readout": readout}
    if draw(st.booleans()):
        data["start"] = {
            "kind": draw(st.sampled_from(["point", "stationary", "x"])),
            "h0": draw(st.lists(NUMBERS, min_size=n, max_size=n)),
        }
    if draw(st.booleans()):
        data["parameters"] = {draw(st.sampled_from(["k", "h1", "tanh"])): draw(NUMBERS)}
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(specs())
def test_specs_load_or_are_refused(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            net = spec_from_dict(data)
        except symresp.SymrespError:
            return
        try:
            symresp.derive(net, 1, 1)
        except symresp.SymrespError:
            pass


def _reject(token):
    raise AssertionError(f"non-standard JSON token {token!r}")


ARGS = st.sampled_from(
    [
        "--order",
        "1",
        "2",
        "0",
        "-1",
        "1.5",
        "--index",
        "1",
        "2",
        "1,1",
        "0",
        "x",
        "--lags",
        "0.1",
        "1e308",
        "nan",
        "-1",
        "0.1;0.2",
        "0.1,0.2",
        "--method",
        "exact",
        "taylor",
        "mc",
        "auto",
        "galerkin",
        "nope",
        "--taylor",
        "3",
        "--json",
        "--eps",
        "0.1",
        "inf",
        "--T",
        "0.2",
        "0",
        "--dt",
        "0.05",
        "1e-12",
        "--paths",
        "16",
        "0",
        "--input",
        "sin(t)",
        "t**9**9",
        "--samples",
        "50",
        "--seed",
        "1",
        "-3",
        "--level",
        "2",
        "--degree",
        "1",
        "--precision",
        "20",
        "100000000",
        "--times",
        "3",
    ]
)
COMMANDS = st.sampled_from(["kernel", "derive", "simulate", "predict", "features", "check"])
SPECS = st.sampled_from(
    [
        "derivations/linear_2d_quadratic.toml",
        "derivations/tanh_1d.toml",
        "derivations/missing.toml",
        "derivations",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(COMMANDS, SPECS, st.lists(ARGS, max_size=10))
def test_command_lines_exit_0_2_3_4_with_strict_json(cmd, spec, rest):
    argv = (
        [cmd]
        + ([] if cmd == "features" else [spec])
        + rest
        + ["--quiet"] * (cmd in ("simulate", "predict", "check"))
    )
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("ignore")
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2
            rc = exc.code
    assert rc in (0, 2, 3, 4), (argv, rc, err.getvalue()[-2000:])
    if rc == 0 and "--json" in argv and out.getvalue().strip():
        json.loads(out.getvalue(), parse_constant=_reject)


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
