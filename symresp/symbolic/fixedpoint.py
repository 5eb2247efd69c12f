"""Fixed-point coefficients with a rigorous rounding bound: ``derive(..., coefficients="float")``.

Exact rational coefficients grow (weights written with two decimals put a factor 100 into the
denominators at every use of W), and the growth, not the number of terms, dominates large
derivations.  Here a ring element g is held as an integer polynomial G with

    g ≈ G / 2^F          (F = ``precision`` fractional bits),

so every coefficient is a machine-sized integer while |g_m| 2^F < 2^62.  Derivatives, sums
and products with integer polynomials are exact; a product with a rational c = a/b (b > 1) or
with a small polynomial q = Z/b (Z integer) is rounded once, (G·a) // b or (G·Z) // b, an
error below one unit 2^{-F} per coefficient.  Each element carries e, a bound (in units 2^{-F})
on max_m |g_m − G_m/2^F| over all monomials, propagated as

    e(g ± h) = e(g) + e(h)                 e(∂g/∂x_k) = deg_k · e(g)
    e(c·g)   = |c| e(g) + [b > 1]          e(q·g)     = ‖q‖₁ e(g) + [b > 1]

with deg_k a bound on the degree in x_k of the exact element (tracked, since a coefficient
rounded to 0 leaves the computed support) and ‖q‖₁ the sum of |coefficients| of q.  The
bound is rigorous and usually pessimistic (it adds bounds of errors that sit on different
monomials).  The small pieces of the operators (drift, input fields, the auxiliaries' rates)
stay exact rationals; only the iterates are fixed point.
"""

from __future__ import annotations

import math

import flint

__all__ = ["FixedPoly", "to_fixed"]


def _integer_form(q):
    """(Z, b, ‖q‖₁, degrees) with q = Z / b for an exact element q: Z an integer polynomial
    (fmpz_mpoly), b ≥ 1 the least common denominator, degrees the largest exponent of each
    variable.  Used on the operators' small pieces and once on the readout."""
    terms = q.to_dict()
    b = math.lcm(*[int(c.q) for c in terms.values()]) if terms else 1
    names = q.context().names()
    Z = flint.fmpz_mpoly_ctx.get(names, "deglex").from_dict(
        {m: int(c.p) * (b // int(c.q)) for m, c in terms.items()}
    )
    norm1 = float(sum(abs(c) for c in terms.values()))
    degs = tuple(max((int(m[k]) for m in terms), default=0) for k in range(len(names)))
    return Z, b, norm1, degs


class FixedPoly:
    """A ring element as G / 2^bits with G an integer polynomial, and ``err`` a bound on the
    largest coefficient error in units of 2^{-bits}; ``degs`` bounds the degree of the exact
    element in each variable.  Supports what the generators use: ±, products with rationals
    and with exact (fmpq_mpoly) polynomials, ``derivative``, ``len`` and truth."""

    __slots__ = ("G", "bits", "err", "degs")

    def __init__(self, G, bits: int, err: float, degs: tuple):
        self.G, self.bits, self.err, self.degs = G, bits, err, degs

    def _like(self, G, err, degs=None):
        return FixedPoly(G, self.bits, err, self.degs if degs is None else degs)

    def _coerce(self, other):
        if isinstance(other, FixedPoly):
            return other
        return to_fixed(other, self.bits)

    def __add__(self, other):
        o = self._coerce(other)
        return self._like(self.G + o.G, self.err + o.err, tuple(map(max, self.degs, o.degs)))

    __radd__ = __add__

    def __sub__(self, other):
        o = self._coerce(other)
        return self._like(self.G - o.G, self.err + o.err, tuple(map(max, self.degs, o.degs)))

    def __rsub__(self, other):
        return self._coerce(other) - self

    def __neg__(self):
        return self._like(-self.G, self.err)

    def __mul__(self, other):
        if isinstance(other, flint.fmpq_mpoly):
            Z, b, norm1, degs = _integer_form(other)
            G = self.G * Z
            err = self.err * norm1
            if b > 1:
                G, err = G // b, err + 1
            return self._like(G, err, tuple(map(sum, zip(self.degs, degs))))
        if isinstance(other, FixedPoly):
            raise TypeError("FixedPoly * FixedPoly is not used by the generators")
        c = flint.fmpq(other)
        a, b = int(c.p), int(c.q)
        G = self.G * a
        err = self.err * abs(a) / b
        if b > 1:
            G, err = G // b, err + 1
        return self._like(G, err)

    __rmul__ = __mul__

    def __bool__(self):
        return bool(self.G) or self.err > 0

    def __len__(self):
        return len(self.G)

    def derivative(self, k: int):
        degs = self.degs[:k] + (max(self.degs[k] - 1, 0),) + self.degs[k + 1 :]
        return self._like(self.G.derivative(k), self.err * self.degs[k], degs)

    def to_exact(self, ctx):
        """The fixed-point value G / 2^bits as an exact element of ``ctx`` (an fmpq_mpoly)."""
        return ctx.from_dict({}) + flint.fmpq_mpoly(self.G) / (1 << self.bits)

    @property
    def bound(self) -> float:
        """The bound on the largest coefficient error, in the coefficients' own units."""
        return math.ldexp(self.err, -self.bits)


def to_fixed(q, bits: int) -> FixedPoly:
    """An exact element (fmpq_mpoly) as a :class:`FixedPoly` with ``bits`` fractional bits
    (error below one unit 2^{-bits} unless every denominator divides 2^bits)."""
    Z, b, _, degs = _integer_form(q)
    G = Z * (1 << bits)
    exact = (1 << bits) % b == 0
    return FixedPoly(G // b, bits, 0.0 if exact else 1.0, degs)
