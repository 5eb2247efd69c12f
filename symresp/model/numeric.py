"""One numeric view of a network: the drift, its derivatives and its fixed points in float64.

    φ(h) = −Γ h + M a(W h + b),
    Dφ(h) = −Γ + M diag(a'(z)) W,                    z = W h + b,
    D²φ(h)_{ijl} = Σ_k M_ik a''(z_k) W_kj W_kl,

with a, a', a'' from the activation registry (:func:`symresp.model.activations.numeric_activation`).
Every function is vectorised over leading axes: ``h`` of shape (..., n) gives φ of shape
(..., n), Dφ of shape (..., n, n) and D²φ of shape (..., n, n, n).  Built once per network
by :func:`numeric_network`; the simulator, the fixed-point search and the quadratures use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from symresp.errors import ArgumentError
from symresp.model.activations import NumericActivation, numeric_activation

__all__ = ["NumericNetwork", "numeric_network"]


@dataclass(frozen=True, eq=False)
class NumericNetwork:
    """Float arrays of a network and its numeric activation.

    ``C`` is the constant coupling (None for a state-dependent one), ``V``, ``c`` the
    linear readout ``f(h) = V h + c`` (None for a nonlinear readout), ``h0`` the point
    start (or None)."""

    n: int
    m: int
    p: int
    Gamma: np.ndarray
    W: np.ndarray
    b: np.ndarray
    M: np.ndarray
    sigma: np.ndarray
    Sigma: np.ndarray
    C: np.ndarray | None
    V: np.ndarray | None
    c: np.ndarray | None
    h0: np.ndarray | None
    activation: NumericActivation
    input_site: str

    @classmethod
    def from_srnn(cls, net) -> NumericNetwork:
        num = net.numeric()
        return cls(
            net.n,
            net.m,
            net.p,
            num["Gamma"],
            num["W"],
            num["b"],
            num["M"],
            num["sigma"],
            num["Sigma"],
            num.get("C"),
            num.get("V"),
            num.get("c"),
            num.get("h0"),
            numeric_activation(net.activation),
            net.input_site,
        )

    def preactivation(self, h) -> np.ndarray:
        """z = W h + b."""
        return np.asarray(h, float) @ self.W.T + self.b

    def phi(self, h) -> np.ndarray:
        """φ(h) = −Γh + M a(Wh + b)."""
        h = np.asarray(h, float)
        return -h @ self.Gamma.T + self.activation.a(self.preactivation(h)) @ self.M.T

    def jacobian(self, h) -> np.ndarray:
        """Dφ(h) = −Γ + M diag(a'(z)) W."""
        d = self.activation.da(self.preactivation(h))
        return -self.Gamma + np.einsum("ik,...k,kj->...ij", self.M, d, self.W)

    def hessian(self, h) -> np.ndarray:
        """D²φ(h)_{ijl} = Σ_k M_ik a''(z_k) W_kj W_kl."""
        d2 = self.activation.d2a(self.preactivation(h))
        return np.einsum("ik,...k,kj,kl->...ijl", self.M, d2, self.W, self.W)

    def find_fixed_point(self, guess=None, *, tol: float = 1e-12):
        """Solve φ(h*) = 0 from ``guess`` (default h_0, else 0): (h*, ‖φ(h*)‖_∞).

        scipy.optimize.root (hybrid Powell) with the exact Jacobian, then five Newton steps
        (quadratic convergence to the rounding floor); raises ArgumentError if the residual
        stays above ``tol`` (no fixed point near the guess)."""
        from scipy.optimize import root  # scipy: heavy, needed only by this search

        if guess is None:
            guess = self.h0 if self.h0 is not None else np.zeros(self.n)
        x0 = np.asarray(guess, float).ravel()
        sol = root(self.phi, x0, jac=self.jacobian, method="hybr", options={"xtol": 1e-14})
        x = sol.x
        for _ in range(5):
            try:
                x = x - np.linalg.solve(self.jacobian(x), self.phi(x))
            except np.linalg.LinAlgError:
                break
        res = float(np.max(np.abs(self.phi(x))))
        if not np.isfinite(res) or res > tol:
            raise ArgumentError(
                f"no fixed point φ(h*) = 0 found from {x0.tolist()} "
                f"(residual {res:.3g}); pass h_star or another guess"
            )
        return x, res


_CACHE: dict = {}


def numeric_network(net) -> NumericNetwork:
    """The :class:`NumericNetwork` of ``net``, built once per network object."""
    hit = _CACHE.get(id(net))
    if hit is not None and hit[0] is net:
        return hit[1]
    value = NumericNetwork.from_srnn(net)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[id(net)] = (net, value)
    return value
