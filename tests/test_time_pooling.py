"""The running fading-memory response and its pooling over time, against independent routes.

* Level 1 at every sample time equals the exponential-basis response feature of the prefix
  of the series, anchored at that time (another code path: support path, then signature);
  both are exact for the piecewise-linear input, so they agree to round-off.
* Level 2 against closed forms and a double quadrature:
  for u ≡ 1, ``S^{ab}(t) = ∫_{r1<r2<t} e^{−a(t−r1)} e^{−b(t−r2)} dr1 dr2
  = (1/a) [(1 − e^{−(a+b)t})/(a + b) − e^{−at} (1 − e^{−bt})/b]`` (inner integral over r1
  first); the scheme is second order, so halving the step divides the error by ≈ 4.
* Pooling: for a constant input c the high-pass directions are ``u − E(t) = c e^{−λt}``
  exactly (``E = c(1 − e^{−λt})`` the unit-gain smoothing), so their time integral
  ``c(1 − e^{−λT})/λ`` and the time above b, ``min(T, ln(c/b)/λ)``, are closed forms; the
  trapezoidal weights make the first O(h²) and the indicator's time O(h).
* The estimator: training PPV columns average to the quantile levels; unequal lengths;
  refused options; bursts at random places classified (check_estimator on the pooled
  classifier is in test_sklearn_estimators.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import dblquad

from symresp.errors import ArgumentError
from symresp.features import ResponseFeatureClassifier, ResponseFeatures, response_feature
from symresp.features.time_pooling import (
    _time_weights,
    n_pooled_features,
    pool_over_time,
    pooled_directions,
    pooled_rates,
    running_response,
)


def test_level1_running_response_is_the_prefix_feature_at_every_time():
    rng = np.random.default_rng(0)
    tt = np.concatenate([[0.0], np.sort(rng.uniform(0, 5, 39))])
    u = rng.normal(size=(1, 2, 40))
    rates = np.array([0.3, 1.0, 4.0])
    R = running_response(u, tt, rates=rates, level=1)
    for j in (1, 7, 20, 39):
        f = response_feature(
            u[0, :, : j + 1],
            tt[: j + 1],
            level=1,
            degree=2,
            basis="exponential",
            rates=rates,
            include_time_factors=False,
        ).features
        # response_feature: [1, letters ℓ = q·m + k]; the same letter order here
        np.testing.assert_allclose(R[0, j], f[1:], rtol=1e-12, atol=1e-14)


def _constant_pair(a, b, t):
    return ((1 - np.exp(-(a + b) * t)) / (a + b) - np.exp(-a * t) * (1 - np.exp(-b * t)) / b) / a


def test_level2_constant_input_closed_form_and_second_order():
    rates = np.array([0.5, 2.0])
    T = 3.0
    errs = []
    for n in (61, 121, 241):
        tt = np.linspace(0, T, n)
        R = running_response(np.ones((1, 1, n)), tt, rates=rates, level=2)
        # level-2 words (ℓ1, ℓ2), ℓ = q (one channel): index 2 + 2·ℓ1 + ℓ2
        want = [_constant_pair(rates[p], rates[q], tt) for p in (0, 1) for q in (0, 1)]
        errs.append(max(np.abs(R[0, :, 2 + i] - w).max() for i, w in enumerate(want)))
    # second order: each halving divides the error by ~4 (3.5..4.5 allows the next term)
    assert 3.5 < errs[0] / errs[1] < 4.5 and 3.5 < errs[1] / errs[2] < 4.5
    assert errs[2] < 1e-4


def test_level2_two_channels_against_double_quadrature():
    a, b, T = 0.7, 1.9, 2.0
    n = 401
    tt = np.linspace(0, T, n)
    u = np.stack([np.sin(3 * tt), np.cos(tt) + tt])[None]
    R = running_response(u, tt, rates=[a, b], level=2)
    # word ((q=0, k=0), (q=1, k=1)): letters 0·2 + 0 = 0 and 1·2 + 1 = 3 → index 4 + 0·4 + 3
    val = R[0, -1, 4 + 3]
    want, _ = dblquad(
        lambda r1, r2: (
            np.exp(-a * (T - r1)) * np.sin(3 * r1) * np.exp(-b * (T - r2)) * (np.cos(r2) + r2)
        ),
        0,
        T,
        0,
        lambda r2: r2,
        epsabs=1e-12,
    )
    # step h = 0.005: the scheme's O(h²) error, C·h² with C ~ the second derivative of the
    # integrand (≲ 10) times T, is below 1e-4
    assert abs(val - want) < 1e-4


def test_pooled_constant_input_closed_forms():
    c, T, n = 2.0, 10.0, 2001
    tt = np.linspace(0, T, n)
    rates = np.array([0.4, 1.5])
    X = pooled_directions(np.full((1, n, 1), c), tt, rates, 1)
    # directions: S^(q) (2), then pairs of (u, E_fast=1.5, E_slow=0.4): u−E1.5, u−E0.4, E1.5−E0.4
    b = np.array([1.0, 1.7])
    thr = np.tile(b, (X.shape[2], 1))
    F = pool_over_time(np.full((1, n, 1), c), tt, rates, 1, thr).reshape(X.shape[2], 3)
    h = T / (n - 1)
    for d, lam in ((2, 1.5), (3, 0.4)):  # u − E = c e^{−λt}
        integral = c * (1 - np.exp(-lam * T)) / lam
        assert abs(F[d, 0] - integral) < 1e-4  # trapezoid error ~ T h² c λ² / 12
        for i, level in enumerate(b):  # c e^{−λt} > level for t < ln(c/level)/λ
            above = min(T, np.log(c / level) / lam)
            assert abs(F[d, 1 + i] - above) <= h + 1e-12
    for d, lam in ((0, 0.4), (1, 1.5)):  # S = c(1 − e^{−λt})/λ
        integral = c / lam * (T - (1 - np.exp(-lam * T)) / lam)
        assert abs(F[d, 0] - integral) < 1e-3


def test_pooling_windows_against_closed_forms():
    """``windows=(1, 3)``: the whole series, then its thirds, on a grid whose thirds end
    between samples (n = 1000 points on [0, 10]).  For constant input c, the high-pass
    direction u − E = c e^{−λt}: its integral over a window [a, b] is
    c (e^{−λa} − e^{−λb})/λ, and the time above a level ℓ there is
    |[a, b] ∩ [0, ln(c/ℓ)/λ]|.  Bounds: the trapezoid error (≲ 1e-4 here, as the whole-series
    test) and one step h for an indicator; the three thirds add up to the whole series to
    1e-12 (the weights split each step exactly).  Layout: window, direction, (integral,
    levels)."""
    c, T, n = 2.0, 10.0, 1000
    tt = np.linspace(0, T, n)
    h = tt[1]
    rates = np.array([0.4, 1.5])
    u = np.full((1, n, 1), c)
    D = pooled_directions(u, tt, rates, 1).shape[2]
    b = np.array([1.0, 1.7])
    thr = np.tile(b, (D, 1))
    F = pool_over_time(u, tt, rates, 1, thr, windows=(1, 3)).reshape(4, D, 3)
    assert F.shape[0] * F.shape[1] * F.shape[2] == n_pooled_features(1, 1, 2, 2, (1, 3))
    np.testing.assert_allclose(F[1:].sum(axis=0), F[0], rtol=1e-12, atol=1e-12)
    for k in range(3):
        lo, hi = T * k / 3, T * (k + 1) / 3
        for d, lam in ((2, 1.5), (3, 0.4)):
            integral = c * (np.exp(-lam * lo) - np.exp(-lam * hi)) / lam
            assert abs(F[1 + k, d, 0] - integral) < 1e-4
            for i, level in enumerate(b):
                end = np.log(c / level) / lam
                above = max(0.0, min(hi, end) - lo)
                assert abs(F[1 + k, d, 1 + i] - above) <= h + 1e-12


def test_window_weights_integrate_the_interpolant_exactly():
    """The weights of each pooling window against an independent route: the samples' linear
    interpolant (``np.interp``) on the grid refined by the window's ends, integrated there by
    the trapezoidal rule, which is exact for a piecewise-linear function.  Random values on an
    irregular grid whose window ends fall between samples; rtol 1e-12 (round-off).  Swapping
    the two weights of a split step changes the result by O(h²) per window end, far above."""
    rng = np.random.default_rng(4)
    tt = np.concatenate([[0.0], np.sort(rng.uniform(0, 7.3, 40)), [7.3]])
    x = rng.normal(size=tt.size)
    windows = (1, 2, 3, 5)
    W = _time_weights(tt, windows)
    row = 0
    for w in windows:
        for k in range(w):
            a, b = 7.3 * k / w, 7.3 * (k + 1) / w
            knots = np.unique(np.r_[tt[(tt > a) & (tt < b)], a, b])
            want = np.trapezoid(np.interp(knots, tt, x), knots)
            np.testing.assert_allclose(W[row] @ x, want, rtol=1e-12, atol=1e-12)
            row += 1
    assert row == W.shape[0]


def test_pooled_rates_span_one_step_to_a_quarter():
    r = pooled_rates(8, 0.5, 400.0)
    assert r.size == 9 and np.all(np.diff(r) > 0)
    np.testing.assert_allclose([1 / r[-1], 1 / r[0]], [0.5, 100.0], rtol=1e-12)
    assert np.allclose(np.diff(np.log(r)), np.diff(np.log(r))[0])


def test_training_ppv_columns_average_to_the_quantile_levels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 2, 120)).cumsum(axis=2)
    B = 7
    rf = ResponseFeatures(
        basis="exponential", pooling="ppv", level=2, degree=3, n_thresholds=B, standardize=False
    )
    F = rf.fit_transform(X)
    m, K = 2, 4
    assert F.shape[1] == n_pooled_features(m, 2, K, B) == rf.n_features_out_
    P = F.reshape(30, -1, B + 1)[:, :, 1:].mean(axis=0)
    # the levels are the i/(B+1) quantiles over cases and times, so the fraction of (equally
    # weighted, up to the two half-weighted end samples) training times above level i is
    # 1 − i/(B+1); ties at a constant direction (none here) would break this
    levels = 1 - np.arange(1, B + 1) / (B + 1)
    assert np.abs(P - levels).max() < 0.02


@pytest.mark.parametrize("windows", [1, (1, 2)])
def test_unequal_lengths_match_one_by_one(windows):
    """Each case's pooled features (its pooling windows are parts of its own duration) do not
    depend on the other cases in the batch, beyond the fitted statistics."""
    rng = np.random.default_rng(2)
    cases = [rng.normal(size=(1, n)) for n in (40, 55, 70)]
    rf = ResponseFeatures(
        basis="exponential", pooling="ppv", level=1, degree=2, windows=windows
    ).fit(cases)
    Z = rf.transform(cases)
    for i, c in enumerate(cases):
        np.testing.assert_allclose(Z[i], rf.transform([c])[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "kw, name",
    [
        (dict(basis="legendre"), "basis"),
        (dict(windows=(1, 0)), "windows"),
        (dict(augmentations=("basepoint",)), "basepoint"),
        (dict(include_time_factors=True), "include_time_factors"),
        (dict(pooling="max"), "pooling"),
        (dict(rates=[0.0, 1.0, 2.0]), "rates"),
        (dict(n_thresholds=0), "n_thresholds"),
    ],
)
def test_options_that_do_not_apply_are_refused_by_name(kw, name):
    opts = dict(basis="exponential", pooling="ppv", level=1, degree=2) | kw
    with pytest.raises(ArgumentError, match=name):
        ResponseFeatures(**opts).fit(np.random.default_rng(0).normal(size=(4, 1, 20)))


def _bursts(n, seed, length=300, width=20):
    """Class 0: a bump, class 1: an oscillation burst, each of width 20 at a random place in
    a noisy series of 300 points; equal energy, so the class is the burst's shape only."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = 0.3 * rng.normal(size=(n, 1, length))
    s = np.arange(width)
    bump = np.sin(np.pi * s / width)
    osc = np.sin(6 * np.pi * s / width)
    osc *= np.linalg.norm(bump) / np.linalg.norm(osc)
    for i in range(n):
        at = rng.integers(0, length - width)
        X[i, 0, at : at + width] += 3 * (bump if y[i] == 0 else osc)
    return X, y


def test_pooled_classifier_finds_a_burst_anywhere_in_the_series():
    """The whole route (rates, training thresholds, pooling, ridge) on held-out series where
    the burst's position carries no information: 0.9 is far above chance (0.5); 200 test
    cases give a standard error of 0.02 at 0.9.  (The end-time features solve this problem
    too; the point here is that the pooled route does, not that only it does.)"""
    Xtr, ytr = _bursts(80, 0)
    Xte, yte = _bursts(200, 1)
    clf = ResponseFeatureClassifier(basis="exponential", pooling="ppv", level=1, degree=6)
    assert clf.set_params(alpha=10.0).fit(Xtr, ytr).score(Xte, yte) >= 0.9


def test_blocks_in_time_and_cases_give_the_same_numbers(monkeypatch):
    """Long series are processed in blocks of time (the recursion's state carried over) and
    of cases; tiny blocks must give the same running values and thresholds to the last bit,
    and the same time integrals up to the order of summation (1e-12)."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(7, 2, 90))
    opts = dict(basis="exponential", pooling="ppv", level=2, degree=2, n_thresholds=5)
    whole = ResponseFeatures(**opts).fit(X)
    R = running_response(X, rates=whole.rates_, level=2)
    monkeypatch.setattr("symresp.features.time_pooling._CHUNK_FLOATS", 300)
    small = ResponseFeatures(**opts).fit(X)
    np.testing.assert_array_equal(small.thresholds_, whole.thresholds_)
    np.testing.assert_allclose(small.transform(X), whole.transform(X), rtol=0, atol=1e-12)
    np.testing.assert_array_equal(running_response(X, rates=whole.rates_, level=2), R)
