"""LaTeX printers: numbers, sums split over aligned rows, matrices.

A sum is a list of :class:`_Term` (a sign and the LaTeX of its absolute value); :func:`_rows`
fills rows of at most ``TERMS_PER_ROW`` terms and about ``ROW_WIDTH`` visible characters, and
:func:`_equation` / :func:`_align` put them in an ``align*`` environment.  Exact numbers print
as fractions (``\\tfrac{1}{3}``), floats as decimals.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

import numpy as np
import sympy as sp

TERMS_PER_ROW = 4
MAX_TERMS = 60
ROW_WIDTH = 78  # estimated visible characters per row of a display


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
    """A coefficient value: an exact rational as a fraction, an exact expression as SymPy
    prints it, a float as a decimal (± its standard error when it has one)."""
    if isinstance(value, Fraction):
        value = sp.Rational(value.numerator, value.denominator)
    if isinstance(value, sp.Basic):
        if value.is_Integer:
            return str(int(value))
        if value.is_Rational:
            q = value
            return rf"{'-' if q < 0 else ''}\tfrac{{{abs(q.p)}}}{{{q.q}}}"
        return sp.latex(value)
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
    coeff = sp.sympify(coeff)
    if not monomial and not coeff.is_Rational:  # a lone expression needs no parentheses
        sign = -1 if coeff.could_extract_minus_sign() else 1
        return _Term(sign, sp.latex(-coeff if sign < 0 else coeff))
    sign, c = _rational(coeff, unit=bool(monomial))
    body = f"{c}\\,{monomial}" if c and monomial else (c or monomial)
    return _Term(sign, body)


def _float_term(value: float, monomial: str, digits: int = 6) -> _Term:
    sign = -1 if value < 0 else 1
    c = _float(abs(value), digits)
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
    cut_note: str = "",
):
    """``align*`` block ``lhs = sum`` with the sum split over rows (and optional extra rows).

    A sum longer than ``max_terms`` shows its leading terms and a row with the count
    (``cut_note`` says where the rest is).  With ``rows_only`` the rows are returned as a
    list, to be grouped by :func:`_align`.
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
        where = f"; {cut_note}" if cut_note else ""
        lines.append(
            rf"&\quad + \dots\ \text{{({len(terms)} terms in all, {left} not shown{where})}}"
        )
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


def _matrix(M: sp.Matrix) -> str:
    rows = [
        " & ".join(_number_latex(x) if x.is_number else sp.latex(x) for x in M.row(i))
        for i in range(M.rows)
    ]
    return r"\begin{pmatrix}" + r" \\ ".join(rows) + r"\end{pmatrix}"
