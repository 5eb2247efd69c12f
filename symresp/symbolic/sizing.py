"""An upper bound on the size of a derivation, computed before any operator is applied.

Every element of the ring is a polynomial in the state h (n variables) and the auxiliaries
(n_A variables).  Its support lies in the set of monomials whose h-degree is at most a,
auxiliary degree at most c and total degree at most d, so it has at most

    N(a, c, d) = Σ_{i ≤ a} Σ_{j ≤ min(c, d − i)} C(n − 1 + i, i) · C(n_A − 1 + j, j)

terms.  The box (a, c, d) of 𝓛₀ g and 𝓛₁ g follows from that of g and those of the small
pieces of the operators (the drift φ, the input fields γ_ν and the auxiliaries' rates A_j'):

    ∂_k g = ∂g/∂h_k + Σ_i W_ik Σ_j (∂g/∂A_{j,i}) A_j'(z_i)
        → (a − 1, c, d − 1) ∪ (a + a', c − 1 + c', d − 1 + d')       [(a', c', d') of the rates]
    𝓛₀ g = φ·∇g + ½ Σ_r (σ_r·∇)² g  → box(φ) + box(∇g)  ∪  box(∇∇g)
    𝓛₁ g = γ·∇g                      → box(γ) + box(∇g)

(∪ is the componentwise maximum, + the componentwise sum).  Summing N over the operator
words of :func:`symresp.symbolic.recursion.derive` bounds the number of terms it holds.
The bound ignores cancellations and which monomials of a box are reachable, so it is above
the true count: 1 to 12 times on tanh, sigmoid and softplus networks of 1 to 4 units up to
order 2 (``tests/test_derive_limits.py`` checks the factor), 42 times for an 8-unit tanh network
at order 2, P = 6, and up to about 110 times for activations given as expressions, whose
derivative chains add auxiliaries.
"""

from __future__ import annotations

from math import comb

__all__ = ["estimate_terms", "BYTES_PER_TERM"]

#: Memory per term of a derivation's exact polynomials, for the message of a refused request:
#: the packed exponent vector and a multi-limb rational coefficient (an estimate, not a bound).
BYTES_PER_TERM = 64


def _box(alg, g):
    """(h-degree, auxiliary degree, total degree) of a (small) ring element; None for 0."""
    if not g:
        return None
    n, na = alg.net.n, alg.net.n + sum(len(r) for r in alg.aux)
    degs = [(sum(m[:n]), sum(m[n:na]), sum(m[:na])) for m in g.monoms()]
    return tuple(max(d[i] for d in degs) for i in range(3))


def _union(*boxes):
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return tuple(max(b[i] for b in boxes) for i in range(3))


def _plus(b, s):
    if b is None or s is None:
        return None
    return (b[0] + s[0], b[1] + s[1], b[2] + s[2])


def _monomials(n: int, n_aux: int, box) -> int:
    """N(a, c, d): monomials with h-degree ≤ a, auxiliary degree ≤ c, total degree ≤ d."""
    if box is None:
        return 0
    a, c, d = box
    total = 0
    for i in range(min(a, d) + 1):
        hs = comb(n - 1 + i, i)
        if n_aux:
            total += hs * sum(comb(n_aux - 1 + j, j) for j in range(min(c, d - i) + 1))
        else:
            total += hs
    return total


class _Boxes:
    """The degree boxes of a network's operator pieces and the box maps of ∇, 𝓛₀ and 𝓛₁."""

    def __init__(self, gens):
        alg = gens.algebra
        self.alg = alg
        self.rate = _union(*[_box(alg, r) for row in alg.aux_rate for r in row])
        self.phi = _union(*[_box(alg, p) for p in gens.phi])
        self.gamma = [_union(*[_box(alg, x) for x in col]) for col in gens.gamma]
        self.noise = bool(gens.sigma_cols)

    def grad(self, b):
        if b is None:
            return None
        a, c, d = b
        parts = []
        if a >= 1:
            parts.append((a - 1, c, d - 1))
        if c >= 1 and self.rate is not None:
            ra, rc, rd = self.rate
            parts.append((a + ra, c - 1 + rc, d - 1 + rd))
        return _union(*parts)

    def L0(self, b):
        g = self.grad(b)
        return _union(_plus(g, self.phi), self.grad(g) if self.noise else None)

    def L1(self, b, k: int):
        return _plus(self.grad(b), self.gamma[k])


def estimate_terms(gens, readout, order: int, P: int, start: str, truncation: str) -> int:
    """An upper bound on ``Derivation.n_terms()`` of ``derive(net, order, P, ...)``, from the
    degree boxes of the readout and the operator pieces of ``gens`` (a
    :class:`~symresp.symbolic.generators.Generators` on the ring algebra); walks the same
    tree of operator words as the derivation, with boxes in place of polynomials."""
    alg = gens.algebra
    B = _Boxes(gens)
    n = alg.net.n
    n_aux = sum(len(r) for r in alg.aux)
    weights = [q for q, _ in gens.monomials]

    def remaining(ps):
        return P if truncation == "box" else P - sum(ps)

    # the boxes depend on a word only through (boxes, lag degrees left, weight used), so equal
    # states are merged and carry their multiplicity
    total = sum(len(g) for g in readout) if start == "stationary" else 0
    frontier = {(tuple(_box(alg, g) for g in readout), P, 0): 1}
    for level in range(order + 1):
        new_frontier: dict = {}
        for (bs, left, used), mult in frontier.items():
            if start == "stationary" and level:
                total += mult * sum(_monomials(n, n_aux, b) for b in bs)
            if start == "stationary" and level == order:
                continue
            chain = [bs]
            for _ in range(left):
                chain.append(tuple(B.L0(b) for b in chain[-1]))
            for q, bq in enumerate(chain):
                if start == "point":
                    total += mult * sum(_monomials(n, n_aux, b) for b in bq)
                if level < order:
                    rest = P if truncation == "box" else left - q
                    for ch, wt in enumerate(weights):
                        if used + wt <= order:
                            key = (tuple(B.L1(b, ch) for b in bq), rest, used + wt)
                            new_frontier[key] = new_frontier.get(key, 0) + mult
        frontier = new_frontier
    return total
