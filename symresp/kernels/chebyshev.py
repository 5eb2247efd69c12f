"""Chebyshev collocation on [−1, 1]: the points, the differentiation matrix and the
Clenshaw–Curtis quadrature weights (the building blocks of the Kolmogorov-equation grids)."""

from __future__ import annotations

import numpy as np
import scipy.linalg

from symresp.kernels.propagators import saturation_lag

__all__ = ["chebyshev_matrix", "clenshaw_curtis", "SemigroupCache", "barycentric_row"]


def chebyshev_matrix(N):
    """Chebyshev points x_j = cos(πj/N) and the differentiation matrix (Trefethen, SMM ch. 6)."""
    x = np.cos(np.pi * np.arange(N + 1) / N)
    c = np.hstack([2.0, np.ones(N - 1), 2.0]) * (-1.0) ** np.arange(N + 1)
    dX = x[:, None] - x[None, :]
    D = np.outer(c, 1 / c) / (dX + np.eye(N + 1))
    return D - np.diag(D.sum(axis=1)), x


def clenshaw_curtis(N):
    """Clenshaw–Curtis weights on the Chebyshev points of [−1, 1] (N even)."""
    theta = np.pi * np.arange(N + 1) / N
    w = np.zeros(N + 1)
    v = np.ones(N - 1)
    w[0] = w[N] = 1.0 / (N**2 - 1)
    for k in range(1, N // 2):
        v -= 2 * np.cos(2 * k * theta[1:-1]) / (4 * k * k - 1)
    v -= np.cos(N * theta[1:-1]) / (N**2 - 1)
    w[1:-1] = 2 * v / N
    return w


def barycentric_row(nodes, x0):
    """Weights ℓ with Σ_j ℓ_j g(x_j) the polynomial interpolant of g at x0, for the Chebyshev
    points ``nodes`` (cos(πj/N) mapped to an interval: barycentric weights (−1)^j, halved at
    the ends)."""
    N = len(nodes) - 1
    bw = (-1.0) ** np.arange(N + 1)
    bw[0] *= 0.5
    bw[-1] *= 0.5
    d = x0 - np.asarray(nodes, float)
    if np.any(d == 0):
        return (d == 0).astype(float)
    q = bw / d
    return q / q.sum()


class SemigroupCache:
    """e^{τ L0} of a grid's backward operator ``self.L0``, cached by τ (12 digits).

    Lags up to 1e3 go straight to scaling and squaring; beyond, τ is clamped at
    :func:`~symresp.kernels.propagators.saturation_lag` (computed once: an eigenvalue
    problem of the grid's size), where every decaying mode has underflowed."""

    _cache_size = 64

    def expm(self, tau):
        cache = self.__dict__.setdefault("_expm", {})
        key = round(float(tau), 12)
        if key not in cache:
            if len(cache) >= self._cache_size:
                cache.clear()
            t = key
            if t > 1e3:
                if "_cap" not in self.__dict__:
                    self._cap = saturation_lag(self.L0)
                t = min(t, self._cap)
            cache[key] = scipy.linalg.expm(t * self.L0)
        return cache[key]
