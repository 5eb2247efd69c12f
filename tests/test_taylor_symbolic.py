"""Taylor kernels with symbolic parameters: exact coefficients in the parameters where the
expectation is exact (point start; the linear network's Gaussian stationary law)."""

import numpy as np
import sympy as sp

from symresp import SRNN, kernel

k, s, c, w, x = sp.symbols("k s c w x")
t1, t2 = sp.symbols("tau1 tau2")


def _coefficient(expr, p1, p2=0):
    """c_p of Σ_p c_p τ1^p1 τ2^p2 / (p1! p2!)."""
    poly = sp.Poly(sp.expand(expr), t1, t2)
    return poly.coeff_monomial(t1**p1 * t2**p2) * sp.factorial(p1) * sp.factorial(p2)


def _ou():
    return SRNN.create(
        n=1,
        activation="identity",
        Gamma="k",
        W=[[0]],
        b=["c"],
        C=[[1]],
        sigma="s",
        readout="h1**2",
        parameters={"k": 1.5, "s": 0.4, "c": 0.3},
    )


def test_linear_stationary_exact_in_the_parameters():
    """dh = (−k h + c + εu) dt + s dW, f = h²: ρ_∞ = N(c/k, s²/(2k)).

    K⁽¹⁾(τ) = 2 m_∞ e^{−kτ} = (2c/k) e^{−kτ}, so c_p = (2c/k)(−k)^p;
    K⁽²⁾(τ1, τ2) = 2 e^{−2kτ1 − kτ2}, so c_{p1,p2} = 2 (−2k)^{p1} (−k)^{p2}.
    The coefficients must equal these exactly (SymPy simplification to zero)."""
    net = _ou()
    K1 = kernel(net, 1, [0], method="taylor", taylor=4)
    K2 = kernel(net, 2, [0, 0], method="taylor", taylor=3)
    assert K1.expr_info["coefficients_exact"] and K2.expr_info["coefficients_exact"]
    e1, e2 = K1.as_expr(), K2.as_expr()
    assert e1.free_symbols == {t1, k, c}
    for p in range(5):
        assert sp.simplify(_coefficient(e1, p) - 2 * c / k * (-k) ** p) == 0
    for p1 in range(4):
        for p2 in range(4 - p1):
            assert sp.simplify(_coefficient(e2, p1, p2) - 2 * (-2 * k) ** p1 * (-k) ** p2) == 0


def test_values_substituted_match_the_numeric_coefficients():
    """2-D linear network with parameters, both starts: the exact coefficients at the declared
    values equal the numeric route's doubles (≤ 1e-12 relative: one rounding per operation
    of a few-term sum)."""
    common = dict(
        n=2,
        activation="identity",
        Gamma=[["k", 0], [0, 1]],
        W=[[0, "w"], ["-w/2", 0]],
        C=[[1], [0.5]],
        sigma="s",
        readout="h1**2 + h1*h2",
        parameters={"k": 1.5, "w": 0.4, "s": 0.5},
    )
    nets = [SRNN.create(**common), SRNN.create(**common, start="point", h0=[0.3, -0.2])]
    vals = {k: sp.Rational(3, 2), w: sp.Rational(2, 5), s: sp.Rational(1, 2)}
    for net in nets:
        K = kernel(net, 2, [0, 0], method="taylor", taylor=2)
        assert K.expr_info["coefficients_exact"]
        expr = K.as_expr()
        assert expr.free_symbols & {k, w, s}
        taus = K.lag_symbols()
        poly = sp.Poly(sp.expand(expr.xreplace(vals)), *taus)
        for p, cf in zip(K.powers.tolist(), K.coeffs[:, 0]):
            fact = np.prod([float(sp.factorial(e)) for e in p])
            got = float(poly.coeff_monomial(sp.Mul(*[t**e for t, e in zip(taus, p)]))) * fact
            assert abs(got - cf) <= 1e-12 * max(1.0, abs(cf)), (net.start, p, got, cf)


def test_point_start_nonlinear_exact_in_the_parameters():
    """dh = (−k h + tanh(w h) + εu) dt + s dW, f = h, h_0 = x (point start; lags τ1, s1).

    c_{0,0} = 𝓛₁ f = 1; c_{1,0} = (𝓛₁𝓛₀ f)(x) = ∂_h(−k h + tanh(w h))(x) = −k + w(1 − tanh²(wx));
    c_{0,1} = (𝓛₀𝓛₁ f)(x) = 𝓛₀ 1 = 0."""
    net = SRNN.create(
        n=1,
        activation="tanh",
        Gamma="k",
        W=[["w"]],
        C=[[1]],
        sigma="s",
        readout="h1",
        start="point",
        h0=["x"],
        parameters={"k": 1.5, "s": 0.4, "w": 0.5, "x": 0.2},
    )
    K = kernel(net, 1, [0], method="taylor", taylor=2)
    e = K.as_expr()
    assert K.expr_info["coefficients_exact"]
    assert _coefficient(e, 0, 0) == 1
    assert sp.simplify(_coefficient(e, 1, 0) - (-k + w * (1 - sp.tanh(w * x) ** 2))) == 0
    assert _coefficient(e, 0, 1) == 0


def test_point_start_rational_only_where_exact():
    """dh = (−h + tanh(h/2) + εu) dt + dW/2, f = h.  At h_0 = 0 every auxiliary is rational
    (tanh 0 = 0): c_{1,0} = −1 + (1/2)(1 − 0) = −1/2 exactly.  At h_0 = 3/10, tanh(3/20) is
    irrational: the coefficients are doubles and not claimed exact."""
    make = lambda h0: SRNN.create(  # noqa: E731
        n=1, activation="tanh", W=[[0.5]], C=[[1]], sigma=0.5, V=[[1]], start="point", h0=[h0]
    )
    K0 = kernel(make(0), 1, [0], method="taylor", taylor=3)
    assert K0.expr_info["coefficients_exact"]
    assert _coefficient(K0.as_expr(), 1, 0) == sp.Rational(-1, 2)
    K3 = kernel(make(0.3), 1, [0], method="taylor", taylor=3)
    assert not K3.expr_info["coefficients_exact"]
    c10 = float(_coefficient(K3.as_expr(), 1, 0))
    assert abs(c10 - (-1 + 0.5 * (1 - np.tanh(0.15) ** 2))) < 1e-14
