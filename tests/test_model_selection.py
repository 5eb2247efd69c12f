"""Model selection inside the estimators: exact leave-one-out ridge predictions, and the CV
estimators choosing what the data needs on the training split only."""

import numpy as np
import pytest

from symresp.errors import ArgumentError
from symresp.features.leave_one_out import loo_ridge_predictions
from symresp.features.model_selection import (
    ResponseFeatureClassifierCV,
    ResponseFeatureRegressorCV,
)
from symresp.features.time_pooling import n_pooled_features

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
    search must pick level >= 2 and reach R² > 0.999 on held-out data — as a single member
    (``ensemble_sizes=(1,)``): the default ensembles of at least five members average the
    exact fit with worse settings (here both candidates, level 1 and 2: R² ≈ 0.74), the price
    of their lower variance on noisy data."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((70, 1, 30)).cumsum(axis=2) * 0.2
    y = np.trapezoid(X[:, 0], np.linspace(0, 1, 30), axis=1) ** 2
    reg = ResponseFeatureRegressorCV(
        bases=("legendre",),
        levels=(1, 2),
        degrees=(1,),
        augmentations=((),),
        windows=(1,),
        ensemble_sizes=(1,),
    ).fit(X[:50], y[:50])
    assert reg.best_params_["level"] == 2
    assert reg.score(X[50:], y[50:]) > 0.999


def test_ensemble_is_the_average_of_its_members_and_its_loo_score_is_exact():
    """With ``ensemble_sizes=(3,)`` the classifier is the average of three ridge fits.

    Independent routes: (1) three ``ResponseFeatureClassifier`` fitted separately with the
    members' settings, their ridge scores averaged by hand, must give the ensemble's
    ``decision_function`` (rtol 1e-10: the same arithmetic, summed in another order);
    (2) the ensemble's leave-one-out accuracy ``best_score_`` against its definition — for
    each case i refit every member's ridge (scikit-learn ``Ridge``, intercept, same α) on the
    other cases' standardised features and classify case i by the sign of the mean of the
    three predictions.  Exact equality: accuracies are counts, and no LOO score lies near 0
    (checked)."""
    from sklearn.linear_model import Ridge

    from symresp.features.estimators import ResponseFeatureClassifier, ResponseFeatures

    X, y = _energy_classes(30, 3)
    clf = ResponseFeatureClassifierCV(
        levels=(1, 2), degrees=(1,), rate_scales=(1.0,), windows=(1,), ensemble_sizes=(3,)
    ).fit(X, y)
    assert clf.ensemble_size_ == 3 and len(clf.estimators_) == 3
    members = [ResponseFeatureClassifier(**p).fit(X, y) for p in clf.ensemble_params_]
    by_hand = np.mean([m.decision_function(X[:7]) for m in members], axis=0)
    np.testing.assert_allclose(clf.decision_function(X[:7]), by_hand, rtol=1e-10)
    target = np.where(y == 1, 1.0, -1.0)
    loo = np.zeros(len(y))
    for p in clf.ensemble_params_:
        feats = {k: v for k, v in p.items() if k != "alpha"}
        Z = ResponseFeatures(**feats).fit_transform(X)
        for i in range(len(y)):
            keep = np.arange(len(y)) != i
            r = Ridge(alpha=p["alpha"]).fit(Z[keep], target[keep])
            loo[i] += r.predict(Z[i : i + 1])[0] / 3
    assert np.min(np.abs(loo)) > 1e-6
    assert clf.best_score_ == np.mean(np.sign(loo) == target)


def test_series_normalization_is_per_case_zscore():
    """``normalize_series=True`` against scipy's ``zscore`` over each case's time axis, and
    its defining invariance: a per-case, per-channel affine map x ↦ a x + b (a > 0) leaves
    the features unchanged.  rtol 1e-9 (atol 1e-9 for near-zero columns): float round-off of
    the rescaling, amplified by signature products of level ≤ 3."""
    from scipy.stats import zscore

    from symresp.features.estimators import ResponseFeatures

    rng = np.random.default_rng(5)
    X = rng.standard_normal((12, 2, 40)).cumsum(axis=-1)
    opts = dict(level=3, degree=1, basis="exponential", augmentations=("time",))
    Zn = ResponseFeatures(normalize_series=True, **opts).fit_transform(X)
    Zref = ResponseFeatures(**opts).fit_transform(zscore(X, axis=-1))
    np.testing.assert_allclose(Zn, Zref, rtol=1e-9, atol=1e-9)
    a = rng.uniform(0.5, 3.0, (12, 2, 1))
    b = rng.normal(size=(12, 2, 1))
    Zab = ResponseFeatures(normalize_series=True, **opts).fit_transform(a * X + b)
    np.testing.assert_allclose(Zab, Zn, rtol=1e-9, atol=1e-9)
    # unequal lengths: each case normalised on its own time points
    cases = [X[i, :, : 20 + i] for i in range(12)]
    Zl = ResponseFeatures(normalize_series=True, **opts).fit_transform(cases)
    Zlr = ResponseFeatures(**opts).fit_transform([zscore(c, axis=-1) for c in cases])
    np.testing.assert_allclose(Zl, Zlr, rtol=1e-9, atol=1e-9)


def test_classifier_cv_searches_series_normalization_when_asked():
    """Classes told apart by shape only (sin(2πt) against sin(4πt)), each case multiplied
    by a gain in [0.05, 20] and shifted by N(0, 25): raw level features are dominated by gain
    and offset, and the per-case z-normalisation removes both exactly, so the search given
    ``series_normalizations=(False, True)`` picks it, and classifies held-out cases perfectly
    (their z-normalised paths are the two noiseless shapes up to 1 % noise).  The default
    search does not try it."""
    rng = np.random.default_rng(7)
    n = 40
    y = rng.integers(0, 2, n)
    t = np.linspace(0, 1, 60)
    shape = np.where(y[:, None] == 1, np.sin(4 * np.pi * t), np.sin(2 * np.pi * t))
    gain = np.exp(rng.uniform(np.log(0.05), np.log(20), (n, 1)))
    X = (gain * (shape + 0.01 * rng.standard_normal((n, 60))) + rng.normal(0, 5, (n, 1)))[:, None]
    kw = dict(levels=(1, 2), degrees=(1,), rate_scales=(1.0,), windows=(1,), augmentations=((),))
    kw["poolings"] = (None,)  # the stage under test acts on the final-time features
    clf = ResponseFeatureClassifierCV(series_normalizations=(False, True), **kw).fit(X[:30], y[:30])
    assert clf.best_params_["normalize_series"] is True
    assert clf.score(X[30:], y[30:]) == 1.0
    default = ResponseFeatureClassifierCV(**kw).fit(X[:30], y[:30])
    assert {r["normalize_series"] for r in default.cv_results_} == {False}


def test_time_normalization_only_matters_for_unequal_durations():
    """(1) The claim behind skipping ``normalize_time=False`` on one shared grid: rescaling
    time by c multiplies each feature column by a power of c (the 'auto' exponential rates
    by 1/c), so the standardised features of the two settings agree — checked for the
    Legendre basis with the time augmentation and windows (1, 2), and for the exponential
    basis with the time augmentation on one window (the first stage's setting), rtol 1e-8
    (atol 1e-8 for columns near zero: round-off of powers of c = 39 up to c⁴ in level-3
    products).  (2) Classes told apart only by duration — the same curve sin(2πs) + s/2,
    s ∈ [0, 1], sampled at 30–40 points (class 0) or 60–80 points (class 1): on [0, 1] the
    two classes are the same path up to 1 % noise and discretisation, in sample time the
    time channel's increment is the duration, so the search picks ``normalize_time=False``
    and classifies held-out cases perfectly; on equal lengths only True is tried."""
    from symresp.features.estimators import ResponseFeatures

    rng = np.random.default_rng(2)
    X = rng.standard_normal((15, 2, 40)).cumsum(axis=-1)
    for basis, windows in (("legendre", (1, 2)), ("exponential", 1)):
        opts = dict(level=3, degree=2, basis=basis, augmentations=("time",), windows=windows)
        Zn = ResponseFeatures(normalize_time=True, **opts).fit_transform(X)
        Zs = ResponseFeatures(normalize_time=False, **opts).fit_transform(X)
        np.testing.assert_allclose(Zs, Zn, rtol=1e-8, atol=1e-8)
    n = 40
    y = rng.integers(0, 2, n)
    cases = []
    for label in y:
        s = np.linspace(0, 1, rng.integers(60, 81) if label else rng.integers(30, 41))
        cases.append((np.sin(2 * np.pi * s) + s / 2 + 0.01 * rng.standard_normal(s.size))[None])
    kw = dict(bases=("legendre",), levels=(1, 2), degrees=(1,), windows=(1,))
    clf = ResponseFeatureClassifierCV(**kw).fit(cases[:30], y[:30])
    assert clf.best_params_["normalize_time"] is False
    assert clf.score(cases[30:], y[30:]) == 1.0
    same = ResponseFeatureClassifierCV(**kw).fit(X, np.arange(15) % 2)
    assert {r["normalize_time"] for r in same.cv_results_} == {True}


def test_beam_search_extends_the_greedy_path():
    """``beam_width=3`` expands every later stage from the three best candidates so far, so
    it evaluates every candidate of ``beam_width=1`` (the same first stage, and the single
    best start is among the three) and more, and its best leave-one-out criterion is at
    least as good (``ensemble_sizes=(1,)``: the best single candidate)."""
    X, y = _energy_classes(40, 4)
    kw = dict(levels=(1, 2), degrees=(1, 2), rate_scales=(1.0,), windows=(1,), ensemble_sizes=(1,))
    kw["poolings"] = (None,)  # every start then has augmentations within max_features
    one = ResponseFeatureClassifierCV(beam_width=1, **kw).fit(X, y)
    three = ResponseFeatureClassifierCV(beam_width=3, **kw).fit(X, y)

    def keys(est):
        names = ("pooling", "basis", "level", "degree", "rate_scale", "augmentations")
        return {tuple(r[k] for k in names + ("windows",)) for r in est.cv_results_}

    assert keys(one) < keys(three)
    starts = {k[:5] for k in keys(three) if k[5]}  # settings expanded with augmentations
    assert len(starts) == 3
    assert (three.best_score_, -0.0) >= (one.best_score_, -0.0)


def test_cv_searches_the_pooled_response_with_its_own_degrees():
    """With ``poolings=('ppv',)`` every candidate is the pooled response: the exponential
    basis, degrees from ``pooled_degrees``, no basepoint (a refused combination is skipped, not
    evaluated), pooling windows of the default ``windows``, and the refitted members carry the pooling and ``n_thresholds``."""
    X, y = _energy_classes(30, 2)
    clf = ResponseFeatureClassifierCV(
        poolings=("ppv",), pooled_degrees=(3, 5), levels=(1,), n_thresholds=5, beam_width=2
    ).fit(X, y)
    rows = clf.cv_results_
    assert {r["pooling"] for r in rows} == {"ppv"} and {r["basis"] for r in rows} == {"exponential"}
    assert {r["degree"] for r in rows} == {3, 5}
    assert all("basepoint" not in r["augmentations"] for r in rows)
    # pooling windows are searched too; a row's size counts every window of every count
    assert {r["windows"] for r in rows} == {1, (1, 2, 4)}
    for r in rows:
        channels = 1 + ("time" in r["augmentations"]) + ("leadlag" in r["augmentations"])
        want = n_pooled_features(channels, 1, r["degree"] + 1, 5, r["windows"])
        assert r["n_features"] == want
    for est in clf.estimators_:
        assert est.pooling == "ppv" and est.features_.thresholds_.shape[1] == 5
    for bad in (("max",), (), "ppv", [["ppv"]], 3):
        with pytest.raises(ArgumentError, match="poolings"):
            ResponseFeatureClassifierCV(poolings=bad).fit(X, y)


def test_ensemble_members_share_the_best_candidates_pooling():
    """The ensemble averages settings of one feature family: every member has the pooling
    of the best candidate, although candidates of both poolings were evaluated."""
    X, y = _energy_classes(30, 3)
    clf = ResponseFeatureClassifierCV(
        levels=(1, 2), degrees=(1,), pooled_degrees=(3,), n_thresholds=4, ensemble_sizes=(5,)
    ).fit(X, y)
    assert {r["pooling"] for r in clf.cv_results_} == {None, "ppv"}
    assert {p["pooling"] for p in clf.ensemble_params_} == {clf.best_params_["pooling"]}
    assert clf.ensemble_size_ == 5
