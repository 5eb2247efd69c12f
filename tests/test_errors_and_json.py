"""One error base and one strict JSON writer.

* every error class symresp raises for a user's mistake derives from SymrespError (and from
  the built-in kind a caller expects, so ``except ValueError`` keeps working);
* the CLI exits 2 with a one-line message for those, and 1 with a traceback and a request to
  report for anything else (a bug);
* ``--json`` output is strict JSON: ``json.loads(..., parse_constant=reject)`` accepts it, and
  non-finite numbers become null with a ``<key>_nonfinite`` field saying what they were.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import symresp
from symresp import errors, strict_json
from symresp.cli import main


def _reject(token):
    raise AssertionError(f"non-standard JSON token {token!r}")


def test_every_error_kind_derives_from_the_base():
    kinds = [
        errors.SpecError,
        errors.ArgumentError,
        errors.ArgumentTypeError,
        errors.InputError,
        errors.UnsupportedError,
        errors.DivergenceError,
        errors.CodegenError,
        errors.LatexError,
    ]
    for kind in kinds:
        assert issubclass(kind, symresp.SymrespError), kind
    assert issubclass(errors.SpecError, ValueError)
    assert issubclass(errors.ArgumentTypeError, TypeError)
    assert issubclass(errors.UnsupportedError, NotImplementedError)
    assert issubclass(errors.DivergenceError, RuntimeError)


def test_library_validation_raises_the_base():
    net = symresp.load_spec("derivations/tanh_1d.toml")
    with pytest.raises(symresp.SymrespError, match="order"):
        symresp.derive(net, -1, 2)
    with pytest.raises(symresp.SymrespError, match="truncation"):
        symresp.derive(net, 1, 2, truncation="cube")


def test_strict_json_replaces_non_finite_numbers_and_says_why():
    out = {
        "values": [1.0, math.nan, -math.inf],
        "x": np.float64(np.inf),
        "n": np.int64(3),
        "arr": np.array([[0.5, np.nan]]),
        "ok": True,
        "none": None,
    }
    text = strict_json.dumps(out)
    back = json.loads(text, parse_constant=_reject)
    assert back["values"] == [1.0, None, None]
    assert back["values_nonfinite"] == {"1": "nan", "2": "-inf"}
    assert back["x"] is None and back["x_nonfinite"] == "inf"
    assert back["n"] == 3 and back["ok"] is True and back["none"] is None
    assert back["arr"] == [[0.5, None]] and back["arr_nonfinite"] == {"0": {"1": "nan"}}
    # finite data round-trips exactly
    vals = [0.1, 1e-300, -2.5e300]
    assert json.loads(strict_json.dumps({"v": vals}))["v"] == vals


def test_cli_user_mistake_exits_2_with_one_line(capsys):
    rc = main(["derive", "derivations/does_not_exist.toml", "--order", "1", "--taylor", "2"])
    err = capsys.readouterr().err
    assert rc == 2 and "does not exist" in err and "Traceback" not in err


def test_cli_bug_exits_1_with_traceback(capsys, monkeypatch):
    import symresp.cli as cli

    def broken(args):
        raise KeyError("internal")  # stands for a bug: not a SymrespError

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    sub = next(a for a in parser._actions if a.dest == "command")
    sub.choices["derive"].set_defaults(func=broken)
    rc = cli.main(["derive", "derivations/tanh_1d.toml", "--order", "1", "--taylor", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" in err and "please report" in err


def test_cli_json_is_strict(capsys):
    rc = main(
        [
            "kernel",
            "derivations/linear_2d_quadratic.toml",
            "--order",
            "1",
            "--index",
            "1",
            "--lags",
            "0.5;2",
            "--method",
            "exact",
            "--json",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out, parse_constant=_reject)
    assert len(out["values"]) == 2
