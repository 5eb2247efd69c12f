"""The differential algebra the generators act on.

Observables are polynomials in the state ``h`` and the activation auxiliaries
``A_{j,i} = A_j(z_i)`` (``z = W h + b``), with exact rational coefficients, held
as FLINT sparse multivariate polynomials over Q (python-flint ``fmpq_mpoly``:
exact, and about 40× faster here than SymPy's pure-Python ``PolyRing``).  The total derivative along ``h_k`` is

    ∂_k g = ∂g/∂h_k + Σ_i W_ik Σ_j (∂g/∂A_{j,i}) A_j'(z_i),

so derivatives never leave the ring.  When an observable (a readout or a
coupling) is not polynomial in h, :class:`ExprAlgebra` does the same job on
plain SymPy expressions (slower, but general).

Both algebras expose the same small interface used by :mod:`symresp.symbolic.generators`:
``lift`` (SymPy expression → element), ``directional(g, v)`` (Σ_k v_k ∂_k g),
``to_expr`` and ``n_terms``.
"""

from __future__ import annotations

from functools import cached_property

import flint
import sympy as sp

from symresp.errors import ArgumentError
from symresp.model.activations import _A, Z
from symresp.model.network import SRNN

__all__ = ["RingAlgebra", "ExprAlgebra", "make_algebra", "to_fmpq"]


def to_fmpq(x) -> flint.fmpq:
    """An exact FLINT rational from a SymPy/Python rational number; an irrational constant
    (``sqrt(2)``, ``pi/4``) becomes the rational value of its nearest double (the numeric
    routes' value; a symbolic derivation keeps it as a ring variable instead)."""
    x = sp.sympify(x)
    r = x if x.is_Rational else sp.Rational(float(x))
    return flint.fmpq(int(r.p), int(r.q))


def coefficient_generators(net: SRNN) -> list[sp.Expr]:
    """The non-rational coefficient atoms of a network's entries: its parameters (symbols)
    and irrational constants such as ``sqrt(2)``, ordered by name.

    Every entry of Γ, W, b, the coupling, σ, M and the readout is a polynomial in h whose
    coefficients are polynomials over Q in these generators (SymPy's ``Poly`` generators:
    ``1/k`` is a generator of its own), so they can be variables of the ring.
    """
    hs = list(net.h)
    gens: set = set()
    entries = [*net.Gamma, *net.W, *net.b, *net.coupling, *net.sigma, *net.M, *net.readout]
    for e in entries:
        e = sp.expand(sp.sympify(e))
        if e.is_Rational:
            continue
        if not e.is_polynomial(*hs):
            continue
        coeffs = sp.Poly(e, *hs).coeffs() if e.free_symbols & set(hs) else [e]
        for c in coeffs:
            if c.is_Rational:
                continue
            gens.update(sp.Poly(c).gens)
    return sorted(gens, key=sp.default_sort_key)


class RingAlgebra:
    """Polynomials in ``Q[h_1..h_n, A_{j,i}]`` with the total derivatives of

    Parameters
    ----------
    net : the network; its activation supplies the auxiliaries and their rules.
    chain_length : number of derivatives kept for derivative-chain activations
        (user expressions); ignored otherwise.
    """

    def __init__(self, net: SRNN, chain_length: int = 1, symbolic: bool = False):
        self.net = net
        act = net.activation.with_chain_length(chain_length)
        self.activation = act
        n, k = net.n, net.W.shape[0]
        self.n_units = k
        names = [f"h{i + 1}" for i in range(n)]
        aux_names = [f"{a}{i + 1}" for a in act.aux for i in range(k)]
        #: the coefficient generators kept as ring variables (parameters, sqrt(2), ...)
        self.coefficient_exprs = coefficient_generators(net) if symbolic else []
        coef_names = [f"_c{j}" for j in range(len(self.coefficient_exprs))]
        self.ctx = flint.fmpq_mpoly_ctx.get(tuple(names + aux_names + coef_names), "deglex")
        self.symbols = [sp.Symbol(s, real=True) for s in names + aux_names]
        self.coefficient_symbols = [sp.Symbol(s) for s in coef_names]
        self._coef_in = dict(zip(self.coefficient_exprs, self.coefficient_symbols))
        self._coef_out = dict(zip(self.coefficient_symbols, self.coefficient_exprs))
        self.symbols += self.coefficient_symbols
        gens = list(self.ctx.gens())
        self.zero = self.ctx.from_dict({})
        self.h = gens[:n]
        na = len(act.aux)
        # aux[j][i] is auxiliary j of unit i
        self.aux = [gens[n + j * k : n + (j + 1) * k] for j in range(na)]
        self.z = [self.lift(zi) for zi in net.z]
        # A_j'(z_i) as ring elements: substitute unit i's auxiliaries and z_i into the rule
        self.aux_rate = [[self._unit_poly(act.derivs[j], i) for i in range(k)] for j in range(na)]
        self.act = [self._unit_poly(act.value, i) for i in range(k)]
        self.Wq = [[self.coef(w) for w in row] for row in net.W.tolist()]
        self._index = {id(g): j for j, g in enumerate(gens)}
        self._h_index = list(range(n))
        self._aux_index = [[n + j * k + i for i in range(k)] for j in range(na)]

    # ------------------------------------------------------------- elements
    def const(self, x):
        """A constant element from a SymPy/Python number (exact), or from an expression of
        the coefficient generators in a symbolic ring."""
        x = sp.sympify(x)
        if self.coefficient_exprs and not x.is_Rational:
            return self.lift_expr(x)
        return self.ctx.constant(to_fmpq(x))

    def coef(self, x):
        """A coefficient (an entry of W, Γ, σ, ...): an fmpq when rational, else an element."""
        x = sp.sympify(x)
        if self.coefficient_exprs and not x.is_Rational:
            return self.lift_expr(x)
        return to_fmpq(x)

    def terms(self, g):
        """(exponent tuple, SymPy Rational) pairs of an element."""
        return [(m, sp.Rational(int(c.p), int(c.q))) for m, c in g.to_dict().items()]

    # ------------------------------------------------------------- conversion
    def _unit_poly(self, rule: sp.Expr, i: int):
        """A rule in (z, A0, A1, ...) for unit i, as a ring element."""
        na = len(self.aux)
        rule = sp.expand(rule)
        out = self.zero
        for term in sp.Add.make_args(rule):
            coeff, rest = term.as_coeff_Mul()
            val = self.const(coeff)
            for base, e in rest.as_powers_dict().items():
                if base == 1:
                    continue
                if base == Z:
                    val *= self.z[i] ** int(e)
                else:
                    j = _A.index(base)
                    if j >= na:
                        raise ArgumentError(
                            f"activation rule uses A{j} but only {na} auxiliaries exist"
                        )
                    val *= self.aux[j][i] ** int(e)
            out += val
        return out

    def lift(self, expr: sp.Expr):
        """A SymPy expression polynomial in h1..hn as a ring element (ValueError otherwise)."""
        expr = sp.sympify(expr)
        if not expr.is_polynomial(*self.net.h):
            raise ArgumentError(f"{expr} is not polynomial in {self.net.h}")
        return self.lift_expr(expr)

    def lift_expr(self, expr):
        """A SymPy expression in h and the activation (written as a(z_i)) as a ring element.

        Occurrences of each auxiliary's definition (e.g. tanh(z_i)) become the auxiliary; the
        result must then be polynomial in the ring variables (ValueError otherwise).
        """
        back = {v: s for s, v in self.aux_values().items()}
        back.update(self._coef_in)
        e = sp.expand(sp.sympify(expr).xreplace(back))
        if not e.is_polynomial(*self.symbols):
            raise ArgumentError(f"{expr} is not polynomial in h and the auxiliaries {self.symbols}")
        if not e.free_symbols:
            return self.const(e)
        poly = sp.Poly(e, *self.symbols)  # irrational constants: their double (to_fmpq)
        return self.ctx.from_dict({m: to_fmpq(c) for m, c in poly.terms()})

    @cached_property
    def aux_symbols(self) -> list[list[sp.Symbol]]:
        syms = self.symbols
        n, k = self.net.n, self.n_units
        return [[syms[n + j * k + i] for i in range(k)] for j in range(len(self.aux))]

    def aux_values(self) -> dict[sp.Symbol, sp.Expr]:
        """Each auxiliary symbol A_{j,i} → its value A_j(z_i) as a SymPy expression in h."""
        out = {}
        for j, row in enumerate(self.aux_symbols):
            for i, s in enumerate(row):
                out[s] = self.activation.aux_exprs[j].subs(Z, self.net.z[i])
        return out

    def to_expr(self, g, substitute: bool = False) -> sp.Expr:
        """The element as a SymPy expression in (h, auxiliaries), or in h alone if ``substitute``."""
        e = sp.Add(
            *[c * sp.Mul(*[s**k for s, k in zip(self.symbols, m) if k]) for m, c in self.terms(g)]
        )
        if self._coef_out:
            e = e.xreplace(self._coef_out)
        return e.xreplace(self.aux_values()) if substitute else e

    @property
    def variables(self) -> list[sp.Symbol]:
        """All ring variables (h first, then auxiliaries auxiliary-major)."""
        return list(self.symbols)

    @staticmethod
    def n_terms(g) -> int:
        return len(g)

    # ------------------------------------------------------------ derivatives
    def unit_chain(self, g, i: int):
        """D_i g = Σ_j (∂g/∂A_{j,i}) A_j'(z_i): the derivative of g along z_i through unit i's auxiliaries."""
        q = self.zero
        for j in range(len(self.aux)):
            dg = g.derivative(self._aux_index[j][i])
            if dg:
                q += dg * self.aux_rate[j][i]
        return q

    def aux_chain(self, g):
        """[D_1 g, …, D_k g] (empty for polynomial activations)."""
        return [self.unit_chain(g, i) for i in range(self.n_units)] if self.aux else []

    def directional(self, g, v, Wv=None, chain=None):
        """Σ_k v_k ∂_k g = Σ_k v_k ∂g/∂h_k + Σ_i (W v)_i D_i g for a vector v of elements or rationals.

        ``Wv`` (= W v) and ``chain`` (= :meth:`aux_chain` of g) may be passed when reused.
        """
        out = self.zero
        for k, vk in enumerate(v):
            if vk:
                dg = g.derivative(k)
                if dg:
                    out += dg * vk
        if self.aux:
            if Wv is None:
                Wv = self.matvec_W(v)
            for i, q in enumerate(self.aux_chain(g) if chain is None else chain):
                if q and Wv[i]:
                    out += q * Wv[i]
        return out

    def matvec_W(self, v):
        return [sum((vk * w for w, vk in zip(row, v) if w and vk), self.zero) for row in self.Wq]


class ExprAlgebra:
    """Plain SymPy expressions in h (fallback for non-polynomial readouts or couplings).

    Elements are expressions with the activation written out; derivatives are
    ``sympy.diff``.  Correct for any smooth expression, but expressions swell.
    """

    def __init__(self, net: SRNN):
        self.net = net
        self.h = list(net.h)
        self.activation = net.activation
        self.aux = []
        self.symbols = list(self.h)

    def const(self, x):
        return sp.sympify(x)

    def terms(self, g):
        poly = sp.Poly(sp.expand(g), *self.h)
        return [(m, c) for m, c in poly.terms()]

    def lift(self, expr):
        return sp.sympify(expr)

    def to_expr(self, g, substitute: bool = False):
        return g

    @property
    def variables(self):
        return list(self.h)

    def aux_values(self):
        return {}

    @staticmethod
    def n_terms(g) -> int:
        return len(sp.Add.make_args(sp.expand(g)))

    def directional(self, g, v, Wv=None):
        return sp.expand(
            sum((vk * sp.diff(g, hk) for vk, hk in zip(v, self.h) if vk), sp.Integer(0))
        )


def _polynomial_in_h(net: SRNN) -> bool:
    hs = net.h
    return all(e.is_polynomial(*hs) for e in list(net.readout) + list(net.coupling))


def make_algebra(net: SRNN, chain_length: int = 1, symbolic: bool = False):
    """The ring algebra when readout and coupling are polynomial in h, else the expression fallback.

    ``symbolic=True`` keeps the network's parameters and irrational constants as variables of
    the ring (polynomials over Q in them); otherwise they are numbers."""
    if not net.derivable:
        raise ArgumentError(
            f"activation {net.activation.name!r} is not smooth: kernels cannot be derived "
            "(simulation only)."
        )
    if _polynomial_in_h(net):
        return RingAlgebra(net, chain_length, symbolic=symbolic)
    return ExprAlgebra(net)
