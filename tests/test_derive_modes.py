"""``derive(..., coefficients="float")``: fixed-point iterates with a rigorous error bound.

Oracle: the exact derivation of the same network (rational coefficients, the default mode).
Every coefficient of every float observable must lie within the derivation's stated bound of
the exact coefficient (``Derivation.coefficient_error``): that is the bound's definition, so
the tolerance is the bound itself, with no slack.  The bound must also be small (not
vacuous): below 1e-8 of the largest exact coefficient at 48 fractional bits on these small
networks (one rounding costs 2^-48 ≈ 3.6e-15; the growth through at most six operator
applications stays far below 10^6 here), and it must shrink like 2^-F with the number F of fractional bits (float_bits).
"""

from __future__ import annotations

import pytest
from test_derive_limits import small_net as _net

from symresp.errors import ArgumentError, ArgumentTypeError, UnsupportedError
from symresp.model.network import SRNN
from symresp.symbolic.recursion import derive


def _max_abs(poly) -> float:
    return max((abs(float(c)) for c in poly.coeffs()), default=0.0)


def _compare(net, order, P, precision=48, **kw):
    """(worst ratio error/bound, largest bound, largest exact coefficient) over observables."""
    exact = derive(net, order, P, **kw)
    flt = derive(net, order, P, coefficients="float", float_bits=precision, **kw)
    assert flt.coefficients == "float" and exact.coefficient_error == {}
    assert set(flt.observables) == set(exact.observables)
    worst, scale = 0.0, 0.0
    for key, gs in exact.observables.items():
        for g, h, bound in zip(gs, flt.observables[key], flt.coefficient_error[key]):
            err = _max_abs(g - h)
            assert err <= bound, (key, err, bound)
            if bound:
                worst = max(worst, err / bound)
            scale = max(scale, _max_abs(g))
    return worst, flt.max_coefficient_error, scale


@pytest.mark.parametrize(
    "activation, n, start, order, P",
    [
        ("tanh", 2, "stationary", 2, 4),
        ("tanh", 1, "point", 1, 3),
        ("sigmoid", 2, "stationary", 1, 3),
        ("softplus", 2, "stationary", 2, 3),
        ("cubic", 2, "point", 1, 3),
    ],
)
def test_float_within_bound_of_exact(activation, n, start, order, P):
    worst, bound, scale = _compare(_net(activation, n, start), order, P)
    assert bound <= 1e-8 * scale, (bound, scale)
    assert worst <= 1.0


def test_float_box_truncation_and_input_in_activation():
    net = _net("tanh", 1, input_site="activation")
    worst, bound, scale = _compare(net, 2, 2)
    assert bound <= 1e-8 * scale
    worst, bound, scale = _compare(_net("tanh", 2), 1, 2, truncation="box")
    assert bound <= 1e-8 * scale


def test_bound_shrinks_with_precision():
    """Every rounding is below one unit 2^-F and the propagation factors do not depend on F,
    so going from F = 48 to F = 80 divides the bound by 2^32 (up to the unit added when the
    readout itself is rounded, absent here: its coefficients are integers)."""
    net = _net("tanh", 2)
    _, b48, _ = _compare(net, 1, 4, precision=48)
    _, b80, _ = _compare(net, 1, 4, precision=80)
    assert 0 < b80 <= b48 * 2.0**-31


def test_float_mode_bad_arguments():
    net = _net("tanh", 2)
    with pytest.raises(ArgumentError, match="coefficients"):
        derive(net, 1, 2, coefficients="modular")
    with pytest.raises(ArgumentError, match="float_bits"):
        derive(net, 1, 2, coefficients="float", float_bits=8)
    with pytest.raises(ArgumentTypeError, match="float_bits"):
        derive(net, 1, 2, coefficients="float", float_bits=48.0)
    with pytest.raises(ArgumentError, match="symbolic=True"):
        derive(net, 1, 2, coefficients="float", symbolic=True)
    nonpoly = SRNN.create(
        n=1,
        m=1,
        activation="tanh",
        Gamma=1,
        W=[["0.5"]],
        b=["0"],
        C=[["1"]],
        sigma="0.3",
        readout=["exp(h1)"],
    )
    with pytest.raises(UnsupportedError, match="coefficients='float'"):
        derive(nonpoly, 1, 2, coefficients="float")


def test_float_derivation_feeds_the_taylor_kernel():
    """The kernel coefficients E_∞[G_{k,p}] from a float derivation of the 1-D tanh network
    (Γ = 1, W = 0.8, b = 0.1, σ = 0.5) against those of the exact derivation.  Rigorous
    tolerance: |E[ĝ − g]| ≤ e Σ_m E_∞|h|^{a_m} (|T| ≤ 1, e the observable's coefficient bound,
    a_m the h-degree of each monomial where ĝ and g differ), with the moments E_∞|h|^a from
    the Gibbs density ρ ∝ exp((2/σ²)(−h²/2 + log cosh(0.8h + 0.1)/0.8)) by quadrature here,
    plus 1e-13 for the double-precision expectation route itself."""
    import numpy as np
    from scipy.integrate import quad

    import symresp

    net = symresp.load_spec("derivations/tanh_1d.toml")
    exact = derive(net, 2, 4)
    flt = derive(net, 2, 4, coefficients="float")

    def density(h, a=0):  # beyond |h| = 12 the density is below e^-500 of its peak
        z = 0.8 * h + 0.1
        log_cosh = np.logaddexp(z, -z) - np.log(2.0)
        return abs(h) ** a * np.exp((2 / 0.25) * (-(h**2) / 2 + log_cosh / 0.8))

    Z = quad(density, -12, 12)[0]
    moment = [quad(density, -12, 12, args=(a,))[0] / Z for a in range(12)]
    for order, index in ((1, [0]), (2, [0, 0])):
        Ke = symresp.taylor_kernel(exact, order, index)
        Kf = symresp.taylor_kernel(flt, order, index)
        for i, p in enumerate(map(tuple, Ke.powers)):
            key = (tuple(index), p)
            diff = exact.observables[key][0] - flt.observables[key][0]
            tol = flt.coefficient_error[key][0] * sum(moment[m[0]] for m in diff.monoms())
            assert abs(Ke.coeffs[i] - Kf.coeffs[i]) <= tol + 1e-13, (key, tol)


def test_cli_float_coefficients(capsys):
    """``symresp derive --coefficients float --json`` on the 1-D tanh network: the mode and
    its bound are reported, and the coefficient values agree with the exact run's within
    1e-8 (the rigorous tolerance of the Taylor-kernel test above, bound × Σ E|h|^a, is below
    1e-9 for these observables)."""
    import json

    from symresp.cli import main

    runs = {}
    for mode in ("exact", "float"):
        argv = ["derive", "derivations/tanh_1d.toml", "--order", "2", "--taylor", "3"]
        assert main([*argv, "--coefficients", mode, "--json", "--quiet"]) in (0, None)
        runs[mode] = json.loads(capsys.readouterr().out)
    assert runs["exact"]["coefficient_mode"] == "exact"
    assert runs["exact"]["coefficient_error_bound"] == 0
    assert runs["float"]["coefficient_mode"] == "float"
    assert 0 < runs["float"]["coefficient_error_bound"] < 1e-9
    for a, b in zip(runs["exact"]["coefficients"], runs["float"]["coefficients"]):
        assert (a["order"], a["index"], a["powers"]) == (b["order"], b["index"], b["powers"])
        assert all(abs(x - y) <= 1e-8 for x, y in zip(a["value"], b["value"]))


def test_latex_of_a_float_derivation_does_not_read_as_exact():
    """A fixed-point derivation stores dyadic fractions (e.g. 14073748835533/2^46 for 0.2);
    printed as fractions they would read as exact.  The document prints them as decimals and
    states the coefficient bound instead; the exact derivation keeps its fractions."""
    import re

    from symresp import load_spec
    from symresp.report.latex import latex_document

    net = load_spec("derivations/tanh_1d.toml")
    doc = latex_document(derive(net, 1, 3, coefficients="float"))
    observables = doc[doc.index(r"\section{Taylor coefficient observables}") :]
    assert "fixed-point arithmetic" in observables and "within" in observables
    assert not re.search(r"\\tfrac\{\d{6,}\}", observables)  # no 2^k denominators
    # G_{1;1} = ∂_h(−h + tanh(0.8 h + 0.1)) = −1 + 0.8 (1 − T²) = −0.2 − 0.8 T²
    assert r"-0.2 - 0.8\,T_{1}^{2}" in observables
    exact = latex_document(derive(net, 1, 3))
    assert r"\tfrac{1}{5}" in exact and "fixed-point" not in exact
