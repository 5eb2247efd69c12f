"""The section "Kernels in closed form": each kernel of the derivation as a function of the
lags (and of the declared parameters) where a route has one.

* Linear network (identity activation) with a polynomial readout and coupling, either start:
  :meth:`symresp.kernels.exact.ExactKernel.as_expr` — sums of exponentials of the lags,
  exact in the parameters where e^{−Aτ} has a closed form, a modal form with numeric
  eigenvalues otherwise (the document says which, kernel by kernel).
* Noiseless network (σ = 0) started at a stable fixed point h₀ (φ(h₀) = 0), orders 1 and 2:
  :meth:`symresp.kernels.deterministic.DeterministicKernel.as_expr`, modal exponentials with
  floating-point coefficients.

Both hold at every lag (no truncation in the lags).
"""

from __future__ import annotations

import warnings

import numpy as np
import sympy as sp

from symresp.errors import SymrespError
from symresp.kernels.deterministic import deterministic_kernel
from symresp.kernels.exact import exact_kernel, has_exact
from symresp.report.labels import _kernel_symbol, _lag_names
from symresp.report.printing import _GAP, _align, _Term, _term

__all__ = ["ClosedForm", "kernel_closed_forms", "closed_form_section"]


class ClosedForm:
    """One kernel's closed form: ``exprs`` (one per readout component), ``info`` (as
    :attr:`Kernel.expr_info`), the lag symbols and how they are written in the document."""

    def __init__(self, order, index, kernel, start):
        self.order, self.index = order, tuple(index)
        expr = kernel.as_expr()
        self.exprs = list(expr) if isinstance(expr, sp.MatrixBase) else [expr]
        self.info = kernel.expr_info
        self.route = kernel.method
        syms = kernel.lag_symbols()
        names = _lag_names(order, start)
        self.symbol_names = dict(zip(syms, names))


def _deterministic_applies(net, der) -> str | None:
    """None when the deterministic route gives this run's kernels, else why not."""
    if not np.all(np.array(net.Sigma.evalf(), float) == 0):
        return "the noise is not zero"
    if der.start != "point" or net.h0 is None:
        return "the start is not a point"
    if der.local_terms:
        return "the input sits inside the activation"
    phi = np.array(net.drift.xreplace(dict(zip(net.h, net.h0))).evalf(), float)
    if np.max(np.abs(phi)) > 1e-12:
        return "the start h_0 is not a fixed point"
    return None


def kernel_closed_forms(der) -> tuple[list[ClosedForm], str]:
    """The closed forms of every kernel of ``der`` (orders 0..N at the exact route, 1..2 at
    the deterministic one) and a sentence naming the route, or ``([], why not)``."""
    net = der.net.at_values()  # numeric routes need the declared values
    ok, why = has_exact(net)
    out = []
    try:
        if ok:
            for order in range(der.order + 1):
                for index in der.indices(order):
                    K = exact_kernel(net, order, index, start=der.start)
                    out.append(ClosedForm(order, index, K, der.start))
            return out, "exact"
        reason = _deterministic_applies(net, der)
        if reason is not None:
            return [], f"{why.split(':')[0]}, and {reason} (no deterministic closed form)"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an unstable fixed point: no closed form here
            for order in range(1, min(der.order, 2) + 1):
                for index in der.indices(order):
                    h0 = np.array(net.h0.evalf(), float).ravel()
                    K = deterministic_kernel(net, order, index, h0, start="point")
                    out.append(ClosedForm(order, index, K, der.start))
    except (SymrespError, UserWarning) as exc:
        return [], str(exc)
    return out, "deterministic"


def _expr_terms(expr, names) -> list[_Term]:
    """The summands of a closed form as signed LaTeX terms."""
    out = []
    for t in sp.Add.make_args(expr):
        if t.is_Rational or not t.free_symbols:
            out.append(_term(t, ""))
            continue
        c, rest = t.as_coeff_Mul()  # a rational factor in front, as \tfrac
        if not c.is_Rational:
            c, rest = sp.Integer(1), t
        if rest.could_extract_minus_sign():
            c, rest = -c, -rest
        out.append(_term(c, sp.latex(rest, symbol_names=names, fold_short_frac=True)))
    return out


def closed_form_section(der, forms: list[ClosedForm], route: str, budget) -> str:
    """The kernels in closed form, with how exact each is and where it holds."""
    net = der.net
    out = [r"\section{Kernels in closed form}"]
    if route == "exact":
        out.append(
            r"The network is linear with a polynomial readout, so every kernel is a finite "
            r"sum of exponentials of the lags: "
            r"$P_\tau g(h) = \mathbb{E}[g(X)]$ with $X \sim \mathcal{N}\bigl(m_\infty + "
            r"e^{-A\tau}(h - m_\infty),\ S - e^{-A\tau} S e^{-A^{\top}\tau}\bigr)$, "
            r"applied to the recursion of the previous section. These closed forms hold at "
            r"every lag (no truncation)"
            + (r" and keep the parameters as symbols" if net.parameters else "")
            + "."
        )
    else:
        out.append(
            r"The network is noiseless ($\sigma = 0$) and starts at its fixed point "
            r"$h_0$, $\varphi(h_0) = 0$: expanding $h = h_0 + \varepsilon x_1 + "
            r"\varepsilon^2 x_2 + \dots$ gives $\dot x_1 = J x_1 + C u$ and "
            r"$\dot x_2 = J x_2 + \tfrac12 D^2\varphi(h_0)[x_1, x_1]$ with "
            r"$J = D\varphi(h_0)$, whose solutions are sums over the eigenvalues of $J$ "
            r"(modal form, coefficients in double precision). They hold at every lag and "
            r"do not depend on $s_n$ (the network is at rest)."
        )
    lines = []
    notes = []
    for cf in forms:
        if lines:
            lines.append(_GAP)
        for j, e in enumerate(cf.exprs):
            lhs = "V_0(t)" if (cf.order == 0 and der.start == "point") else "V_0"
            if cf.order:
                lhs = _kernel_symbol(cf.order, cf.index, der.start)
            if len(cf.exprs) > 1:
                lhs = rf"\bigl[{lhs}\bigr]_{{{j + 1}}}"
            lines.extend(budget.equation(lhs, _expr_terms(e, cf.symbol_names)))
        if cf.route == "exact" and not cf.info.get("exact", True):
            notes.append(
                rf"${_kernel_symbol(cf.order, cf.index, der.start)}$" if cf.order else "$V_0$"
            )
    out.append(_align(lines))
    if notes:
        out.append(
            r"The eigen-decomposition of $A$ has no closed form in the parameters for "
            + ", ".join(notes)
            + r": those are modal forms with the eigenvalues computed at the declared "
            r"values of the parameters."
        )
    elif route == "exact":
        out.append(
            r"All of them are exact"
            + (" in the parameters and" if net.parameters else "")
            + r" in the lags (exact arithmetic, no rounding)."
        )
    return "\n".join(out) + "\n"
