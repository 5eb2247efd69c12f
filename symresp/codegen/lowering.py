"""Validation of expressions and their lowering to straight-line statements of bounded size.

After common-subexpression elimination, sums (products) with more than :data:`CHUNK`
terms (factors) are accumulated in chunks with ``+=`` (``*=``) and any subexpression
nested deeper than :data:`MAX_DEPTH` is hoisted into its own temporary: numba's
parallel array analysis recurses over nested binary expressions and fails with
``RecursionError`` on a single long sum, and CPython's compiler has a similar limit.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager

import sympy as sp
from sympy.simplify.cse_main import tree_cse

from symresp.codegen.printer import _MATH_FUNCS, _SUPPORTED_TYPES, NumbaPrinter, _float_literal
from symresp.errors import CodegenError

__all__ = ["CHUNK", "MAX_DEPTH"]

#: Most terms of a sum (factors of a product) printed in one statement.
CHUNK = 16
#: Deepest expression tree printed in one statement; deeper parts become temporaries.
MAX_DEPTH = 4


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
            raise CodegenError(
                f"expression {j} is a string ({e!r}); parse user text first "
                f"(symresp.model.activations.parse_expression), codegen never parses text"
            )
        try:
            e = sp.sympify(e, strict=True)
        except (sp.SympifyError, TypeError):
            raise CodegenError(f"expression {j} is not a SymPy expression: {e!r}") from None
        if not isinstance(e, sp.Expr):
            raise CodegenError(
                f"expression {j} is not a scalar expression ({type(e).__name__}): {e}"
            )
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
            raise CodegenError(f"argument {k} must be a SymPy Symbol, got {type(a).__name__} {a!r}")
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
                f"{[str(a) for a in args]}"
            )
        seen = set()
        stack = [e]
        while stack:  # iterative: expression trees can be deeper than Python's recursion limit
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            if isinstance(node, sp.Function) and not isinstance(
                node, (sp.Max, sp.Min, sp.Piecewise)
            ):
                if node.func not in _MATH_FUNCS and node.func is not sp.log:
                    raise CodegenError(
                        f"expression {j}: unsupported function {node.func.__name__!s} "
                        f"(in {str(node)[:200]}); supported: "
                        f"{sorted(f.__name__ for f in _MATH_FUNCS) + ['Max', 'Min', 'Piecewise']}"
                    )
                if node.func is sp.log and len(node.args) != 1:
                    raise CodegenError(f"expression {j}: log with a base is not supported")
            elif node is sp.zoo or node is sp.I or isinstance(node, sp.core.numbers.ImaginaryUnit):
                raise CodegenError(
                    f"expression {j}: complex value {node} is not supported "
                    f"(generated code is real float64)"
                )
            elif not isinstance(node, _SUPPORTED_TYPES):
                raise CodegenError(
                    f"expression {j}: unsupported {type(node).__name__} ({str(node)[:200]})"
                )
            if isinstance(node, sp.Number):
                _float_literal(node)  # range check of the constant
            stack.extend(node.args)


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
        kids = [
            (self.hoist(e), 0) if d >= MAX_DEPTH and not isinstance(e, _PAIR) else (e, d)
            for e, d in kids
        ]
        exprs = [e for e, _ in kids]
        if isinstance(node, (sp.Add, sp.Mul)) and len(exprs) > CHUNK:
            # long sums/products: accumulate CHUNK terms per statement (numba recursion)
            cls, op = (sp.Add, "+=") if isinstance(node, sp.Add) else (sp.Mul, "*=")
            t = self.temp()
            for start in range(0, len(exprs), CHUNK):
                part = cls(*exprs[start : start + CHUNK], evaluate=False)
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


def _statements(exprs: list[sp.Expr], args: list[sp.Symbol], arg_names: list[str], use_cse):
    """(statements, result texts): straight-line code computing every expression."""
    names = dict(zip(args, arg_names))
    low = _Lowerer(names)
    with _deep_recursion():
        symbols = sp.numbered_symbols("c", cls=sp.Dummy)
        if use_cse == "tree":
            # repeated identical subtrees only: skips SymPy's search for common argument
            # subsets of Adds/Muls, which dominates cse time on polynomials with 10³+ terms
            reps, reduced = tree_cse(exprs, symbols, opt_subs={}, order="none")
        elif use_cse:
            reps, reduced = sp.cse(
                exprs, symbols=symbols, optimizations=None, order="none", list=True
            )
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


def _cse_mode(cse):
    if cse == "tree":
        return "tree"
    if cse is True or cse is False:
        return cse
    raise CodegenError(f"cse must be True, False or 'tree', got {cse!r}")
