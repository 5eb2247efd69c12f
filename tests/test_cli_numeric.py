"""Numeric CLI subcommands (simulate, kernel, predict, check): JSON contracts, determinism,
plots, and bad inputs (exit code 2, one clear line on stderr, no traceback).

The CLI runs in-process through ``symresp.cli.main`` (stdout captured with capsys); one test
runs the installed console script in a subprocess.  Sizes are tiny: these tests check the
interface, the numerics are tested in test_series_check.py / test_simulate.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from symresp.cli import main

ROOT = Path(__file__).resolve().parents[1]
LIN = str(ROOT / "derivations" / "linear_2d_quadratic.toml")  # n = 2, m = 1, p = 1
SIG = str(ROOT / "derivations" / "sigmoid_3d.toml")  # n = 3, m = 2, p = 2, point start
TANH1 = str(ROOT / "derivations" / "tanh_1d.toml")  # n = 1, m = 1, p = 1
K1 = ["kernel", TANH1, "--order", "1", "--index", "1", "--lags", "1"]

pytestmark = [
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
    pytest.mark.usefixtures("warm_engine"),
]


def _run(capsys, *argv):
    """(exit code, parsed JSON or None, stderr) of an in-process CLI call."""
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    data = json.loads(out.out) if code == 0 and "--json" in argv else None
    return code, data, out.err


def _assert_rows(data, key, n_t, p):
    arr = np.asarray(data[key], float)
    assert arr.shape == (n_t, p), (key, arr.shape)
    assert np.all(np.isfinite(arr))


# ------------------------------------------------------------------------ simulate
def test_simulate_json_contract(capsys):
    """{"t", "mean", "stderr"}: one row of p values per output time (t_i = i·every·dt)."""
    code, d, _ = _run(
        capsys,
        "simulate",
        SIG,
        "--input",
        "sin(t); 0.5",
        "--T",
        "0.2",
        "--dt",
        "0.01",
        "--every",
        "5",
        "--paths",
        "200",
        "--seed",
        "3",
        "--json",
        "--quiet",
    )
    assert code == 0
    assert {"t", "mean", "stderr"} <= set(d)
    np.testing.assert_allclose(d["t"], [0.0, 0.05, 0.1, 0.15, 0.2], atol=1e-12)
    _assert_rows(d, "mean", 5, 2)
    _assert_rows(d, "stderr", 5, 2)
    assert d["paths"] == 200 and d["seed"] == 3
    # point start: no spread at t = 0, so the standard error is 0 there and > 0 later
    assert np.all(np.asarray(d["stderr"])[0] < 1e-12) and np.all(np.asarray(d["stderr"])[1:] > 0)


def test_simulate_response_and_determinism(capsys):
    """--response is the CRN difference (0 at t = 0, small noise); the same seed gives
    byte-identical output, another seed another estimate."""
    argv = [
        "simulate",
        LIN,
        "--input",
        "1",
        "--T",
        "0.3",
        "--dt",
        "0.01",
        "--every",
        "10",
        "--paths",
        "300",
        "--eps",
        "0.2",
        "--response",
        "--json",
        "--quiet",
    ]
    code, a, _ = _run(capsys, *argv, "--seed", "7")
    assert code == 0 and a["response"] is True
    _assert_rows(a, "mean", 4, 1)
    assert a["mean"][0] == [0.0]
    code, b, _ = _run(capsys, *argv, "--seed", "7")
    assert code == 0 and a["mean"] == b["mean"] and a["stderr"] == b["stderr"]
    code, c, _ = _run(capsys, *argv, "--seed", "8")
    assert code == 0 and c["mean"] != a["mean"]
    # CRN: the response's standard error is far below that of the plain mean (O(ε) vs O(1))
    code, plain, _ = _run(capsys, *[x for x in argv if x != "--response"], "--seed", "7")
    assert np.all(np.asarray(a["stderr"])[1:] < 0.5 * np.asarray(plain["stderr"])[1:])


# ------------------------------------------------------------------------ kernel
def test_kernel_mc_json_adds_stderr_and_is_deterministic(capsys):
    argv = [
        "kernel",
        LIN,
        "--order",
        "1",
        "--index",
        "1",
        "--lags",
        "0.1;0.3",
        "--method",
        "mc",
        "--paths",
        "400",
        "--seed",
        "4",
        "--dt",
        "0.01",
        "--json",
        "--quiet",
    ]
    code, a, _ = _run(capsys, *argv)
    assert code == 0
    assert {"values", "stderr", "lags"} <= set(a) and a["method"] == "mc"
    _assert_rows(a, "values", 2, 1)
    _assert_rows(a, "stderr", 2, 1)
    code, b, _ = _run(capsys, *argv)
    assert a["values"] == b["values"]
    # the exact kernel is within 5 standard errors (a sanity check of the wiring only)
    code, ex, _ = _run(
        capsys,
        "kernel",
        LIN,
        "--order",
        "1",
        "--index",
        "1",
        "--lags",
        "0.1;0.3",
        "--method",
        "exact",
        "--json",
    )
    assert code == 0 and "stderr" not in ex
    diff = np.abs(np.asarray(a["values"]) - np.asarray(ex["values"]))
    assert np.all(diff < 5 * np.asarray(a["stderr"]) + 1e-3)


# ------------------------------------------------------------------------ predict
def test_predict_json_contract(capsys):
    """{"t", "mean"}: one row of p values per time of the grid 0, dt, …, T.  (--via quadrature
    keeps this fast; the default linear-time route gives the same numbers, see test_volterra.)"""
    code, d, _ = _run(
        capsys,
        "predict",
        LIN,
        "--input",
        "sin(2*t)",
        "--T",
        "0.5",
        "--dt",
        "0.05",
        "--eps",
        "0.3",
        "--order",
        "2",
        "--method",
        "exact",
        "--via",
        "quadrature",
        "--json",
        "--quiet",
    )
    assert code == 0
    assert {"t", "mean"} <= set(d)
    np.testing.assert_allclose(d["t"], np.linspace(0, 0.5, 11), atol=1e-12)
    _assert_rows(d, "mean", 11, 1)
    # at t = 0 the series is the stationary mean V_0 (no input has acted yet)
    from symresp import load_spec
    from symresp.kernels.taylor import stationary_mean
    from symresp.symbolic.recursion import derive

    v0 = stationary_mean(derive(load_spec(LIN), 1, 0))[0]
    np.testing.assert_allclose(d["mean"][0], v0, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------ check
@pytest.fixture(scope="module")
def check_out(tmp_path_factory):
    """One in-process `symresp check --eps-sweep --plot` run (shared by two tests)."""
    png = tmp_path_factory.mktemp("plot") / "check.png"
    import io
    from contextlib import redirect_stderr, redirect_stdout

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(
            [
                "check",
                LIN,
                "--input",
                "sin(2*t)+0.5",
                "--T",
                "1",
                "--eps",
                "0.4",
                "--order",
                "2",
                "--method",
                "exact",
                "--paths",
                "1000",
                "--seed",
                "1",
                "--dt",
                "0.02",
                "--times",
                "6",
                "--eps-sweep",
                "0.2,0.4",
                "--plot",
                str(png),
                "--json",
                "--quiet",
            ]
        )
    return code, json.loads(out.getvalue()), png


def test_check_json_contract_and_sweep(check_out):
    """verdict/t/discrepancy/budget, plus "slope" with --eps-sweep.  The linear network with
    quadratic readout is exact at order 2: every time passes its budget, but the ε sweep then
    sees only noise (an unresolved sweep), so the verdict is "inconclusive" (exit status 3)."""
    code, d, _ = check_out
    assert code == 3
    assert {"verdict", "t", "discrepancy", "budget", "slope"} <= set(d)
    assert d["verdict"] in ("pass", "fail", "inconclusive")
    n_t = len(d["t"])
    assert n_t == 6 and d["t"][0] == 0.0  # --times 6: the grid of simulate, t = 0 included
    _assert_rows(d, "discrepancy", n_t, 1)
    _assert_rows(d, "budget", n_t, 1)
    assert all(all(row) for row in d["pass"][1:])
    assert d["verdict"] == "inconclusive" and "ε sweep is unresolved" in d["reason"]
    assert np.isfinite(d["slope"]) and d["expected_slope"] == 3
    assert len(d["eps_sweep"]) == 2
    # the order-2 series is exact here: the sweep sees only noise and says so
    assert d["resolved"] is False


def test_check_plot_is_png(check_out):
    code, d, png = check_out
    assert code == 3 and d["plot"] == str(png)  # inconclusive: see the previous test
    head = png.read_bytes()[:8]
    assert head == b"\x89PNG\r\n\x1a\n"
    import matplotlib.image as mpimg

    img = mpimg.imread(png)
    assert img.shape[0] >= 300 and img.shape[1] >= 1000  # two panels side by side


# ------------------------------------------------------------------------ bad inputs
BAD = [
    (["simulate", LIN, "--input", "sin(t); cos(t)", "--T", "0.1", "--paths", "10"], "input"),
    (["predict", LIN, "--input", "sin(t); cos(t)", "--T", "0.1", "--eps", "0.1"], "input"),
    (["simulate", LIN, "--input", "sin(t", "--T", "0.1", "--paths", "10"], "parse"),
    (["check", LIN, "--input", "2*/t", "--T", "0.1", "--eps", "0.1", "--method", "exact"], "parse"),
    (["simulate", LIN, "--input", "1", "--T", "0.1", "--dt", "-0.01", "--paths", "10"], "dt"),
    (["predict", LIN, "--input", "1", "--T", "0.1", "--dt", "-0.01", "--eps", "0.1"], "dt"),
    (
        [
            "check",
            LIN,
            "--input",
            "1",
            "--T",
            "0.1",
            "--dt",
            "-0.01",
            "--eps",
            "0.1",
            "--method",
            "exact",
        ],
        "dt",
    ),
    (
        [
            "kernel",
            LIN,
            "--order",
            "1",
            "--index",
            "1",
            "--lags",
            "0.1",
            "--method",
            "mc",
            "--dt",
            "-0.01",
        ],
        "dt",
    ),
    (["simulate", LIN, "--input", "1", "--T", "0.1", "--paths", "0"], "paths"),
    (["simulate", LIN, "--input", "1", "--T", "0.1", "--paths", "-5"], "paths"),
    (
        [
            "check",
            LIN,
            "--input",
            "1",
            "--T",
            "0.1",
            "--eps",
            "0.1",
            "--paths",
            "0",
            "--method",
            "exact",
        ],
        "paths",
    ),
    (
        [
            "check",
            LIN,
            "--input",
            "1",
            "--T",
            "0.1",
            "--eps",
            "0.1",
            "--paths",
            "-4",
            "--method",
            "exact",
        ],
        "paths",
    ),
    (
        [
            "kernel",
            LIN,
            "--order",
            "1",
            "--index",
            "1",
            "--lags",
            "0.1",
            "--method",
            "mc",
            "--paths",
            "0",
        ],
        "paths",
    ),
    ([*K1, "--method", "mc", "--basis", "krylov"], "--basis does not apply"),
    ([*K1, "--method", "galerkin", "--points", "40"], "--points does not apply"),
    ([*K1, "--tol", "-1"], "--tol"),
    (["simulate", "no/such/spec.toml", "--input", "1", "--T", "0.1"], "spec.toml"),
    (["check", "no/such/spec.toml", "--input", "1", "--T", "0.1", "--eps", "0.1"], "spec.toml"),
    (["predict", "no/such/spec.toml", "--input", "1", "--T", "0.1", "--eps", "0.1"], "spec.toml"),
]


@pytest.mark.parametrize("argv,word", BAD, ids=[f"{a[0]}-{w}-{i}" for i, (a, w) in enumerate(BAD)])
def test_bad_inputs_exit_2(capsys, argv, word):
    capsys.readouterr()
    try:
        code = main(argv + ["--quiet"])
    except SystemExit as exc:  # argparse rejections exit(2) themselves
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert word in err.lower() or word in err, err
    assert "error" in err.lower()


def test_kernel_grid_route_options(capsys):
    """--basis/--tol/--max-degree reach the Galerkin route and --points the PDE route: the
    JSON echoes them, and the two routes agree at lags 1 and 5 within 1e-5 (each is
    converged far below that on the 1-D tanh network: Galerkin to --tol 1e-7, the PDE grid's
    refinement estimate is below 1e-6 at 64 points)."""
    lags = ["--lags", "1;5"]
    base = ["kernel", TANH1, "--order", "1", "--index", "1", *lags, "--json", "--quiet"]
    code, g, err = _run(
        capsys, *base, "--method", "galerkin", "--basis", "both", "--tol", "1e-7",
        "--max-degree", "10",
    )  # fmt: skip
    assert code == 0, err
    assert g["basis"] == "both" and g["tol"] == 1e-7 and g["converged"]
    code, p, err = _run(capsys, *base, "--method", "pde", "--points", "64")
    assert code == 0, err
    assert p["points"] == 64
    assert np.abs(np.array(g["values"]) - np.array(p["values"])).max() < 1e-5


# ------------------------------------------------------------------------ console script
def test_console_script_subprocess():
    """The installed `symresp` entry point runs and prints parseable JSON (exit 0); error
    paths are covered in-process above (one subprocess only: interpreter start-up is slow)."""
    exe = shutil.which("symresp")
    cmd = [exe] if exe else [sys.executable, "-m", "symresp.cli"]
    ok = subprocess.run(
        cmd
        + [
            "predict",
            LIN,
            "--input",
            "sin(t)",
            "--T",
            "0.2",
            "--dt",
            "0.1",
            "--eps",
            "0.5",
            "--method",
            "exact",
            "--via",
            "quadrature",
            "--json",
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    d = json.loads(ok.stdout)
    assert len(d["t"]) == 3 and np.asarray(d["mean"]).shape == (3, 1)
