"""Generated code in the numerics (Evaluator), the high-precision route, and the
standalone kernel export (``symresp codegen``).

numba compiles dominate the cost: every compiled module is built once per session
(module-scoped fixtures), with small P.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from symresp import load_spec
from symresp.cli import main as cli_main
from symresp.expectation.evaluator import Evaluator, element_expr, evaluation_precision
from symresp.kernels.taylor import taylor_kernel
from symresp.symbolic.recursion import derive

REPO = Path(__file__).resolve().parents[1]
SPECS = REPO / "derivations"


@pytest.fixture(scope="module")
def tanh2d():
    net = load_spec(SPECS / "tanh_2d.toml")
    der = derive(net, 2, 3)
    els = [g for gs in der.observables.values() for g in gs]
    return net, der, els


@pytest.fixture(scope="module")
def cache_env(tmp_path_factory):
    # one codegen cache per session, so the compile is measured once and not shared with
    # other test modules' entries
    d = tmp_path_factory.mktemp("cgcache")
    old = os.environ.get("SYMRESP_CACHE_DIR")
    os.environ["SYMRESP_CACHE_DIR"] = str(d)
    yield d
    if old is None:
        os.environ.pop("SYMRESP_CACHE_DIR", None)
    else:
        os.environ["SYMRESP_CACHE_DIR"] = old


def _scale(values):
    s = np.abs(values).max(axis=0)
    return np.where(s == 0, 1.0, s)


# ------------------------------------------------------------------ Evaluator routes
def test_element_expr_equals_to_expr(tanh2d):
    net, der, els = tanh2d
    alg = der.algebra
    for g in els:
        assert sp.expand(element_expr(alg, g) - alg.to_expr(g)) == 0


def test_compiled_route_agrees_with_numpy(tanh2d):
    net, der, els = tanh2d
    H = np.random.default_rng(1).normal(size=(3000, 2)) * 0.8
    ref = Evaluator(der.algebra, codegen=False)(els, H)
    ev = Evaluator(der.algebra, codegen=True)
    got = ev(els, H)
    assert ev.route == "trie"
    # same float64 polynomials, different summation order: agreement to a few units of
    # κ·2⁻⁵³ where κ = Σ|terms|/|value| is measured per element (here κ < 10³)
    kappa = np.nanmax(ev.cancellation)
    assert kappa < 1e4
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-13 * kappa * _scale(ref).max())
    # "auto" switches on the work size npoints × terms
    auto = Evaluator(der.algebra)
    auto.codegen_threshold = 10
    np.testing.assert_array_equal(auto(els, H), got)
    assert auto.route == "trie"
    small = Evaluator(der.algebra)
    small(els, H[:10])
    assert small.route == "numpy"


def test_numpy_route_agrees_with_exact_fixed_point(tanh2d):
    """The numpy route (every distinct monomial once, one sparse product, in chunks of
    points) against the high-precision route (exact rational coefficients summed in fixed
    point at 40 digits): agreement to a few units of κ·2⁻⁵³ per element.  A tiny
    ``chunk_terms`` forces one point per chunk, so chunking is exercised too."""
    net, der, els = tanh2d
    H = np.random.default_rng(2).normal(size=(40, 2)) * 0.8
    exact = Evaluator(der.algebra, precision=40)(els, H)
    ev = Evaluator(der.algebra, codegen=False)
    for chunk in (2_000_000, 1):
        got = ev(els, H, chunk_terms=chunk)
        assert ev.route == "numpy"
        kappa = np.maximum(ev.cancellation, 1.0)
        assert np.all(np.abs(got - exact) <= 1e-13 * kappa * _scale(exact)), chunk


def test_codegen_route_for_non_polynomial_readout(cache_env):
    # outside the ring (a readout with tanh of h) the Evaluator generates a numba module
    net = load_spec(SPECS / "tanh_2d.toml", V=None, readout=["exp(h1) + h2**2"])
    der = derive(net, 1, 1)
    assert not hasattr(der.algebra, "ctx")  # the plain-SymPy algebra
    els = [g for gs in der.observables.values() for g in gs]
    H = np.random.default_rng(4).normal(size=(500, 2))
    ev = Evaluator(der.algebra, codegen=True)
    got = ev(els, H)
    assert ev.route == "codegen"
    ref = Evaluator(der.algebra, codegen=False)(els, H)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


def test_precision_route_matches_mpmath(tanh2d):
    net, der, els = tanh2d
    alg = der.algebra
    H = np.random.default_rng(2).normal(size=(6, 2)) * 1.5
    ev = Evaluator(alg, precision=40)
    got = ev(els, H)
    assert ev.route == "mpmath-40"
    exprs = [alg.to_expr(g, substitute=True) for g in els]
    with mpmath.workdps(60):
        fn = sp.lambdify([list(net.h)], exprs, "mpmath")
        for i, row in enumerate(H):
            want = [float(v) for v in fn([mpmath.mpf(float(x)) for x in row])]
            # rounded once from ≥ 40 correct digits: within one ulp
            np.testing.assert_allclose(got[i], want, rtol=2.3e-16, atol=1e-300)
    # the context manager sets the default for Evaluators created inside it
    with evaluation_precision(30):
        assert Evaluator(alg).precision == 30
    assert Evaluator(alg).precision is None
    with pytest.raises(ValueError, match="precision"):
        Evaluator(alg, precision=5)


def test_cancellation_is_reported(tanh2d):
    net, der, els = tanh2d
    big = derive(net, 2, 4)
    els4 = [g for gs in big.observables.values() for g in gs]
    H = np.random.default_rng(3).normal(size=(200, 2)) * 100.0  # large |h|
    ev = Evaluator(big.algebra, codegen=False)
    with pytest.warns(RuntimeWarning, match="precision=50"):
        ev(els4, H)
    assert np.nanmax(ev.cancellation) > 1e8
    # the high-precision route is immune: compare with a 120-digit evaluation of the
    # worst element.  Its guarantee is absolute, ~10^-digits · Σ|terms| (tanh saturates
    # at |h| ~ 100, so some values are ~1e-60 and only their absolute error is meaningful)
    j = int(np.nanargmax(ev.cancellation))
    pts = H[:5]
    exact = Evaluator(big.algebra, precision=50)(els4[j : j + 1], pts)[:, 0]
    abssum = ev._call_numpy(els4[j : j + 1], ev.state_variables(pts), 10**6, absolute=True)[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        floaterr = np.abs(ev(els4[j : j + 1], pts)[:, 0] - exact)
    with mpmath.workdps(120):
        fn = sp.lambdify([list(net.h)], big.algebra.to_expr(els4[j], substitute=True), "mpmath")
        want = np.array([float(fn([mpmath.mpf(float(x)) for x in row])) for row in pts])
    assert np.all(np.abs(exact - want) <= 1e-45 * abssum + 2.3e-16 * np.abs(want))
    assert np.max(floaterr / abssum) > 1e-45  # float64 is visibly worse there


def test_cli_precision_flag(capsys, tmp_path):
    # a point start (one evaluation point) keeps the pure-Python route cheap; on the Gibbs
    # quadrature (25 600 nodes) it takes tens of seconds
    spec = tmp_path / "point.toml"
    spec.write_text(
        (SPECS / "tanh_2d.toml")
        .read_text()
        .replace('kind = "stationary"', 'kind = "point"\nh0 = [0.3, -0.2]')
    )
    args = [
        "kernel",
        str(spec),
        "--order",
        "2",
        "--index",
        "1,1",
        "--lags",
        "0.1,0.2,0.3",
        "--taylor",
        "4",
        "--method",
        "taylor",  # auto would take the Galerkin route (2-D grid density)
        "--json",
    ]
    assert cli_main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli_main(args + ["--precision", "30"]) == 0
    precise = json.loads(capsys.readouterr().out)
    np.testing.assert_allclose(precise["values"], plain["values"], rtol=1e-13)
    assert (
        cli_main(
            [
                "derive",
                str(spec),
                "--order",
                "1",
                "--taylor",
                "2",
                "--precision",
                "25",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["coefficients"][0]["value"] is not None
    with pytest.raises(SystemExit):  # argparse: at least 16 digits
        cli_main(args + ["--precision", "8"])


# ------------------------------------------------------------------ standalone export
_RUNNER = textwrap.dedent("""
    import sys, json
    sys.modules["sympy"] = None      # any import of sympy or symresp now fails
    sys.modules["symresp"] = None
    import numpy as np
    import {mod} as m
    assert sys.modules.get("sympy") is None and sys.modules.get("symresp") is None
    cfg = json.loads(sys.argv[1])
    out = {{}}
    for fname, lags in cfg["lags"].items():
        fn = getattr(m, fname)
        args = (np.array(lags),)
        if cfg.get("samples"):
            args = args + (np.load(cfg["samples"]),)
        out[fname] = fn(*args).tolist()
    print(json.dumps(out))
""")


def _run_standalone(directory: Path, module: str, lags: dict, samples=None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONPATH"] = str(directory)
    cfg = json.dumps({"lags": lags, "samples": None if samples is None else str(samples)})
    res = subprocess.run(
        [sys.executable, "-c", _RUNNER.format(mod=module), cfg],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def _cli_kernel(capsys, spec, order, index, lags, extra=()):
    args = [
        "kernel",
        str(spec),
        "--order",
        str(order),
        "--index",
        ",".join(map(str, index)),
        "--lags",
        ";".join(",".join(repr(x) for x in row) for row in lags),
        "--method",
        "taylor",
        "--json",
        "--quiet",
        *extra,
    ]
    assert cli_main(args) == 0
    return json.loads(capsys.readouterr().out)


def test_export_samples_route_standalone(tmp_path, capsys):
    from symresp import stationary_samples

    spec = SPECS / "tanh_2d.toml"
    out_dir = tmp_path / "mod"
    assert (
        cli_main(
            ["codegen", str(spec), "--order", "2", "--taylor", "3", "-o", str(out_dir), "--json"]
        )
        == 0
    )
    info = json.loads(capsys.readouterr().out)
    path = Path(info["module"])
    text = path.read_text()
    assert "K^(n)_k(tau) = sum_p c_{k,p}" in text and "symresp version" in text
    assert "import sympy" not in text and "import symresp" not in text
    assert "from symresp" not in text and "from sympy" not in text
    net = load_spec(spec)
    n_samples, seed = 4000, 7
    X = stationary_samples(net, n_samples, seed=seed, quiet=True)
    np.save(tmp_path / "samples.npy", X)
    lags = {
        "kernel_1_1": [[0.0], [0.05], [0.2]],
        "kernel_2_1_1": [[0.0, 0.0], [0.05, 0.1], [0.2, 0.1]],
    }
    got = _run_standalone(out_dir, path.stem, lags, tmp_path / "samples.npy")
    for fname, L in lags.items():
        order = len(L[0])
        ref = _cli_kernel(
            capsys,
            spec,
            order,
            [1] * order,
            L,
            ["--taylor", "3", "--samples", str(n_samples), "--seed", str(seed)],
        )
        # Same samples (the CLI draws them with the same seed), same float64 observables:
        # the generated code and the library's numpy route differ only in summation order
        # and in tanh rounding (math.tanh vs numpy.tanh), each a few ulp amplified by the
        # cancellation ratio κ ≲ 10³ of these P = 3 observables: 1e-12 relative is ample,
        # and far below the Monte Carlo standard error of the coefficients.
        np.testing.assert_allclose(got[fname], ref["values"], rtol=1e-12, atol=1e-13)
    # the tables travel with the module: a missing or foreign tables file is named, never read
    tables = Path(info["tables"])
    assert tables.name == f"{path.stem}_observables.npz" and tables.exists()
    with np.load(tables) as z:
        t = {k: z[k] for k in z.files}
    t["coeff"] = t["coeff"] * (1 + 1e-12)
    np.savez(tables, **t)
    probe = (
        "import sys, numpy as np; sys.path.insert(0, '.'); import {mod} as m\n"
        "try:\n    m.observables_at(np.zeros((3, 2)))\n"
        "except Exception as e:\n    print(type(e).__name__, e)"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run(
        [sys.executable, "-c", probe.format(mod=path.stem)],
        cwd=out_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "ValueError" in res.stdout and "checksum" in res.stdout, res.stdout + res.stderr
    tables.unlink()
    res = subprocess.run(
        [sys.executable, "-c", probe.format(mod=path.stem)],
        cwd=out_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "FileNotFoundError" in res.stdout and "copy both files" in res.stdout, res.stdout


def test_export_baked_routes_standalone(tmp_path, capsys):
    from symresp.report.export import export_module

    cases = [
        ("hopfield_2d.toml", {}, "gibbs"),
        ("tanh_2d.toml", {"start": "point", "h0": [0.3, -0.2]}, "point"),
    ]
    for specname, overrides, route in cases:
        net = load_spec(SPECS / specname, **overrides)
        d = tmp_path / route
        path = export_module(net, 2, 3, d, name=f"k_{route}")
        text = path.read_text()
        assert f"ROUTE = {route!r}" in text and "@numba" not in text
        nl = 2 if route == "gibbs" else 3
        lags = {
            "kernel_1_1": [[0.0] * (nl - 1), [0.1] * (nl - 1)],
            "kernel_2_1_1": [[0.0] * nl, [0.1, 0.05, 0.2][:nl]],
        }
        got = _run_standalone(d, path.stem, lags)
        der = derive(net, 2, 3)
        for fname, L in lags.items():
            order = int(fname.split("_")[1])
            K = taylor_kernel(der, order, (0,) * order)
            # coefficients baked as repr(float) (exact round trip), same evaluation formula:
            # identical up to the last bit
            np.testing.assert_array_equal(got[fname], K(np.array(L), warn=False))
        if route == "point":
            spec = tmp_path / "point.toml"
            spec.write_text(
                (SPECS / specname)
                .read_text()
                .replace('kind = "stationary"', 'kind = "point"\nh0 = [0.3, -0.2]')
            )
            ref = _cli_kernel(capsys, spec, 2, [1, 1], lags["kernel_2_1_1"], ["--taylor", "3"])
            np.testing.assert_array_equal(got["kernel_2_1_1"], ref["values"])


def test_codegen_cli_errors(tmp_path, capsys):
    spec = SPECS / "tanh_2d.toml"
    assert cli_main(["codegen", str(spec), "--order", "0", "-o", str(tmp_path)]) == 2
    assert "--order" in capsys.readouterr().err


def test_weighted_cancellation_ratio_measures_the_average(tanh2d):
    # with quadrature weights κ = Σ_i w_i Σ_t|c_t m_t(x_i)| / |Σ_i w_i g(x_i)|: a node with
    # weight 0 cannot raise it, however badly its own sum cancels
    net, der, els = tanh2d
    H = np.random.default_rng(8).normal(size=(50, 2))
    w = np.full(50, 1 / 49)
    w[0] = 0.0
    H[0] = [40.0, -40.0]  # far tail: enormous terms
    ev = Evaluator(der.algebra, codegen=False)
    vals = ev(els, H, weights=w)
    X = ev.state_variables(H)
    absval = ev._call_numpy(els, X, 2_000_000, absolute=True)
    want = (w @ absval) / np.maximum(np.abs(w @ vals), 1e-6 * np.abs(w @ vals).max())
    want = np.where(w @ absval == 0, 1.0, want)
    np.testing.assert_allclose(ev.cancellation, want, rtol=1e-12)
    kappa = ev.cancellation
    ev(els, H[1:], weights=w[1:])  # the same without the weight-0 node
    np.testing.assert_allclose(kappa, ev.cancellation, rtol=1e-12)
