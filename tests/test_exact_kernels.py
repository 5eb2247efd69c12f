"""Exact kernels: symresp.exact against independent oracles.

Oracles are written here with scipy only (expm, solve_continuous_lyapunov, solve_ivp)
from the closed forms of the linear network and of the deterministic limit; nothing in them uses symresp.exact.
"""

import functools

import numpy as np
import pytest
import scipy.linalg as sl
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import solve_ivp

from symresp import SRNN, derive, taylor_kernel
from symresp.kernels.deterministic import deterministic_kernel, find_fixed_point
from symresp.kernels.exact import exact_kernel, has_exact

# ---------------------------------------------------------------- linear network
GAMMA = [[1.0, 0.2], [-0.1, 1.3]]
W_LIN = [[-0.5, 0.3], [-0.4, -0.2]]
B_LIN = [0.2, -0.1]
C_LIN = [[1.0, -0.3], [0.5, 0.8]]
SIG_LIN = [[0.5, 0.1], [0.0, 0.4]]
H0_LIN = [0.7, -0.4]
Q = np.array([[1.0, 0.25], [0.25, -0.5]])
Q_EXPR = "h1**2 + h1*h2/2 - h2**2/2"  # = hᵀ Q h


def linear_net(readout=None, V=None, c=None, start="stationary", **kw):
    args = dict(
        n=2,
        m=2,
        activation="identity",
        Gamma=GAMMA,
        W=W_LIN,
        b=B_LIN,
        sigma=SIG_LIN,
        start=start,
        h0=H0_LIN if start == "point" else None,
    )
    if "coupling" not in kw:
        args["C"] = C_LIN
    args.update(kw)
    if readout is not None:
        args["readout"] = readout
    else:
        args.update(V=V, c=c)
    return SRNN.create(**args)


def oracle_parts():
    """A, m_∞, S, C, h0 as floats, computed independently of symresp."""
    A = np.array(GAMMA) - np.array(W_LIN)  # M = I (standard form)
    m = np.linalg.solve(A, np.array(B_LIN))
    sig = np.array(SIG_LIN)
    S = sl.solve_continuous_lyapunov(A, sig @ sig.T)  # A S + S Aᵀ = Σ
    return A, m, S, np.array(C_LIN), np.array(H0_LIN)


def E(A, t):
    return sl.expm(-A * t)


RNG = np.random.default_rng(20261126)
LAGS = RNG.uniform(0.0, 3.0, size=(5, 4))  # random lags, including O(1) ones: exact at all lags

# Tolerance for every exact-vs-closed-form comparison: both sides are a handful of
# 2×2 / ≤10×10 matrix exponentials of moderate norm (‖Aτ‖ ≲ 5), accurate to ~1e-15
# relative each; 1e-11 absolute leaves four orders of margin for the products.
TOL_EXACT = 1e-11


def test_linear_readout_first_order_and_zero_higher_orders():
    V = np.array([[1.0, -0.5], [0.3, 2.0]])
    net = linear_net(V=V.tolist(), c=[0.1, 0.0])
    A, *_ = oracle_parts()
    C = np.array(C_LIN)
    for k in range(2):
        K = exact_kernel(net, 1, (k,))
        got = K(LAGS[:, :1])
        want = np.array([V @ E(A, t) @ C[:, k] for t in LAGS[:, 0]])
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    # degree 1 readout, constant coupling: order ≥ 2 vanish exactly (not just numerically)
    for order, idx in ((2, (0, 1)), (3, (1, 0, 1))):
        K = exact_kernel(net, order, idx)
        assert K.zero
        assert np.all(K(LAGS[:, :order]) == 0.0)


@functools.cache
def _point_linear_kernel(k):
    return exact_kernel(linear_net(V=[[1.0, -0.5]], start="point"), 1, (k,))


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 20.0), st.integers(0, 1))
def test_linear_readout_any_lag_point_start(tau, k):
    """Point start, linear readout: K⁽¹⁾(τ, s) = V e^{−Aτ} C_k for every s;
    lags up to 20 (decay ~e^{-20}): absolute tolerance TOL_EXACT as above."""
    V = np.array([[1.0, -0.5]])
    A, *_ = oracle_parts()
    got = _point_linear_kernel(k)([[tau, 0.0], [tau, 1.7]])
    want = V @ E(A, tau) @ np.array(C_LIN)[:, k]
    np.testing.assert_allclose(got, np.vstack([want, want]), rtol=0, atol=TOL_EXACT)


def test_quadratic_readout_stationary():
    """Quadratic readout: K⁽¹⁾_k = 2 m_∞ᵀQ e^{−Aτ}C_k, K⁽²⁾ = 2(e^{−Aτ1}C_{k1})ᵀQ e^{−A(τ1+τ2)}C_{k2}, K⁽³⁾ = 0."""
    net = linear_net(readout=Q_EXPR)
    A, m, S, C, _ = oracle_parts()
    # order 0: E_∞[hᵀQh] = m ᵀQm + tr(QS)
    np.testing.assert_allclose(
        exact_kernel(net, 0, ())(np.zeros((0,))), [m @ Q @ m + np.trace(Q @ S)], atol=TOL_EXACT
    )
    for k in range(2):
        got = exact_kernel(net, 1, (k,))(LAGS[:, :1])[:, 0]
        want = [2 * m @ Q @ E(A, t) @ C[:, k] for t in LAGS[:, 0]]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    for k1 in range(2):
        for k2 in range(2):
            got = exact_kernel(net, 2, (k1, k2))(LAGS[:, :2])[:, 0]
            want = [
                2 * (E(A, t1) @ C[:, k1]) @ Q @ E(A, t1 + t2) @ C[:, k2] for t1, t2 in LAGS[:, :2]
            ]
            np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    K3 = exact_kernel(net, 3, (0, 1, 1))
    assert np.all(K3(LAGS[:, :3]) == 0.0)


def test_quadratic_readout_point_start():
    """Point start, derived here: h_t | h_0 ~ N(μ_t, S − e^{−At}Se^{−Aᵀt}), μ_t = m + e^{−At}(h_0 − m).

    V_0(t) = μ_tᵀQμ_t + tr(Q Cov_t).  𝓛₁ᵏ P_{τ1} f = 2 C_kᵀ e^{−Aᵀτ1} Q (m + e^{−Aτ1}(h − m)) is
    linear in h, so P_s of it at h_0 replaces h by μ_s:
    K⁽¹⁾_k(τ1, s) = 2 (e^{−Aτ1}C_k)ᵀ Q μ_{τ1+s};  K⁽²⁾ is a constant in h, so it equals the
    stationary one for every s;  K⁽³⁾ = 0.  Tolerance TOL_EXACT (same reasoning).
    """
    net = linear_net(readout=Q_EXPR, start="point")
    A, m, S, C, h0 = oracle_parts()
    mu = lambda t: m + E(A, t) @ (h0 - m)
    got = exact_kernel(net, 0, ())(LAGS[:, :1])[:, 0]
    want = [mu(t) @ Q @ mu(t) + np.trace(Q @ (S - E(A, t) @ S @ E(A, t).T)) for t in LAGS[:, 0]]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    for k in range(2):
        got = exact_kernel(net, 1, (k,))(LAGS[:, :2])[:, 0]
        want = [2 * (E(A, t) @ C[:, k]) @ Q @ mu(t + s) for t, s in LAGS[:, :2]]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    got = exact_kernel(net, 2, (1, 0))(LAGS[:, :3])[:, 0]
    want = [2 * (E(A, t1) @ C[:, 1]) @ Q @ E(A, t1 + t2) @ C[:, 0] for t1, t2, _ in LAGS[:, :3]]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    assert np.all(exact_kernel(net, 3, (0, 0, 1))(LAGS) == 0.0)


def test_affine_coupling():
    """γ_k(h) = c_k + G_k h, readout Vh (degree preserved by 𝓛₁ᵏ). Derived here:
    𝓛₁ᵏ P_τ(Vh) = V e^{−Aτ}(c_k + G_k h), so
    K⁽¹⁾_k(τ) = V e^{−Aτ}(c_k + G_k m_∞),
    K⁽²⁾_{k1k2}(τ1, τ2) = V e^{−Aτ1} G_{k1} e^{−Aτ2}(c_{k2} + G_{k2} m_∞).  Tolerance TOL_EXACT."""
    coupling = [["1 + 3/10*h1", "-1/5*h2"], ["1/2 - 1/10*h2", "4/5 + 1/5*h1"]]
    c = np.array([[1.0, 0.0], [0.5, 0.8]])
    G = [np.array([[0.3, 0.0], [0.0, -0.1]]), np.array([[0.0, -0.2], [0.2, 0.0]])]
    V = np.array([[1.0, -0.5]])
    net = linear_net(V=V.tolist(), coupling=coupling)
    A, m, *_ = oracle_parts()
    for k in range(2):
        got = exact_kernel(net, 1, (k,))(LAGS[:, :1])[:, 0]
        want = [V[0] @ E(A, t) @ (c[:, k] + G[k] @ m) for t in LAGS[:, 0]]
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)
    got = exact_kernel(net, 2, (0, 1))(LAGS[:, :2])[:, 0]
    want = [V[0] @ E(A, t1) @ G[0] @ E(A, t2) @ (c[:, 1] + G[1] @ m) for t1, t2 in LAGS[:, :2]]
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)


@pytest.mark.parametrize("start", ["stationary", "point"])
def test_cubic_readout_matches_taylor(start):
    """Cubic readout, order 3 (and 2): exact vs the Taylor kernels of symresp.kernels.

    Both are exact polynomial/Gaussian computations; the Taylor kernel is truncated at
    total lag degree P = 4, so the difference is O(|τ|^{P+1}) = O(λ⁵) on lags λ·τ̂.  The
    coefficients of 𝓛₀ᵖ on a cubic grow like (3‖A‖)ᵖ, so the constant is large; we test the
    order instead of a guessed constant: halving λ must divide the difference by 2^5 = 32
    (accepted in [22, 42]: the next term, O(λ⁶), shifts the ratio by a few per cent at
    these λ), and at λ = 0.01 the two agree to < 1e-7 relative to the kernel's size.
    Order 4 is exactly zero.
    """
    net = linear_net(readout="h1**3 - h1*h2**2 + h2**3/2 + h1", start=start)
    P = 4
    der = derive(net, 3, P)
    base = np.array([1.0, 0.7, 0.5, 0.8])
    for order, idx in ((2, (1, 0)), (3, (0, 1, 0))):
        nl = order + (start == "point")
        ex, ty = exact_kernel(net, order, idx), taylor_kernel(der, order, idx)
        errs = []
        for lam in (0.04, 0.02, 0.01):
            lag = lam * base[:nl]
            errs.append(abs(ex(lag)[0] - ty(lag, warn=False)[0]))
        ratios = [errs[0] / errs[1], errs[1] / errs[2]]
        assert all(22 < r < 42 for r in ratios), (errs, ratios)
        assert errs[2] < 1e-7 * max(1.0, abs(ex(0.01 * base[:nl])[0])), errs
        # and a large lag: no truncation in the exact route, the value stays finite and smooth
        assert np.isfinite(ex(3 * base[:nl])).all()
    assert np.all(exact_kernel(net, 4, (0, 0, 0, 0))(np.ones(4 + (start == "point"))) == 0.0)


def test_refuses_nonlinear_network():
    net = SRNN.create(n=2, activation="tanh", W=[[0.5, -1.0], [1.0, 0.2]], sigma=0.5)
    ok, why = has_exact(net)
    assert not ok and "taylor" in why and "mc" in why
    with pytest.raises(ValueError, match="taylor.*mc"):
        exact_kernel(net, 1)
    lin = linear_net(readout="exp(h1)")
    ok, why = has_exact(lin)
    assert not ok and "polynomial readout" in why
    with pytest.raises(ValueError, match="lags"):
        exact_kernel(linear_net(V=[[1.0, 0.0]]), 2)([0.1, 0.2, 0.3])


def test_deterministic_linear_matches_exact():
    """For a linear network the deterministic kernels at h* = m_∞ equal the stochastic linear ones
    (noise does not enter K⁽¹⁾, K⁽²⁾ for a quadratic readout).  Tolerance TOL_EXACT."""
    net = linear_net(readout=Q_EXPR)
    A, m, *_ = oracle_parts()
    for order, idx in ((1, (1,)), (2, (0, 1))):
        dk = deterministic_kernel(net, order, idx)
        np.testing.assert_allclose(dk.h_star, m, atol=1e-13)
        assert dk.stable
        lags = LAGS[:, :order]
        want = exact_kernel(net.with_start("point", [0, 0]), order, idx)(np.c_[lags, LAGS[:, 3]])
        got = dk(np.c_[lags, LAGS[:, 3]])
        if order == 1:  # at h* the gradient of hᵀQh is 2Qm_∞: K⁽¹⁾ = 2m_∞ᵀQe^{−Aτ}C_k
            want = exact_kernel(net, 1, idx)(lags)
        np.testing.assert_allclose(got, want, rtol=0, atol=TOL_EXACT)


# ---------------------------------------------------------- deterministic limit
W_T = [[0.5, -1.0], [1.0, 0.2]]
B_T = [0.1, 0.0]
C_T = [[1.0, 0.2], [0.5, -0.3]]
READOUT_T = ["h1", "h1**2 - h1*h2 + h2"]  # a nonlinear component exercises D²f


def tanh_net(sigma=0.0, h0=(0.0, 0.0), readout=READOUT_T):
    return SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        W=W_T,
        b=B_T,
        C=C_T,
        sigma=sigma,
        start="point",
        h0=list(h0),
        readout=readout,
    )


def _ode_response(hstar, t, pulses, delta=1e-3):
    """y(t) of the noiseless tanh network from h(t0) = h* with rectangular input pulses.

    pulses: list of (centre, channel, area); each is u^k = area/δ on [centre − δ/2, centre + δ/2].
    Integrated piecewise (DOP853, rtol 1e-12, atol 1e-14) so the steps never straddle a jump.
    """
    W, b, C = np.array(W_T), np.array(B_T), np.array(C_T)
    rhs = lambda _, h, u: -h + np.tanh(W @ h + b) + C @ u
    edges = sorted({0.0, t} | {c + s * delta / 2 for c, _, _ in pulses for s in (-1, 1)})
    h = np.array(hstar, float)
    for a, bnd in zip(edges[:-1], edges[1:]):
        u = np.zeros(2)
        for c, k, area in pulses:
            if c - delta / 2 <= a < c + delta / 2:
                u[k] += area / delta
        h = solve_ivp(rhs, (a, bnd), h, args=(u,), method="DOP853", rtol=1e-12, atol=1e-14).y[:, -1]
    return np.array([h[0], h[0] ** 2 - h[0] * h[1] + h[1]])


def test_sigma_zero_accepted():
    net = tanh_net(0.0)
    assert net.Sigma == net.Sigma * 0


def test_deterministic_first_order_vs_ode_pulse():
    """K⁽¹⁾_k(t; s) vs the central difference [y(+α) − y(−α)]/(2α) of pulses of area α at s,
    Richardson-extrapolated in α ((4D(α/2) − D(α))/3 removes the O(α²) third-order term).
    Errors: pulse width δ = 1e-3 centred at s → δ²/24·|∂²_sK| ≲ 1e-7 (|∂²K| ≲ 3 here);
    O(α⁴) ≲ 1e-7 for α = 0.02; ODE error ~1e-12/α ~ 1e-10.  Tolerance 5e-7 (observed
    ≤ 5e-8; without the Richardson step the O(α²) error is ~1e-5 and would fail)."""
    dk = deterministic_kernel(tanh_net(), 1, (0,))
    assert dk.residual < 1e-12 and dk.stable
    h = dk.h_star
    for tau in (0.3, 1.2):
        for k in range(2):
            dk_k = deterministic_kernel(tanh_net(), 1, (k,), h_star=h)
            D = lambda a, tau=tau, k=k: (
                (
                    _ode_response(h, tau + 0.5, [(0.5, k, a)])
                    - _ode_response(h, tau + 0.5, [(0.5, k, -a)])
                )
                / (2 * a)
            )
            fd = (4 * D(0.01) - D(0.02)) / 3
            np.testing.assert_allclose(dk_k([tau, 0.5]), fd, rtol=0, atol=5e-7)


def test_deterministic_second_order_vs_ode_two_pulses():
    """K⁽²⁾_{k1k2}(t; s1, s2) vs the mixed difference of two pulses (areas ±α at s1, ±α at s2):
    Σ± (±)(±) y /(4α²) = K⁽²⁾ + O(α²) (the α1³α2, α1α2³ terms), Richardson in α → O(α⁴).
    The diagonal terms α_j² K⁽²⁾(s_j, s_j) cancel in the mixed difference.  Errors: δ²
    ~ 1e-6/24 · |∂²K| ≲ 1e-7 per pulse, O(α⁴) with α = 0.02 ≲ 1e-7, ODE ~ 1e-12/(4α²) ~ 1e-8.
    Tolerance 5e-7 (observed ≤ 3e-8; values are O(1e-3–0.1))."""
    net = tanh_net()
    h, _ = find_fixed_point(net)
    t, s1, s2 = 1.3, 0.9, 0.5  # τ1 = 0.4, τ2 = 0.4
    for k1, k2 in ((0, 1), (1, 1)):
        dk = deterministic_kernel(net, 2, (k1, k2), h_star=h)

        def M(a, k1=k1, k2=k2):
            tot = 0.0
            for e1 in (1, -1):
                for e2 in (1, -1):
                    tot = tot + e1 * e2 * _ode_response(h, t, [(s1, k1, e1 * a), (s2, k2, e2 * a)])
            return tot / (4 * a * a)

        fd = (4 * M(0.01) - M(0.02)) / 3
        got = dk([t - s1, s1 - s2, s2])
        np.testing.assert_allclose(got, fd, rtol=0, atol=5e-7)
        # s_n does not matter at a fixed point
        np.testing.assert_allclose(dk([t - s1, s1 - s2, 7.0]), got, rtol=0, atol=1e-14)


def test_unstable_fixed_point_warns():
    net = SRNN.create(
        n=1, activation="tanh", W=[[2.0]], b=[0.0], C=[[1.0]], sigma=0.0, start="point", h0=[0.0]
    )
    with pytest.warns(UserWarning, match="not stable"):
        dk = deterministic_kernel(net, 1)
    assert not dk.stable and dk.eigenvalues.real.max() == pytest.approx(1.0)
    assert dk([1.0, 0.0])[0] == pytest.approx(np.exp(1.0), rel=1e-12)  # K = e^{Jτ}C, J = 1


@pytest.mark.parametrize(
    "order,idx,P,lags", [(1, (1,), 4, [0.1, 0.05]), (2, (0, 1), 3, [0.08, 0.06, 0.04])]
)
def test_taylor_point_start_tends_to_deterministic(order, idx, P, lags):
    """Deterministic limit: SRNN kernels at a point start h_0 = h* tend to the deterministic ones as σ → 0.

    With σ = s·I the Taylor coefficients are polynomials in s² (𝓛₀ = φ·∇ + ½s²Δ), so
    T_s − T_0 = O(s²): halving s must divide the gap by ≈ 4 (checked in [3, 5]); and T_0
    (σ = 0 exactly) equals the deterministic kernel up to the lag truncation O(|τ|^{P+1}),
    here < 1e-5 at lags ≲ 0.1.
    """
    h, _ = find_fixed_point(tanh_net())
    dk = deterministic_kernel(tanh_net(readout=["h1"]), order, idx, h_star=h)
    want = dk(lags)
    vals = {}
    for s in (0.0, 0.1, 0.05):
        # readout h1 only keeps the derivations small (D²f is covered by the ODE tests)
        net = tanh_net(sigma=s, h0=[repr(float(x)) for x in h], readout=["h1"])
        vals[s] = taylor_kernel(derive(net, order, P), order, idx)(lags)
    assert np.max(np.abs(vals[0.0] - want)) < 1e-5
    g1, g2 = np.abs(vals[0.1] - vals[0.0]), np.abs(vals[0.05] - vals[0.0])
    big = g1 > 1e-9  # components the noise actually moves
    assert big.any()
    ratio = g1[big] / g2[big]
    assert np.all((ratio > 3) & (ratio < 5)), ratio
    assert np.max(np.abs(vals[0.05] - want)) < np.max(np.abs(vals[0.1] - want))
