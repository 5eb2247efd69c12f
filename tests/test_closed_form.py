"""Closed forms of kernels (Kernel.as_expr) and symbolic parameters."""

import json

import numpy as np
import pytest
import scipy.linalg
import sympy as sp

from symresp import SRNN
from symresp.errors import SpecError, UnsupportedError
from symresp.kernels.exact import exact_kernel
from symresp.model.spec import spec_from_dict
from symresp.symbolic.matexp import exp_minus_A
from symresp.symbolic.recursion import derive

k, s, a, b = sp.symbols("k s a b")
t1, t2, t3 = sp.symbols("tau1 tau2 tau3")


def ou(readout, *, start=None, coupling=None, params=None):
    d = {
        "parameters": params or {"k": 1.5, "s": 0.4, "b": 0.3},
        "network": {
            "n": 1,
            "activation": "identity",
            "Gamma": "k",
            "W": [[0]],
            "b": ["b"] if "b" in (params or {"b": 0}) else [0],
            "sigma": "s",
        },
        "readout": {"expression": readout},
    }
    if coupling is None:
        d["network"]["C"] = [[1]]
    else:
        d["network"]["coupling"] = [[coupling]]
    if start is not None:
        d["start"] = {"kind": "point", "h0": [start]}
    return spec_from_dict(d)


def same(expr, expected):
    return sp.simplify(sp.expand(expr - expected)) == 0


def test_ou_quadratic_readout_both_starts():
    """dh = (−k h + b) dt + s dW, f = h²: m = b/k, S = s²/(2k), e_j = e^{−kτ_j}.
    P_τ h² = (m + e(h − m))² + S(1 − e²), so 𝓛₁ P_{τ1} h² = 2e_1(m + e_1(h − m)) and
    K⁽¹⁾ = E_∞[2e_1(m + e_1(h − m))] = 2(b/k) e^{−kτ_1}.  Once more:
    P_{τ2}: 2e_1(m + e_1e_2(h − m)), 𝓛₁: 2e_1²e_2, so K⁽²⁾ = 2e^{−k(2τ_1+τ_2)}.
    Point start h_0: K⁽¹⁾(τ_1, τ_2) = 2e_1(m + e_1e_2(h_0 − m))."""
    net = ou("h1**2")
    assert same(exact_kernel(net, 1).as_expr(), 2 * b / k * sp.exp(-k * t1))
    assert same(exact_kernel(net, 2).as_expr(), 2 * sp.exp(-k * (2 * t1 + t2)))
    assert exact_kernel(net, 3).as_expr() == 0
    pt = ou("h1**2", start="a", params={"k": 1.5, "s": 0.4, "b": 0.3, "a": 0.2})
    K = exact_kernel(pt, 1)
    m, e1, e2 = b / k, sp.exp(-k * t1), sp.exp(-k * t2)
    assert same(K.as_expr(), 2 * e1 * (m + e1 * e2 * (a - m)))
    assert K.expr_info["exact"] and K.expr_info["parameters"] == {
        "a": sp.Rational(1, 5),
        "b": sp.Rational(3, 10),
        "k": sp.Rational(3, 2),
        "s": sp.Rational(2, 5),
    }


def test_ou_cubic_readout_orders_1_to_3():
    """b = 0, f = h³, S = s²/(2k): P_τ h³ = e³h³ + 3e h S(1 − e²), so
    𝓛₁P_{τ1}h³ = 3e_1³h² + 3e_1S(1 − e_1²) and K⁽¹⁾ = 3e_1³S + 3e_1S(1 − e_1²) = 3S e_1;
    P_{τ2} then 𝓛₁ give 6e_1³e_2²h (K⁽²⁾ = E_∞[·] = 0), and once more 6e_1³e_2²e_3:
    K⁽³⁾ = 6 e^{−k(3τ_1 + 2τ_2 + τ_3)}."""
    net = ou("h1**3", params={"k": 1.5, "s": 0.4})
    S = s**2 / (2 * k)
    assert same(exact_kernel(net, 1).as_expr(), 3 * S * sp.exp(-k * t1))
    assert exact_kernel(net, 2).as_expr() == 0
    assert same(exact_kernel(net, 3).as_expr(), 6 * sp.exp(-k * (3 * t1 + 2 * t2 + t3)))


def test_state_dependent_coupling():
    """b = 0, γ(h) = 1 + a h, f = h: 𝓛₁P_{τ1}h = (1 + a h)e_1, K⁽¹⁾ = e_1 (m = 0);
    P_{τ2}: e_1(1 + a e_2 h), 𝓛₁: (1 + a h) a e_1e_2, K⁽²⁾ = a e^{−k(τ_1+τ_2)}."""
    net = ou("h1", coupling="1 + a*h1", params={"k": 1.5, "s": 0.4, "a": 0.7})
    assert same(exact_kernel(net, 1).as_expr(), sp.exp(-k * t1))
    assert same(exact_kernel(net, 2).as_expr(), a * sp.exp(-k * (t1 + t2)))


SPEC2 = {
    "parameters": {"k": 1.5, "s": 0.4, "w": 0.6, "v": 0.2},
    "network": {
        "n": 2,
        "activation": "identity",
        "Gamma": "k",
        "W": [["w", "-v"], ["v", "0"]],
        "b": [0.2, "-v/2"],
        "C": [[1], [0.5]],
        "sigma": "s",
    },
    "readout": {"expression": "h1**2 + h1*h2/2 + h2"},
}
SPEC3 = {
    "network": {
        "n": 3,
        "activation": "identity",
        "Gamma": 1,
        "W": [[-0.5, 0.3, 0.1], [-0.4, -0.2, 0.2], [0.1, 0, -0.3]],
        "b": [0.2, -0.1, 0],
        "C": [[1], [0.5], [0]],
        "sigma": 0.5,
    },
    "readout": {"expression": "h1**2 + h3*h2/2 + h2"},
}
SPEC3T = {
    "parameters": {"g": 1.2, "w": 0.4, "s": 0.5},
    "network": {
        "n": 3,
        "activation": "identity",
        "Gamma": ["g", "2*g", 1],
        "W": [[0, "w", 0], [0, 0, "w"], [0, 0, 0]],
        "b": [0.2, -0.1, 0.1],
        "C": [[1], [0.5], [1]],
        "sigma": "s",
    },
    "readout": {"expression": "h1**2 + h3*h2/2 + h2"},
}


@pytest.mark.parametrize(
    "spec, order, start",
    [
        (SPEC2, 1, None),
        (SPEC2, 2, None),
        (SPEC2, 2, [0.1, "v"]),
        (SPEC3, 2, None),
        (SPEC3T, 2, None),
        (SPEC3T, 1, [0.1, 0.2, -0.3]),
    ],
)
def test_symbolic_matches_numeric_route(spec, order, start):
    """The closed form with the declared values substituted equals the expm route at random
    lags to 1e-12 (relative)."""
    d = dict(spec)
    if start is not None:
        d = {**spec, "start": {"kind": "point", "h0": start}}
    net = spec_from_dict(d)
    K = exact_kernel(net, order)
    expr = K.as_expr().xreplace(net.values)
    f = sp.lambdify(K.lag_symbols(), expr, "numpy")
    L = np.random.default_rng(1).uniform(0, 2, (5, K.nlags))
    sym = np.array([complex(f(*row)).real for row in L])
    num = K(L)[:, 0]
    assert np.max(np.abs(sym - num) / np.abs(num)) < 1e-12
    assert K.expr_info["exact"] == (spec is not SPEC3)
    names = {str(x) for x in K.as_expr().free_symbols}
    assert names <= {str(t) for t in K.lag_symbols()} | {str(p) for p, _ in net.parameters}


@pytest.mark.parametrize(
    "A",
    [
        [[1, "1/2"], ["-1/3", 2]],
        [[1, 2], [-3, 1]],
        [[2, 1], [0, 2]],
        [[1, 1, 0], [0, 1, 1], [0, 0, 1]],
        [[2, 1, 0], [0, 3, 1], [0, 0, 1]],
        [[2, 1, "1/2"], [-1, "3/2", "1/5"], ["3/10", 0, 1]],
    ],
)
def test_exp_minus_A_against_expm(A):
    A = sp.Matrix(A).applyfunc(sp.Rational)
    tau = sp.Symbol("tau")
    E, exact, form = exp_minus_A(A, tau)
    An = np.array(A.evalf(), float)
    for tv in (0.3, 1.7):
        En = np.array(E.subs(tau, tv).evalf(20), complex)
        assert np.abs(En - scipy.linalg.expm(-tv * An)).max() < 1e-13
    assert exact == (form != "modal")


def test_routes_without_closed_form_name_those_with_one():
    from symresp.kernels.base import Kernel

    class Dummy(Kernel):
        order, index, start, method = 1, (0,), "stationary", "mc"

        def _evaluate(self, lags):
            return lags

    with pytest.raises(UnsupportedError, match="'exact'.*'deterministic'.*'taylor'"):
        Dummy().as_expr()


def test_parameters_in_specs_and_python():
    with pytest.raises(SpecError, match="declare a parameter"):
        spec_from_dict({**SPEC2, "parameters": {}})
    g = sp.Symbol("g")
    net = SRNN.create(
        n=1,
        activation="identity",
        Gamma=g,
        W=[[0]],
        C=[[1]],
        sigma=1,
        readout="h1**2",
        parameters={g: 2},
    )
    assert net.Gamma[0, 0] == 2 and net.symbolic().Gamma[0, 0] == g
    with pytest.raises(SpecError, match="declared parameter values g = 1/2"):
        SRNN.create(
            n=1, activation="identity", Gamma=g, W=[[1]], C=[[1]], sigma=1, parameters={g: 0.5}
        )
    with pytest.raises(SpecError, match="usable parameter name"):
        SRNN.create(n=1, Gamma=1, W=[[0]], C=[[1]], parameters={"h1": 1})


def test_derivation_keeps_parameters_and_irrational_constants():
    net = spec_from_dict({**SPEC2, "network": {**SPEC2["network"], "activation": "tanh"}})
    d = derive(net, 1, 1, symbolic=True)
    g = d.algebra.to_expr(d.observables[((0,), (1,))][0])
    assert {"k", "w", "v"} <= {str(x) for x in g.free_symbols}
    num = derive(net, 1, 1)
    assert (
        sp.expand(g.xreplace(net.values) - num.algebra.to_expr(num.observables[((0,), (1,))][0]))
        == 0
    )
    n3 = SRNN.create(
        n=1,
        activation="tanh",
        Gamma="sqrt(2)",
        W=[[1]],
        C=[["pi/4"]],
        sigma=1,
        readout="h1**2",
        start="point",
        h0=[0.1],
    )
    d3 = derive(n3, 1, 1, symbolic=True)
    assert d3.algebra.to_expr(d3.observables[((0,), (1, 0))][0]).has(sp.sqrt(2), sp.pi)
    derive(n3, 1, 2)  # the numeric ring takes the constants' doubles: no crash


def test_cli_symbolic_json_round_trip(tmp_path, capsys):
    import symresp.cli as cli

    spec = tmp_path / "ou.toml"
    spec.write_text(
        '[parameters]\nk = 1.5\ns = 0.4\n[network]\nn = 1\nactivation = "identity"\n'
        'Gamma = "k"\nW = [[0]]\nb = [0.3]\nC = [[1]]\nsigma = "s"\n'
        '[readout]\nexpression = "h1**2"\n'
    )
    cli.main(
        [
            "kernel",
            str(spec),
            "--order",
            "2",
            "--index",
            "1,1",
            "--method",
            "exact",
            "--symbolic",
            "--json",
        ]
    )
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"order", "index", "method", "expr", "latex", "lags", "parameters", "exact"}
    assert out["lags"] == ["tau1", "tau2"] and out["parameters"] == {"k": 1.5, "s": 0.4}
    assert out["exact"] is True and out["index"] == [1, 1]
    expr = sp.sympify(out["expr"])
    val = float(expr.subs({sp.Symbol("tau1"): 0.3, sp.Symbol("tau2"): 0.7, sp.Symbol("k"): 1.5}))
    cli.main(
        [
            "kernel",
            str(spec),
            "--order",
            "2",
            "--index",
            "1,1",
            "--method",
            "exact",
            "--lags",
            "0.3,0.7",
            "--json",
        ]
    )
    ref = json.loads(capsys.readouterr().out)["values"][0][0]
    assert abs(val - ref) <= 1e-12 * abs(ref)
    assert sp.simplify(expr - 2 * sp.exp(-sp.Symbol("k") * (2 * t1 + t2))) == 0
