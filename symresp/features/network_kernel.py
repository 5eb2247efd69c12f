"""The SRNN's own kernel: the RKHS of readout-only training for one architecture.

For a network (Γ, W, b, C, σ) read out through ``f(h) = V h`` the truncated Volterra series
is a linear functional of the response feature, ``E[y_T | u] ≈ ⟨ℓ(ε), R_T(u)⟩`` with
``ℓ(ε) = Σ_n εⁿ ℓ_n`` (the weights of ``symresp.response_functional``, shape
(n_features, p) for p outputs).  With ``V = I`` the p outputs are the mean hidden states,

    φ(u) = ℓ(ε)ᵀ R_T(u) ∈ R^p   ≈ E[h_T | u],

and training the readout V by ridge is ridge regression on φ, i.e. kernel ridge regression
with the network's kernel

    k_net(u, v) = ⟨φ(u), φ(v)⟩ = R_T(u)ᵀ ℓ(ε) ℓ(ε)ᵀ R_T(v),

a kernel of rank at most p inside the response-feature kernel: the architecture fixes which
directions of the feature space a readout can reach, and with which weights.

Series are placed on ``[0, horizon]`` (sample i of a series of length L at time
``i · horizon / (L − 1)``), the time axis the network is simulated on with ``u_dt =
horizon / (L − 1)``.  The functional is passed in (its derivation lives in a higher layer);
any object with the attributes of ``symresp.series.ResponseFunctional`` works.
"""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin
from sklearn.linear_model import RidgeClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from symresp.errors import ArgumentError, ArgumentTypeError
from symresp.features.feature_matrix import response_feature_matrix
from symresp.features.series_input import as_collection, lengths_of, n_channels_of

__all__ = ["NetworkFeatures", "NetworkKernelClassifier", "network_gram"]

_FUNCTIONAL_ATTRS = ("by_order", "order", "degree", "channels", "basis", "T", "coefficients")


def _check_functional(functional, horizon):
    missing = [a for a in _FUNCTIONAL_ATTRS if not hasattr(functional, a)]
    if missing:
        raise ArgumentTypeError(
            f"functional: expected the result of symresp.response_functional(net, order, "
            f"taylor, ...), got {type(functional).__name__} without {', '.join(missing)}."
        )
    if (
        isinstance(horizon, (bool, np.bool_))
        or not isinstance(horizon, numbers.Real)
        or not np.isfinite(horizon)
        or horizon <= 0
    ):
        raise ArgumentError(f"horizon: expected a positive finite time, got {horizon!r}.")
    if functional.basis == "legendre" and not np.isclose(functional.T, horizon, rtol=1e-12):
        raise ArgumentError(
            f"horizon: the functional's Legendre basis lives on [0, {functional.T}], got "
            f"horizon = {horizon}; derive it with T = horizon."
        )


def _phi(functional, data, eps: float, horizon: float) -> np.ndarray:
    """φ(u) = ℓ(ε)ᵀ R_T(u) for validated series data: (n_cases, p)."""
    m = n_channels_of(data)
    if getattr(functional, "monomials", None) is not None:
        cases = data if isinstance(data, list) else list(data)
        data = [functional.feature_input(c.T).T for c in cases]
        m = n_channels_of(data)
    if m != functional.channels:
        raise ArgumentError(
            f"X: the network's functional takes {functional.channels} input channel(s) "
            f"(axis n_channels), got {m}."
        )
    grids = [np.linspace(0.0, horizon, n) for n in lengths_of(data)]
    R = response_feature_matrix(
        data,
        grids,
        level=functional.order,
        degree=functional.degree,
        basis=functional.basis,
        normalize_time=False,
        include_time_factors=True,
    )
    return R @ functional.coefficients(eps)


def network_gram(functional, X, Y=None, *, eps: float = 1.0, horizon: float = 1.0):
    """``K[i, j] = k_net(X_i, Y_j) = ⟨φ(X_i), φ(Y_j)⟩`` (module docstring); Y defaults to X.
    Shape (n_cases of X, n_cases of Y); feed it to ``SVC(kernel="precomputed")`` or
    ``KernelRidge(kernel="precomputed")``."""
    _check_functional(functional, horizon)
    F = _phi(functional, as_collection(X), float(eps), float(horizon))
    G = F if Y is None else _phi(functional, as_collection(Y, "Y"), float(eps), float(horizon))
    return F @ G.T


class NetworkFeatures(TransformerMixin, BaseEstimator):
    """φ(u) = ℓ(ε)ᵀ R_T(u): the network's mean outputs predicted by its truncated series.

    Parameters
    ----------
    functional : the result of ``symresp.response_functional(net, order, taylor, ...)``
        (with ``V = I`` its outputs are the hidden states)
    eps : float   input amplitude ε of ``ℓ(ε) = Σ_n εⁿ ℓ_n``
    horizon : float   the series' time span [0, horizon] (the Legendre basis's T)
    """

    def __init__(self, *, functional=None, eps=1.0, horizon=1.0):
        self.functional = functional
        self.eps = eps
        self.horizon = horizon

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def fit(self, X, y=None):
        _check_functional(self.functional, self.horizon)
        data = as_collection(X)
        self.n_features_in_ = n_channels_of(data)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        return _phi(self.functional, as_collection(X), float(self.eps), float(self.horizon))


class NetworkKernelClassifier(ClassifierMixin, BaseEstimator):
    """Readout-only training of one SRNN, done on its kernel: ridge (one-vs-rest, unpenalised
    intercept, standardised columns) on φ(u), i.e. kernel ridge with k_net — the classifier
    the simulated network with a ridge-trained readout on E[h_T | u] approximates.

    Parameters: those of :class:`NetworkFeatures` and ``alpha`` (ridge penalty).
    ``check_estimator`` passes except the tabular-input checks of
    :data:`symresp.features.estimators.EXPECTED_FAILED_CHECKS`."""

    def __init__(self, *, functional=None, eps=1.0, horizon=1.0, alpha=1.0):
        self.functional = functional
        self.eps = eps
        self.horizon = horizon
        self.alpha = alpha

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def fit(self, X, y):
        feats = NetworkFeatures(functional=self.functional, eps=self.eps, horizon=self.horizon)
        self.pipeline_ = make_pipeline(feats, StandardScaler(), RidgeClassifier(alpha=self.alpha))
        self.pipeline_.fit(X, y)
        self.classes_ = self.pipeline_.classes_
        self.n_features_in_ = feats.n_features_in_
        return self

    def decision_function(self, X):
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.decision_function(X)

    def predict(self, X):
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.predict(X)
