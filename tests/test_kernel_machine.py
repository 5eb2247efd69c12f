"""Kernel machine on response features: readout-only training is ridge regression on R;
series are (n_cases, n_channels, n_timepoints)."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from symresp.features.estimators import (
    ResponseFeatureClassifier,
    ResponseFeatureRegressor,
    component_weights,
    gram_matrix,
    response_feature_matrix,
)
from symresp.features.response_features import feature_words, response_feature, response_letters

pytestmark = pytest.mark.usefixtures("warm_signature")


@pytest.fixture(scope="session")
def series():
    """80 random-walk series, 2 channels, 40 points."""
    rng = np.random.default_rng(7)
    return rng.standard_normal((80, 2, 40)).cumsum(axis=-1) * 0.25


def test_feature_matrix_matches_response_feature(series):
    F = response_feature_matrix(series, level=2, degree=1, basis="monomial")
    t = np.linspace(0.0, 1.0, 40)
    for i in (0, 33):
        rf = response_feature(series[i], t, 2, 1, include_time_factors=False)
        np.testing.assert_allclose(F[i], rf.features, rtol=1e-14, atol=1e-16)
    # normalize_time=False with the default grid 0, 1, …, 39
    G = response_feature_matrix(
        series[:3],
        level=2,
        degree=1,
        basis="monomial",
        normalize_time=False,
        include_time_factors=True,
    )
    rf = response_feature(series[1], np.arange(40.0), 2, 1)
    np.testing.assert_allclose(G[1], rf.features, rtol=1e-14)


def test_gram_equals_explicit_inner_products(series):
    X, Y = series[:12], series[12:19]
    lw = [1.0, 0.5, 0.25, 0.125]
    dw = np.linspace(1.0, 0.2, 1 * (3 + 1) + 1)
    K = gram_matrix(X, Y, level=3, degree=1, level_weights=lw, degree_weights=dw)
    F = response_feature_matrix(X, level=3, degree=1)
    G = response_feature_matrix(Y, level=3, degree=1)
    lam = component_weights(2, 3, 1, lw, dw)
    explicit = np.array([[np.sum(lam * F[i] * G[j]) for j in range(len(Y))] for i in range(len(X))])
    np.testing.assert_allclose(K, explicit, rtol=1e-13)
    with pytest.raises(
        ValueError, match=r"Y: expected 2 channels \(axis n_channels\) like X, got 1"
    ):
        gram_matrix(X, Y[:, :1], level=3, degree=1)
    K0 = gram_matrix(X, level=3, degree=1)
    np.testing.assert_allclose(K0, F @ F.T, rtol=1e-13)
    np.testing.assert_allclose(K0, K0.T, rtol=1e-13)


def test_component_weights_structure():
    m, N, Q = 2, 2, 1
    lw = [10.0, 2.0, 3.0]
    dw = [1.0, 5.0, 7.0, 11.0]
    lam = component_weights(m, N, Q, lw, dw, include_time_factors=True)
    letters = response_letters(m, Q)
    ws = feature_words(m, N, Q)
    assert lam.size == 2 * len(ws)
    for q0 in range(Q + 1):
        for i, w in enumerate(ws):
            deg = q0 + sum(letters[ell][0] for ell in w)
            assert lam[q0 * len(ws) + i] == lw[len(w)] * dw[deg]
    with pytest.raises(ValueError, match=r"level_weights: expected None or a sequence of 3"):
        component_weights(m, N, Q, [1.0, 1.0])
    with pytest.raises(ValueError, match=r"non-negative"):
        component_weights(m, N, Q, [1.0, -1.0, 1.0])


@pytest.mark.parametrize("alpha", [1e-3, 1.0])
def test_primal_and_dual_agree(series, alpha):
    rng = np.random.default_rng(3)
    y = rng.standard_normal(60)
    kw = dict(level=3, degree=1, alpha=alpha, level_weights=[1, 1, 0.5, 0.25])
    primal = ResponseFeatureRegressor(solver="primal", **kw).fit(series[:60], y)
    dual = ResponseFeatureRegressor(solver="dual", **kw).fit(series[:60], y)
    assert primal.solver_ == "primal" and dual.solver_ == "dual"
    assert dual.dual_coef_.shape == (60, 1)
    np.testing.assert_allclose(
        dual.predict(series[60:]), primal.predict(series[60:]), rtol=1e-8, atol=1e-10
    )
    # dual predictions are kernel predictions: K(test, train) a + ȳ with K of the
    # standardised features
    Kt = dual.features_.transform(series[60:]) @ dual.features_.transform(series[:60]).T
    np.testing.assert_allclose(
        Kt @ dual.dual_coef_[:, 0] + y.mean(), dual.predict(series[60:]), rtol=1e-10, atol=1e-12
    )
    # auto picks the smaller system: p = 1 + 4 + 16 + 64 = 85 > n = 60 ⇒ dual
    assert ResponseFeatureRegressor(**kw).fit(series[:60], y).solver_ == "dual"


def test_exact_linear_functional_is_recovered(series):
    """y = ⟨β, R⟩ + c is in the model class; least squares recovers it to round-off
    (``clip=False``: a linear functional extrapolates exactly only on unclipped features,
    and some test series leave the training range)."""
    rng = np.random.default_rng(11)
    F = response_feature_matrix(series, level=2, degree=1)  # 21 features
    beta = rng.standard_normal(F.shape[1])
    y = F @ beta + 0.7
    model = ResponseFeatureRegressor(level=2, degree=1, alpha=0.0, clip=False).fit(
        series[:50], y[:50]
    )
    assert model.solver_ == "primal"
    pred = model.predict(series[50:])
    assert np.max(np.abs(pred - y[50:])) <= 1e-10 * np.max(np.abs(y))
    assert model.score(series[50:], y[50:]) == pytest.approx(1.0, abs=1e-12)
    # tiny ridge: still essentially exact
    model = ResponseFeatureRegressor(level=2, degree=1, alpha=1e-10, clip=False).fit(
        series[:50], y[:50]
    )
    assert np.max(np.abs(model.predict(series[50:]) - y[50:])) <= 1e-6 * np.max(np.abs(y))


def test_multi_target_regression(series):
    """Two exact linear functionals at once (unclipped features, as above)."""
    F = response_feature_matrix(series, level=2, degree=0)
    Y = np.stack([F[:, 3], F[:, 4] - 2 * F[:, 1]], axis=1)
    model = ResponseFeatureRegressor(level=2, degree=0, alpha=0.0, clip=False).fit(
        series[:40], Y[:40]
    )
    assert model.predict(series[40:]).shape == (40, 2)
    np.testing.assert_allclose(model.predict(series[40:]), Y[40:], atol=1e-10)


def rotations(n, rng, length=50):
    """Loops traversed counter-clockwise (label 1) or clockwise (label 0):
    the sign of the Lévy area, a level-2 signature feature."""
    s = np.linspace(0, 2 * np.pi, length)
    labels = rng.integers(0, 2, n)
    X = np.empty((n, 2, length))
    for i, lab in enumerate(labels):
        a, b, ph = rng.uniform(0.5, 2.0), rng.uniform(0.5, 2.0), rng.uniform(0, 2 * np.pi)
        sign = 1.0 if lab else -1.0
        X[i, 0] = a * np.cos(s + ph) + 0.05 * rng.standard_normal(length)
        X[i, 1] = sign * b * np.sin(s + ph) + 0.05 * rng.standard_normal(length)
    return X, labels


def test_classifier_separates_rotation_direction():
    rng = np.random.default_rng(5)
    X, y = rotations(120, rng)
    names = np.array(["clockwise", "counter"])[y]
    clf = ResponseFeatureClassifier(level=2, degree=0, alpha=1e-2).fit(X[:80], names[:80])
    assert list(clf.classes_) == ["clockwise", "counter"]
    assert clf.decision_function(X[80:]).shape == (40,)
    assert clf.score(X[80:], names[80:]) == 1.0
    dual = ResponseFeatureClassifier(level=2, degree=0, alpha=1e-2, solver="dual").fit(
        X[:80], names[:80]
    )
    np.testing.assert_allclose(
        dual.decision_function(X[80:]), clf.decision_function(X[80:]), rtol=1e-8, atol=1e-10
    )


def test_multiclass_one_vs_rest():
    rng = np.random.default_rng(9)
    length = 60
    t = np.linspace(0, 1, length)
    freqs = np.array([1.0, 2.0, 3.0])
    y = rng.integers(0, 3, 150)
    X = np.stack(
        [
            np.sin(2 * np.pi * freqs[y][:, None] * t + rng.uniform(0, 0.3, (150, 1)))
            + 0.05 * rng.standard_normal((150, length)),
            np.broadcast_to(t, (150, length)),
        ],
        axis=1,
    )
    clf = ResponseFeatureClassifier(level=3, degree=1, alpha=1e-3).fit(X[:100], y[:100], t=t)
    assert clf.decision_function(X[100:], t=t).shape == (50, 3)
    assert clf.score(X[100:], y[100:], t=t) >= 0.95


def test_params_protocol_and_errors(series):
    est = ResponseFeatureRegressor(level=2)
    params = est.get_params()
    assert params["level"] == 2 and params["basis"] == "legendre" and "alpha" in params
    assert est.set_params(alpha=0.5, degree=2) is est and est.degree == 2
    clone = ResponseFeatureRegressor(**est.get_params())
    assert clone.get_params() == est.get_params()
    with pytest.raises(ValueError, match=r"Invalid parameter 'gamma' for estimator"):
        est.set_params(gamma=1)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        est.predict(series)
    y = np.zeros(80)
    for bad, match in [
        (dict(alpha=-1), r"alpha: expected a finite number >= 0, got -1"),
        (dict(level=0), r"level: expected an integer ≥ 1, got 0"),
        (dict(degree=1.5), r"degree: expected an integer, got 1.5"),
        (dict(basis="fourier"), r"basis: expected one of 'monomial', 'legendre'"),
        (dict(solver="svd"), r"solver: expected 'auto', 'primal' or 'dual'"),
        (dict(normalize_time="yes"), r"normalize_time: expected True or False"),
        (dict(level_weights=[1, 2]), r"level_weights: expected None or a sequence of 3"),
    ]:
        with pytest.raises((ValueError, TypeError), match=match):
            ResponseFeatureRegressor(
                level=2, **{k: v for k, v in bad.items() if k != "level"}
            ).set_params(**bad).fit(series, y)
    with pytest.raises(ValueError, match=r"y: expected 80 targets"):
        ResponseFeatureRegressor().fit(series, np.zeros(5))
    with pytest.raises(
        ValueError,
        match=r"X: expected a collection of series \(n_cases, n_channels, n_timepoints\)",
    ):
        ResponseFeatureRegressor().fit(np.zeros((2, 3, 4, 5)), np.zeros(2))
    with pytest.raises(
        ValueError, match=r"t: expected one time per time point of the series \(n_timepoints = 40\)"
    ):
        ResponseFeatureRegressor().fit(series, y, t=np.arange(5.0))
    model = ResponseFeatureRegressor(level=2).fit(series, y + np.arange(80.0))
    with pytest.raises(
        ValueError, match=r"X: expected 2 channels \(axis n_channels\) as in fit, got 1"
    ):
        model.predict(series[:, :1])
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        ResponseFeatureClassifier().fit(series, np.zeros(80))


def test_normalize_time_makes_durations_comparable(series):
    t = np.linspace(0.0, 1.0, 40)
    kw = dict(level=3, degree=2, basis="legendre")
    a = response_feature_matrix(series[:5], t, **kw)
    b = response_feature_matrix(series[:5], 7.0 * t + 3.0, **kw)  # other duration, offset
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    c = response_feature_matrix(series[:5], 7.0 * t, normalize_time=False, **kw)
    assert not np.allclose(a[:, 1:], c[:, 1:])
