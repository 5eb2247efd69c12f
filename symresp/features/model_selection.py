"""Response-feature estimators that choose their own hyperparameters on the training data.

:class:`ResponseFeatureClassifierCV` and :class:`ResponseFeatureRegressorCV` search, on the
training data only,

1. the pooling (``poolings``: None, the response at the final time, and 'ppv', the
   fading-memory response at every time pooled over time,
   :mod:`symresp.features.time_pooling`, with ``n_thresholds`` levels), the basis (pooled:
   exponential only), level N, degree Q (pooled: from ``pooled_degrees``, Q + 1 memories
   from one step to a quarter of the duration), (final-time exponential basis) the rate
   scale — the 'auto' rates of
   the data's time scale multiplied by each of ``rate_scales`` — and, for series of unequal
   lengths, each value of ``time_normalizations`` for ``normalize_time`` (each series on
   [0, 1], or in sample time, where the duration itself is a feature; on one shared grid
   both give the same features and only the first is tried);
2. then, from each of the ``beam_width`` best candidates so far, each set of
   ``augmentations``;
3. then, from each of the ``beam_width`` best so far, each choice of multi-scale ``windows``
   (for a pooled candidate: the pooling windows, each statistic also over the halves,
   quarters, … of the series);
4. then likewise each value of ``series_normalizations`` for ``normalize_series``
   (z-normalising each case over its own time points, UCR practice); the default
   ``(False,)`` skips this stage: adding ``True`` lowered the accuracy of a 5-fold
   cross-validation *of the whole CV estimator on the training splits* on BasicMotions
   (0.90 → 0.85) and PickupGestureWiimoteZ (0.62 → 0.54) and changed GunPoint (0.98) and
   ACSF1 (0.52 → 0.53) little;

and at every candidate each ridge penalty of ``alphas``.  A candidate is scored by the exact
leave-one-out predictions of its ridge (one SVD per candidate,
:func:`symresp.features.leave_one_out.loo_ridge_predictions`): the classifier by leave-one-out
accuracy, ties broken by the squared error of the ±1 one-vs-rest scores (ranking by that
squared error first chose worse settings on two of three UCR training sets tried), the
regressor by minus the leave-one-out mean squared error.  Candidates with more than
``max_features`` columns are skipped (a candidate's ridge costs O(n² · columns) time for n
cases, and memory about 32 · n · columns bytes — the features, their standardised copy and the
SVD, measured with tracemalloc at n = 500 —: 640 MB for 1000 cases at the default 20000).
Finally an ensemble size k is chosen from ``ensemble_sizes``: the k best candidates (by the
criterion above) of the best candidate's pooling — final-time or pooled, not a mixture — are
averaged — their ridge outputs, ŷ = (1/k) Σ_j ŷ_j — and k is the size whose
averaged leave-one-out outputs score best (ties: the smaller k).  This is exact on the training
data: the leave-one-out output of an average of ridge fits is the average of their
leave-one-out outputs.  ``ensemble_sizes=(1,)`` gives the single best candidate; in the same
training-split cross-validation ``(1, 3, 5, 10)`` scored 0.98 / 0.90 / 0.989
against 0.98 / 0.85 / 0.989 for ``(1,)`` on GunPoint / BasicMotions / JapaneseVowels, and
with the beam below the default ``(5, 10)`` — at least five members — 0.970 / 0.912 / 0.760 /
0.555 against 0.960 / 0.887 / 0.770 / 0.525 for ``(1, 3, 5, 10)`` (GunPoint / BasicMotions /
PickupGestureWiimoteZ / ACSF1; 10 folds, see below).  An ensemble averages the best setting
with worse ones: for a noiseless target or a small search grid pass ``ensemble_sizes=(1,)``
(or include 1).
The chosen members are refitted on all training data (``estimators_``, their settings
``ensemble_params_``; ``best_estimator_`` / ``best_params_`` the first, best, member;
``ensemble_size_``; ``best_score_`` — the criterion of the ensemble: leave-one-out accuracy, or
minus the leave-one-out mean squared error —; ``cv_results_`` for every candidate).  ``clip`` (default True) is passed to the members:
at predict time each feature column is clipped to its training range
(:class:`symresp.features.estimators.ResponseFeatures`), which bounds the prediction for a
series far outside the training data; the leave-one-out criterion is unaffected (training
features lie in their own range).

The defaults ``beam_width=3`` and ``time_normalizations=(True, False)`` were chosen by a
5-fold cross-validation of the whole CV estimator inside each training split, repeated with
two fold seeds (10 folds; the test splits were not used): against ``beam_width=1`` on [0, 1]
only, 0.960 / 0.887 / 0.770 / 0.525 against 0.940 / 0.887 / 0.660 / 0.500 (GunPoint /
BasicMotions / PickupGestureWiimoteZ / ACSF1; the beam alone gave 0.710 on
PickupGestureWiimoteZ, sample time alone 0.670).  Not adopted, for gains within one standard
error of the fold mean (0.015–0.05): windows ``(1, 2, 4, 8)`` added (0.950 / 0.887 / 0.670 / 0.500), the cumulative-sum
augmentation added (0.950 / 0.887 / 0.660 / 0.520), rate scales 1/16 … 16 (GunPoint 0.940),
and a forward (greedy) choice of ensemble members (0.940 / 0.887).

The pooled response (``poolings=(None, 'ppv')``, ``pooled_degrees=(8,)``,
``n_thresholds=16``) was added by the same 10-fold training-split cross-validation:
0.980 / 0.963 / 0.710 / 0.710 against 0.960 / 0.900 / 0.760 / 0.570 without it (GunPoint /
BasicMotions / PickupGestureWiimoteZ / ACSF1; 0.730 on PickupGestureWiimoteZ once the
pooled features became time integrals, not averages, in sample time).  With it, ensembles of
1–10 scored 0.990 / 1.000 / 0.640 / 0.740 and the single best 0.970 / 1.000 / 0.620 / 0.710,
so ``(5, 10)`` stays; ensembles of the best of each pooling scored 0.980 / 0.938 / 0.710 /
0.710 and were not adopted.  Ensembles of the best candidate's pooling only (members of one
feature family) scored 1.000 / 1.000 / 0.730 / 0.740 against 0.980 / 0.963 / 0.730 / 0.710
for the best candidates of either pooling, and were adopted (on PickupGestureWiimoteZ a
per-fold comparison gave 0.780 with pooled candidates only, 0.760 with final-time ones only,
and 0.730 for the mixture).

Pooling windows (the pooled statistics also over the halves and quarters of the series, from
the windows stage) and ``max_features=20000`` (instead of 6000, under which no windowed
pooled candidate fits on these sets) were added by the same cross-validation: 1.000 / 1.000 /
0.770 / 0.735 against 1.000 / 1.000 / 0.730 / 0.740 (GunPoint / BasicMotions /
PickupGestureWiimoteZ / ACSF1), JapaneseVowels 0.989 against 0.983 (where pooled candidates,
12 channels, now fit at all), Covid3Month RMSE 0.043 against 0.042 — within one standard error
(0.002–0.045) each, adopted for the mean gain; a fit costs up to 2.4× more (ACSF1).  Windows
(1, 2) alone, under 6000, gave 0.750 on PickupGestureWiimoteZ.
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import check_is_fitted

from symresp.errors import ArgumentError
from symresp.features.estimators import (
    POOLINGS,
    ResponseFeatureClassifier,
    ResponseFeatureRegressor,
    ResponseFeatures,
    _probabilities,
    _temperature,
    class_targets,
    regression_targets,
)
from symresp.features.feature_matrix import (
    _augmented_channels,
    check_augmentations,
    n_response_features,
)
from symresp.features.leave_one_out import loo_ridge_predictions
from symresp.features.series_input import as_collection, lengths_of, n_channels_of
from symresp.features.time_pooling import n_pooled_features
from symresp.validation import check_bool, check_int

__all__ = ["ResponseFeatureClassifierCV", "ResponseFeatureRegressorCV"]


class _SearchCV(BaseEstimator):
    def __init__(
        self,
        *,
        bases=("exponential", "legendre"),
        levels=(1, 2, 3, 4),
        degrees=(1, 2, 3),
        rate_scales=(0.25, 1.0, 4.0),
        augmentations=((), ("time",), ("time", "leadlag"), ("time", "basepoint")),
        windows=(1, (1, 2, 4)),
        alphas=(1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4),
        max_features=20000,
        time_normalizations=(True, False),
        series_normalizations=(False,),
        ensemble_sizes=(5, 10),
        clip=True,
        beam_width=3,
        poolings=(None, "ppv"),
        pooled_degrees=(8,),
        n_thresholds=16,
    ):
        self.bases = bases
        self.levels = levels
        self.degrees = degrees
        self.rate_scales = rate_scales
        self.augmentations = augmentations
        self.windows = windows
        self.alphas = alphas
        self.max_features = max_features
        self.time_normalizations = time_normalizations
        self.series_normalizations = series_normalizations
        self.ensemble_sizes = ensemble_sizes
        self.clip = clip
        self.beam_width = beam_width
        self.poolings = poolings
        self.pooled_degrees = pooled_degrees
        self.n_thresholds = n_thresholds

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _search(self, X, Y, t):
        data = as_collection(X)
        m = n_channels_of(data)
        limit = check_int(self.max_features, "max_features", minimum=1)
        alphas = [float(a) for a in np.ravel(self.alphas)]
        if not alphas or any(not np.isfinite(a) or a < 0 for a in alphas):
            raise ArgumentError(f"alphas: expected finite numbers >= 0, got {self.alphas!r}.")
        results = []
        cache = {}
        auto_rates = {}

        def evaluate(params):
            opts = {k: v for k, v in params.items() if k != "rate_scale"}
            key = repr(sorted(params.items()))
            if key in cache:
                return cache[key]
            if opts["pooling"] is None:
                size = n_response_features(
                    m,
                    level=opts["level"],
                    degree=opts["degree"],
                    augmentations=opts["augmentations"],
                    windows=opts["windows"],
                )
            elif "basepoint" in opts["augmentations"]:
                cache[key] = None  # not an option of the pooled response
                return None
            else:
                channels = _augmented_channels(m, check_augmentations(opts["augmentations"]))
                size = n_pooled_features(
                    channels, opts["level"], opts["degree"] + 1, n_thr, opts["windows"]
                )
            if size > limit:
                cache[key] = None
                return None
            feats = ResponseFeatures(**opts, n_thresholds=n_thr)
            if params["basis"] == "exponential" and params["pooling"] is None:
                scale_key = (opts["degree"], opts["normalize_series"], opts["normalize_time"])
                if scale_key not in auto_rates:  # the data's time scale, per degree
                    auto_rates[scale_key] = (
                        ResponseFeatures(
                            normalize_time=opts["normalize_time"],
                            normalize_series=opts["normalize_series"],
                            basis="exponential",
                            level=1,
                            degree=opts["degree"],
                        )
                        .fit(data, t=t)
                        .rates_
                    )
                feats.set_params(rates=auto_rates[scale_key] * params["rate_scale"])
            Z = feats.fit_transform(data, t=t)
            loo = loo_ridge_predictions(Z, Y, alphas)
            best = max(
                ((self._score(Y, loo[i]), a) for i, a in enumerate(alphas)),
                key=lambda sa: sa[0],
            )
            i_best = alphas.index(best[1])
            row = dict(
                params, alpha=best[1], score=best[0][0], secondary=best[0][1], n_features=size
            )
            row["_loo"] = loo[i_best]
            if params["basis"] == "exponential":
                row["rates"] = feats.rates_ if params["pooling"] else feats.rates
            results.append(row)
            cache[key] = row
            return row

        def ranked():
            # stable: among equal criteria the earlier candidate stays first
            return sorted(results, key=lambda r: (r["score"], r["secondary"]), reverse=True)

        n_thr = check_int(self.n_thresholds, "n_thresholds", minimum=1)
        first = []
        for pooling, norm_time in itertools.product(
            self._poolings(), self._time_normalizations(data, t)
        ):
            if pooling is None:
                grid = itertools.product(self.bases, self.levels, self.degrees)
            else:
                grid = itertools.product(("exponential",), self.levels, self.pooled_degrees)
            for basis, level, degree in grid:
                scales = self.rate_scales if basis == "exponential" and not pooling else (1.0,)
                first += [(pooling, norm_time, basis, level, degree, s) for s in scales]
        for pooling, norm_time, basis, level, degree, scale in first:
            evaluate(
                dict(
                    pooling=pooling,
                    basis=basis,
                    level=level,
                    degree=degree,
                    rate_scale=float(scale),
                    augmentations=(),
                    windows=1,
                    normalize_series=False,
                    normalize_time=norm_time,
                )
            )
        if not results:
            raise ArgumentError(
                f"max_features: every candidate has more than {limit} feature columns "
                f"({m} channels); raise max_features or lower levels/degrees."
            )
        width = check_int(self.beam_width, "beam_width", minimum=1)
        stages = (
            ("augmentations", self.augmentations),
            ("windows", self.windows),
            ("normalize_series", self.series_normalizations),
        )
        keys = ("pooling", "basis", "level", "degree", "rate_scale", "augmentations")
        keys += ("windows", "normalize_series", "normalize_time")
        for name, values in stages:
            for start in ranked()[:width]:
                for value in values:
                    value = tuple(value) if name == "augmentations" else value
                    evaluate({**{k: start[k] for k in keys}, name: value})
        self.cv_results_ = [{k: v for k, v in r.items() if k != "_loo"} for r in results]
        members = self._choose_ensemble(results, Y)
        self.ensemble_size_ = len(members)
        self.best_score_ = self.ensemble_score_[0]
        self.ensemble_params_ = [self._params_of(r) for r in members]
        self.best_params_ = self.ensemble_params_[0]
        return data

    def _poolings(self):
        try:
            values = tuple(dict.fromkeys(self.poolings))
        except TypeError:  # not iterable, or unhashable entries
            values = ()
        if not values or any(v not in POOLINGS for v in values):
            raise ArgumentError(
                f"poolings: expected values from {POOLINGS} (None: the response at the final "
                f"time; 'ppv': pooled over time), got {self.poolings!r}."
            )
        return values

    def _time_normalizations(self, data, t):
        """The values of ``normalize_time`` for the first stage (one window, no augmentation
        or a time channel alike).  On one shared grid (equal lengths, no ``t``) the two
        choices then give the same standardised features — rescaling time by c multiplies
        each feature column by a power of c (and the 'auto' rates by 1/c), which the column
        standardisation removes — so only the first value is tried there.  (With several
        windows and the exponential basis they differ: each window's own grid is rescaled,
        its memory relative to the window changes; those are reached from the first stage's
        choice.)"""
        values = tuple(
            dict.fromkeys(check_bool(v, "time_normalizations") for v in self.time_normalizations)
        )
        if not values:
            raise ArgumentError(
                f"time_normalizations: expected True and/or False, got "
                f"{self.time_normalizations!r}."
            )
        if t is None and len(set(lengths_of(data))) == 1:
            return values[:1]
        return values

    @staticmethod
    def _params_of(row):
        keys = ("pooling", "basis", "level", "degree", "augmentations", "windows")
        keys += ("normalize_series", "normalize_time")
        params = {k: row[k] for k in keys + ("alpha",)}
        if row["basis"] == "exponential":
            params["rates"] = row["rates"]
        return params

    def _choose_ensemble(self, results, Y):
        """The k best candidates (by their own criterion) of the best candidate's pooling
        whose averaged leave-one-out decision values score best, k from ``ensemble_sizes``
        (ties: the smaller k).  The leave-one-out prediction of an average of ridge fits is
        the average of their leave-one-out predictions, so the ensemble's criterion is exact,
        on training data."""
        ranked = sorted(results, key=lambda r: (r["score"], r["secondary"]), reverse=True)
        ranked = [r for r in ranked if r["pooling"] == ranked[0]["pooling"]]
        sizes = sorted(
            {
                min(check_int(k, "ensemble_sizes", minimum=1), len(ranked))
                for k in self.ensemble_sizes
            }
        )
        if not sizes:
            raise ArgumentError(
                f"ensemble_sizes: expected positive integers, got {self.ensemble_sizes!r}."
            )
        chosen, chosen_score = None, None
        for k in sizes:
            top = ranked[:k]
            loo = np.mean([r["_loo"] for r in top], axis=0)
            score = self._score(Y, loo)
            if chosen_score is None or score > chosen_score:
                chosen, chosen_score, self._ensemble_loo = top, score, loo
        self.ensemble_score_ = chosen_score
        return chosen

    def _refit(self, est, data, y, t):
        self.estimators_ = [
            clone(est)
            .set_params(clip=self.clip, n_thresholds=self.n_thresholds, **p)
            .fit(data, y, t=t)
            for p in self.ensemble_params_
        ]
        self.best_estimator_ = self.estimators_[0]
        self.n_features_in_ = self.best_estimator_.n_features_in_
        return self

    def _mean_decision(self, X, t):
        """Average over the ensemble of the members' ridge outputs, shape (n_cases, targets)."""
        check_is_fitted(self, "estimators_")
        data = as_collection(X)
        return np.mean([e._decision(data, t) for e in self.estimators_], axis=0)

    def predict(self, X, t=None):
        """Prediction of the refitted ensemble (one member: the best estimator)."""
        return self._predict_from(self._mean_decision(X, t))


class ResponseFeatureClassifierCV(ClassifierMixin, _SearchCV):
    """:class:`ResponseFeatureClassifier` with pooling, basis, rates, level, degree,
    augmentations, windows, α and the ensemble size chosen by leave-one-out accuracy on the training data
    (module docstring).  ``fit(X, y, t=None)``; then ``predict``, ``predict_proba``,
    ``decision_function`` (of the averaged ridge scores of the ``ensemble_size_`` members)."""

    def _score(self, Y, loo):
        if Y.shape[1] == 1:
            acc = np.mean(np.sign(loo[:, 0]) == Y[:, 0])
        else:
            acc = np.mean(np.argmax(loo, axis=1) == np.argmax(Y, axis=1))
        return float(acc), -float(np.mean((loo - Y) ** 2))

    def fit(self, X, y, t=None):
        labels, self.classes_, codes, Y = class_targets(y)
        data = self._search(X, Y, t)
        self._refit(ResponseFeatureClassifier(), data, labels, t)
        self.temperature_ = _temperature(self._ensemble_loo, codes, self.classes_.size)
        return self

    def _predict_from(self, dec):
        if self.classes_.size == 2:
            return self.classes_[(dec[:, 0] > 0).astype(int)]
        return self.classes_[np.argmax(dec, axis=1)]

    def decision_function(self, X, t=None):
        """Averaged ridge scores: (n_cases,) for two classes, else (n_cases, classes)."""
        dec = self._mean_decision(X, t)
        return dec[:, 0] if self.classes_.size == 2 else dec

    def predict_proba(self, X, t=None):
        """softmax(τ · averaged decision), τ fitted on the ensemble's leave-one-out values."""
        return _probabilities(self.decision_function(X, t), self.temperature_)

    def score(self, X, y, sample_weight=None, t=None):
        """Accuracy of :meth:`predict`."""
        return accuracy_score(y, self.predict(X, t), sample_weight=sample_weight)


class ResponseFeatureRegressorCV(RegressorMixin, _SearchCV):
    """:class:`ResponseFeatureRegressor` with its hyperparameters and the ensemble size
    chosen by leave-one-out mean squared error on the training data (module docstring)."""

    def _score(self, Y, loo):
        mse = float(np.mean((loo - Y) ** 2))
        return -mse, 0.0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, t=None):
        Y = regression_targets(y)
        self._y_1d = Y.ndim == 1
        data = self._search(X, Y.reshape(Y.shape[0], -1), t)
        return self._refit(ResponseFeatureRegressor(), data, Y, t)

    def _predict_from(self, out):
        return out[:, 0] if self._y_1d else out

    def score(self, X, y, sample_weight=None, t=None):
        """Coefficient of determination R² (uniform average over targets)."""
        return r2_score(y, self.predict(X, t), sample_weight=sample_weight)
