"""One entry point (symresp.kernel) and one Kernel interface for every route.

Routes must agree where the mathematics says they must:

* exact vs taylor on the linear network: the total-degree-P Taylor polynomial is the degree-P
  Taylor polynomial of g(λ) = K(λτ) at λ = 1, so by Taylor's theorem its error is at most
  max_{0≤λ≤1} |g^{(P+1)}(λ)| / (P+1)!, bounded below from the closed forms K⁽¹⁾ = w e^{−Aτ}C,
  K⁽²⁾ = 2 (e^{−Aτ_1}C)ᵀ Q e^{−A(τ_1+τ_2)}C with ‖e^{−Aλx}‖ ≤ e^{‖A‖λx};
* deterministic vs taylor of the noiseless network started at its fixed point (1-D tanh):
  the deterministic kernels are entire functions with the closed forms K⁽¹⁾ = f'e^{Jτ_1}C and
  K⁽²⁾ = f'BC²(e^{J(2τ_1+τ_2)} − e^{J(τ_1+τ_2)})/J (B = φ''(h*)), giving the same kind of bound;
* mc vs exact on the linear network: with a quadratic readout the central difference in the
  kick is exact and the Euler chain keeps the mean m_∞, so the estimator's mean is
  w (I − A dt)^k C (k = τ/dt); |mc − exact| ≤ z·stderr + |w((I − A dt)^k − e^{−Akdt})C|.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.linalg import expm
from scipy.stats import norm

import symresp
from symresp import strict_json
from symresp.errors import ArgumentError
from symresp.kernels import Kernel, MonteCarloKernel, TaylorKernel

ROOT = Path(__file__).resolve().parent.parent
LIN = ROOT / "derivations" / "linear_2d_quadratic.toml"
TANH = ROOT / "derivations" / "tanh_1d.toml"
MC = dict(paths=256, dt=0.05, seed=3, quiet=True)  # tiny: the interface, not the accuracy

# the linear spec, written out independently of symresp: f = hᵀQh + v·h, A = Γ − W
A_LIN = np.eye(2) - np.array([[-0.5, 0.3], [-0.4, -0.2]])
B_LIN = np.array([0.2, -0.1])
C_LIN = np.array([1.0, 0.5])
Q_LIN = np.array([[1.0, 0.25], [0.25, 0.0]])
V_LIN = np.array([0.0, 1.0])
M_LIN = np.linalg.solve(A_LIN, B_LIN)
W_LIN = 2 * Q_LIN @ M_LIN + V_LIN  # K⁽¹⁾(τ) = W_LIN e^{−Aτ} C
NA = np.linalg.norm(A_LIN, 2)


@pytest.fixture(scope="module")
def lin():
    return symresp.load_spec(LIN)


@pytest.fixture(scope="module")
def tanh():
    return symresp.load_spec(TANH)


def assert_interface(K, lags, *, method, start, p=1, has_stderr=False):
    """The full Kernel interface on lags shaped (..., nlags)."""
    assert isinstance(K, Kernel)
    assert K.method == method and K.start == start
    assert isinstance(K.index, tuple) and len(K.index) == K.order
    assert K.nlags == K.order + (start == "point")
    lags = np.asarray(lags, float)
    assert lags.shape[-1] == K.nlags
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vals = K(lags)
        se = K.stderr(lags)
        ok = K.trusted(lags)
    assert vals.shape == lags.shape[:-1] + (p,) and np.all(np.isfinite(vals))
    if has_stderr:
        assert se is not None and se.shape == vals.shape
    else:
        assert se is None
    assert ok.shape == lags.shape[:-1] and ok.dtype == bool
    d = K.to_dict()
    back = json.loads(strict_json.dumps(d))
    for key in ("order", "index", "start", "method", "nlags"):
        assert back[key] == d[key], key
    assert back["index"] == list(K.index) and back["nlags"] == K.nlags and back["method"] == method
    r = repr(K)
    assert (
        r.startswith(type(K).__name__ + "(") and f"order={K.order}" in r and f"start='{start}'" in r
    )
    # wrong shape and non-finite lags: ArgumentError naming the lags and the expected shape
    with pytest.raises(ArgumentError, match=rf"lags.*\(\.\.\., {K.nlags}\)"):
        K(np.zeros(lags.shape[:-1] + (K.nlags + 1,)))
    bad = lags.copy()
    bad.flat[0] = np.nan
    with pytest.raises(ArgumentError, match="lags.*finite"):
        K(bad)
    with pytest.raises(ArgumentError, match="lags"):
        K.trusted(np.zeros(K.nlags + 1))
    return vals, se, ok


# ------------------------------------------------------------------ every route, full interface
def test_every_route_stationary_linear(lin):
    lags1 = np.array([[[0.1], [0.2]], [[0.3], [0.0]]])  # (2, 2, 1)
    lags2 = np.array([[0.1, 0.2], [0.05, 0.0], [0.2, 0.1]])  # (3, 2)
    assert_interface(
        symresp.kernel(lin, 1, method="exact"), lags1, method="exact", start="stationary"
    )
    assert_interface(
        symresp.kernel(lin, 2, (0, 0), method="exact"), lags2, method="exact", start="stationary"
    )
    assert_interface(
        symresp.kernel(lin, 2, method="taylor", taylor=4),
        lags2,
        method="taylor",
        start="stationary",
    )
    # the fixed point kernel is time-translation invariant: stationary lags, no dummy s_n
    assert_interface(
        symresp.kernel(lin, 2, method="deterministic"),
        lags2,
        method="deterministic",
        start="stationary",
    )
    K = symresp.kernel(lin, 1, method="mc", **MC)
    assert isinstance(K, MonteCarloKernel)
    vals, se, ok = assert_interface(K, lags1, method="mc", start="stationary", has_stderr=True)
    assert np.all(ok) and np.all(se > 0)
    d = K.to_dict()
    assert (d["paths"], d["dt"], d["seed"], d["estimator"]) == (256, 0.05, 3, "kicked")
    assert d["sampling"] == "exact" and d["runs"] == 1  # one run served values, stderr, trusted


def test_every_route_tanh_1d(tanh):
    lags1 = np.array([[0.1], [0.4]])
    K = symresp.kernel(tanh, 1, method="taylor")
    assert isinstance(K, TaylorKernel)
    assert_interface(K, lags1, method="taylor", start="stationary")
    assert K.to_dict()["expectation"] == "gibbs" and K.to_dict()["P"] == 6
    assert_interface(
        symresp.kernel(tanh, 2, method="deterministic"),
        [[0.1, 0.2]],
        method="deterministic",
        start="stationary",
    )
    assert_interface(
        symresp.kernel(tanh, 1, method="mc", **MC),
        lags1,
        method="mc",
        start="stationary",
        has_stderr=True,
    )


def test_every_route_point_start(lin):
    pt = lin.with_start("point", [0.3, -0.2])
    lags = np.array([[0.1, 0.2, 0.0], [0.2, 0.05, 0.3]])  # (τ_1, τ_2, s_2)
    for method, kw in (("exact", {}), ("taylor", {"taylor": 4}), ("deterministic", {})):
        K = symresp.kernel(pt, 2, (0, 0), method=method, **kw)
        assert_interface(K, lags, method=method, start="point")
    K = symresp.kernel(pt, 2, method="deterministic")
    assert K.to_dict()["ignored_lag"] == "s_n"
    np.testing.assert_allclose(K([0.1, 0.2, 5.0]), K([0.1, 0.2, 0.0]), rtol=0, atol=1e-15)
    K = symresp.kernel(pt, 1, method="mc", **MC)
    _, _, ok = assert_interface(
        K, [[0.1, 0.0], [0.2, 0.1]], method="mc", start="point", has_stderr=True
    )
    assert np.all(ok) and K.to_dict()["sampling"] == "point"
    # start= overrides the spec's start
    assert symresp.kernel(lin, 1, method="exact").start == "stationary"
    assert symresp.kernel(pt, 1, method="exact", start="stationary").nlags == 1


# ------------------------------------------------------------------ auto
def test_auto_picks_exact_for_linear_galerkin_for_tanh_and_taylor_without_a_law(lin, tanh):
    K = symresp.kernel(lin, 2, taylor=4)
    assert K.method == "exact"
    d = K.to_dict()
    assert (
        d["auto"] is True and "linear network" in d["reason"] and d["ignored_options"] == ["taylor"]
    )
    # the 1-D tanh network has a Gibbs quadrature of ρ_∞: the all-lag Galerkin route converges
    K = symresp.kernel(tanh, 1, taylor=4)
    assert K.method == "galerkin" and K.converged
    d = K.to_dict()
    assert d["auto"] is True and "identity activation" in d["reason"] and "converged" in d["reason"]
    assert d["ignored_options"] == ["taylor"]
    # a Galerkin basis that cannot meet its tolerance hands over to the Taylor route
    K = symresp.kernel(tanh, 1, taylor=4, max_degree=1, tol=1e-12)
    assert K.method == "taylor" and K.P == 4
    assert "galerkin: not converged" in K.to_dict()["reason"]
    assert symresp.kernel(lin, 1, method="exact").to_dict()["auto"] is False


# ------------------------------------------------------------------ routes agree
@pytest.mark.parametrize("P", [3, 5])
def test_exact_equals_taylor_within_the_truncation_bound(lin, P):
    taus = np.array([0.02, 0.05, 0.1, 0.2])
    ex1, ty1 = (
        symresp.kernel(lin, 1, method="exact"),
        symresp.kernel(lin, 1, method="taylor", taylor=P),
    )
    err1 = np.abs(ex1(taus[:, None]) - ty1(taus[:, None], warn=False))[:, 0]
    x = NA * taus
    bound1 = (
        np.linalg.norm(W_LIN)
        * np.linalg.norm(C_LIN)
        * x ** (P + 1)
        / math.factorial(P + 1)
        * np.exp(x)
    )
    assert np.all(err1 <= bound1 + 1e-13), (err1, bound1)
    lags2 = np.column_stack([taus, taus / 2])
    ex2, ty2 = (
        symresp.kernel(lin, 2, method="exact"),
        symresp.kernel(lin, 2, method="taylor", taylor=P),
    )
    err2 = np.abs(ex2(lags2) - ty2(lags2, warn=False))[:, 0]
    x2 = NA * (2 * lags2[:, 0] + lags2[:, 1])  # the exponents of g(λ): λτ_1 and λ(τ_1 + τ_2)
    bound2 = (
        2
        * np.linalg.norm(Q_LIN, 2)
        * np.linalg.norm(C_LIN) ** 2
        * x2 ** (P + 1)
        / math.factorial(P + 1)
        * np.exp(x2)
    )
    assert np.all(err2 <= bound2 + 1e-13), (err2, bound2)
    # the bound is tight (observed err/bound in 0.15–0.66): a series truncated one degree
    # higher would be ≈ ‖A‖τ/(P+2) < 0.1 times smaller at the smallest lags and fail this
    assert np.all(err1 >= bound1 / 20) and np.all(err2 >= bound2 / 20), (
        err1 / bound1,
        err2 / bound2,
    )
    assert np.all(ty1.trusted(taus[:, None])) and np.all(ty2.trusted(lags2))


def test_taylor_trusted_region_is_half_the_radius(lin, tanh):
    # the degree-P truncation of the linear network's entire series is not trusted at large
    # lags either: there the error is large, and trusted says so
    ty = symresp.kernel(lin, 1, method="taylor", taylor=4)
    ex = symresp.kernel(lin, 1, method="exact")
    far = np.array([[4 * ty.radius[0]]])
    assert not ty.trusted(far)[0]
    with pytest.warns(UserWarning, match="radius"):
        err = abs(ty(far) - ex(far))[0, 0]
    assert err > 1e-2
    K = symresp.kernel(tanh, 1, method="taylor", taylor=6)
    r = K.radius[0]
    np.testing.assert_array_equal(
        K.trusted([[0.4 * r], [0.5 * r], [0.6 * r], [-0.6 * r]]), [True, True, False, False]
    )


# at a fixed point many Taylor coefficients vanish (φ(h*) = 0), so their relative cancellation
# ratio is large while their absolute error stays ~1e-15: the tolerance below is absolute
@pytest.mark.filterwarnings("ignore:symresp. severe cancellation")
def test_deterministic_equals_taylor_of_the_noiseless_network_at_its_fixed_point(tanh):
    P = 6
    det2 = symresp.kernel(tanh, 2, method="deterministic", start="point")
    h = det2.h_star
    net0 = symresp.SRNN.create(
        n=1,
        activation="tanh",
        Gamma=1.0,
        W=[[0.8]],
        b=[0.1],
        C=[[1.0]],
        sigma=0,
        V=[[1.0]],
        start="point",
        h0=[repr(float(h[0]))],
    )
    J, B = det2.jacobian[0, 0], det2.hess_phi[0, 0, 0]
    lags1 = np.array([[0.05, 0.0], [0.1, 0.3], [0.2, 0.1]])
    ty1 = symresp.kernel(net0, 1, method="taylor", taylor=P)
    det1 = symresp.kernel(net0, 1, method="deterministic", h_star=h)
    err1 = np.abs(det1(lags1) - ty1(lags1, warn=False))[:, 0]
    bound1 = (abs(J) * lags1[:, 0]) ** (P + 1) / math.factorial(P + 1)  # |f'C| = 1, e^{Jλτ} ≤ 1
    assert np.all(err1 <= bound1 + 1e-12), (err1, bound1)
    lags2 = np.array([[0.05, 0.05, 0.0], [0.1, 0.05, 0.2], [0.15, 0.1, 0.1]])
    ty2 = symresp.kernel(net0, 2, method="taylor", taylor=P)
    err2 = np.abs(
        symresp.kernel(net0, 2, method="deterministic", h_star=h)(lags2) - ty2(lags2, warn=False)
    )[:, 0]
    a, b = 2 * lags2[:, 0] + lags2[:, 1], lags2[:, 0] + lags2[:, 1]
    bound2 = abs(B / J) * abs(J) ** (P + 1) * (a ** (P + 1) + b ** (P + 1)) / math.factorial(P + 1)
    assert np.all(err2 <= bound2 + 1e-12), (err2, bound2)


def test_mc_agrees_with_exact_within_the_stderr_budget(lin):
    dt, taus = 0.05, np.array([0.1, 0.3, 0.6])
    mc = symresp.kernel(lin, 1, method="mc", paths=400, dt=dt, seed=11, quiet=True)
    vals, se = mc(taus[:, None])[:, 0], mc.stderr(taus[:, None])[:, 0]
    ex = symresp.kernel(lin, 1, method="exact")(taus[:, None])[:, 0]
    k = np.rint(taus / dt).astype(int)
    euler = np.array(
        [W_LIN @ np.linalg.matrix_power(np.eye(2) - A_LIN * dt, kk) @ C_LIN for kk in k]
    )
    bias = np.abs(euler - np.array([W_LIN @ expm(-A_LIN * t) @ C_LIN for t in taus]))
    z = norm.isf(1e-3 / (2 * len(taus)))  # Bonferroni, family-wise level 1e-3
    assert np.all(np.abs(vals - ex) <= z * se + bias + 1e-12), (vals, ex, se, bias)
    assert np.all(se < 0.1)


# ------------------------------------------------------------------ options and errors
def test_bad_options_and_arguments(lin, tanh):
    with pytest.raises(ArgumentError, match="paths.*exact.*accepted options: none"):
        symresp.kernel(lin, 1, method="exact", paths=10)
    with pytest.raises(ArgumentError, match=r"tayler.*accepted options:.*taylor"):
        symresp.kernel(tanh, 1, method="taylor", tayler=4)
    with pytest.raises(ArgumentError, match=r"paths.*auto.*taylor"):
        symresp.kernel(tanh, 1, paths=10)
    with pytest.raises(ArgumentError, match=r"bogus.*accepted options:.*paths"):
        symresp.kernel(lin, 1, method="mc", bogus=1)
    with pytest.raises(ArgumentError, match="method.*'exact'"):
        symresp.kernel(lin, 1, method="spectral")
    with pytest.raises(ArgumentError, match=r"method='exact' does not apply.*identity"):
        symresp.kernel(tanh, 1, method="exact")
    with pytest.raises(ArgumentError, match="paths"):
        symresp.kernel(lin, 1, method="mc", paths=0)
    with pytest.raises(
        ArgumentError, match=r"index: expected 1 channel\(s\), each 0-based in 0\.\.0, got \[1\]"
    ):
        symresp.kernel(lin, 1, (1,), method="taylor")
    from symresp.kernels.taylor import taylor_kernel

    with pytest.raises(ArgumentError, match=r"0-based in 0\.\.0, got \[1\]"):
        taylor_kernel(symresp.derive(lin, 1, 2), 1, (1,))
    with pytest.raises(ArgumentError, match="order"):
        symresp.kernel(lin, -1)
    with pytest.raises(ArgumentError, match="start"):
        symresp.kernel(lin, 1, start="sideways")
    with pytest.raises(ArgumentError, match="lags.*≥ 0"):
        symresp.kernel(lin, 1, method="exact")([[-0.1]])


def test_taylor_reuses_a_derivation_and_draws_samples(lin, tanh):
    der = symresp.derive(tanh, 2, 4)
    K = symresp.kernel(tanh, 2, (0, 0), method="taylor", derivation=der)
    from symresp.kernels.taylor import taylor_kernel

    np.testing.assert_array_equal(K.coeffs, taylor_kernel(der, 2, (0, 0)).coeffs)
    with pytest.raises(ArgumentError, match="taylor.*P = 4"):
        symresp.kernel(tanh, 1, method="taylor", derivation=der, taylor=6)
    with pytest.raises(ArgumentError, match="derivation.*stationary.*point"):
        symresp.kernel(tanh, 1, method="taylor", derivation=der, start="point")
    # samples=N where a closed route exists: the closed route is used, nothing is simulated
    K = symresp.kernel(lin, 1, method="taylor", taylor=2, samples=100)
    assert K.expectation == "gaussian" and K.stderr([[0.1]]) is None
    X = np.random.default_rng(0).normal(size=(50, 2))
    K = symresp.kernel(lin, 1, method="taylor", taylor=2, samples=X)
    assert K.to_dict()["expectation"] == "samples[50]"
    assert (
        repr(K)
        == "TaylorKernel(order=1, index=(0,), start='stationary', P=2, expectation='samples[50]')"
    )
    se = K.stderr([[0.0], [0.1]])
    assert se.shape == (2, 1) and np.all(se > 0)


def test_entry_point_loads_no_numba():
    code = (
        "import sys, symresp; net = symresp.load_spec(sys.argv[1]); "
        "symresp.kernel(net, 1); symresp.kernel(net, 1, method='taylor', taylor=2); "
        "assert 'numba' not in sys.modules, 'numba loaded'"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(LIN)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
