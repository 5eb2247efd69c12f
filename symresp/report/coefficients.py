"""The sections of the document built from the coefficient observables: the Volterra series
in short-time form (with V₀ and each kernel's trusted lag range) and the observables
G_{k;p} with their values c_{k;p}, each value saying how it was obtained."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from symresp.report.labels import (
    _c_label,
    _g_label,
    _kernel_symbol,
    _lag_monomial,
    _lag_names,
    _Names,
    _word,
)
from symresp.report.printing import (
    _GAP,
    _align,
    _equation,
    _float,
    _float_term,
    _Term,
    _term,
    _text,
    _value_latex,
)
from symresp.report.values import CoefficientValues
from symresp.symbolic.algebra import RingAlgebra

INF = 10**9  # "no limit" for term and entry budgets


@dataclass
class Budget:
    """How much of each long expression the document shows.

    ``max_terms``: leading terms of a polynomial (the count of the rest is printed);
    ``max_observables``: observables printed in full (the others by value);
    ``supplement``: the file name of the supplementary document that holds everything in
    full (None: no supplement is written). ``cut`` counts what was shortened."""

    max_terms: int
    max_observables: int
    supplement: str | None = None
    cut: int = 0

    def note(self) -> str:
        if self.supplement:
            return rf"in full in \texttt{{{_text(self.supplement)}}}"
        return ""

    def equation(self, lhs, terms, **kw) -> list[str]:
        if len(terms) > self.max_terms:
            self.cut += 1
        return _equation(
            lhs, terms, max_terms=self.max_terms, cut_note=self.note(), rows_only=True, **kw
        )


def _plural(k: int, word: str, many: str | None = None) -> str:
    return f"{k} {word if k == 1 else (many or word + 's')}"


def provenance_text(der, values: CoefficientValues) -> str:
    """One paragraph: how many values each route gave (exact, samples with N, ...)."""
    counts = values.counts()
    total = sum(counts.values())
    parts = []
    src = values.exact_sources()
    routes = {
        "gaussian": r"the exact Gaussian moments of $\rho_\infty$",
        "point": r"evaluation at the rational point $h_0$",
        "constant": "constant observables",
    }
    if counts.get("exact"):
        how = ", ".join(
            f"{src[k]} from {routes[k]}" for k in ("gaussian", "point", "constant") if src.get(k)
        )
        kind = (
            "as expressions in the parameters"
            if getattr(der.algebra, "coefficient_symbols", None)
            else "in rational arithmetic"
        )
        parts.append(
            rf"{_plural(counts['exact'], 'value')} exact, {kind} ({how}), printed exactly "
            r"(fractions, never decimals)"
        )
    if counts.get("samples"):
        ns = values.sample_counts()
        nn = " and ".join(f"$N = {n}$" for n in ns) if ns else "$N$"
        parts.append(
            rf"{_plural(counts['samples'], 'value')} estimated as means over {nn} stationary "
            r"samples, each followed by $\pm$ one standard error"
        )
    if counts.get("quadrature"):
        parts.append(
            rf"{_plural(counts['quadrature'], 'value')} by numerical quadrature of the "
            r"Gibbs density $\rho_\infty$ (double precision)"
        )
    if counts.get("evaluation"):
        parts.append(
            rf"{_plural(counts['evaluation'], 'value')} by evaluation at $h_0$ in double "
            r"precision (the auxiliaries are irrational there)"
        )
    if counts.get("supplied"):
        parts.append(
            rf"{_plural(counts['supplied'], 'value')} taken from kernels supplied to this run "
            r"(their route was not recorded)"
        )
    text = "Of the coefficient values in this document: " + "; ".join(parts) + "."
    if not total:
        text = ""
    if values.missing:
        labels = [
            ("V_0(t)" if der.start == "point" else "V_0")
            if not o
            else _kernel_symbol(o, idx, der.start)
            for o, idx in values.missing
        ]
        shown = ", ".join(f"${x}$" for x in labels[:6])
        if len(labels) > 6:
            shown += f" and {len(labels) - 6} more"
        text += (
            rf" The coefficients of {shown} are left as expectations $\Einf[G_{{k;p}}]$ "
            r"where this run has no value: " + _text(values.reason or "") + "."
        )
    return text.strip()


def _rounding_text(der) -> str:
    """What a fixed-point ("float") derivation means for the polynomials and their values."""
    return (
        r", with coefficients computed in fixed-point arithmetic and printed to 12 digits: "
        r"every coefficient is within "
        + _float(der.max_coefficient_error, 3)
        + r" of the exact one (a rigorous bound, usually far above the actual rounding), and "
        r"the values $c_{k;p}$ are those of the rounded polynomials"
    )


def _component_label(lab: str, j: int, p_out: int) -> str:
    return rf"\bigl[{lab}\bigr]_{{{j + 1}}}" if p_out > 1 else lab


def observables_section(der, names: _Names, values: CoefficientValues, budget: Budget) -> str:
    """Every G_{k;p} = 𝓛₁^{k_n}𝓛₀^{p_n}⋯𝓛₀^{p_1} f (its leading terms and count when long)
    and its value c_{k;p} = μ₀[G_{k;p}] where this run has one."""
    net = der.net
    out = [r"\section{Taylor coefficient observables}"]
    nobs = sum(len(v) for v in der.observables.values())
    sizes = [der.algebra.n_terms(g) for gs in der.observables.values() for g in gs]
    long = sum(1 for s in sizes if s > budget.max_terms)
    out.append(
        rf"The observables $G_{{k;p}}$ of the short-time form: "
        rf"{_plural(len(der.observables), 'entry', 'entries')} "
        rf"({_plural(nobs, 'polynomial')} over the {_plural(net.p, 'output')}, "
        rf"{sum(sizes)} terms in all), "
        + (
            r"exact polynomials in $h$"
            if isinstance(der.algebra, RingAlgebra)
            else r"exact expressions in $h$ (the readout or coupling is not polynomial)"
        )
        + (r" and the auxiliaries" if names.activation.aux else "")
        + (_rounding_text(der) if names.rounded else "")
        + r". Labels: $G_{k;p}$ with channels $k$ (1-based) and lag degrees $p$"
        + (r", the last one the degree in $s_n$ (point start)" if der.start == "point" else "")
        + r"; order $0$ is written $G_{\varnothing;p}$."
    )
    if long and budget.max_terms < INF:
        out.append(
            rf"{_plural(long, 'polynomial')} longer than {budget.max_terms} terms "
            rf"{'is' if long == 1 else 'are'} shown by {'its' if long == 1 else 'their'} "
            r"leading terms (lowest degree first) and the number of terms"
            + (rf", and listed {budget.note()}" if budget.supplement else "")
            + "."
        )
    mu = der.start == "stationary"
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
            block = []
            for p in sorted(terms):
                comps = values.get(key, p)
                for j, g in enumerate(terms[p]):
                    fj = f"f_{{{j + 1}}}" if net.p > 1 else "f"
                    lab = _component_label(_g_label(index, p), j, net.p)
                    clab = _component_label(_c_label(index, p), j, net.p)
                    extra = []
                    if comps is not None:
                        c = comps[j]
                        val = _value_latex(c.value, c.stderr)
                        how = (
                            rf"\Einf[{_g_label(index, p)}]" if mu else rf"{_g_label(index, p)}(h_0)"
                        )
                        extra.append(rf"{clab} = {how} &= {val}")
                    if shown < budget.max_observables:
                        lhs = f"{lab} = {_word(index, p, der.start, fj)}"
                        rows = budget.equation(lhs, names.element_terms(g), extra_rows=tuple(extra))
                        if block:
                            block.append(_GAP)  # a little air between entries
                        block.extend(rows)
                    elif extra:
                        block.extend(extra)
                    shown += 1
            out.append(_align(block))
    if shown > budget.max_observables:
        budget.cut += 1
        out.append(
            rf"\emph{{Only the first {budget.max_observables} of {shown} observables are "
            r"printed as polynomials; the others are given by their values"
            + (rf" (all {budget.note()})" if budget.supplement else "")
            + ".}"
        )
    return "\n".join(out) + "\n"


def _series_terms(der, index, p_sorted, comps_of, j, names, mu_label) -> list[_Term]:
    """The summands c_p Π τ^p/p! of one readout component (symbolic E[G] where unknown)."""
    t = []
    for p in p_sorted:
        mono, fact = _lag_monomial(names, p)
        comps = comps_of(p)
        if comps is not None:
            v = comps[j].value
            if isinstance(v, sp.Basic):
                q = v / fact
                if q != 0:
                    t.append(_term(q, mono))
            elif float(v) != 0.0:
                t.append(_float_term(float(v) / fact, mono))
        else:
            mu = mu_label(p)
            coef = mu if fact == 1 else rf"\tfrac{{1}}{{{fact}}}{mu}"
            t.append(_Term(1, f"{coef}\\,{mono}" if mono else coef))
    return t


def _trusted_text(der, key, values: CoefficientValues) -> str | None:
    """|τ_j| ≤ radius_j/2 for one kernel, or None when not estimated."""
    tk = values.kernels.get(key)
    if tk is None:
        return None
    order, index = key
    lags = _lag_names(order, der.start)
    rng = tk.trusted_range()
    sym = "V_0(t)" if not order else _kernel_symbol(order, index, der.start)
    if not np.any(tk.coeffs):
        return rf"${sym}$: every coefficient vanishes to degree {der.P}"
    bounds = [rf"|{lag}| \le {_float(r, 3)}" for lag, r in zip(lags, rng) if np.isfinite(r)]
    none = [lag for lag, r in zip(lags, rng) if not np.isfinite(r)]
    text = rf"${sym}$: " + (f"${', '.join(bounds)}$" if bounds else "")
    if none:
        text += (", " if bounds else "") + (
            f"no estimate in ${', '.join(none)}$ (no nonzero pure power of degree $\\ge 2$)"
        )
    return text


def volterra_section(der, values: CoefficientValues, budget: Budget, closed: bool) -> str:
    """E[y_t] = V₀ + Σ εⁿ ∫ K⁽ⁿ⁾ u⋯u with the kernels as their Taylor polynomials in the lags.

    ``closed``: the document also holds the kernels in closed form (their section is cited
    for the lags where the polynomials are not trusted)."""
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
        rf"with ${lags}$, and the kernels in short-time form, their Taylor polynomials of "
        rf"degree {der.P} in the lags (error $O(|\tau|^{{{der.P + 1}}})$):"
    )
    trusted = []
    for order in range(N + 1):
        block = []
        for index in der.indices(order):
            key = (order, tuple(index))
            terms = der.terms(order, index)
            names = _lag_names(order, der.start)
            p_sorted = sorted(terms, key=lambda p: (sum(p), tuple(-x for x in p)))
            if block:
                block.append(_GAP)
            for j in range(net.p):
                if order == 0:
                    lhs = "V_0" if der.start == "stationary" else "V_0(t)"
                else:
                    lhs = _kernel_symbol(order, index, der.start)
                lhs = _component_label(lhs, j, net.p)

                def mu_label(p, index=index, j=j):
                    g = _g_label(index, p)
                    mu = rf"\Einf[{g}]" if der.start == "stationary" else rf"{g}(h_0)"
                    return _component_label(mu, j, net.p)

                t = _series_terms(
                    der, index, p_sorted, lambda p, key=key: values.get(key, p), j, names, mu_label
                )
                exact_v0 = order == 0 and der.start == "stationary"
                rel = "=" if exact_v0 else r"\approx"
                c0 = values.get(key, ())
                if exact_v0 and c0 is not None and c0[j].how == "samples":
                    t = [_Term(1, _value_latex(c0[j].value, c0[j].stderr))]
                block.extend(budget.equation(lhs, t, rel=rel))
            tt = _trusted_text(der, key, values)
            if tt:
                trusted.append(tt)
        out.append(_align(block))
    if der.start == "stationary":
        c0 = [values.get((0, ()), ())]
        if c0[0] is not None:
            hows = {c.how for c in c0[0]}
            v0 = (
                "exact"
                if hows == {"exact"}
                else (
                    rf"a mean over $N = {c0[0][0].n_samples}$ stationary samples "
                    r"($\pm$ one standard error)"
                    if "samples" in hows
                    else (
                        "by quadrature of the Gibbs density"
                        if "quadrature" in hows
                        else "computed in double precision"
                    )
                )
            )
            out.append(rf"$V_0 = \Einf[f]$ is the stationary mean of the output, {v0}.")
    if trusted:
        out.append(
            r"\paragraph{Trusted lags.} The Taylor polynomials are trusted where every lag is "
            r"below half the radius of convergence estimated for it (root test on the "
            r"highest pure-power coefficients, $r_j \approx (|c_d|/d!)^{-1/d}$; an estimate, "
            r"not a bound); there the omitted terms shrink at least like $2^{-d}$: "
            + "; ".join(trusted)
            + "."
        )
    if closed:
        out.append(
            r"Beyond these lags use the closed forms of the section "
            r"\emph{Kernels in closed form}, which hold at every lag."
        )
    elif net.is_linear:
        out.append(
            r"For the linear network the series in the lags converges at every lag, but its "
            r"truncation at a fixed degree does not: its error grows like "
            rf"$|\tau|^{{{der.P + 1}}}$."
        )
    return "\n".join(out) + "\n"
