"""The Gaussian stationary law of a linear network and its moments.

For the linear network ``dh = (−A h + M b) dt + σ dW`` with ``A = Γ − M W`` positive
stable the invariant law is ``N(m_∞, S)`` with

    A m_∞ = M b,        A S + S Aᵀ = Σ        (continuous Lyapunov equation).

Moments of ``N(m, S)`` follow from Stein's identity
``E[h_i g(h)] = m_i E[g] + Σ_j S_ij E[∂_j g]``; for a monomial ``g = h^β`` it is the
recursion (α = β + e_i)

    E[h^α] = m_i E[h^β] + Σ_j S_ij β_j E[h^{β − e_j}],        E[h^0] = 1,

which this module implements once, for exact numbers (Fraction, SymPy) and for numpy
arrays (moments of a family of Gaussians evaluated elementwise).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError
from symresp.model.network import SRNN
from symresp.symbolic.algebra import RingAlgebra

__all__ = [
    "gaussian_stationary",
    "gaussian_expectation",
    "gaussian_moments",
    "stein_moments",
    "lyapunov_exact",
    "lyapunov_float",
    "gaussian_expect_expr",
]


# ------------------------------------------------------------------ Lyapunov equation
def lyapunov_exact(A: sp.Matrix, Sigma: sp.Matrix) -> sp.Matrix:
    """The symmetric S with ``A S + S Aᵀ = Σ``, solved exactly (linear equations over Q)."""
    n = A.shape[0]
    S = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"s_{min(i, j)}_{max(i, j)}"))
    eqs = list(A * S + S * A.T - Sigma)
    sol = sp.solve(eqs, sorted(S.free_symbols, key=str), dict=True)[0]
    return S.xreplace(sol)


def lyapunov_float(A: np.ndarray, Sigma: np.ndarray) -> np.ndarray:
    """The symmetric S with ``A S + S Aᵀ = Σ`` in float64 (Bartels–Stewart), symmetrised."""
    from scipy.linalg import (
        solve_continuous_lyapunov,  # scipy: heavy, only the numeric path needs it
    )

    S = solve_continuous_lyapunov(A, Sigma)
    return (S + S.T) / 2


def gaussian_stationary(net: SRNN) -> tuple[sp.Matrix, sp.Matrix]:
    """Exact ``(m_∞, S)`` of the linear network: ``A m_∞ = M b``, ``A S + S Aᵀ = Σ``,
    ``A = Γ − M W``."""
    if not net.is_linear:
        raise ArgumentError("the Gaussian stationary law needs the identity activation")
    A = net.A
    return A.LUsolve(net.M * net.b), lyapunov_exact(A, net.Sigma)


# ------------------------------------------------------------------ Stein recursion
def _is_zero(x) -> bool:
    """True for a scalar zero (exact or float); arrays are never skipped."""
    return not isinstance(x, np.ndarray) and x == 0


def stein_moments(mean, cov, one=1, normalize=None):
    """``moment(α) = E[h^α]`` under ``N(mean, cov)`` by the Stein recursion (memoised).

    ``mean[i]`` and ``cov[i][j]`` may be exact numbers (Fraction, SymPy) or numpy arrays of
    one shape (a family of Gaussians, evaluated elementwise); ``one`` is ``E[h^0]`` in that
    type.  ``normalize`` (optional) is applied to each new moment (e.g. ``sp.expand``).
    """
    n = len(mean)
    memo: dict = {}

    def moment(alpha) -> object:
        alpha = tuple(int(a) for a in alpha)
        if not any(alpha):
            return one
        hit = memo.get(alpha)
        if hit is not None:
            return hit
        i = next(j for j, a in enumerate(alpha) if a)
        rest = list(alpha)
        rest[i] -= 1
        val = mean[i] * moment(tuple(rest))
        for j in range(n):
            sij = cov[i][j]
            if rest[j] and not _is_zero(sij):
                r2 = list(rest)
                r2[j] -= 1
                val = val + sij * rest[j] * moment(tuple(r2))
        if normalize is not None:
            val = normalize(val)
        memo[alpha] = val
        return val

    return moment


def _fraction(x) -> Fraction:
    num, den = sp.fraction(x)
    return Fraction(int(num), int(den))


def gaussian_moments(net: SRNN, m, S):
    """``expect(algebra, g) = E[g]`` under ``N(m, S)`` for a polynomial g in h, in exact
    rationals (``m``, ``S`` rational SymPy matrices)."""
    moment = stein_moments(
        [_fraction(x) for x in m], [[_fraction(x) for x in row] for row in S.tolist()], Fraction(1)
    )
    n = net.n

    def expect(algebra, g):
        total = Fraction(0)
        if isinstance(algebra, RingAlgebra):
            for monom, c in g.to_dict().items():
                total += Fraction(int(c.p), int(c.q)) * moment(monom[:n])
        else:
            poly = sp.Poly(sp.expand(g), *net.h)
            for monom, c in poly.terms():
                total += Fraction(int(c.p), int(c.q)) * moment(monom)
        return sp.Rational(total.numerator, total.denominator)

    return expect


def gaussian_expectation(net: SRNN, algebra, g) -> sp.Rational:
    """``E_∞[g]`` for a polynomial g in h under ``N(m_∞, S)``: exact."""
    m, S = gaussian_stationary(net)
    return gaussian_moments(net, m, S)(algebra, g)


# ------------------------------------------------------------------ symbolic Gaussian maps
def gaussian_expect_expr(g: sp.Expr, hs, mean, cov) -> sp.Expr:
    """``E[g(X)]`` for a polynomial g in ``hs`` and ``X ~ N(mean, cov)``, as a SymPy expression.

    ``mean`` and ``cov`` may hold any expressions (of other variables, parameters, lags):
    the moments follow from the Stein recursion of :func:`stein_moments`.  This is the
    propagator of the linear network, ``(P_τ g)(h) = E[g(X)]`` with
    ``mean = m_∞ + e^{−Aτ}(h − m_∞)`` and ``cov = S − e^{−Aτ} S e^{−Aᵀτ}``.
    """
    g = sp.expand(sp.sympify(g))
    if g == 0:
        return sp.Integer(0)
    if not g.free_symbols & set(hs):
        return g
    moment = stein_moments(
        list(mean), [list(row) for row in cov.tolist()], sp.Integer(1), normalize=sp.expand
    )
    return sp.expand(sp.Add(*[c * moment(a) for a, c in sp.Poly(g, *hs).terms()]))
