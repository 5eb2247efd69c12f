"""Derivation observables as SymPy expressions, and the LaTeX display of a derivation.

The ring keeps each activation value as an auxiliary variable (``T1`` for tanh(z_1),
``S1`` for sigmoid(z_1), ...; z = W h + b).  :func:`observable_exprs` writes them back on
request:

``auxiliaries="symbols"``  the auxiliaries stay symbols: ``2*h1 - 2*T1**2``;
``auxiliaries="z"``        each auxiliary is its value at the pre-activation symbol z_i:
                           ``2*h1 - 2*tanh(z1)**2``;
``auxiliaries="h"``        fully in the state, z_i = (W h + b)_i substituted:
                           ``2*h1 - 2*tanh(h1/2 - h2)**2``.

The declared parameters are written back as their symbols in a symbolic derivation.
"""

from __future__ import annotations

import sympy as sp

from symresp.model.activations import Z
from symresp.validation import check_choice

__all__ = ["observable_exprs", "z_symbols", "derivation_latex", "AUXILIARY_FORMS"]

#: the accepted ``auxiliaries`` forms of :func:`observable_exprs`
AUXILIARY_FORMS = ("symbols", "z", "h")


def z_symbols(n_units: int) -> tuple:
    """The pre-activation symbols ``z1 … z<n_units>`` (real)."""
    return tuple(sp.Symbol(f"z{i + 1}", real=True) for i in range(n_units))


def _aux_maps(der):
    """(aux symbol → value at z_i, aux symbol → value in h, value in h → aux symbol)."""
    net, alg = der.net, der.algebra
    act = getattr(alg, "activation", net.activation)
    units = net.W.shape[0]
    zs = z_symbols(units)
    at_z, at_h = {}, {}
    for j, name in enumerate(act.aux):
        for i in range(units):
            s = sp.Symbol(f"{name}{i + 1}", real=True)
            at_z[s] = act.aux_exprs[j].subs(Z, zs[i])
            at_h[s] = act.aux_exprs[j].subs(Z, net.z[i])
    return at_z, at_h, {v: s for s, v in at_h.items()}


def observable_exprs(der, auxiliaries: str = "symbols") -> dict:
    """``{(k, p): [SymPy expression per readout component]}`` for every observable G_{k,p}
    of the derivation (0-based channels ``k``; see :class:`~symresp.symbolic.recursion.Derivation`).

    ``auxiliaries`` is one of ``"symbols"`` (T1, S1, … as symbols), ``"z"`` (tanh(z1), …
    with z_i = (W h + b)_i as the symbols ``z1 … zk``, see :func:`z_symbols`) or ``"h"``
    (everything in h1 … hn)."""
    check_choice(auxiliaries, "auxiliaries", AUXILIARY_FORMS)
    alg = der.algebra
    at_z, at_h, back = _aux_maps(der)
    out = {}
    for key, gs in der.observables.items():
        exprs = []
        for g in gs:
            e = alg.to_expr(g)
            if not at_h:
                exprs.append(e)
                continue
            if auxiliaries == "h":
                e = e.xreplace(at_h)
            else:
                e = sp.expand(e).xreplace(back)  # the expression algebra writes values in h
                if auxiliaries == "z":
                    e = e.xreplace(at_z)
            exprs.append(e)
        out[key] = exprs
    return out


def _chan(k) -> str:
    return ",".join(str(int(x) + 1) for x in k) if k else r"\varnothing"


def derivation_latex(der, max_entries: int = 12) -> str:
    """A short LaTeX summary of a derivation (Jupyter display): what was derived and its
    first observables G_{k;p} (auxiliaries as symbols), the rest counted."""
    exprs = observable_exprs(der)
    h_names = {s: rf"h_{{{i + 1}}}" for i, s in enumerate(der.net.h)}
    rows = []
    for (k, p), es in list(exprs.items())[:max_entries]:
        lab = rf"G_{{{_chan(k)};\,{','.join(map(str, p))}}}"
        for j, e in enumerate(es):
            lj = lab if len(es) == 1 else rf"[{lab}]_{{{j + 1}}}"
            rows.append(rf"{lj} &= {sp.latex(e, symbol_names=h_names)}")
    left = len(exprs) - min(len(exprs), max_entries)
    head = (
        rf"\text{{Derivation: orders }} n \le {der.order},\ \text{{lag degree }} P = {der.P}"
        rf"\ (\text{{{der.truncation}}}),\ \text{{{der.start} start}},\ "
        rf"{len(exprs)}\ \text{{observables}}"
    )
    body = r" \\ ".join(rows)
    tail = rf" \\ &\dots\ \text{{({left} more)}}" if left else ""
    return rf"$\displaystyle \begin{{aligned}}&{head} \\ {body}{tail}\end{{aligned}}$"
