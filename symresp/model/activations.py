"""Activation functions and their differential algebra.

Each activation ``a(z)`` is described by auxiliary variables ``A_1..A_r`` (per
hidden unit) that are closed under differentiation in z:

    a(z) = value(z, A),          dA_j/dz = deriv_j(z, A),

with ``value`` and ``deriv_j`` polynomials.  For tanh, ``A = (T,)`` with
``T = tanh z``, ``a = T`` and ``dT/dz = 1 − T²``; iterating the generator
then stays inside the polynomial ring Q[h, T] and never builds nested tanh
derivatives.  A user expression ``a(z)`` without a known closure uses the
derivative chain ``D_j = a^{(j)}(z)``, ``dD_j/dz = D_{j+1}``, which is closed
for any finite number of derivatives (the chain length is set per derivation).
Polynomial activations (identity, cubic, user polynomials) need no auxiliary.
"""

from __future__ import annotations

import io
import keyword
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from symresp.errors import ArgumentError

__all__ = [
    "Activation",
    "get_activation",
    "KNOWN_ACTIVATIONS",
    "Z",
    "NumericActivation",
    "NUMERIC_ACTIVATIONS",
    "numeric_activation",
]

Z = sp.Symbol("z", real=True)


class _Placeholders:
    """A0, A1, …: placeholders for a unit's auxiliaries in the rules (as many as needed)."""

    def __getitem__(self, j):
        if isinstance(j, slice):
            return tuple(self[i] for i in range(*j.indices(j.stop if j.stop is not None else 0)))
        return sp.Symbol(f"A{j}")

    @staticmethod
    def index(sym) -> int:
        name = getattr(sym, "name", "")
        if name[:1] != "A" or not name[1:].isdigit():
            raise ArgumentError(f"{sym} is not an auxiliary placeholder")
        return int(name[1:])


_A = _Placeholders()


@dataclass(frozen=True)
class Activation:
    """An activation with its auxiliary-variable closure.

    Attributes
    ----------
    name : registry name or the user expression as text.
    expr : a(z) as a SymPy expression in :data:`Z`.
    aux : names of the auxiliary variables (``"T"`` gives ``T1..Tn``).
    aux_exprs : each auxiliary as a function of z.
    value : a(z) as a polynomial in (z, A0, A1, ...).
    derivs : dA_j/dz as polynomials in (z, A0, A1, ...).
    antiderivative : ∫ a dz (used for gradient networks and 1-D Gibbs laws), or None.
    bounded : |a| bounded on R (used to guarantee a stationary law).
    lipschitz : a global Lipschitz constant when known, else None.
    smooth : False for ReLU-like activations, which can be simulated but not derived.
    chain : True when the auxiliaries are the derivative chain of a user expression.
    latex_aux : LaTeX symbol of each auxiliary.
    """

    name: str
    expr: sp.Expr
    aux: tuple[str, ...] = ()
    aux_exprs: tuple[sp.Expr, ...] = ()
    value: sp.Expr = Z
    derivs: tuple[sp.Expr, ...] = ()
    antiderivative: sp.Expr | None = None
    bounded: bool = False
    lipschitz: float | None = None
    smooth: bool = True
    chain: bool = False
    latex_aux: tuple[str, ...] = field(default=())

    @property
    def is_polynomial(self) -> bool:
        return not self.aux

    def with_chain_length(self, length: int) -> Activation:
        """For a derivative-chain activation, the closure with ``length`` derivatives
        (the last one is kept as an opaque variable whose derivative is never needed)."""
        if not self.chain:
            return self
        length = max(1, length)
        names = tuple(f"D{j}_" for j in range(length + 1))
        exprs = tuple(sp.diff(self.expr, Z, j) for j in range(length + 1))
        syms = _A[: length + 1]
        derivs = tuple(syms[j + 1] for j in range(length)) + (sp.Integer(0),)
        latex = tuple(rf"a^{{({j})}}" for j in range(length + 1))
        return Activation(
            name=self.name,
            expr=self.expr,
            aux=names,
            aux_exprs=exprs,
            value=syms[0],
            derivs=derivs,
            antiderivative=self.antiderivative,
            bounded=self.bounded,
            lipschitz=self.lipschitz,
            smooth=True,
            chain=True,
            latex_aux=latex,
        )


def _registry() -> dict[str, Activation]:
    (T,) = _A[:1]
    z = Z
    return {
        "identity": Activation("identity", z, value=z, antiderivative=z**2 / 2, lipschitz=1.0),
        "tanh": Activation(
            "tanh",
            sp.tanh(z),
            ("T",),
            (sp.tanh(z),),
            T,
            (1 - T**2,),
            sp.log(sp.cosh(z)),
            bounded=True,
            lipschitz=1.0,
            latex_aux=(r"T",),
        ),
        "sigmoid": Activation(
            "sigmoid",
            1 / (1 + sp.exp(-z)),
            ("S",),
            (1 / (1 + sp.exp(-z)),),
            T,
            (T - T**2,),
            sp.log(1 + sp.exp(z)),
            bounded=True,
            lipschitz=0.25,
            latex_aux=(r"S",),
        ),
        "softplus": Activation(
            "softplus",
            sp.log(1 + sp.exp(z)),
            ("P", "S"),
            (sp.log(1 + sp.exp(z)), 1 / (1 + sp.exp(-z))),
            _A[0],
            (_A[1], _A[1] - _A[1] ** 2),
            -sp.polylog(2, -sp.exp(z)),
            bounded=False,
            lipschitz=1.0,
            latex_aux=(r"P", r"S"),
        ),
        "sin": Activation(
            "sin",
            sp.sin(z),
            ("s", "c"),
            (sp.sin(z), sp.cos(z)),
            _A[0],
            (_A[1], -_A[0]),
            -sp.cos(z),
            bounded=True,
            lipschitz=1.0,
            latex_aux=(r"\sigma", r"\kappa"),
        ),
        "cubic": Activation(
            "cubic", z - z**3 / 3, value=z - z**3 / 3, antiderivative=z**2 / 2 - z**4 / 12
        ),
    }


_NON_SMOOTH = {"relu": sp.Max(0, Z), "abs": sp.Abs(Z)}

KNOWN_ACTIVATIONS: dict[str, Activation] = _registry()


# ------------------------------------------------------------------ numeric forms
@dataclass(frozen=True)
class NumericActivation:
    """a, a', a'' as numpy-vectorised functions of z, and the simulator's activation code
    (its index in :data:`NUMERIC_ACTIVATIONS`; −1 for a user expression, evaluated from
    its SymPy form)."""

    name: str
    a: Callable
    da: Callable
    d2a: Callable
    code: int = -1


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # = 1/(1 + e^{−z}) without overflow


def _numeric_table() -> dict[str, NumericActivation]:
    """The numeric form of every registry activation (and of relu/abs, simulation only);
    the key order fixes the simulator's activation codes.  tests/test_numeric_network.py
    checks each against the SymPy expression of the registry."""
    forms = {
        "identity": (lambda z: 1.0 * z, lambda z: np.ones_like(z), lambda z: np.zeros_like(z)),
        "tanh": (
            np.tanh,
            lambda z: 1.0 - np.tanh(z) ** 2,
            lambda z: -2.0 * np.tanh(z) * (1.0 - np.tanh(z) ** 2),
        ),
        "sigmoid": (
            _sigmoid,
            lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
            lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)) * (1.0 - 2.0 * _sigmoid(z)),
        ),
        "softplus": (
            lambda z: np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z))),
            _sigmoid,
            lambda z: _sigmoid(z) * (1.0 - _sigmoid(z)),
        ),
        "sin": (np.sin, np.cos, lambda z: -np.sin(z)),
        "cubic": (lambda z: z - z**3 / 3.0, lambda z: 1.0 - z**2, lambda z: -2.0 * z),
        "relu": (
            lambda z: np.maximum(z, 0.0),
            lambda z: (z > 0.0) * 1.0,
            lambda z: np.zeros_like(z),
        ),
        "abs": (np.abs, lambda z: np.sign(z) * 1.0, lambda z: np.zeros_like(z)),
    }
    return {
        name: NumericActivation(name, *fns, code=j) for j, (name, fns) in enumerate(forms.items())
    }


NUMERIC_ACTIVATIONS: dict[str, NumericActivation] = _numeric_table()


def registry_expr(name: str) -> sp.Expr | None:
    """a(z) of a registry name (smooth or relu/abs), else None."""
    if name in KNOWN_ACTIVATIONS:
        return KNOWN_ACTIVATIONS[name].expr
    return _NON_SMOOTH.get(name)


def numeric_activation(act: Activation) -> NumericActivation:
    """The numeric form of ``act``: the registry's when ``act`` is a registry activation
    (same name and expression), else a, a', a'' lambdified from its SymPy expression."""
    ref = registry_expr(act.name)
    if act.name in NUMERIC_ACTIVATIONS and ref is not None and sp.simplify(act.expr - ref) == 0:
        return NUMERIC_ACTIVATIONS[act.name]
    d1 = sp.diff(act.expr, Z)
    fns = [sp.lambdify(Z, e, "numpy") for e in (act.expr, d1, sp.diff(d1, Z))]
    vec = lambda f: lambda z: np.broadcast_to(np.asarray(f(z), float), np.shape(z)).copy()
    return NumericActivation(act.name, *(vec(f) for f in fns))


_FUNCTION_NAMES = (
    "tanh",
    "sinh",
    "cosh",
    "exp",
    "log",
    "sin",
    "cos",
    "tan",
    "atan",
    "sqrt",
    "erf",
    "Abs",
    "Max",
    "Min",
    "pi",
    "E",
)
_ALLOWED_OPS = {"+", "-", "*", "/", "**", "^", "(", ")", ","}
_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _how_to_write(symbols) -> str:
    names = sorted(symbols)
    if not names:
        return "Write a number such as 0.5, \"3/2\" or \"sqrt(2)\"."
    return f"Write a SymPy expression in {', '.join(names)}, e.g. '{names[0]}**2'."


#: Parse-time limits of user expressions: SymPy evaluates numeric powers eagerly
#: (``9**9**9`` would not finish) and recurses once per nesting level.
MAX_EXPRESSION_LENGTH = 4000
MAX_NESTING = 40
MAX_EXPONENT = 64


def _check_limits(toks, text: str, what: str) -> None:
    """Refuse expressions too long, too deeply nested, or with powers whose size cannot be
    bounded: an exponent must be a number of magnitude ≤ MAX_EXPONENT, a name, or a
    parenthesised group without a power in it (so ``x**3``, ``z**(1/2)``, ``h1**k`` pass,
    ``9**9**9`` and ``2**(2**100)`` do not)."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ArgumentError(
            f"{what}: the expression has {len(text)} characters, more than the limit of "
            f"{MAX_EXPRESSION_LENGTH}; simplify it or split it over several fields."
        )
    depth = top = 0
    for tok in toks:
        if tok.string == "(":
            depth += 1
            top = max(top, depth)
        elif tok.string == ")":
            depth -= 1
    if top > MAX_NESTING:
        raise ArgumentError(
            f"{what}: parentheses nested {top} deep, more than the limit of {MAX_NESTING}."
        )
    ops = [t for t in toks if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)]
    for i, tok in enumerate(ops):
        if tok.string not in ("**", "^"):
            continue
        j = i + 1
        while j < len(ops) and ops[j].string in ("+", "-"):
            j += 1
        nxt = ops[j] if j < len(ops) else None
        after = ops[j + 1].string if j + 1 < len(ops) else None
        if nxt is None:
            return  # the parser reports the missing operand
        if nxt.type == tokenize.NUMBER:
            if abs(float(nxt.string)) > MAX_EXPONENT:
                raise ArgumentError(
                    f"{what}: the exponent {nxt.string} in {text[:80]!r} exceeds the limit of "
                    f"{MAX_EXPONENT}."
                )
            if after in ("**", "^"):
                raise ArgumentError(
                    f"{what}: chained powers (a**b**c) in {text[:80]!r} are refused; write the "
                    "exponent out or put parentheses around a power of a variable."
                )
        elif nxt.string == "(":
            level, k = 0, j
            while k < len(ops):
                s = ops[k].string
                level += s == "("
                level -= s == ")"
                if s in ("**", "^") and level > 0:
                    raise ArgumentError(
                        f"{what}: a power inside an exponent in {text[:80]!r} is refused (its "
                        "size cannot be bounded before evaluation)."
                    )
                if level == 0:
                    break
                k += 1


def _check_tokens(text: str, symbols, local, what: str) -> None:
    """Refuse any token but numbers, allowed names and arithmetic, before SymPy parses (and evals)."""
    _check_limits((), text.strip(), what)  # the length first: nothing long is tokenized
    if "\n" in text.strip() or "\r" in text:
        raise ArgumentError(f"{what}: expected a one-line expression, got {text[:80]!r}.")
    try:
        toks = list(tokenize.generate_tokens(io.StringIO(text.strip()).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        reason = exc.args[0] if exc.args else type(exc).__name__
        raise ArgumentError(
            f"{what}: could not parse {text!r} ({reason}). {_how_to_write(symbols)}"
        ) from None
    _check_limits(toks, text.strip(), what)
    unknown, unknown_fn = [], []
    for i, tok in enumerate(toks):
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if tok.type == tokenize.NUMBER and _NUMBER.fullmatch(tok.string):
            continue
        if (
            tok.type == tokenize.NAME
            and not keyword.iskeyword(tok.string)
            and not tok.string.startswith("_")
        ):
            if tok.string not in local:
                called = i + 1 < len(toks) and toks[i + 1].string == "("
                (unknown_fn if called else unknown).append(tok.string)
            continue
        if tok.type == tokenize.OP and tok.string in _ALLOWED_OPS:
            continue
        raise ArgumentError(
            f"{what}: could not parse {text!r}: {tok.string!r} is not allowed in an "
            "expression; only "
            f"numbers, the variables {sorted(symbols)}, the functions "
            f"{', '.join(_FUNCTION_NAMES[:-2])}, abs, sigmoid, softplus, the constants "
            "pi and E, and + - * / ** ^ ( ) , may be used."
        )
    if unknown_fn:
        raise ArgumentError(
            f"{what}: unknown function(s) {sorted(set(unknown_fn))} in {text!r}; "
            f"use {', '.join(_FUNCTION_NAMES[:-2])}, abs, sigmoid or softplus."
        )
    if unknown:
        raise ArgumentError(
            f"{what}: unknown name(s) {sorted(set(unknown))} in {text!r}; "
            f"allowed variables are {sorted(symbols)}."
        )


def parse_expression(text: str, symbols: dict[str, sp.Symbol], what: str) -> sp.Expr:
    """Parse user text with SymPy's parser (never ``eval``), allowing only the given symbols.

    Raises ``ValueError`` naming ``what`` when the text does not parse or uses unknown names.
    """
    if not isinstance(text, str) or not text.strip():
        raise ArgumentError(f"{what}: expected a non-empty expression string, got {text!r}.")
    local = dict(symbols)
    # functions users may write; everything else is refused below
    for fname in _FUNCTION_NAMES:
        local[fname] = getattr(sp, fname)
    local["abs"] = sp.Abs
    local["sigmoid"] = lambda x: 1 / (1 + sp.exp(-x))
    local["softplus"] = lambda x: sp.log(1 + sp.exp(x))
    local["relu"] = lambda x: sp.Max(0, x)
    # SymPy's parser ends in Python's eval: only arithmetic on numbers, the allowed
    # variables and the functions above may reach it (no attributes, strings, subscripts).
    _check_tokens(text, symbols, local, what)
    try:
        expr = parse_expr(
            text,
            local_dict=local,
            global_dict={
                "Integer": sp.Integer,
                "Float": sp.Float,
                "Rational": sp.Rational,
                "Symbol": sp.Symbol,
                "Function": sp.Function,
            },
            transformations=standard_transformations + (convert_xor,),
            evaluate=True,
        )
    except Exception as exc:  # SymPy raises many types for malformed text
        raise ArgumentError(
            f"{what}: could not parse {text!r} ({type(exc).__name__}: {exc}). "
            f"{_how_to_write(symbols)}"
        ) from None
    if not isinstance(expr, sp.Expr):
        raise ArgumentError(
            f"{what}: {text!r} is not an expression (parsed to {type(expr).__name__})."
        )
    unknown = {s.name for s in expr.free_symbols} - set(symbols)
    if unknown:
        raise ArgumentError(
            f"{what}: unknown name(s) {sorted(unknown)} in {text!r}; "
            f"allowed variables are {sorted(symbols)}."
        )
    undefined = [f for f in expr.atoms(sp.core.function.AppliedUndef)]
    if undefined:
        raise ArgumentError(
            f"{what}: unknown function(s) {sorted(str(f.func) for f in undefined)} "
            f"in {text!r}; use elementary SymPy functions such as tanh, exp, log."
        )
    return _rationalize(expr)


def _rationalize(expr: sp.Expr) -> sp.Expr:
    """Replace floats by the exact decimal rationals they were written as."""
    floats = expr.atoms(sp.Float)
    if not floats:
        return expr
    return expr.xreplace({f: sp.Rational(str(f)) for f in floats})


def is_smooth(expr: sp.Expr) -> bool:
    return not expr.has(sp.Abs, sp.Max, sp.Min, sp.Heaviside, sp.sign, sp.Piecewise)


def get_activation(spec, *, allow_nonsmooth: bool = False) -> Activation:
    """Look up an activation by name, or build one from a SymPy expression in z.

    ``spec`` is a registry name (see :data:`KNOWN_ACTIVATIONS`), ``"relu"``/``"abs"``
    (accepted only with ``allow_nonsmooth=True``, for simulation), or an expression
    string/SymPy expression in ``z``.
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str) and spec.strip().lower() in KNOWN_ACTIVATIONS:
        return KNOWN_ACTIVATIONS[spec.strip().lower()]
    if isinstance(spec, str) and spec.strip().lower() in _NON_SMOOTH:
        expr = _NON_SMOOTH[spec.strip().lower()]
        name = spec.strip().lower()
    else:
        if isinstance(spec, str) and spec.strip().isidentifier() and spec.strip() != "z":
            raise ArgumentError(
                f"network.activation: unknown activation {spec.strip()!r}. Known "
                f"activations: {', '.join(KNOWN_ACTIVATIONS)} (relu/abs for simulation "
                "only), or any SymPy expression in z such as 'z/(1+z**2)'."
            )
        if isinstance(spec, str):
            try:
                expr = parse_expression(spec, {"z": Z}, "network.activation")
            except ValueError as exc:
                raise ArgumentError(
                    f"{exc} Known activations: "
                    f"{', '.join(KNOWN_ACTIVATIONS)} (relu/abs for simulation only), "
                    "or any SymPy expression in z such as 'z/(1+z**2)'."
                ) from None
        elif isinstance(spec, sp.Expr):
            expr = _rationalize(spec.xreplace({s: Z for s in spec.free_symbols if s.name == "z"}))
        else:
            raise ArgumentError(
                f"network.activation: expected a name ({', '.join(KNOWN_ACTIVATIONS)}) "
                f"or an expression in z, got {spec!r}."
            )
        name = str(expr)
        if expr.free_symbols - {Z}:
            raise ArgumentError(
                f"network.activation: {spec!r} may depend on z only, found "
                f"{sorted(s.name for s in expr.free_symbols - {Z})}."
            )
    if not is_smooth(expr):
        if not allow_nonsmooth:
            raise ArgumentError(
                f"network.activation: {name!r} is not smooth (it has no Taylor expansion), so "
                "kernels cannot be derived for it. It can still be simulated (SRNN(..., "
                "derivable=False) or symresp simulate); for derivation use a smooth activation: "
                f"{', '.join(KNOWN_ACTIVATIONS)} or an expression such as 'log(1+exp(z))'."
            )
        return Activation(
            name, expr, value=expr, smooth=False, lipschitz=_piecewise_lipschitz(expr)
        )
    if expr.is_polynomial(Z):
        poly = sp.Poly(expr, Z)
        return Activation(
            name,
            expr,
            value=sp.expand(expr),
            antiderivative=sp.integrate(expr, Z),
            # an affine a(z) = c₁z + c₀ has Lipschitz constant |c₁|; higher degrees have none
            lipschitz=float(abs(poly.coeff_monomial(Z))) if poly.degree() <= 1 else None,
        )
    bounded = _is_bounded(expr)
    anti = None
    try:
        cand = sp.integrate(expr, Z)
        if not cand.has(sp.Integral):
            anti = cand
    except Exception:  # integration is a convenience, never required
        anti = None
    return Activation(name, expr, antiderivative=anti, bounded=bounded, chain=True)


def _piecewise_lipschitz(expr: sp.Expr) -> float | None:
    """The Lipschitz constant of a non-smooth user activation (ReLU-like, Max/Min/Abs of affine
    pieces): the largest |slope| of a secant on a fine grid over [−10³, 10³] and of the
    derivative where SymPy gives one; None when that is not finite (not globally Lipschitz).
    Exact for piecewise-affine activations, which is what non-smooth ones are in practice."""
    z = np.concatenate([-np.logspace(3, -3, 400), [0.0], np.logspace(-3, 3, 400)])
    try:
        f = sp.lambdify(Z, expr, "numpy")
        y = np.asarray(f(z), float) * np.ones_like(z)
    except Exception:
        return None
    if not np.all(np.isfinite(y)):
        return None
    slope = float(np.max(np.abs(np.diff(y) / np.diff(z))))
    far = abs(float(f(1e6)) - float(f(1e6 - 1.0))), abs(float(f(-1e6)) - float(f(-1e6 + 1.0)))
    if max(far) > slope * (1 + 1e-9) + 1e-12:  # grows faster than affine beyond the grid
        return None
    return slope


def _is_bounded(expr: sp.Expr) -> bool:
    try:
        lims = [sp.limit(expr, Z, sp.oo), sp.limit(expr, Z, -sp.oo)]
    except Exception:
        return False
    if not all(lim.is_finite for lim in lims):
        return False
    try:  # a finite limit at ±∞ with no singularity on R
        sing = sp.calculus.singularities(expr, Z, sp.S.Reals)
        return sing == sp.S.EmptySet
    except Exception:
        return False
