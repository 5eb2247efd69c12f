"""Readout training as a kernel machine on response features (THEORY §7).

With ``f(h) = V h`` the response coefficients are linear in V, so training
only the readout of an SRNN with fixed hidden weights is ridge regression in
the space of response features R (THEORY §6), i.e. kernel ridge regression
with

    k(u, v) = ⟨R(u), R(v)⟩_λ = Σ_c λ_c R_c(u) R_c(v),
    λ_c = level_weights[|w|] · degree_weights[q_0 + Σ_j q_{w_j}]

for the component ``c = t^{q_0} S^w`` (|w| its level, the degree its total
polynomial degree in time).  The features are finite-dimensional and computed
explicitly (batched over series by the numba signature engine of
:mod:`symresp.signature`); inner products of explicit feature matrices are
BLAS matrix products, which beat any hand-written loop.

Estimators follow scikit-learn conventions without depending on it:
parameters are stored unchanged by ``__init__`` and validated in ``fit``;
``get_params`` / ``set_params``; ``fit(X, y)`` with ``X`` shaped
(series, channels, length); fitted attributes end in ``_``.
"""
from __future__ import annotations

import inspect
import numbers

import numpy as np
import scipy.linalg

from symresp.features.response_features import (BASES, _support_path, feature_words, response_letters)
from symresp.features.signatures import signature
from symresp.errors import ArgumentError

__all__ = ["response_feature_matrix", "component_weights", "gram_matrix",
           "ResponseFeatureRegressor", "ResponseFeatureClassifier"]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------

def _int_param(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < minimum:
        raise ArgumentError(f"{name}: expected an integer >= {minimum}, got {value!r}.")
    return int(value)


def _bool_param(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name}: expected True or False, got {value!r}.")
    return bool(value)


def _weights_param(value, name: str, length: int, what: str):
    if value is None:
        return np.ones(length)
    try:
        w = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(f"{name}: expected None or a sequence of {length} non-negative "
                         f"numbers ({what}), got {value!r}.") from None
    if w.ndim != 1 or w.size != length:
        raise ArgumentError(f"{name}: expected None or a sequence of {length} non-negative "
                         f"numbers ({what}), got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ArgumentError(f"{name}: expected finite non-negative weights, got {w.tolist()}.")
    return w


def _as_series(X, name: str = "X") -> np.ndarray:
    """X → float64 (series, channels, length); 2-D input is one channel."""
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ArgumentError(f"{name}: expected a real array shaped (series, channels, length), "
                         f"got something numpy cannot convert to float ({exc}).") from None
    if arr.ndim == 2:
        arr = arr[:, None, :]
    if arr.ndim != 3:
        raise ArgumentError(f"{name}: expected shape (series, channels, length) "
                         f"(or (series, length) for one channel), got shape {arr.shape}.")
    if arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 2:
        raise ArgumentError(f"{name}: expected at least 1 series, 1 channel and 2 time points, "
                         f"got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ArgumentError(f"{name}: expected finite values, got NaN or infinity.")
    return arr


def _time_grid(t, length: int, normalize_time: bool) -> np.ndarray:
    """The grid the features use: t − t_0 (default t = 0, 1, …, length−1),
    divided by its span if normalize_time (then it runs over [0, 1], so
    series of different duration give comparable features)."""
    if t is None:
        tt = np.arange(length, dtype=np.float64)
    else:
        tt = np.asarray(t, dtype=np.float64)
        if tt.ndim != 1 or tt.size != length:
            raise ArgumentError(f"t: expected a 1-D time grid of length {length} (the series "
                             f"length), got shape {tt.shape}.")
        if not np.all(np.isfinite(tt)) or np.any(np.diff(tt) <= 0):
            raise ArgumentError("t: expected finite, strictly increasing times.")
    tt = tt - tt[0]
    if normalize_time:
        tt = tt / tt[-1]
    return tt


# ---------------------------------------------------------------------------
# features, weights, Gram matrices
# ---------------------------------------------------------------------------

def response_feature_matrix(X, t=None, *, level: int = 3, degree: int = 1,
                            basis: str = "legendre", normalize_time: bool = True,
                            include_time_factors: bool = False) -> np.ndarray:
    """Response features R_T (THEORY §6) of each series, one row per series.

    ``X``: (series, channels, length); ``t``: optional grid (length,)
    (default 0, 1, …; shifted to start at 0, rescaled to [0, 1] if
    normalize_time).  Column order as in :mod:`symresp.features`.  At the
    final time shared by all series the time factors ``T^{q0}`` are
    constants, so by default only the q0 = 0 block is returned.
    """
    level = _int_param(level, "level", 1)
    degree = _int_param(degree, "degree", 0)
    if basis not in BASES:
        raise ArgumentError(f"basis: expected one of {BASES}, got {basis!r}.")
    arr = _as_series(X)
    tt = _time_grid(t, arr.shape[2], _bool_param(normalize_time, "normalize_time"))
    u = np.ascontiguousarray(arr.transpose(0, 2, 1))              # (series, length, m)
    path = _support_path(u, tt, degree, basis)
    sig = signature(path, level)                                   # (series, sigdim)
    block = np.concatenate([np.ones((sig.shape[0], 1)), sig], axis=1)
    if not _bool_param(include_time_factors, "include_time_factors"):
        return block
    powers = tt[-1] ** np.arange(degree + 1, dtype=np.float64)
    return (powers[None, :, None] * block[:, None, :]).reshape(block.shape[0], -1)


def component_weights(channels: int, level: int, degree: int, level_weights=None,
                      degree_weights=None, include_time_factors: bool = False) -> np.ndarray:
    """λ_c = level_weights[|w|] · degree_weights[q0 + Σ_j q_{w_j}] for every
    feature component in feature order (THEORY §7).  ``level_weights`` has
    level + 1 entries (index 0: the empty word); ``degree_weights`` has
    Q·(level + 1) + 1 entries (total degrees 0..Q(N+1)).  None: all ones."""
    m = _int_param(channels, "channels", 1)
    N = _int_param(level, "level", 1)
    Q = _int_param(degree, "degree", 0)
    lw = _weights_param(level_weights, "level_weights", N + 1, "levels 0..level")
    dw = _weights_param(degree_weights, "degree_weights", Q * (N + 1) + 1,
                        "total degrees 0..degree*(level+1)")
    letter_q = np.array([q for q, _ in response_letters(m, Q)], dtype=np.int64)
    ws = feature_words(m, N, Q)
    lev = np.array([len(w) for w in ws])
    deg = np.array([int(letter_q[list(w)].sum()) if w else 0 for w in ws])
    powers = range(Q + 1) if include_time_factors else (0,)
    return np.concatenate([lw[lev] * dw[deg + q0] for q0 in powers])


def gram_matrix(X, Y=None, *, t=None, t_Y=None, level: int = 3, degree: int = 1,
                basis: str = "legendre", normalize_time: bool = True, level_weights=None,
                degree_weights=None, include_time_factors: bool = False) -> np.ndarray:
    """Gram matrix ``K[i, j] = ⟨R(X_i), R(Y_j)⟩_λ = Σ_c λ_c R_c(X_i) R_c(Y_j)``
    of raw (unstandardised) response features (THEORY §7).  Y defaults to X.
    Shape (len(X), len(Y))."""
    kw = dict(level=level, degree=degree, basis=basis, normalize_time=normalize_time,
              include_time_factors=include_time_factors)
    X = _as_series(X)
    m = X.shape[1]
    if Y is not None:
        Y = _as_series(Y, "Y")
        if Y.shape[1] != m:
            raise ArgumentError(f"Y: expected {m} channels like X, got {Y.shape[1]}.")
    F = response_feature_matrix(X, t, **kw)
    G = F if Y is None else response_feature_matrix(Y, t_Y, **kw)
    lam = component_weights(m, level, degree, level_weights, degree_weights,
                            include_time_factors)
    return (F * lam) @ G.T


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------

class _ResponseFeatureRidge:
    """Shared machinery: features, standardisation, primal/dual ridge."""

    def __init__(self, level=3, degree=1, basis="legendre", alpha=1.0, normalize_time=True,
                 level_weights=None, degree_weights=None, include_time_factors=False,
                 solver="auto"):
        self.level = level
        self.degree = degree
        self.basis = basis
        self.alpha = alpha
        self.normalize_time = normalize_time
        self.level_weights = level_weights
        self.degree_weights = degree_weights
        self.include_time_factors = include_time_factors
        self.solver = solver

    # -- scikit-learn protocol ------------------------------------------------
    @classmethod
    def _param_names(cls):
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep=True):
        """Parameters of this estimator (scikit-learn protocol)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        """Set parameters (scikit-learn protocol); unknown names raise."""
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ArgumentError(f"set_params: {key!r} is not a parameter of "
                                 f"{type(self).__name__}; valid parameters: {', '.join(valid)}.")
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate(self):
        level = _int_param(self.level, "level", 1)
        degree = _int_param(self.degree, "degree", 0)
        if not isinstance(self.basis, str) or self.basis not in BASES:
            raise ArgumentError(f"basis: expected one of {', '.join(map(repr, BASES))}, "
                             f"got {self.basis!r}.")
        if isinstance(self.alpha, (bool, np.bool_)) or not isinstance(self.alpha, numbers.Real) \
                or not np.isfinite(self.alpha) or self.alpha < 0:
            raise ArgumentError(f"alpha: expected a finite number >= 0, got {self.alpha!r}.")
        _bool_param(self.normalize_time, "normalize_time")
        _bool_param(self.include_time_factors, "include_time_factors")
        if self.solver not in ("auto", "primal", "dual"):
            raise ArgumentError(f"solver: expected 'auto', 'primal' or 'dual', got {self.solver!r}.")
        return level, degree

    def _features(self, X, t):
        return response_feature_matrix(X, t, level=self.level, degree=self.degree,
                                       basis=self.basis, normalize_time=self.normalize_time,
                                       include_time_factors=self.include_time_factors)

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError(f"This {type(self).__name__} instance is not fitted yet; "
                               f"call fit(X, y) first.")

    def transform(self, X, t=None):
        """Standardised, weighted response features Z = (R − mean) / scale · √λ
        (training statistics); ridge acts on these columns."""
        self._check_fitted()
        arr = _as_series(X)
        if arr.shape[1] != self.n_channels_:
            raise ArgumentError(f"X: expected {self.n_channels_} channels as in fit, "
                             f"got {arr.shape[1]}.")
        return (self._features(arr, t) - self.mean_) * self._col_scale_

    # -- ridge ------------------------------------------------------------------
    def _fit_targets(self, X, Y, t):
        """Ridge of targets Y (n, k) on standardised features.

        primal:  coef = (ZᵀZ + αI)⁻¹ Zᵀ (Y − Ȳ)          (p × p system)
        dual:    a = (ZZᵀ + αI)⁻¹ (Y − Ȳ),  coef = Zᵀ a   (n × n system, Gram ZZᵀ)
        The two are the same vector (push-through identity); the smaller
        system is solved ("auto").  Columns of Z are centred, so the
        intercept is Ȳ in both.  α = 0 gives the least-squares minimum-norm
        solution.
        """
        level, degree = self._validate()
        arr = _as_series(X)
        n, m, _ = arr.shape
        if Y.shape[0] != n:
            raise ArgumentError(f"y: expected {n} targets (one per series in X), got {Y.shape[0]}.")
        F = self._features(arr, t)
        lam = component_weights(m, level, degree, self.level_weights, self.degree_weights,
                                self.include_time_factors)
        self.n_channels_ = m
        self.mean_ = F.mean(axis=0)
        scale = F.std(axis=0)
        # constant columns (the empty word, exact zeros) carry no information:
        # scale 1 leaves them at zero after centring, as scikit-learn does
        scale[scale <= 1e-12 * max(1.0, float(np.abs(F).max()))] = 1.0
        self.scale_ = scale
        self._col_scale_ = np.sqrt(lam) / scale
        Z = (F - self.mean_) * self._col_scale_
        self.intercept_ = Y.mean(axis=0)
        Yc = Y - self.intercept_
        p = Z.shape[1]
        solver = self.solver
        if solver == "auto":
            solver = "primal" if p <= n else "dual"
        self.solver_ = solver
        alpha = float(self.alpha)
        if alpha == 0.0 and solver == "primal":
            # least squares on Z itself, not on ZᵀZ: keeps the condition
            # number unsquared (minimum-norm solution if Z is rank deficient)
            self.dual_coef_ = None
            self.coef_ = scipy.linalg.lstsq(Z, Yc)[0]
        elif solver == "primal":
            A = Z.T @ Z
            B = Z.T @ Yc
            self.dual_coef_ = None
            self.coef_ = self._solve(A, B, alpha)
        else:
            K = Z @ Z.T
            self.dual_coef_ = self._solve(K, Yc, alpha)
            self.coef_ = Z.T @ self.dual_coef_
        self.n_features_ = p
        return self

    @staticmethod
    def _solve(A, B, alpha):
        if alpha > 0:
            A = A + alpha * np.eye(A.shape[0])
            try:
                return scipy.linalg.solve(A, B, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                pass
        return scipy.linalg.lstsq(A, B)[0]

    def _decision(self, X, t):
        return self.transform(X, t) @ self.coef_ + self.intercept_


class ResponseFeatureRegressor(_ResponseFeatureRidge):
    """Ridge regression on response features: readout-only SRNN training
    (THEORY §7).

    ``ŷ(u) = ⟨β, Z(u)⟩ + ȳ`` with ``Z = (R(u) − mean) / scale · √λ``
    standardised by training statistics, ``β = argmin ‖Y − ȳ − Zβ‖² + α‖β‖²``.

    Parameters
    ----------
    level : int >= 1          signature truncation N
    degree : int >= 0         support-basis degree Q
    basis : 'legendre' | 'monomial'
    alpha : float >= 0        ridge penalty
    normalize_time : bool     rescale each grid to [0, 1]
    level_weights, degree_weights : optional weights λ (see component_weights)
    include_time_factors : bool   add the blocks T^{q0}, q0 >= 1 (constant
        multiples at a shared final time; off by default)
    solver : 'auto' | 'primal' | 'dual'

    ``fit(X, y, t=None)`` with X (series, channels, length), y (series,) or
    (series, targets).
    """

    def fit(self, X, y, t=None):
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim not in (1, 2):
            raise ArgumentError(f"y: expected shape (series,) or (series, targets), got {Y.shape}.")
        if not np.all(np.isfinite(Y)):
            raise ArgumentError("y: expected finite targets, got NaN or infinity.")
        self._y_1d_ = Y.ndim == 1
        return self._fit_targets(X, Y.reshape(Y.shape[0], -1), t)

    def predict(self, X, t=None):
        """Predicted targets, shape (series,) or (series, targets)."""
        self._check_fitted()
        out = self._decision(X, t)
        return out[:, 0] if self._y_1d_ else out

    def score(self, X, y, t=None):
        """Coefficient of determination R² (averaged over targets)."""
        Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
        P = self.predict(X, t).reshape(Y.shape[0], -1)
        ss_res = ((Y - P) ** 2).sum(axis=0)
        ss_tot = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1 - ss_res / ss_tot, np.where(ss_res > 0, 0.0, 1.0))
        return float(r2.mean())


class ResponseFeatureClassifier(_ResponseFeatureRidge):
    """One-vs-rest ridge classifier on response features (THEORY §7).

    Each class c gets a ridge regression on targets +1 (class c) / −1
    (others); the predicted class maximises the decision function.  With two
    classes a single regression on ±1 (``classes_[1]`` positive) is fitted and
    ``decision_function`` is 1-D, as in scikit-learn.  Parameters as
    :class:`ResponseFeatureRegressor`.
    """

    def fit(self, X, y, t=None):
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ArgumentError(f"y: expected a 1-D array of class labels, got shape {labels.shape}.")
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if self.classes_.size < 2:
            raise ArgumentError(f"y: expected at least 2 classes, got {self.classes_.size} "
                             f"({self.classes_.tolist()}).")
        if self.classes_.size == 2:
            T = np.where(codes == 1, 1.0, -1.0)[:, None]
        else:
            T = -np.ones((labels.size, self.classes_.size))
            T[np.arange(labels.size), codes] = 1.0
        return self._fit_targets(X, T, t)

    def decision_function(self, X, t=None):
        """Ridge scores: (series,) for two classes (positive ⇒ classes_[1]),
        else (series, classes)."""
        self._check_fitted()
        out = self._decision(X, t)
        return out[:, 0] if self.classes_.size == 2 else out

    def predict(self, X, t=None):
        """Predicted class labels."""
        dec = self.decision_function(X, t)
        if self.classes_.size == 2:
            return self.classes_[(dec > 0).astype(int)]
        return self.classes_[np.argmax(dec, axis=1)]

    def score(self, X, y, t=None):
        """Accuracy."""
        return float(np.mean(self.predict(X, t) == np.asarray(y)))
