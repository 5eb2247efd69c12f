"""Expectations under the Gibbs law of a gradient network, by tensor Gauss–Legendre quadrature.

For a drift ``φ = ∇Φ`` (n = 1 always; the Hopfield form ``φ(h) = −Γh + Wᵀa(Wh + b)`` with
symmetric Γ, where ``Φ = −½hᵀΓh + Σ_i ∫^{z_i} a``) and isotropic noise ``Σ = s² I``
the invariant law is ``ρ_∞ ∝ exp(2Φ/s²)``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError
from symresp.model.activations import Z
from symresp.model.network import SRNN
from symresp.model.numeric import numeric_network

__all__ = ["GibbsQuadrature", "is_gradient", "isotropic_noise"]


def isotropic_noise(net):
    """s² when ``Σ = s² I`` with s² ≠ 0, else None."""
    Sig = net.Sigma
    s2 = Sig[0, 0]
    if s2 != 0 and Sig == s2 * sp.eye(net.n):
        return s2
    return None


def is_gradient(net) -> bool:
    """True when the drift is a gradient: n = 1, or the Hopfield form with symmetric Γ."""
    if net.n == 1:
        return True
    return net.form == "hopfield" and net.Gamma == net.Gamma.T


class GibbsQuadrature:
    """Expectations under ρ_∞ ∝ exp(2Φ/s²) for a gradient network in 1 or 2 dimensions.

    Φ is built from the drift: in 1-D by integrating φ panel by panel with
    Gauss–Legendre (no antiderivative needed); in 2-D (Hopfield form) from the
    activation's antiderivative, Φ = −½hᵀΓh + Σ_i ∫^{z_i} a.  The domain is cut where the
    density has dropped by e^{-40} relative to its peak.
    """

    def __init__(
        self, net: SRNN, panels: int = 200, order: int = 20, panels_2d: int = 16, order_2d: int = 10
    ):
        s2 = isotropic_noise(net)
        if s2 is None or not is_gradient(net) or net.n > 2:
            raise ArgumentError(
                "Gibbs quadrature needs a gradient drift (n = 1, or the Hopfield form with "
                "symmetric Γ) with isotropic noise, in one or two dimensions; pass "
                "stationary samples instead."
            )
        self.net = net
        self.s2 = float(s2)
        x, w = np.polynomial.legendre.leggauss(order)
        if net.n == 1:
            drift = numeric_network(net).phi
            phi = lambda x: drift(np.asarray(x, float)[..., None])[..., 0]
            lo, hi = self._bounds_1d(phi)
            edges = np.linspace(lo, hi, panels + 1)
            mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
            nodes = mid[:, None] + half[:, None] * x[None, :]
            # Φ at nodes: Φ(left edge of panel) + ∫_{edge}^{node} φ, the inner integral by a
            # Gauss rule mapped to [edge, node]
            phi_panel = (half[:, None] * w[None, :] * phi(nodes)).sum(axis=1)
            left = np.concatenate([[0.0], np.cumsum(phi_panel)[:-1]])
            frac = nodes - edges[:-1, None]  # length from the panel's left edge to the node
            sub = edges[:-1, None, None] + frac[:, :, None] * (x[None, None, :] + 1) / 2
            inner = (frac[:, :, None] / 2 * w[None, None, :] * phi(sub)).sum(axis=2)
            Phi = left[:, None] + inner
            self.points = nodes.reshape(-1, 1)
            logw = np.log((half[:, None] * w[None, :]).ravel()) + 2 * Phi.ravel() / self.s2
        else:
            U = self._potential_2d()
            lo, hi = self._bounds_2d(U)
            x, w = np.polynomial.legendre.leggauss(order_2d)
            e0 = np.linspace(lo[0], hi[0], panels_2d + 1)
            e1 = np.linspace(lo[1], hi[1], panels_2d + 1)
            n0, w0 = _panel_nodes(e0, x, w)
            n1, w1 = _panel_nodes(e1, x, w)
            G0, G1 = np.meshgrid(n0, n1, indexing="ij")
            self.points = np.column_stack([G0.ravel(), G1.ravel()])
            logw = np.log(np.outer(w0, w1).ravel()) - 2 * U(self.points) / self.s2
        logw -= logw.max()
        wts = np.exp(logw)
        self.weights = wts / wts.sum()

    def _bounds_1d(self, phi):
        # walk outwards from the mode until the log-density has fallen by 40·s²/2
        grid = np.linspace(-50, 50, 200001)
        vals = phi(grid)
        Phi = np.concatenate([[0.0], np.cumsum((vals[1:] + vals[:-1]) / 2 * np.diff(grid))])
        logd = 2 * Phi / self.s2
        keep = np.nonzero(logd > logd.max() - 46)[0]
        lo, hi = grid[keep[0]], grid[keep[-1]]
        pad = 0.05 * (hi - lo)
        return lo - pad, hi + pad

    def _potential_2d(self):
        net = self.net
        act = net.activation
        if act.antiderivative is None:
            raise ArgumentError(f"no antiderivative known for activation {act.name!r}")
        h = sp.Matrix(net.h)
        U = (h.T * net.Gamma * h)[0, 0] / 2 - sum(act.antiderivative.subs(Z, zi) for zi in net.z)
        f = sp.lambdify([list(net.h)], U, "numpy")
        return lambda P: np.asarray(f(P.T), float)

    def _bounds_2d(self, U):
        g = np.linspace(-30, 30, 601)
        G0, G1 = np.meshgrid(g, g, indexing="ij")
        P = np.column_stack([G0.ravel(), G1.ravel()])
        logd = -2 * U(P) / self.s2
        keep = P[logd > logd.max() - 46]
        lo, hi = keep.min(axis=0), keep.max(axis=0)
        pad = 0.1 * (hi - lo) + 0.2
        return lo - pad, hi + pad

    def mean(self, values: np.ndarray) -> np.ndarray:
        """∫ g dρ_∞ for values (npoints, k) at :attr:`points`."""
        return self.weights @ values


def _panel_nodes(edges, x, w):
    mid, half = (edges[1:] + edges[:-1]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x[None, :]).ravel(), (half[:, None] * w[None, :]).ravel()
