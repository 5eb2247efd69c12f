"""Readout training as a kernel machine on response features, as scikit-learn estimators.

With ``f(h) = V h`` the response coefficients are linear in V, so training only the readout
of an SRNN with fixed hidden weights is ridge regression in the space of response features
R = {t^{q_0} S(X)^w}, i.e. kernel ridge regression with

    k(u, v) = ⟨R(u), R(v)⟩_λ = Σ_c λ_c R_c(u) R_c(v),
    λ_c = level_weights[|w|] · degree_weights[q_0 + Σ_j q_{w_j}]

for the component ``c = t^{q_0} S^w`` (|w| its level, the degree its total polynomial degree
in time).  The features are finite-dimensional and computed explicitly
(:mod:`symresp.features.feature_matrix`); inner products of explicit feature matrices are
BLAS matrix products.

:class:`ResponseFeatures` (a transformer), :class:`ResponseFeatureRegressor` and
:class:`ResponseFeatureClassifier` are scikit-learn estimators: keyword-only parameters
stored unchanged by ``__init__`` and validated in ``fit``, ``clone``/``get_params``,
``Pipeline``, ``GridSearchCV``, ``cross_val_score``, ``NotFittedError`` before ``fit``.
Input is a collection of series as aeon and sktime take it: ``(n_cases, n_channels,
n_timepoints)``, ``(n_cases, n_timepoints)`` for univariate series, or a list of
``(n_channels, n_timepoints_i)`` arrays of unequal lengths (never padded).
``n_features_in_`` is the number of channels, the axis that must agree between fit and
predict (series lengths may differ).  :data:`EXPECTED_FAILED_CHECKS` names the few
``check_estimator`` checks that assume tabular input, with the reason.
"""

from __future__ import annotations

import numbers

import numpy as np
import scipy.linalg
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, TransformerMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from symresp.errors import ArgumentError
from symresp.features.fading_memory import correlation_time, default_rates
from symresp.features.feature_matrix import (  # the matrix functions, re-exported here
    _grids,
    check_augmentations,
    check_windows,
    component_weights,
    gram_matrix,
    response_feature_matrix,
)
from symresp.features.leave_one_out import loo_ridge_predictions
from symresp.features.response_features import BASES
from symresp.features.series_input import (
    as_collection,
    lengths_of,
    n_channels_of,
    zscore_cases,
)
from symresp.features.time_pooling import (
    check_positive_rates,
    collection_thresholds,
    pooled_feature_matrix,
    pooled_rates,
)
from symresp.validation import check_bool, check_int

__all__ = [
    "ResponseFeatures",
    "ResponseFeatureRegressor",
    "ResponseFeatureClassifier",
    "EXPECTED_FAILED_CHECKS",
    "response_feature_matrix",
    "component_weights",
    "gram_matrix",
]

#: ``check_estimator`` checks that assume tabular input (X.shape[1] = number of features), with
#: the reason they cannot apply to series; pass as ``expected_failed_checks``.
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": (
        "n_features_in_ is the number of channels; a 2-D X is a univariate collection "
        "(n_cases, n_timepoints), so X.shape[1] is a series length, not a feature count"
    ),
    "check_n_features_in_after_fitting": (
        "series of another length are valid input at predict time (only the number of "
        "channels must match, and it does)"
    ),
    "check_classifiers_train": (
        "predicting on X.T is expected to fail, but X.T is a valid univariate collection of "
        "other length; the accuracy part is tested in tests/test_sklearn_estimators.py"
    ),
    "check_regressors_train": (
        "predicting on X.T is expected to fail, but X.T is a valid univariate collection of "
        "other length; the fit quality part is tested in tests/test_sklearn_estimators.py"
    ),
    "check_transformer_general": (
        "transforming X[:, :-1] is expected to fail, but shorter series are valid input"
    ),
    "check_estimators_empty_data_messages": (
        "a 2-D X with no columns is a collection of empty series; refused with a message "
        "naming n_timepoints, not n_features"
    ),
    "check_fit2d_1feature": (
        "a 2-D X with one column is a collection of series of one time point, which have no "
        "increments; refused with a message naming n_timepoints, not n_features"
    ),
}

_FEATURE_PARAMS = (
    "level",
    "degree",
    "basis",
    "rates",
    "augmentations",
    "windows",
    "normalize_time",
    "include_time_factors",
    "normalize_series",
    "clip",
    "pooling",
    "n_thresholds",
)

#: values of ``pooling``: None (the response at the final time) or "ppv" (pooled over time)
POOLINGS = (None, "ppv")


def class_targets(y):
    """``(labels, classes, codes, T)`` for a classifier's ridge: T = ±1 one-vs-rest targets,
    one column for two classes (+1 for the second class), one per class otherwise."""
    labels = column_or_1d(_as_target_array(y), warn=True)
    check_classification_targets(labels)
    classes, codes = np.unique(labels, return_inverse=True)
    if classes.size < 2:
        raise ArgumentError(f"y: expected at least 2 classes, got 1 class ({classes.tolist()}).")
    if classes.size == 2:
        T = np.where(codes == 1, 1.0, -1.0)[:, None]
    else:
        T = -np.ones((labels.size, classes.size))
        T[np.arange(labels.size), codes] = 1.0
    return labels, classes, codes, T


def _as_target_array(y, name: str = "y") -> np.ndarray:
    if y is None:
        raise ArgumentError(
            f"{name}: this estimator requires y to be passed, but the target y is None."
        )
    return y


def regression_targets(y) -> np.ndarray:
    """Finite float targets shaped (n_cases,) or (n_cases, targets), or a clear error."""
    Y = np.asarray(_as_target_array(y), dtype=np.float64)
    if Y.ndim not in (1, 2):
        raise ArgumentError(f"y: expected shape (n_cases,) or (n_cases, targets), got {Y.shape}.")
    if not np.all(np.isfinite(Y)):
        raise ArgumentError("y: expected finite targets, got NaN or inf.")
    return Y


class _FeatureParams(BaseEstimator):
    """The parameters of the response feature, shared by every estimator here."""

    def _feature_options(self) -> dict:
        """Validated feature options (rates still 'auto' or given)."""
        level = check_int(self.level, "level", minimum=1)
        degree = check_int(self.degree, "degree", minimum=0)
        if not isinstance(self.basis, str) or self.basis not in BASES:
            raise ArgumentError(
                f"basis: expected one of {', '.join(map(repr, BASES))}, got {self.basis!r}."
            )
        rates = self.rates
        if isinstance(rates, str) and rates != "auto":
            raise ArgumentError(f"rates: expected 'auto' or degree + 1 numbers, got {rates!r}.")
        pooling = self.pooling
        if not (pooling is None or (isinstance(pooling, str) and pooling in POOLINGS)):
            raise ArgumentError(
                f"pooling: expected None (the response at the final time) or 'ppv' (the "
                f"response at every time, pooled over time), got {pooling!r}."
            )
        n_thresholds = check_int(self.n_thresholds, "n_thresholds", minimum=1)
        if pooling is not None:
            self._check_pooled(check_augmentations(self.augmentations))
        return dict(
            pooling=pooling,
            n_thresholds=n_thresholds,
            level=level,
            degree=degree,
            basis=self.basis,
            rates=rates,
            augmentations=check_augmentations(self.augmentations),
            windows=check_windows(self.windows),
            normalize_time=check_bool(self.normalize_time, "normalize_time"),
            include_time_factors=check_bool(self.include_time_factors, "include_time_factors"),
            normalize_series=check_bool(self.normalize_series, "normalize_series"),
        )

    def _check_pooled(self, augmentations) -> None:
        """The options that have no meaning once the response is pooled over time."""
        clash = [
            (self.basis != "exponential", f"basis={self.basis!r}", "basis='exponential'"),
            ("basepoint" in augmentations, "the 'basepoint' augmentation", "no basepoint"),
            (bool(self.include_time_factors), "include_time_factors=True", "False"),
            (
                getattr(self, "level_weights", None) is not None
                or getattr(self, "degree_weights", None) is not None,
                "level_weights/degree_weights",
                "None",
            ),
        ]
        for bad, what, fix in clash:
            if bad:
                raise ArgumentError(
                    f"pooling={self.pooling!r}: {what} does not apply to the response pooled "
                    f"over time (its support basis is the fading-memory one, moving with "
                    f"the readout time, and it has no basepoint, no time factors, no component "
                    f"weights); use {fix}."
                )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


class ResponseFeatures(TransformerMixin, _FeatureParams):
    """Standardised, weighted response features of a collection of series.

    ``Z = (R(u) − mean) / scale · √λ`` (training statistics; ``standardize=False``: ``R · √λ``)
    with ``R`` the rows of :func:`symresp.features.feature_matrix.response_feature_matrix` and
    ``λ`` the component weights.  Euclidean inner products of Z are the weighted kernel
    ``⟨R(u), R(v)⟩_λ`` (of the standardised features).

    Parameters
    ----------
    level : int >= 1          signature truncation N
    degree : int >= 0         support-basis degree Q
    basis : 'legendre' | 'monomial' | 'exponential'
    rates : 'auto' or degree + 1 rates λ_q (exponential basis only).  'auto' takes the
        data's time scale: the fastest rate is 1/τ, τ the integrated autocorrelation time of
        the training series (on the normalised time axis), each slower rate 4× smaller, λ_0 = 0.
    augmentations : subset of ('time', 'cumsum', 'leadlag', 'basepoint')
    windows : int or sequence of ints   multi-scale windows (1 = whole series); pooled over
        time: the pooling windows, the responses running on through the whole series
    normalize_time : bool     rescale each (window's) grid to [0, 1]
    level_weights, degree_weights : optional weights λ (see component_weights)
    include_time_factors : bool   add the blocks T^{q0}, q0 >= 1
    normalize_series : bool   z-normalise each case, each channel, over its own time points
        first (UCR practice; :func:`symresp.features.series_input.zscore_cases`)
    pooling : None or 'ppv'   None: the response feature at the final time.  'ppv': the
        fading-memory response at every time t (``basis='exponential'``, ψ_q(r) =
        e^{−λ_q (t − r)}), and, for each running component and each band-pass difference
        of the unit-gain smoothings (the input itself the fastest), its integral over
        time and the times above ``n_thresholds`` levels — the training quantiles (on
        [0, 1], ``normalize_time``: time average and fractions of time)
        (:mod:`symresp.features.time_pooling`).  ``rates='auto'`` then gives degree + 1
        memories 1/λ_q geometric from one time step to a quarter of the (mean) duration.
    n_thresholds : int >= 1   the levels per direction with ``pooling='ppv'``
    standardize : bool        centre and scale the columns with training statistics
    clip : bool               clip each feature column to its training range
        ``[min_, max_]`` in ``transform``: a series far outside the training data (a spike
        of 30 standard deviations) would otherwise give level-N features ~ amplitude^N, far
        outside the range the readout was fitted on, and an unbounded prediction; clipped,
        every prediction of a linear readout lies within the box
        ``ȳ + Σ_j β_j [zmin_j, zmax_j]`` of the training features.  Training features are
        unchanged (they lie in their own range).

    Notes
    -----
    ``fit(X, y=None, t=None)``, ``t`` a grid shared by the series or one per series.  Fitted
    attributes: ``n_features_in_`` (= channels), ``n_channels_``, ``rates_`` (exponential
    basis), ``mean_``, ``scale_``, ``weights_``, ``min_``, ``max_`` (the training range of
    the raw feature columns), ``n_features_out_``; with pooling, ``thresholds_``
    (n_directions, n_thresholds).
    """

    def __init__(
        self,
        *,
        level=3,
        degree=1,
        basis="legendre",
        rates="auto",
        augmentations=(),
        windows=1,
        normalize_time=True,
        level_weights=None,
        degree_weights=None,
        include_time_factors=False,
        normalize_series=False,
        standardize=True,
        clip=True,
        pooling=None,
        n_thresholds=16,
    ):
        self.level = level
        self.degree = degree
        self.basis = basis
        self.rates = rates
        self.augmentations = augmentations
        self.windows = windows
        self.normalize_time = normalize_time
        self.level_weights = level_weights
        self.degree_weights = degree_weights
        self.include_time_factors = include_time_factors
        self.normalize_series = normalize_series
        self.standardize = standardize
        self.clip = clip
        self.pooling = pooling
        self.n_thresholds = n_thresholds

    def _matrix(self, data, t, fitting=False):
        opts = dict(self._options_)
        if opts.pop("normalize_series"):
            data = zscore_cases(data)
        pooling, n_thresholds = opts.pop("pooling"), opts.pop("n_thresholds")
        if pooling is None:
            return response_feature_matrix(data, t, **opts)
        cases = data if isinstance(data, list) else list(data)
        grids = self._axis(t, data, opts["normalize_time"])
        kw = dict(rates=opts["rates"], level=opts["level"], augmentations=opts["augmentations"])
        if fitting:  # the levels b_i are quantiles of the training responses
            self.thresholds_ = collection_thresholds(cases, grids, n_thresholds=n_thresholds, **kw)
        return pooled_feature_matrix(
            cases, grids, thresholds=self.thresholds_, windows=opts["windows"], **kw
        )

    @staticmethod
    def _axis(t, data, normalize_time):
        """Each case's grid from 0, on [0, 1] with ``normalize_time``."""
        grids = [g - g[0] for g in _grids(t, lengths_of(data))]
        return [g / g[-1] for g in grids] if normalize_time else grids

    def fit(self, X, y=None, t=None):
        """Learn the feature statistics (and the 'auto' rates) from the training series."""
        self.fit_transform(X, y, t=t)
        return self

    def fit_transform(self, X, y=None, t=None):
        """Fit, and return the training features Z (computed once)."""
        opts = self._feature_options()
        standardize = check_bool(self.standardize, "standardize")
        self._clip = check_bool(self.clip, "clip")
        data = as_collection(X)
        m = n_channels_of(data)
        if opts["pooling"] is not None:
            if isinstance(opts["rates"], str):
                grids = self._axis(t, data, opts["normalize_time"])
                dt = float(np.mean([g[-1] / (g.size - 1) for g in grids]))
                T = float(np.mean([g[-1] for g in grids]))
                self.rates_ = pooled_rates(opts["degree"], dt, T)
            else:
                self.rates_ = check_positive_rates(opts["rates"], opts["degree"])
            opts["rates"] = self.rates_
        elif opts["basis"] == "exponential":
            if isinstance(opts["rates"], str):
                grids = self._axis(t, data, opts["normalize_time"])
                cases = zscore_cases(data) if opts["normalize_series"] else data
                cases = cases if isinstance(cases, list) else list(cases)
                tau = correlation_time(cases, grids)
                T = float(np.mean([g[-1] for g in grids]))
                self.rates_ = default_rates(opts["degree"], T, max(tau, 1e-12))
            else:
                self.rates_ = np.asarray(opts["rates"], dtype=np.float64)
            opts["rates"] = self.rates_
        elif not (isinstance(opts["rates"], str) or opts["rates"] is None):
            raise ArgumentError(
                f"rates: only the exponential basis has rates; got rates={self.rates!r} with "
                f"basis={self.basis!r} (leave rates='auto')."
            )
        else:
            opts["rates"] = None
        self._options_ = opts
        F = self._matrix(data, t, fitting=True)
        lam = (
            np.ones(F.shape[1])
            if opts["pooling"]
            else component_weights(
                m,
                opts["level"],
                opts["degree"],
                self.level_weights,
                self.degree_weights,
                opts["include_time_factors"],
                augmentations=opts["augmentations"],
                windows=opts["windows"],
            )
        )
        if standardize:
            mean = F.mean(axis=0)
            scale = F.std(axis=0)
            # constant columns (the empty word, exact zeros) carry no information: scale 1
            # leaves them at zero after centring, as scikit-learn's StandardScaler does
            scale[scale <= 1e-12 * max(1.0, float(np.abs(F).max()))] = 1.0
        else:
            mean, scale = np.zeros(F.shape[1]), np.ones(F.shape[1])
        self.mean_, self.scale_, self.weights_ = mean, scale, lam
        self.min_, self.max_ = F.min(axis=0), F.max(axis=0)
        self._col_scale = np.sqrt(lam) / scale
        self.n_channels_ = m
        self.n_features_in_ = m
        self.n_features_out_ = F.shape[1]
        return (F - mean) * self._col_scale

    def transform(self, X, t=None):
        """Z = (clip(R, min_, max_) − mean) / scale · √λ with the training statistics (no
        clipping with ``clip=False``): (n_cases, n_features_out_)."""
        check_is_fitted(self, "mean_")
        data = as_collection(X)
        if n_channels_of(data) != self.n_channels_:
            raise ArgumentError(
                f"X: expected {self.n_channels_} channels (axis n_channels) as in fit, got "
                f"{n_channels_of(data)}."
            )
        F = self._matrix(data, t)
        if self._clip:
            F = np.clip(F, self.min_, self.max_)
        return (F - self.mean_) * self._col_scale


class _RidgeOnFeatures(_FeatureParams):
    """Shared machinery: response features, then a primal or dual ridge solve."""

    def __init__(
        self,
        *,
        level=3,
        degree=1,
        basis="legendre",
        rates="auto",
        augmentations=(),
        windows=1,
        alpha=1.0,
        normalize_time=True,
        level_weights=None,
        degree_weights=None,
        include_time_factors=False,
        normalize_series=False,
        clip=True,
        solver="auto",
        pooling=None,
        n_thresholds=16,
    ):
        self.level = level
        self.degree = degree
        self.basis = basis
        self.rates = rates
        self.augmentations = augmentations
        self.windows = windows
        self.alpha = alpha
        self.normalize_time = normalize_time
        self.level_weights = level_weights
        self.degree_weights = degree_weights
        self.include_time_factors = include_time_factors
        self.normalize_series = normalize_series
        self.clip = clip
        self.solver = solver
        self.pooling = pooling
        self.n_thresholds = n_thresholds

    def _check_ridge(self) -> float:
        if (
            isinstance(self.alpha, (bool, np.bool_))
            or not isinstance(self.alpha, numbers.Real)
            or not np.isfinite(self.alpha)
            or self.alpha < 0
        ):
            raise ArgumentError(f"alpha: expected a finite number >= 0, got {self.alpha!r}.")
        if self.solver not in ("auto", "primal", "dual"):
            raise ArgumentError(
                f"solver: expected 'auto', 'primal' or 'dual', got {self.solver!r}."
            )
        return float(self.alpha)

    def _fit_targets(self, X, Y, t):
        """Ridge of targets Y (n, k) on the standardised features Z.

        primal:  coef = (ZᵀZ + αI)⁻¹ Zᵀ (Y − Ȳ)          (p × p system)
        dual:    a = (ZZᵀ + αI)⁻¹ (Y − Ȳ),  coef = Zᵀ a   (n × n system, Gram ZZᵀ)
        The two are the same vector (push-through identity); the smaller system is solved
        ("auto").  Columns of Z are centred, so the intercept is Ȳ in both.  α = 0 gives the
        least-squares minimum-norm solution.  Also stores the leave-one-out decision values
        ``loo_decision_`` (:func:`symresp.features.leave_one_out.loo_ridge_predictions`)."""
        alpha = self._check_ridge()
        opts = {k: getattr(self, k) for k in _FEATURE_PARAMS}
        feats = ResponseFeatures(
            **opts, level_weights=self.level_weights, degree_weights=self.degree_weights
        )
        data = as_collection(X)
        n = len(lengths_of(data))
        if Y.shape[0] != n:
            raise ArgumentError(f"y: expected {n} targets (one per case in X), got {Y.shape[0]}.")
        Z = feats.fit_transform(data, t=t)
        self.features_ = feats
        self.n_features_in_ = feats.n_features_in_
        self.intercept_ = Y.mean(axis=0)
        Yc = Y - self.intercept_
        p = Z.shape[1]
        solver = self.solver
        if solver == "auto":
            solver = "primal" if p <= n else "dual"
        self.solver_ = solver
        if alpha == 0.0 and solver == "primal":
            # least squares on Z itself, not on ZᵀZ: keeps the condition number unsquared
            # (minimum-norm solution if Z is rank deficient)
            self.dual_coef_ = None
            self.coef_ = scipy.linalg.lstsq(Z, Yc)[0]
        elif solver == "primal":
            self.dual_coef_ = None
            self.coef_ = self._solve(Z.T @ Z + alpha * np.eye(p), Z.T @ Yc)
        else:
            self.dual_coef_ = self._solve(Z @ Z.T + alpha * np.eye(n), Yc)
            self.coef_ = Z.T @ self.dual_coef_
        self.loo_decision_ = loo_ridge_predictions(Z, Y, [alpha])[0]
        self.n_features_ = p
        return self

    @staticmethod
    def _solve(A, B):
        try:
            return scipy.linalg.solve(A, B, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            return scipy.linalg.lstsq(A, B)[0]

    def _decision(self, X, t):
        check_is_fitted(self, "coef_")
        return self.features_.transform(X, t) @ self.coef_ + self.intercept_


class ResponseFeatureRegressor(RegressorMixin, _RidgeOnFeatures):
    """Ridge regression on response features: readout-only SRNN training

    ``ŷ(u) = ⟨β, Z(u)⟩ + ȳ`` with ``Z = (R(u) − mean) / scale · √λ`` standardised by training
    statistics, ``β = argmin ‖Y − ȳ − Zβ‖² + α‖β‖²``.

    Parameters: those of :class:`ResponseFeatures` (without ``standardize``; ``clip=True``
    bounds the prediction for series outside the training range) and
    ``alpha`` (float >= 0, the ridge penalty), ``solver`` ('auto' | 'primal' | 'dual').

    ``fit(X, y, t=None)``: y shaped (n_cases,) or (n_cases, targets).
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y, t=None):
        Y = regression_targets(y)
        self._y_1d = Y.ndim == 1
        return self._fit_targets(X, Y.reshape(Y.shape[0], -1), t)

    def predict(self, X, t=None):
        """Predicted targets, shape (n_cases,) or (n_cases, targets)."""
        check_is_fitted(self, "coef_")
        out = self._decision(X, t)
        return out[:, 0] if self._y_1d else out

    def score(self, X, y, sample_weight=None, t=None):
        """Coefficient of determination R² (uniform average over targets)."""
        from sklearn.metrics import r2_score

        return r2_score(y, self.predict(X, t), sample_weight=sample_weight)


class ResponseFeatureClassifier(ClassifierMixin, _RidgeOnFeatures):
    """One-vs-rest ridge classifier on response features.

    Each class c gets a ridge regression on targets +1 (class c) / −1 (others); the predicted
    class maximises the decision function.  With two classes a single regression on ±1
    (``classes_[1]`` positive) is fitted and ``decision_function`` is 1-D, as in
    scikit-learn.  ``predict_proba`` is the softmax (two classes: the logistic function) of
    ``τ · decision``, the temperature τ fitted by maximum likelihood on the leave-one-out
    decision values of the training cases (stored as ``temperature_``).  Parameters as
    :class:`ResponseFeatureRegressor`.
    """

    def fit(self, X, y, t=None):
        labels, self.classes_, codes, T = class_targets(y)
        self._fit_targets(X, T, t)
        self.temperature_ = _temperature(self.loo_decision_, codes, self.classes_.size)
        return self

    def decision_function(self, X, t=None):
        """Ridge scores: (n_cases,) for two classes (positive ⇒ classes_[1]), else
        (n_cases, classes)."""
        check_is_fitted(self, "coef_")
        out = self._decision(X, t)
        return out[:, 0] if self.classes_.size == 2 else out

    def predict(self, X, t=None):
        """Predicted class labels."""
        dec = self.decision_function(X, t)
        if self.classes_.size == 2:
            return self.classes_[(dec > 0).astype(int)]
        return self.classes_[np.argmax(dec, axis=1)]

    def predict_proba(self, X, t=None):
        """Class probabilities softmax(τ · decision), shape (n_cases, classes)."""
        return _probabilities(self.decision_function(X, t), self.temperature_)

    def score(self, X, y, sample_weight=None, t=None):
        """Accuracy of :meth:`predict`."""
        from sklearn.metrics import accuracy_score

        return accuracy_score(y, self.predict(X, t), sample_weight=sample_weight)

    def predict_log_proba(self, X, t=None):
        """log of :meth:`predict_proba`, computed without forming the probabilities."""
        dec = self.decision_function(X, t) * self.temperature_
        if dec.ndim == 1:
            return -np.logaddexp(0.0, np.stack([dec, -dec], axis=1))
        return log_softmax(dec, axis=1)


def _probabilities(dec: np.ndarray, tau: float) -> np.ndarray:
    if dec.ndim == 1:
        return expit(tau * np.stack([-dec, dec], axis=1))
    return softmax(tau * dec, axis=1)


def _temperature(loo: np.ndarray, codes: np.ndarray, n_classes: int) -> float:
    """τ > 0 minimising the log-loss of softmax(τ · leave-one-out decision), τ in [1e-3, 1e3]."""
    dec = loo[:, 0] if n_classes == 2 else loo

    def loss(log_tau):
        tau = np.exp(log_tau)
        if dec.ndim == 1:
            z = tau * dec
            return float(np.sum(np.logaddexp(0.0, np.where(codes == 1, -z, z))))
        return float(-np.sum(log_softmax(tau * dec, axis=1)[np.arange(codes.size), codes]))

    res = minimize_scalar(loss, bounds=(np.log(1e-3), np.log(1e3)), method="bounded")
    return float(np.exp(res.x))
