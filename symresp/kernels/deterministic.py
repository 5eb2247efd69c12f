"""Volterra kernels of the noiseless network at a fixed point (deterministic limit σ → 0).

Put σ = 0, h_0 = h*, φ(h*) = 0 and J = Dφ(h*); the first- and second-order kernels
of any smooth network follow from expanding h = h* + εx_1 + ε²x_2 + …, the second
one evaluated exactly by a block-matrix (Van Loan) exponential.
"""

from __future__ import annotations

import warnings

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError, UnsupportedError
from symresp.kernels.base import Kernel
from symresp.kernels.propagators import expm_lags
from symresp.model.network import SRNN
from symresp.model.numeric import numeric_network
from symresp.symbolic.generators import monomial_fields, monomials_through

__all__ = ["deterministic_kernel", "DeterministicKernel", "find_fixed_point"]


# ------------------------------------------------------ deterministic limit
def find_fixed_point(net: SRNN, guess=None, *, tol: float = 1e-12):
    """Solve φ(h*) = 0 from ``guess`` (default h_0, else 0): (h*, residual ‖φ(h*)‖_∞).

    See :meth:`symresp.model.numeric.NumericNetwork.find_fixed_point`."""
    return numeric_network(net).find_fixed_point(guess, tol=tol)


def _bilinear_tensor(exprs: sp.Matrix, hs, point: dict) -> np.ndarray:
    """Second derivatives ∂_a∂_b e_i at a point → array (len(exprs), n, n)."""
    n = len(hs)
    return np.array(
        [
            [[float(sp.diff(e, hs[a], hs[b]).subs(point)) for b in range(n)] for a in range(n)]
            for e in exprs
        ],
        float,
    )


class DeterministicKernel(Kernel):
    """Volterra kernels of the noiseless network expanded at a fixed point (σ → 0).

    Derivation.  Put σ = 0, h_0 = h*, φ(h*) = 0, J = Dφ(h*), Γ* = γ(h*) (columns C_k),
    and expand h = h* + εx_1 + ε²x_2 + …:

        ẋ_1 = J x_1 + Γ* u,
        ẋ_2 = J x_2 + ½ D²φ(h*)[x_1, x_1] + Σ_k Dγ_k(h*)[x_1] u^k,
        f(h) = f(h*) + ε ∇f x_1 + ε² (∇f x_2 + ½ D²f[x_1, x_1]) + …

    with x_1(r) = ∫_0^r e^{J(r−s)} Γ* u(s) ds.  Order 1: K⁽¹⁾_k(t; s) = ∇f e^{J(t−s)} C_k.
    Order 2: the ½ D²φ and ½ D²f terms are double integrals over the cube [0, r]² with
    a kernel symmetric under exchanging (s_1, k_1) ↔ (s_2, k_2); the simplex kernel
    (t > s_1 > s_2, V_2 = ∫_{t>s_1>s_2} K⁽²⁾ u u) is the sum over both argument orders, which
    cancels the ½:

        K⁽²⁾_{k_1k_2}(t; s_1, s_2) = ∫_{s_1}^{t} ∇f e^{J(t−r)} D²φ[e^{J(r−s_1)}C_{k_1}, e^{J(r−s_2)}C_{k_2}] dr
                                   + D²f[e^{J(t−s_1)}C_{k_1}, e^{J(t−s_2)}C_{k_2}]
                                   + ∇f e^{J(t−s_1)} Dγ_{k_1}[e^{J(s_1−s_2)}C_{k_2}]

    (the last line only for a state-dependent coupling: the input at the later time
    s_1 acts through Dγ on the first-order deviation caused at s_2).

    With the input inside a nonlinear activation, φ(h, u) = −Γh + M a(Wh + b + εCu), the same
    formulas hold with
    the channels replaced by monomials ν (``index`` numbers them as
    :attr:`symresp.symbolic.recursion.Derivation.monomials`) and γ_ν = M a⁽q⁾(z) ⊙ Π_c C_c^{m_c}/m_c!:
    every monomial is a first-order operator; the series at order n sums words of weight n.

    The integral, with r = s_1 + θ and e^{Jθ}x ⊗ e^{Jθ}y = e^{(J⊕J)θ}(x ⊗ y), is
    ``∇f X(τ_1) (C_{k_1} ⊗ e^{Jτ_2}C_{k_2})`` with X(τ) = ∫_0^τ e^{J(τ−θ)} B e^{(J⊕J)θ} dθ,
    B the n×n² matrix of D²φ(h*).  X(τ) is the upper-right block of
    expm(τ [[J, B], [0, J⊕J]]) (Van Loan 1978): exact, no quadrature error, valid for
    unstable J as well, and cheap (size n + n²).

    Lags.  At a fixed point the solution is time-translation invariant, so the kernel
    depends on (τ_1..τ_n) only.  ``start="stationary"`` (the noiseless network's invariant
    law at a stable fixed point is δ_{h*}) takes the lags of a stationary kernel,
    (τ_1..τ_n), ``nlags = n``; ``start="point"`` takes those of a point start,
    (τ_1..τ_n, s_n), ``nlags = n + 1``, and ignores s_n.  Either way the kernel is the one
    of the network started at h* (h_0, when given, is only the guess for the root of φ).
    Attributes ``h_star``, ``residual``, ``jacobian``, ``eigenvalues``,
    ``stable`` (all eigenvalues of J with negative real part).
    """

    method = "deterministic"

    def __init__(self, net: SRNN, order: int, index, h_star=None, start: str = "point"):
        if order not in (1, 2):
            raise UnsupportedError(
                f"deterministic kernels are implemented for orders 1 and 2, "
                f"not {order}; use the methods 'taylor' (point start, σ → 0) or 'mc'"
            )
        self.net, self.order, self.index, self.start = net, order, tuple(index), start
        hs = list(net.h)
        num = numeric_network(net)  # φ, Dφ, D²φ: the network's one numeric definition
        if h_star is None:
            self.h_star, self.residual = num.find_fixed_point()
        else:
            self.h_star = np.asarray(h_star, float).ravel()
            self.residual = float(np.max(np.abs(num.phi(self.h_star))))
            if self.residual > 1e-8:
                warnings.warn(
                    f"h_star is not a fixed point: ‖φ(h*)‖_∞ = {self.residual:.3g}", stacklevel=3
                )
        pt = dict(zip(hs, (sp.Float(x, 30) for x in self.h_star)))
        n = net.n
        if net.input_monomials:  # the input inside a nonlinear activation: monomials u^ν
            gamma = monomial_fields(net, monomials_through(net.m, max(self.index)))
        else:
            gamma = net.input_field
        f = sp.Matrix(net.readout)
        ev = lambda M: np.array(M.subs(pt).evalf(), float)
        self.jacobian = J = num.jacobian(self.h_star)
        self.eigenvalues = np.linalg.eigvals(J)
        self.stable = bool(np.all(self.eigenvalues.real < 0))
        if not self.stable:
            warnings.warn(
                f"the fixed point {np.round(self.h_star, 6).tolist()} is not stable "
                f"(eigenvalues of J: {np.round(self.eigenvalues, 6).tolist()}); the kernels "
                "grow with the lags and describe a trajectory that leaves it",
                stacklevel=3,
            )
        self.C = ev(gamma)  # n×m, γ(h*)
        self.grad_f = ev(f.jacobian(hs))  # p×n
        self.hess_f = _bilinear_tensor(f, hs, pt)  # p×n×n
        self.hess_phi = num.hessian(self.h_star)  # n×n×n, [i, a, b] = ∂_a∂_b φ_i
        # Dγ_k(h*): n×n per channel (zero for a constant coupling)
        self.dgamma = [ev(gamma[:, k].jacobian(hs)) for k in range(gamma.shape[1])]
        if order == 2:
            I = np.eye(n)
            K = np.kron(J, I) + np.kron(I, J)  # J ⊕ J acts on x ⊗ y
            Bm = self.hess_phi.reshape(n, n * n)  # D²φ[x, y] = Bm (x ⊗ y)
            self._vanloan = np.block([[J, Bm], [np.zeros((n * n, n)), K]])

    def _metadata(self) -> dict:
        return {
            "h_star": self.h_star.tolist(),
            "residual": float(self.residual),
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "stable": bool(self.stable),
            "ignored_lag": "s_n" if self.start == "point" else None,
        }

    def _repr_fields(self) -> dict:
        return {"h_star": [round(float(x), 6) for x in self.h_star], "stable": self.stable}

    def _as_expr(self):
        """Modal closed form: with J = Q Λ Q⁻¹, g = ∇f Q, c_j = Q⁻¹ C_{k_j},
        T_{iab} = (Q⁻¹ D²φ[Q_a, Q_b])_i, H_{ab} = D²f[Q_a, Q_b] and G = Q⁻¹ Dγ_{k_1} Q,

            K⁽¹⁾ = Σ_i g_i c_{1i} e^{λ_i τ_1},
            K⁽²⁾ = Σ_{iab} g_i T_{iab} c_{1a} c_{2b} e^{λ_b τ_2} E(λ_a + λ_b, λ_i; τ_1)
                 + Σ_{ab} H_{ab} c_{1a} c_{2b} e^{λ_a τ_1 + λ_b (τ_1 + τ_2)}
                 + Σ_{ib} g_i G_{ib} c_{2b} e^{λ_i τ_1 + λ_b τ_2},

        E(μ, λ; τ) = ∫_0^τ e^{λ(τ−θ)} e^{μθ} dθ = (e^{μτ} − e^{λτ})/(μ − λ), and τ e^{λτ}
        at a resonance μ = λ.  The sum is real, so each term is replaced by its real part
        (conjugate pairs merged first): e^{Re z·τ}(Re c cos(Im z·τ) − Im c sin(Im z·τ)).
        """
        taus = self.lag_symbols()
        terms = self._modal_terms()
        p = self.grad_f.shape[0]
        exprs = [_real_exponential_sum(terms[o], taus[: self.order]) for o in range(p)]
        info = {
            "exact": False,  # exact in the lags; h* and the eigen-decomposition are floats
            "form": "modal",
            "lags": [str(t) for t in taus],
            "parameters": {str(k): v for k, v in self.net.parameters},
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "note": "exponentials of the eigenvalues of J = Dφ(h*) in the lags, "
            "floating-point coefficients (h* and the eigen-decomposition are numeric)"
            + ("; the last lag s_n is ignored" if self.start == "point" else ""),
        }
        return (exprs[0] if p == 1 else sp.Matrix(exprs)), info

    def _modal_terms(self) -> list:
        """Per output: {(power of τ_1, exponent of τ_1, exponent of τ_2): coefficient}."""
        lam, Q = np.linalg.eig(self.jacobian)
        n = len(lam)
        scale = max(1.0, float(np.max(np.abs(lam))))
        lam = np.where(np.abs(lam.imag) <= 1e-13 * scale, lam.real, lam)
        if np.linalg.cond(Q) > 1e8:
            raise UnsupportedError(
                "the modal closed form needs a diagonalisable Jacobian; J = Dφ(h*) is "
                f"(nearly) defective (eigenvalues {np.round(self.eigenvalues, 6).tolist()}); "
                "evaluate the kernel numerically instead"
            )
        Qi = np.linalg.inv(Q)
        g = self.grad_f @ Q  # p×n
        c1 = Qi @ self.C[:, self.index[0]]
        p = g.shape[0]
        out = [{} for _ in range(p)]

        def add(o, key, coef):
            if coef != 0:
                key = tuple(key[:1]) + tuple(complex(z) for z in key[1:])
                out[o][key] = out[o].get(key, 0) + complex(coef)

        if self.order == 1:
            for o in range(p):
                for i in range(n):
                    add(o, (0, lam[i], 0), g[o, i] * c1[i])
            return out
        c2 = Qi @ self.C[:, self.index[1]]
        # T[i, a, b] = (Q⁻¹ D²φ[Q_a, Q_b])_i,  H[o, a, b] = D²f_o[Q_a, Q_b]
        T = np.einsum("ij,jkl,ka,lb->iab", Qi, self.hess_phi, Q, Q)
        H = np.einsum("okl,ka,lb->oab", self.hess_f, Q, Q)
        G = Qi @ self.dgamma[self.index[0]] @ Q
        for o in range(p):
            for i in range(n):
                for a in range(n):
                    for b in range(n):
                        coef = g[o, i] * T[i, a, b] * c1[a] * c2[b]
                        if coef == 0:
                            continue
                        mu, li = lam[a] + lam[b], lam[i]
                        d = mu - li
                        if abs(d) <= 1e-9 * max(1.0, abs(mu), abs(li)):  # resonance: τ_1 e^{λτ_1}
                            add(o, (1, (mu + li) / 2, lam[b]), coef)
                        else:
                            add(o, (0, mu, lam[b]), coef / d)
                            add(o, (0, li, lam[b]), -coef / d)
            for a in range(n):
                for b in range(n):
                    add(o, (0, lam[a] + lam[b], lam[b]), H[o, a, b] * c1[a] * c2[b])
            for i in range(n):
                for b in range(n):
                    add(o, (0, lam[i], lam[b]), g[o, i] * G[i, b] * c2[b])
        return out

    def _evaluate(self, lags) -> np.ndarray:
        batch = lags.shape[:-1]
        flat = lags.reshape(int(np.prod(batch)), self.nlags)
        J, n = self.jacobian, self.net.n
        E1 = expm_lags(flat[:, 0], J)  # e^{Jτ_1}
        c1 = self.C[:, self.index[0]]
        if self.order == 1:
            out = np.einsum("pi,xij,j->xp", self.grad_f, E1, c1)
            return out.reshape(batch + (out.shape[-1],))
        c2 = self.C[:, self.index[1]]
        E2 = expm_lags(flat[:, 1], J)  # e^{Jτ_2}
        y2 = E2 @ c2  # e^{Jτ_2} C_{k_2}
        X = expm_lags(flat[:, 0], self._vanloan)[:, :n, n:]
        w = np.einsum("i,xj->xij", c1, y2).reshape(-1, n * n)  # C_{k_1} ⊗ e^{Jτ_2}C_{k_2}
        integral = np.einsum("pi,xij,xj->xp", self.grad_f, X, w)
        a = E1 @ c1  # e^{Jτ_1} C_{k_1}
        b = np.einsum("xij,xj->xi", E1, y2)  # e^{J(τ_1+τ_2)} C_{k_2}
        readout = np.einsum("pij,xi,xj->xp", self.hess_f, a, b)
        coupling = np.einsum("pi,xij,jk,xk->xp", self.grad_f, E1, self.dgamma[self.index[0]], y2)
        out = integral + readout + coupling
        return out.reshape(batch + (out.shape[-1],))


def _real_exponential_sum(terms: dict, taus) -> sp.Expr:
    """Σ Re(c τ_1^q e^{z·τ}) over ``terms`` {(q, z_1, z_2…): c} as a real SymPy expression.

    Terms whose exponents agree to rounding, or are complex conjugates, are merged first
    (Re(c e^{z̄·τ}) = Re(c̄ e^{z·τ})); coefficients at rounding level are dropped."""
    merged: dict = {}
    for key, c in terms.items():
        q, zs = key[0], np.array(key[1:], complex)
        # canonical representative of {z, z̄}: first nonzero imaginary part positive
        nz = [z.imag for z in zs if abs(z.imag) > 0]
        if nz and nz[0] < 0:
            zs, c = zs.conj(), np.conj(c)
        rk = (q,) + tuple((round(z.real, 11), round(z.imag, 11)) for z in zs)
        if rk in merged:
            merged[rk][1] += c
        else:
            merged[rk] = [zs, c]
    if not merged:
        return sp.Integer(0)
    big = max(abs(c) for _, c in merged.values())
    out = []
    for (q, *_), (zs, c) in sorted(merged.items(), key=lambda kv: kv[0]):
        if abs(c) <= 1e-14 * big:
            continue
        re = sp.Add(*[sp.Float(float(z.real), 17) * t for z, t in zip(zs, taus) if z.real != 0])
        im = sp.Add(*[sp.Float(float(z.imag), 17) * t for z, t in zip(zs, taus) if z.imag != 0])
        poly = taus[0] ** q
        if im == 0:
            out.append(sp.Float(float(c.real), 17) * poly * sp.exp(re))
        else:
            osc = sp.Float(float(c.real), 17) * sp.cos(im) - sp.Float(float(c.imag), 17) * sp.sin(
                im
            )
            out.append(poly * sp.exp(re) * osc)
    return sp.Add(*out)


def deterministic_kernel(
    net: SRNN, order: int, index=None, h_star=None, *, start: str = "point"
) -> DeterministicKernel:
    """K⁽ⁿ⁾ (n = 1, 2) of the noiseless network at a fixed point h*, φ(h*) = 0.

    σ of the spec is ignored (the limit σ = 0).  ``h_star`` defaults to the root of φ
    found from h_0 (or 0); see :class:`DeterministicKernel` for the formulas.  ``start``
    only sets the lag convention: "point" (the default here, lags (τ_1..τ_n, s_n) with s_n
    ignored) or "stationary" (lags (τ_1..τ_n)); :func:`symresp.kernel` passes the spec's.
    """
    if start not in ("stationary", "point"):
        raise ArgumentError(f"start: expected 'stationary' or 'point', got {start!r}")
    if not isinstance(order, (int, np.integer)) or order < 1:
        raise ArgumentError(f"order: expected 1 or 2, got {order!r}")
    index = (0,) * order if index is None else tuple(int(k) for k in index)
    top = 10**6 if net.input_monomials else net.m  # monomials: any number (see monomials_through)
    if len(index) != order or any(not 0 <= k < top for k in index):
        what = (
            "monomial(s), each 0-based ≥ 0"
            if net.input_monomials
            else f"channel(s), each 0-based in 0..{net.m - 1}"
        )
        raise ArgumentError(f"index: expected {order} {what}, got {list(index)}")
    if not net.derivable:
        raise ArgumentError(
            f"the activation {net.activation.name!r} is not smooth: no Jacobian at the "
            "fixed point; use the method 'mc'"
        )
    return DeterministicKernel(net, int(order), index, h_star, start)
