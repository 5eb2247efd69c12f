"""Model selection inside the estimators: exact leave-one-out ridge predictions, and the CV
estimators choosing what the data needs on the training split only."""

import numpy as np
import pytest

from symresp.features.leave_one_out import loo_ridge_predictions
from symresp.features.model_selection import (
    ResponseFeatureClassifierCV,
    ResponseFeatureRegressorCV,
)

pytestmark = pytest.mark.usefixtures("warm_signature")


def test_leave_one_out_equals_refitting_without_each_case():
    """Against the definition: for each i refit ridge with intercept on the other n − 1 rows
    (centring of Z held at all n rows, as in the formula) and predict row i.  Both wide
    (p > n) and tall (p < n) Z, α = 0 included for the tall one.  rtol 1e-9: the
    refits solve systems of condition ≲ 10⁵."""
    rng = np.random.default_rng(0)
    for n, p, alphas in ((15, 40, [1e-2, 1.0]), (30, 6, [0.0, 0.5])):
        Z = rng.standard_normal((n, p))
        Z -= Z.mean(axis=0)
        Y = rng.standard_normal((n, 2))
        loo = loo_ridge_predictions(Z, Y, alphas)
        for k, a in enumerate(alphas):
            for i in range(n):
                keep = np.arange(n) != i
                A = np.hstack([Z[keep], np.ones((n - 1, 1))])
                pen = a * np.diag(np.r_[np.ones(p), 0.0])
                coef = np.linalg.lstsq(A.T @ A + pen, A.T @ Y[keep], rcond=None)[0]
                np.testing.assert_allclose(loo[k, i], np.r_[Z[i], 1.0] @ coef, rtol=1e-9)


def _energy_classes(n, seed):
    """Two classes with the same smooth mean path; class 1 carries fast fluctuations of
    three times the amplitude (white noise, std 0.3 vs 0.1): only quadratic variation tells
    them apart, which the integrals of u average out."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    t = np.linspace(0, 1, 80)
    base = np.sin(2 * np.pi * t + rng.uniform(0, 2 * np.pi, (n, 1)))
    X = base + np.where(y == 1, 0.3, 0.1)[:, None] * rng.standard_normal((n, 80))
    return X[:, None, :], y


def test_classifier_cv_finds_the_quadratic_variation():
    X, y = _energy_classes(60, 1)
    clf = ResponseFeatureClassifierCV(
        levels=(1, 2), degrees=(1,), rate_scales=(1.0,), windows=(1,)
    ).fit(X[:40], y[:40])
    assert "leadlag" in clf.best_params_["augmentations"]
    assert clf.best_score_ >= 0.9 and clf.score(X[40:], y[40:]) >= 0.9
    assert clf.predict_proba(X[40:]).shape == (20, 2)
    assert {r["augmentations"] for r in clf.cv_results_} >= {(), ("time", "leadlag")}


def test_regressor_cv_needs_level_two():
    """Target (∫u)² = 2 S^{ℓℓ}: a level-2 feature; level 1 cannot express it, so the
    search must pick level >= 2 and reach R² > 0.999 on held-out data."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 1, 30)).cumsum(axis=2) * 0.2
    y = np.trapezoid(X[:, 0], np.linspace(0, 1, 30), axis=1) ** 2
    reg = ResponseFeatureRegressorCV(
        bases=("legendre",), levels=(1, 2), degrees=(1,), augmentations=((),), windows=(1,)
    ).fit(X[:50], y[:50])
    assert reg.best_params_["level"] == 2
    assert reg.score(X[50:], y[50:]) > 0.999
