"""The values c_{k;p} = μ₀[G_{k;p}] printed in the document, each with how it was obtained.

Every value says where it comes from, so that the document states only what the run did:

``exact``
    rational arithmetic: a constant observable, the Gaussian moments of the linear network's
    stationary law N(m_∞, S), or a polynomial evaluated at a rational h₀ (point start);
``evaluation``
    a point start whose auxiliaries are irrational at h₀ (e.g. tanh(3/10)): evaluated in
    double precision;
``quadrature``
    Gibbs quadrature of ρ_∞ ∝ exp(2Φ/s²) (gradient networks in one or two dimensions);
``samples``
    the mean over N stationary samples, with its standard error;
``supplied``
    a supplied kernel's coefficient whose route is not recorded.

Exact values take precedence over supplied kernels, and those over values computed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError
from symresp.expectation import gaussian as ex
from symresp.expectation.start_law import expect as _expect
from symresp.expectation.start_law import expectation_method
from symresp.kernels.taylor import TaylorKernel, exact_coefficients, rational_point
from symresp.symbolic.algebra import RingAlgebra

__all__ = ["Coef", "CoefficientValues", "coefficient_values"]


@dataclass(frozen=True)
class Coef:
    """One coefficient of one readout component: its value (a SymPy number when exact, a
    float otherwise), its standard error (samples only) and how it was obtained."""

    value: object
    stderr: float | None
    how: str
    n_samples: int | None = None
    #: for exact values: "constant", "gaussian" (moments of N(m_∞, S)) or "point" (at h₀)
    source: str | None = None


@dataclass
class CoefficientValues:
    """``entries[(order, index)][p]`` is a list of :class:`Coef`, one per readout component;
    ``missing`` lists the (order, index) keys left as expectations and ``reason`` says why."""

    entries: dict = field(default_factory=dict)
    missing: list = field(default_factory=list)
    reason: str | None = None
    kernels: dict = field(default_factory=dict)  # TaylorKernel per key with every value known

    def get(self, key, p):
        return self.entries.get(key, {}).get(p)

    def counts(self) -> dict:
        """How many values (entries × readout components) each route gave."""
        out: dict = {}
        for entry in self.entries.values():
            for comps in entry.values():
                for c in comps:
                    out[c.how] = out.get(c.how, 0) + 1
        return out

    def exact_sources(self) -> dict:
        """How many exact values each exact route gave ("constant", "gaussian", "point")."""
        out: dict = {}
        for entry in self.entries.values():
            for comps in entry.values():
                for c in comps:
                    if c.how == "exact":
                        out[c.source] = out.get(c.source, 0) + 1
        return out

    def sample_counts(self) -> list[int]:
        """The distinct sample sizes N behind the ``samples`` values."""
        return sorted(
            {
                c.n_samples
                for entry in self.entries.values()
                for comps in entry.values()
                for c in comps
                if c.how == "samples" and c.n_samples is not None
            }
        )


# ------------------------------------------------------------------ exact values
def _exact_evaluator(der):
    """``(g -> exact SymPy number or None, its route)`` beyond constants: the Gaussian
    moments of a linear network at a stationary start ("gaussian"); evaluation at a rational
    h₀ with rational auxiliaries at a point start ("point"); otherwise ``(None, None)``.
    Numeric derivations only (a symbolic ring keeps its parameters)."""
    net, alg = der.net, der.algebra
    if getattr(alg, "coefficient_symbols", None):  # parameters are ring variables
        return None, None
    if der.start == "stationary" and net.is_linear and isinstance(alg, RingAlgebra):
        try:
            moments = ex.gaussian_moments(net, *ex.gaussian_stationary(net))
        except (ArgumentError, ValueError, ZeroDivisionError):
            return None, None
        return (lambda g: moments(alg, g)), "gaussian"
    value = rational_point(der)
    if value is not None:
        return value, "point"
    return None, None


def _constant_value(g):
    if isinstance(g, sp.Basic):
        g = sp.sympify(g)
        return g if g.is_Rational else None
    if g.is_constant():
        d = g.to_dict()
        if not d:
            return sp.Integer(0)
        c = next(iter(d.values()))
        return sp.Rational(int(c.p), int(c.q))
    return None


# ------------------------------------------------------------------ supplied kernels
def _supplied(tk: TaylorKernel, p, j: int) -> Coef | None:
    rows = [tuple(int(x) for x in r) for r in tk.powers.tolist()]
    if tuple(p) not in rows:
        return None
    r = rows.index(tuple(p))
    value = float(tk.coeffs[r, j])
    route = tk.expectation or ""
    if route.startswith("samples[") and tk.coeff_stderr is not None:
        n = int(route[len("samples[") : -1])
        return Coef(value, float(tk.coeff_stderr[r, j]), "samples", n)
    how = {"gibbs": "quadrature", "point": "evaluation", "gaussian": "evaluation"}.get(
        route, "supplied"
    )
    se = None if tk.coeff_stderr is None else float(tk.coeff_stderr[r, j])
    return Coef(value, se, how)


# ------------------------------------------------------------------ all values
def coefficient_values(der, kernels=None, samples=None) -> CoefficientValues:
    """The value of every coefficient of ``der`` (orders 0..N) that this run can give.

    ``kernels``: ``{(order, index): TaylorKernel}`` (0-based index) already computed;
    ``samples``: stationary states (N × n) for the values nothing else gives.
    """
    kernels = {(int(o), tuple(int(x) for x in idx)): tk for (o, idx), tk in (kernels or {}).items()}
    exact, source = _exact_evaluator(der)
    p_out = der.net.p
    out = CoefficientValues()
    pending = []  # (key, p, j, element) computed in one batch below
    for order in range(der.order + 1):
        for index in der.indices(order):
            key = (order, tuple(index))
            tk = kernels.get(key)
            entry = out.entries.setdefault(key, {})
            for p, gs in sorted(der.terms(order, index).items()):
                comps = [None] * p_out
                for j, g in enumerate(gs):
                    v = _constant_value(g)
                    if v is not None:
                        comps[j] = Coef(v, None, "exact", source="constant")
                    elif exact is not None:
                        comps[j] = Coef(exact(g), None, "exact", source=source)
                    if comps[j] is None and tk is not None:
                        comps[j] = _supplied(tk, p, j)
                    if comps[j] is None:
                        pending.append((key, p, j, g))
                entry[p] = comps
    if pending and getattr(der.algebra, "coefficient_symbols", None):
        _symbolic(der, pending, out)
    elif pending:
        _compute(der, pending, samples, out)
    # drop incomplete entries: a coefficient is printed only with every component known
    for key, entry in out.entries.items():
        for p in list(entry):
            if any(c is None for c in entry[p]):
                del entry[p]
                if key not in out.missing:
                    out.missing.append(key)
    out.kernels = _taylor_kernels(der, out)
    return out


def _symbolic(der, pending, out: CoefficientValues) -> None:
    """A derivation that keeps its parameters: exact values in them where μ₀ is exact (point
    start, linear stationary law), none otherwise (quadrature and samples need numbers)."""
    net = der.net
    if der.start == "stationary" and not net.is_linear:
        out.reason = (
            "the derivation keeps the parameters as symbols, and stationary expectations of "
            "this network need numbers (derive without symbolic parameters for values)"
        )
        return
    source = "point" if der.start == "point" else "gaussian"
    keys = {}
    for key, p, _j, _g in pending:
        keys.setdefault(key, set()).add(p)
    for (order, index), ps in keys.items():
        ps = sorted(ps)
        vals = exact_coefficients(der, order, index, ps)
        for p, row in zip(ps, vals):
            for j, v in enumerate(row):
                out.entries[(order, index)][p][j] = Coef(v, None, "exact", source=source)


def _compute(der, pending, samples, out: CoefficientValues) -> None:
    try:
        route = expectation_method(der.net, der.start, samples)
        vals, cov = _expect(der, [g for *_, g in pending], samples)
    except ArgumentError:
        out.reason = (
            "the stationary law of this network has no closed form or quadrature, and no "
            "stationary samples were supplied to this run"
        )
        return
    how = {"point": "evaluation", "gibbs": "quadrature", "samples": "samples"}.get(route, route)
    n = None if samples is None else int(np.shape(samples)[0])
    se = None if cov is None else np.sqrt(np.diag(cov))
    for i, (key, p, j, _g) in enumerate(pending):
        out.entries[key][p][j] = Coef(
            float(vals[i]),
            None if se is None else float(se[i]),
            how,
            n if cov is not None else None,
        )


def _taylor_kernels(der, out: CoefficientValues) -> dict:
    """A :class:`TaylorKernel` per complete (order, index): its radius gives the trusted range."""
    kernels = {}
    for key, entry in out.entries.items():
        order, index = key
        terms = der.terms(order, index)
        if not order and der.start == "stationary":
            continue  # V_0 is a number
        if key in out.missing or set(entry) != set(terms) or not entry:
            continue
        ps = sorted(entry)
        try:
            values = der.net.values  # symbolic values: the radius at the declared values
            co = np.array(
                [[float(sp.sympify(c.value).xreplace(values)) for c in entry[p]] for p in ps]
            )
        except TypeError:  # a symbolic value: no numeric radius
            continue
        kernels[key] = TaylorKernel(order, index, ps, co, start=der.start, P=der.P)
    return kernels
