"""The SymPy printer of generated numba code.

Numbers are printed as exact double literals (``repr(float)`` of the correctly rounded
value) and functions map to ``math`` (or builtins); anything else is refused by the
validation before printing, so no user text ever reaches the source.
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

from symresp.errors import CodegenError

__all__ = ["NumbaPrinter"]


# SymPy function class -> numba-supported callable (all in ``math`` or builtins).
_MATH_FUNCS = {
    sp.exp: "math.exp",
    sp.log: "math.log",
    sp.sin: "math.sin",
    sp.cos: "math.cos",
    sp.tan: "math.tan",
    sp.asin: "math.asin",
    sp.acos: "math.acos",
    sp.atan: "math.atan",
    sp.atan2: "math.atan2",
    sp.sinh: "math.sinh",
    sp.cosh: "math.cosh",
    sp.tanh: "math.tanh",
    sp.asinh: "math.asinh",
    sp.acosh: "math.acosh",
    sp.atanh: "math.atanh",
    sp.erf: "math.erf",
    sp.erfc: "math.erfc",
    sp.floor: "math.floor",
    sp.ceiling: "math.ceil",
    sp.Abs: "abs",
}
_SUPPORTED_TYPES = (
    sp.Add,
    sp.Mul,
    sp.Pow,
    sp.Symbol,
    sp.Number,
    sp.NumberSymbol,
    sp.Max,
    sp.Min,
    sp.Piecewise,
    sp.core.relational.Relational,
    sp.And,
    sp.Or,
    sp.Not,
    sp.logic.boolalg.BooleanAtom,
    sp.functions.elementary.piecewise.ExprCondPair,
)


def _float_literal(value) -> str:
    """Exact double literal of a SymPy/Python number: ``repr(float)``, parenthesized
    when negative so that it can stand anywhere (``x**(-0.5)``, ``a*(-2.0)``)."""
    if isinstance(value, sp.Rational):  # Integer included: exact, correctly rounded
        try:
            v = float(Fraction(int(value.p), int(value.q)))
        except OverflowError:
            raise CodegenError(f"constant {value} is outside the float64 range") from None
    else:
        v = float(value)
    if v != v:
        return "math.nan"
    if v in (float("inf"), float("-inf")):
        return "math.inf" if v > 0 else "(-math.inf)"
    text = repr(v)
    return f"({text})" if text.startswith("-") else text


class NumbaPrinter(PythonCodePrinter):
    """Prints one small (already lowered) SymPy expression as numba-compatible Python.

    Symbols are printed only through ``names`` (SymPy symbol → generated identifier);
    any other symbol is an internal error, because validation has run before.  Numbers
    are float literals except integer exponents, which stay integers so that numba
    uses exact repeated multiplication (``x**3``)."""

    printmethod = "_numbacode"

    def __init__(self, names: dict):
        # order="none": keep SymPy's canonical argument order instead of sorting terms
        # (sorting thousands of terms dominated printing time)
        super().__init__(
            {
                "fully_qualified_modules": True,
                "standard": "python3",
                "allow_unknown_functions": False,
                "order": "none",
            }
        )
        self.names = names

    # atoms
    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise CodegenError(f"internal: symbol {expr!s} has no generated name") from None

    _print_Dummy = _print_Symbol

    def _print_Integer(self, expr):
        return _float_literal(expr)

    def _print_Rational(self, expr):
        return _float_literal(expr)

    def _print_Float(self, expr):
        return _float_literal(expr)

    def _print_NumberSymbol(self, expr):
        return _float_literal(expr.evalf(30))

    _print_Exp1 = _print_Pi = _print_EulerGamma = _print_Catalan = _print_NumberSymbol
    _print_GoldenRatio = _print_NumberSymbol

    def _print_Infinity(self, expr):
        return "math.inf"

    def _print_NegativeInfinity(self, expr):
        return "(-math.inf)"

    def _print_NaN(self, expr):
        return "math.nan"

    def _print_BooleanTrue(self, expr):
        return "True"

    def _print_BooleanFalse(self, expr):
        return "False"

    # operations
    def _print_Pow(self, expr, rational=False):
        base, e = expr.args
        pb = self.parenthesize(base, PRECEDENCE["Pow"], strict=True)
        if e.is_Integer:
            n = int(e)
            if n == 1:
                return self._print(base)
            if n == 0:
                return "1.0"
            if n > 0:
                return f"{pb}**{n}"
            if n == -1:
                return f"1.0/{pb}"
            return f"1.0/{pb}**{-n}"
        if e == sp.S.Half:
            return f"math.sqrt({self._print(base)})"
        if e == -sp.S.Half:
            return f"1.0/math.sqrt({self._print(base)})"
        if base == sp.E:
            return f"math.exp({self._print(e)})"
        pe = self.parenthesize(e, PRECEDENCE["Pow"], strict=True)
        return f"{pb}**{pe}"

    def _print_Function(self, expr):
        fname = _MATH_FUNCS.get(expr.func)
        if fname is None:
            raise CodegenError(f"unsupported function {expr.func.__name__} in {expr}")
        return f"{fname}({', '.join(self._print(a) for a in expr.args)})"

    def _print_log(self, expr):
        if len(expr.args) != 1:
            raise CodegenError(f"log with a base is not supported: {expr}")
        return f"math.log({self._print(expr.args[0])})"

    _print_exp = _print_sin = _print_cos = _print_tan = _print_asin = _print_acos = _print_atan = (
        _print_atan2
    ) = _print_sinh = _print_cosh = _print_tanh = _print_asinh = _print_acosh = _print_atanh = (
        _print_erf
    ) = _print_erfc = _print_floor = _print_ceiling = _print_Abs = _print_Function

    def _minmax(self, expr, fn):
        # nested two-argument calls: numba types max(a, b) on floats for sure
        args = [self._print(a) for a in expr.args]
        text = args[-1]
        for a in reversed(args[:-1]):
            text = f"{fn}({a}, {text})"
        return text

    def _print_Max(self, expr):
        return self._minmax(expr, "max")

    def _print_Min(self, expr):
        return self._minmax(expr, "min")

    def _print_Piecewise(self, expr):
        # (e0 if c0 else (e1 if c1 else ...)); no true branch left -> NaN (SymPy: undefined)
        text = "math.nan"
        for pair in reversed(expr.args):
            if pair.cond == sp.true:
                text = self._print(pair.expr)
            else:
                text = f"({self._print(pair.expr)} if {self._print(pair.cond)} else {text})"
        return f"({text})"

    def _print_Relational(self, expr):
        op = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[expr.rel_op]
        return f"({self._print(expr.lhs)} {op} {self._print(expr.rhs)})"

    def _print_And(self, expr):
        return "(" + " and ".join(self._print(a) for a in expr.args) + ")"

    def _print_Or(self, expr):
        return "(" + " or ".join(self._print(a) for a in expr.args) + ")"

    def _print_Not(self, expr):
        return f"(not {self._print(expr.args[0])})"

    def emptyPrinter(self, expr):
        raise CodegenError(f"unsupported expression {type(expr).__name__}: {expr}")
