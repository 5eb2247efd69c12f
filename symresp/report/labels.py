"""LaTeX names: the ring variables (h_i, the auxiliaries T_i, S_i, …), channels, the
observables G_{k;p}, their values c_{k;p}, the lags and the kernels K^{(n)}_k.

Units, channels and outputs are 1-based in the document (0-based in Python).
"""

from __future__ import annotations

import math
import re

import numpy as np
import sympy as sp

from symresp.model.activations import Z
from symresp.model.network import SRNN
from symresp.report.printing import (
    _float_term,
    _number_latex,
    _rows,
    _Term,
    _term,
    _text,
)
from symresp.symbolic.algebra import RingAlgebra


class _Names:
    """LaTeX names of the ring variables h_i and auxiliaries (T_i, S_i, …)."""

    def __init__(self, net: SRNN, algebra, *, rounded: bool = False):
        self.net = net
        self.algebra = algebra
        #: coefficients are fixed-point roundings: print them as decimals, not as the
        #: dyadic fractions they are stored as (which would read as exact)
        self.rounded = rounded
        act = getattr(algebra, "activation", net.activation)
        self.activation = act
        self.by_name: dict[str, str] = {f"h{i + 1}": f"h_{{{i + 1}}}" for i in range(net.n)}
        self.aux_latex: list[str] = []
        units = net.W.shape[0]
        for j, a in enumerate(act.aux):
            lx = act.latex_aux[j] if j < len(act.latex_aux) else _text(a)
            self.aux_latex.append(lx)
            for i in range(units):
                self.by_name[f"{a}{i + 1}"] = self.aux_symbol(j, i)
        for i in range(units):
            self.by_name[f"z{i + 1}"] = f"z_{{{i + 1}}}"

    def aux_symbol(self, j: int, i: int) -> str:
        lx = self.aux_latex[j]
        if "^" in lx:  # derivative chain a^{(j)}: write a^{(j)}(z_i)
            return f"{lx}(z_{{{i + 1}}})"
        return f"{lx}_{{{i + 1}}}"

    def symbol(self, s: sp.Symbol) -> str:
        return self.by_name.get(s.name, sp.latex(s))

    def symbol_names(self, expr) -> dict:
        return {s: self.symbol(s) for s in getattr(expr, "free_symbols", ())}

    def monomial(self, names: list[str], exps) -> str:
        parts = []
        for nm, e in zip(names, exps):
            if e == 1:
                parts.append(nm)
            elif e:
                parts.append(f"{nm}^{{{e}}}")
        return " ".join(parts)

    # -------------------------------------------------------------- terms
    def ring_terms(self, g) -> list[_Term]:
        """Summands of a ring element, by increasing total degree."""
        coef = getattr(self.algebra, "coefficient_symbols", None)
        if coef:  # parameters are ring variables: coefficients are expressions in them
            gens = [x for x in self.algebra.symbols if x not in set(coef)]
            return self.expr_terms(self.algebra.to_expr(g), gens)
        names = [self.symbol(s) for s in self.algebra.symbols]
        n = self.net.n
        items = [(tuple(int(e) for e in m), c) for m, c in self.algebra.terms(g)]
        items.sort(key=lambda mc: (sum(mc[0]), -sum(mc[0][:n]), tuple(-e for e in mc[0])))
        if self.rounded:
            return [_float_term(float(c), self.monomial(names, m), digits=12) for m, c in items]
        return [_term(c, self.monomial(names, m)) for m, c in items]

    def expr_terms(self, expr, gens=None) -> list[_Term]:
        """Summands of a SymPy expression (polynomial parts by increasing degree)."""
        expr = sp.expand(sp.sympify(expr))
        if expr == 0:
            return []
        gens = (
            sorted(expr.free_symbols, key=_var_key)
            if gens is None
            else [s for s in gens if s in expr.free_symbols]
        )
        if gens and expr.is_polynomial(*gens):
            poly = sp.Poly(expr, *gens)
            names = [self.symbol(s) for s in gens]
            items = sorted(poly.terms(), key=lambda mc: (sum(mc[0]), tuple(-e for e in mc[0])))
            return [_term(c, self.monomial(names, m)) for m, c in items]
        if not gens:
            return [_term(expr, "")]
        out = []
        for t in sp.Add.make_args(expr):
            c, rest = t.as_coeff_Mul()
            out.append(
                _term(c, "" if rest == 1 else sp.latex(rest, symbol_names=self.symbol_names(rest)))
            )
        return out

    def element_terms(self, g) -> list[_Term]:
        if isinstance(self.algebra, RingAlgebra):
            return self.ring_terms(g)
        # expression algebra: show a(z_i)-type subexpressions as the auxiliaries
        e = sp.expand(self.algebra.to_expr(g))
        back, syms = {}, []
        for j, a in enumerate(self.activation.aux):
            for i, zi in enumerate(self.net.z):
                sym = sp.Symbol(f"{a}{i + 1}")
                back[self.activation.aux_exprs[j].subs(Z, zi)] = sym
                syms.append(sym)
        if back:
            e = sp.expand(e.xreplace(back))
        return self.expr_terms(e, list(self.net.h) + syms)

    def inline(self, expr, gens=None) -> str:
        """A short expression on one line."""
        rows, _ = _rows(self.expr_terms(expr, gens), per_row=10**6, width=1e9, max_terms=10**6)
        return rows[0]


def _var_key(s: sp.Symbol):
    m = re.match(r"([A-Za-z_]+?)(\d*)$", s.name)
    if not m:
        return (2, s.name, 0)
    return (0 if m.group(1) == "h" else 1, m.group(1), int(m.group(2) or 0))


def _expr_matrix(M: sp.Matrix, names: _Names) -> str:
    rows = []
    for i in range(M.rows):
        rows.append(
            " & ".join(_number_latex(x) if x.is_number else names.inline(x) for x in M.row(i))
        )
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"


def _to_aux(expr, algebra):
    """Replace a(z_i)-values (e.g. tanh(z_i)) in ``expr`` by the auxiliary symbols."""
    try:
        vals = algebra.aux_values()
    except Exception:  # noqa: BLE001 - printing only
        return expr
    if not vals:
        return expr
    back = {v: s for s, v in vals.items()}
    return sp.expand(sp.sympify(expr).xreplace(back))


# ====================================================================== labels
def _chan(k) -> str:
    return r"\,".join(str(int(x) + 1) for x in k)


def _pstr(p) -> str:
    return r"\,".join(str(int(x)) for x in p)


def _g_label(k, p) -> str:
    return rf"G_{{{_chan(k)};\,{_pstr(p)}}}" if k else rf"G_{{\varnothing;\,{_pstr(p)}}}"


def _c_label(k, p) -> str:
    return rf"c_{{{_chan(k)};\,{_pstr(p)}}}" if k else rf"c_{{\varnothing;\,{_pstr(p)}}}"


def _word(k, p, start: str, out: str) -> str:
    """The operator word 𝓛₁^{k_n}𝓛₀^{p_n}⋯𝓛₁^{k_1}𝓛₀^{p_1} f (point start: 𝓛₀^{p_{n+1}} in front)."""
    n = len(k)
    lag = list(p[:n])
    parts = []
    if start == "point":
        q = int(p[n])
        if q:
            parts.append(r"\mathcal{L}_0" + (f"^{{{q}}}" if q > 1 else ""))
    for j in reversed(range(n)):
        parts.append(rf"\mathcal{{L}}_1^{{{int(k[j]) + 1}}}")
        if lag[j]:
            parts.append(r"\mathcal{L}_0" + (f"^{{{lag[j]}}}" if lag[j] > 1 else ""))
    return "".join(parts) + (" " if parts else "") + out


def _tau(j: int) -> str:
    return rf"\tau_{{{j}}}"


def _lag_names(order: int, start: str, *, order0_time: str = "t") -> list[str]:
    names = [_tau(j + 1) for j in range(order)]
    if start == "point":
        names.append(rf"s_{{{order}}}" if order else order0_time)
    return names


def _lag_monomial(names, p) -> tuple[str, int]:
    mono = " ".join((nm if e == 1 else f"{nm}^{{{e}}}") for nm, e in zip(names, p) if e)
    fact = int(np.prod([math.factorial(int(e)) for e in p])) if len(p) else 1
    return mono, fact


def _kernel_symbol(order: int, k, start: str, out: str = "") -> str:
    args = ", ".join(_lag_names(order, start))
    return rf"K^{{({order})}}_{{{_chan(k)}}}({args}){out}"
