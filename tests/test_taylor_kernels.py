"""Taylor (short-time) kernels against independent oracles.

Every oracle here is computed in this file without going through the code under
test: plain-SymPy generators, scipy ``expm``/``solve_continuous_lyapunov``
for the linear network, a Chebyshev method-of-lines solution of the
backward Kolmogorov equation for the 1-D tanh network.  Each assertion
states its tolerance and why that tolerance is the right one.
"""

from __future__ import annotations

import itertools
import math
import warnings
from math import comb
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm, solve_continuous_lyapunov

from symresp import SRNN, Generators, derive, load_spec, stationary_mean, taylor_kernel
from symresp.expectation.conjugate import conjugate_observable
from symresp.expectation.evaluator import Evaluator
from symresp.expectation.gaussian import gaussian_expectation
from symresp.expectation.gibbs import GibbsQuadrature

SPECS = Path(__file__).parent.parent / "derivations"


def spec(name: str) -> SRNN:
    return load_spec(SPECS / f"{name}.toml")


def fnum(M) -> np.ndarray:
    return np.array(sp.Matrix(M).evalf(30), dtype=float)


# =========================================================================== 1. generators
def _phi_by_hand(net: SRNN):
    """φ(h) = −Γh + M a(Wh + b), written with numpy from the raw parameters (not from net.drift)."""
    G, W, b, M = fnum(net.Gamma), fnum(net.W), fnum(net.b).ravel(), fnum(net.M)
    a = {
        "tanh": np.tanh,
        "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "identity": lambda z: z,
        "softplus": lambda z: np.logaddexp(0.0, z),
        "sin": np.sin,
        "cubic": lambda z: z - z**3 / 3,
    }[net.activation.name]
    return lambda H: -H @ G.T + a(H @ W.T + b) @ M.T  # H: (npts, n)


def _plain_L0(net: SRNN, g: sp.Expr) -> sp.Expr:
    """𝓛₀ g = Σ φ_i ∂_i g + ½ Σ Σ_ij ∂_i∂_j g with the activation written out (nested tanh)."""
    h, phi, Sig = net.h, net.drift, net.Sigma
    out = sum(phi[i] * sp.diff(g, h[i]) for i in range(net.n))
    out += sp.Rational(1, 2) * sum(
        Sig[i, j] * sp.diff(g, h[i], h[j]) for i in range(net.n) for j in range(net.n) if Sig[i, j]
    )
    return out


def _values(net: SRNN, expr: sp.Expr, H: np.ndarray) -> np.ndarray:
    fn = sp.lambdify([list(net.h)], expr, "numpy")
    return np.broadcast_to(np.asarray(fn(H.T), float), (H.shape[0],))


def _ring_values(gens: Generators, g, H):
    return _values(gens.net, gens.algebra.to_expr(g, substitute=True), H)


GEN_NETS = {
    "tanh_2d": lambda: spec("tanh_2d"),
    "hopfield_2d": lambda: spec("hopfield_2d"),
    # sigmoid, non-square noise matrix (Σ = σσᵀ full), non-diagonal Γ
    "sigmoid_full_noise": lambda: SRNN.create(
        n=2,
        activation="sigmoid",
        Gamma=[[1.2, 0.3], [-0.1, 0.9]],
        W=[[0.7, -1.1], [0.4, 0.3]],
        b=[0.2, -0.3],
        C=[[1.0], [-0.5]],
        sigma=[[0.5, 0.1, 0.0], [0.2, 0.3, 0.4]],
        V=[[1.0, 0.5]],
    ),
}

# 𝓛₀ on simple observables vs hand formulas, and 𝓛₀³ ring route vs plain SymPy route.
# Tolerance: both sides are exact symbolic objects evaluated in float64 at |h| ≤ 2; the
# rounding of a polynomial with a few hundred terms of size ≤ M is ≲ 1e-13·M, so
# rtol 1e-10 (relative to the largest value over the points) leaves a 1000× margin and
# any symbolic slip (a wrong factor ½, a missing Σ_ij or W entry) is O(1).
GEN_RTOL = 1e-10


def _close(a, b, rtol=GEN_RTOL):
    scale = max(1.0, float(np.max(np.abs(b))))
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale)


def _other_activation(name):
    return lambda: SRNN.create(
        n=2,
        activation=name,
        Gamma=[1.0, 1.5],
        W=[[0.4, -0.3], [0.5, 0.2]],
        b=[0.1, -0.2],
        C=[[1.0], [0.5]],
        sigma=[0.5, 0.3],
        V=[[1.0, 0.0]],
        assume_stationary=True,
    )


SIMPLE_NETS = dict(GEN_NETS, **{a: _other_activation(a) for a in ("softplus", "sin", "cubic")})


@pytest.mark.parametrize("name", sorted(SIMPLE_NETS))
def test_L0_on_simple_observables_matches_hand_formulas(name):
    net = SIMPLE_NETS[name]()
    gens = Generators(net)
    alg = gens.algebra
    H = np.random.default_rng(1).uniform(-2, 2, size=(25, net.n))
    phi = _phi_by_hand(net)(H)
    Sig = fnum(net.Sigma)
    h = net.h
    # 𝓛₀ 1 = 0
    assert alg.n_terms(gens.L0(alg.lift(sp.Integer(1)))) == 0
    for i in range(net.n):
        _close(_ring_values(gens, gens.L0(alg.lift(h[i])), H), phi[:, i])  # 𝓛₀ h_i = φ_i
        for j in range(net.n):  # 𝓛₀ h_i h_j
            want = phi[:, i] * H[:, j] + phi[:, j] * H[:, i] + Sig[i, j]
            _close(_ring_values(gens, gens.L0(alg.lift(h[i] * h[j])), H), want)
    # 𝓛₀ h_1³ = 3 h_1² φ_1 + 3 Σ_11 h_1
    want = 3 * H[:, 0] ** 2 * phi[:, 0] + 3 * Sig[0, 0] * H[:, 0]
    _close(_ring_values(gens, gens.L0(alg.lift(h[0] ** 3)), H), want)


# (name, observable, power): 𝓛₀³ on the 2-D tanh net; 𝓛₀² elsewhere (the plain route swells:
# 𝓛₀³ of a cubic on a 2-D net costs seconds of sympy.diff, kept to one case for the time budget)
ITERATED = [
    ("tanh_2d", "h1*h2 + h1/3", 3),
    ("tanh_2d", "h1**2*h2 - h2/2", 2),
    ("hopfield_2d", "h1**2*h2 - h2/2 + h1/3", 2),
    ("sigmoid_full_noise", "h1**2*h2 - h2/2 + h1/3", 2),
]


@pytest.mark.parametrize("name,obs,power", ITERATED)
def test_iterated_L0_ring_route_equals_plain_sympy_route(name, obs, power):
    net = GEN_NETS[name]()
    gens = Generators(net)
    alg = gens.algebra
    f = sp.sympify(obs, locals={s.name: s for s in net.h})
    g_ring, g_plain = alg.lift(f), f
    H = np.random.default_rng(2).uniform(-2, 2, size=(20, net.n))
    for _p in range(1, power + 1):
        g_ring, g_plain = gens.L0(g_ring), _plain_L0(net, g_plain)
        _close(_ring_values(gens, g_ring, H), _values(net, g_plain, H))
    # the ring element is a polynomial in (h, auxiliaries): no tanh/exp inside
    assert not alg.to_expr(g_ring).has(sp.tanh, sp.exp)


def test_L1_state_dependent_coupling_matches_plain_sympy():
    """𝓛₁ g = Σ γ_i(h) ∂_i g for a polynomial coupling γ = (1 + h1², h2), after 𝓛₀."""
    net = SRNN.create(
        n=2,
        activation="tanh",
        W=[[0.5, -1.0], [1.0, 0.2]],
        b=[0.1, 0.0],
        coupling=[["1 + h1**2"], ["h2"]],
        sigma=0.5,
        V=[[1.0, 0.0]],
    )
    gens = Generators(net)
    alg = gens.algebra
    h = net.h
    f = h[0] * h[1] + h[1] ** 2
    plain = _plain_L0(net, f)
    plain = (1 + h[0] ** 2) * sp.diff(plain, h[0]) + h[1] * sp.diff(plain, h[1])
    ring = gens.L1(gens.L0(alg.lift(f)), 0)
    H = np.random.default_rng(3).uniform(-2, 2, size=(20, 2))
    _close(_ring_values(gens, ring, H), _values(net, plain, H))


@pytest.mark.parametrize(
    "P",
    [
        2,
        3,  # 2P + order ≥ 7 needs more than eight auxiliary placeholders
    ],
)
def test_user_expression_activation_derivative_chain_matches_plain_sympy(P):
    """A user activation without a closure uses the derivative chain D_j = a^{(j)}(z); the chain
    must be long enough for every observable of the derivation (a too-short chain would
    silently drop terms).  Every point-start observable of order 1 is compared with the plain
    SymPy route at random states.  Tolerance as for the other generator tests (rounding only)."""
    net = SRNN.create(
        n=1,
        activation="atan(z)",
        W=[[0.8]],
        b=[0.1],
        C=[[1.0]],
        sigma=0.5,
        readout="h1**2",
        start="point",
        h0=[0.2],
    )
    der = derive(net, 1, P)
    H = np.random.default_rng(6).uniform(-2, 2, size=(15, 1))
    h = net.h[0]
    chain = [net.readout[0]]  # plain 𝓛₀^q f, shared prefixes
    for _ in range(P):
        chain.append(_plain_L0(net, chain[-1]))
    checked = 0
    for q in range(P + 1):
        e = net.coupling[0, 0] * sp.diff(chain[q], h)  # 𝓛₁ 𝓛₀^q f
        for r in range(P + 1 - q):
            g = der.observables[((0,), (q, r))][0]
            _close(_ring_values(der.generators, g, H), _values(net, e, H))
            checked += 1
            e = _plain_L0(net, e)
    assert checked == math.comb(P + 2, 2)


# =========================================================================== linear oracles
LIN = "linear_2d_quadratic"


class LinearOracle:
    """Exact kernels of the linear network, computed with scipy only.

    Readout f = hᵀQh + vᵀh + c (quadratic part Q symmetric, linear part v); then
    P_τ f (h) = μᵀQμ + vᵀμ + const with μ = m + e^{−Aτ}(h − m), so

        K⁽¹⁾(τ)      = (2Q m + v)ᵀ e^{−Aτ} C                                   (stationary)
        K⁽¹⁾(τ; s)   = (2Q (m + e^{−A(τ+s)}(h0 − m)) + v)ᵀ e^{−Aτ} C             (point start)
        K⁽²⁾(τ1, τ2) = 2 (e^{−Aτ1} C)ᵀ Q e^{−A(τ1+τ2)} C                         (both starts)

    (the point-start K⁽¹⁾: 𝓛₁P_τ f = (2Qμ(h) + v)ᵀe^{−Aτ}C is affine in h and
    P_s replaces h by E[h_s] = m + e^{−As}(h0 − m); K⁽²⁾ is a constant observable, so
    the outer P_s leaves it unchanged).  Taylor coefficients are the τ-derivatives at 0:
    c_p = (2Qm + v)ᵀ(−A)ᵖC, etc.
    """

    def __init__(self, net: SRNN, h0=None):
        hs = net.h
        self.A = fnum(net.Gamma - net.M * net.W)
        self.b = fnum(net.M * net.b).ravel()
        self.Cm = fnum(net.coupling)  # n×m, one column per channel
        self.C = self.Cm[:, 0]
        self.Sigma = fnum(net.Sigma)
        f = sp.expand(net.readout[0])
        Hq = sp.hessian(f, hs)
        self.Q = fnum(Hq) / 2
        self.v = fnum([sp.diff(f, x).subs({y: 0 for y in hs}) for x in hs]).ravel()
        self.m = np.linalg.solve(self.A, self.b)
        self.S = solve_continuous_lyapunov(self.A, self.Sigma)  # A S + S Aᵀ = Σ
        self.h0 = None if h0 is None else np.asarray(h0, float)

    def E(self, t):
        return expm(-self.A * t)

    def K1(self, tau):
        return (2 * self.Q @ self.m + self.v) @ self.E(tau) @ self.C

    def K1_point(self, tau, s):
        mu = self.m + self.E(tau + s) @ (self.h0 - self.m)
        return (2 * self.Q @ mu + self.v) @ self.E(tau) @ self.C

    def K2(self, t1, t2):
        return 2 * (self.E(t1) @ self.C) @ self.Q @ (self.E(t1 + t2) @ self.C)

    def _pow(self, p):
        return np.linalg.matrix_power(-self.A, p)

    def c1(self, p):
        return (2 * self.Q @ self.m + self.v) @ self._pow(p) @ self.C

    def c1_point(self, p, q):
        """∂_τ^p ∂_s^q K⁽¹⁾(τ; s) at 0."""
        out = self.c1(p) if q == 0 else 0.0
        d = self.h0 - self.m
        # 2 dᵀ e^{−Aᵀ(τ+s)} Q e^{−Aτ} C
        out += 2 * sum(
            comb(p, j) * d @ self._pow(j + q).T @ self.Q @ self._pow(p - j) @ self.C
            for j in range(p + 1)
        )
        return out

    def c2(self, p1, p2, k1=0, k2=0):
        """∂_τ1^p1 ∂_τ2^p2 of 2 (e^{−Aτ1}C_{k1})ᵀ Q e^{−A(τ1+τ2)} C_{k2} at 0 (k1 ↔ s_1, the later input)."""
        C1, C2 = self.Cm[:, k1], self.Cm[:, k2]
        return 2 * sum(
            comb(p1, j) * (self._pow(j) @ C1) @ self.Q @ (self._pow(p1 - j + p2) @ C2)
            for j in range(p1 + 1)
        )


def _linear_readout_net():
    """The linear network of the spec with a linear readout V = (1, −1/2), c = 3."""
    return SRNN.create(
        n=2,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1.0, -0.5]],
        c=[3.0],
    )


# Coefficients: exact rationals (Gaussian moments) vs float matrix powers; ‖A‖ ≈ 1.6 so
# |c_p| ≲ 1.6ᵖ·O(1) and float64 products of ≤ 8 2×2 matrices carry ≲ 1e-15 relative error:
# rtol 1e-12 is rounding-only.
COEF_RTOL = 1e-12


def _assert_coeffs(kernel, oracle_coeff, rtol=COEF_RTOL):
    got = kernel.coeffs[:, 0]
    want = np.array([oracle_coeff(*p) for p in kernel.powers])
    scale = np.maximum(np.abs(want), 1.0)
    assert np.all(np.abs(got - want) <= rtol * scale), np.column_stack([kernel.powers, got, want])


def test_linear_taylor_coefficients_are_exact_derivatives_of_the_exact_kernels():
    net = spec(LIN)
    orc = LinearOracle(net)
    der = derive(net, 2, 6)
    _assert_coeffs(taylor_kernel(der, 1, (0,)), orc.c1)
    k2 = taylor_kernel(der, 2, (0, 0))
    assert {tuple(p) for p in k2.powers} == {
        p for p in itertools.product(range(7), repeat=2) if sum(p) <= 6
    }
    _assert_coeffs(k2, orc.c2)
    # linear readout: K⁽¹⁾ = V e^{−Aτ} C, every order-2 coefficient is exactly 0
    lnet = _linear_readout_net()
    lorc = LinearOracle(lnet)
    lder = derive(lnet, 2, 5)
    _assert_coeffs(taylor_kernel(lder, 1, (0,)), lorc.c1)
    assert np.all(taylor_kernel(lder, 2, (0, 0)).coeffs == 0.0)


def test_linear_two_channels_index_convention():
    """K⁽²⁾_{k1k2}: k_1 belongs to s_1 (the later input, lag τ_1), k_2 to s_2.

    With C_1 ≠ C_2 the two orderings differ (K_{01} ≠ K_{10} away from τ = 0), so a swapped
    convention fails.  Tolerance: rounding only, as for the single-channel coefficients.
    """
    net = SRNN.create(
        n=2,
        m=2,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0, 0.3], [0.5, -1.0]],
        sigma=0.5,
        readout="h1**2 + h1*h2/2 + h2",
    )
    orc = LinearOracle(net)
    der = derive(net, 2, 4)
    for k in range(2):
        C = orc.Cm[:, k]
        _assert_coeffs(
            taylor_kernel(der, 1, (k,)),
            lambda p, C=C: (2 * orc.Q @ orc.m + orc.v) @ orc._pow(p) @ C,
        )
    for k1, k2 in itertools.product(range(2), repeat=2):
        _assert_coeffs(
            taylor_kernel(der, 2, (k1, k2)), lambda p1, p2, k1=k1, k2=k2: orc.c2(p1, p2, k1, k2)
        )
    a, b = taylor_kernel(der, 2, (0, 1)), taylor_kernel(der, 2, (1, 0))
    assert np.abs(a.coeffs - b.coeffs).max() > 0.1


def test_linear_stationary_mean_and_kernel_api_contract():
    """V_0 = E_∞[f] = mᵀQm + tr(QS) + vᵀm (exact Gaussian, rounding-only tolerance); the kernel
    warns beyond half its estimated radius, refuses wrongly shaped lags and bad indices."""
    net = spec(LIN)
    orc = LinearOracle(net)
    der = derive(net, 2, 4)
    v0, se = stationary_mean(der)
    assert se is None
    want = orc.m @ orc.Q @ orc.m + np.trace(orc.Q @ orc.S) + orc.v @ orc.m
    np.testing.assert_allclose(v0, [want], rtol=1e-13)
    k1 = taylor_kernel(der, 1, (0,))
    assert np.isfinite(k1.radius[0]) and k1.radius[0] > 0
    with pytest.warns(UserWarning, match="radius"):
        k1(np.array([[0.6 * k1.radius[0]]]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        k1(np.array([[0.4 * k1.radius[0]]]))
    assert k1(np.zeros((3, 4, 1))).shape == (3, 4, 1)  # (..., nlags) → (..., p)
    with pytest.raises(ValueError, match="lags"):
        k1(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="order"):
        taylor_kernel(der, 3, (0, 0, 0))
    with pytest.raises(ValueError, match="index"):
        taylor_kernel(der, 1, (1,))
    with pytest.raises(ValueError, match="index"):
        taylor_kernel(der, 2, (0,))


@pytest.mark.parametrize("P", [2, 3, 4])
def test_linear_taylor_error_falls_like_tau_to_the_P_plus_1(P):
    """|K_P(τ) − K(τ)| = c τ^{P+1}(1 + r(τ)): log–log slope P + 1 over τ ∈ [0.01, 0.1]/‖A‖.

    Why ±0.3: the next term of the remainder relative to the leading one is
    r ≈ ‖A‖τ/(P+2) ≤ 0.1/(P+2) < 0.03 on this range, and the local slope deviates from
    P+1 by ≈ τ r'(τ)/(1+r) ≈ r, i.e. < 0.05.  A truncation one degree off changes the
    slope by 1, so ±0.3 separates the two with a wide margin.  The smallest error
    (P = 4, τ = 0.006) is ≈ 1e-12, far above float rounding (≈ 1e-16·|K|).
    """
    net = spec(LIN)
    orc = LinearOracle(net)
    der = derive(net, 2, P)
    k1, k2 = taylor_kernel(der, 1, (0,)), taylor_kernel(der, 2, (0, 0))
    scale = 1 / np.linalg.norm(orc.A, 2)
    taus = np.geomspace(0.01, 0.1, 9) * scale
    # warn=False: the series converges for all lags here (linear network), but the root-test
    # radius estimate at P = 2 uses the degree-1 and mixed coefficients and reports ≈ 0.10
    e1 = np.abs(k1(taus[:, None], warn=False)[:, 0] - [orc.K1(t) for t in taus])
    # order 2 along the ray (τ1, τ2) = (τ, τ/2)
    lags2 = np.column_stack([taus, taus / 2])
    e2 = np.abs(k2(lags2, warn=False)[:, 0] - [orc.K2(a, b) for a, b in lags2])
    for err in (e1, e2):
        slope = np.polyfit(np.log(taus), np.log(err), 1)[0]
        assert abs(slope - (P + 1)) < 0.3, (P, slope, err)
    # tiny lags: remainder ≲ ‖A‖^{P+1}τ^{P+1}·O(1) ≤ 1e-8 for τ = 1e-4, P = 2; at P = 4 with
    # τ = 1e-4 it is ≲ 1e-19, so agreement to 1e-12 is rounding-limited (checked for P ≥ 3)
    tiny = np.array([0.0, 1e-5, 1e-4])
    if P >= 3:
        np.testing.assert_allclose(
            k1(tiny[:, None])[:, 0], [orc.K1(t) for t in tiny], rtol=0, atol=1e-12
        )
        np.testing.assert_allclose(
            k2(np.column_stack([tiny, tiny]))[:, 0],
            [orc.K2(t, t) for t in tiny],
            rtol=0,
            atol=1e-12,
        )


# =========================================================================== 5. point start
def _degree_terms(coeff, lags, degree):
    """Σ_{|p| = degree} |coeff(p)| Π lag_j^{p_j}/p_j!  (the first omitted degree of the series)."""
    d = lags.shape[1]
    out = np.zeros(len(lags))
    for p in itertools.product(range(degree + 1), repeat=d):
        if sum(p) == degree:
            out += (
                abs(coeff(*p))
                * np.prod(lags ** np.array(p), axis=1)
                / np.prod([math.factorial(x) for x in p])
            )
    return out


def test_linear_point_start_matches_exact_point_start_kernels():
    h0 = [0.6, -0.4]
    net = spec(LIN).with_start("point", h0=h0)
    orc = LinearOracle(net, h0=h0)
    P = 6
    der = derive(net, 2, P)
    assert der.start == "point"
    k1 = taylor_kernel(der, 1, (0,))
    assert k1.nlags == 2  # lags (τ_1, s_1)
    _assert_coeffs(k1, orc.c1_point)
    # at least one s-dependent coefficient is non-zero: the quadratic readout feels h0
    assert np.any((k1.powers[:, 1] > 0) & (np.abs(k1.coeffs[:, 0]) > 1e-3))
    k2 = taylor_kernel(der, 2, (0, 0))
    assert k2.nlags == 3  # (τ_1, τ_2, s_2)
    _assert_coeffs(k2, lambda p1, p2, q: orc.c2(p1, p2) if q == 0 else 0.0)
    # values at short lags vs the closed forms.  Tolerance = the computed remainder: twice the
    # first omitted degree, Σ_{|p|=P+1} |c_p| lag^p/p!, from the oracle's coefficients.  The
    # exact kernels are sums of exponentials with rates ≤ 2‖A‖ ≈ 3.2, so successive degrees
    # shrink by ≲ 3.2·|lag|₁/(P+2) < 0.05 and the whole tail is < 1.06× the first omitted
    # degree; the factor 2 is margin.  Float floor 1e-13.
    rng = np.random.default_rng(5)
    lags = rng.uniform(0, 0.05, size=(12, 2))
    tol1 = 2 * _degree_terms(orc.c1_point, lags, P + 1) + 1e-13
    np.testing.assert_array_less(
        np.abs(k1(lags)[:, 0] - [orc.K1_point(t, s) for t, s in lags]), tol1
    )
    lags3 = rng.uniform(0, 0.05, size=(12, 3))
    tol2 = (
        2 * _degree_terms(lambda p1, p2, q: orc.c2(p1, p2) if q == 0 else 0.0, lags3, P + 1) + 1e-13
    )
    np.testing.assert_array_less(
        np.abs(k2(lags3)[:, 0] - [orc.K2(a, b) for a, b, _ in lags3]), tol2
    )
    assert tol1.max() < 1e-7 and tol2.max() < 1e-7
    # linear readout: V e^{−Aτ}C does not depend on s_1 — coefficients with an s-power are exactly 0
    lnet = _linear_readout_net().with_start("point", h0=h0)
    lorc = LinearOracle(lnet, h0=h0)
    lk1 = taylor_kernel(derive(lnet, 1, 5), 1, (0,))
    assert np.all(lk1.coeffs[lk1.powers[:, 1] > 0] == 0.0)
    _assert_coeffs(lk1, lambda p, q: lorc.c1(p) if q == 0 else 0.0)


def test_deterministic_limit_point_start_at_fixed_point_sigmoid_3d():
    """σ = 0, h0 = h* (φ(h*) = 0): K⁽¹⁾(τ; s) = ∇f e^{Jτ} C, so the Taylor
    coefficients are c_{p,0} = ∇f Jᵖ C and c_{p,q≥1} = 0 — an exact oracle for a nonlinear
    (sigmoid) 3-D network with two channels and two outputs.  h* by Newton on the hand-written
    φ (|φ(h*)| ~ 1e-16), J = −Γ + diag(S(1−S))W by hand.  Tolerance 1e-10·max(|c|, 1): the
    coefficients are polynomials in (h, S) whose terms reach ~1e2 and cancel (s-coefficients
    are O(φ(h*)) = 0), so float rounding is ≲ 1e-13, and the h* error adds ~1e-15·‖∇c‖."""
    net = spec("sigmoid_3d")
    phi = _phi_by_hand(net)
    G, W, b, M = fnum(net.Gamma), fnum(net.W), fnum(net.b).ravel(), fnum(net.M)
    assert net.activation.name == "sigmoid" and np.array_equal(M, np.eye(3))

    def jac(x):
        S = 1 / (1 + np.exp(-(W @ x + b)))
        return -G + (S * (1 - S))[:, None] * W

    x = np.zeros(3)
    for _ in range(50):
        x = x - np.linalg.solve(jac(x), phi(x[None, :])[0])
    assert np.abs(phi(x[None, :])).max() < 1e-14
    J, V, C = jac(x), fnum(net.readout.jacobian(net.h)), fnum(net.coupling)
    dnet = net.with_sigma(0).with_start("point", h0=[float(v) for v in x])
    der = derive(dnet, 1, 4)
    for k in range(2):
        K = taylor_kernel(der, 1, (k,))
        assert K.coeffs.shape == (math.comb(6, 2), 2)
        for (p, q), c in zip(K.powers, K.coeffs):
            want = V @ np.linalg.matrix_power(J, p) @ C[:, k] if q == 0 else np.zeros(2)
            assert np.all(np.abs(c - want) <= 1e-10 * np.maximum(np.abs(want), 1)), (
                k,
                p,
                q,
                c,
                want,
            )


# =========================================================================== 3. 1-D tanh vs PDE
def _cheb(N):
    """Chebyshev points x_j = cos(πj/N) and the differentiation matrix (Trefethen, SMM ch. 6)."""
    x = np.cos(np.pi * np.arange(N + 1) / N)
    c = np.hstack([2.0, np.ones(N - 1), 2.0]) * (-1.0) ** np.arange(N + 1)
    dX = x[:, None] - x[None, :]
    D = np.outer(c, 1 / c) / (dX + np.eye(N + 1))
    return D - np.diag(D.sum(axis=1)), x


def _clenshaw_curtis(N):
    theta = np.pi * np.arange(N + 1) / N
    w = np.zeros(N + 1)
    v = np.ones(N - 1)
    assert N % 2 == 0
    w[0] = w[N] = 1.0 / (N**2 - 1)
    for k in range(1, N // 2):
        v -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    v -= np.cos(N * theta[1:-1]) / (N**2 - 1)
    w[1:-1] = 2 * v / N
    return w


def _kolmogorov_1d(w, b, s2, C, N, L, dtau, nsteps):
    """K⁽¹⁾ on τ = 0, dτ, …, nsteps·dτ for dh = (−h + tanh(wh + b))dt + σdW, f(h) = h.

    Method of lines on N+1 Chebyshev points of [−L, L]: dv/dτ = M v with
    M = diag(φ)D + (σ²/2)D², solved exactly in τ with expm (no time-step error).
    Boundary rows frozen (v(τ, ±L) = ±L): the density there is < e^{−60} of its peak and
    trajectories started in the bulk do not reach ±L within τ ≤ 0.3, so the boundary
    value does not matter at the accuracy tested (the refinement estimate confirms it).
    Returns (operator form E_∞[C ∂_h v], FDT form E_∞[v A]) with A = −(2C/σ²)φ and
    ρ_∞ ∝ exp((2/σ²)Φ), Φ = −h²/2 + log cosh(wh + b)/w, by Clenshaw–Curtis on the grid.
    """
    D, x = _cheb(N)
    h = L * x
    D = D / L
    phi = -h + np.tanh(w * h + b)
    M = phi[:, None] * D + 0.5 * s2 * (D @ D)
    M[0, :] = 0.0
    M[-1, :] = 0.0
    logr = (2 / s2) * (-(h**2) / 2 + np.log(np.cosh(w * h + b)) / w)
    rho = L * _clenshaw_curtis(N) * np.exp(logr - logr.max())
    rho /= rho.sum()
    A = -(2 * C / s2) * phi
    step = expm(dtau * M)
    v = h.copy()
    op, fdt = [], []
    for _ in range(nsteps + 1):
        op.append(rho @ (C * (D @ v)))
        fdt.append(rho @ (v * A))
        v = step @ v
    return np.array(op), np.array(fdt)


def test_tanh_1d_taylor_kernel_matches_backward_kolmogorov_solution():
    net = spec("tanh_1d")
    w, b = float(net.W[0, 0]), float(net.b[0])
    s2, C = float(net.Sigma[0, 0]), float(net.coupling[0, 0])
    assert net.activation.name == "tanh" and net.Gamma[0, 0] == 1 and net.readout[0] == net.h[0]
    dtau, nsteps = 0.05, 6
    taus = dtau * np.arange(nsteps + 1)  # τ ≤ 0.3
    P = 8
    k1 = taylor_kernel(derive(net, 1, P), 1, (0,))
    assert taus.max() < 0.5 * k1.radius[0]  # inside the trusted region (no warning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taylor = k1(taus[:, None])[:, 0]
    # PDE: two grids; the difference bounds the error of the finer one (spectral convergence:
    # the error of N = 80 is far below that of N = 64, so |K_80 − K_64| over-estimates it)
    op_c, fdt_c = _kolmogorov_1d(w, b, s2, C, 64, 5.0, dtau, nsteps)
    op_f, fdt_f = _kolmogorov_1d(w, b, s2, C, 80, 5.0, dtau, nsteps)
    pde_err = np.maximum(np.abs(op_f - op_c), np.abs(fdt_f - fdt_c))
    # Taylor remainder: the terms c_p τᵖ/p! decrease geometrically with ratio q = τ/R
    # (R ≈ radius ≥ 4, τ ≤ 0.3, so q < 0.1); the tail after the last included term is then
    # ≤ |last term|·q/(1 − q) < |last term|, so |last term| bounds the remainder.
    cP = k1.coeffs[k1.powers[:, 0] == P, 0][0]
    last = np.abs(cP) * taus**P / math.factorial(P)
    cPm1 = k1.coeffs[k1.powers[:, 0] == P - 1, 0][0]
    ratio = np.abs(cP / P) / np.abs(cPm1) * taus  # |term_P / term_{P−1}|
    assert np.all(ratio < 0.5)
    # float floor: K = O(1), quadrature and D applied to O(1) data with condition ≲ N² → 1e-13
    tol = last + 3 * pde_err + 1e-12
    assert np.all(tol < 1e-8)  # the comparison has teeth
    np.testing.assert_array_less(np.abs(taylor - op_f), tol)
    # correlation (fluctuation–dissipation) form: E_∞[v(τ,·) A] with A = −(2C/σ²)φ gives the same numbers
    np.testing.assert_array_less(np.abs(taylor - fdt_f), tol)
    np.testing.assert_array_less(np.abs(op_f - fdt_f), 2 * tol)


# =========================================================================== 4. FDT form of coefficients
def test_operator_form_equals_fdt_form_linear_exact_rationals():
    """E_∞[𝓛₁ 𝓛₀ᵖ f] == E_∞[A · 𝓛₀ᵖ f], exactly (Gaussian moments over Q), p ≤ 4."""
    net = spec(LIN)
    orc = LinearOracle(net)
    A_expr = conjugate_observable(net, 0)
    # A independently: −C·∇log ρ_∞ = Cᵀ S⁻¹ (h − m)  (∇·C = 0)
    Hs = np.random.default_rng(0).normal(size=(6, 2))
    want = (Hs - orc.m) @ np.linalg.solve(orc.S, orc.C)
    np.testing.assert_allclose(_values(net, A_expr, Hs), want, rtol=1e-12, atol=1e-12)
    der = derive(net, 1, 4)
    gens, alg = der.generators, der.algebra
    A = alg.lift(A_expr)
    chain = gens.L0_powers(alg.lift(net.readout[0]), 4)
    for p, g in enumerate(chain):
        lhs = gaussian_expectation(net, alg, gens.L1(g, 0))
        rhs = gaussian_expectation(net, alg, A * g)
        assert isinstance(lhs, sp.Rational) and lhs == rhs, (p, lhs, rhs)
        # and the kernel coefficient is that expectation
        assert taylor_kernel(der, 1, (0,)).coeffs[p, 0] == float(lhs)


def _fdt_sides(der, quad, A_expr):
    """(E[𝓛₁ 𝓛₀ᵖ f], E[A 𝓛₀ᵖ f]) for p = 0..P by the quadrature ``quad``."""
    net, gens, alg = der.net, der.generators, der.algebra
    A_vals = _values(net, A_expr, quad.points)
    ev = Evaluator(alg)
    chain = gens.L0_powers(alg.lift(net.readout[0]), der.P)
    G = ev(chain, quad.points)  # (npts, P+1)
    return quad.mean(ev([gens.L1(g, 0) for g in chain], quad.points)), quad.mean(
        G * A_vals[:, None]
    )


def _fdt_check(net, P, tol, coarse_panels, A_expr):
    """Operator form == FDT form to ``tol`` (relative to max(|c_p|, 1)), p ≤ P; the default
    quadrature is first shown converged by refinement (coarser rule agrees to < tol/10), so the
    remaining difference can only be float summation or a wrong A."""
    der = derive(net, 1, P)
    quad = GibbsQuadrature(net)
    op, fdt = _fdt_sides(der, quad, A_expr)
    k1 = taylor_kernel(der, 1, (0,))
    np.testing.assert_allclose(k1.coeffs[:, 0], op, rtol=1e-13, atol=0)
    scale = np.maximum(np.abs(op), 1.0)
    kw = {"panels_2d": coarse_panels} if net.n == 2 else {"panels": coarse_panels}
    op_c, fdt_c = _fdt_sides(der, GibbsQuadrature(net, **kw), A_expr)
    assert np.all(np.abs(op_c - op) <= 0.1 * tol * scale) and np.all(
        np.abs(fdt_c - fdt) <= 0.1 * tol * scale
    )
    assert np.all(np.abs(op - fdt) <= tol * scale), np.column_stack([op, fdt, op - fdt])
    assert np.abs(op[1:]).max() > 0.1  # non-trivial coefficients


def test_operator_form_equals_fdt_form_tanh_1d_quadrature():
    """1-D: A = −(2C/σ²)φ; the identity is integration by parts against ρ_∞.

    Tolerance 1e-12 (relative to max(|c_p|, 1)): both sides use the same Gauss–Legendre
    rule (200 panels × 20 nodes) on analytic integrands whose exact integrals are equal;
    the neglected tails are e^{−46} and refinement (100 panels) shows the rule converged to
    < 1e-13, so what is left is float summation over 4000 nodes (≈ 1e-15).
    """
    net = spec("tanh_1d")
    A = conjugate_observable(net, 0)
    s2, C = net.Sigma[0, 0], net.coupling[0, 0]
    assert sp.simplify(A - (-2 * C / s2) * net.drift[0]) == 0
    _fdt_check(net, 4, 1e-12, 100, A)


def test_operator_form_equals_fdt_form_state_dependent_coupling_1d():
    """γ(h) = 1 + h²/2: A = −γ' − γ·2φ/σ² carries the divergence term −∇·γ; same
    quadrature argument and tolerance as the constant-coupling 1-D case."""
    net = SRNN.create(
        n=1, activation="tanh", W=[[0.8]], b=[0.1], coupling=[["1 + h1**2/2"]], sigma=0.5, V=[[1.0]]
    )
    h = net.h[0]
    gamma = 1 + h**2 / 2
    want = -sp.diff(gamma, h) - gamma * 2 * net.drift[0] / net.Sigma[0, 0]
    A = conjugate_observable(net, 0)
    Hs = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(_values(net, A, Hs), _values(net, want, Hs), rtol=1e-13, atol=1e-13)
    _fdt_check(net, 4, 1e-12, 100, A)


def test_operator_form_equals_fdt_form_hopfield_2d_quadrature():
    """2-D Hopfield spec: A = −(2/s²)C·φ (gradient drift), p ≤ 4.

    Tolerance 1e-12, as in 1-D: the default tensor rule (16 panels × 10 nodes per axis) is
    shown converged by comparison with 12 panels (< 1e-13), so a larger FDT gap would be a
    wrong A or a wrong 𝓛₁/𝓛₀; observed gaps are ≈ 1e-15.
    """
    net = spec("hopfield_2d")
    s2 = net.Sigma[0, 0]
    A = conjugate_observable(net, 0)
    want = -(2 / s2) * (net.coupling.T * net.drift)[0, 0]
    Hs = np.random.default_rng(4).uniform(-2, 2, size=(10, 2))
    np.testing.assert_allclose(_values(net, A, Hs), _values(net, want, Hs), rtol=1e-13, atol=1e-13)
    _fdt_check(net, 4, 1e-12, 12, A)


# =========================================================================== 6. box vs total
@pytest.mark.parametrize("case", ["linear_stationary", "tanh_1d_stationary", "tanh_2d_point"])
def test_box_truncation_contains_total_with_identical_values(case):
    if case == "linear_stationary":
        net, order, P = spec(LIN), 2, 3
    elif case == "tanh_1d_stationary":
        net, order, P = spec("tanh_1d"), 2, 2
    else:
        net, order, P = spec("tanh_2d").with_start("point", h0=[0.3, -0.2]), 2, 2
    exact = case != "tanh_1d_stationary"
    tot = derive(net, order, P, truncation="total")
    box = derive(net, order, P, truncation="box")
    extra = 1 if net.start == "point" else 0
    for (k, p), g in tot.observables.items():
        assert sum(p) <= P
        gb = box.observables[(k, p)]
        assert all(
            sp.expand(tot.algebra.to_expr(x) - box.algebra.to_expr(y)) == 0
            for x, y in zip(g, gb, strict=True)
        ), (k, p)
    for n in range(1, order + 1):
        kb = {tuple(p) for (k, p) in box.observables if len(k) == n}
        assert kb == set(itertools.product(range(P + 1), repeat=n + extra))
        kt, kx = taylor_kernel(tot, n, (0,) * n), taylor_kernel(box, n, (0,) * n)
        bidx = {tuple(p): i for i, p in enumerate(kx.powers)}
        for i, p in enumerate(kt.powers):
            a, b = kt.coeffs[i, 0], kx.coeffs[bidx[tuple(p)], 0]
            if exact:  # exact rationals (Gaussian) or one evaluation at h0: bit-identical
                assert a == b, (n, p, a, b)
            else:  # same element, same nodes; only the BLAS summation order of
                assert abs(a - b) <= 1e-14 * max(abs(a), 1e-3), (
                    n,
                    p,
                    a,
                    b,
                )  # weights @ values may differ
        assert len(kx.powers) == (P + 1) ** (n + extra)
        assert len(kt.powers) == math.comb(P + n + extra, n + extra)  # #{p ∈ N^d : |p| ≤ P}


# =========================================================================== 7. samples route
def test_samples_route_agrees_with_exact_within_4_standard_errors():
    """Samples from the exact ρ_∞ = N(m, S) of the linear network.

    Why 4 standard errors: each coefficient estimate is a sample mean over N = 20000 draws
    (CLT; the observables are polynomials of degree ≤ 2 in a Gaussian, so the mean is close
    to normal), and ~14 coefficients are compared: P(|z| > 4) = 6.3e-5 per comparison, so
    the family-wise false-alarm rate is < 1e-3, while a real error of the size of a
    coefficient (O(1)) is ≫ 4·stderr ≈ 0.03.  Coefficients whose observable is a constant
    have stderr exactly 0 and must match to rounding.
    """
    net = SRNN.create(
        n=2,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        readout="h1**3/3 + h1**2 + h1*h2/2 + h2",
    )  # cubic: non-trivial
    orc = LinearOracle(spec(LIN))  # same m, S
    der = derive(net, 2, 3)
    rng = np.random.default_rng(12345)
    X = rng.multivariate_normal(orc.m, orc.S, size=20000)
    for n in (1, 2):
        exact = taylor_kernel(der, n, (0,) * n)
        est = taylor_kernel(der, n, (0,) * n, samples=X)
        assert exact.coeff_stderr is None and est.coeff_stderr is not None
        assert np.array_equal(est.powers, exact.powers)
        diff = np.abs(est.coeffs - exact.coeffs)
        assert np.all(diff <= 4 * est.coeff_stderr + 1e-12 * np.maximum(np.abs(exact.coeffs), 1)), (
            np.column_stack([est.powers, est.coeffs, exact.coeffs, est.coeff_stderr])
        )


def test_samples_route_stderr_matches_spread_and_scales_like_inverse_sqrt_N():
    """The returned stderr is the spread of the estimate.

    * over 60 independent seeds of N = 1000 samples, the empirical standard deviation of
      each coefficient estimate agrees with the mean returned stderr within 30 %: the
      relative sd of a sample standard deviation from 60 draws is ≈ 1/√118 ≈ 9 %, so 30 %
      is > 3σ for each of the ~4 non-trivial coefficients;
    * with the same seed, 4× more samples gives half the stderr within 10 % (the sample
      sd over N ≥ 2000 draws has a relative sd ≲ 3 % for these low-degree observables).
    """
    net = SRNN.create(
        n=2,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        readout="h1**3/3 + h1**2 + h1*h2/2 + h2",
    )
    orc = LinearOracle(spec(LIN))
    der = derive(net, 1, 3)
    ests, ses = [], []
    for seed in range(60):
        X = np.random.default_rng(seed).multivariate_normal(orc.m, orc.S, size=1000)
        k = taylor_kernel(der, 1, (0,), samples=X)
        ests.append(k.coeffs[:, 0])
        ses.append(k.coeff_stderr[:, 0])
    ests, ses = np.array(ests), np.array(ses)
    live = ses.mean(axis=0) > 0
    assert live.sum() >= 3
    spread = ests[:, live].std(axis=0, ddof=1)
    np.testing.assert_allclose(spread / ses[:, live].mean(axis=0), 1.0, atol=0.3)
    rng = np.random.default_rng(7)
    X = rng.multivariate_normal(orc.m, orc.S, size=8000)
    se_small = taylor_kernel(der, 1, (0,), samples=X[:2000]).coeff_stderr[live, 0]
    se_big = taylor_kernel(der, 1, (0,), samples=X).coeff_stderr[live, 0]
    np.testing.assert_allclose(se_small / se_big, 2.0, rtol=0.1)
