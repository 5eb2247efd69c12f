"""μ₀ applied to the observables of a derivation: the one place that picks the start law's route.

Routes: a point start ``μ₀ = δ_{h₀}`` (evaluation at h₀); the linear network's stationary
law ``N(m_∞, S)`` (exact Gaussian moments); Gibbs quadrature of ``ρ_∞ ∝ exp(2Φ/s²)`` for a
gradient network with isotropic noise in one or two dimensions; otherwise the mean over
supplied stationary samples, with the covariance of that estimate.
"""

from __future__ import annotations

import numpy as np

from symresp.errors import ArgumentError
from symresp.expectation import evaluator as ev
from symresp.expectation.gaussian import gaussian_moments, gaussian_stationary
from symresp.expectation.gibbs import GibbsQuadrature, is_gradient, isotropic_noise
from symresp.model.network import SRNN

__all__ = ["expect", "expectation_method"]


def expectation_method(net: SRNN, start: str, samples=None) -> str:
    """Which route μ₀ takes: 'point', 'gaussian', 'gibbs' or 'samples'."""
    if start == "point":
        return "point"
    if samples is not None:
        return "samples"
    if net.is_linear:
        return "gaussian"
    if is_gradient(net) and isotropic_noise(net) is not None and net.n <= 2:
        if net.n == 1 or net.activation.antiderivative is not None:
            return "gibbs"
    raise ArgumentError(
        f"stationary expectations for this network ({net.activation.name}, n = {net.n}) have no "
        "closed form or quadrature route: pass stationary samples (samples=array of shape "
        "(N, n), e.g. from symresp.stationary_samples) or use a point start."
    )


def expect(der, elements: list, samples=None):
    """μ₀ applied to elements: (values, covariance of the estimates or None when exact)."""
    net, alg = der.net, der.algebra
    method = expectation_method(net, der.start, samples)
    if method == "gaussian":
        if "moments" not in der.cache:
            der.cache["moments"] = gaussian_moments(net, *gaussian_stationary(net))
        moments = der.cache["moments"]
        return np.array([float(moments(alg, g)) for g in elements]), None
    key = ("evaluator", ev._DEFAULT_PRECISION[0])  # precision is fixed when an Evaluator is made
    if key not in der.cache:
        der.cache[key] = ev.Evaluator(alg)
    evaluator = der.cache[key]
    if method == "point":
        if net.h0 is None:
            raise ArgumentError("a point start needs h0 (start.h0 in the spec)")
        h0 = np.array(net.h0.evalf(), float).reshape(1, -1)
        return evaluator(elements, h0)[0], None
    if method == "gibbs":
        if "gibbs" not in der.cache:
            der.cache["gibbs"] = GibbsQuadrature(net)
        quad = der.cache["gibbs"]
        return quad.mean(evaluator(elements, quad.points, weights=quad.weights)), None
    X = np.asarray(samples, float)
    if X.ndim != 2 or X.shape[1] != net.n:
        raise ArgumentError(
            f"samples: expected an array of shape (N, n={net.n}) of stationary states, "
            f"got shape {X.shape}"
        )
    if X.shape[0] < 2:
        raise ArgumentError("samples: need at least 2 stationary samples for a standard error")
    vals = evaluator(elements, X)
    cov = np.atleast_2d(np.cov(vals, rowvar=False)) / X.shape[0]
    return vals.mean(axis=0), cov
