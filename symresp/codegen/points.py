"""Code generation: SymPy expressions → numba ``@njit`` modules, with an on-disk cache.

The symbolic side of symresp produces large exact expressions: iterated
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
   sum; CPython's own compiler has a similar limit.
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
                          evaluator of :mod:`symresp.codegen.polyset` instead (``method``).
:func:`function_source`   the module text of the straight-line route (for a standalone module).

numba's compile time grows with the number of operations, not the statement layout, so
large expanded polynomial sets go to :mod:`symresp.codegen.polyset` (``method="auto"``):
no per-set compile, and faster per point (measurements: the benchmarks page of the docs).

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

from pathlib import Path

from symresp.codegen.cache import _LOCK, _MEMO, _STATS, _get_module, default_cache_dir
from symresp.codegen.lowering import _as_args, _as_expr_list, _cse_mode, _deep_recursion, _validate
from symresp.codegen.polyset import PolynomialSet, _expanded_terms
from symresp.codegen.writer import _body, _check_name, _version
from symresp.errors import CodegenError

__all__ = ["points_function", "function_source", "TRIE_MIN_TERMS"]

#: points_function(method="auto") evaluates expanded polynomial sets with at least this
#: many terms in all along a monomial trie: straight-line code of that size already takes
#: many seconds to compile, while the trie kernel is compiled once per machine and is faster
#: per point at this size (see benchmarks/bench_codegen.py)
TRIE_MIN_TERMS = 1000


def _build(exprs, args, *, name, parallel=True, cse=True, cache_dir=None):
    with _deep_recursion():  # hashing, srepr, cse and str of SymPy trees recurse per level
        _check_name(name)
        exprs, _ = _as_expr_list(exprs)
        args = _as_args(args)
        _validate(exprs, args)
        resolved = (
            str(Path(cache_dir).expanduser().resolve())
            if cache_dir is not None
            else str(default_cache_dir())
        )
        cse = _cse_mode(cse)
        memo_key = (
            "straight",
            tuple(exprs),
            tuple(args),
            name,
            bool(parallel),
            cse,
            resolved,
            _version(),
        )
        with _LOCK:
            fn = _MEMO.get(memo_key)
            if fn is not None:
                _STATS["memo_hits"] += 1
                return fn
            module, path = _get_module(exprs, args, name, parallel, cse, cache_dir)
            fn = getattr(module, name)
            fn.cache_path = None if path is None else str(path)
            fn.codegen_module = module
            fn.kernel = getattr(module, f"{name}_kernel")
            fn.method = "straight"
            _MEMO[memo_key] = fn
            return fn


def points_function(
    exprs,
    args,
    *,
    name: str = "f",
    parallel: bool = True,
    cse: bool | str = True,
    cache_dir=None,
    method: str = "auto",
):
    """Compiled evaluator of ``exprs`` at many points.

    Returns ``fn(X, out=None) -> out`` with ``out[i, j] = exprs[j](X[i, 0], …, X[i, k-1])``
    where ``X[i, k]`` is the value of ``args[k]``; ``X`` is float64 of shape
    ``(npoints, len(args))``, ``out`` float64 of shape ``(npoints, len(exprs))`` (allocated
    when not given).

    ``method``: ``"straight"`` generates straight-line numba code (below);
    ``"trie"`` evaluates polynomials along a monomial trie (:mod:`symresp.codegen.polyset`: one
    kernel compiled once per machine, every monomial shared; for polynomials only);
    ``"auto"`` (default) takes the trie for expanded polynomials with at least
    :data:`TRIE_MIN_TERMS` terms in all, whose straight-line code would take minutes to
    compile and run slower, and straight-line code otherwise.  ``fn.method`` says which.

    Straight-line code: ``fn`` is a plain Python wrapper that checks shapes; ``fn.kernel``
    is the numba function ``kernel(X, out)`` (``prange`` over points when ``parallel``),
    callable from other njit code; ``fn.cache_path`` is the generated module.  Trie:
    ``fn.polynomial_set`` is the :class:`~symresp.codegen.polyset.PolynomialSet` (``save`` it to
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
    return _build(exprs, args, name=name, parallel=parallel, cse=cse, cache_dir=cache_dir)


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


def function_source(
    exprs, args, *, name: str = "f", parallel: bool = True, cse: bool | str = True
) -> str:
    """Text of the self-contained module (imports only math, numpy, numba) that
    :func:`points_function` with ``method="straight"`` would generate (without the cache
    header).  Nothing is written or compiled."""
    _check_name(name)
    cse = _cse_mode(cse)
    exprs, _ = _as_expr_list(exprs)
    args = _as_args(args)
    _validate(exprs, args)
    with _deep_recursion():
        return _body(exprs, args, name, parallel, cse)
