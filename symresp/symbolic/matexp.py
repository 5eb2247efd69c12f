"""The matrix exponential e^{−Aτ} in closed form, exact in the parameters where it can be.

With ``B = −A`` and eigenvalues ``λ_1..λ_n`` of B (with multiplicity, equal ones adjacent),
Newton's (Putzer's) interpolation form

    e^{Bτ} = Σ_{k=0}^{n−1} f[λ_1, …, λ_{k+1}] Π_{j=1}^{k} (B − λ_j I),      f(λ) = e^{λτ},

holds for every B (defective or not); the divided differences are
``f[λ_i..λ_j] = (f[λ_{i+1}..λ_j] − f[λ_i..λ_{j−1}])/(λ_j − λ_i)`` and, for ``j − i + 1`` equal
eigenvalues, ``τ^{j−i} e^{λτ}/(j−i)!``.  The eigenvalues are exact when B is triangular or
its characteristic polynomial splits into linear factors over Q(θ) (rational eigenvalues for
a matrix of numbers).  For n = 2 without rational eigenvalues, with ``μ = tr B/2`` and
``d = μ² − det B``,

    e^{Bτ} = e^{μτ} [ cosh(√d τ) I + sinh(√d τ)/√d (B − μI) ]      (d > 0 at the values),
    e^{Bτ} = e^{μτ} [ cos(√(−d) τ) I + sin(√(−d) τ)/√(−d) (B − μI) ]  (d < 0),

the two being one entire function of d.  Otherwise the form is modal with the numeric
eigenvalues of A at the declared values: ``e^{−Aτ} = Σ_k Π_k e^{−λ_k τ}`` with the spectral
projectors Π_k = v_k w_kᵀ, a complex pair written as ``2 e^{−aτ}(Re Π cos bτ + Im Π sin bτ)``.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

__all__ = ["exp_minus_A"]


def _is_triangular(M: sp.Matrix) -> bool:
    return M.is_upper or M.is_lower


def _exact_eigenvalues(B: sp.Matrix, lam: sp.Symbol) -> list | None:
    """Eigenvalues of B with multiplicity when every one is rational in the entries."""
    n = B.shape[0]
    if _is_triangular(B):
        return [sp.cancel(B[i, i]) for i in range(n)]
    p = B.charpoly(lam).as_expr()
    _, factors = sp.factor_list(p, lam)
    out = []
    for fac, mult in factors:
        if sp.degree(fac, lam) != 1:
            return None
        root = sp.solve(fac, lam)[0]
        out.extend([sp.cancel(root)] * mult)
    return out if len(out) == n else None


def _group(eigs: list) -> list:
    """Equal eigenvalues adjacent (structural equality after cancellation)."""
    groups: list[list] = []
    for e in eigs:
        for g in groups:
            if sp.cancel(g[0] - e) == 0:
                g.append(e)
                break
        else:
            groups.append([e])
    return [e for g in groups for e in g]


def _putzer(B: sp.Matrix, eigs: list, tau: sp.Symbol) -> sp.Matrix:
    n = B.shape[0]
    eigs = _group(eigs)
    memo: dict = {}

    def dd(i: int, j: int):
        if (i, j) in memo:
            return memo[(i, j)]
        if sp.cancel(eigs[i] - eigs[j]) == 0:  # grouped: all of eigs[i..j] are equal
            k = j - i
            val = tau**k * sp.exp(eigs[i] * tau) / sp.factorial(k)
        else:
            val = (dd(i + 1, j) - dd(i, j - 1)) / sp.cancel(eigs[j] - eigs[i])
        memo[(i, j)] = val
        return val

    out = sp.zeros(n, n)
    P = sp.eye(n)
    for k in range(n):
        out += dd(0, k) * P
        P = P * (B - eigs[k] * sp.eye(n))
    return out


def _two_by_two(B: sp.Matrix, tau, values: dict):
    mu = sp.cancel(B.trace() / 2)
    d = sp.factor(sp.cancel(mu**2 - B.det()))
    Bm = B - mu * sp.eye(2)
    if d == 0:
        return sp.exp(mu * tau) * (sp.eye(2) + tau * Bm)
    dv = d.xreplace(values)
    if dv == 0:
        return None
    if dv > 0:
        w = sp.sqrt(d)
        return sp.exp(mu * tau) * (sp.cosh(w * tau) * sp.eye(2) + sp.sinh(w * tau) / w * Bm)
    w = sp.sqrt(-d)
    return sp.exp(mu * tau) * (sp.cos(w * tau) * sp.eye(2) + sp.sin(w * tau) / w * Bm)


def _modal(A: sp.Matrix, tau, values: dict) -> sp.Matrix:
    An = np.array(A.xreplace(values).evalf(), dtype=float)
    lam, V = np.linalg.eig(An)
    Winv = np.linalg.inv(V)
    n = An.shape[0]
    out = sp.zeros(n, n)
    done = np.zeros(n, bool)
    for k in range(n):
        if done[k]:
            continue
        a, b = float(lam[k].real), float(lam[k].imag)
        Pi = np.outer(V[:, k], Winv[k, :])
        if abs(b) <= 1e-12 * max(1.0, abs(a)):
            out += sp.Matrix(Pi.real) * sp.exp(-sp.Float(a) * tau)
            done[k] = True
            continue
        # its conjugate partner
        j = next(
            j for j in range(n) if not done[j] and j != k and abs(lam[j] - np.conj(lam[k])) < 1e-9
        )
        if b < 0:
            Pi, b = np.outer(V[:, j], Winv[j, :]), -b
        out += (
            2
            * sp.exp(-sp.Float(a) * tau)
            * (
                sp.Matrix(Pi.real) * sp.cos(sp.Float(b) * tau)
                + sp.Matrix(Pi.imag) * sp.sin(sp.Float(b) * tau)
            )
        )
        done[k] = done[j] = True
    return out


def exp_minus_A(A: sp.Matrix, tau: sp.Symbol, values: dict | None = None):
    """``(E, exact, form)``: ``E = e^{−Aτ}`` as a SymPy matrix in ``tau`` (and the parameters),
    ``exact`` whether it is exact in them, ``form`` the route ("diagonal", "eigenvalues",
    "2x2" or "modal").

    ``values`` (``{symbol: value}``) picks the branch of the 2×2 form and feeds the modal form.
    """
    values = values or {}
    B = -sp.Matrix(A)
    n = B.shape[0]
    if B.is_diagonal():
        return sp.diag(*[sp.exp(B[i, i] * tau) for i in range(n)]), True, "diagonal"
    lam = sp.Symbol("lambda_")
    eigs = _exact_eigenvalues(B, lam)
    if eigs is not None:
        distinct = [e for i, e in enumerate(eigs) if all(sp.cancel(e - f) != 0 for f in eigs[:i])]
        vdistinct = [complex(e.xreplace(values).evalf()) for e in distinct]
        collide = any(
            abs(x - y) < 1e-12 for i, x in enumerate(vdistinct) for y in vdistinct[i + 1 :]
        )
        if not collide or not values:
            return _putzer(B, eigs, tau), True, "eigenvalues"
    if n == 2:
        E = _two_by_two(B, tau, values)
        if E is not None:
            return E, True, "2x2"
    return _modal(A, tau, values), False, "modal"
