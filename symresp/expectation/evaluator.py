"""Evaluating algebra elements (polynomials in h and the auxiliaries) at many states h.

:class:`Evaluator` picks a route by the size of the work (numpy, a compiled trie of
monomials, or fixed-point high precision); :class:`evaluation_precision` sets the default
precision of Evaluators made inside it.  Start laws live beside this module: the Gaussian
law of a linear network (:mod:`symresp.expectation.gaussian`), Gibbs quadrature
(:mod:`symresp.expectation.gibbs`), the conjugate observable
(:mod:`symresp.expectation.conjugate`) and the choice among them
(:mod:`symresp.expectation.start_law`).
"""

from __future__ import annotations

import operator
import warnings

import mpmath
import numpy as np
import scipy.sparse
import sympy as sp

from symresp import codegen
from symresp.codegen.polyset import PolynomialSet
from symresp.errors import ArgumentError
from symresp.model.network import SRNN
from symresp.symbolic.algebra import RingAlgebra
from symresp.validation import check_budget, check_int

__all__ = [
    "Evaluator",
    "evaluation_precision",
    "element_expr",
    "evaluate_expressions",
    "check_precision",
    "MAX_PRECISION",
]


# ------------------------------------------------------------------ numerics
#: Default evaluation precision (decimal digits) for Evaluators created without one;
#: set by :func:`evaluation_precision` (the CLI's ``--precision``).  None: float64.
_DEFAULT_PRECISION: list = [None]


#: Most decimal digits of the high-precision route: its cost grows like digits^1.6 per term
#: and point, and 10⁴ digits already take minutes for a small set.
MAX_PRECISION = 10_000


def check_precision(digits, *, limit: int = MAX_PRECISION) -> int | None:
    """``digits`` (an integer in [16, limit]) or None for float64."""
    if digits is None:
        return None
    digits = check_int(digits, "precision (decimal digits)", minimum=16)
    check_budget(digits, "precision", limit=limit, option="a smaller precision", unit="digits")
    return digits


class evaluation_precision:
    """Context manager: Evaluators created inside (with ``precision=None``) evaluate at
    ``digits`` decimal digits (see :class:`Evaluator`).  ``None`` restores float64.

    ``with evaluation_precision(50): taylor_kernel(der, 2, (0, 0), samples=X)``
    """

    def __init__(self, digits: int | None):
        self.digits = check_precision(digits)

    def __enter__(self):
        self._old = _DEFAULT_PRECISION[0]
        _DEFAULT_PRECISION[0] = self.digits
        return self

    def __exit__(self, *exc):
        _DEFAULT_PRECISION[0] = self._old
        return False


class Evaluator:
    """Evaluate algebra elements at many states h.

    Each element is a sparse polynomial in the ring variables (h, auxiliaries);
    auxiliaries are computed from h (e.g. T_i = tanh(z_i)).  Three routes:

    * **numpy** (small work): sums formed as a dense (points × terms) product in chunks,
      memory bounded;
    * **compiled** (large work, ``npoints × total terms > codegen_threshold``, or
      ``codegen=True``): ring elements go into a :class:`symresp.codegen.PolynomialSet`
      (every monomial shared along a trie, one numba kernel compiled once per machine,
      parallel over points; the benchmarks page of the docs compares it with numpy);
      elements outside the ring (non-polynomial readouts) become one generated numba
      module (:func:`symresp.codegen.points_function`, cached on disk);
    * **high precision** (``precision=digits``): the auxiliaries are computed with mpmath
      at that many digits and the exact rational polynomial is summed in fixed-point
      integer arithmetic with ``digits`` decimal digits plus 64 guard bits, then rounded
      once to float64.  Immune to cancellation; slow (pure Python, per term and point):
      meant for references and small point sets (a point start, a few thousand samples).

    In the float64 routes the values of long expanded polynomials can lose digits to
    cancellation: on a subsample of at most 256 points the ratio
    κ = max Σ_t |c_t m_t(x)| / max |Σ_t c_t m_t(x)| is measured per element
    (:attr:`cancellation`; the relative rounding error is about κ·2⁻⁵³ times a modest
    factor).  κ > 10⁸ (fewer than ~8 correct digits) raises a RuntimeWarning naming
    the remedy (``precision=50``, CLI ``--precision 50``).
    """

    #: npoints × total terms above which "auto" compiles: the trie tables cost ~5 µs per
    #: term to build, the numpy route ~20 ns per point-term, so this is ~250 points
    codegen_threshold = 5e6
    #: the same for elements outside the ring, whose generated module takes 10–30 s to
    #: compile the first time
    codegen_threshold_expr = 1e8
    #: κ above which a cancellation warning is issued
    cancellation_warn = 1e8

    def __init__(self, algebra, *, precision: int | None = None, codegen="auto"):
        self.algebra = algebra
        self.variables = algebra.variables
        aux = algebra.aux_values()
        self._aux_syms = list(aux)
        self._aux_exprs = list(aux.values())
        self._aux_fn = (
            sp.lambdify([list(algebra.net.h)], list(aux.values()), "numpy") if aux else None
        )
        if precision is None:
            precision = _DEFAULT_PRECISION[0]
        self.precision = check_precision(precision)
        if codegen not in ("auto", True, False):
            raise ArgumentError(f"codegen: expected 'auto', True or False, got {codegen!r}")
        self.codegen = codegen
        self.route = None  # route taken by the last call
        self.cancellation = None  # κ per element of the last float64 call
        self._sets = {}  # trie tables and coefficient matrices of recent element lists

    def state_variables(self, H: np.ndarray) -> np.ndarray:
        """(npoints, nvars): h followed by the auxiliaries, in ring-variable order."""
        H = np.atleast_2d(np.asarray(H, dtype=float))
        if self._aux_fn is None:
            return H
        vals = self._aux_fn(H.T)
        cols = [np.broadcast_to(np.asarray(v, float), (H.shape[0],)) for v in vals]
        return np.column_stack([H] + cols)

    def _ring(self) -> bool:
        return isinstance(self.algebra, RingAlgebra)

    def work(self, elements, H) -> int:
        """npoints × total number of terms (the size measure the route choice uses)."""
        npts = np.atleast_2d(np.asarray(H)).shape[0]
        nterms = sum(self.algebra.n_terms(g) for g in elements)
        return int(npts) * int(nterms)

    def __call__(self, elements, H, chunk_terms: int = 2_000_000, weights=None) -> np.ndarray:
        """Values, shaped (npoints, len(elements)).

        ``weights`` (npoints,): the values will be averaged with these weights (quadrature
        of ρ_∞); κ is then measured on that average, Σ_i w_i Σ_t |c_t m_t(x_i)| /
        |Σ_i w_i g(x_i)|, so nodes deep in the tails, where single values cancel badly but
        weigh nothing, do not raise false alarms."""
        elements = list(elements)
        H = np.atleast_2d(np.asarray(H, dtype=float))
        if self.precision is not None:
            self.route = f"mpmath-{self.precision}"
            return self._call_precise(elements, H)
        threshold = self.codegen_threshold if self._ring() else self.codegen_threshold_expr
        use_cg = self.codegen is True or (
            self.codegen == "auto" and elements and self.work(elements, H) > threshold
        )
        out = None
        if use_cg:
            try:
                if self._ring():
                    out = self._polynomial_set(elements)(self.state_variables(H))
                    self.route = "trie"
                else:
                    out = self._call_codegen(elements, H)
                    self.route = "codegen"
            except Exception as exc:  # noqa: BLE001 - fall back, but say why
                if self.codegen is True:
                    raise
                warnings.warn(
                    f"symresp: compiled evaluation unavailable ({type(exc).__name__}: "
                    f"{exc}); evaluating with numpy",
                    RuntimeWarning,
                    stacklevel=2,
                )
        if out is None:
            self.route = "numpy"
            if not self._ring():
                out = evaluate_expressions(self.algebra.net, elements, H)
            else:
                out = self._call_numpy(elements, self.state_variables(H), chunk_terms)
        self._check_cancellation(elements, H, out, weights)
        return out

    # ---------------------------------------------------------------- routes
    def _call_numpy(self, elements, X, chunk_terms, absolute=False):
        """Every distinct monomial of the set is evaluated once per point (power tables
        built once per variable), then all elements at once as one sparse product: the
        elements of a basis and of its generator images share most of their monomials."""
        monoms, C = self._memo("coefficients", elements, _coefficient_matrix)
        out = np.zeros((X.shape[0], len(elements)))
        if monoms.shape[0] == 0:
            return out
        if absolute:
            X, C = np.abs(X), abs(C)
        CT = C.T.tocsr()
        step = max(1, chunk_terms // monoms.shape[0])
        for a in range(0, X.shape[0], step):
            out[a : a + step] = (CT @ _poly_values(X[a : a + step], monoms).T).T
        return out

    def _polynomial_set(self, elements):
        """The trie tables of ``elements``."""
        return self._memo("trie", elements, PolynomialSet.from_ring)

    def _memo(self, kind, elements, build):
        """``build(algebra, elements)``, memoised per list of (identical) elements: a call
        and its cancellation check, or successive calls on one set, share the tables."""
        key = (kind, tuple(map(id, elements)))
        hit = self._sets.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], elements)):
            return hit[1]
        value = build(self.algebra, elements)
        if len(self._sets) >= 8:
            self._sets.pop(next(iter(self._sets)))
        self._sets[key] = (tuple(elements), value)
        return value

    def _call_codegen(self, elements, H):
        fn = codegen.points_function(
            [sp.sympify(g) for g in elements],
            list(self.algebra.net.h),
            name="observables",
            cse=True,
        )
        return fn(H)

    def _check_cancellation(self, elements, H, out, weights=None):
        self.cancellation = None
        if not self._ring() or not elements or H.shape[0] == 0:
            return
        if weights is None:
            idx = np.unique(np.linspace(0, H.shape[0] - 1, min(256, H.shape[0])).astype(int))
        else:
            idx = np.arange(H.shape[0])
        X = self.state_variables(H[idx])
        if self.route == "trie":
            absval = self._polynomial_set(elements).abs()(np.abs(X))
        else:
            absval = self._call_numpy(elements, X, 2_000_000, absolute=True)
        if weights is None:
            absval, scale = absval.max(axis=0), np.abs(out[idx]).max(axis=0)
        else:
            w = np.abs(np.asarray(weights, float))
            absval, scale = w @ absval, np.abs(np.asarray(weights, float) @ out)
        # values that are exactly zero (e.g. 𝓛₀f = φ(h*) = 0 at a fixed point) are measured
        # against the scale of the whole set, so only cancellation that matters is reported
        floor = 1e-6 * scale.max(initial=0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            kappa = np.where(absval == 0, 1.0, absval / np.maximum(scale, floor))
        self.cancellation = kappa
        bad = np.nonzero(kappa > self.cancellation_warn)[0]
        if bad.size:
            worst = float(np.max(kappa[bad]))
            warnings.warn(
                f"symresp: severe cancellation in {bad.size} of {len(elements)} observable(s) "
                f"(Σ|terms|/|value| up to {worst:.3g}: float64 keeps only about "
                f"{max(0.0, 15.6 - np.log10(worst)):.0f} correct digits there; long lag degrees, "
                f"large lags or large |h| cause this); evaluate with precision=50 "
                f"(CLI: --precision 50)",
                RuntimeWarning,
                stacklevel=3,
            )

    def _call_precise(self, elements, H):
        digits = self.precision
        bits = int(np.ceil(digits * 3.3219280948873626)) + 64
        out = np.empty((H.shape[0], len(elements)))
        with mpmath.workdps(digits + 10):
            if not self._ring():
                fn = sp.lambdify([list(self.algebra.net.h)], list(elements), "mpmath")
                for i, row in enumerate(H):
                    vals = fn([mpmath.mpf(float(x)) for x in row])
                    out[i] = [float(v) for v in vals]
                return out
            aux_fn = (
                sp.lambdify([list(self.algebra.net.h)], self._aux_exprs, "mpmath")
                if self._aux_exprs
                else None
            )
            plan = _FixedPointPlan(self.algebra, elements, bits)
            for i, row in enumerate(H):
                hv = [mpmath.mpf(float(x)) for x in row]  # exact: floats are dyadic
                xs = hv + (list(aux_fn(hv)) if aux_fn is not None else [])
                fixed = [int(mpmath.nint(mpmath.ldexp(x, bits))) for x in xs]
                out[i] = plan.evaluate(fixed)
        return out


class _FixedPointPlan:
    """Exact-rational polynomials summed in fixed point: values scaled by 2^bits, every
    monomial built once per point by one multiplication from a parent monomial."""

    def __init__(self, algebra, elements, bits):
        self.bits = bits
        index: dict = {}
        self.terms = []
        for g in elements:
            cs, ids = [], []
            for m, c in g.to_dict().items():
                m = tuple(int(x) for x in m)
                if m not in index:
                    index[m] = len(index)
                ids.append(index[m])
                p, q = int(c.p), int(c.q)
                cs.append((p << bits) // q if p >= 0 else -((-p << bits) // q))
            self.terms.append((cs, ids))
        # build order: by total degree; parent = monomial minus one power of its first variable
        monos = sorted(index, key=sum)
        self.order = []
        known = {tuple(0 for _ in range(len(algebra.variables))): None}
        for m in monos:
            chain = []
            cur = m
            while cur not in known and sum(cur) > 0:
                v = next(j for j, e in enumerate(cur) if e)
                parent = cur[:v] + (cur[v] - 1,) + cur[v + 1 :]
                chain.append((cur, parent, v))
                known[cur] = None
                cur = parent
            self.order.extend(reversed(chain))
        self.index = index
        self.nvars = len(algebra.variables)
        self._mul = operator.mul

    def evaluate(self, fixed):
        bits = self.bits
        one = 1 << bits
        vals = {tuple(0 for _ in range(self.nvars)): one}
        for m, parent, v in self.order:
            vals[m] = (vals[parent] * fixed[v]) >> bits
        mv = [0] * len(self.index)
        for m, j in self.index.items():
            mv[j] = vals[m]
        out = []
        scale = 1 << (2 * bits)
        for cs, ids in self.terms:
            total = sum(map(self._mul, cs, [mv[j] for j in ids]))
            out.append(total / scale)  # int true division: correctly rounded
        return out


def element_expr(algebra, g) -> sp.Expr:
    """A ring element as a SymPy expression in the ring variables, built without
    re-canonicalising (``Add._from_args``): ~50× faster than :meth:`RingAlgebra.to_expr`
    on elements with 10⁴–10⁵ terms, and equal to it."""
    if not isinstance(algebra, RingAlgebra):
        return sp.sympify(g)
    syms = algebra.variables
    powers: dict = {}
    terms = []
    for m, c in g.to_dict().items():
        p, q = int(c.p), int(c.q)
        coeff = sp.Integer(p) if q == 1 else sp.Rational(p, q)
        factors = []
        for s, k in zip(syms, m):
            k = int(k)
            if k:
                f = powers.get((s, k))
                if f is None:
                    f = powers[(s, k)] = s if k == 1 else sp.Pow(s, sp.Integer(k), evaluate=False)
                factors.append(f)
        if not factors:
            terms.append(coeff)
        elif p == 1 and q == 1:
            terms.append(factors[0] if len(factors) == 1 else sp.Mul._from_args(factors))
        else:
            terms.append(sp.Mul._from_args([coeff] + factors))
    if not terms:
        return sp.S.Zero
    return terms[0] if len(terms) == 1 else sp.Add._from_args(terms)


def _coefficient_matrix(algebra, elements):
    """The distinct monomials of ``elements`` (U, nvars) and their coefficients as a sparse
    (U, len(elements)) matrix."""
    index: dict = {}
    rows, cols, vals = [], [], []
    for e, g in enumerate(elements):
        for m, c in g.to_dict().items():
            try:
                v = int(c.p) / int(c.q)
            except OverflowError:
                raise ArgumentError(
                    "an observable has a coefficient beyond double precision (the network's "
                    "numbers are too large for float64 evaluation); use smaller weights, or "
                    "precision= (CLI --precision) for the exact high-precision route"
                ) from None
            rows.append(index.setdefault(tuple(int(x) for x in m), len(index)))
            cols.append(e)
            vals.append(v)
    nv = len(algebra.variables)
    monoms = np.array(list(index), dtype=np.int64).reshape(len(index), nv)
    C = scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(len(index), len(elements)))
    return monoms, C.tocsr()


def _poly_values(X, monoms):
    vals = None
    for v in range(monoms.shape[1]):
        e = monoms[:, v]
        top = int(e.max(initial=0))
        if top == 0:
            continue
        # a table of powers turns the per-term pow into a gather
        table = np.cumprod(np.repeat(X[:, v : v + 1], top, axis=1), axis=1)
        table = np.concatenate([np.ones((X.shape[0], 1)), table], axis=1)
        vals = table[:, e] if vals is None else vals * table[:, e]
    return np.ones((X.shape[0], monoms.shape[0])) if vals is None else vals


def evaluate_expressions(net: SRNN, exprs, H) -> np.ndarray:
    """Values of SymPy expressions in h at states H (for the expression algebra)."""
    fn = sp.lambdify([list(net.h)], list(exprs), "numpy")
    H = np.atleast_2d(np.asarray(H, float))
    vals = fn(H.T)
    return np.column_stack([np.broadcast_to(np.asarray(v, float), (H.shape[0],)) for v in vals])
