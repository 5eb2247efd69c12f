"""Code generation: SymPy expressions → numba ``@njit`` modules, with an on-disk cache.

The symbolic side of symresp (THEORY §5) produces large exact expressions: iterated
generators ``𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ f`` as polynomials in ``(h, T)`` with thousands of
terms.  Evaluating them at many points (Monte Carlo over stationary samples,
quadrature nodes) or inside the simulator (user activations ``a(z)``,
state-dependent couplings ``γ(h)``, readouts ``f(h)``) needs compiled code.  This
module turns a list of expressions into numba source through a SymPy printer:

1. **Validation.**  Every free symbol must be one of ``args`` (the error names the
   missing ones); every node must be one of the supported operations (the error
   names the unsupported function).  Nothing the user wrote is ever pasted into
   source text: arguments become generated locals ``a0, a1, …`` loaded from the
   input array, temporaries are ``t0, t1, …``, numbers are printed as float literals
   ``repr(float(c))`` (exact rationals correctly rounded to the nearest double).
2. **Common-subexpression elimination**, one temporary per statement: :func:`sympy.cse`
   by default, ``cse="tree"`` for repeated identical subtrees only (several times faster
   to generate on polynomials with thousands of terms), ``cse=False`` for none.
3. **Lowering to straight-line code of bounded depth.**  Sums (products) with more
   than :data:`CHUNK` terms (factors) are accumulated in chunks with ``+=``
   (``*=``), and any subexpression nested deeper than :data:`MAX_DEPTH` is hoisted
   into its own temporary.  numba's parallel array analysis recurses over nested
   binary expressions and died with ``RecursionError`` on a single 31 883-character
   sum (FIELD-NOTES, "Symbolic work"); CPython's own compiler has a similar limit.
   For many points the straight-line body is a serial ``<name>_point(X, out, i)`` that a
   ``prange`` loop calls, so the parallel analysis never sees the long body.
4. **A self-contained module** (imports only ``math``, ``numpy``, ``numba``) with a
   header naming the expressions and the symresp version, written atomically into a
   cache directory keyed by a hash of the request, and imported from there so that
   numba's ``cache=True`` persists the machine code across processes.

Entry points
------------
:func:`points_function`   ``fn(X, out=None) -> out``: all expressions at many points,
                          ``X`` shaped ``(npoints, len(args))``, ``prange`` over points;
                          large expanded polynomial sets go to the monomial-trie
                          evaluator of :mod:`symresp.polyset` instead (``method``).
:func:`scalar_function`   njit ``fn(a0, …, a_{k-1}[, out])``: args as scalars.
:func:`vector_function`   njit ``fn(x[, out])``: args as one 1-D array ``x``.
:func:`function_source`   the module text of any of the above (for a standalone module).

numba's compile time grows with the number of operations, not the statement layout:
a 2 000-term polynomial in three variables (48 000 characters) compiled in 13 s serial
and 27 s with ``parallel=True`` on an idle 16-core machine (cached afterwards), and
evaluated in 2.6 µs per point on one thread.  Large expanded polynomial sets therefore
go to :mod:`symresp.polyset` (``method="auto"``): no per-set compile, and faster per point.

Cache location: the ``cache_dir`` argument if given (used as is), else
``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
``~/.cache/symresp/codegen``.

Supported operations: ``+``, ``*``, integer / rational / symbolic powers, exp, log,
sqrt, the trigonometric and hyperbolic functions and their inverses, atan2, Abs,
Max/Min (ReLU ``Max(0, z)``), erf, erfc, floor, ceiling, Piecewise (with relationals
and And/Or/Not in the conditions), the constants pi, E, EulerGamma, Catalan,
GoldenRatio, oo and nan.  Piecewise branches are evaluated eagerly after CSE, so an
unused branch may compute NaN or inf; that is harmless because the generated code
follows IEEE arithmetic (``error_model="numpy"``: division by zero gives inf/nan
instead of raising).
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import keyword
import os
import sys
import tempfile
import threading
import types
import warnings
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import sympy as sp
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.pycode import PythonCodePrinter

from symresp.errors import ArgumentError, CodegenError

__all__ = ["CodegenError", "points_function", "scalar_function", "vector_function",
           "function_source", "default_cache_dir", "cache_stats", "clear_memo", "CHUNK",
           "MAX_DEPTH", "TRIE_MIN_TERMS"]

#: Most terms of a sum (factors of a product) printed in one statement.
CHUNK = 16
#: Deepest expression tree printed in one statement; deeper parts become temporaries.
MAX_DEPTH = 4
#: points_function(method="auto") evaluates expanded polynomial sets with at least this
#: many terms in all along a monomial trie (straight-line code for 2 000 terms took 13–27 s
#: to compile; the trie kernel is compiled once per machine and ran 4× faster at 8 041 terms)
TRIE_MIN_TERMS = 1000
#: Bump when the generated text changes for the same request (invalidates old entries).
FORMAT_VERSION = "2"

_KEY_PREFIX = "# symresp-codegen-key: "
_SHA_PREFIX = "# symresp-codegen-body-sha256: "
_END_LINE = "# end of symresp generated module\n"

_RESERVED_NAMES = {"math", "np", "numba", "numpy"}


# --------------------------------------------------------------------------- printer

# SymPy function class -> numba-supported callable (all in ``math`` or builtins).
_MATH_FUNCS = {
    sp.exp: "math.exp", sp.log: "math.log", sp.sin: "math.sin", sp.cos: "math.cos",
    sp.tan: "math.tan", sp.asin: "math.asin", sp.acos: "math.acos", sp.atan: "math.atan",
    sp.atan2: "math.atan2", sp.sinh: "math.sinh", sp.cosh: "math.cosh",
    sp.tanh: "math.tanh", sp.asinh: "math.asinh", sp.acosh: "math.acosh",
    sp.atanh: "math.atanh", sp.erf: "math.erf", sp.erfc: "math.erfc",
    sp.floor: "math.floor", sp.ceiling: "math.ceil", sp.Abs: "abs",
}
_SUPPORTED_TYPES = (sp.Add, sp.Mul, sp.Pow, sp.Symbol, sp.Number, sp.NumberSymbol,
                    sp.Max, sp.Min, sp.Piecewise, sp.core.relational.Relational,
                    sp.And, sp.Or, sp.Not, sp.logic.boolalg.BooleanAtom,
                    sp.functions.elementary.piecewise.ExprCondPair)


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
        super().__init__({"fully_qualified_modules": True, "standard": "python3",
                          "allow_unknown_functions": False, "order": "none"})
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

    _print_exp = _print_sin = _print_cos = _print_tan = _print_asin = _print_acos = \
        _print_atan = _print_atan2 = _print_sinh = _print_cosh = _print_tanh = \
        _print_asinh = _print_acosh = _print_atanh = _print_erf = _print_erfc = \
        _print_floor = _print_ceiling = _print_Abs = _print_Function

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


# --------------------------------------------------------------------------- validation

def _as_expr_list(exprs) -> tuple[list[sp.Expr], bool]:
    """(list of SymPy expressions, whether a single expression was given)."""
    single = False
    if isinstance(exprs, sp.MatrixBase):
        items = list(exprs)
    elif isinstance(exprs, (list, tuple)):
        items = list(exprs)
    else:
        items, single = [exprs], True
    out = []
    for j, e in enumerate(items):
        if isinstance(e, str):
            raise CodegenError(f"expression {j} is a string ({e!r}); parse user text first "
                               f"(symresp.activations.parse_expression), codegen never parses text")
        try:
            e = sp.sympify(e, strict=True)
        except (sp.SympifyError, TypeError):
            raise CodegenError(f"expression {j} is not a SymPy expression: {e!r}") from None
        if not isinstance(e, sp.Expr):
            raise CodegenError(f"expression {j} is not a scalar expression "
                               f"({type(e).__name__}): {e}")
        out.append(e)
    if not out:
        raise CodegenError("no expressions to generate code for")
    return out, single


def _as_args(args) -> list[sp.Symbol]:
    if isinstance(args, sp.MatrixBase):
        args = list(args)
    elif isinstance(args, (sp.Basic, str)):
        args = [args]
    args = list(args)
    for k, a in enumerate(args):
        if not isinstance(a, sp.Symbol):
            raise CodegenError(f"argument {k} must be a SymPy Symbol, got "
                               f"{type(a).__name__} {a!r}")
    if len(set(args)) != len(args):
        dup = sorted({str(a) for a in args if args.count(a) > 1})
        raise CodegenError(f"repeated argument(s) {dup}")
    return args


def _symbols(expr) -> set:
    """Free symbols, found iteratively (``expr.free_symbols`` recurses per tree level)."""
    found, seen, stack = set(), set(), [expr]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, sp.Symbol):
            found.add(node)
        stack.extend(node.args)
    return found


def _validate(exprs: list[sp.Expr], args: list[sp.Symbol]) -> None:
    """Raise CodegenError naming the first unknown symbol or unsupported node."""
    allowed = set(args)
    for j, e in enumerate(exprs):
        missing = {s for s in _symbols(e) if s not in allowed}
        if missing:
            names = sorted(str(s) for s in missing)
            raise CodegenError(
                f"expression {j} uses symbol(s) {names} that are not among the arguments "
                f"{[str(a) for a in args]}")
        seen = set()
        stack = [e]
        while stack:  # iterative: expression trees can be deeper than Python's recursion limit
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if isinstance(node, sp.Function) and \
                    not isinstance(node, (sp.Max, sp.Min, sp.Piecewise)):
                if node.func not in _MATH_FUNCS and node.func is not sp.log:
                    raise CodegenError(
                        f"expression {j}: unsupported function {node.func.__name__!s} "
                        f"(in {str(node)[:200]}); supported: "
                        f"{sorted(f.__name__ for f in _MATH_FUNCS) + ['Max', 'Min', 'Piecewise']}")
                if node.func is sp.log and len(node.args) != 1:
                    raise CodegenError(f"expression {j}: log with a base is not supported")
            elif node is sp.zoo or node is sp.I or isinstance(node, sp.core.numbers.ImaginaryUnit):
                raise CodegenError(f"expression {j}: complex value {node} is not supported "
                                   f"(generated code is real float64)")
            elif not isinstance(node, _SUPPORTED_TYPES):
                raise CodegenError(f"expression {j}: unsupported {type(node).__name__} "
                                   f"({str(node)[:200]})")
            if isinstance(node, sp.Number):
                _float_literal(node)  # range check of the constant
            stack.extend(node.args)


# --------------------------------------------------------------------------- lowering

@contextmanager
def _deep_recursion(limit: int = 20000):
    """SymPy's cse/srepr/str recurse over the expression tree; allow deep trees (CPython
    3.11+ does not use the C stack for Python-to-Python calls)."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


_PAIR = sp.functions.elementary.piecewise.ExprCondPair


class _Lowerer:
    """Turns CSE output into statements ``(target, op, text)`` of bounded size."""

    def __init__(self, names: dict):
        self.names = names
        self.printer = NumbaPrinter(names)
        self.lines: list[tuple[str, str, str]] = []
        self.ntemp = 0

    def temp(self) -> sp.Dummy:
        t = sp.Dummy(f"t{self.ntemp}")
        self.names[t] = f"t{self.ntemp}"
        self.ntemp += 1
        return t

    def emit(self, target, op: str, expr) -> None:
        self.lines.append((self.names[target], op, self.printer.doprint(expr)))

    def hoist(self, expr) -> sp.Dummy:
        t = self.temp()
        self.emit(t, "=", expr)
        return t

    def lower(self, root) -> sp.Basic:
        """A small expression equal to ``root``; statements it needs are appended."""
        memo: dict = {}
        stack = [(root, False)]
        while stack:  # post-order, iterative (deep Horner forms exceed the recursion limit)
            node, ready = stack.pop()
            if node in memo:
                continue
            if not node.args or isinstance(node, (sp.Number, sp.NumberSymbol, sp.Symbol)):
                memo[node] = (node, 0)
                continue
            if not ready:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo)
                continue
            memo[node] = self._combine(node, [memo[a] for a in node.args])
        return memo[root][0]

    def _combine(self, node, kids):
        # keep every statement at most MAX_DEPTH deep: hoist deep children first
        kids = [(self.hoist(e), 0) if d >= MAX_DEPTH and not isinstance(e, _PAIR) else (e, d)
                for e, d in kids]
        exprs = [e for e, _ in kids]
        if isinstance(node, (sp.Add, sp.Mul)) and len(exprs) > CHUNK:
            # long sums/products: accumulate CHUNK terms per statement (numba recursion)
            cls, op = (sp.Add, "+=") if isinstance(node, sp.Add) else (sp.Mul, "*=")
            t = self.temp()
            for start in range(0, len(exprs), CHUNK):
                part = cls(*exprs[start:start + CHUNK], evaluate=False)
                self.emit(t, "=" if start == 0 else op, part)
            return (t, 0)
        if all(e is a for e, a in zip(exprs, node.args)):
            new = node
        else:
            try:
                new = node.func(*exprs, evaluate=False)
            except TypeError:
                new = node.func(*exprs)
        # a (value, condition) pair of a Piecewise is not an expression of its own
        return (new, max(d for _, d in kids) + (0 if isinstance(node, _PAIR) else 1))


def _statements(exprs: list[sp.Expr], args: list[sp.Symbol], arg_names: list[str],
                use_cse):
    """(statements, result texts): straight-line code computing every expression."""
    names = dict(zip(args, arg_names))
    low = _Lowerer(names)
    with _deep_recursion():
        symbols = sp.numbered_symbols("c", cls=sp.Dummy)
        if use_cse == "tree":
            # repeated identical subtrees only: skips SymPy's search for common argument
            # subsets of Adds/Muls, which dominates cse time on polynomials with 10³+ terms
            from sympy.simplify.cse_main import tree_cse
            reps, reduced = tree_cse(exprs, symbols, opt_subs={}, order="none")
        elif use_cse:
            reps, reduced = sp.cse(exprs, symbols=symbols, optimizations=None, order="none",
                                   list=True)
        else:
            reps, reduced = [], list(exprs)
        for sym, rhs in reps:
            small = low.lower(rhs)
            if isinstance(small, sp.Symbol):
                names[sym] = names[small]  # alias: the value already sits in a variable
            else:
                t = low.temp()
                low.emit(t, "=", small)
                names[sym] = names[t]
        results = [low.printer.doprint(low.lower(r)) for r in reduced]
    return low.lines, results


# --------------------------------------------------------------------------- module text

def _version() -> str:
    mod = sys.modules.get("symresp")
    if mod is None:  # imported stand-alone; avoid import cycles with a lazy import
        try:
            mod = importlib.import_module("symresp")
        except Exception:  # pragma: no cover - broken install
            return "unknown"
    return str(getattr(mod, "__version__", "unknown"))


def _numba_version() -> str:
    import numba
    return numba.__version__


def _comment(text: str) -> str:
    """Text safe inside a ``#`` comment: control characters and line breaks escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
            or name in _RESERVED_NAMES or name.startswith("_"):
        raise CodegenError(f"name {name!r} is not usable as a generated function name: use a "
                           f"Python identifier not starting with '_' and not one of "
                           f"{sorted(_RESERVED_NAMES)}")
    return name


_KINDS = ("points", "scalar", "vector")


#: Terms of a sum shown in a module header; printing a whole 10⁴-term polynomial there cost
#: about 40 % of the generation time and made the header unreadable.
HEADER_TERMS = 40


def _summary(e) -> str:
    """The expression for the header: in full, or its first HEADER_TERMS terms and a count."""
    terms = e.args if isinstance(e, sp.Add) else ()
    if len(terms) <= HEADER_TERMS:
        return sp.sstr(e, order="none")
    shown = " + ".join(sp.sstr(t, order="none") for t in terms[:HEADER_TERMS])
    return f"{shown} + … ({len(terms) - HEADER_TERMS} more terms)"


def _body(kind: str, exprs, args, single: bool, name: str, parallel: bool, use_cse) -> str:
    nargs, nexpr = len(args), len(exprs)
    arg_names = [f"a{k}" for k in range(nargs)]
    lines, results = _statements(exprs, args, arg_names, use_cse)
    ver = _version()
    head = [f'"""Generated by symresp {_comment(ver)} (symresp.codegen, format '
            f'{FORMAT_VERSION}); do not edit.  Needs only math, numpy and numba."""',
            "# Arguments:"]
    # user text (symbol names, expressions) only ever appears in escaped # comments
    for k, a in enumerate(args):
        where = {"points": f"X[:, {k}]", "vector": f"x[{k}]", "scalar": f"a{k}"}[kind]
        head.append(f"#   {where} = {_comment(str(a))}")
    head.append("# symresp version: " + _comment(ver))
    head.append("# Expressions evaluated:")
    with _deep_recursion():
        for j, e in enumerate(exprs):
            where = {"points": f"out[:, {j}]", "vector": f"out[{j}]",
                     "scalar": f"out[{j}]"}[kind]
            if single:
                where = "return"
            head.append(f"#   {where} = {_comment(_summary(e))}")
    head += ["import math", "", "import numba", "import numpy as np", "", ""]

    def block(indent: str) -> list[str]:
        return [f"{indent}{t} {op} {text}" for t, op, text in lines]

    deco = 'error_model="numpy"'  # IEEE semantics: 1/0 -> inf, no exception checks
    if kind == "points":
        rng = "numba.prange" if parallel else "range"
        kern, point = f"{name}_kernel", f"{name}_point"
        # The straight-line body lives in its own serial function: numba's parallel
        # analysis of the prange loop then sees one call instead of thousands of
        # statements (it recursed to death on a long body, and compile time grows fast).
        src = [f"@numba.njit(cache=True, {deco})",
               f"def {point}(X, out, i):",
               f'    """out[i, j] = expression j at the point X[i] (see the module header)."""']
        src += [f"    a{k} = X[i, {k}]" for k in range(nargs)]
        src += block("    ")
        src += [f"    out[i, {j}] = {r}" for j, r in enumerate(results)]
        src += ["", "",
                f"@numba.njit(cache=True, parallel={bool(parallel)}, {deco})",
                f"def {kern}(X, out):",
                f'    """{point} at every row of X."""',
                f"    for i in {rng}(X.shape[0]):",
                f"        {point}(X, out, i)"]
        src += ["", "",
                f"def {name}(X, out=None):",
                f'    """Evaluate the {nexpr} expression(s) at the rows of X, shape '
                f'(npoints, {nargs});',
                f'    returns out, shape (npoints, {nexpr}) (allocated when not given)."""',
                "    X = np.asarray(X, dtype=np.float64)",
                f"    if X.ndim != 2 or X.shape[1] != {nargs}:",
                f"        raise ValueError('X must have shape (npoints, {nargs}), got '"
                f" + str(X.shape))",
                "    X = np.ascontiguousarray(X)",
                "    if out is None:",
                f"        out = np.empty((X.shape[0], {nexpr}), dtype=np.float64)",
                f"    elif out.shape != (X.shape[0], {nexpr}) or out.dtype != np.float64:",
                f"        raise ValueError('out must be float64 of shape (npoints, {nexpr})')",
                f"    {kern}(X, out)",
                "    return out", ""]
    else:
        params = ", ".join(arg_names) if kind == "scalar" else "x"
        if not single:
            params = f"{params}, out" if params else "out"
        src = [f"@numba.njit(cache=True, {deco})", f"def {name}({params}):"]
        what = "return the expression" if single else "out[j] = expression j"
        src.append(f'    """{what} (see the module header)."""')
        if kind == "vector":
            src += [f"    a{k} = x[{k}]" for k in range(nargs)]
        src += block("    ")
        if single:
            src.append(f"    return float({results[0]})")
        else:
            src += [f"    out[{j}] = {r}" for j, r in enumerate(results)]
        src.append("")
    return "\n".join(head + src) + "\n" + _END_LINE


def _request_key(kind, exprs, args, single, name, parallel, use_cse) -> str:
    with _deep_recursion():
        options = (bool(single), bool(parallel), _cse_mode(use_cse), CHUNK, MAX_DEPTH)
        parts = [FORMAT_VERSION, kind, name, repr(options),
                 sp.srepr(list(args), order="none"), sp.srepr(list(exprs), order="none"),
                 _version(), _numba_version()]
    return hashlib.sha256("\n\x00".join(parts).encode("utf-8")).hexdigest()


def _assemble(key: str, body: str) -> str:
    sha = hashlib.sha256(body.encode("utf-8")).hexdigest()
    return f"{_KEY_PREFIX}{key}\n{_SHA_PREFIX}{sha}\n{body}"


def _check_text(text: str, key: str) -> bool:
    """True when ``text`` is a complete module for ``key`` (header key and body hash)."""
    first, _, rest = text.partition("\n")
    second, _, body = rest.partition("\n")
    if first != _KEY_PREFIX + key or not second.startswith(_SHA_PREFIX):
        return False
    if not body.endswith(_END_LINE):
        return False
    return hashlib.sha256(body.encode("utf-8")).hexdigest() == second[len(_SHA_PREFIX):]


# --------------------------------------------------------------------------- cache

def default_cache_dir() -> Path:
    """``$SYMRESP_CACHE_DIR/codegen``, else ``$XDG_CACHE_HOME/symresp/codegen``, else
    ``~/.cache/symresp/codegen`` (created on first use)."""
    root = os.environ.get("SYMRESP_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "codegen"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "symresp" / "codegen"


_LOCK = threading.RLock()
_MEMO: dict = {}
_STATS = {"generated": 0, "loaded": 0, "rebuilt": 0, "memo_hits": 0}


def cache_stats() -> dict:
    """Counters of this process: modules ``generated`` (CSE + printing ran), ``loaded``
    from an existing cache file, ``rebuilt`` (a stale or corrupt file was replaced) and
    in-process ``memo_hits``."""
    return dict(_STATS)


def clear_memo() -> None:
    """Forget the compiled functions of this process (the next request reads the cache
    directory again).  Mainly for tests and after deleting a cache directory."""
    with _LOCK:
        _MEMO.clear()


def _resolve_dir(cache_dir) -> Path:
    d = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        if not os.access(d, os.W_OK):
            raise PermissionError(f"{d} is not writable")
    except OSError as exc:
        if cache_dir is not None:
            raise CodegenError(f"cache directory {d} is not usable: {exc}") from None
        user = os.getuid() if hasattr(os, "getuid") else "user"
        fallback = Path(tempfile.gettempdir()) / f"symresp-codegen-{user}"
        warnings.warn(f"symresp.codegen: cache directory {d} is not usable ({exc}); "
                      f"using {fallback}", RuntimeWarning, stacklevel=3)
        fallback.mkdir(parents=True, exist_ok=True)
        d = fallback
    return d


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file in the same directory, then ``os.replace``: readers in
    other processes see the old complete file or the new complete file, never a part."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _import(path: Path, text: str, key: str) -> types.ModuleType:
    """Execute the validated ``text`` as a real module whose ``__file__`` is ``path`` (so
    numba's ``cache=True`` finds its source and stores machine code next to it)."""
    # One fixed name per cache entry, registered in sys.modules: numba's cache stores the
    # module name of each function and imports it again when a later process loads the
    # machine code, so the name must not depend on the process.
    modname = f"_symresp_codegen_{path.stem}"
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    # compile the text already checked, not the file again: no race with a writer, no
    # stale .pyc (CPython's pyc check has one-second resolution)
    code = compile(text, str(path), "exec", dont_inherit=True)
    sys.modules[modname] = module
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return module


def _get_module(kind, exprs, args, single, name, parallel, use_cse, cache_dir):
    key = _request_key(kind, exprs, args, single, name, parallel, use_cse)
    d = _resolve_dir(cache_dir)
    path = d / f"{name}_{key[:24]}.py"
    text = None
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    except (OSError, UnicodeDecodeError):
        text = ""
    if text is not None and _check_text(text, key):
        try:
            module = _import(path, text, key)
            _STATS["loaded"] += 1
            return module, path
        except Exception as exc:  # valid hash but not importable: rebuild below
            warnings.warn(f"symresp.codegen: rebuilding unusable cache entry {path} "
                          f"({type(exc).__name__}: {exc})", RuntimeWarning, stacklevel=3)
    if text is not None:
        _STATS["rebuilt"] += 1
    body = _body(kind, exprs, args, single, name, parallel, use_cse)
    _STATS["generated"] += 1
    text = _assemble(key, body)
    _write_atomic(path, text)
    return _import(path, text, key), path


def _cse_mode(cse):
    if cse == "tree":
        return "tree"
    if cse is True or cse is False:
        return cse
    raise CodegenError(f"cse must be True, False or 'tree', got {cse!r}")


def _build(kind, exprs, args, *, name, parallel=True, cse=True, cache_dir=None):
    with _deep_recursion():  # hashing, srepr, cse and str of SymPy trees recurse per level
        return _build_inner(kind, exprs, args, name=name, parallel=parallel, cse=cse,
                            cache_dir=cache_dir)


def _build_inner(kind, exprs, args, *, name, parallel, cse, cache_dir):
    _check_name(name)
    exprs, single = _as_expr_list(exprs)
    args = _as_args(args)
    if kind == "points":
        single = False  # always an (npoints, nexpr) array
    _validate(exprs, args)
    resolved = str(Path(cache_dir).expanduser().resolve()) if cache_dir is not None else \
        str(default_cache_dir())
    cse = _cse_mode(cse)
    memo_key = (kind, tuple(exprs), tuple(args), single, name, bool(parallel), cse,
                resolved, _version())
    with _LOCK:
        fn = _MEMO.get(memo_key)
        if fn is not None:
            _STATS["memo_hits"] += 1
            return fn
        module, path = _get_module(kind, exprs, args, single, name, parallel, cse, cache_dir)
        fn = getattr(module, name)
        try:
            fn.cache_path = str(path)
            fn.codegen_module = module
            if kind == "points":
                fn.kernel = getattr(module, f"{name}_kernel")
        except AttributeError:  # pragma: no cover - numba dispatchers accept attributes
            pass
        try:
            fn.method = "straight"
        except AttributeError:  # pragma: no cover
            pass
        _MEMO[memo_key] = fn
        return fn


# --------------------------------------------------------------------------- public API

def points_function(exprs, args, *, name: str = "f", parallel: bool = True,
                    cse: bool | str = True, cache_dir=None, method: str = "auto"):
    """Compiled evaluator of ``exprs`` at many points.

    Returns ``fn(X, out=None) -> out`` with ``out[i, j] = exprs[j](X[i, 0], …, X[i, k-1])``
    where ``X[i, k]`` is the value of ``args[k]``; ``X`` is float64 of shape
    ``(npoints, len(args))``, ``out`` float64 of shape ``(npoints, len(exprs))`` (allocated
    when not given).

    ``method``: ``"straight"`` generates straight-line numba code (below);
    ``"trie"`` evaluates polynomials along a monomial trie (:mod:`symresp.polyset`: one
    kernel compiled once per machine, every monomial shared; for polynomials only);
    ``"auto"`` (default) takes the trie for expanded polynomials with at least
    :data:`TRIE_MIN_TERMS` terms in all, whose straight-line code would take minutes to
    compile and run slower, and straight-line code otherwise.  ``fn.method`` says which.

    Straight-line code: ``fn`` is a plain Python wrapper that checks shapes; ``fn.kernel``
    is the numba function ``kernel(X, out)`` (``prange`` over points when ``parallel``),
    callable from other njit code; ``fn.cache_path`` is the generated module.  Trie:
    ``fn.polynomial_set`` is the :class:`~symresp.polyset.PolynomialSet` (``save`` it to
    skip the conversion from SymPy next time); ``fn.kernel`` and ``fn.cache_path`` are None.

    ``exprs``: a SymPy expression, a list/tuple of them or a Matrix (flattened row-major).
    ``args``: distinct SymPy Symbols.  ``cse``: True runs :func:`sympy.cse` (repeated
    subtrees and common argument subsets of sums/products); ``"tree"`` shares repeated
    identical subtrees only (much faster on polynomials with thousands of terms, e.g.
    it still shares every power ``h1**3``); False prints the expressions as they are.
    Raises :class:`CodegenError` for symbols not in ``args``, unsupported operations, and
    non-polynomials with ``method="trie"``.
    """
    if method not in ("auto", "straight", "trie"):
        raise CodegenError(f"method must be 'auto', 'straight' or 'trie', got {method!r}")
    if method != "straight":
        fn = _trie_function(exprs, args, name, required=method == "trie")
        if fn is not None:
            return fn
    return _build("points", exprs, args, name=name, parallel=parallel, cse=cse,
                  cache_dir=cache_dir)


class _TrieFunction:
    """``fn(X, out=None)`` of :func:`points_function` with ``method="trie"``."""

    method = "trie"
    kernel = None
    cache_path = None

    def __init__(self, polynomial_set, name):
        self.polynomial_set = polynomial_set
        self.__name__ = name

    def __call__(self, X, out=None):
        return self.polynomial_set(X, out)

    def __repr__(self):
        return f"<points_function {self.__name__!r}: {self.polynomial_set!r}>"


def _trie_function(exprs, args, name, required):
    from symresp.codegen.polyset import PolynomialSet, _expanded_terms

    _check_name(name)
    with _deep_recursion():
        exprs, _ = _as_expr_list(exprs)
        args = _as_args(args)
        _validate(exprs, args)
        memo_key = ("trie", tuple(exprs), tuple(args), name)
        with _LOCK:
            fn = _MEMO.get(memo_key)
        if fn is not None:
            _STATS["memo_hits"] += 1
            return fn
        if required:
            try:
                ps = PolynomialSet.from_exprs(exprs, args)
            except ValueError as exc:
                raise CodegenError(f"method='trie': {exc}") from None
        else:  # expanded sums only, read once: they decide the route and fill the tables
            pos = {a: k for k, a in enumerate(args)}
            polys = []
            for e in exprs:
                polys.append(_expanded_terms(e, pos))
                if polys[-1] is None:
                    return None
            if sum(map(len, polys)) < TRIE_MIN_TERMS:
                return None
            ps = PolynomialSet.from_terms(polys, len(args))
    fn = _TrieFunction(ps, name)
    with _LOCK:
        _MEMO[memo_key] = fn
    return fn


def scalar_function(exprs, args, *, name: str = "f", cse: bool | str = True, cache_dir=None):
    """numba ``@njit(cache=True)`` function of the arguments given as scalars.

    With a single expression: ``fn(a_0, …, a_{k-1}) -> float``.  With a list of
    expressions: ``fn(a_0, …, a_{k-1}, out)`` writes ``out[j] = exprs[j](a)`` into a
    float64 array of length ``len(exprs)`` and returns None.  ``a_k`` is the value of
    ``args[k]``.  Callable from other njit code (e.g. a user activation ``a(z)`` inside
    the simulator).
    """
    return _build("scalar", exprs, args, name=name, cse=cse, cache_dir=cache_dir)


def vector_function(exprs, args, *, name: str = "f", cse: bool | str = True, cache_dir=None):
    """numba ``@njit(cache=True)`` function of one 1-D float64 array ``x`` holding the
    arguments, ``x[k]`` = value of ``args[k]`` (e.g. the hidden state h).

    With a single expression: ``fn(x) -> float``; with a list: ``fn(x, out)`` writes
    ``out[j] = exprs[j](x)``.  Callable from other njit code (state-dependent couplings
    ``γ(h)``, readouts ``f(h)``).
    """
    return _build("vector", exprs, args, name=name, cse=cse, cache_dir=cache_dir)


def function_source(exprs, args, *, kind: str = "points", name: str = "f",
                    parallel: bool = True, cse: bool | str = True) -> str:
    """Text of the self-contained module (imports only math, numpy, numba) that
    :func:`points_function` (``kind="points"``), :func:`scalar_function`
    (``kind="scalar"``) or :func:`vector_function` (``kind="vector"``) would generate;
    includes the cache header lines.  Nothing is written or compiled."""
    if kind not in _KINDS:
        raise CodegenError(f"kind must be one of {_KINDS}, got {kind!r}")
    _check_name(name)
    cse = _cse_mode(cse)
    exprs, single = _as_expr_list(exprs)
    args = _as_args(args)
    if kind == "points":
        single = False
    _validate(exprs, args)
    with _deep_recursion():
        key = _request_key(kind, exprs, args, single, name, parallel, cse)
        return _assemble(key, _body(kind, exprs, args, single, name, parallel, cse))
