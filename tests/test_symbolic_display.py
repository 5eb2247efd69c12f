"""Jupyter display of networks and derivations, and observables as SymPy expressions with the
auxiliaries written back."""

from pathlib import Path

import pytest
import sympy as sp

from symresp import SRNN, derive, load_spec
from symresp.errors import ArgumentError
from symresp.symbolic.expressions import z_symbols

SPECS = Path(__file__).parent.parent / "derivations"


def test_tanh_written_back():
    """tanh_1d: dh = (−h + tanh(z) + εu) dt + σ dW, z = 4h/5 + 1/10, f = h (C = 1).

    G_{1;1} = 𝓛₁𝓛₀ f = ∂_h(−h + tanh z) = −1 + (4/5)(1 − tanh²z) = −1/5 − (4/5) tanh²(z);
    "z" keeps z₁ as a symbol, "h" substitutes z₁ = 4h₁/5 + 1/10, "symbols" keeps T₁."""
    net = load_spec(SPECS / "tanh_1d.toml")
    der = derive(net, 1, 2)
    h1 = net.h[0]
    (z1,) = z_symbols(1)
    G = lambda form: der.as_exprs(form)[((0,), (1,))][0]
    assert sp.simplify(G("z") - (-sp.Rational(1, 5) - sp.Rational(4, 5) * sp.tanh(z1) ** 2)) == 0
    zh = sp.Rational(4, 5) * h1 + sp.Rational(1, 10)
    assert sp.simplify(G("h") - (-sp.Rational(1, 5) - sp.Rational(4, 5) * sp.tanh(zh) ** 2)) == 0
    # independent route: differentiate the drift written out in h
    assert sp.simplify(G("h") - sp.diff(net.drift[0], h1)) == 0
    assert G("symbols").free_symbols == {sp.Symbol("T1", real=True)}
    # every observable, every form: the same function of h
    for key, es in der.as_exprs("h").items():
        z_form = der.as_exprs("z")[key][0].subs(z1, zh)
        assert sp.simplify(es[0] - z_form) == 0
    with pytest.raises(ArgumentError, match="auxiliaries"):
        der.as_exprs("tanh(z)")


def test_network_repr_latex_with_parameters():
    """The display shows the SDE, the matrices with the parameters as symbols, and their
    declared values."""
    net = SRNN.create(
        n=1,
        activation="identity",
        Gamma="k",
        W=[[0]],
        C=[[1]],
        sigma="s",
        readout="h1**2",
        parameters={"k": 1.5, "s": 0.4},
    )
    tex = net._repr_latex_()
    assert tex.startswith("$") and tex.endswith("$")
    assert r"dh_t = \bigl[-\Gamma h + a(W h + b) + \varepsilon\,\gamma(h)\,u\bigr]" in tex
    assert r"\Gamma = \left[\begin{matrix}k\end{matrix}\right]" in tex
    assert r"\sigma = \left[\begin{matrix}s\end{matrix}\right]" in tex
    assert r"k = \frac{3}{2}" in tex and r"s = \frac{2}{5}" in tex
    assert r"f(h) = \left[\begin{matrix}h_{1}^{2}\end{matrix}\right]" in tex


def test_derivation_repr_latex():
    """The display names the derivation and its observables, G_{1;1} = −1/5 − (4/5)T₁²."""
    der = derive(load_spec(SPECS / "tanh_1d.toml"), 1, 2)
    tex = der._repr_latex_()
    assert r"n \le 1" in tex and "P = 2" in tex and r"4\ \text{observables}" in tex
    assert r"G_{1;\,1} &= - \frac{4 T_{1}^{2}}{5} - \frac{1}{5}" in tex
