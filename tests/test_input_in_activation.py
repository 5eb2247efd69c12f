"""Input inside a nonlinear activation: monomials, local terms, predictions.

Oracle: with σ = 0 and a point start the network is the ODE
h' = −Γh + a(Wh + b + εCu(t)), solved here by scipy (DOP853, rtol 1e-13) for
ε ∈ {0, ±δ, ±2δ}; five-point stencils give V_1 and V_2 with error O(δ⁴) + O(1e-13/δ²),
about 1e-8 at δ = 0.005 (measured: halving δ divides the error by ~16 until then).
The series uses Taylor kernels with P = 10 on t ≤ 0.5, well inside their radius
(V_0 alone agrees to 6e-12 there), and the O(dt²) recursion on 2·10⁴ steps.  Tolerance
1e-7: ten times the oracle's error.  The local terms (one time integral of a''(z)
(Cu)²/2, several channel products) are worth O(0.5) here: dropping them, or weighting
the cross term wrongly, misses by orders of magnitude more.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import symresp
from symresp.cli import main as cli_main
from symresp.kernels.taylor import taylor_kernel
from symresp.series.volterra import _quiet, _refined, predict, volterra_recursion
from symresp.symbolic.generators import input_monomials
from symresp.symbolic.recursion import derive

C = (1.5, -0.7)
T = np.linspace(0.0, 0.5, 11)


def _u(t):
    t = np.asarray(t, float)
    return np.column_stack([np.cos(3 * t) + 0.5, np.sin(2 * t)])


def _net(sigma="0", start="point"):
    where = dict(start="point", h0=["0.2"]) if start == "point" else dict(start="stationary")
    return symresp.SRNN.create(
        n=1,
        m=2,
        activation="tanh",
        Gamma=1,
        W=[["0.8"]],
        b=["0.3"],
        C=[[str(c) for c in C]],
        sigma=sigma,
        V=[[1]],
        input_site="activation",
        **where,
    )


@pytest.fixture(scope="module")
def oracle():
    def y(eps):
        def rhs(t, h):
            u = _u([t])[0]
            return -h + np.tanh(0.8 * h + 0.3 + eps * (C[0] * u[0] + C[1] * u[1]))

        return solve_ivp(
            rhs, (0, T[-1]), [0.2], t_eval=T, method="DOP853", rtol=1e-13, atol=1e-14
        ).y[0]

    d = 0.005
    y0, yp, ym, yp2, ym2 = y(0.0), y(d), y(-d), y(2 * d), y(-2 * d)
    v1 = (8 * (yp - ym) - (yp2 - ym2)) / (12 * d)
    v2 = (16 * (yp + ym) - (yp2 + ym2) - 30 * y0) / (24 * d * d)
    return y0, v1, v2


def test_monomials_enumerate_the_inputs():
    assert input_monomials(1, 3) == [(1, (1,)), (2, (2,)), (3, (3,))]
    assert input_monomials(2, 2) == [
        (1, (1, 0)),
        (1, (0, 1)),
        (2, (2, 0)),
        (2, (1, 1)),
        (2, (0, 2)),
    ]
    der = derive(_net(), 2, 1)
    assert der.local_terms and der.monomials == input_monomials(2, 2)
    # words: every monomial alone, and pairs of weight-1 monomials (weight 2 ≤ order)
    assert der.indices(1) == [(k,) for k in range(5)]
    assert der.indices(2) == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert [der.weight(w) for w in der.indices(1)] == [1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="weight 4 > the derived order 2"):
        taylor_kernel(der, 2, (2, 2))


@pytest.mark.parametrize("via", ["recursion", "quadrature"])
def test_series_matches_the_ode_to_second_order(oracle, via):
    y0, v1, v2 = oracle
    r = predict(_net(), _u, order=2, eps=1.0, t=T, taylor=10, via=via, min_steps=20000)
    np.testing.assert_allclose(r.V0[:, 0], y0, rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.scaled_terms[1, :, 0], v1, rtol=0, atol=1e-7)
    np.testing.assert_allclose(r.scaled_terms[2, :, 0], v2, rtol=0, atol=1e-7)


def test_local_terms_are_large_here(oracle):
    # the one-integral (local) part of V_2, with the monomials' inputs u1², u1·u2, u2²
    der = derive(_net(), 2, 10)
    local = {(1, (k,)): _quiet(taylor_kernel(der, 1, (k,))) for k in (2, 3, 4)}
    fine, stride = _refined(T, 20000)
    u = _u(fine)
    U = np.column_stack([u[:, 0], u[:, 1], u[:, 0] ** 2, u[:, 0] * u[:, 1], u[:, 1] ** 2])
    part = volterra_recursion(local, U, fine, 2, "point", weight=der.weight)[1, ::stride, 0]
    assert np.abs(part).max() > 0.1  # 10⁶ × the tolerance of the test above
    # with the cross monomial weighted as u1·u2/2 instead of u1·u2 the series would miss by
    # |part of the cross term|/2
    cross = volterra_recursion(
        {(1, (3,)): local[(1, (3,))]}, U, fine, 2, "point", weight=der.weight
    )[1, ::stride, 0]
    assert np.abs(cross).max() / 2 > 1e-3


@pytest.mark.filterwarnings("ignore:symresp. severe cancellation")
@pytest.mark.parametrize("start", ["point", "stationary"])
def test_noisy_network_passes_the_monte_carlo_check(start):
    # σ > 0: the same monomials with the noise part of 𝓛₀; series vs simulation inside the
    # computed budget (statistics, time step, next order, lag truncation).  ε = 0.2: the
    # budget's tail term 2|ε³V₃| presumes a geometric decay, and with |Cu| up to 2.3 the
    # ε⁴V₄ term is comparable at ε = 0.4 (measured: ±ε Monte Carlo at ε = 0.2, 0.1, 0.05
    # converges to the series' V₂ at the stationary start, −0.1612 at t = 0.1)
    net = _net("0.4", start)  # stationary, 1-D: Gibbs quadrature for E∞
    res = symresp.check(
        net,
        "cos(3*t) + 0.5; sin(2*t)",
        order=2,
        eps=0.2,
        T=0.5,
        dt=0.005,
        out_every=20,
        taylor=8,
        paths=20000,
    )
    assert np.all(res.passed)


def test_cli(tmp_path, capsys):
    spec = tmp_path / "act.toml"
    spec.write_text(
        '[network]\nn = 1\nm = 1\nactivation = "tanh"\nGamma = 1\nW = [[0.8]]\n'
        'b = [0.3]\nC = [[1.5]]\nsigma = 0.4\ninput_site = "activation"\n'
        '[readout]\nV = [[1]]\n[start]\nkind = "point"\nh0 = [0.2]\n'
    )
    assert (
        cli_main(["derive", str(spec), "--order", "2", "--taylor", "2", "--json", "--quiet"]) == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["monomials"] == [
        {"weight": 1, "channel_powers": [1]},
        {"weight": 2, "channel_powers": [2]},
    ]
    assert {c["weight"] for c in out["coefficients"] if c["order"] == 1} == {1, 2}
    # the LaTeX document explains the monomials and prints 𝓛₁^ν for each; it compiles
    tex = tmp_path / "x.tex"
    assert (
        cli_main(
            ["derive", str(spec), "--order", "2", "--taylor", "2", "--latex", str(tex), "--quiet"]
        )
        == 0
    )
    text = tex.read_text()
    assert r"\emph{input operator}" in text and r"\mathcal{L}_1^{2}\, g" in text
    assert r"q_{\nu_1} + \dots + q_{\nu_r} = n" in text
    if shutil.which("pdflatex"):
        from symresp.report.latex import compile_latex

        assert compile_latex(text, tmp_path / "x.pdf").exists()
    # the standalone export names the monomials; its weight-2 monomial kernel is the library's
    assert (
        cli_main(
            [
                "codegen",
                str(spec),
                "--order",
                "2",
                "--taylor",
                "2",
                "-o",
                str(tmp_path / "mod"),
                "--name",
                "act_kernels",
            ]
        )
        == 0
    )
    capsys.readouterr()
    import importlib.util

    path = tmp_path / "mod" / "act_kernels.py"
    modspec = importlib.util.spec_from_file_location("act_kernels", path)
    mod = importlib.util.module_from_spec(modspec)
    modspec.loader.exec_module(mod)
    assert mod.MONOMIALS == [(1, (1,)), (2, (2,))]
    lags = np.array([[0.1, 0.2], [0.3, 0.05]])
    from symresp import load_spec

    ref = taylor_kernel(derive(load_spec(spec), 2, 2), 1, (1,))(lags, warn=False)
    np.testing.assert_array_equal(mod.kernel_1_2(lags), ref)


def test_linear_activation_has_no_local_terms():
    # a(z) = z: a(z + εCu) = z + εCu is the additive network with coupling M C
    lin = symresp.SRNN.create(
        n=1, activation="identity", W=[[0.5]], C=[[2.0]], sigma=0.5, input_site="activation"
    )
    add = symresp.SRNN.create(n=1, activation="identity", W=[[0.5]], C=[[2.0]], sigma=0.5)
    dl = derive(lin, 2, 3)
    assert not dl.local_terms and dl.indices(2) == [(0, 0)]
    ka = taylor_kernel(dl, 1, (0,))
    kb = taylor_kernel(derive(add, 2, 3), 1, (0,))
    assert np.array_equal(ka.coeffs, kb.coeffs)


def test_conjugate_observable_uses_the_input_field():
    # with γ_k = a'(z) C_k (the first-order monomial): the correlation form equals
    # the operator form; Gibbs quadrature of the 1-D density (~1e-15 relative) on both sides
    from symresp.kernels.taylor import fdt_kernel

    net = symresp.SRNN.create(
        n=1,
        activation="tanh",
        W=[["0.8"]],
        b=["0.3"],
        C=[["1.5"]],
        sigma="0.6",
        V=[[1]],
        input_site="activation",
    )
    d = derive(net, 1, 4)
    np.testing.assert_allclose(
        fdt_kernel(d, 0).coeffs, taylor_kernel(d, 1, (0,)).coeffs, rtol=1e-11, atol=1e-13
    )


def test_response_feature_map_on_the_monomial_path():
    # with monomials: E[y_t] ≈ ⟨ℓ, R_t(ũ)⟩ for the path ũ of input monomials u^ν;
    # the feature is built by trapezoids and a piecewise-linear signature, so it agrees with
    # the series at O(dt²): the gap must fall by ~4 per halving (a wrong coefficient or weight
    # would leave an O(1) floor)
    from symresp.series.response_map import predict_via_features, response_functional

    net = _net()
    F = response_functional(net, 2, 6)
    assert F.monomials == input_monomials(2, 2) and F.channels == 5
    gaps = []
    for M in (100, 200, 400):
        t = np.linspace(0, 0.5, M + 1)
        a = predict_via_features(net, _u, order=2, eps=0.7, t=t, taylor=6).mean
        b = predict(net, _u, order=2, eps=0.7, t=t, taylor=6, min_steps=20000).mean
        gaps.append(np.abs(a - b).max())
    assert gaps[-1] < 1e-6
    assert gaps[0] / gaps[1] > 3.5 and gaps[1] / gaps[2] > 3.5


def test_kicked_mc_kernel_in_the_hopfield_form():
    # input inside the activation of a Hopfield-form network: the kick direction is
    # M (a'(z) ⊙ C) with M = Wᵀ (it used to miss M: 0.62 instead of 0.045).  Order-1 kicked
    # Monte Carlo vs the Taylor kernel with Gibbs quadrature (2-D, isotropic noise); budget =
    # 4·stderr (4 lags) + |K(dt) − K(dt/2)| (Euler bias) + |K(2α) − K(α)|/3 (kick bias) +
    # 2·|last Taylor degree| (remainder)
    net = symresp.SRNN.create(
        n=2,
        activation="tanh",
        W=[["0.5", "0.8"], ["-0.6", "0.3"]],
        b=["0.2", "-0.1"],
        C=[["1.0"], ["0.5"]],
        sigma="0.5",
        V=[[1, 0]],
        form="hopfield",
        input_site="activation",
    )
    K = taylor_kernel(derive(net, 1, 8), 1, (0,))
    lags = np.array([[0.0], [0.1], [0.2], [0.3]])
    kw = dict(paths=20000, quiet=True)
    coarse = symresp.kernel_mc(net, 1, [0], lags, dt=0.01, **kw)
    fine = symresp.kernel_mc(net, 1, [0], lags, dt=0.005, **kw)
    kick2 = symresp.kernel_mc(net, 1, [0], lags, dt=0.005, alpha=2 * fine.alpha, **kw)
    P = K.powers.sum(axis=1)
    last = np.abs(K._monomials(lags)[..., P == P.max()] @ K._scaled[P == P.max()])
    budget = (
        4 * fine.stderr
        + np.abs(coarse.values - fine.values)
        + np.abs(kick2.values - fine.values) / 3
        + 2 * last
    )
    assert np.all(np.abs(fine.values - K(lags, warn=False)) <= budget)
    assert np.all(budget < 0.01)  # tight enough that the missing M (a 14× error) fails


def test_cli_kernel_takes_monomials(tmp_path, capsys):
    # monomials numbered as in derive --json; the kernel of monomial 2 (u², weight 2) is the
    # library's taylor_kernel on a derivation of order 2
    spec = tmp_path / "act.toml"
    spec.write_text(
        '[network]\nn = 1\nm = 1\nactivation = "tanh"\nGamma = 1\nW = [[0.8]]\n'
        'b = [0.3]\nC = [[1.5]]\nsigma = 0.4\ninput_site = "activation"\n'
        '[readout]\nV = [[1]]\n[start]\nkind = "point"\nh0 = [0.2]\n'
    )
    assert (
        cli_main(
            [
                "kernel",
                str(spec),
                "--order",
                "1",
                "--index",
                "2",
                "--lags",
                "0,0;0.1,0.2",
                "--method",
                "taylor",
                "--taylor",
                "4",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["weight"] == 2 and out["index"] == [2]
    K = taylor_kernel(derive(symresp.load_spec(spec), 2, 4), 1, (1,))
    np.testing.assert_array_equal(out["values"], K(np.array([[0, 0], [0.1, 0.2]]), warn=False))
    assert (
        cli_main(
            [
                "kernel",
                str(spec),
                "--order",
                "1",
                "--index",
                "2",
                "--lags",
                "0,0",
                "--method",
                "mc",
                "--paths",
                "64",
                "--json",
                "--quiet",
            ]
        )
        == 0
    )
    mc = json.loads(capsys.readouterr().out)
    assert mc["index"] == [2] and mc["weight"] == 2


@pytest.mark.filterwarnings("ignore:symresp. severe cancellation")
def test_kicked_mc_kernels_of_monomials():
    # every monomial is a first-order operator, so kicked copies along γ_ν estimate the kernel
    # of any word; vs Taylor kernels (Gibbs quadrature, 1-D stationary start).  Budget as in
    # test_kicked_mc_kernel_in_the_hopfield_form, z = 4 over the 4 comparisons.
    net = _net("0.4", "stationary")
    der = derive(net, 3, 8)
    cases = [
        (1, (2,), [[0.0], [0.2]]),  # u1²: a''(z) C1²/2
        (1, (3,), [[0.1]]),  # u1·u2: a''(z) C1 C2
        (2, (0, 2), [[0.1, 0.1]]),
    ]  # u1 at s1, u1² at s2
    for order, idx, lags in cases:
        K = taylor_kernel(der, order, idx)
        lags = np.array(lags)
        kw = dict(paths=20000, quiet=True)
        coarse = symresp.kernel_mc(net, order, list(idx), lags, dt=0.01, **kw)
        fine = symresp.kernel_mc(net, order, list(idx), lags, dt=0.005, **kw)
        kick2 = symresp.kernel_mc(net, order, list(idx), lags, dt=0.005, alpha=2 * fine.alpha, **kw)
        P = K.powers.sum(axis=1)
        last = np.abs(K._monomials(lags)[..., P == P.max()] @ K._scaled[P == P.max()])
        budget = (
            4 * fine.stderr
            + np.abs(coarse.values - fine.values)
            + np.abs(kick2.values - fine.values) / 3
            + 2 * last
        )
        assert np.all(np.abs(fine.values - K(lags, warn=False)) <= budget), (idx, budget)
        assert np.all(budget < 0.02 * np.abs(fine.values))  # a resolved comparison


# at a fixed point many coefficients vanish (φ(h*) = 0), so their relative cancellation
# ratio is large while their absolute error stays ~1e-15: the test's tolerance is absolute
@pytest.mark.filterwarnings("ignore:symresp. severe cancellation")
def test_deterministic_kernels_of_monomials():
    # with monomials (Van Loan exponentials, exact) vs the Taylor kernels of the
    # noiseless network started at the same fixed point (P = 8 at lag sums ≤ 0.4: the
    # remainder is ~0.4⁹/9! ≈ 7e-10 times coefficients of order one, and h* is a root of φ
    # to ~1e-15): every monomial of weight ≤ 2 alone, and two-monomial words
    base = dict(
        n=2,
        m=2,
        activation="tanh",
        Gamma=1,
        W=[["0.5", "0.8"], ["-0.6", "0.3"]],
        b=["0.2", "-0.1"],
        C=[["1.0", "0.3"], ["0.5", "-0.4"]],
        V=[[1, 0]],
        input_site="activation",
    )
    from symresp.kernels.deterministic import deterministic_kernel

    net = symresp.SRNN.create(sigma="0.5", **base)
    K1 = deterministic_kernel(net, 1, (0,))
    pt = symresp.SRNN.create(
        sigma="0", start="point", h0=[repr(float(x)) for x in K1.h_star], **base
    )
    der = derive(pt, 2, 8)
    for idx in [(0,), (2,), (3,), (4,), (0, 1), (1, 0)]:
        lags = np.array([[0.05] * len(idx) + [0.0], [0.1] * len(idx) + [0.2]])
        got = deterministic_kernel(net, len(idx), idx)(lags)
        want = taylor_kernel(der, len(idx), idx)(lags, warn=False)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-8)
