"""Reference kernels of one-dimensional networks from the backward Kolmogorov equation.

For n = 1 the semigroup P_τ = e^{τ𝓛₀} is computed on a Chebyshev grid of a box [lo, hi]
outside which ρ_∞ ∝ exp((2/σ²)Φ), Φ' = φ, has fallen below e^{−46} of its peak:

    𝓛₀ ≈ diag(φ) D + (σ²/2) D²,   𝓛₁ᵏ ≈ diag(γ_k) D     (D the Chebyshev differentiation matrix),

with the boundary rows frozen (a path started in the bulk does not reach the boundary
within the lags of interest: the density there is negligible).  The kernels follow the
recursion g_0 = f, g_j = 𝓛₁^{k_j} e^{τ_j 𝓛₀} g_{j−1} (method of lines, exact in τ by a
matrix exponential):

    stationary:  K⁽ⁿ⁾(τ_1..τ_n)      = Σ_i w_i ρ_∞(x_i) g_n(x_i)     (Clenshaw–Curtis weights)
    point start: K⁽ⁿ⁾(τ_1..τ_n, s_n) = (e^{s_n 𝓛₀} g_n)(h_0)           (barycentric interpolation)

Orders 1 and 2.  :meth:`PDEKernel.error` is the difference from a coarser grid (N and
N − 16 points): it over-estimates the error of the finer one (spectral convergence).
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError, UnsupportedError
from symresp.kernels.base import Kernel
from symresp.kernels.propagators import expm_lags
from symresp.model.numeric import numeric_network
from symresp.validation import check_float, check_int

__all__ = ["PDEKernel", "pde_kernel", "PDE_OPTIONS"]

PDE_OPTIONS = ("points", "tol")


def _cheb(N):
    """Chebyshev points x_j = cos(πj/N) and the differentiation matrix (Trefethen, SMM ch. 6)."""
    x = np.cos(np.pi * np.arange(N + 1) / N)
    c = np.hstack([2.0, np.ones(N - 1), 2.0]) * (-1.0) ** np.arange(N + 1)
    dX = x[:, None] - x[None, :]
    D = np.outer(c, 1 / c) / (dX + np.eye(N + 1))
    return D - np.diag(D.sum(axis=1)), x


def _clenshaw_curtis(N):
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


class _Grid:
    """Operators, ρ_∞ weights and the readout on N + 1 Chebyshev points of [lo, hi]."""

    def __init__(self, num, fns, N, lo, hi, s2, h0):
        D, x = _cheb(N)
        half = (hi - lo) / 2
        h = lo + half * (x + 1)
        D = D / half
        phi = num.phi(h[:, None])[:, 0]
        self.L0 = phi[:, None] * D + 0.5 * s2 * (D @ D)
        self.L0[0, :] = 0.0
        self.L0[-1, :] = 0.0
        self.L1 = [np.asarray(g(h), float)[:, None] * D for g in fns["gamma"]]
        self.f = np.column_stack(
            [np.broadcast_to(np.asarray(g(h), float), h.shape) for g in fns["f"]]
        )
        xg, wg = np.polynomial.legendre.leggauss(40)
        mode = h[np.argmin(np.abs(phi))]
        # Φ(h) = ∫_mode^h φ by a 40-point Gauss rule on [mode, h] for every node
        sub = mode + (h[:, None] - mode) * (xg[None, :] + 1) / 2
        Phi = ((h - mode) / 2) * (num.phi(sub[..., None])[..., 0] @ wg)
        logr = 2 * Phi / s2
        rho = half * _clenshaw_curtis(N) * np.exp(logr - logr.max())
        self.rho = rho / rho.sum()
        self.h = h
        self._E: dict = {}
        self.interp = None
        if h0 is not None:  # barycentric weights of Chebyshev points: (−1)^j, halved at the ends
            bw = (-1.0) ** np.arange(N + 1)
            bw[0] *= 0.5
            bw[-1] *= 0.5
            d = h0 - h
            if np.any(d == 0):
                self.interp = (d == 0).astype(float)
            else:
                q = bw / d
                self.interp = q / q.sum()

    def expm(self, tau):
        key = float(tau)
        if key not in self._E:
            if len(self._E) > 512:
                self._E.clear()
            self._E[key] = expm_lags([key], self.L0)[0]
        return self._E[key]

    def kernel(self, lags, index, start):
        n = len(index)
        out = np.empty((lags.shape[0], self.f.shape[1]))
        for i, row in enumerate(lags):
            g = self.f
            for j in range(n):
                g = self.L1[index[j]] @ (self.expm(row[j]) @ g)
            if start == "point":
                out[i] = self.interp @ (self.expm(row[n]) @ g)
            else:
                out[i] = self.rho @ g
        return out


class PDEKernel(Kernel):
    """K⁽ⁿ⁾_k of a 1-D network from the backward Kolmogorov equation on a Chebyshev grid.

    Attributes
    ----------
    points : int
        N, the grid has N + 1 Chebyshev points (the error grid has N − 16).
    box : (float, float)
        The interval [lo, hi].
    tol : float
        :meth:`trusted` is ``error(lags) ≤ tol``.
    """

    method = "pde"

    def __init__(self, order, index, start, fine, coarse, points, box, tol):
        self.order, self.index, self.start = order, tuple(index), start
        self._fine, self._coarse = fine, coarse
        self.points, self.box, self.tol = points, box, tol

    def _run(self, grid, lags):
        flat = lags.reshape(-1, self.nlags)
        out = grid.kernel(flat, self.index, self.start)
        return out.reshape(lags.shape[:-1] + (out.shape[-1],))

    def _evaluate(self, lags, **_):
        return self._run(self._fine, lags)

    def error(self, lags) -> np.ndarray:
        """|K_N − K_{N−16}| (…, p): the refinement estimate of the error."""
        lags = self._check_lags(lags)
        return np.abs(self._run(self._fine, lags) - self._run(self._coarse, lags))

    def _trusted(self, lags):
        return np.all(self.error(lags) <= self.tol, axis=-1)

    def _metadata(self):
        return {"points": self.points, "box": list(self.box), "tol": self.tol}

    def _repr_fields(self):
        return {"points": self.points}


def _bounds(num, s2):
    grid = np.linspace(-50, 50, 200001)
    vals = num.phi(grid[:, None])[:, 0]
    Phi = np.concatenate([[0.0], np.cumsum((vals[1:] + vals[:-1]) / 2 * np.diff(grid))])
    logd = 2 * Phi / s2
    keep = np.nonzero(logd > logd.max() - 46)[0]
    lo, hi = grid[keep[0]], grid[keep[-1]]
    pad = 0.05 * (hi - lo)
    return lo - pad, hi + pad


def pde_kernel(
    net, order: int, index=None, *, start: str | None = None, points: int = 96, tol: float = 1e-6
) -> PDEKernel:
    """K⁽ⁿ⁾_k (n = 1, 2) of a one-dimensional network by the backward Kolmogorov equation.

    Parameters
    ----------
    net : SRNN with n = 1 and σ ≠ 0 (readout, coupling: any smooth expressions in h).
    order : 1 or 2
    index : channels k_1..k_n, 0-based (default zeros).
    start : {"stationary", "point"}, optional
    points : int
        N (even, ≥ 32): N + 1 Chebyshev points; the error estimate uses N − 16.
    tol : float
        Threshold of :meth:`PDEKernel.trusted` on the refinement estimate.
    """
    order = check_int(order, "order", minimum=1, maximum=2)
    points = check_int(points, "points", minimum=32)
    if points % 2:
        raise ArgumentError(f"points: expected an even number, got {points}")
    tol = check_float(tol, "tol", positive=True)
    if net.n != 1:
        raise UnsupportedError(
            f"the PDE route is implemented for n = 1, not n = {net.n}; use 'galerkin' or 'mc'"
        )
    s2 = float(net.Sigma[0, 0])
    if s2 <= 0:
        raise UnsupportedError("the PDE route needs noise (σ ≠ 0)")
    if net.input_monomials:
        raise UnsupportedError("the PDE route takes an additive input")
    start = net.start if start is None else start
    index = (0,) * order if index is None else tuple(int(k) for k in index)
    if len(index) != order or any(not 0 <= k < net.m for k in index):
        raise ArgumentError(f"index: expected {order} channel(s) in 0..{net.m - 1}, got {index}")
    num = numeric_network(net)
    h = net.h[0]

    def lam(e):
        fn = sp.lambdify(h, sp.sympify(e), "numpy")
        return lambda x: fn(x) + 0 * x

    fns = {
        "gamma": [lam(net.input_field[0, k]) for k in range(net.m)],
        "f": [lam(e) for e in net.readout],
    }
    h0 = None
    if start == "point":
        if net.h0 is None:
            raise ArgumentError("a point start needs h0 (start.h0 in the spec)")
        h0 = float(net.h0[0])
    lo, hi = _bounds(num, s2)
    if h0 is not None and not lo < h0 < hi:
        raise ArgumentError(f"h0 = {h0} lies outside the box [{lo:.3g}, {hi:.3g}] of ρ_∞")
    fine = _Grid(num, fns, points, lo, hi, s2, h0)
    coarse = _Grid(num, fns, points - 16, lo, hi, s2, h0)
    return PDEKernel(order, index, start, fine, coarse, points, (lo, hi), tol)
