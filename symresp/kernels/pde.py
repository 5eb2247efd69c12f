"""Reference kernels of one- and two-dimensional networks from the backward Kolmogorov
equation.

For n = 1 the semigroup P_τ = e^{τ𝓛₀} is computed on a Chebyshev grid of a box [lo, hi]
outside which ρ_∞ ∝ exp((2/σ²)Φ), Φ' = φ, has fallen below e^{−46} of its peak:

    𝓛₀ ≈ diag(φ) D + (σ²/2) D²,   𝓛₁ᵏ ≈ diag(γ_k) D     (D the Chebyshev differentiation matrix),

with the drift alone on the boundary rows (it points inwards on a box that holds ρ_∞, so
the boundary values come from the interior; ρ_∞ is negligible there).  The kernels follow the
recursion g_0 = f, g_j = 𝓛₁^{k_j} e^{τ_j 𝓛₀} g_{j−1} (method of lines, exact in τ by a
matrix exponential):

    stationary:  K⁽ⁿ⁾(τ_1..τ_n)      = Σ_i w_i ρ_∞(x_i) g_n(x_i)     (Clenshaw–Curtis weights)
    point start: K⁽ⁿ⁾(τ_1..τ_n, s_n) = (e^{s_n 𝓛₀} g_n)(h_0)           (barycentric interpolation)

Any order.  :meth:`PDEKernel.error` is the difference from a coarser grid (N and
N − 16 points): it over-estimates the error of the finer one (spectral convergence).

For n = 2 the same recursion runs on a tensor Chebyshev grid
(:class:`~symresp.kernels.chebyshev_2d.ChebyshevGrid2D`: ρ_∞ the Gibbs density of the Hopfield
form with isotropic noise, else the null vector of the forward operator), the error grid
coarser and narrower (N − 8 points on ± 5 instead of ± 6 standard deviations of ρ_∞).
Propagation visits the distinct lags in increasing order, one cached e^{Δτ𝓛₀} per step.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError, UnsupportedError
from symresp.kernels.base import Kernel
from symresp.kernels.chebyshev import (
    SemigroupCache,
    barycentric_row,
    chebyshev_matrix,
    clenshaw_curtis,
)
from symresp.kernels.chebyshev_2d import ChebyshevGrid2D, stationary_box, stationary_moments
from symresp.model.numeric import numeric_network
from symresp.validation import check_float, check_int

__all__ = ["PDEKernel", "pde_kernel", "PDE_OPTIONS"]

PDE_OPTIONS = ("points", "tol")

#: n = 2: half-width of the box in standard deviations of ρ_∞ (the error grid: WIDTH − 1)
WIDTH = 6.0


class _Grid(SemigroupCache):
    """Operators, ρ_∞ weights and the readout on N + 1 Chebyshev points of [lo, hi]."""

    def __init__(self, num, fns, N, lo, hi, s2, h0):
        D, x = chebyshev_matrix(N)
        half = (hi - lo) / 2
        h = lo + half * (x + 1)
        D = D / half
        phi = num.phi(h[:, None])[:, 0]
        drift = phi[:, None] * D
        self.L0 = drift + 0.5 * s2 * (D @ D)
        # boundary rows: the drift alone, as in 2-D (it points inwards on a box that holds
        # ρ_∞, so the values there come from the interior; frozen rows would leave a
        # boundary layer whose gradient 𝓛₁ carries inwards at the next order)
        self.L0[[0, -1], :] = drift[[0, -1], :]
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
        rho = half * clenshaw_curtis(N) * np.exp(logr - logr.max())
        self.weights = rho / rho.sum()
        self.h = h
        self.interp = None if h0 is None else barycentric_row(h, h0)


def _propagate(grid, taus, X):
    """e^{τ 𝓛₀} X for every distinct τ (X (npts, k)): a dict τ -> array.  The lags are
    visited in increasing order, each step one cached e^{Δτ 𝓛₀} (a single matrix
    exponential for equispaced lags)."""
    out, prev, cur = {}, 0.0, X
    for tau in np.unique(np.asarray(taus, float)):
        if tau > prev:
            cur = grid.expm(tau - prev) @ cur
        out[float(tau)] = cur
        prev = tau
    return out


def _recursion(grid, lags, index, start):
    """g_0 = f, g_j = 𝓛₁^{k_j} e^{τ_j 𝓛₀} g_{j−1}; K = Σ w g_n (stationary) or the
    interpolation of e^{s_n 𝓛₀} g_n at h_0 (point), for every row of ``lags``.  At each step
    every distinct g_{j−1} is propagated to every distinct τ_j in one block."""
    p = grid.f.shape[1]
    rows = [()] * lags.shape[0]
    g = {(): grid.f}
    steps = list(index) + ([None] if start == "point" else [])
    for j, k in enumerate(steps):
        keys = sorted(g)
        block = np.hstack([g[key] for key in keys])
        prop = _propagate(grid, lags[:, j], block)
        col = {key: slice(i * p, (i + 1) * p) for i, key in enumerate(keys)}
        new = {}
        for r, row in enumerate(rows):
            key = row + (float(lags[r, j]),)
            if key not in new:
                v = prop[float(lags[r, j])][:, col[row]]
                new[key] = v if k is None else grid.L1[k] @ v
            rows[r] = key
        g = new
    ell = grid.interp if start == "point" else grid.weights
    return np.array([ell @ g[row] for row in rows])


class PDEKernel(Kernel):
    """K⁽ⁿ⁾_k of a 1-D or 2-D network from the backward Kolmogorov equation on a Chebyshev grid.

    Attributes
    ----------
    points : int
        N: N + 1 Chebyshev points per axis (the error grid has N − 16 in 1-D, N − 8 in 2-D).
    box : list
        The interval [lo, hi] (n = 1) or one interval per axis (n = 2).
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
        out = _recursion(grid, flat, self.index, self.start)
        return out.reshape(lags.shape[:-1] + (out.shape[-1],))

    def _evaluate(self, lags, **_):
        return self._run(self._fine, lags)

    def error(self, lags) -> np.ndarray:
        """|K_fine − K_coarse| (…, p): the refinement estimate of the error."""
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
    net,
    order: int,
    index=None,
    *,
    start: str | None = None,
    points: int | None = None,
    tol: float = 1e-6,
) -> PDEKernel:
    """K⁽ⁿ⁾_k of a one- or two-dimensional network by the backward Kolmogorov equation.

    Parameters
    ----------
    net : SRNN with n ≤ 2 and noise (Σ positive definite); readout and coupling any smooth
        expressions in h.  n = 2: ρ_∞ is the Gibbs density of the Hopfield form with isotropic
        noise, else the forward equation's null vector on the grid.
    order : int ≥ 1
    index : channels k_1..k_n, 0-based (default zeros).
    start : {"stationary", "point"}, optional
    points : int, optional
        N (even): n = 1, N + 1 Chebyshev points on the box where ρ_∞ exceeds e^{−46} of its
        peak (default 96, ≥ 32; the error grid has N − 16); n = 2, (N + 1)² points on the box
        mean ± 6 standard deviations of ρ_∞ (default 36, ≥ 24; the error grid has N − 8
        points on ± 5 standard deviations, so the estimate sees the box as well as the grid).
    tol : float
        Threshold of :meth:`PDEKernel.trusted` on the refinement estimate.
    """
    order = check_int(order, "order", minimum=1)
    tol = check_float(tol, "tol", positive=True)
    if net.n not in (1, 2):
        raise UnsupportedError(
            f"the PDE route is implemented for n ≤ 2, not n = {net.n}; use 'galerkin' or 'mc'"
        )
    if points is None:
        points = 96 if net.n == 1 else 36
    points = check_int(points, "points", minimum=32 if net.n == 1 else 24)
    if points % 2:
        raise ArgumentError(f"points: expected an even number, got {points}")
    Sigma = np.array(net.Sigma.evalf(), float)
    if np.any(np.linalg.eigvalsh(Sigma) <= 0):
        raise UnsupportedError("the PDE route needs noise in every direction (Σ positive definite)")
    if net.input_monomials:
        raise UnsupportedError("the PDE route takes an additive input")
    start = net.start if start is None else start
    index = (0,) * order if index is None else tuple(int(k) for k in index)
    if len(index) != order or any(not 0 <= k < net.m for k in index):
        raise ArgumentError(f"index: expected {order} channel(s) in 0..{net.m - 1}, got {index}")
    h0 = None
    if start == "point":
        if net.h0 is None:
            raise ArgumentError("a point start needs h0 (start.h0 in the spec)")
        h0 = np.array(net.h0.evalf(), float).ravel()
    if net.n == 2:
        return _pde_kernel_2d(net, order, index, start, points, tol, h0)
    num = numeric_network(net)
    s2 = float(Sigma[0, 0])
    h = net.h[0]

    def lam(e):
        fn = sp.lambdify(h, sp.sympify(e), "numpy")
        return lambda x: fn(x) + 0 * x

    fns = {
        "gamma": [lam(net.input_field[0, k]) for k in range(net.m)],
        "f": [lam(e) for e in net.readout],
    }
    lo, hi = _bounds(num, s2)
    if h0 is not None and not lo < h0[0] < hi:
        raise ArgumentError(f"h0 = {h0[0]} lies outside the box [{lo:.3g}, {hi:.3g}] of ρ_∞")
    x0 = None if h0 is None else float(h0[0])
    fine = _Grid(num, fns, points, lo, hi, s2, x0)
    coarse = _Grid(num, fns, points - 16, lo, hi, s2, x0)
    return PDEKernel(order, index, start, fine, coarse, points, (lo, hi), tol)


def _pde_kernel_2d(net, order, index, start, points, tol, h0):
    def lam(e):
        fn = sp.lambdify([list(net.h)], sp.sympify(e), "numpy")
        return lambda P: np.asarray(fn(P.T), float) + 0.0 * P[:, 0]

    def field(k):
        parts = [lam(net.input_field[i, k]) for i in range(2)]
        return lambda P: np.column_stack([g(P) for g in parts])

    gamma = [field(k) for k in range(net.m)]
    readout = [lam(e) for e in net.readout]
    moments = stationary_moments(net)
    grids = []
    for N, width in ((points, WIDTH), (points - 8, WIDTH - 1)):
        lo, hi = stationary_box(moments, width)
        if h0 is not None and not np.all((lo < h0) & (h0 < hi)):
            raise ArgumentError(
                f"h0 = {h0.tolist()} lies outside the box {lo.round(3).tolist()} – "
                f"{hi.round(3).tolist()} of ρ_∞ (± {width:g} standard deviations)"
            )
        grid = ChebyshevGrid2D(net, N, lo, hi, gamma=gamma, readout=readout)
        grid.interp = None if h0 is None else grid.interpolation(h0)
        grids.append(grid)
    box = [list(map(float, b)) for b in zip(grids[0].lo, grids[0].hi)]
    return PDEKernel(order, index, start, grids[0], grids[1], points, box, tol)
