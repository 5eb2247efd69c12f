"""The response-feature estimators are scikit-learn estimators on collections of series.

``check_estimator`` runs scikit-learn's own battery (also on the CV estimators, with small
searches, and on the network's kernel classifier); the checks that assume tabular input
(X.shape[1] = a feature count) are listed with their reasons in ``EXPECTED_FAILED_CHECKS``
and the parts of them that do apply (fit quality, probabilities) are tested here.
"""

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import check_estimator

from symresp.errors import InputError
from symresp.features.estimators import (
    EXPECTED_FAILED_CHECKS,
    ResponseFeatureClassifier,
    ResponseFeatureRegressor,
    ResponseFeatures,
    response_feature_matrix,
)
from symresp.features.model_selection import (
    ResponseFeatureClassifierCV,
    ResponseFeatureRegressorCV,
)
from symresp.features.network_kernel import NetworkKernelClassifier
from symresp.series.response_map import response_functional

pytestmark = pytest.mark.usefixtures("warm_signature")

_path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "kernel_machine_claim.py"
_spec = importlib.util.spec_from_file_location("kernel_machine_claim", _path)
claim = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(claim)


# small searches keep each check_estimator run of a CV estimator to a few seconds
_SMALL_SEARCH = dict(
    bases=("legendre",),
    levels=(1, 2),
    degrees=(1,),
    augmentations=((),),
    windows=(1,),
    alphas=(1e-2, 1.0),
    ensemble_sizes=(1, 2),
    beam_width=1,
)


def _network_kernel_classifier():
    """k_net of a 2-unit tanh network (order 2, Taylor degree 1: derived in ~0.2 s)."""
    net, _, _ = claim.make_network(2, 1, sigma=0.0, seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="symresp: severe cancellation")
        functional = response_functional(net, 2, 1, basis="legendre", T=1.0)
    return NetworkKernelClassifier(functional=functional)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ResponseFeatures(level=2),
        lambda: ResponseFeatureClassifier(level=2),
        lambda: ResponseFeatureRegressor(),
        lambda: ResponseFeatureClassifier(basis="exponential", pooling="ppv", level=1, degree=2),
        lambda: ResponseFeatureClassifierCV(**_SMALL_SEARCH),
        lambda: ResponseFeatureRegressorCV(**_SMALL_SEARCH),
        _network_kernel_classifier,
    ],
    ids=[
        "ResponseFeatures",
        "ResponseFeatureClassifier",
        "ResponseFeatureRegressor",
        "ResponseFeatureClassifier-pooled",
        "ResponseFeatureClassifierCV",
        "ResponseFeatureRegressorCV",
        "NetworkKernelClassifier",
    ],
)
def test_check_estimator(make):
    """Every check passes except the declared tabular-only ones (and array-API, skipped by
    scikit-learn itself without SCIPY_ARRAY_API); a declared check that starts to pass is
    reported too (status 'xpass' would show it).  The same declared list serves every
    estimator on series input, the CV estimators and the network's kernel classifier too."""
    estimator = make()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(
            estimator, expected_failed_checks=EXPECTED_FAILED_CHECKS, on_fail=None
        )
    bad = [
        (r["check_name"], r["status"], str(r["exception"])[:200])
        for r in results
        if r["status"] not in ("passed", "xfail")
        and not (r["status"] == "skipped" and r["check_name"] == "check_array_api_input")
    ]
    assert not bad
    assert all(reason for reason in EXPECTED_FAILED_CHECKS.values())


def _two_frequency_data(n, length, seed, noise=0.1):
    """Class c: sin(2π f_c t + phase) + noise, f = (1, 2); 2 channels (the second a ramp)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    y = rng.integers(0, 2, n)
    x = np.sin(2 * np.pi * (1 + y)[:, None] * t + rng.uniform(0, 0.5, (n, 1)))
    X = np.stack([x + noise * rng.standard_normal((n, length)), np.broadcast_to(t, (n, length))], 1)
    return X, np.array(["slow", "fast"])[y]


def test_fit_quality_probabilities_and_unfitted():
    """The parts of check_classifiers_train that apply: accuracy ≥ 0.83 (scikit-learn's bar)
    on held-out data, probabilities in [0, 1] summing to 1 with the argmax the prediction,
    decision > 0 ⇔ classes_[1]; NotFittedError before fit; n_features_in_ = channels."""
    X, y = _two_frequency_data(120, 50, 0)
    clf = ResponseFeatureClassifier(level=2, degree=1, alpha=1.0)
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.fit(X[:80], y[:80])
    assert clf.n_features_in_ == 2 and list(clf.classes_) == ["fast", "slow"]
    assert clf.score(X[80:], y[80:]) >= 0.83
    P = clf.predict_proba(X[80:])
    assert P.shape == (40, 2) and np.all((P >= 0) & (P <= 1))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-14)
    pred = clf.predict(X[80:])
    assert np.all(clf.classes_[P.argmax(axis=1)] == pred)
    assert np.all((clf.decision_function(X[80:]) > 0) == (pred == clf.classes_[1]))
    assert 1e-3 <= clf.temperature_ <= 1e3
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[80:])), P, rtol=1e-12)
    # (∫u_0)² = 2 S^{ℓℓ} with ℓ the letter ψ_0 ⊗ u_0 (ψ_0 = 1): exactly a level-2 feature,
    # also on the grid (trapezoid X, chordal signature); R² is 1 up to the ridge bias
    reg = ResponseFeatureRegressor(level=2, degree=1, alpha=1e-8)
    target = np.trapezoid(X[:, 0], np.linspace(0, 1, 50), axis=1) ** 2
    reg.fit(X[:80], target[:80])
    assert reg.score(X[80:], target[80:]) > 1 - 1e-6


def test_pipeline_grid_search_and_cross_val_score():
    """The transformer feeds a scikit-learn ridge in a Pipeline; GridSearchCV over feature and
    ridge parameters returns finite scores and a best setting that beats the worst; the
    estimator's own ridge and the Pipeline give the same decision values (same Z, same
    objective with an unpenalised intercept)."""
    X, y = _two_frequency_data(90, 40, 1, noise=1.5)
    pipe = make_pipeline(ResponseFeatures(level=2), RidgeClassifier())
    folds = StratifiedKFold(3, shuffle=True, random_state=0)
    search = GridSearchCV(
        pipe,
        {"responsefeatures__level": [1, 2], "ridgeclassifier__alpha": [1e-2, 1e2]},
        cv=folds,
    ).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and search.best_score_ == scores.max() > scores.min()
    cv = cross_val_score(ResponseFeatureClassifier(level=2), X, y, cv=folds)
    assert cv.shape == (3,) and np.all(np.isfinite(cv))
    own = ResponseFeatureClassifier(level=2, alpha=0.5).fit(X, y)
    ref = make_pipeline(ResponseFeatures(level=2), RidgeClassifier(alpha=0.5)).fit(X, y)
    np.testing.assert_allclose(own.decision_function(X), ref.decision_function(X), atol=1e-9)
    assert clone(own).get_params() == own.get_params()


def test_unequal_length_lists_are_never_padded():
    """A list of (n_channels, n_timepoints_i) series gives, row by row, the features of each
    series alone (no padding value enters); estimators fit and predict on such lists; 2-D
    arrays are univariate collections; complex and non-finite input are InputErrors."""
    rng = np.random.default_rng(3)
    cases = [rng.standard_normal((2, n)).cumsum(axis=1) for n in (7, 12, 7, 30, 12)]
    kw = dict(level=3, degree=1, basis="exponential", augmentations=("time", "basepoint"))
    F = response_feature_matrix(cases, **kw)
    for i, c in enumerate(cases):
        np.testing.assert_array_equal(F[i], response_feature_matrix(c[None], **kw)[0])
    y = np.array([0, 1, 0, 1, 1])
    clf = ResponseFeatureClassifier(level=2).fit(cases, y)
    assert clf.predict([c[:, :5] for c in cases]).shape == (5,)
    uni = rng.standard_normal((6, 9))
    np.testing.assert_array_equal(
        response_feature_matrix(uni, level=2), response_feature_matrix(uni[:, None], level=2)
    )
    with pytest.raises(InputError, match="Complex data not supported"):
        ResponseFeatureClassifier().fit(uni.astype(complex), np.arange(6) % 2)
    bad = uni.copy()
    bad[2, 4] = np.inf
    with pytest.raises(InputError, match=r"got inf at case 2, channel 0, timepoint 4"):
        ResponseFeatureClassifier().fit(bad, np.arange(6) % 2)
    with pytest.raises(ValueError, match="Reshape your data"):
        clf.predict(uni[0])


def test_clipping_bounds_predictions_for_series_outside_the_training_range():
    """Random walks of step 0.2, target tanh(∫u) ∈ (−1, 1); five test series are training
    series scaled by 30 (the spikes of 27–36 standard deviations in Covid3Month).  A level-3
    feature of such a series grows like 30³, so without clipping the linear readout
    extrapolates: error > 100 (measured ≈ 1.2·10⁴).  With ``clip=True`` each raw feature is
    clipped to its training [min, max] (checked against ``np.clip`` of the raw feature matrix
    by hand), so every prediction lies in the box ȳ + Σ_j [min(β_j z_j), max(β_j z_j)] over
    the training rows z of the standardised features (bound computed here from the training
    Z, tolerance 1e-9 for round-off); with |y| < 1 the error is then below
    1 + max(|lo|, |hi|).  On the training series both settings agree bit for bit (they lie in their
    own range)."""
    rng = np.random.default_rng(0)
    n, L = 60, 40
    X = rng.standard_normal((n, 1, L)).cumsum(axis=2) * 0.2
    t = np.linspace(0, 1, L)
    y = np.tanh(np.trapezoid(X[:, 0], t, axis=1))
    X_out = 30.0 * X[:5]
    y_out = np.tanh(np.trapezoid(X_out[:, 0], t, axis=1))
    kw = dict(level=3, degree=1, alpha=1e-2)
    raw = ResponseFeatureRegressor(clip=False, **kw).fit(X, y)
    assert np.abs(raw.predict(X_out) - y_out).max() > 100.0
    reg = ResponseFeatureRegressor(**kw).fit(X, y)
    np.testing.assert_array_equal(reg.predict(X), raw.predict(X))
    F_tr = response_feature_matrix(X, level=3, degree=1)
    F_out = np.clip(response_feature_matrix(X_out, level=3, degree=1), F_tr.min(0), F_tr.max(0))
    feats = reg.features_
    np.testing.assert_allclose(
        feats.transform(X_out), (F_out - feats.mean_) * np.sqrt(feats.weights_) / feats.scale_
    )
    contrib = feats.transform(X) * reg.coef_[:, 0]  # training rows z_j β_j
    lo = y.mean() + contrib.min(axis=0).sum()
    hi = y.mean() + contrib.max(axis=0).sum()
    pred = reg.predict(X_out)
    assert np.all((pred >= lo - 1e-9) & (pred <= hi + 1e-9))
    assert np.abs(pred - y_out).max() < 1.0 + max(abs(lo), abs(hi))
