"""Command line contract of ``symresp derive`` and ``symresp kernel`` (the documented output format).

In-process through ``symresp.cli.main`` (stdout/stderr captured), plus one real call of
the ``symresp`` console script.  Exact oracles: the linear SRNN with a quadratic readout
(closed forms computed here with scipy (expm, solve_continuous_lyapunov)).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from math import comb
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm, solve_continuous_lyapunov

from symresp.cli import main

ROOT = Path(__file__).resolve().parent.parent
LINEAR = ROOT / "derivations" / "linear_2d_quadratic.toml"
TANH2 = ROOT / "derivations" / "tanh_2d.toml"

# A 2-D linear network with two inputs, two quadratic outputs and correlated noise (r = 2).
LIN2_TOML = """\
[network]
n = 2
m = 2
activation = "identity"
Gamma = 1
W = [[-0.5, 0.3], [-0.4, -0.2]]
b = [0.2, -0.1]
C = [[1.0, 0.0], [0.5, -1.0]]
sigma = [[0.5, 0.1], [0.0, 0.4]]
[readout]
expression = ["h1**2 + h1*h2/2 + h2", "h2**2 - h1"]
[start]
kind = "point"
h0 = [0.3, -0.2]
"""


class Linear:
    """Closed forms of the linear network for f_j(h) = hᵀQ_j h + V_j h, φ(h) = −A h + b."""

    def __init__(self, A, b, C, sigma, Q, V, h0=None):
        self.A, self.b, self.C = np.asarray(A, float), np.asarray(b, float), np.asarray(C, float)
        self.Q, self.V = [np.asarray(q, float) for q in Q], np.asarray(V, float)
        self.m_inf = np.linalg.solve(self.A, self.b)
        Sigma = np.asarray(sigma, float) @ np.asarray(sigma, float).T
        self.S = solve_continuous_lyapunov(self.A, Sigma)  # A S + S Aᵀ = Σ
        assert np.allclose(self.A @ self.S + self.S @ self.A.T, Sigma)
        self.h0 = None if h0 is None else np.asarray(h0, float)

    def E(self, t):
        return expm(-self.A * t)

    def V0(self):
        return np.array(
            [
                np.trace(Q @ self.S) + self.m_inf @ Q @ self.m_inf + V @ self.m_inf
                for Q, V in zip(self.Q, self.V)
            ]
        )

    def K1(self, k, tau, s=None):
        """Stationary K¹_k(τ); at a point start K¹_k(τ, s) with the mean at time s + τ."""
        mu = self.m_inf if s is None else self.m_inf + self.E(tau + s) @ (self.h0 - self.m_inf)
        return np.array(
            [(2 * mu @ Q + V) @ self.E(tau) @ self.C[:, k] for Q, V in zip(self.Q, self.V)]
        )

    def K2(self, k1, k2, t1, t2):
        """K²_{k1k2}(τ1, τ2) = 2 (e^{−Aτ1}C_{k1})ᵀ Q e^{−A(τ1+τ2)} C_{k2} (either start)."""
        a, c = self.E(t1) @ self.C[:, k1], self.E(t1 + t2) @ self.C[:, k2]
        return np.array([2 * a @ Q @ c for Q in self.Q])

    def c1(self, k, p):
        """Taylor coefficient c_{k,p} = ∂^p K¹ at 0 = (2m∞ᵀQ + V)(−A)^p C_k (stationary)."""
        Ap = np.linalg.matrix_power(-self.A, p)
        return np.array(
            [(2 * self.m_inf @ Q + V) @ Ap @ self.C[:, k] for Q, V in zip(self.Q, self.V)]
        )

    def c2(self, k1, k2, p1, p2):
        """∂^{p1}_{τ1}∂^{p2}_{τ2} K² at 0 (Leibniz on e^{−Aᵀτ1} Q e^{−Aτ1})."""
        mp = np.linalg.matrix_power
        out = []
        for Q in self.Q:
            G = sum(comb(p1, j) * mp(-self.A.T, j) @ Q @ mp(-self.A, p1 - j) for j in range(p1 + 1))
            out.append(2 * self.C[:, k1] @ G @ mp(-self.A, p2) @ self.C[:, k2])
        return np.array(out)


W_LIN = np.array([[-0.5, 0.3], [-0.4, -0.2]])
LIN = Linear(
    np.eye(2) - W_LIN,
    [0.2, -0.1],
    [[1.0], [0.5]],
    0.5 * np.eye(2),
    [[[1, 0.25], [0.25, 0]]],
    [[0, 1]],
)
LIN2 = Linear(
    np.eye(2) - W_LIN,
    [0.2, -0.1],
    [[1.0, 0.0], [0.5, -1.0]],
    [[0.5, 0.1], [0.0, 0.4]],
    [[[1, 0.25], [0.25, 0]], [[0, 0], [0, 1]]],
    [[0, 1], [-1, 0]],
    h0=[0.3, -0.2],
)


@pytest.fixture(scope="module")
def lin2(tmp_path_factory):
    p = tmp_path_factory.mktemp("specs") / "lin2.toml"
    p.write_text(LIN2_TOML)
    return p


def run_json(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def run_fail(capsys, *argv, fragments=()):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith(f"symresp {argv[0]}: error:"), err
    for frag in fragments:
        assert frag in err, f"{frag!r} not in {err!r}"
    return err


# ---------------------------------------------------------------------- derive
def test_derive_json_linear_stationary(capsys):
    P = 3
    out = run_json(capsys, "derive", LINEAR, "--order", 2, "--taylor", P, "--json", "--quiet")
    assert {
        "spec",
        "network",
        "order",
        "taylor",
        "truncation",
        "start",
        "n_terms",
        "auxiliaries",
        "coefficients",
        "V0",
        "conjugate_observable",
    } <= set(out)
    assert (out["order"], out["taylor"], out["truncation"], out["start"]) == (
        2,
        P,
        "total",
        "stationary",
    )
    coeffs = out["coefficients"]
    for n in (1, 2):  # m^n · C(P + n, n) entries (index, powers) per order n at a stationary start
        assert sum(c["order"] == n for c in coeffs) == 1**n * comb(P + n, n)
    for c in coeffs:
        assert set(c) >= {"order", "index", "powers", "observable", "terms", "value"}
        assert len(c["index"]) == len(c["powers"]) == c["order"]
        assert len(c["observable"]) == len(c["terms"]) == len(c["value"]) == 1  # p = 1
        assert sum(c["powers"]) <= P
        k = [i - 1 for i in c["index"]]
        want = LIN.c1(k[0], *c["powers"]) if c["order"] == 1 else LIN.c2(*k, *c["powers"])
        np.testing.assert_allclose(c["value"], want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["V0"], LIN.V0(), rtol=1e-12)
    assert len(out["conjugate_observable"]) == 1 and "h1" in out["conjugate_observable"][0]
    keys = {(tuple(c["index"]), tuple(c["powers"])) for c in coeffs}
    assert len(keys) == len(coeffs)  # no duplicates


def test_derive_counts_two_channels(capsys, lin2):
    P, m = 2, 2
    out = run_json(
        capsys,
        "derive",
        lin2,
        "--order",
        2,
        "--taylor",
        P,
        "--start",
        "stationary",
        "--json",
        "--quiet",
    )
    coeffs = out["coefficients"]
    for n in (1, 2):
        mine = [c for c in coeffs if c["order"] == n]
        assert len(mine) == m**n * comb(P + n, n)
        assert {tuple(c["index"]) for c in mine} == {
            tuple(k + 1 for k in i) for i in np.ndindex(*(m,) * n)
        }
    assert all(len(c["value"]) == 2 for c in coeffs)  # p = 2 outputs
    for c in coeffs:
        k = [i - 1 for i in c["index"]]
        want = LIN2.c1(k[0], *c["powers"]) if c["order"] == 1 else LIN2.c2(*k, *c["powers"])
        np.testing.assert_allclose(c["value"], want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out["V0"], LIN2.V0(), rtol=1e-12)
    # box truncation keeps every p_j ≤ P: (P + 1)^n lag powers per index
    out = run_json(
        capsys,
        "derive",
        lin2,
        "--order",
        2,
        "--taylor",
        P,
        "--start",
        "stationary",
        "--truncation",
        "box",
        "--json",
        "--quiet",
    )
    assert len(out["coefficients"]) == m * (P + 1) + m**2 * (P + 1) ** 2


def test_derive_point_start_counts(capsys, lin2):
    P, m = 2, 2
    out = run_json(capsys, "derive", lin2, "--order", 2, "--taylor", P, "--json", "--quiet")
    assert out["start"] == "point" and "V0" not in out
    coeffs = out["coefficients"]
    for n in (1, 2):  # n + 1 lag powers (τ_1..τ_n, s_n) at a point start
        mine = [c for c in coeffs if c["order"] == n]
        assert len(mine) == m**n * comb(P + n + 1, n + 1)
        assert all(len(c["powers"]) == n + 1 for c in mine)
    # c_{k,(0,0)} = (𝓛₁^k f)(h0) = ∇f(h0)·C_k
    h0 = LIN2.h0
    for c in coeffs:
        if c["order"] == 1 and c["powers"] == [0, 0]:
            k = c["index"][0] - 1
            grad = np.array([2 * Q @ h0 + V for Q, V in zip(LIN2.Q, LIN2.V)])
            np.testing.assert_allclose(c["value"], grad @ LIN2.C[:, k], rtol=1e-12, atol=1e-14)


def test_derive_latex_and_text(capsys, tmp_path):
    tex = tmp_path / "out" / "lin.tex"
    tex.parent.mkdir()
    out = run_json(
        capsys, "derive", LINEAR, "--order", 1, "--taylor", 2, "--latex", tex, "--json", "--quiet"
    )
    assert Path(out["latex"]) == tex and tex.exists()
    body = tex.read_text()
    assert body.lstrip().startswith("\\documentclass") and "\\end{document}" in body
    assert main(["derive", str(LINEAR), "--order", "1", "--taylor", "1", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "derived orders ≤ 1" in text and "c[k=[1], p=[0]]" in text


def test_derive_without_stationary_route_has_note(capsys):
    out = run_json(capsys, "derive", TANH2, "--order", 1, "--taylor", 2, "--json", "--quiet")
    assert len(out["coefficients"]) == comb(3, 1)
    assert all(c["value"] is None for c in out["coefficients"])
    assert "samples" in out["note"] and out["V0"] is None
    assert set(out["auxiliaries"]) == {"T1", "T2"}


def test_console_script_subprocess(tmp_path):
    exe = shutil.which("symresp")
    if exe is None:
        pytest.skip("console script 'symresp' is not installed")
    res = subprocess.run(
        [exe, "derive", str(LINEAR), "--order", "1", "--taylor", "2", "--json", "--quiet"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert len(out["coefficients"]) == comb(2 + 1, 1)
    np.testing.assert_allclose(
        [c["value"][0] for c in out["coefficients"]],
        [LIN.c1(0, p)[0] for p in range(3)],
        rtol=1e-10,
    )
    bad = subprocess.run(
        [
            exe,
            "kernel",
            str(tmp_path / "missing.toml"),
            "--order",
            "1",
            "--index",
            "1",
            "--lags",
            "0.1",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "does not exist" in bad.stderr and "Traceback" not in bad.stderr


# ---------------------------------------------------------------------- kernel
def test_kernel_exact_linear_matches_closed_form(capsys):
    lags = [[0.0], [0.3], [1.7]]
    out = run_json(
        capsys,
        "kernel",
        LINEAR,
        "--order",
        1,
        "--index",
        "1",
        "--method",
        "exact",
        "--lags",
        ";".join(",".join(map(str, r)) for r in lags),
        "--json",
    )
    # Kernel.to_dict() (the exact route's metadata) plus lags and values; no stderr (exact)
    assert set(out) == {
        "order",
        "index",
        "start",
        "method",
        "nlags",
        "auto",
        "basis_degree",
        "basis_size",
        "zero",
        "lags",
        "values",
    }
    assert (out["order"], out["index"], out["method"], out["lags"]) == (1, [1], "exact", lags)
    assert len(out["values"]) == 3 and all(len(row) == 1 for row in out["values"])
    np.testing.assert_allclose(
        out["values"], [LIN.K1(0, t) for (t,) in lags], rtol=1e-10, atol=1e-13
    )
    lags2 = [[0.1, 0.2], [0.3, 0.4], [0.0, 2.5]]
    out = run_json(
        capsys,
        "kernel",
        LINEAR,
        "--order",
        2,
        "--index",
        "1,1",
        "--method",
        "exact",
        "--lags",
        "0.1,0.2; 0.3,0.4; 0,2.5",
        "--json",
    )
    assert out["lags"] == lags2 and len(out["values"]) == 3
    np.testing.assert_allclose(
        out["values"], [LIN.K2(0, 0, *t) for t in lags2], rtol=1e-10, atol=1e-13
    )
    out = run_json(
        capsys,
        "kernel",
        LINEAR,
        "--order",
        3,
        "--index",
        "1,1,1",
        "--method",
        "exact",
        "--lags",
        "0.1,0.2,0.3",
        "--json",
    )
    np.testing.assert_allclose(out["values"], [[0.0]], atol=1e-12)  # exact at order 2


def test_kernel_exact_two_channels_both_starts(capsys, lin2):
    lags = [[0.2, 0.0], [0.5, 1.0]]
    out = run_json(
        capsys,
        "kernel",
        lin2,
        "--order",
        1,
        "--index",
        "2",
        "--method",
        "exact",
        "--lags",
        "0.2,0;0.5,1",
        "--json",
    )  # point start: (τ_1, s_1)
    assert out["lags"] == lags and all(len(row) == 2 for row in out["values"])
    np.testing.assert_allclose(
        out["values"], [LIN2.K1(1, t, s) for t, s in lags], rtol=1e-10, atol=1e-13
    )
    out = run_json(
        capsys,
        "kernel",
        lin2,
        "--order",
        2,
        "--index",
        "2,1",
        "--method",
        "exact",
        "--lags",
        "0.2,0.1,0.7",
        "--json",
    )  # (τ_1, τ_2, s_2)
    np.testing.assert_allclose(out["values"], [LIN2.K2(1, 0, 0.2, 0.1)], rtol=1e-10, atol=1e-13)
    out = run_json(
        capsys,
        "kernel",
        lin2,
        "--order",
        2,
        "--index",
        "1,2",
        "--method",
        "exact",
        "--start",
        "stationary",
        "--lags",
        "0.2,0.1;0,0",
        "--json",
    )
    np.testing.assert_allclose(
        out["values"], [LIN2.K2(0, 1, 0.2, 0.1), LIN2.K2(0, 1, 0, 0)], rtol=1e-10, atol=1e-13
    )
    out = run_json(
        capsys,
        "kernel",
        lin2,
        "--order",
        1,
        "--index",
        "1",
        "--method",
        "exact",
        "--start",
        "stationary",
        "--lags",
        "0.4",
        "--json",
    )
    np.testing.assert_allclose(out["values"], [LIN2.K1(0, 0.4)], rtol=1e-10, atol=1e-13)


def test_kernel_taylor_contract(capsys):
    out = run_json(
        capsys,
        "kernel",
        LINEAR,
        "--order",
        1,
        "--index",
        "1",
        "--method",
        "taylor",
        "--taylor",
        "8",
        "--lags",
        "0;0.05;0.1",
        "--json",
        "--quiet",
    )
    assert {"order", "index", "method", "lags", "values"} <= set(out)
    assert out["method"] == "taylor" and len(out["values"]) == 3
    np.testing.assert_allclose(out["values"], [LIN.K1(0, t) for t in (0, 0.05, 0.1)], rtol=1e-8)


# ------------------------------------------------------------------- refusals
@pytest.mark.parametrize(
    "spec, argv, fragments",
    [
        # lag count: n entries at a stationary start, n + 1 at a point start
        (
            LINEAR,
            ["--order", "2", "--index", "1,1", "--lags", "0.1,0.2,0.3"],
            ["--lags", "needs 2 entries", "stationary"],
        ),
        (
            LINEAR,
            ["--order", "2", "--index", "1,1", "--lags", "0.1;0.2"],
            ["--lags", "needs 2 entries"],
        ),
        (
            LINEAR,
            ["--order", "1", "--index", "1", "--lags", "0.1,0.2"],
            ["--lags", "needs 1 entries"],
        ),
        (
            "lin2",
            ["--order", "1", "--index", "1", "--lags", "0.1"],
            ["--lags", "needs 2 entries", "point", "s_n"],
        ),
        (
            "lin2",
            ["--order", "2", "--index", "1,1", "--lags", "0.1,0.2"],
            ["--lags", "needs 3 entries", "point"],
        ),
        # malformed lags
        (LINEAR, ["--order", "1", "--index", "1", "--lags", "0.1,x"], ["--lags", "0.1,x"]),
        (LINEAR, ["--order", "1", "--index", "1", "--lags", "-0.5"], ["--lags", "non-negative"]),
        (LINEAR, ["--order", "1", "--index", "1", "--lags", "nan"], ["--lags", "finite"]),
        (LINEAR, ["--order", "1", "--index", "1", "--lags", ";"], ["--lags"]),
        # index
        (LINEAR, ["--order", "1", "--index", "2", "--lags", "0.1"], ["--index", "1..1", "[2]"]),
        (LINEAR, ["--order", "1", "--index", "0", "--lags", "0.1"], ["--index", "1..1", "[0]"]),
        ("lin2", ["--order", "1", "--index", "3", "--lags", "0.1,0"], ["--index", "1..2", "[3]"]),
        (
            LINEAR,
            ["--order", "2", "--index", "1", "--lags", "0.1,0.2"],
            ["--index", "order 2 needs 2"],
        ),
        (LINEAR, ["--order", "1", "--index", "one", "--lags", "0.1"], ["--index", "'one'"]),
        # exact on a nonlinear network names the methods that apply
        (
            TANH2,
            ["--order", "1", "--index", "1", "--lags", "0.1", "--method", "exact"],
            ["--method exact", "identity", "'taylor'", "'mc'"],
        ),
        # point start without h0
        (
            LINEAR,
            ["--order", "1", "--index", "1", "--lags", "0.1,0", "--start", "point"],
            ["start.h0", "n = 2"],
        ),
    ],
)
def test_kernel_refusals(capsys, lin2, spec, argv, fragments):
    spec = lin2 if spec == "lin2" else spec
    run_fail(capsys, "kernel", spec, *argv, "--json", fragments=fragments)


def test_spec_file_errors(capsys, tmp_path):
    missing = tmp_path / "missing.toml"
    for cmd in (
        ["derive", missing],
        ["kernel", missing, "--order", "1", "--index", "1", "--lags", "0.1"],
    ):
        run_fail(capsys, *cmd, fragments=["does not exist", "missing.toml"])
    bad = tmp_path / "bad.toml"
    bad.write_text("[network\nn = 2\n")
    for cmd in (["derive", bad], ["kernel", bad, "--order", "1", "--index", "1", "--lags", "0.1"]):
        run_fail(capsys, *cmd, fragments=["not valid TOML", "bad.toml"])
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(LINEAR.read_text().replace("b = [0.2, -0.1]", "b = [0.2, -0.1, 0]"))
    run_fail(capsys, "derive", wrong, "--json", fragments=["network.b", "2 numbers", "length 3"])
    relu = tmp_path / "relu.toml"
    relu.write_text(TANH2.read_text().replace('"tanh"', '"relu"'))
    run_fail(
        capsys,
        "kernel",
        relu,
        "--order",
        "1",
        "--index",
        "1",
        "--lags",
        "0.1",
        fragments=["network.activation", "not smooth"],
    )


def test_argparse_rejects_unknown_method(capsys):
    with pytest.raises(SystemExit) as info:
        main(
            [
                "kernel",
                str(LINEAR),
                "--order",
                "1",
                "--index",
                "1",
                "--lags",
                "0.1",
                "--method",
                "magic",
            ]
        )
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "exact" in err and "taylor" in err and "Traceback" not in err
