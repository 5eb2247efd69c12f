"""Readout training as a kernel machine on response features.

With ``f(h) = V h`` the response coefficients are linear in V, so training
only the readout of an SRNN with fixed hidden weights is ridge regression in
the space of response features R = {t^{q_0} S(X)^w}, i.e. kernel ridge regression
with

    k(u, v) = ⟨R(u), R(v)⟩_λ = Σ_c λ_c R_c(u) R_c(v),
    λ_c = level_weights[|w|] · degree_weights[q_0 + Σ_j q_{w_j}]

for the component ``c = t^{q_0} S^w`` (|w| its level, the degree its total
polynomial degree in time).  The features are finite-dimensional and computed
explicitly (batched over series by the numba signature engine of
:mod:`symresp.features.signatures`); inner products of explicit feature matrices are
BLAS matrix products, which beat any hand-written loop.

Estimators follow scikit-learn conventions without depending on it:
parameters are stored unchanged by ``__init__`` and validated in ``fit``;
``get_params`` / ``set_params``; ``fit(X, y)`` with ``X`` shaped
(n_cases, n_channels, n_timepoints) (the aeon/sktime convention), or a list of
(n_channels, n_timepoints_i) arrays for unequal lengths; fitted attributes end in ``_``.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
import scipy.linalg

from symresp.errors import ArgumentError
from symresp.features.response_features import BASES, _support_path, feature_words, response_letters
from symresp.features.series_input import (
    as_grids,
    as_series,
    cases_by_length,
    lengths_of,
    n_channels_of,
)
from symresp.features.signatures import _signature_cases
from symresp.validation import check_bool, check_int

__all__ = [
    "response_feature_matrix",
    "component_weights",
    "gram_matrix",
    "ResponseFeatureRegressor",
    "ResponseFeatureClassifier",
]


# ---------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------


def _weights_param(value, name: str, length: int, what: str):
    if value is None:
        return np.ones(length)
    try:
        w = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"{name}: expected None or a sequence of {length} non-negative "
            f"numbers ({what}), got {value!r}."
        ) from None
    if w.ndim != 1 or w.size != length:
        raise ArgumentError(
            f"{name}: expected None or a sequence of {length} non-negative "
            f"numbers ({what}), got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ArgumentError(f"{name}: expected finite non-negative weights, got {w.tolist()}.")
    return w


def _as_series(X, name: str = "X"):
    """X → validated series: float64 (n_cases, n_channels, n_timepoints) or a list of
    (n_channels, n_timepoints_i) arrays; a single 2-D series is one case."""
    data, _ = as_series(X, name, min_timepoints=2)
    if not isinstance(data, list) and data.shape[0] < 1:
        raise ArgumentError(
            f"{name}: expected at least 1 series (n_cases >= 1), got shape {data.shape}."
        )
    return data


def _time_grids(t, lengths: list[int], normalize_time: bool) -> list[np.ndarray]:
    """The grid of each case: t − t_0 (default t = 0, 1, …, n_timepoints − 1), divided by
    its span if normalize_time (then it runs over [0, 1], so series of different duration
    give comparable features).  ``t``: None, one grid, or a list of grids (one per case)."""
    if t is None:
        grids = [np.arange(n, dtype=np.float64) for n in lengths]
    else:
        grids = as_grids(t, lengths, "t")
        for g in grids:
            if np.any(np.diff(g) <= 0):
                raise ArgumentError("t: expected finite, strictly increasing times.")
    out = []
    for g in grids:
        g = g - g[0]
        out.append(g / g[-1] if normalize_time else g)
    return out


# ---------------------------------------------------------------------------
# features, weights, Gram matrices
# ---------------------------------------------------------------------------


def response_feature_matrix(
    X,
    t=None,
    *,
    level: int = 3,
    degree: int = 1,
    basis: str = "legendre",
    normalize_time: bool = True,
    include_time_factors: bool = False,
) -> np.ndarray:
    """Response features ``R_T = {T^{q0} S(X)^w_{0,T}}`` of each series, one row per case.

    Parameters
    ----------
    X : array (n_cases, n_channels, n_timepoints), or a list of (n_channels,
        n_timepoints_i) arrays (each series on its own grid, never padded)
    t : optional grid (n_timepoints,) shared by the cases, or a list of grids
        Default 0, 1, …; shifted to start at 0, rescaled to [0, 1] if normalize_time.
    level, degree, basis : the signature level N, support degree Q and basis.
    include_time_factors : bool
        At a final time shared by all series the time factors ``T^{q0}`` are constants,
        so by default only the q0 = 0 block is returned.

    Returns
    -------
    array (n_cases, n_features), columns as in :mod:`symresp.features.response_features`.
    """
    level = check_int(level, "level", minimum=1)
    degree = check_int(degree, "degree", minimum=0)
    if basis not in BASES:
        raise ArgumentError(f"basis: expected one of {BASES}, got {basis!r}.")
    data = _as_series(X)
    lengths = lengths_of(data)
    grids = _time_grids(t, lengths, check_bool(normalize_time, "normalize_time"))
    with_time = check_bool(include_time_factors, "include_time_factors")
    rows = [None] * len(lengths)
    # cases of one length share a grid unless t lists one grid per case
    shared = t is None or all(g is grids[0] for g in grids)
    groups = cases_by_length(data) if shared else (([i], c[None]) for i, c in enumerate(data))
    for idx, batch in groups:
        tt = grids[idx[0]]
        u = np.ascontiguousarray(batch.transpose(0, 2, 1))  # (cases, length, m)
        sig = _signature_cases(
            np.ascontiguousarray(_support_path(u, tt, degree, basis)), level, False
        )
        block = np.concatenate([np.ones((sig.shape[0], 1)), sig], axis=1)
        if with_time:
            powers = tt[-1] ** np.arange(degree + 1, dtype=np.float64)
            block = (powers[None, :, None] * block[:, None, :]).reshape(block.shape[0], -1)
        for i, row in zip(idx, block):
            rows[i] = row
    return np.stack(rows)


def component_weights(
    channels: int,
    level: int,
    degree: int,
    level_weights=None,
    degree_weights=None,
    include_time_factors: bool = False,
) -> np.ndarray:
    """λ_c = level_weights[|w|] · degree_weights[q0 + Σ_j q_{w_j}] for every
    feature component in feature order.  ``level_weights`` has
    level + 1 entries (index 0: the empty word); ``degree_weights`` has
    Q·(level + 1) + 1 entries (total degrees 0..Q(N+1)).  None: all ones."""
    m = check_int(channels, "channels", minimum=1)
    N = check_int(level, "level", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    lw = _weights_param(level_weights, "level_weights", N + 1, "levels 0..level")
    dw = _weights_param(
        degree_weights, "degree_weights", Q * (N + 1) + 1, "total degrees 0..degree*(level+1)"
    )
    letter_q = np.array([q for q, _ in response_letters(m, Q)], dtype=np.int64)
    ws = feature_words(m, N, Q)
    lev = np.array([len(w) for w in ws])
    deg = np.array([int(letter_q[list(w)].sum()) if w else 0 for w in ws])
    powers = range(Q + 1) if include_time_factors else (0,)
    return np.concatenate([lw[lev] * dw[deg + q0] for q0 in powers])


def gram_matrix(
    X,
    Y=None,
    *,
    t=None,
    t_Y=None,
    level: int = 3,
    degree: int = 1,
    basis: str = "legendre",
    normalize_time: bool = True,
    level_weights=None,
    degree_weights=None,
    include_time_factors: bool = False,
) -> np.ndarray:
    """Gram matrix ``K[i, j] = ⟨R(X_i), R(Y_j)⟩_λ = Σ_c λ_c R_c(X_i) R_c(Y_j)``
    of raw (unstandardised) response features.  Y defaults to X.
    ``X``, ``Y``: (n_cases, n_channels, n_timepoints) or lists of (n_channels,
    n_timepoints_i) arrays.  Shape (n_cases of X, n_cases of Y)."""
    kw = dict(
        level=level,
        degree=degree,
        basis=basis,
        normalize_time=normalize_time,
        include_time_factors=include_time_factors,
    )
    X = _as_series(X)
    m = n_channels_of(X)
    if Y is not None:
        Y = _as_series(Y, "Y")
        if n_channels_of(Y) != m:
            raise ArgumentError(
                f"Y: expected {m} channels (axis n_channels) like X, got {n_channels_of(Y)}."
            )
    F = response_feature_matrix(X, t, **kw)
    G = F if Y is None else response_feature_matrix(Y, t_Y, **kw)
    lam = component_weights(m, level, degree, level_weights, degree_weights, include_time_factors)
    return (F * lam) @ G.T


# ---------------------------------------------------------------------------
# estimators
# ---------------------------------------------------------------------------


class _ResponseFeatureRidge:
    """Shared machinery: features, standardisation, primal/dual ridge."""

    def __init__(
        self,
        level=3,
        degree=1,
        basis="legendre",
        alpha=1.0,
        normalize_time=True,
        level_weights=None,
        degree_weights=None,
        include_time_factors=False,
        solver="auto",
    ):
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
                raise ArgumentError(
                    f"set_params: {key!r} is not a parameter of "
                    f"{type(self).__name__}; valid parameters: {', '.join(valid)}."
                )
            setattr(self, key, value)
        return self

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _validate(self):
        level = check_int(self.level, "level", minimum=1)
        degree = check_int(self.degree, "degree", minimum=0)
        if not isinstance(self.basis, str) or self.basis not in BASES:
            raise ArgumentError(
                f"basis: expected one of {', '.join(map(repr, BASES))}, got {self.basis!r}."
            )
        if (
            isinstance(self.alpha, (bool, np.bool_))
            or not isinstance(self.alpha, numbers.Real)
            or not np.isfinite(self.alpha)
            or self.alpha < 0
        ):
            raise ArgumentError(f"alpha: expected a finite number >= 0, got {self.alpha!r}.")
        check_bool(self.normalize_time, "normalize_time")
        check_bool(self.include_time_factors, "include_time_factors")
        if self.solver not in ("auto", "primal", "dual"):
            raise ArgumentError(
                f"solver: expected 'auto', 'primal' or 'dual', got {self.solver!r}."
            )
        return level, degree

    def _features(self, X, t):
        return response_feature_matrix(
            X,
            t,
            level=self.level,
            degree=self.degree,
            basis=self.basis,
            normalize_time=self.normalize_time,
            include_time_factors=self.include_time_factors,
        )

    def _check_fitted(self):
        if not hasattr(self, "coef_"):
            raise RuntimeError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(X, y) first."
            )

    def transform(self, X, t=None):
        """Standardised, weighted response features Z = (R − mean) / scale · √λ
        (training statistics); ridge acts on these columns."""
        self._check_fitted()
        arr = _as_series(X)
        if n_channels_of(arr) != self.n_channels_:
            raise ArgumentError(
                f"X: expected {self.n_channels_} channels (axis n_channels) as "
                f"in fit, got {n_channels_of(arr)}."
            )
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
        n, m = len(lengths_of(arr)), n_channels_of(arr)
        if Y.shape[0] != n:
            hint = (
                (
                    "; a 2-D X is one series (n_channels, n_timepoints): a batch of univariate "
                    "series is (n_cases, 1, n_timepoints)"
                )
                if np.ndim(X) == 2
                else ""
            )
            raise ArgumentError(
                f"y: expected {n} targets (one per case in X), got {Y.shape[0]}{hint}."
            )
        F = self._features(arr, t)
        lam = component_weights(
            m, level, degree, self.level_weights, self.degree_weights, self.include_time_factors
        )
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

    Notes
    -----
    ``fit(X, y, t=None)`` takes X shaped (n_cases, n_channels, n_timepoints) (or a list
    of (n_channels, n_timepoints_i) arrays) and y shaped (n_cases,) or (n_cases, targets).
    """

    def fit(self, X, y, t=None):
        Y = np.asarray(y, dtype=np.float64)
        if Y.ndim not in (1, 2):
            raise ArgumentError(
                f"y: expected shape (n_cases,) or (n_cases, targets), got {Y.shape}."
            )
        if not np.all(np.isfinite(Y)):
            raise ArgumentError("y: expected finite targets, got NaN or infinity.")
        self._y_1d_ = Y.ndim == 1
        return self._fit_targets(X, Y.reshape(Y.shape[0], -1), t)

    def predict(self, X, t=None):
        """Predicted targets, shape (n_cases,) or (n_cases, targets)."""
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
    """One-vs-rest ridge classifier on response features.

    Each class c gets a ridge regression on targets +1 (class c) / −1
    (others); the predicted class maximises the decision function.  With two
    classes a single regression on ±1 (``classes_[1]`` positive) is fitted and
    ``decision_function`` is 1-D, as in scikit-learn.  Parameters as
    :class:`ResponseFeatureRegressor`.
    """

    def fit(self, X, y, t=None):
        labels = np.asarray(y)
        if labels.ndim != 1:
            raise ArgumentError(
                f"y: expected a 1-D array of class labels, got shape {labels.shape}."
            )
        self.classes_, codes = np.unique(labels, return_inverse=True)
        if self.classes_.size < 2:
            raise ArgumentError(
                f"y: expected at least 2 classes, got {self.classes_.size} "
                f"({self.classes_.tolist()})."
            )
        if self.classes_.size == 2:
            T = np.where(codes == 1, 1.0, -1.0)[:, None]
        else:
            T = -np.ones((labels.size, self.classes_.size))
            T[np.arange(labels.size), codes] = 1.0
        return self._fit_targets(X, T, t)

    def decision_function(self, X, t=None):
        """Ridge scores: (n_cases,) for two classes (positive ⇒ classes_[1]),
        else (n_cases, classes)."""
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
