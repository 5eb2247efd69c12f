"""Coefficient observables of the short-time kernels.

For channels k = (k_1..k_n) and lag degrees p = (p_1..p_n) the Taylor
coefficient observables are

    G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ 𝓛₁^{k_1} 𝓛₀^{p_1} f            (operators act right to left)

and the kernels are the polynomials in the lags

    stationary:  K⁽ⁿ⁾_k(τ_1..τ_n)         ≈ Σ_p E_∞[G_{k,p}] Π_j τ_j^{p_j}/p_j!
    point start: K⁽ⁿ⁾_k(τ_1..τ_n, s_n)    ≈ Σ_{p,p'} (𝓛₀^{p'} G_{k,p})(h_0) s_n^{p'}/p'! Π_j τ_j^{p_j}/p_j!

with lags τ_1 = t − s_1, τ_j = s_{j−1} − s_j.  ``truncation="total"`` keeps
lag degrees with Σ p_j ≤ P (error O(|τ|^{P+1}), the cheap default);
``truncation="box"`` keeps every p_j ≤ P (same error order, far more work).
The observables are exact symbolic polynomials; only the expectation
(:mod:`symresp.expectation`) is numerical.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from symresp.errors import ArgumentError, UnsupportedError
from symresp.model.network import SRNN
from symresp.symbolic.algebra import RingAlgebra
from symresp.symbolic.expressions import derivation_latex, observable_exprs
from symresp.symbolic.fixedpoint import FixedPoly, to_fixed
from symresp.symbolic.generators import Generators
from symresp.symbolic.sizing import BYTES_PER_TERM, estimate_terms
from symresp.validation import check_budget, check_choice, check_int

__all__ = ["Derivation", "derive", "MAX_TERMS"]

#: Most terms a derivation may hold unless ``max_terms`` says otherwise, judged on the upper
#: bound of :func:`symresp.symbolic.sizing.estimate_terms` before any work (10⁹ terms would be
#: about 60 GiB; true counts are 1–110× below the bound).
MAX_TERMS = 10**9


def _lag_degrees(nlags: int, P: int, truncation: str):
    if truncation == "box":
        return list(itertools.product(range(P + 1), repeat=nlags))
    return [p for p in itertools.product(range(P + 1), repeat=nlags) if sum(p) <= P]


@dataclass
class Derivation:
    """All Taylor coefficient observables of a network up to order N and lag degree P.

    ``observables[(k, p)]`` is a list (one per readout component) of algebra elements
    G_{k,p}; for a point start the tuple ``p`` has n+1 entries (the last is the degree
    in s_n) and the element is 𝓛₀^{p_{n+1}} G_{k,p}, to be evaluated at h_0.
    ``k = ()`` holds the order-0 terms (E[f] at a stationary start, 𝓛₀^p f at a point start).
    """

    net: SRNN
    order: int
    P: int
    start: str
    truncation: str
    generators: Generators
    observables: dict = field(default_factory=dict)
    #: start-law machinery reused across kernels (moments, quadrature, evaluator)
    cache: dict = field(default_factory=dict, repr=False)
    #: True when the network's parameters (and irrational constants) are ring variables
    symbolic: bool = False
    #: "exact" (rational coefficients) or "float" (fixed point, see ``coefficient_error``)
    coefficients: str = "exact"
    #: {(k, p): [bound per readout]}: every coefficient of a "float" observable is within
    #: the bound of the exact one (empty for exact derivations)
    coefficient_error: dict = field(default_factory=dict)
    #: the upper bound on the number of terms computed before the derivation
    estimated_terms: int | None = None

    @property
    def max_coefficient_error(self) -> float:
        """The largest coefficient error bound over all observables (0 when exact)."""
        return max((e for es in self.coefficient_error.values() for e in es), default=0.0)

    @property
    def algebra(self):
        return self.generators.algebra

    @property
    def monomials(self) -> list:
        """The input operators (weight q, channel counts): channel k is monomial k, (1, e_k),
        unless the input sits inside a nonlinear activation."""
        return self.generators.monomials

    @property
    def local_terms(self) -> bool:
        """True when some monomial has weight > 1 (input inside a nonlinear activation)."""
        return any(q > 1 for q, _ in self.monomials)

    def weight(self, index) -> int:
        """The power of ε that multiplies a word of monomials: Σ_j q_{ν_j}."""
        return sum(self.monomials[k][0] for k in index)

    def indices(self, order: int):
        """All words of ``order`` input operators (0-based channels, or monomials: see
        :attr:`monomials`), of total weight ≤ the derivation's order."""
        return [
            w
            for w in itertools.product(range(len(self.monomials)), repeat=order)
            if self.weight(w) <= self.order
        ]

    def terms(self, order: int, index) -> dict:
        """{p: [G per readout]} for one order and channel tuple (0-based)."""
        index = tuple(index)
        if len(index) != order:
            raise ArgumentError(f"index {list(index)} must have {order} channels for order {order}")
        return {p: g for (k, p), g in self.observables.items() if k == index}

    def as_exprs(self, auxiliaries: str = "symbols") -> dict:
        """The observables as SymPy expressions, ``{(k, p): [one per readout]}``; the
        auxiliaries as symbols (``"symbols"``), as tanh(z1), … (``"z"``) or in h (``"h"``):
        :func:`symresp.symbolic.expressions.observable_exprs`."""
        return observable_exprs(self, auxiliaries)

    def _repr_latex_(self) -> str:
        return derivation_latex(self)

    def n_terms(self) -> int:
        """Total number of polynomial terms held (a measure of expression size)."""
        alg = self.algebra
        return sum(alg.n_terms(g) for gs in self.observables.values() for g in gs)


def derive(
    net: SRNN,
    order: int,
    taylor: int,
    *,
    start: str | None = None,
    truncation: str = "total",
    progress=None,
    symbolic: bool = False,
    coefficients: str = "exact",
    float_bits: int = 48,
    max_terms: int = MAX_TERMS,
) -> Derivation:
    """Derive the coefficient observables of the short-time kernels.

    .. math::

        G_{k,p} = 𝓛_1^{k_n} 𝓛_0^{p_n} ⋯ 𝓛_1^{k_1} 𝓛_0^{p_1} f

    for every word ``k`` of input operators of orders 0..``order`` and lag degrees
    ``p`` with ``Σ p_j ≤ taylor`` (``truncation="total"``) or every ``p_j ≤ taylor``
    (``"box"``).  At a point start the outermost propagator stays and each element is
    ``𝓛₀^{p_{n+1}} G_{k,p}`` (one more lag degree).  Shared prefixes are memoised:
    𝓛₀ is applied once per node of the tree of operator words.

    Parameters
    ----------
    net : SRNN
        The network (any smooth activation).
    order : int
        Highest order n of the kernels (≥ 0).
    taylor : int
        Highest lag degree P (≥ 0).
    start : {"stationary", "point"}, optional
        The start law; defaults to ``net.start``.
    truncation : {"total", "box"}
        Which lag degrees are kept.
    progress : tqdm-like, optional
        Updated once per application of 𝓛₀.
    symbolic : bool
        Keep the declared parameters (and irrational constants such as ``sqrt(2)``) as
        variables of the ring, so the observables are exact polynomials in them
        (``Derivation.net`` is then ``net.symbolic()``); by default they are numbers, the
        declared values, and the observables can be evaluated by the numeric routes.
    coefficients : {"exact", "float"}
        ``"exact"`` (default) keeps rational coefficients.  ``"float"`` holds the iterates as
        integers over 2^``float_bits`` (:mod:`symresp.symbolic.fixedpoint`): no growing
        rationals, so large derivations run about twice as fast; the observables are still
        elements of the ring (dyadic rationals) and ``Derivation.coefficient_error`` bounds,
        rigorously, how far each coefficient is from the exact one.  The bound adds up worst
        cases and is pessimistic for long operator words (8-unit tanh network, order 2,
        P = 6, 48 bits: bound 11, measured error 8e-10 on coefficients up to 2e4).
    float_bits : int
        Fractional bits of the ``"float"`` mode (16..1024).  Around 48 the integers stay
        within a machine word; 64 bits divide the bound by 2^16 but run slower than exact.
    max_terms : int
        Refuse, before any work, a derivation whose upper bound on the number of terms
        (:func:`symresp.symbolic.sizing.estimate_terms`, kept as
        ``Derivation.estimated_terms``) exceeds this (default :data:`MAX_TERMS`).  The bound
        covers derivations in the ring; with ``symbolic=True`` it counts the monomials in
        (h, auxiliaries), each of which may carry several monomials in the parameters, and a
        readout that is not polynomial in h (plain SymPy expressions) is not bounded.

    Returns
    -------
    Derivation
        The exact observables (elements of the network's ring) and their generators.
    """
    order = check_int(order, "order", minimum=0)
    taylor = check_int(taylor, "taylor (the highest lag degree P)", minimum=0)
    check_choice(truncation, "truncation", ("total", "box"))
    start = net.start if start is None else start
    check_choice(start, "start", ("stationary", "point"))
    P = int(taylor)
    check_choice(coefficients, "coefficients", ("exact", "float"))
    float_bits = check_int(float_bits, "float_bits", minimum=16, maximum=1024)
    max_terms = check_int(max_terms, "max_terms", minimum=1)
    if symbolic and coefficients != "exact":
        raise ArgumentError(
            "coefficients: symbolic=True needs coefficients='exact' (the parameters are ring "
            "variables); drop one of the two."
        )
    if symbolic:
        net = net.symbolic()
    # derivative-chain activations need one derivative per first-order step and two per 𝓛₀
    max_L0 = P * (order + 1) if truncation == "box" else P
    # monomials of weight q (input inside the activation) use q more derivatives of a
    extra = order if net.input_site == "activation" else 0
    gens = Generators(
        net,
        chain_length=2 * max_L0 + order + 1 + extra,
        max_weight=max(order, 1),
        symbolic=symbolic,
    )
    weights = [q for q, _ in gens.monomials]
    alg = gens.algebra
    f = [alg.lift(e) for e in net.readout]
    estimated = None
    if isinstance(alg, RingAlgebra):
        estimated = estimate_terms(gens, f, order, P, start, truncation)
        check_budget(
            estimated,
            f"derive(order={order}, P={P}): the bound on the number of polynomial terms",
            limit=max_terms,
            option="max_terms= (CLI: --max-terms)",
            unit="terms",
            nbytes=BYTES_PER_TERM * estimated,
        )
    elif coefficients == "float":
        raise UnsupportedError(
            "coefficients='float' needs the ring algebra (readout and coupling polynomial "
            "in h); use coefficients='exact'."
        )
    if coefficients == "float":
        f = [to_fixed(g, float_bits) for g in f]

    def remaining(ps):
        return P if truncation == "box" else P - sum(ps)

    observables = {}
    # frontier: (k, p) -> G_{k,p}, the elements right after the n-th input operator
    frontier = {((), ()): f}
    for n in range(order + 1):
        new_frontier = {}
        for (k, p), g in frontier.items():
            if start == "stationary":
                observables[(k, p)] = g
                if n == order:
                    continue  # the last propagator is absorbed by ρ_∞: no further 𝓛₀ needed
            chain = [g]
            for _ in range(remaining(p)):
                chain.append([gens.L0(x) for x in chain[-1]])
                if progress is not None:
                    progress.update(1)
            for q, gq in enumerate(chain):
                if start == "point":  # q is the degree in the outermost lag s_n
                    observables[(k, p + (q,))] = gq
                if n < order:
                    used = sum(weights[c] for c in k)
                    for ch, wt in enumerate(weights):
                        if used + wt <= order:
                            new_frontier[(k + (ch,), p + (q,))] = [gens.L1(x, ch) for x in gq]
        frontier = new_frontier
    errors = {}
    if coefficients == "float":
        for key, gs in observables.items():
            errors[key] = [g.bound if isinstance(g, FixedPoly) else 0.0 for g in gs]
            observables[key] = [g.to_exact(alg.ctx) if isinstance(g, FixedPoly) else g for g in gs]
    return Derivation(
        net=net,
        order=order,
        P=P,
        start=start,
        truncation=truncation,
        generators=gens,
        observables=observables,
        symbolic=symbolic,
        coefficients=coefficients,
        coefficient_error=errors,
        estimated_terms=estimated,
    )
