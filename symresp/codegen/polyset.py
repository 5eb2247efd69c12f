"""Sets of sparse polynomials evaluated at many points along a monomial trie.

The coefficient observables ``G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ f``, are polynomials in
the ring variables x = (h, auxiliaries) with up to hundreds of thousands of terms that
share most of their monomials (176 819 terms over 35 462 distinct monomials for the
order-2, P = 6 set of a 4-D tanh network).  A :class:`PolynomialSet` evaluates

    p_e(x) = Σ_{t ∈ terms(e)} c_t x^{α_t},        e = 0, …, nout − 1,

by visiting the trie of the monomials' canonical words (variables in nondecreasing
order) depth first: a node's value is its parent's value times one variable, and each
term adds ``c_t · value`` to its polynomial.  Per point that is one multiplication per
node and one fused multiply-add per term — less than straight-line code, and the one
numba kernel (:mod:`symresp.codegen.trie_kernel`) is compiled once per machine for every set,
whereas the compile time of generated straight-line code grows with the number of terms.

Rounding: each monomial value is a product of ``|α|`` factors (``|α| − 1`` roundings)
and each polynomial a sum in table order, so

    |computed − exact| ≤ (|α|_max + nterms(e)) · u · Σ_t |c_t| |x^{α_t}|,  u = 2⁻⁵³,

to first order (the coefficients themselves are the correctly rounded doubles of the
exact rationals).  :meth:`PolynomialSet.abs` gives the set of ``|c_t|`` whose value at
``|x|`` is that right-hand sum.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from symresp.errors import ArgumentError

__all__ = ["PolynomialSet"]

#: point × (term + node) count above which a call shows a progress bar (calls of a few
#: seconds and more)
_PROGRESS_WORK = 2e10
#: the tables, in the order digest() hashes them
TABLE_FIELDS = ("var", "depth", "ptr", "out_index", "coeff")


def _to_float(c) -> float:
    """The double nearest to a rational (fmpq, SymPy Rational, Fraction) or a float."""
    p, q = getattr(c, "p", None), getattr(c, "q", None)  # fmpq, SymPy Rational
    if p is None or q is None:
        p, q = getattr(c, "numerator", None), getattr(c, "denominator", None)  # Fraction, int
    if p is not None and q is not None:
        try:
            return int(p) / int(q)  # Python's int division rounds correctly
        except OverflowError:
            raise ArgumentError(
                f"coefficient {c} does not fit a double; evaluate with "
                f"precision=50 (CLI: --precision 50)"
            ) from None
    return float(c)


class PolynomialSet:
    """``nout`` polynomials in ``nvars`` variables, compiled into trie tables.

    Build with :meth:`from_terms`, :meth:`from_ring` (ring elements of
    :class:`symresp.symbolic.algebra.RingAlgebra`) or :meth:`from_exprs` (SymPy expressions);
    call as ``ps(X, out=None) -> out`` with ``X`` of shape ``(npoints, nvars)`` and
    ``out[i, e] = p_e(X[i])`` of shape ``(npoints, nout)``.  The result does not depend
    on the number of threads (points are split into fixed chunks, each summed in the
    table's order).
    """

    def __init__(self, nvars, nout, var, depth, ptr, out_index, coeff):
        self.nvars, self.nout = int(nvars), int(nout)
        self.var = np.ascontiguousarray(var, dtype=np.int64)
        self.depth = np.ascontiguousarray(depth, dtype=np.int64)
        self.ptr = np.ascontiguousarray(ptr, dtype=np.int64)
        self.out_index = np.ascontiguousarray(out_index, dtype=np.int64)
        self.coeff = np.ascontiguousarray(coeff, dtype=np.float64)
        self.maxdepth = int(self.depth.max(initial=0))
        nodes = len(self.var)
        if (
            nodes < 1
            or self.depth[0] != 0
            or len(self.depth) != nodes
            or len(self.ptr) != nodes + 1
            or self.ptr[0] != 0
            or self.ptr[-1] != len(self.coeff)
            or len(self.out_index) != len(self.coeff)
            or np.any(np.diff(self.ptr) < 0)
            or np.any(np.diff(self.depth) > 1)
            or np.any(self.depth[1:] < 1)
            or np.any((self.var[1:] < 0) | (self.var[1:] >= self.nvars))
            or np.any((self.out_index < 0) | (self.out_index >= self.nout))
        ):
            raise ArgumentError(
                "inconsistent polynomial-set tables (not built by PolynomialSet.from_terms?)"
            )

    # ------------------------------------------------------------------ builders
    @classmethod
    def from_arrays(cls, exponents, out_index, coeff, nvars: int, nout: int) -> PolynomialSet:
        """From one row per term: ``exponents`` (T, nvars) nonnegative integers,
        ``out_index`` (T,) the polynomial each term belongs to, ``coeff`` (T,) floats.
        Repeated (polynomial, monomial) pairs are summed."""
        E = np.asarray(exponents, dtype=np.int64).reshape(-1, nvars)
        out_index = np.asarray(out_index, dtype=np.int64).reshape(-1)
        coeff = np.asarray(coeff, dtype=np.float64).reshape(-1)
        if not (len(E) == len(out_index) == len(coeff)):
            raise ArgumentError("exponents, out_index and coeff must have one row per term")
        if np.any(E < 0):
            raise ArgumentError(
                "exponents must be nonnegative (a polynomial, not a Laurent polynomial)"
            )
        mons = _prefix_closure(np.vstack([np.zeros((1, nvars), np.int64), E]))
        deg = mons.sum(axis=1)
        maxdeg = int(deg.max(initial=0))
        # canonical words, padded with −1 so that a prefix sorts before its extensions:
        # lexicographic order of the words is the depth-first (pre)order of the trie
        cum = np.cumsum(mons, axis=1)
        words = np.full((len(mons), max(maxdeg, 1)), -1, np.int64)
        for k in range(maxdeg):
            words[:, k] = np.where(k < deg, (cum <= k).sum(axis=1), -1)
        order = np.lexsort(words[:, ::-1].T)
        mons, deg, words = mons[order], deg[order], words[order]
        var = np.where(deg > 0, words[np.arange(len(mons)), np.maximum(deg - 1, 0)], -1)
        node_of = _row_index(mons, E)
        key = np.lexsort((out_index, node_of))
        node_of, out_index, coeff = node_of[key], out_index[key], coeff[key]
        # merge repeated (node, polynomial) pairs
        if len(node_of):
            first = np.ones(len(node_of), bool)
            first[1:] = (np.diff(node_of) != 0) | (np.diff(out_index) != 0)
            starts = np.nonzero(first)[0]
            coeff = np.add.reduceat(coeff, starts) if len(starts) < len(coeff) else coeff
            node_of, out_index = node_of[starts], out_index[starts]
        ptr = np.zeros(len(mons) + 1, np.int64)
        np.cumsum(np.bincount(node_of, minlength=len(mons)), out=ptr[1:])
        return cls(nvars, nout, var, deg, ptr, out_index, coeff)

    @classmethod
    def from_terms(cls, polys, nvars: int) -> PolynomialSet:
        """From a list of ``{exponent tuple: coefficient}`` dicts, one per polynomial
        (coefficients: floats or exact rationals, rounded to the nearest double)."""
        rows, idx, cf = [], [], []
        for e, d in enumerate(polys):
            for m, c in d.items():
                if len(m) != nvars:
                    raise ArgumentError(
                        f"polynomial {e}: exponent {tuple(m)} has {len(m)} "
                        f"entries, expected nvars = {nvars}"
                    )
                rows.append(tuple(int(k) for k in m))
                idx.append(e)
                cf.append(_to_float(c))
        return cls.from_arrays(
            np.array(rows, np.int64).reshape(-1, nvars), idx, cf, nvars, len(polys)
        )

    @classmethod
    def from_ring(cls, algebra, elements) -> PolynomialSet:
        """From elements of a :class:`symresp.symbolic.algebra.RingAlgebra` (variables in
        ``algebra.variables`` order: h, then the auxiliaries)."""
        nvars = len(algebra.variables)
        elements = list(elements)
        # monoms()/coeffs() are several times faster than to_dict() on large elements
        rows = [m for g in elements for m in g.monoms()]
        idx = (
            np.repeat(np.arange(len(elements)), [len(g.monoms()) for g in elements])
            if elements
            else np.zeros(0, np.int64)
        )
        cf = [_to_float(c) for g in elements for c in g.coeffs()]
        E = np.array(rows, dtype=np.int64).reshape(-1, nvars)
        return cls.from_arrays(E, idx, cf, nvars, len(elements))

    @classmethod
    def from_exprs(cls, exprs, args) -> PolynomialSet:
        """From SymPy expressions polynomial in the Symbols ``args``; raises ValueError
        naming the first expression that is not.  Expanded sums are read term by term
        (linear time); anything else goes through :meth:`sympy.Expr.as_poly`."""
        import sympy as sp  # only for building from SymPy: loading saved tables stays light

        args = list(args)
        pos = {a: k for k, a in enumerate(args)}
        polys = []
        for j, e in enumerate(exprs):
            e = sp.sympify(e)
            d = _expanded_terms(e, pos)
            if d is None:
                p = e.as_poly(*args) if args else None
                if p is None or not all(c.is_number for c in p.coeffs()):
                    raise ArgumentError(
                        f"expression {j} is not a polynomial in {args} with "
                        f"numeric coefficients: {sp.sstr(e)[:200]}"
                    )
                d = dict(p.terms())
            polys.append(d)
        return cls.from_terms(polys, len(args))

    # ------------------------------------------------------------------ use
    @property
    def n_terms(self) -> int:
        return len(self.coeff)

    @property
    def n_nodes(self) -> int:
        return len(self.var)

    def abs(self) -> PolynomialSet:
        """The set with coefficients ``|c_t|``: at ``|x|`` it gives Σ_t |c_t x^{α_t}|,
        the scale of the rounding error bound (module docstring)."""
        return PolynomialSet(
            self.nvars,
            self.nout,
            self.var,
            self.depth,
            self.ptr,
            self.out_index,
            np.abs(self.coeff),
        )

    def __call__(self, X, out=None, *, quiet: bool = False) -> np.ndarray:
        """Values at the rows of ``X``; long evaluations (more than ~10¹⁰ point-terms, a
        few seconds) show a progress bar unless ``quiet``.  Each point's value does not
        depend on how the rows are split, so blocks change nothing but the bar."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.nvars:
            raise ArgumentError(
                f"X: expected shape (npoints, {self.nvars}) (one column per "
                f"variable), got {X.shape}"
            )
        X = np.ascontiguousarray(X)
        if out is None:
            out = np.empty((X.shape[0], self.nout))
        elif (
            out.shape != (X.shape[0], self.nout)
            or out.dtype != np.float64
            or not out.flags.c_contiguous
        ):
            raise ArgumentError(
                f"out: expected a C-contiguous float64 array of shape "
                f"({X.shape[0]}, {self.nout}), got {out.dtype} {out.shape}"
            )
        n = X.shape[0]
        if n == 0:
            return out
        from symresp.codegen.trie_kernel import (  # numba: compiled on first use
            TRIE_CHUNK,
            trie_eval,
        )

        args = (self.var, self.depth, self.ptr, self.out_index, self.coeff, self.maxdepth)
        work = float(n) * (self.n_terms + self.n_nodes)
        if quiet or work < _PROGRESS_WORK:
            trie_eval(X, *args, out)
            return out
        block = max(TRIE_CHUNK, int(n * _PROGRESS_WORK / 10 / work) // TRIE_CHUNK * TRIE_CHUNK)
        with tqdm(total=n, desc="polynomial set", unit="point", delay=2.0, leave=False) as bar:
            for a in range(0, n, block):
                trie_eval(X[a : a + block], *args, out[a : a + block])
                bar.update(min(block, n - a))
        return out

    def digest(self) -> str:
        """sha256 of the tables (identifies the set, e.g. as a cache key)."""
        h = hashlib.sha256(f"{self.nvars},{self.nout}".encode())
        for f in TABLE_FIELDS:
            h.update(getattr(self, f).tobytes())
        return h.hexdigest()

    def arrays(self) -> dict:
        """The tables as named arrays (what :meth:`save` writes)."""
        return {
            "nvars": self.nvars,
            "nout": self.nout,
            **{f: getattr(self, f) for f in TABLE_FIELDS},
        }

    def save(self, path) -> Path:
        """Write the tables to ``path`` (``.npz``, no pickles)."""
        path = Path(path)
        np.savez(path, **self.arrays())
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path) -> PolynomialSet:
        with np.load(path, allow_pickle=False) as z:
            return cls(int(z["nvars"]), int(z["nout"]), *(z[f] for f in TABLE_FIELDS))

    def __repr__(self) -> str:
        return (
            f"PolynomialSet({self.nout} polynomials in {self.nvars} variables, "
            f"{self.n_terms} terms, {self.n_nodes} trie nodes, degree ≤ {self.maxdepth})"
        )


def _expanded_terms(e, pos: dict):
    """{exponents: coefficient} of an expanded polynomial expression (a sum of
    number × product of nonnegative integer powers of the symbols in ``pos``), or None
    when ``e`` is not of that form.  Repeated monomials are summed."""
    out: dict = {}
    for term in e.args if e.is_Add else (e,):
        c, rest = term.as_coeff_Mul()
        if not c.is_number:
            return None
        if c == 0:
            continue
        m = [0] * len(pos)
        for base, k in rest.as_powers_dict().items():
            if base == 1:
                continue
            if base not in pos or not (k.is_Integer and k >= 0):
                return None
            m[pos[base]] += int(k)
        m = tuple(m)
        out[m] = out.get(m, 0) + c
    return out


def _keys(E: np.ndarray, base: int) -> np.ndarray:
    """One integer per exponent row (mixed radix ``base``), order-preserving per row."""
    k = np.zeros(len(E), np.int64)
    for v in range(E.shape[1]):
        k = k * base + E[:, v]
    return k


def _radix(E: np.ndarray) -> int | None:
    """A radix for :func:`_keys` when every key fits in int64, else None."""
    base = int(E.max(initial=0)) + 1
    return base if E.shape[1] * np.log2(max(base, 2)) < 62 else None


def _unique_rows(E: np.ndarray) -> np.ndarray:
    base = _radix(E)
    if base is None:
        return np.unique(E, axis=0)
    _, first = np.unique(_keys(E, base), return_index=True)
    return E[first]


def _prefix_closure(E: np.ndarray) -> np.ndarray:
    """The monomials of ``E`` and every prefix of their canonical words: the parent of
    α ≠ 0 is α − e_v, v the last variable with α_v > 0."""
    mons = _unique_rows(E)
    while True:
        nz = mons.sum(axis=1) > 0
        last = mons.shape[1] - 1 - np.argmax(mons[nz, ::-1] > 0, axis=1)
        parents = mons[nz].copy()
        parents[np.arange(len(parents)), last] -= 1
        merged = _unique_rows(np.vstack([mons, parents]))
        if len(merged) == len(mons):
            return merged
        mons = merged


def _row_index(table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Index in ``table`` (unique rows) of each row of ``rows`` (all present)."""
    if len(rows) == 0:
        return np.zeros(0, np.int64)
    base = _radix(np.vstack([table, rows]))
    if base is not None:
        tk, rk = _keys(table, base), _keys(rows, base)
        order = np.argsort(tk)
        return order[np.searchsorted(tk, rk, sorter=order)]
    both = np.ascontiguousarray(np.vstack([table, rows]))
    _, inv = np.unique(both, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    where = np.empty(len(table), np.int64)
    where[inv[: len(table)]] = np.arange(len(table))
    return where[inv[len(table) :]]
