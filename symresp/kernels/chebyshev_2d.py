"""The Kolmogorov operators of a two-dimensional network on a tensor Chebyshev grid.

On the (N + 1)² points of a box [lo_1, hi_1] × [lo_2, hi_2] with the 1-D Chebyshev
differentiation matrices D_1, D_2 (Kronecker factors ∂_1 = D_1 ⊗ I, ∂_2 = I ⊗ D_2):

    backward   𝓛₀ ≈ Σ_i diag(φ_i) ∂_i + ½ Σ_ij Σ_ij ∂_i ∂_j,    𝓛₁ᵏ ≈ Σ_i diag(γ_ik) ∂_i,
    forward    𝓛₀* ρ ≈ −Σ_i ∂_i (φ_i ρ) + ½ Σ_ij Σ_ij ∂_i ∂_j ρ.

On the boundary rows 𝓛₀ keeps only its drift part φ·∇ (on a box large against ρ_∞ the drift
points inwards: a first-order outflow condition for the backward equation; diffusion there is
negligible against it).  ρ_∞ is the Gibbs density exp(−2U/s²) of the Hopfield form
with isotropic noise Σ = s²I, U = ½hᵀΓh − Σ_i ∫^{z_i} a (Γ symmetric); otherwise the null
vector of the forward operator with ρ = 0 on the boundary (inverse iteration on its LU
factors).  With tensor Clenshaw–Curtis weights c_ij it is a quadrature rule

    μ[g] ≈ Σ_ij w_ij g(x_ij),   w_ij ∝ c_ij ρ(x_ij),   Σ w = 1,

spectrally accurate for smooth g; it is the stationary law of the PDE route and the projection
measure of the Galerkin route where ρ_∞ has no closed form.  The box is the mean ± ``width``
standard deviations of ρ_∞, measured on a pilot grid around the linearised law.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.linalg
import sympy as sp

from symresp.errors import ArgumentError, DivergenceError
from symresp.expectation.gibbs import is_gradient, isotropic_noise
from symresp.kernels.chebyshev import (
    SemigroupCache,
    barycentric_row,
    chebyshev_matrix,
    clenshaw_curtis,
)
from symresp.model.activations import Z
from symresp.model.numeric import numeric_network

__all__ = ["ChebyshevGrid2D", "stationary_moments", "stationary_box", "stationary_quadrature_2d"]

#: pilot grid: points per axis and half-width in standard deviations of the linearised law
_PILOT_N, _PILOT_WIDTH = 24, 6.0


def _gibbs_log_density(net):
    """log ρ_∞ = −2U/s² (up to a constant) of the Hopfield form with Σ = s²I, or None."""
    s2 = isotropic_noise(net)
    if s2 is None or not is_gradient(net) or net.activation.antiderivative is None:
        return None
    h = sp.Matrix(net.h)
    U = (h.T * net.Gamma * h)[0, 0] / 2 - sum(
        net.activation.antiderivative.subs(Z, zi) for zi in net.z
    )
    fn = sp.lambdify([list(net.h)], -2 * U / s2, "numpy")
    return lambda P: np.asarray(fn(P.T), float) + 0.0 * P[:, 0]


class ChebyshevGrid2D(SemigroupCache):
    """Backward operators, ρ_∞ quadrature weights and readout values on a tensor grid.

    Attributes
    ----------
    points : ((N+1)², 2) array
    L0 : ((N+1)², (N+1)²) array, boundary rows the drift part only
    L1 : list of arrays, 𝓛₁ᵏ for every channel k
    weights : ((N+1)²,) array, the ρ_∞ quadrature weights (sum 1)
    """

    def __init__(self, net, N, lo, hi, *, gamma=None, readout=None, operators=True):
        """``operators=False`` builds the ρ_∞ weights only (no L0, L1, readout): what the
        stationary quadrature needs, at about half the cost."""
        num = numeric_network(net)
        D, x = chebyshev_matrix(N)
        cc = clenshaw_curtis(N)
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        half = (hi - lo) / 2
        axes = [lo[i] + half[i] * (x + 1) for i in range(2)]
        G0, G1 = np.meshgrid(axes[0], axes[1], indexing="ij")
        self.points = np.column_stack([G0.ravel(), G1.ravel()])
        self.N, self.lo, self.hi, self.axes = N, lo, hi, axes
        edge = np.abs(x) == 1
        self.boundary = (edge[:, None] | edge[None, :]).ravel()
        logr = _gibbs_log_density(net)
        if operators or logr is None:
            I = np.eye(N + 1)
            Da, Db = D / half[0], D / half[1]
            d1, d2 = np.kron(Da, I), np.kron(I, Db)
            S = np.asarray(num.Sigma, float)
            diffusion = 0.5 * (
                S[0, 0] * np.kron(Da @ Da, I)
                + 2 * S[0, 1] * np.kron(Da, Db)
                + S[1, 1] * np.kron(I, Db @ Db)
            )
            phi = num.phi(self.points)
        self.L0, self.L1, self.f = None, [], None
        if operators:
            drift = phi[:, [0]] * d1 + phi[:, [1]] * d2
            self.L0 = drift + diffusion
            # boundary rows: the drift alone (it points inwards on a box that holds ρ_∞, so
            # the values there come from the interior); frozen rows would leave a boundary
            # layer whose gradient 𝓛₁ carries into the bulk at the next order
            self.L0[self.boundary, :] = drift[self.boundary, :]
            for g in gamma or []:
                gk = np.asarray(g(self.points), float)
                self.L1.append(gk[:, [0]] * d1 + gk[:, [1]] * d2)
            if readout is not None:
                self.f = np.column_stack([r(self.points) for r in readout])
        if logr is not None:
            lr = logr(self.points)
            rho = np.exp(lr - lr.max())
            rho[self.boundary] = 0.0
            self.density = "gibbs"
        else:
            # the forward operator ρ ↦ ½∇·Σ∇ρ − ∇·(φρ) on the grid
            fwd = diffusion - d1 * phi[None, :, 0] - d2 * phi[None, :, 1]
            rho = _null_vector(fwd, ~self.boundary)
            self.density = "forward equation"
        w = np.outer(cc * half[0], cc * half[1]).ravel() * rho
        self.weights = w / w.sum()

    def moments(self):
        """Mean and standard deviations of the grid's ρ_∞."""
        m = self.weights @ self.points
        sd = np.sqrt(np.clip(self.weights @ (self.points - m) ** 2, 1e-300, None))
        return m, sd

    def edge_mass(self) -> float:
        """max ρ_∞ on the ring next to the boundary / max ρ_∞ (a box too small shows here)."""
        rho = self.weights.reshape(self.N + 1, self.N + 1)
        inner = rho[1:-1, 1:-1]
        ring = np.concatenate([inner[0], inner[-1], inner[:, 0], inner[:, -1]])
        return float(np.abs(ring).max() / np.abs(inner).max())

    def interpolation(self, h0):
        """Row vector of the tensor barycentric interpolation at h0."""
        return np.kron(barycentric_row(self.axes[0], h0[0]), barycentric_row(self.axes[1], h0[1]))


def _null_vector(fwd, interior):
    """ρ with fwd[interior, interior] ρ_I ≈ 0, ρ = 0 on the boundary, max |ρ| = 1, Σρ > 0."""
    idx = np.nonzero(interior)[0]
    A = fwd[np.ix_(idx, idx)]
    lu = scipy.linalg.lu_factor(A, check_finite=False)
    v = np.ones(len(idx))
    for _ in range(4):  # the smallest eigenvalue is ≈ 0: inverse iteration converges at once
        v = scipy.linalg.lu_solve(lu, v, check_finite=False)
        v /= np.abs(v).max()
    if v.sum() < 0:
        v = -v
    rho = np.zeros(fwd.shape[0])
    rho[idx] = v
    return rho


def stationary_moments(net):
    """Mean and standard deviations of ρ_∞, measured on a pilot grid around the linearised
    law (the box enlarged until ρ_∞ is negligible at its edge)."""
    num = numeric_network(net)
    S = np.asarray(num.Sigma, float)
    try:
        hs, _ = num.find_fixed_point()
        J = num.jacobian(hs)
        cov = scipy.linalg.solve_continuous_lyapunov(J, -S)
        sd = np.sqrt(np.diag(cov))
        if not np.all(np.isfinite(sd)) or np.any(np.linalg.eigvals(J).real >= 0):
            raise ArgumentError("unstable fixed point")
    except (ArgumentError, np.linalg.LinAlgError):
        hs = np.zeros(2)
        sd = np.sqrt(np.diag(S) / (2 * np.min(np.diag(np.asarray(num.Gamma, float)))))
    lo, hi = hs - _PILOT_WIDTH * sd, hs + _PILOT_WIDTH * sd
    for _ in range(4):
        pilot = ChebyshevGrid2D(net, _PILOT_N, lo, hi, operators=False)
        m, sd = pilot.moments()
        if pilot.edge_mass() < 1e-4:  # spectral ripples sit near 1e-6 on a box that holds ρ_∞
            break
        lo, hi = m - 1.5 * (hi - lo) / 2, m + 1.5 * (hi - lo) / 2
    else:
        raise DivergenceError(
            "the 2-D grid found no box that holds ρ_∞ (mass at the boundary after four "
            "enlargements): is the network stable?"
        )
    return m, sd


def stationary_box(moments, width):
    """The box mean ± width·sd."""
    m, sd = moments
    return m - width * sd, m + width * sd


@lru_cache(maxsize=16)
def stationary_quadrature_2d(net, N: int = 40, width: float = 7.0):
    """Points and weights of the tensor Chebyshev rule for ρ_∞ of a 2-D network (interior
    points only), and the same rule on a coarser, narrower grid (N − 8, width − 1) whose
    difference measures its error.

    Cached per network (about a second of forward-equation solves, which every Galerkin
    kernel of the network, V₀ and each order of a prediction, would otherwise repeat); the
    arrays are read-only for that reason."""
    out, mom = [], stationary_moments(net)
    for n_, w_ in ((N, width), (N - 8, width - 1)):
        grid = ChebyshevGrid2D(net, n_, *stationary_box(mom, w_), operators=False)
        keep = ~grid.boundary
        pts, wts = grid.points[keep], grid.weights[keep] / grid.weights[keep].sum()
        pts.setflags(write=False)
        wts.setflags(write=False)
        out.append((pts, wts))
    return tuple(out)
