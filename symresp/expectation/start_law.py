"""μ₀ applied to the observables of a derivation: the one place that picks the start law's route."""
from __future__ import annotations

import numpy as np

from symresp.expectation import evaluator as ex
from symresp.errors import ArgumentError

__all__ = ["expect"]


def expect(der: Derivation, elements: list, samples=None):
    """μ₀ applied to elements: (values, covariance of the estimates or None when exact)."""
    net, alg = der.net, der.algebra
    method = ex.expectation_method(net, der.start, samples)
    if method == "gaussian":
        if "moments" not in der.cache:
            der.cache["moments"] = ex._gaussian_moments(net, *ex.gaussian_stationary(net))
        moments = der.cache["moments"]
        return np.array([float(moments(alg, g)) for g in elements]), None
    key = ("evaluator", ex._DEFAULT_PRECISION[0])  # precision is fixed when an Evaluator is made
    if key not in der.cache:
        der.cache[key] = ex.Evaluator(alg)
    evaluator = der.cache[key]
    if method == "point":
        if net.h0 is None:
            raise ArgumentError("a point start needs h0 (start.h0 in the spec)")
        h0 = np.array(net.h0.evalf(), float).reshape(1, -1)
        return evaluator(elements, h0)[0], None
    if method == "gibbs":
        if "gibbs" not in der.cache:
            der.cache["gibbs"] = ex.GibbsQuadrature(net)
        quad = der.cache["gibbs"]
        return quad.mean(evaluator(elements, quad.points, weights=quad.weights)), None
    X = np.asarray(samples, float)
    if X.ndim != 2 or X.shape[1] != net.n:
        raise ArgumentError(f"samples: expected an array of shape (N, n={net.n}) of stationary states, "
                         f"got shape {X.shape}")
    if X.shape[0] < 2:
        raise ArgumentError("samples: need at least 2 stationary samples for a standard error")
    vals = evaluator(elements, X)
    cov = np.atleast_2d(np.cov(vals, rowvar=False)) / X.shape[0]
    return vals.mean(axis=0), cov
