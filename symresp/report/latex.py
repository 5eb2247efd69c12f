"""A standalone LaTeX report of a derivation.

:func:`latex_document` turns a :class:`~symresp.symbolic.recursion.Derivation` into a
self-contained LaTeX document (``article`` with ``amsmath``, ``amssymb`` and
``geometry`` only, all in ``texlive-latex-base``): the model with its numbers,
the auxiliary variables and their derivative rules, the generators, the
conjugate observable where it is known, the kernel recursion and its
short-time form, every Taylor coefficient observable ``G_{k;p}`` with its
value ``c_{k;p}`` when an expectation route exists, and the Volterra series
up to the derived order.  :func:`write_latex` writes the file and optionally
compiles it with ``pdflatex``.

Long sums are split over aligned rows (at most ``terms_per_row`` terms, and
fewer when the terms are wide); a polynomial with more than ``max_terms`` terms
is truncated with a note giving the number of terms left out.  Channels,
units and outputs are 1-based.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import sympy as sp

from symresp.errors import LatexError
from symresp.expectation import gaussian as ex
from symresp.expectation.conjugate import conjugate_observable
from symresp.expectation.gibbs import is_gradient, isotropic_noise
from symresp.expectation.start_law import expect as _expect
from symresp.files import output_path, write_atomic
from symresp.kernels.taylor import TaylorKernel
from symresp.model.activations import _A, Z
from symresp.model.network import SRNN
from symresp.symbolic.algebra import RingAlgebra

__all__ = ["latex_document", "write_latex", "compile_latex", "LatexError"]

TERMS_PER_ROW = 4
MAX_TERMS = 60
ROW_WIDTH = 78  # estimated visible characters per row of a display
MAX_OBSERVABLES = 400  # G_{k;p} entries printed in full (the rest: values only)


# =================================================================== small printers
def _text(s: str) -> str:
    """Escape plain text for LaTeX."""
    rep = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
    }
    return "".join(rep.get(c, c) for c in str(s))


def _rational(q, *, unit: bool = False) -> tuple[int, str]:
    """(sign, |q| as LaTeX) for an exact number; with ``unit`` a coefficient 1 prints as ''."""
    q = sp.nsimplify(q) if isinstance(q, sp.Float) else sp.sympify(q)
    if q.is_Rational:
        sign = -1 if q < 0 else 1
        a = abs(q)
        if a.q == 1:
            return sign, ("" if unit and a == 1 else str(a.p))
        return sign, rf"\tfrac{{{a.p}}}{{{a.q}}}"
    if q.could_extract_minus_sign():
        return -1, _wrap(sp.latex(-q))
    return 1, _wrap(sp.latex(q))


def _wrap(s: str) -> str:
    return rf"\left({s}\right)" if any(c in s for c in "+-") and not s.startswith(r"\left(") else s


def _float(x: float, digits: int = 6) -> str:
    """A float in LaTeX, scientific notation as ``a \\times 10^{k}``."""
    x = float(x)
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return r"\text{" + str(x) + "}"
    s = f"{x:.{digits}g}"
    if "e" in s:
        mant, ex = s.split("e")
        return rf"{mant} \times 10^{{{int(ex)}}}"
    return s


def _number_latex(x) -> str:
    """An exact number (or float) as LaTeX with its sign."""
    if isinstance(x, (float, np.floating)):
        return _float(x)
    sign, body = _rational(x)
    body = body or "1"
    return ("-" if sign < 0 else "") + body


def _value_latex(value, stderr=None) -> str:
    """A coefficient value: exact rationals as fraction ≈ decimal, floats as decimals."""
    if isinstance(value, (sp.Rational, Fraction)) and not isinstance(value, sp.Integer):
        q = (
            sp.Rational(value.numerator, value.denominator)
            if isinstance(value, Fraction)
            else value
        )
        if q.q == 1:
            return str(q.p)
        if len(str(q.p)) + len(str(q.q)) <= 24:
            return (
                rf"{'-' if q < 0 else ''}\tfrac{{{abs(q.p)}}}{{{q.q}}} \approx {_float(float(q))}"
            )
        return rf"{_float(float(q), 10)}\ (\text{{exact rational}})"
    if isinstance(value, sp.Integer):
        return str(int(value))
    s = _float(value)
    if stderr is not None and np.isfinite(stderr):
        s += rf" \pm {_float(stderr, 2)}"
    return s


def _visible_width(s: str) -> float:
    """A rough width of a LaTeX math string in characters (to fill rows)."""
    s = re.sub(
        r"\\t?frac\{([^{}]*)\}\{([^{}]*)\}",
        lambda m: "x" * max(len(m.group(1)), len(m.group(2))),
        s,
    )
    s = re.sub(r"\^\{([^{}]*)\}", lambda m: "x" * math.ceil(len(m.group(1)) * 0.6), s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: "x" * math.ceil(len(m.group(1)) * 0.6), s)
    s = re.sub(r"\\mathcal\{(\w)\}", "L", s)
    s = re.sub(r"\\(left|right|bigl|bigr|Bigl|Bigr|,|;|!|quad|qquad)", "", s)
    s = re.sub(
        r"\\(tanh|sinh|cosh|sin|cos|tan|exp|log|operatorname)", lambda m: "x" * len(m.group(1)), s
    )
    s = re.sub(r"\\[a-zA-Z]+", "x", s)
    s = s.replace("{", "").replace("}", "").replace(" ", "")
    return float(len(s))


class _Term:
    """One summand: sign (±1) and its absolute value as LaTeX (a coefficient times a monomial)."""

    __slots__ = ("sign", "body")

    def __init__(self, sign: int, body: str):
        self.sign = sign
        self.body = body or "1"


def _term(coeff, monomial: str) -> _Term:
    sign, c = _rational(coeff, unit=bool(monomial))
    body = f"{c}\\,{monomial}" if c and monomial else (c or monomial)
    return _Term(sign, body)


def _float_term(value: float, monomial: str) -> _Term:
    sign = -1 if value < 0 else 1
    c = _float(abs(value))
    if monomial and c == "1":
        return _Term(sign, monomial)
    body = f"{c}\\,{monomial}" if monomial else c
    return _Term(sign, body)


def _rows(
    terms: list[_Term],
    *,
    per_row: int = TERMS_PER_ROW,
    width: float = ROW_WIDTH,
    max_terms: int = MAX_TERMS,
) -> tuple[list[str], int]:
    """Split a sum into rows (LaTeX strings, the first without a leading '+').

    Returns the rows and the number of terms left out beyond ``max_terms``.
    """
    if not terms:
        return ["0"], 0
    shown, left = terms[:max_terms], max(0, len(terms) - max_terms)
    rows, cur, cur_w = [], [], 0.0
    for t in shown:
        w = _visible_width(t.body) + 2
        if cur and (len(cur) >= per_row or cur_w + w > width):
            rows.append(cur)
            cur, cur_w = [], 0.0
        cur.append(t)
        cur_w += w
    rows.append(cur)
    out = []
    for r, row in enumerate(rows):
        parts = []
        for j, t in enumerate(row):
            if r == 0 and j == 0:
                parts.append(("-" if t.sign < 0 else "") + t.body)
            else:
                parts.append(("- " if t.sign < 0 else "+ ") + t.body)
        out.append(" ".join(parts))
    return out, left


def _equation(
    lhs: str,
    terms: list[_Term],
    *,
    max_terms: int = MAX_TERMS,
    per_row: int = TERMS_PER_ROW,
    extra_rows: tuple[str, ...] = (),
    lhs_width: float | None = None,
    rows_only: bool = False,
    rel: str = "=",
):
    """``align*`` block ``lhs = sum`` with the sum split over rows (and optional extra rows).

    With ``rows_only`` the rows are returned as a list, to be grouped by :func:`_align`.
    """
    lw = _visible_width(lhs) if lhs_width is None else lhs_width
    width = max(28.0, ROW_WIDTH + 10 - lw) if lw < 40 else ROW_WIDTH
    rows, left = _rows(terms, per_row=per_row, width=width, max_terms=max_terms)
    lines = []
    if lw >= 40:  # a long left-hand side gets its own row
        lines.append(f"&{lhs} {rel} {{}}")
        lines.extend(rf"&\qquad {r}" for r in rows)
    else:
        lines.append(f"{lhs} &{rel} {rows[0]}")
        lines.extend(rf"&\quad {r}" for r in rows[1:])
    if left:
        lines.append(rf"&\quad + \dots\ \text{{($\dots$ {left} more terms; see JSON output)}}")
    lines.extend(extra_rows)
    if rows_only:
        return lines
    return _align(lines)


_GAP = "\x00gap"


def _align(lines: list[str]) -> str:
    """One ``align*`` environment holding the given rows (``_GAP`` adds space between rows)."""
    body, sep = [], ""
    for line in lines:
        if line == _GAP:
            sep = " \\\\[6pt]\n" if body else ""
            continue
        body.append(sep + line if body else line)
        sep = " \\\\\n"
    if not body:
        return ""
    return "\\begin{align*}\n" + "".join(body) + "\n\\end{align*}\n"


# ============================================================== expressions → terms
class _Names:
    """LaTeX names of the ring variables h_i and auxiliaries (T_i, S_i, …)."""

    def __init__(self, net: SRNN, algebra):
        self.net = net
        self.algebra = algebra
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
        names = [self.symbol(s) for s in self.algebra.symbols]
        n = self.net.n
        items = [(tuple(int(e) for e in m), c) for m, c in self.algebra.terms(g)]
        items.sort(key=lambda mc: (sum(mc[0]), -sum(mc[0][:n]), tuple(-e for e in mc[0])))
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


def _matrix(M: sp.Matrix) -> str:
    rows = [
        " & ".join(_number_latex(x) if x.is_number else sp.latex(x) for x in M.row(i))
        for i in range(M.rows)
    ]
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"


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


# ================================================================ the document
def _preamble(title: str) -> str:
    return rf"""\documentclass[10pt]{{article}}
\usepackage[a4paper,margin=2cm]{{geometry}}
\usepackage{{amsmath}}
\usepackage{{amssymb}}
\allowdisplaybreaks
\setlength{{\parindent}}{{0pt}}
\setlength{{\parskip}}{{4pt}}
\newcommand{{\Einf}}{{\mathbb{{E}}_\infty}}
\title{{{title}}}
\author{{generated by \texttt{{symresp}}}}
\date{{}}
\begin{{document}}
\maketitle
"""


def _model_section(net: SRNN, names: _Names, alg) -> str:
    n, m = net.n, net.m
    act = net.activation
    out = [r"\section{The model}"]
    out.append(
        rf"A stochastic recurrent network with $n = {n}$ hidden units, $m = {m}$ input "
        rf"channel{'s' if m > 1 else ''} and $p = {net.p}$ output{'s' if net.p > 1 else ''} "
        r"is the It\^o SDE"
    )
    if net.input_site == "activation":
        out.append(
            r"\begin{align*}"
            r"dh_t &= \bigl[-\Gamma h_t + M\,a(W h_t + b + \varepsilon C u_t)\bigr]\,dt"
            r" + \sigma\,dW_t, \qquad y_t = f(h_t),\end{align*}"
        )
        out.append(r"with the input inside the activation.")
    else:
        out.append(
            r"\begin{align*}"
            r"dh_t &= \bigl[\varphi(h_t) + \varepsilon\,\gamma(h_t)\,u_t\bigr]\,dt"
            r" + \sigma\,dW_t, \qquad y_t = f(h_t), \\"
            r"\varphi(h) &= -\Gamma h + "
            + ("W^{\\top}" if net.form == "hopfield" else "")
            + r"a(W h + b),\end{align*}"
        )
    a_lx = sp.latex(act.expr.subs(Z, sp.Symbol("z")))
    out.append(rf"activation $a(z) = {a_lx}$ applied elementwise, and")
    mats = [rf"\Gamma = {_matrix(net.Gamma)}", rf"W = {_matrix(net.W)}", rf"b = {_matrix(net.b)}"]
    if net.form == "hopfield":
        mats.append(rf"M = W^{{\top}} = {_matrix(net.M)}")
    out.append(r"\begin{align*}" + r", \qquad ".join(mats) + r".\end{align*}")
    if net.form == "hopfield":
        out.append(
            r"The network has the Hopfield (gradient) form: the activations are "
            r"fed back through $M = W^{\top}$."
        )
    # pre-activations and the drift written out
    zs = [sp.Symbol(f"z{i + 1}") for i in range(net.W.shape[0])]
    hs = list(net.h)
    zlines = []
    if not net.is_linear:
        for i, zi in enumerate(net.z):
            zlines.extend(_equation(f"z_{{{i + 1}}}", names.expr_terms(zi, hs), rows_only=True))
    phi_lines = []
    for i in range(n):
        if net.is_linear:
            e = net.drift[i]
            terms = names.expr_terms(e, hs)
        else:
            e = -(net.Gamma.row(i) * sp.Matrix(hs))[0, 0] + sum(
                net.M[i, j] * sp.Symbol(f"__a{j}") for j in range(len(zs))
            )
            terms = []
            for t in names.expr_terms(-(net.Gamma.row(i) * sp.Matrix(hs))[0, 0], hs):
                terms.append(t)
            for j in range(len(zs)):
                if net.M[i, j]:
                    az = sp.latex(act.expr.subs(Z, sp.Symbol(f"z_{j + 1}")))
                    terms.append(_term(net.M[i, j], az))
        phi_lines.extend(_equation(rf"\varphi_{{{i + 1}}}(h)", terms, rows_only=True))
    if zlines:
        out.append(r"The pre-activations $z = W h + b$ are")
        out.append(_align(zlines))
    out.append(r"and the drift, written out, is")
    out.append(_align(phi_lines))
    # coupling, noise, readout
    if net.constant_coupling:
        out.append(r"The input coupling is constant, $\gamma(h) = C$ with")
        out.append(rf"\[ C = {_matrix(net.coupling)} \]")
    else:
        out.append(r"The input coupling $\gamma(h)$ (column $k$ drives channel $u^k$) is")
        out.append(rf"\[ \gamma(h) = {_expr_matrix(net.coupling, names)} \]")
    out.append(r"The noise matrix and the diffusion matrix $\Sigma = \sigma\sigma^{\top}$ are")
    out.append(rf"\[ \sigma = {_matrix(net.sigma)}, \qquad \Sigma = {_matrix(net.Sigma)}. \]")
    out.append(r"The readout is")
    ro_lines = []
    for j, fj in enumerate(net.readout):
        lhs = f"f_{{{j + 1}}}(h)" if net.p > 1 else "f(h)"
        ro_lines.extend(_equation(lhs, names.expr_terms(fj, hs), rows_only=True))
    out.append(_align(ro_lines))
    # start law
    if net.start == "point" and net.h0 is not None:
        h0 = ", ".join(_number_latex(x) for x in net.h0)
        out.append(
            rf"The start is a point, $\mu_0 = \delta_{{h_0}}$ with "
            rf"$h_0 = ({h0})^{{\top}}$."
        )
    else:
        out.append(
            r"The start is stationary: $\mu_0 = \rho_\infty$, the invariant law of the "
            r"unperturbed network ($\varepsilon = 0$), and $\Einf$ denotes expectation under it."
        )
    out.append(_stationary_law(net))
    return "\n".join(out) + "\n"


def _stationary_law(net: SRNN) -> str:
    if net.is_linear:
        try:
            mvec, S = ex.gaussian_stationary(net)
        except Exception as exc:  # noqa: BLE001
            return rf"(The Gaussian stationary law could not be computed: {_text(exc)}.)"
        return (
            r"The network is linear, $\varphi(h) = -A h + M b$ with $A = \Gamma - M W$, so "
            r"$\rho_\infty = \mathcal{N}(m_\infty, S)$ with $A m_\infty = M b$ and "
            r"$A S + S A^{\top} = \Sigma$:"
            rf"\[ A = {_matrix(net.A)}, \qquad m_\infty = {_matrix(mvec)}, \qquad "
            rf"S = {_matrix(S)}. \]"
        )
    s2 = isotropic_noise(net)
    if s2 is not None and is_gradient(net):
        return (
            r"The drift is a gradient, $\varphi = \nabla\Phi$, and the noise isotropic, "
            rf"$\Sigma = {_number_latex(s2)}\,I$, so $\rho_\infty \propto "
            rf"\exp\bigl(2\Phi/{_wrap(_number_latex(s2))}\bigr)$ is known up to its "
            r"normalisation; stationary expectations are quadratures."
        )
    return (
        r"The stationary law $\rho_\infty$ has no closed form for this network; stationary "
        r"expectations need samples of it (Monte Carlo)."
    )


def _aux_section(net: SRNN, names: _Names, alg, gens) -> str:
    act = names.activation
    out = [r"\section{Auxiliary variables}"]
    if not act.aux:
        out.append(
            rf"The activation $a(z) = {sp.latex(act.expr.subs(Z, sp.Symbol('z')))}$ is a "
            r"polynomial: the generators map polynomials in $h$ to polynomials in $h$ and "
            r"no auxiliary variable is needed. Every observable below is a polynomial in "
            r"$h_1, \dots, h_n$ with exact rational coefficients."
        )
        return "\n".join(out) + "\n"
    units = net.W.shape[0]
    if not act.chain:
        out.append(
            r"The activation is closed under differentiation through auxiliary variables, "
            r"one per hidden unit. Observables are kept as polynomials in $h$ "
            r"and the auxiliaries, with exact rational coefficients:"
        )
    placeholder = {_A[j]: sp.Symbol(f"__aux{j}") for j in range(len(act.aux))}
    zi = sp.Symbol("__zi")
    gens_i = [zi] + list(placeholder.values())
    defs = []
    for j, _a in enumerate(act.aux):
        lx = names.aux_latex[j]
        sym_i = f"{lx}(z_i)" if "^" in lx else f"{lx}_i"
        names.by_name[f"__aux{j}"] = sym_i
    names.by_name["__zi"] = "z_i"
    if act.chain:
        L = len(act.aux) - 1
        out.append(
            rf"The activation $a(z) = {sp.latex(act.expr)}$ has no known closure, so its "
            rf"derivative chain is used: $a^{{(j)}}(z_i) = \frac{{d^j a}}{{dz^j}}(z_i)$ and "
            rf"$\frac{{d}}{{dz_i}}\, a^{{(j)}}(z_i) = a^{{(j+1)}}(z_i)$ for $j = 0, \dots, {L - 1}$ "
            rf"($a^{{({L})}}$ is the last one kept; its derivative is never needed), for each "
            rf"unit $i = 1, \dots, {units}$."
        )
        defs = []
    for j, _a in enumerate(act.aux if not act.chain else ()):
        sym_i = names.by_name[f"__aux{j}"]
        val = sp.latex(act.aux_exprs[j].subs(Z, sp.Symbol("z_i")))
        rule = act.derivs[j].xreplace(placeholder).subs(Z, zi)
        rule_lx = names.inline(rule, gens_i) if rule != 0 else "0"
        defs.append(rf"{sym_i} &= {val}, & \frac{{d{sym_i}}}{{dz_i}} &= {rule_lx}")
    if defs:
        out.append(r"\begin{align*}" + r" \\ ".join(defs) + r"\end{align*}")
    val = act.value.xreplace(placeholder).subs(Z, zi)
    irange = ", ".join(str(i + 1) for i in range(units)) if units <= 3 else rf"1, \dots, {units}"
    out.append(
        rf"for $i = {irange}$, with $a(z_i) = {names.inline(val, gens_i)}$. "
        r"Since $z = W h + b$, the total derivative along $h_j$ follows the chain rule "
        r"$\partial_j A_i = A'(z_i)\,W_{ij}$:"
    )
    rows = []
    for j, _a in enumerate(act.aux):
        rule = act.derivs[j]
        for i in range(units):
            sub = {_A[jj]: sp.Symbol(f"{act.aux[jj]}{i + 1}") for jj in range(len(act.aux))}
            ri = sp.expand(rule.xreplace(sub).subs(Z, net.z[i]))
            for jj in range(net.n):
                w = net.W[i, jj]
                if not w:
                    continue
                terms = names.expr_terms(ri)
                if len(terms) > 1 and w not in (1, -1):
                    sign, c = _rational(w)
                    rhs = rf"{'-' if sign < 0 else ''}{c}\,\bigl({names.inline(ri)}\bigr)"
                else:
                    rhs = names.inline(sp.expand(w * ri))
                rows.append(rf"\partial_{{{jj + 1}}} {names.aux_symbol(j, i)} &= {rhs}")
    if len(rows) <= 24:
        pairs = [" & ".join(rows[r : r + 2]) for r in range(0, len(rows), 2)]
        out.append(r"\begin{align*}" + r" \\ ".join(pairs) + r"\end{align*}")
    else:
        out.append(r"(one rule per nonzero $W_{ij}$; " + str(len(rows)) + r" rules, not listed).")
    # drift in auxiliary form
    out.append(r"In these variables the drift is polynomial:")
    out.append(
        _align(
            [
                row
                for i in range(net.n)
                for row in _equation(
                    rf"\varphi_{{{i + 1}}}", names.element_terms(gens.phi[i]), rows_only=True
                )
            ]
        )
    )
    return "\n".join(out) + "\n"


def _generator_section(net: SRNN, names: _Names, gens) -> str:
    out = [r"\section{Generators}"]
    out.append(
        r"For a smooth observable $g(h)$ the backward generator of the unperturbed network "
        r"and the input operators are"
    )
    out.append(
        r"\begin{align*}"
        r"\mathcal{L}_0\, g &= \sum_{i} \varphi_i\,\partial_i g + \tfrac12 \sum_{i,j}"
        r" \Sigma_{ij}\,\partial_i \partial_j g, &"
        r"\mathcal{L}_1^{k}\, g &= \sum_i \gamma_{ik}(h)\,\partial_i g \quad (k = 1, \dots, m),"
        r"\end{align*}"
    )
    out.append(
        r"so that the perturbed generator at time $t$ is "
        r"$\mathcal{L}_0 + \varepsilon \sum_k u^k_t\,\mathcal{L}_1^{k}$, and "
        r"$P_\tau = e^{\tau\mathcal{L}_0}$, $(P_\tau g)(h) = \mathbb{E}[g(h_\tau) \mid h_0 = h]$. "
        r"For this network ($\partial_i$ the total derivative along $h_i$, acting on the "
        r"auxiliaries by the rules above):"
    )
    hs = list(net.h)
    terms = []
    for i in range(net.n):
        phi_terms = names.element_terms(gens.phi[i])
        if not phi_terms:
            continue
        rr, _ = _rows(phi_terms, per_row=10**6, width=1e9, max_terms=10**6)
        body = (
            rf"\bigl({rr[0]}\bigr)\,\partial_{{{i + 1}}} g"
            if len(phi_terms) > 1 or phi_terms[0].sign < 0
            else rf"{phi_terms[0].body}\,\partial_{{{i + 1}}} g"
        )
        terms.append(_Term(1, body))
    Sig = net.Sigma
    for i in range(net.n):
        for j in range(i, net.n):
            c = Sig[i, j] / 2 if i == j else Sig[i, j]
            if c == 0:
                continue
            d = (
                rf"\partial_{{{i + 1}}}^{{2}} g"
                if i == j
                else rf"\partial_{{{i + 1}}}\partial_{{{j + 1}}} g"
            )
            terms.append(_term(c, d))
    gen_rows = _equation(r"\mathcal{L}_0\, g", terms, max_terms=10**6, per_row=2, rows_only=True)
    local = any(q > 1 for q, _ in gens.monomials)
    for k in range(len(gens.monomials) if local else net.m):
        t = []
        for i in range(net.n):
            if local:  # γ_ν,i is a ring element (a⁽q⁾ in the auxiliaries)
                gt = names.element_terms(gens.gamma[k][i])
                if not gt:
                    continue
                rr, _ = _rows(gt, per_row=10**6, width=1e9, max_terms=10**6)
                t.append(
                    _Term(1, rf"\bigl({rr[0]}\bigr)\,\partial_{{{i + 1}}} g")
                    if len(gt) > 1 or gt[0].sign < 0
                    else _Term(1, rf"{gt[0].body}\,\partial_{{{i + 1}}} g")
                )
                continue
            gk = net.input_field[i, k]
            if gk == 0:
                continue
            if gk.is_number:
                t.append(_term(gk, rf"\partial_{{{i + 1}}} g"))
            elif len(names.expr_terms(gk, hs)) == 1:
                tt = names.expr_terms(gk, hs)[0]
                t.append(_Term(tt.sign, rf"{tt.body}\,\partial_{{{i + 1}}} g"))
            else:
                t.append(_Term(1, rf"\bigl({names.inline(gk, hs)}\bigr)\,\partial_{{{i + 1}}} g"))
        gen_rows.extend(
            _equation(rf"\mathcal{{L}}_1^{{{k + 1}}}\, g", t, max_terms=10**6, rows_only=True)
        )
    if local:
        out.append(_monomials_text(gens.monomials))
    out.append(_align(gen_rows))
    return "\n".join(out) + "\n"


def _monomials_text(monomials) -> str:
    """The paragraph that explains monomials (input inside a nonlinear activation)."""

    def mono(counts):
        return r"\,".join(
            f"u_{{{c + 1}}}" + (f"^{{{e}}}" if e > 1 else "") for c, e in enumerate(counts) if e
        )

    legend = "; ".join(
        rf"$\nu = {j + 1}$: $u^{{\nu}} = {mono(c)}$, weight {q}"
        for j, (q, c) in enumerate(monomials)
    )
    return (
        r"The input sits inside the activation, so $a(z_j + \varepsilon (Cu)_j) - a(z_j)"
        r" = \sum_{q \ge 1} \varepsilon^q a^{(q)}(z_j)\,((Cu)_j)^q/q!$: "
        r"every monomial $u^\nu = \prod_c u_c^{m_c}$ of degree $q$ of the input is a "
        r"\emph{input operator} $\mathcal{L}_1^{\nu} g = \sum_i \gamma_{\nu i}\,"
        r"\partial_i g$, $\gamma_{\nu i} = \sum_j M_{ij}\, a^{(q)}(z_j) \prod_c "
        r"C_{jc}^{m_c}/m_c!$, and weight $q$. Below, kernel indices are monomials, "
        r"$u^{k_j}$ stands for $u^{\nu}$ with $\nu = k_j$, and the order-$n$ term of the "
        r"series collects the words of total weight $n$ (one time integral per monomial, so "
        r"several powers of $u$ act at one instant: the local terms). Monomials: " + legend + "."
    )


def _conjugate_section(net: SRNN, names: _Names, alg) -> str:
    out = [r"\section{Conjugate observable}"]
    out.append(
        r"Integrating $\mathcal{L}_1^{k}$ by parts against $\rho_\infty$ gives the conjugate "
        r"observable"
    )
    out.append(
        r"\[ A_k(h) = -\frac{\nabla\cdot(\gamma_k \rho_\infty)}{\rho_\infty} = "
        r"-\nabla\cdot\gamma_k - \gamma_k\cdot\nabla\log\rho_\infty, \qquad "
        r"K^{(1)}_k(\tau) = \Einf\bigl[f(h_\tau)\,A_k(h_0)\bigr], \]"
    )
    out.append(
        r"and higher orders are two-time correlations "
        r"\[ K^{(n)}_{k_1\dots k_n}(\tau_1, \dots, \tau_n) = "
        r"\Einf\bigl[\tilde g_{n-1}(h_{\tau_n})\,A_{k_n}(h_0)\bigr], \qquad "
        r"\tilde g_{n-1} = \mathcal{L}_1^{k_{n-1}} P_{\tau_{n-1}} \cdots "
        r"\mathcal{L}_1^{k_1} P_{\tau_1} f, \quad \tilde g_0 = f. \]"
    )
    found = []
    for k in range(net.m):
        try:
            A = conjugate_observable(net, k)
        except Exception:  # noqa: BLE001 - printing only
            A = None
        if A is not None:
            found.append((k, A))
    if not found:
        out.append(
            r"For this network $\log\rho_\infty$ is not known in closed form, so $A_k$ is "
            r"not available symbolically; the kernels below come from the recursion "
            r"of the next section instead."
        )
        return "\n".join(out) + "\n"
    if net.start == "point":
        out.append(
            r"(The conjugate observable refers to the stationary law; it is listed for "
            r"reference, the kernels below are those of the point start.)"
        )
    out.append(r"For this network:")
    a_rows = []
    for k, A in found:
        A2 = _to_aux(A, alg)
        a_rows.extend(_equation(rf"A_{{{k + 1}}}(h)", names.expr_terms(A2), rows_only=True))
    out.append(_align(a_rows))
    return "\n".join(out) + "\n"


def _recursion_section(der) -> str:
    P = der.P
    out = [r"\section{Kernel recursion and short-time form}"]
    out.append(r"Expanding in $\varepsilon$ gives the Volterra (Dyson) series")
    out.append(
        r"\begin{align*}"
        r"\mathbb{E}[f(h_t)] &= V_0(t) + \sum_{n\ge 1} \varepsilon^n V_n[u](t), \\"
        r"V_n[u](t) &= \int_{t > s_1 > \dots > s_n > 0} \sum_{k_1, \dots, k_n} "
        r"K^{(n)}_{k_1\dots k_n}(t; s_1, \dots, s_n)\, u^{k_1}(s_1) \cdots u^{k_n}(s_n)\,ds,"
        r"\end{align*}"
    )
    out.append(
        r"with the ordering convention: $s_1$ is the latest input time, $s_n$ the earliest, "
        r"and index $k_j$ belongs to $s_j$. The kernels follow from the recursion"
    )
    out.append(
        r"\begin{align*}"
        r"g_0 &= P_{t - s_1} f, \qquad g_j = P_{s_j - s_{j+1}}\,\mathcal{L}_1^{k_j} g_{j-1}"
        r"\quad (j = 1, \dots, n,\ s_{n+1} := 0), \qquad "
        r"K^{(n)}(t; s) = \mu_0[g_n],"
        r"\end{align*}"
    )
    out.append(r"and with the lags $\tau_1 = t - s_1$, $\tau_j = s_{j-1} - s_j$:")
    if der.start == "stationary":
        out.append(
            r"\[ K^{(n)}_{k_1\dots k_n}(\tau_1, \dots, \tau_n) = \Einf\bigl["
            r"\mathcal{L}_1^{k_n} P_{\tau_n} \cdots \mathcal{L}_1^{k_1} P_{\tau_1} f\bigr], "
            r"\qquad V_0 = \Einf[f] \]"
        )
        out.append(
            r"(stationary start: $\rho_\infty P_\tau = \rho_\infty$ removes the outermost "
            r"propagator)."
        )
    else:
        out.append(
            r"\[ K^{(n)}_{k_1\dots k_n}(\tau_1, \dots, \tau_n, s_n) = \bigl(P_{s_n}"
            r"\mathcal{L}_1^{k_n} P_{\tau_n} \cdots \mathcal{L}_1^{k_1} P_{\tau_1} f\bigr)(h_0), "
            r"\qquad V_0(t) = (P_t f)(h_0) \]"
        )
        out.append(
            r"(point start $\mu_0 = \delta_{h_0}$: the outermost propagator $P_{s_n}$ stays)."
        )
    out.append(
        r"\paragraph{Short-time form.} With $P_\tau = \sum_{p} \tau^p "
        r"\mathcal{L}_0^p / p!$ the kernels become polynomials in the lags, with "
        r"coefficients that are expectations of iterated generators (operators compose "
        r"right to left, $\mathcal{L}_0^{p_1}$ acts on $f$ first):"
    )
    if der.start == "stationary":
        out.append(
            r"\begin{align*}"
            r"K^{(n)}_{k}(\tau_1, \dots, \tau_n) &\approx \sum_{p} c_{k;p} "
            r"\prod_{j=1}^{n} \frac{\tau_j^{p_j}}{p_j!}, &"
            r"c_{k;p} &= \Einf[G_{k;p}], \\"
            r"G_{k;p} &= \mathcal{L}_1^{k_n} \mathcal{L}_0^{p_n} \cdots "
            r"\mathcal{L}_1^{k_1} \mathcal{L}_0^{p_1} f."
            r"\end{align*}"
        )
    else:
        out.append(
            r"\begin{align*}"
            r"K^{(n)}_{k}(\tau_1, \dots, \tau_n, s_n) &\approx \sum_{p} c_{k;p} "
            r"\frac{s_n^{p_{n+1}}}{p_{n+1}!}\prod_{j=1}^{n} \frac{\tau_j^{p_j}}{p_j!}, &"
            r"c_{k;p} &= G_{k;p}(h_0), \\"
            r"G_{k;p} &= \mathcal{L}_0^{p_{n+1}} \mathcal{L}_1^{k_n} \mathcal{L}_0^{p_n} \cdots "
            r"\mathcal{L}_1^{k_1} \mathcal{L}_0^{p_1} f."
            r"\end{align*}"
        )
    trunc = (
        rf"$\sum_j p_j \le {P}$ (total degree)"
        if der.truncation == "total"
        else rf"every $p_j \le {P}$ (box)"
    )
    out.append(
        rf"Here $k = (k_1, \dots, k_n)$ are the channels (1-based) and "
        rf"$p = (p_1, \dots)$ the lag degrees, truncated at {trunc}: the error is "
        rf"$O(|\tau|^{{{P + 1}}})$. For a linear network $\mathcal{{L}}_0$ preserves the "
        r"polynomial degree and the series converges for every lag; otherwise it is "
        r"asymptotic in $\tau$ and only trusted inside its radius of convergence "
        r"(estimated below from the coefficients)."
    )
    out.append(
        rf"This document holds the derivation up to order $N = {der.order}$ and lag degree "
        rf"$P = {P}$."
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------- numeric values
def _values(der, kernels):
    """{(order, index): {p: (values per output, stderr per output or None)}} and notes.

    Exact rationals for the linear stationary case, floats otherwise.
    """

    net = der.net
    kernels = (
        {}
        if kernels is None
        else {(int(o), tuple(int(x) for x in idx)): tk for (o, idx), tk in kernels.items()}
    )
    values: dict = {}
    note = None
    exact = None
    if der.start == "stationary" and net.is_linear:
        try:
            mvec, S = ex.gaussian_stationary(net)
            exact = ex.gaussian_moments(net, mvec, S)
        except Exception:  # noqa: BLE001
            exact = None
    pending = []  # keys whose values come from one batched expectation below
    for order in range(der.order + 1):
        for index in der.indices(order):
            key = (order, tuple(index))
            terms = der.terms(order, index)
            tk = kernels.get(key)
            if tk is not None:
                entry = {}
                for r, p in enumerate(tk.powers.tolist()):
                    se = None if tk.coeff_stderr is None else list(tk.coeff_stderr[r])
                    entry[tuple(p)] = (list(tk.coeffs[r]), se)
                values[key] = entry
                continue
            if exact is not None:
                values[key] = {
                    p: ([exact(der.algebra, g) for g in gs], None) for p, gs in terms.items()
                }
                continue
            pending.append(key)
    if pending:
        # one call for all elements: the quadrature (if any) is built once
        flat, where = [], []
        for key in pending:
            terms = der.terms(*key)
            for p in sorted(terms):
                where.append((key, p, len(flat), len(terms[p])))
                flat.extend(terms[p])
        try:
            vals, _ = _expect(der, flat)
        except ValueError as exc:
            note = str(exc)
        else:
            vals = np.asarray(vals, float)
            for key, p, a, cnt in where:
                values.setdefault(key, {})[p] = (list(vals[a : a + cnt]), None)
    return values, note, kernels


def _observables_section(der, names: _Names, values, note, max_terms, max_observables) -> str:
    net = der.net
    out = [r"\section{Taylor coefficient observables}"]
    nobs = sum(len(v) for v in der.observables.values())
    out.append(
        rf"The observables $G_{{k;p}}$ of the short-time form, {len(der.observables)} "
        rf"entr{'y' if len(der.observables) == 1 else 'ies'} "
        rf"({nobs} polynomial{'s' if nobs != 1 else ''} over the "
        rf"{net.p} output{'s' if net.p > 1 else ''}), "
        + (
            r"as exact polynomials in $h$"
            if isinstance(der.algebra, RingAlgebra)
            else r"as exact expressions in $h$ (the readout or coupling is not polynomial)"
        )
        + (r" and the auxiliaries" if names.activation.aux else "")
        + r". Labels: $G_{k;p}$ with channels $k$ (1-based) and lag degrees $p$"
        + (r", the last one the degree in $s_n$ (point start)" if der.start == "point" else "")
        + r"; order $0$ is written $G_{\varnothing;p}$. Polynomials longer than "
        + str(max_terms)
        + r" terms are truncated here."
    )
    if note:
        out.append(
            r"\textbf{Numeric values:} not available for this network and start: "
            r"stationary samples are needed (pass \texttt{kernels} computed with "
            r"\texttt{taylor\_kernel(der, order, index, samples=...)}). "
            rf"The expectation route reported: \emph{{{_text(note)}}}"
        )
    mu = r"\Einf" if der.start == "stationary" else None
    shown = 0
    for order in range(der.order + 1):
        out.append(rf"\subsection{{Order {order}}}")
        for index in der.indices(order):
            key = (order, tuple(index))
            terms = der.terms(order, index)
            if order:
                out.append(
                    rf"\paragraph{{Channels $k = ({', '.join(str(k + 1) for k in index)})$.}}"
                )
            vals = values.get(key, {})
            block = []
            for p in sorted(terms):
                gs = terms[p]
                for j, g in enumerate(gs):
                    fj = f"f_{{{j + 1}}}" if net.p > 1 else "f"
                    lab = _g_label(index, p)
                    clab = _c_label(index, p)
                    if net.p > 1:
                        lab = rf"\bigl[{lab}\bigr]_{{{j + 1}}}"
                        clab = rf"\bigl[{clab}\bigr]_{{{j + 1}}}"
                    extra = []
                    if p in vals:
                        v, se = vals[p]
                        val = _value_latex(v[j], None if se is None else se[j])
                        how = (
                            rf"\Einf[{_g_label(index, p)}]" if mu else rf"{_g_label(index, p)}(h_0)"
                        )
                        extra.append(rf"{clab} = {how} &= {val}")
                    if shown < max_observables:
                        lhs = f"{lab} = {_word(index, p, der.start, fj)}"
                        rows = _equation(
                            lhs,
                            names.element_terms(g),
                            max_terms=max_terms,
                            extra_rows=tuple(extra),
                            rows_only=True,
                        )
                        if block:
                            block.append(_GAP)  # a little air between entries
                        block.extend(rows)
                    elif extra:
                        block.extend(extra)
                    shown += 1
            out.append(_align(block))
    if shown > max_observables:
        out.append(
            rf"\emph{{Only the first {max_observables} of {shown} observables are printed "
            r"in full; the others are given by their values (see JSON output).}}"
        )
    return "\n".join(out) + "\n"


def _volterra_section(der, values, note, kernels, max_terms) -> str:
    net = der.net
    N = der.order
    out = [r"\section{Volterra series}"]
    lags = r"\tau_1 = t - s_1,\ \tau_j = s_{j-1} - s_j"
    out.append(rf"Up to order $N = {N}$ in the input amplitude $\varepsilon$:")
    if der.local_terms:  # words of monomials, grouped by weight
        r, words, kern = "r", r"\nu_1 \dots \nu_r:\ q_{\nu_1} + \dots + q_{\nu_r} = n", r"\nu"
    else:
        r, words, kern = "n", rf"k_1, \dots, k_n = 1}}^{{{net.m}", "k"
    args = rf"\tau_1, \dots, \tau_{r}" + ("" if der.start == "stationary" else rf", s_{r}")
    out.append(
        r"\begin{align*}"
        r"\mathbb{E}[y_t] &= V_0(t) + \sum_{n=1}^{" + str(N) + r"} \varepsilon^n "
        rf"\sum_{{{words}}} \int_{{t > s_1 > \dots > s_{r} > 0}}"
        rf" K^{{({r})}}_{{{kern}_1\dots {kern}_{r}}}({args})"
        rf"\, u^{{{kern}_1}}(s_1) \cdots u^{{{kern}_{r}}}(s_{r})\,ds + "
        r"O(\varepsilon^{" + str(N + 1) + r"}),"
        r"\end{align*}"
    )
    out.append(
        rf"with ${lags}$, and the kernels in short-time form "
        rf"(error $O(|\tau|^{{{der.P + 1}}})$):"
    )
    for order in range(N + 1):
        block, radii = [], []
        for index in der.indices(order):
            key = (order, tuple(index))
            terms = der.terms(order, index)
            vals = values.get(key)
            names = _lag_names(order, der.start)
            if block:
                block.append(_GAP)
            for j in range(net.p):
                suffix = rf"_{{{j + 1}}}" if net.p > 1 else ""
                if order == 0:
                    lhs = "V_0" if der.start == "stationary" else "V_0(t)"
                    if net.p > 1:
                        lhs = rf"\bigl[{lhs}\bigr]{suffix}"
                else:
                    lhs = _kernel_symbol(order, index, der.start)
                    if net.p > 1:
                        lhs = rf"\bigl[{lhs}\bigr]{suffix}"
                t = []
                for p in sorted(terms, key=lambda p: (sum(p), tuple(-x for x in p))):
                    mono, fact = _lag_monomial(names, p)
                    if vals is not None and p in vals:
                        v = vals[p][0][j]
                        if isinstance(v, (sp.Rational, Fraction)):
                            q = sp.Rational(v) / fact
                            if q != 0:
                                t.append(_term(q, mono))
                        else:
                            if float(v) != 0.0:
                                t.append(_float_term(float(v) / fact, mono))
                    else:
                        mu = (
                            rf"\Einf[{_g_label(index, p)}]"
                            if der.start == "stationary"
                            else rf"{_g_label(index, p)}(h_0)"
                        )
                        if net.p > 1:
                            mu = rf"\bigl[{mu}\bigr]{suffix}"
                        coef = mu if fact == 1 else rf"\tfrac{{1}}{{{fact}}}{mu}"
                        t.append(_Term(1, f"{coef}\\,{mono}" if mono else coef))
                rel = "=" if (order == 0 and der.start == "stationary") else r"\approx"
                block.extend(_equation(lhs, t, max_terms=max_terms, rel=rel, rows_only=True))
            tk = kernels.get(key)
            if order and tk is not None and np.all(np.isfinite(tk.radius)) and not net.is_linear:
                rad = ", ".join(_float(r, 3) for r in tk.radius)
                radii.append(rf"${_kernel_symbol(order, index, der.start)}$: $({rad})$")
        out.append(_align(block))
        if order == 1 and net.is_linear:
            out.append(
                r"For the linear network $\mathcal{L}_0$ preserves the polynomial degree and "
                r"the series in the lags converges for every lag; the "
                r"truncation above is its Taylor polynomial."
            )
        if radii:
            out.append(
                r"Estimated radius of convergence in each lag (root test on the highest "
                r"coefficients; the short-time form is trusted at lags below about half "
                r"of it): " + "; ".join(radii) + "."
            )
    if note:
        out.append(
            r"The expectations $\Einf[G_{k;p}]$ are left symbolic: this network has no closed "
            r"form or quadrature route for its stationary law, so stationary samples are needed."
        )
    return "\n".join(out) + "\n"


# ================================================================== public API
def latex_document(
    der,
    *,
    kernels=None,
    title=None,
    max_terms: int = MAX_TERMS,
    max_observables: int = MAX_OBSERVABLES,
) -> str:
    """A standalone LaTeX document describing a derivation (compiles with pdflatex).

    Parameters
    ----------
    der : :class:`~symresp.symbolic.recursion.Derivation` from :func:`~symresp.symbolic.recursion.derive`.
    kernels : optional dict ``{(order, index): TaylorKernel}`` (0-based channel tuples)
        whose coefficients are printed; the others are computed with
        :func:`~symresp.kernels.taylor.taylor_kernel` where an expectation route exists
        without samples (point start, linear network, 1-/2-D gradient network),
        and otherwise the document says that stationary samples are needed.
    title : document title (default: the network's name).
    max_terms : polynomials with more terms are truncated with a note.
    max_observables : observables printed in full (the rest only by value).
    """
    net = der.net
    alg = der.algebra
    names = _Names(net, alg)
    if title is None:
        title = rf"Response theory of the SRNN \texttt{{{_text(net.name)}}}"
    values, note, kernels = _values(der, kernels)
    # also give radius estimates for kernels computed here
    for (order, index), entry in values.items():
        if order and (order, index) not in kernels:
            ps = sorted(entry)
            try:
                co = np.array([[float(x) for x in entry[p][0]] for p in ps])
                kernels[(order, index)] = TaylorKernel(order, index, ps, co, start=der.start)
            except (TypeError, ValueError):
                pass
    parts = [_preamble(title)]
    parts.append(_model_section(net, names, alg))
    parts.append(_aux_section(net, names, alg, der.generators))
    parts.append(_generator_section(net, names, der.generators))
    parts.append(_conjugate_section(net, names, alg))
    parts.append(_recursion_section(der))
    parts.append(_observables_section(der, names, values, note, max_terms, max_observables))
    parts.append(_volterra_section(der, values, note, kernels, max_terms))
    parts.append("\\end{document}\n")
    return "\n".join(parts)


def compile_latex(tex: str, pdf_path, *, runs: int = 1, timeout: float = 300) -> Path:
    """Compile LaTeX source with pdflatex in a temporary directory; the PDF goes to ``pdf_path``.

    Raises :class:`LatexError` (with the last lines of the log) when pdflatex is missing or fails.
    """
    exe = shutil.which("pdflatex")
    if exe is None:
        raise LatexError(
            "pdflatex was not found on PATH; install a TeX distribution "
            "(e.g. apt-get install texlive-latex-base) or call with compile=False."
        )
    pdf_path = Path(pdf_path)
    with tempfile.TemporaryDirectory(prefix="symresp-latex-") as tmp:
        src = Path(tmp) / "document.tex"
        src.write_text(tex, encoding="utf-8")
        for _ in range(max(1, runs)):
            try:
                proc = subprocess.run(
                    [exe, "-interaction=nonstopmode", "-halt-on-error", "document.tex"],
                    cwd=tmp,
                    capture_output=True,
                    timeout=timeout,
                    stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"pdflatex did not finish within {timeout} s.") from None
            if proc.returncode != 0 or not (Path(tmp) / "document.pdf").exists():
                log = Path(tmp) / "document.log"
                text = (
                    log.read_text(errors="replace")
                    if log.exists()
                    else proc.stdout.decode(errors="replace")
                )
                tail = "\n".join(text.splitlines()[-30:])
                raise LatexError(
                    f"pdflatex failed (exit status {proc.returncode}); last lines "
                    f"of the log:\n{tail}"
                )
        write_atomic(
            pdf_path, (Path(tmp) / "document.pdf").read_bytes(), what="PDF", make_parents=True
        )
    return pdf_path


def write_latex(der, path, compile: bool = False, **kwargs) -> Path:
    """Write :func:`latex_document` to ``path``; with ``compile`` also run pdflatex.

    Returns the path of the ``.tex`` file, or of the PDF (next to it, same stem) when
    ``compile`` is true.  Extra keyword arguments go to :func:`latex_document`.
    """
    path = output_path(path, "LaTeX document", make_parents=True)  # refuse before the work
    tex = latex_document(der, **kwargs)
    write_atomic(path, tex, what="LaTeX document")
    if not compile:
        return path
    return compile_latex(tex, path.with_suffix(".pdf"))
