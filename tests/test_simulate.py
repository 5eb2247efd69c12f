"""Monte Carlo (symresp.simulate, symresp.inputs): exact oracles of the linear network with computed
error budgets, reproducibility across thread counts, divergence, bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.integrate import quad_vec
from scipy.linalg import expm, solve_discrete_lyapunov

import symresp.montecarlo as S
from symresp import SRNN, load_spec
from symresp.model.inputs import InputError, parse_input, sample_input

pytestmark = pytest.mark.usefixtures("warm_engine")

ROOT = Path(__file__).resolve().parents[1]
Z4 = 4.0  # statistical part of every budget: 4 standard errors (two-sided p ≈ 6e-5)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def lin():
    """Linear SRNN (identity activation), A = Γ − W positive stable, linear readout."""
    return SRNN.create(
        n=2,
        m=1,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1.0, 0.0], [0.5, -1.0]],
        c=[0.1, 0.0],
    )


@pytest.fixture(scope="session")
def lin_arrays(lin):
    num = lin.numeric()
    A = num["Gamma"] - num["M"] @ num["W"]
    return A, num


@pytest.fixture(scope="session")
def tanh2():
    return load_spec(ROOT / "derivations" / "tanh_2d.toml")


def _u(t):
    return np.sin(2.0 * t) + 0.5


def _exact_response(A, C, V, t):
    """∫_0^t V e^{−A(t−s)} C u(s) ds by adaptive quadrature (independent of the simulator)."""
    return quad_vec(
        lambda s: (V @ expm(-A * (t - s)) @ C)[:, 0] * _u(s), 0.0, t, epsabs=1e-12, epsrel=1e-10
    )[0]


# ----------------------------------------------------------------------------- inputs
def test_inputs_forms(tmp_path):
    t = np.linspace(0, 1, 11)
    two = sample_input("sin(2*t); cos(t)", 2, t)
    assert two.shape == (11, 2)
    assert np.allclose(two, np.c_[np.sin(2 * t), np.cos(t)], atol=1e-15)
    assert np.allclose(sample_input(lambda s: np.sin(s), 1, t)[:, 0], np.sin(t))
    assert np.allclose(sample_input(lambda s: [s, 2 * s], 2, [0.5]), [[0.5, 1.0]])  # scalar-only
    tab = np.c_[t, t**2, -t]
    np.save(tmp_path / "u.npy", tab)
    np.savetxt(tmp_path / "u.csv", tab, delimiter=",", header="t,u1,u2", comments="")
    for f in ("u.npy", "u.csv"):
        got = sample_input(str(tmp_path / f), 2, [0.05, 0.5])
        assert np.allclose(got, [[0.5 * (0 + 0.01), -0.05], [0.25, -0.5]])  # linear interpolation
    assert np.allclose(sample_input(np.ones((4, 1)) * 3, 1, [0, 0.3], dt=0.1), 3.0)
    assert np.all(sample_input(None, 3, t) == 0)


@pytest.mark.parametrize(
    "spec, m, match",
    [
        ("sin(2*t)", 2, r"m = 2 input channel\(s\) but .* gives 1"),
        ("sin(t); cos(t); t", 2, r"m = 2 .* gives 3"),
        ("sin(2*t", 1, r"could not parse"),
        ("exp(x)", 1, r"unknown name"),
        ("__import__('os')", 1, r"unknown|could not parse"),
        (np.ones((5, 4)), 2, r"m = 2 .* gives 3"),
    ],
)
def test_inputs_bad(spec, m, match):
    with pytest.raises(InputError, match=match):
        sample_input(spec, m, np.linspace(0, 1, 5))


def test_input_table_range():
    sig = parse_input(np.ones((3, 1)), 1, dt=0.5)  # covers [0, 1]
    with pytest.raises(InputError, match=r"covers times \[0, 1\]"):
        sig(np.array([0.0, 2.0]))


# ----------------------------------------------------------------------------- bad arguments
def test_bad_arguments(lin):
    with pytest.raises(ValueError, match="dt"):
        S.simulate(lin, None, T=1, dt=-0.1, paths=10, quiet=True)
    with pytest.raises(ValueError, match="paths"):
        S.simulate(lin, None, T=1, dt=0.1, paths=0, quiet=True)
    with pytest.raises(ValueError, match="paths"):
        S.kernel_mc(lin, 1, [0], [0.1], paths=-5, quiet=True)
    with pytest.raises(ValueError, match="T"):
        S.simulate(lin, None, T=-1, dt=0.1, paths=10, quiet=True)
    with pytest.raises(InputError, match=r"m = 1 .* gives 2"):
        S.simulate(lin, "sin(t); t", T=1, dt=0.1, paths=10, quiet=True)
    with pytest.raises(ValueError, match="index"):
        S.kernel_mc(lin, 1, [1], [0.1], quiet=True)
    with pytest.raises(ValueError, match="lags"):
        S.kernel_mc(lin, 2, [0, 0], [0.1, 0.2, 0.3], quiet=True)


# ----------------------------------------------------------------------------- reproducibility
_SNIPPET = """
import json, sys, numba
from symresp import load_spec
from symresp.montecarlo import simulate
net = load_spec(sys.argv[1])
out = simulate(net, "sin(t)", eps=0.5, T=0.5, dt=0.01, paths=700, seed=11, quiet=True, block=128).to_dict()
print(json.dumps({"threads": numba.get_num_threads(), "mean": out["mean"], "stderr": out["stderr"]}))
"""


def test_same_numbers_for_any_thread_count(tanh2):
    """Bit-identical results (tolerance 0) for 1 and 2 numba threads: per-block streams and an
    ordered merge make the numbers independent of scheduling."""
    outs = []
    for nt in ("1", "2"):
        env = dict(
            os.environ,
            NUMBA_NUM_THREADS=nt,
            PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        )
        res = subprocess.run(
            [sys.executable, "-c", _SNIPPET, str(ROOT / "derivations" / "tanh_2d.toml")],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
        assert res.returncode == 0, res.stderr[-2000:]
        outs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    assert [o["threads"] for o in outs] == [1, 2]
    assert outs[0]["mean"] == outs[1]["mean"] and outs[0]["stderr"] == outs[1]["stderr"]
    # in process, explicit worker counts (several blocks of 64 paths)
    a = S.simulate(
        tanh2, "sin(t)", eps=0.5, T=0.3, dt=0.01, paths=300, seed=5, block=64, threads=1, quiet=True
    )
    b = S.simulate(
        tanh2, "sin(t)", eps=0.5, T=0.3, dt=0.01, paths=300, seed=5, block=64, threads=3, quiet=True
    )
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.stderr, b.stderr)


# ----------------------------------------------------------------------------- divergence
def test_divergence_positive_feedback():
    """Linear network with Γ − W = −2 (unstable): paths cross the bound near
    t ≈ log(bound/|h|)/2; they are counted, timed, and never averaged into NaN."""
    net = SRNN.create(
        n=1, m=1, activation="identity", W=[[3.0]], C=[[1.0]], sigma=0.5, start="point", h0=[0.0]
    )
    with pytest.warns(S.DivergenceWarning, match=r"of 200 path\(s\) diverged.*first at t ="):
        r = S.simulate(net, None, T=12, dt=0.01, paths=200, seed=1, quiet=True, bound=1e4)
    d = r.diverged
    assert d["count"] >= 190 and 2.0 < d["first_time"] < 12.0
    assert len(d["times"]) == d["count"] and min(d["times"]) == d["first_time"]
    alive = r.count > 0
    assert np.all(np.isfinite(r.mean[alive])) and np.all(np.abs(r.mean[alive]) <= 1e4)
    assert r.count[0] == 200 and r.count[-1] == 200 - d["count"]
    with pytest.raises(S.DivergenceError, match=r"diverged"):
        S.simulate(
            net, None, T=12, dt=0.01, paths=50, seed=1, quiet=True, bound=1e4, on_divergence="raise"
        )


def test_divergence_far_point_start():
    """Cubic activation started far away (h0 = 40): explicit Euler overshoots,
    h1 ≈ 40 − 0.05·40³/3 ≈ −1027, h2 ≈ +1.8·10⁷ > bound = 10⁶, so every path is reported
    as diverged at t = 2 dt = 0.1 (noise 0.1·√dt cannot change that)."""
    net = SRNN.create(
        n=1,
        m=1,
        activation="cubic",
        Gamma=1.0,
        W=[[1.0]],
        C=[[1.0]],
        sigma=0.1,
        start="point",
        h0=[40.0],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = S.simulate(
            net, None, T=0.5, dt=0.05, paths=64, seed=0, quiet=True, on_divergence="ignore"
        )
    assert r.diverged["count"] == 64 and r.diverged["first_time"] == pytest.approx(0.1)
    assert max(r.diverged["times"]) == pytest.approx(0.1)
    assert r.count[0] == r.count[1] == 64 and np.all(r.count[2:] == 0)
    assert np.isnan(r.mean[2:]).all() and np.isfinite(r.mean[:2]).all()


# ----------------------------------------------------------------------------- linear oracles
def test_linear_mean_and_response_match_exact(lin, lin_arrays):
    """E[V h_t + c] = V m(t) + c with m(t) = m∞ + ∫ e^{−A(t−s)} C u(s) ds (stationary start),
    and the CRN response equals the second term.  Budget = 4·stderr + the O(dt) bias,
    estimated as 2|Y_dt − Y_{dt/2}| (weak order 1: bias(dt) ≈ 2·(Y_dt − Y_{dt/2}))."""
    A, num = lin_arrays
    V, C = num["V"], num["C"]
    m_inf, _ = S.linear_stationary(lin)
    T, dt = 1.5, 0.02
    kw = dict(eps=1.0, T=T, paths=4000, seed=3, quiet=True)
    r1 = S.simulate(lin, _u, dt=dt, **kw)
    r2 = S.simulate(lin, _u, dt=dt / 2, **kw)
    idx = np.arange(0, r1.t.size, 15)
    exact = np.array([V @ m_inf + num["c"] + _exact_response(A, C, V, t) for t in r1.t[idx]])
    y1, y2 = r1.mean[idx], r2.mean[2 * idx]
    bias = 2 * np.abs(y1 - y2)
    se = np.hypot(r1.stderr[idx], r2.stderr[2 * idx])  # the bias estimate's own noise
    budget = Z4 * r1.stderr[idx] + bias + Z4 * 2 * se
    assert np.all(np.abs(y1 - exact) <= budget), (y1, exact, budget)
    # CRN response: driven − undriven is deterministic for a linear network (stderr ≈ 0),
    # so the only error left is the Euler bias, budget from two step sizes as above.
    q1 = S.response(lin, _u, dt=dt, **kw)
    q2 = S.response(lin, _u, dt=dt / 2, **kw)
    exact_r = np.array([_exact_response(A, C, V, t) for t in q1.t[idx]])
    assert np.all(q1.stderr[idx] < 1e-12)
    bias = 2 * np.abs(q1.mean[idx] - q2.mean[2 * idx])
    assert np.all(np.abs(q1.mean[idx] - exact_r) <= 1.2 * bias + 1e-12)
    # Richardson (weak order 2, same Brownian path refined): much closer than either run
    qr = S.response(lin, _u, dt=dt, richardson=True, **kw)
    err_r = np.abs(qr.mean[idx] - exact_r).max()
    assert err_r < 0.1 * np.abs(q1.mean[idx] - exact_r).max()


def test_kicked_order1_linear(lin, lin_arrays):
    """K⁽¹⁾(τ) = V e^{−Aτ} C.  For the linear network the kicked difference is
    deterministic (stderr ≈ 0); budget = Euler bias from two step sizes."""
    A, num = lin_arrays
    taus = np.array([0.0, 0.3, 0.8, 1.6])
    exact = np.array([(num["V"] @ expm(-A * t) @ num["C"])[:, 0] for t in taus])
    k1 = S.kernel_mc(lin, 1, [0], taus, dt=0.02, paths=512, quiet=True)
    k2 = S.kernel_mc(lin, 1, [0], taus, dt=0.01, paths=512, quiet=True)
    assert np.allclose(k1.lags[:, 0], taus) and k1.alpha > 0
    assert np.all(k1.stderr < 1e-9)
    bias = 2 * np.abs(k1.values - k2.values)
    assert np.all(np.abs(k1.values - exact) <= 1.2 * bias + 1e-9)
    assert np.allclose(k1.values[0], exact[0], atol=1e-12)  # τ = 0: V C exactly
    js = k1.to_dict()
    assert {"order", "index", "method", "lags", "values", "stderr"} <= set(js)
    assert js["method"] == "mc" and len(js["values"]) == 4 and len(js["values"][0]) == 2


def test_kicked_order2_quadratic_readout():
    """Linear network, quadratic readout f = hᵀQh + h2 (spec linear_2d_quadratic):
    K⁽²⁾(t; s1, s2) = 2 (e^{−A(t−s1)}C)ᵀ Q e^{−A(t−s2)} C, order 3 vanishes.
    The mixed difference is exact for a quadratic f, so the error is the Euler bias
    (budget from two step sizes) plus roundoff of the 2ⁿ-point difference."""
    net = load_spec(ROOT / "derivations" / "linear_2d_quadratic.toml")
    num = net.numeric()
    A, C = num["Gamma"] - num["W"], num["C"]
    Q = np.array([[1.0, 0.25], [0.25, 0.0]])
    lags = np.array([[0.2, 0.3], [0.5, 0.3], [0.4, 0.0]])

    def exact(t1, t2):
        v1 = expm(-A * t1) @ C
        v2 = expm(-A * (t1 + t2)) @ C
        return 2 * (v1.T @ Q @ v2)[0, 0]

    ex = np.array([exact(*l) for l in lags])
    k1 = S.kernel_mc(net, 2, [0, 0], lags, dt=0.02, paths=256, quiet=True)
    k2 = S.kernel_mc(net, 2, [0, 0], lags, dt=0.01, paths=256, quiet=True)
    bias = 2 * np.abs(k1.values[:, 0] - k2.values[:, 0])
    assert np.all(np.abs(k1.values[:, 0] - ex) <= 1.2 * bias + 1e-5)
    k3 = S.kernel_mc(
        net, 3, [0, 0, 0], [[0.1, 0.1, 0.1]], dt=0.02, paths=128, quiet=True, alpha=0.05
    )
    assert abs(k3.values[0, 0]) < 1e-6  # roundoff of an 8-point difference / α³


def test_tangent_equals_kicked(tanh2):
    """The Euler tangent is the derivative of the Euler map, i.e. the α → 0 limit of the
    kicked estimator on the same noise: they differ by O(α²) (α = 1e-3 → ~1e-6), far below
    the statistical error, so the tolerance is 1e-5 + 0.01·stderr."""
    taus = [0.0, 0.4, 1.0]
    kk = S.kernel_mc(tanh2, 1, [0], taus, dt=0.02, paths=1000, seed=2, quiet=True, burn_in=3.0)
    kt = S.kernel_mc(
        tanh2, 1, [0], taus, dt=0.02, paths=1000, seed=2, quiet=True, burn_in=3.0, method="tangent"
    )
    assert np.all(np.abs(kk.values - kt.values) <= 1e-5 + 0.01 * kk.stderr)
    assert kk.values[0, 0] == pytest.approx(1.0, abs=1e-9)  # τ = 0: V C = 1
    assert np.all(kk.stderr[1:] > 0)


# ----------------------------------------------------------------------------- general route
def test_general_route_matches_fast_route(tanh2):
    """A user activation equal to tanh, and a state-dependent coupling equal to C, run through
    the generated-code route; on the same noise they must reproduce the fast route up to
    floating-point roundoff (tolerance 1e-9)."""
    base = dict(
        n=2,
        m=1,
        Gamma=1.0,
        W=[[0.5, -1.0], [1.0, 0.2]],
        b=[0.1, 0.0],
        sigma=0.5,
        V=[[1.0, 0.0]],
        start="point",
        h0=[0.2, -0.1],
    )
    fast = SRNN.create(activation="tanh", C=[[1.0], [0.5]], **base)
    user = SRNN.create(activation="2/(1+exp(-2*z)) - 1", C=[[1.0], [0.5]], **base)
    coup = SRNN.create(activation="tanh", coupling=[["cosh(h1)**2 - sinh(h1)**2"], ["1/2"]], **base)
    kw = dict(eps=0.7, T=0.6, dt=0.02, paths=200, seed=4, quiet=True, response=True)
    rf = S.simulate(fast, "cos(3*t)", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a codegen fallback notice, if any
        ru = S.simulate(user, "cos(3*t)", **kw)
        rc = S.simulate(coup, "cos(3*t)", **kw)
        kt = S.kernel_mc(
            user, 1, [0], [[0.3, 0.1]], dt=0.02, paths=200, quiet=True, method="tangent"
        )
    kf = S.kernel_mc(fast, 1, [0], [[0.3, 0.1]], dt=0.02, paths=200, quiet=True, method="tangent")
    assert np.allclose(ru.mean, rf.mean, atol=1e-9, rtol=0)
    assert np.allclose(rc.mean, rf.mean, atol=1e-9, rtol=0)
    assert np.allclose(kt.values, kf.values, atol=1e-9, rtol=0)


def test_relu_simulates():
    net = SRNN.create(
        n=2,
        m=1,
        activation="relu",
        derivable=False,
        W=[[0.5, -1.0], [1.0, 0.2]],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1.0, 0.0]],
        start="point",
        h0=[0.0, 0.0],
    )
    r = S.simulate(net, "sin(t)", eps=0.5, T=0.5, dt=0.01, paths=256, quiet=True, richardson=True)
    assert r.diverged["count"] == 0 and np.all(np.isfinite(r.mean))


# ----------------------------------------------------------------------------- stationary law
def test_stationary_samples_linear(lin, lin_arrays):
    """Burn-in samples of the linear network vs the Lyapunov covariance.  The Euler chain's
    own stationary covariance S_dt solves S = (I − A dt) S (I − A dt)ᵀ + dt Σ; the sample
    covariance must match it within 4 sampling standard deviations
    (Var Ŝ_ij = (S_ii S_jj + S_ij²)/N), and S_dt − S is the computed O(dt) bias."""
    A, num = lin_arrays
    m_inf, S_cont = S.linear_stationary(lin)
    assert np.allclose(A @ S_cont + S_cont @ A.T, num["Sigma"], atol=1e-12)
    dt, N = 0.02, 8000
    X = S.stationary_samples(lin, N, seed=9, method="burn-in", dt=dt)
    assert X.shape == (N, 2)
    Bm = np.eye(2) - A * dt
    S_dt = solve_discrete_lyapunov(Bm, dt * num["Sigma"])
    sd = np.sqrt((np.outer(np.diag(S_dt), np.diag(S_dt)) + S_dt**2) / N)
    assert np.all(np.abs(np.cov(X.T) - S_dt) <= Z4 * sd)
    assert np.all(np.abs(S_dt - S_cont) <= 2 * dt * np.abs(S_cont).max())  # O(dt) bias
    se_mean = np.sqrt(np.diag(S_dt) / N)
    assert np.all(np.abs(X.mean(0) - m_inf) <= Z4 * se_mean)
    Xe = S.stationary_samples(lin, 4000, seed=1, method="exact")
    sd_e = np.sqrt((np.outer(np.diag(S_cont), np.diag(S_cont)) + S_cont**2) / 4000)
    assert np.all(np.abs(np.cov(Xe.T) - S_cont) <= Z4 * sd_e)
    with pytest.raises(ValueError, match="linear"):
        S.stationary_samples(load_spec(ROOT / "derivations" / "tanh_1d.toml"), 10, method="exact")


def test_normals_and_json(lin):
    """Generator sanity (mean, variance, tail mass within 5 standard errors) and JSON shapes."""
    x = S.standard_normals(400_000, seed=1)
    n = x.size
    assert abs(x.mean()) < 5 / np.sqrt(n) and abs(x.var() - 1) < 5 * np.sqrt(2 / n)
    tail = np.mean(np.abs(x) > 3.0)  # P = 0.0026998
    assert abs(tail - 0.0026998) < 5 * np.sqrt(0.0027 / n)
    js = S.simulate(lin, "sin(t)", eps=0.5, T=0.2, dt=0.05, paths=64, seed=0, quiet=True).to_dict()
    assert len(js["t"]) == 5 and np.array(js["mean"]).shape == (5, 2)
    assert np.array(js["stderr"]).shape == (5, 2)
    json.dumps(js)


def test_vectorised_tanh_accuracy():
    """The simulator's branch-free tanh vs numpy: relative error ≤ 1e-15 (≈ 4.5 ulp; measured
    ≈ 2 ulp), exact signs, ±1 in the tails, NaN propagates."""
    x = np.concatenate([np.linspace(-30, 30, 120001), [0.0, 0.625, -0.625, 1e-300, 1e300]])
    t, ref = S.tanh_array(x), np.tanh(x)
    assert np.all(np.abs(t - ref) <= 1e-15 * np.maximum(np.abs(ref), 1e-300))
    assert np.isnan(S.tanh_array(np.array([np.nan]))[0])


def test_input_inside_activation_identity():
    """with the identity activation: a(Wh + b + εCu) = Wh + b + εCu, so the
    in-activation network equals the additive one on the same noise (tolerance 1e-12), and
    the kick direction a'(z) ⊙ C_k reduces to C_k."""
    base = dict(
        n=2,
        m=1,
        activation="identity",
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1.0, 0.0]],
        start="point",
        h0=[0.3, 0.1],
    )
    add = SRNN.create(input_site="additive", **base)
    act = SRNN.create(input_site="activation", **base)
    kw = dict(eps=0.8, T=0.5, dt=0.02, paths=128, seed=2, quiet=True)
    assert np.allclose(
        S.simulate(add, "sin(3*t)", **kw).mean,
        S.simulate(act, "sin(3*t)", **kw).mean,
        atol=1e-12,
        rtol=0,
    )
    ka = S.kernel_mc(add, 1, [0], [[0.3, 0.2]], dt=0.02, paths=64, quiet=True)
    kb = S.kernel_mc(act, 1, [0], [[0.3, 0.2]], dt=0.02, paths=64, quiet=True)
    assert np.allclose(ka.values, kb.values, atol=1e-9, rtol=0)
    # no local terms for a linear activation: order 2 is the additive network's too
    k2a = S.kernel_mc(add, 2, [0, 0], [[0.1, 0.1, 0.1]], dt=0.02, paths=64, quiet=True)
    k2b = S.kernel_mc(act, 2, [0, 0], [[0.1, 0.1, 0.1]], dt=0.02, paths=64, quiet=True)
    assert np.allclose(k2a.values, k2b.values, atol=1e-9, rtol=0)


def test_stationary_samples_1d_gibbs():
    """1-D tanh network: ρ∞ ∝ exp((2/σ²) ∫φ), φ(h) = −h + tanh(0.8h + 0.1).
    Burn-in samples' mean and second moment vs quadrature; budget = 4·stderr + the O(dt)
    Euler bias of the chain's stationary law at dt = 0.01, estimated from dt = 0.04 as
    |Y_0.04 − Y_0.01|/3, plus that estimate's own noise 4·√(se_0.04² + se_0.01²)/3."""
    from scipy.integrate import quad

    net = load_spec(ROOT / "derivations" / "tanh_1d.toml")
    s2 = 0.25
    U = lambda h: (2 / s2) * (-h * h / 2 + np.log(np.cosh(0.8 * h + 0.1)) / 0.8)
    Zn = quad(lambda h: np.exp(U(h)), -6, 6)[0]
    ex = [quad(lambda h, k=k: h**k * np.exp(U(h)), -6, 6)[0] / Zn for k in (1, 2)]
    N = 6000
    ys = []
    for dt in (0.04, 0.01):
        X = S.stationary_samples(net, N, seed=4, dt=dt)[:, 0]
        ys.append(
            (
                np.array([X.mean(), (X**2).mean()]),
                np.array([X.std(ddof=1), (X**2).std(ddof=1)]) / np.sqrt(N),
            )
        )
    (y1, se1), (y2, se2) = ys
    budget = Z4 * se2 + (np.abs(y1 - y2) + Z4 * np.hypot(se1, se2)) / 3
    assert np.all(np.abs(y2 - ex) <= budget), (y2, ex, budget)
