"""Backward generator and input operators of an SRNN.

    𝓛₀ g  = Σ_i φ_i ∂_i g + ½ Σ_ij Σ_ij ∂_i ∂_j g  =  (φ·∇) g + ½ Σ_r (σ_r·∇)² g
    𝓛₁ᵏ g = Σ_i γ_ik(h) ∂_i g

where σ_r is the r-th column of σ (Σ = σσᵀ, and σ is constant so the
second form equals the first).  With the input inside a nonlinear activation the
input operators are the 𝓛_ν of the input monomials u^ν of (see :class:`Generators`).  All act
on the elements of an algebra from
:mod:`symresp.symbolic.algebra`; with the ring algebra every iterate stays a polynomial
in (h, auxiliaries).
"""

from __future__ import annotations

import itertools

import flint
import numpy as np
import sympy as sp

from symresp.errors import ArgumentError, UnsupportedError
from symresp.model.activations import _A, Z
from symresp.model.network import SRNN
from symresp.symbolic.algebra import RingAlgebra, make_algebra

__all__ = [
    "Generators",
    "input_monomials",
    "monomials_through",
    "monomial_fields",
    "monomial_inputs",
]


def input_monomials(m: int, max_weight: int) -> list:
    """The monomials ν = (q, counts) of with weight q ≤ ``max_weight``: every
    monomial u^ν = Π_c u_c^{counts_c} of degree q in the m input channels, by weight, then
    in reverse lexicographic order of counts (so weight 1 lists channels 1..m in order)."""
    out = []
    for q in range(1, max_weight + 1):
        combos = sorted(
            (c for c in itertools.product(range(q + 1), repeat=m) if sum(c) == q), reverse=True
        )
        out.extend((q, tuple(c)) for c in combos)
    return out


def monomials_through(m: int, index: int) -> list:
    """The shortest :func:`input_monomials` list that contains monomial ``index`` (0-based);
    lists for higher weights extend those for lower ones, so a monomial's number is fixed."""
    weight = 1
    while len(input_monomials(m, weight)) <= index:
        weight += 1
    return input_monomials(m, weight)


def monomial_inputs(U, monomials):
    """The monomials' inputs u^ν = Π_c u_c^{m_c} at every row of U (npoints, m): (npoints, L)."""
    U = np.asarray(U, float).reshape(len(U), -1)
    return np.column_stack([np.prod(U ** np.array(c), axis=1) for _, c in monomials])


def _monomial_weight(net: SRNN, j: int, counts) -> sp.Expr:
    """Π_c C_jc^{m_c}/m_c!: unit j's share of (Cu)_j^q/q! that multiplies u^ν."""
    return sp.Mul(
        *[sp.sympify(net.coupling[j, c]) ** e / sp.factorial(e) for c, e in enumerate(counts)]
    )


def monomial_fields(net: SRNN, monomials) -> sp.Matrix:
    """γ_ν(h) as SymPy expressions in h, one column per monomial (q, counts):
    γ_ν,i = Σ_j M_ij a⁽q⁾(z_j) Π_c C_jc^{m_c}/m_c! ."""
    cols = []
    for q, counts in monomials:
        dq = sp.diff(net.activation.expr, Z, q)
        v = sp.Matrix(
            [dq.subs(Z, zj) * _monomial_weight(net, j, counts) for j, zj in enumerate(net.z)]
        )
        cols.append(net.M * v)
    return sp.Matrix.hstack(*cols)


class Generators:
    """𝓛₀ and 𝓛₁ᵏ of ``net`` acting on elements of ``algebra``.

    ``monomials`` lists the input operators: for an additive input (or a linear activation)
    monomial k is channel k, (1, e_k); with the input inside a nonlinear activation
    they are (q, counts) for every monomial u^ν of the inputs of
    degree q ≤ ``max_weight``, and ``L1(g, ν)`` applies 𝓛_ν g = Σ_i γ_ν,i ∂_i g, the
    ε^q u^ν part of the perturbed drift.
    """

    def __init__(
        self,
        net: SRNN,
        algebra=None,
        chain_length: int = 1,
        max_weight: int = 1,
        symbolic: bool = False,
    ):
        self.net = net
        self.algebra = make_algebra(net, chain_length, symbolic) if algebra is None else algebra
        alg = self.algebra
        n = net.n
        if isinstance(alg, RingAlgebra):
            q = alg.const
            self.phi = []
            for i in range(n):
                v = alg.zero
                for j in range(n):
                    if net.Gamma[i, j]:
                        v -= q(net.Gamma[i, j]) * alg.h[j]
                for j in range(alg.n_units):
                    if net.M[i, j]:
                        v += q(net.M[i, j]) * alg.act[j]
                self.phi.append(v)
            self.Wphi = alg.matvec_W(self.phi) if alg.aux else None
            self.sigma_cols = [[alg.coef(net.sigma[i, r]) for i in range(n)] for r in range(net.r)]
        else:
            self.phi = [alg.lift(e) for e in net.drift]
            self.Wphi = None
            self.sigma_cols = [[net.sigma[i, r] for i in range(n)] for r in range(net.r)]
        self.sigma_cols = [col for col in self.sigma_cols if any(col)]
        self.Wsigma = [alg.matvec_W(col) if alg.aux else None for col in self.sigma_cols]
        if net.input_monomials:
            if not isinstance(alg, RingAlgebra):
                raise UnsupportedError(
                    "input inside the activation needs the ring algebra (readout "
                    "polynomial in h); simulate such networks instead (symresp simulate)."
                )
            self.monomials = input_monomials(net.m, max_weight)
            self.gamma = [self._activation_monomial(q, counts) for q, counts in self.monomials]
        else:  # additive, or a linear activation (a(z + εCu) = z + εCu: coupling M C)
            self.monomials = [(1, tuple(int(c == k) for c in range(net.m))) for k in range(net.m)]
            self.gamma = [[alg.lift(net.input_field[i, k]) for i in range(n)] for k in range(net.m)]
        self.Wgamma = [alg.matvec_W(col) if alg.aux else None for col in self.gamma]

    def _activation_monomial(self, q: int, counts: tuple) -> list:
        """γ_ν for the monomial ν = (q, counts) of:
        γ_ν,i = Σ_j M_ij a⁽q⁾(z_j) Π_c C_jc^{m_c}/m_c!,  so that
        φ(h, εu) − φ(h, 0) = Σ_ν ε^q u^ν γ_ν with u^ν = Π_c u_c^{m_c}."""
        alg, net = self.algebra, self.net
        act = alg.activation
        rule = act.value
        for _ in range(q):  # d/dz of a polynomial rule in (z, A): ∂_z + Σ_j A_j' ∂_{A_j}
            rule = sp.expand(
                sp.diff(rule, Z)
                + sum(
                    (sp.diff(rule, a) * d for a, d in zip(_A[: len(act.aux)], act.derivs)),
                    sp.Integer(0),
                )
            )
        deriv = [alg._unit_poly(rule, j) for j in range(alg.n_units)]
        weights = [_monomial_weight(net, j, counts) for j in range(alg.n_units)]
        out = []
        for i in range(net.n):
            v = alg.zero
            for j in range(alg.n_units):
                if net.M[i, j] and weights[j]:
                    v += deriv[j] * alg.const(net.M[i, j] * weights[j])
            out.append(v)
        return out

    def L0(self, g):
        """𝓛₀ g = (φ·∇)g + ½ Σ_r (σ_r·∇)² g."""
        alg = self.algebra
        if isinstance(alg, RingAlgebra) and alg.aux:
            return self._L0_ring(g)
        out = alg.directional(g, self.phi, self.Wphi)
        half = sp.Rational(1, 2) if not isinstance(alg, RingAlgebra) else flint.fmpq(1, 2)
        for col, Wcol in zip(self.sigma_cols, self.Wsigma):
            d1 = alg.directional(g, col, Wcol)
            out += alg.directional(d1, col, Wcol) * half
        return out

    def _L0_ring(self, g):
        # ∂_k = ∂/∂h_k + Σ_i W_ik D_i, with D_i the derivative along z_i through unit i's
        # auxiliaries.  The gradient ∇g is formed once (scalar combinations of ∂g/∂h_k and D_i g)
        # and reused by the drift and the noise; for constant σ_r the second-order part is
        #   Σ_r (σ_r·∇) d_r = Σ_r Σ_k σ_kr ∂d_r/∂h_k + Σ_i D_i[Σ_r (Wσ_r)_i d_r],  d_r = σ_r·∇g,
        # so only O(n) products of large polynomials by small ones remain per application.
        alg = self.algebra
        n = self.net.n
        chain = alg.aux_chain(g)
        grad = []
        for k in range(n):
            gk = g.derivative(k)
            for i, row in enumerate(alg.Wq):
                if row[k] and chain[i]:
                    gk += chain[i] * row[k]
            grad.append(gk)
        out = alg.zero
        for phik, gk in zip(self.phi, grad):
            if gk:
                out += gk * phik
        if not self.sigma_cols:
            return out
        inner = alg.zero
        S = [alg.zero for _ in range(alg.n_units)]
        for col, Wcol in zip(self.sigma_cols, self.Wsigma):
            d = alg.zero
            for ck, gk in zip(col, grad):
                if ck and gk:
                    d += gk * ck
            if not d:
                continue
            for k, ck in enumerate(col):
                if ck:
                    dk = d.derivative(k)
                    if dk:
                        inner += dk * ck
            for i, wi in enumerate(Wcol):
                if wi:
                    S[i] += d * wi
        for i, Si in enumerate(S):
            if Si:
                inner += alg.unit_chain(Si, i)
        return out + inner * flint.fmpq(1, 2)

    def L1(self, g, k: int):
        """𝓛₁ᵏ g = Σ_i γ_ik ∂_i g  (k is the 0-based channel, or monomial: see ``monomials``)."""
        if not 0 <= k < len(self.gamma):
            raise ArgumentError(f"k: channel {k} out of range 0..{len(self.gamma) - 1} (0-based)")
        return self.algebra.directional(g, self.gamma[k], self.Wgamma[k])

    def L0_powers(self, g, p: int) -> list:
        """[g, 𝓛₀g, …, 𝓛₀ᵖg]."""
        out = [g]
        for _ in range(p):
            out.append(self.L0(out[-1]))
        return out
