"""The SRNN's own kernel k_net(u, v) = ⟨φ(u), φ(v)⟩, φ(u) = ℓ(ε)ᵀ R_T(u).

(i) The Gram matrix against ⟨ℓ, R⟩ computed directly by another route: the monomial-basis
    functional (no Legendre change of basis) on per-series ``response_feature`` (a single
    series at a time), summed over units by hand.
(ii) A small fixed SRNN (n = 3 tanh units, σ = 0, point start at its fixed point, T = 0.5)
    with a readout V*: its simulated output y = V* E[h_T | u] is reproduced by the k_net model
    (least squares on φ, trained on simulated targets only) inside a budget computed term by
    term (docstring of the test).
"""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest

from symresp.features.network_kernel import NetworkFeatures, NetworkKernelClassifier, network_gram
from symresp.features.response_features import response_feature
from symresp.series.response_map import response_functional

pytestmark = pytest.mark.usefixtures("warm_engine", "warm_signature")

_path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "kernel_machine_claim.py"
_spec = importlib.util.spec_from_file_location("kernel_machine_claim", _path)
claim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claim)

T, DT, EPS, NTR = 0.5, 0.01, 0.2, 24


def _functional(net, taylor, basis="legendre"):
    with warnings.catch_warnings():
        # at the fixed point many observables vanish exactly; the cancellation diagnostic
        # Σ|terms|/|value| is then infinite although the value is right
        warnings.filterwarnings("ignore", message="symresp: severe cancellation")
        return response_functional(net, 2, taylor, basis=basis, T=T)


@pytest.fixture(scope="module")
def network():
    net, net_star, info = claim.make_network(3, 1, sigma=0.0, seed=0)
    return net, info["V_star"]


def test_gram_matches_direct_inner_products(network):
    """K[i, j] = Σ_units ⟨ℓ_unit, R(u_i)⟩ ⟨ℓ_unit, R(u_j)⟩ with ⟨ℓ, R⟩ from the monomial
    functional and ``response_feature`` of each series alone.  The Legendre and monomial
    functionals are related by an exact change of basis, so the two routes agree to
    round-off: rtol 1e-9 (feature values O(1), ~10² terms, condition of the basis change
    at degree 3 on [0, 0.5] about 10⁴)."""
    net, _ = network
    F_leg = _functional(net, 3)
    F_mon = _functional(net, 3, basis="monomial")
    rng = np.random.default_rng(4)
    X = [rng.standard_normal((1, n)).cumsum(axis=1) * 0.3 for n in (20, 31, 20, 45)]
    K = network_gram(F_leg, X, eps=0.7, horizon=T)
    phi = []
    for x in X:
        t = np.linspace(0.0, T, x.shape[1])
        R = response_feature(x, t, 2, 3, basis="monomial").features
        phi.append(R @ F_mon.coefficients(0.7))
    phi = np.array(phi)
    direct = np.array([[np.dot(a, b) for b in phi] for a in phi])
    np.testing.assert_allclose(K, direct, rtol=1e-9, atol=1e-12 * np.abs(direct).max())
    np.testing.assert_allclose(network_gram(F_leg, X[:2], X, eps=0.7, horizon=T), K[:2])
    with pytest.raises(ValueError, match=r"horizon: the functional's Legendre basis lives"):
        network_gram(F_leg, X, horizon=1.0)


def test_knet_model_reproduces_simulated_readout(network):
    """Targets y_i = V* E[h_T | u_i], simulated (σ = 0: one Euler path is the mean,
    Richardson at dt = 0.01), 24 train / 12 test random Fourier inputs at ε = 0.2.  The k_net
    model fits a readout (v, c) to the training targets by least squares on φ (order 2,
    Taylor degree P = 5).  Budget for test input i:

        B_i = |φ_P V* − φ_{P−1} V*|        Taylor truncation of the kernels
            + |ε²-term|² / |ε-term|          first neglected amplitude term (ε³)
            + |φ on grid h − on h/2| |V*|    trapezoid support path, O(h²)
            + |y_{dt} − y_{dt/2}|            Euler–Richardson time step
    bounds the error of the untrained direct map φ V*; the trained readout differs from V*
    by the least-squares solution of the training residuals r_j (|r_j| ≤ B_j), so the
    held-out error is at most  B_i + Σ_j |H_ij| B_j  with H the (test × train) hat matrix
    of least squares on [φ, 1].  Asserted for every test input, plus tightness: the budget
    is below 5 % of the spread of the targets, so the reproduction is a real one."""
    net, Vs = network
    inputs = claim.random_inputs(36, 1, T, seed=1)
    t = np.linspace(0.0, T, int(round(T / DT)) + 1)
    t_fine = np.linspace(0.0, T, 2 * (len(t) - 1) + 1)
    X, X_fine = claim.tabulate(inputs, t), claim.tabulate(inputs, t_fine)
    H, _ = claim.mean_final_states(net, inputs, eps=EPS, T=T, dt=DT)
    H2, _ = claim.mean_final_states(net, inputs, eps=EPS, T=T, dt=DT / 2)
    y, y_coarse = H2 @ Vs, H @ Vs
    F, F_lo = _functional(net, 5), _functional(net, 4)
    phi = lambda G, A: NetworkFeatures(functional=G, eps=EPS, horizon=T).fit(A).transform(A)
    P, P_lo, P_fine = phi(F, X), phi(F_lo, X), phi(F, X_fine)
    R = np.stack(
        [response_feature(x, t_fine, 2, F.degree, basis="legendre").features for x in X_fine]
    )
    terms = np.stack([EPS**n * R @ F.by_order[n] @ Vs for n in range(3)])
    B = (
        np.abs((P_fine - P_lo) @ Vs)
        + terms[2] ** 2 / np.abs(terms[1])
        + np.abs((P_fine - P) @ Vs)
        + np.abs(y - y_coarse)
    )
    direct = P_fine @ Vs
    assert np.all(np.abs(direct - y) <= B), "the budget of the direct map"
    A = np.hstack([P_fine, np.ones((len(y), 1))])
    coef = np.linalg.lstsq(A[:NTR], y[:NTR], rcond=None)[0]
    pred = A[NTR:] @ coef
    hat = A[NTR:] @ np.linalg.pinv(A[:NTR])
    budget = B[NTR:] + np.abs(hat) @ B[:NTR]
    err = np.abs(pred - y[NTR:])
    assert np.all(err <= budget), (err, budget)
    assert budget.max() < 0.05 * np.std(y), (budget.max(), np.std(y))


def test_knet_classifier_separates_by_sign_of_input(network):
    """The classifier on k_net (ridge on φ) separates inputs by the sign of their mean
    (the level-1 direction a stable network reaches): held-out accuracy ≥ 0.9."""
    net, _ = network
    F = _functional(net, 3)
    rng = np.random.default_rng(2)
    sign = rng.choice([-1.0, 1.0], 80)
    X = (sign[:, None] * 0.8 + 0.6 * rng.standard_normal((80, 30)))[:, None, :]
    labels = np.where(sign > 0, "up", "down")
    clf = NetworkKernelClassifier(functional=F, eps=1.0, horizon=T, alpha=1e-3)
    clf.fit(X[:50], labels[:50])
    assert clf.n_features_in_ == 1 and set(clf.classes_) == {"up", "down"}
    assert clf.score(X[50:], labels[50:]) >= 0.9
