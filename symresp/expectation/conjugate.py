"""The conjugate observable of an input channel where ∇log ρ_∞ is known in closed form.

    A_k = −∇·γ_k − γ_k · ∇log ρ_∞,

so that the first-order kernel is the correlation ``K⁽¹⁾_k(τ) = E_∞[f(h_τ) A_k(h_0)]``.
∇log ρ_∞ is ``−S⁻¹(h − m_∞)`` for the linear network (ρ_∞ = N(m_∞, S)) and ``2φ/s²``
for a gradient drift φ = −∇U with isotropic noise Σ = s² I (ρ_∞ ∝ exp(−2U/s²)).
"""

from __future__ import annotations

import sympy as sp

from symresp.expectation.gaussian import gaussian_stationary
from symresp.expectation.gibbs import is_gradient, isotropic_noise
from symresp.model.network import SRNN

__all__ = ["log_density_gradient", "conjugate_observable"]


def log_density_gradient(net: SRNN):
    """∇ log ρ_∞ as SymPy expressions where it is known in closed form, else None.

    Linear: ``−S⁻¹(h − m_∞)``.  Gradient drift (n = 1, or Hopfield form with symmetric Γ)
    with isotropic ``Σ = s² I``: ``2φ/s²``.
    """
    h = sp.Matrix(net.h)
    if net.is_linear:
        m, S = gaussian_stationary(net)
        if S.det() == 0:
            return None
        return -S.inv() * (h - m)
    s2 = isotropic_noise(net)
    if s2 is not None and is_gradient(net):
        return net.drift * (2 / s2)
    return None


def conjugate_observable(net: SRNN, k: int) -> sp.Expr | None:
    """``A_k = −∇·γ_k − γ_k·∇log ρ_∞``, or None where log ρ_∞ is not known."""
    grad = log_density_gradient(net)
    if grad is None:
        return None
    gk = net.input_field[:, k]
    div = sum(sp.diff(gk[i], net.h[i]) for i in range(net.n))
    return sp.expand(-div - (gk.T * grad)[0, 0])
