"""Response-feature estimators that choose their own hyperparameters on the training data.

:class:`ResponseFeatureClassifierCV` and :class:`ResponseFeatureRegressorCV` search, on the
training data only,

1. the basis, level N, degree Q and (exponential basis) the rate scale — the 'auto' rates of
   the data's time scale multiplied by each of ``rate_scales``;
2. then, at the best of stage 1, each set of ``augmentations``;
3. then each choice of multi-scale ``windows``;

and at every candidate each ridge penalty of ``alphas``.  A candidate is scored by the exact
leave-one-out predictions of its ridge (one SVD per candidate,
:func:`symresp.features.leave_one_out.loo_ridge_predictions`): the classifier by leave-one-out
accuracy, ties broken by the squared error of the ±1 one-vs-rest scores (ranking by that
squared error first chose worse settings on two of three UCR training sets tried), the
regressor by minus the leave-one-out mean squared error.  Candidates with more than ``max_features`` columns are skipped.
The final estimator is refitted on all training data with the chosen setting
(``best_estimator_``, ``best_params_``, ``best_score_`` — the criterion: leave-one-out accuracy,
or minus the leave-one-out mean squared error —, ``cv_results_``).
"""

from __future__ import annotations

import itertools

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from symresp.errors import ArgumentError
from symresp.features.estimators import (
    ResponseFeatureClassifier,
    ResponseFeatureRegressor,
    ResponseFeatures,
    _as_target_array,
    class_targets,
)
from symresp.features.feature_matrix import n_response_features
from symresp.features.leave_one_out import loo_ridge_predictions
from symresp.features.series_input import as_collection, n_channels_of
from symresp.validation import check_int

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
        max_features=6000,
        normalize_time=True,
    ):
        self.bases = bases
        self.levels = levels
        self.degrees = degrees
        self.rate_scales = rate_scales
        self.augmentations = augmentations
        self.windows = windows
        self.alphas = alphas
        self.max_features = max_features
        self.normalize_time = normalize_time

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
            size = n_response_features(
                m,
                level=opts["level"],
                degree=opts["degree"],
                augmentations=opts["augmentations"],
                windows=opts["windows"],
            )
            if size > limit:
                cache[key] = None
                return None
            feats = ResponseFeatures(normalize_time=self.normalize_time, **opts)
            if params["basis"] == "exponential":
                if opts["degree"] not in auto_rates:  # the data's time scale, per degree
                    auto_rates[opts["degree"]] = (
                        ResponseFeatures(
                            normalize_time=self.normalize_time,
                            basis="exponential",
                            level=1,
                            degree=opts["degree"],
                        )
                        .fit(data, t=t)
                        .rates_
                    )
                feats.set_params(rates=auto_rates[opts["degree"]] * params["rate_scale"])
            Z = feats.fit_transform(data, t=t)
            loo = loo_ridge_predictions(Z, Y, alphas)
            best = max(
                ((self._score(Y, loo[i]), a) for i, a in enumerate(alphas)),
                key=lambda sa: sa[0],
            )
            row = dict(
                params, alpha=best[1], score=best[0][0], secondary=best[0][1], n_features=size
            )
            if params["basis"] == "exponential":
                row["rates"] = feats.rates
            results.append(row)
            cache[key] = row
            return row

        def better(a, b):
            return b is None or (
                a is not None and (a["score"], a["secondary"]) > (b["score"], b["secondary"])
            )

        best = None
        for basis, level, degree in itertools.product(self.bases, self.levels, self.degrees):
            scales = self.rate_scales if basis == "exponential" else (1.0,)
            for scale in scales:
                row = evaluate(
                    dict(
                        basis=basis,
                        level=level,
                        degree=degree,
                        rate_scale=float(scale),
                        augmentations=(),
                        windows=1,
                    )
                )
                best = row if better(row, best) else best
        if best is None:
            raise ArgumentError(
                f"max_features: every candidate has more than {limit} feature columns "
                f"({m} channels); raise max_features or lower levels/degrees."
            )
        for name in ("augmentations", "windows"):
            for value in getattr(self, name):
                value = tuple(value) if name == "augmentations" else value
                keys = ("basis", "level", "degree", "rate_scale", "augmentations", "windows")
                row = evaluate({**{k: best[k] for k in keys}, name: value})
                best = row if better(row, best) else best
        self.cv_results_ = results
        self.best_score_ = best["score"]
        self.best_params_ = {
            k: best[k] for k in ("basis", "level", "degree", "augmentations", "windows", "alpha")
        }
        if best["basis"] == "exponential":
            self.best_params_["rates"] = best["rates"]
        return data

    def _refit(self, est, data, y, t):
        self.best_estimator_ = est.set_params(
            normalize_time=self.normalize_time, **self.best_params_
        ).fit(data, y, t=t)
        self.n_features_in_ = self.best_estimator_.n_features_in_
        return self

    def predict(self, X, t=None):
        """Prediction of the refitted best estimator."""
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X, t)


class ResponseFeatureClassifierCV(ClassifierMixin, _SearchCV):
    """:class:`ResponseFeatureClassifier` with basis, rates, level, degree, augmentations,
    windows and α chosen by leave-one-out accuracy on the training data (module docstring).
    ``fit(X, y, t=None)``; then ``predict``, ``predict_proba``, ``decision_function``."""

    def _score(self, Y, loo):
        if Y.shape[1] == 1:
            acc = np.mean(np.sign(loo[:, 0]) == Y[:, 0])
        else:
            acc = np.mean(np.argmax(loo, axis=1) == np.argmax(Y, axis=1))
        return float(acc), -float(np.mean((loo - Y) ** 2))

    def fit(self, X, y, t=None):
        labels, self.classes_, _, Y = class_targets(y)
        data = self._search(X, Y, t)
        return self._refit(ResponseFeatureClassifier(), data, labels, t)

    def decision_function(self, X, t=None):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X, t)

    def predict_proba(self, X, t=None):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X, t)

    def score(self, X, y, sample_weight=None, t=None):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.score(X, y, sample_weight=sample_weight, t=t)


class ResponseFeatureRegressorCV(RegressorMixin, _SearchCV):
    """:class:`ResponseFeatureRegressor` with its hyperparameters chosen by leave-one-out
    mean squared error on the training data (module docstring)."""

    def _score(self, Y, loo):
        mse = float(np.mean((loo - Y) ** 2))
        return -mse, 0.0

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, t=None):
        Y = np.asarray(_as_target_array(y), dtype=np.float64)
        if Y.ndim not in (1, 2) or not np.all(np.isfinite(Y)):
            raise ArgumentError(
                f"y: expected finite targets shaped (n_cases,) or (n_cases, targets), got "
                f"shape {Y.shape}."
            )
        data = self._search(X, Y.reshape(Y.shape[0], -1), t)
        return self._refit(ResponseFeatureRegressor(), data, Y, t)

    def score(self, X, y, sample_weight=None, t=None):
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.score(X, y, sample_weight=sample_weight, t=t)
