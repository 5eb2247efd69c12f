"""Backward generator and input operators of an SRNN (THEORY §2).

    𝓛₀ g  = Σ_i φ_i ∂_i g + ½ Σ_ij Σ_ij ∂_i ∂_j g  =  (φ·∇) g + ½ Σ_r (σ_r·∇)² g
    𝓛₁ᵏ g = Σ_i γ_ik(h) ∂_i g

where σ_r is the r-th column of σ (Σ = σσᵀ, and σ is constant so the
second form equals the first).  Both act on the elements of an algebra from
:mod:`symresp.algebra`; with the ring algebra every iterate stays a polynomial
in (h, auxiliaries).
"""
from __future__ import annotations

import sympy as sp
from sympy import QQ

from .algebra import RingAlgebra, make_algebra
from .model import SRNN

__all__ = ["Generators"]


class Generators:
    """𝓛₀ and 𝓛₁ᵏ of ``net`` acting on elements of ``algebra``."""

    def __init__(self, net: SRNN, algebra=None, chain_length: int = 1):
        self.net = net
        self.algebra = make_algebra(net, chain_length) if algebra is None else algebra
        alg = self.algebra
        n = net.n
        if isinstance(alg, RingAlgebra):
            R = alg.ring
            q = lambda x: R(QQ.from_sympy(x))
            self.phi = []
            for i in range(n):
                v = R.zero
                for j in range(n):
                    if net.Gamma[i, j]:
                        v -= q(net.Gamma[i, j]) * alg.h[j]
                for j in range(alg.n_units):
                    if net.M[i, j]:
                        v += q(net.M[i, j]) * alg.act[j]
                self.phi.append(v)
            self.Wphi = alg.matvec_W(self.phi) if alg.aux else None
            self.sigma_cols = [[q(net.sigma[i, r]) for i in range(n)] for r in range(net.r)]
        else:
            self.phi = [alg.lift(e) for e in net.drift]
            self.Wphi = None
            self.sigma_cols = [[net.sigma[i, r] for i in range(n)] for r in range(net.r)]
        self.sigma_cols = [col for col in self.sigma_cols if any(col)]
        self.Wsigma = [alg.matvec_W(col) if alg.aux else None for col in self.sigma_cols]
        self.gamma = [[alg.lift(net.coupling[i, k]) for i in range(n)] for k in range(net.m)]
        self.Wgamma = [alg.matvec_W(col) if alg.aux else None for col in self.gamma]

    def L0(self, g):
        """𝓛₀ g = (φ·∇)g + ½ Σ_r (σ_r·∇)² g."""
        alg = self.algebra
        out = alg.directional(g, self.phi, self.Wphi)
        half = sp.Rational(1, 2) if not isinstance(alg, RingAlgebra) else QQ(1, 2)
        for col, Wcol in zip(self.sigma_cols, self.Wsigma):
            d1 = alg.directional(g, col, Wcol)
            out += alg.directional(d1, col, Wcol) * half
        return out

    def L1(self, g, k: int):
        """𝓛₁ᵏ g = Σ_i γ_ik ∂_i g  (k is the 0-based channel)."""
        if not 0 <= k < self.net.m:
            raise ValueError(f"channel index {k + 1} out of range 1..{self.net.m}")
        return self.algebra.directional(g, self.gamma[k], self.Wgamma[k])

    def L0_powers(self, g, p: int) -> list:
        """[g, 𝓛₀g, …, 𝓛₀ᵖg]."""
        out = [g]
        for _ in range(p):
            out.append(self.L0(out[-1]))
        return out
