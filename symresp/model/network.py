"""The SRNN model: validated plain data with exact numbers.

    dh_t = [ φ(h_t) + ε γ(h_t) u_t ] dt + σ dW_t,     y_t = f(h_t),
    φ(h) = −Γ h + M a(W h + b)

``M`` is the identity for the standard network and ``Wᵀ`` for the
Hopfield (gradient) form (``form = "hopfield"``), whose drift is minus a gradient.
Every number is kept exact (SymPy rationals); floats are read as the decimals
they were written as.  Units and channels are 1-based in specs (h1, u1) and
0-based in arrays.
"""

from __future__ import annotations

import contextlib
import contextvars
import keyword
import re
from dataclasses import dataclass, replace
from functools import cached_property
from types import MappingProxyType

import numpy as np
import sympy as sp

from symresp.errors import SpecError
from symresp.model.activations import Activation, Z, get_activation, parse_expression

__all__ = ["SRNN", "h_symbols", "parameter_symbols"]

#: the declared parameters while a network is being read: name → SymPy symbol
_NONE = MappingProxyType({})
_PARAMS: contextvars.ContextVar = contextvars.ContextVar("symresp_params", default=_NONE)
#: their values: name → exact number
_PARAM_VALUES: contextvars.ContextVar = contextvars.ContextVar("symresp_values", default=_NONE)

_RESERVED = {"z", "t", "pi", "E", "I", "oo", "nan", "zoo", "S", "N", "Q", "O"}
_RESERVED_RE = re.compile(r"(h|u|tau|T|S|P|D|s|c)\d+|A\d+|D\d+_")


@contextlib.contextmanager
def _declared(values: dict):
    """Declare ``{symbol: value}`` while a network's entries are read."""
    token = _PARAMS.set({s.name: s for s in values})
    token2 = _PARAM_VALUES.set({s.name: v for s, v in values.items()})
    try:
        yield
    finally:
        _PARAMS.reset(token)
        _PARAM_VALUES.reset(token2)


def parameter_symbols(parameters) -> dict:
    """``{symbol: exact value}`` from a ``{name or symbol: number}`` mapping (validated).

    Names must be identifiers that do not clash with the state (h1..), inputs (u1..),
    lags (tau1..), auxiliaries (T1.., S1..) or SymPy's constants; values are exact numbers
    (floats read as the decimals they were written as).
    """
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise SpecError(
            f"parameters: expected a table of name = value, got {parameters!r} "
            f"({type(parameters).__name__})."
        )
    out = {}
    for key, value in parameters.items():
        if isinstance(key, sp.Symbol):
            sym = key
        elif isinstance(key, str):
            sym = sp.Symbol(key)
        else:
            raise SpecError(f"parameters: a name must be a string or a SymPy symbol, got {key!r}.")
        name = sym.name
        if (
            not name.isidentifier()
            or keyword.iskeyword(name)
            or name.startswith("_")
            or name in _RESERVED
            or _RESERVED_RE.fullmatch(name)
            or hasattr(sp, name)
        ):
            raise SpecError(
                f"parameters.{name}: not a usable parameter name (it must be an identifier "
                "and must not clash with h1.., u1.., tau1.., auxiliaries such as T1, or a "
                "SymPy function or constant); use e.g. k, w, s, g0."
            )
        with _declared({}):
            val = _number(value, f"parameters.{name}")
        out[sym] = val
    return out


def h_symbols(n: int) -> tuple[sp.Symbol, ...]:
    """The state variables h1..hn (1-based names, 0-based positions)."""
    return tuple(sp.Symbol(f"h{i + 1}", real=True) for i in range(n))


def _parametric(val: sp.Expr, what: str, text) -> sp.Expr:
    """Check an expression of the declared parameters (and exact constants)."""
    params = _PARAMS.get()
    extra = {s for s in val.free_symbols if s not in params.values()}
    if extra:
        declared = sorted(params) or "none"
        raise SpecError(
            f"{what}: unknown name(s) {sorted(map(str, extra))} in {text!r}; declare each "
            f"parameter with its value ([parameters] in a spec, parameters={{symbol: value}} "
            f"in Python); declared: {declared}."
        )
    values = {params[k]: v for k, v in _PARAM_VALUES.get().items()}
    if values:
        _real_number(val.xreplace(values), what, text)
    return val


def _number(x, what: str) -> sp.Expr:
    """An exact SymPy number from an int, float, or string such as ``"3/2"``; with declared
    parameters also an expression of them (``"k"``, ``"-w/2"``)."""
    if isinstance(x, bool):
        raise SpecError(f"{what}: expected a number, got the boolean {x!r}.")
    if isinstance(x, (int, np.integer)):
        return sp.Integer(int(x))
    if isinstance(x, (float, np.floating)):
        if not np.isfinite(x):
            raise SpecError(f"{what}: expected a finite number, got {x!r}.")
        return sp.Rational(repr(float(x)))
    if isinstance(x, sp.Expr) and x.is_number:
        return _real_number(sp.nsimplify(x, rational=True) if x.has(sp.Float) else x, what, x)
    if isinstance(x, sp.Expr) and x.free_symbols:
        x = sp.nsimplify(x, rational=True) if x.has(sp.Float) else x
        return _parametric(x, what, x)
    if isinstance(x, str):
        params = _PARAMS.get()
        try:
            val = sp.Rational(x.strip())
        except ZeroDivisionError:
            raise SpecError(f"{what}: {x!r} divides by zero.") from None
        except (TypeError, ValueError):
            try:
                val = parse_expression(x, {k: v for k, v in params.items()}, what)
            except ValueError as exc:
                # a parameter mistake or a parse-time limit explains itself; anything else
                # gets the "how to write a number" message below
                if params or "limit" in str(exc) or "power" in str(exc):
                    raise SpecError(str(exc)) from None
                val = None
            except ZeroDivisionError:
                raise SpecError(f"{what}: {x!r} divides by zero.") from None
            if val is not None and val.free_symbols:
                return _parametric(val, what, x)
            if val is None or not val.is_number or not val.is_real:
                hint = f" or an expression of the parameters {sorted(params)}" if params else ""
                raise SpecError(
                    f"{what}: could not read {x!r} as a number; write e.g. 0.5, 3, "
                    f"\"3/2\" or \"sqrt(2)\"{hint}, or declare a parameter with its value "
                    "([parameters] k = 1.5 in a spec)."
                ) from None
        return _real_number(val, what, x)
    raise SpecError(f"{what}: expected a number, got {x!r} ({type(x).__name__}).")


_FLOAT_MAX = float(np.finfo(float).max)


def _real_number(val: sp.Expr, what: str, text) -> sp.Expr:
    """A real constant that evaluates to a finite float (sqrt(2), pi/4, ...)."""
    try:
        f = complex(val.evalf(30))
    except (TypeError, ValueError):
        f = complex("nan")
    if not np.isfinite(f) or abs(f.imag) > 0:
        raise SpecError(f"{what}: {text!r} is not a finite real number.")
    if abs(f.real) > _FLOAT_MAX:
        raise SpecError(
            f"{what}: {text!r} overflows double precision (|x| > {_FLOAT_MAX:.3g}), which every "
            "numeric route uses."
        )
    return val


def _matrix(
    x, shape: tuple[int, int], what: str, *, allow_scalar=False, allow_diag=False, hint: str = ""
) -> sp.Matrix:
    rows, cols = shape
    if isinstance(x, sp.MatrixBase):
        x = x.tolist()
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if not isinstance(x, (list, tuple)):
        if allow_scalar:
            return _number(x, what) * sp.eye(rows)
        raise SpecError(
            f"{what}: expected a {rows}×{cols} matrix (list of {rows} rows), got {x!r}. {hint}"
        )
    if x and all(not isinstance(r, (list, tuple)) for r in x):
        if allow_diag and len(x) == rows:
            return sp.diag(*[_number(v, f"{what}[{i + 1}]") for i, v in enumerate(x)])
        if rows == 1 and len(x) == cols:
            return sp.Matrix([[_number(v, f"{what}[{j + 1}]") for j, v in enumerate(x)]])
        if cols == 1 and len(x) == rows:
            return sp.Matrix([_number(v, f"{what}[{i + 1}]") for i, v in enumerate(x)])
        exp = f"{rows}×{cols} matrix" + (
            f" or a list of {rows} diagonal entries" if allow_diag else ""
        )
        raise SpecError(f"{what}: expected a {exp}, got a flat list of length {len(x)}. {hint}")
    if len(x) != rows or any(not isinstance(r, (list, tuple)) or len(r) != cols for r in x):
        got = (
            f"{len(x)} rows of lengths {[len(r) if isinstance(r, (list, tuple)) else 1 for r in x]}"
        )
        raise SpecError(f"{what}: expected shape {rows}×{cols}, got {got}. {hint}")
    return sp.Matrix(
        [[_number(v, f"{what}[{i + 1},{j + 1}]") for j, v in enumerate(r)] for i, r in enumerate(x)]
    )


def _vector(x, length: int, what: str, hint: str = "") -> sp.Matrix:
    if isinstance(x, (int, float, str, np.number)) or (isinstance(x, sp.Expr)):
        if length == 1:
            return sp.Matrix([_number(x, what)])
        raise SpecError(f"{what}: expected a list of {length} numbers, got {x!r}. {hint}".rstrip())
    x = list(np.asarray(x, dtype=object).ravel()) if isinstance(x, np.ndarray) else list(x)
    if len(x) != length:
        raise SpecError(
            f"{what}: expected a list of {length} numbers, got length {len(x)}. {hint}".rstrip()
        )
    return sp.Matrix([_number(v, f"{what}[{i + 1}]") for i, v in enumerate(x)])


def _values_note() -> str:
    vals = _PARAM_VALUES.get()
    if not vals:
        return ""
    return (
        " (checked at the declared parameter values "
        + ", ".join(f"{k} = {v}" for k, v in vals.items())
        + ")"
    )


def _at_declared_values(M: sp.Matrix) -> sp.Matrix:
    vals = _PARAM_VALUES.get()
    if not vals or not M.free_symbols:
        return M
    params = _PARAMS.get()
    return M.xreplace({params[k]: v for k, v in vals.items()})


def _is_positive_stable(M: sp.Matrix) -> bool:
    M = _at_declared_values(M)
    ev = np.linalg.eigvals(np.array(M.evalf(), dtype=float))
    return bool(np.all(ev.real > 1e-12))


@dataclass(frozen=True, eq=False)
class SRNN:
    """A stochastic recurrent network, validated and exact.

    ``dh = [−Γh + M a(Wh + b) + ε γ(h) u] dt + σ dW``, ``y = f(h)``.

    Construct it from keyword arguments (see :meth:`create`) or a TOML spec
    (:func:`load_spec`).  Matrices are SymPy matrices of exact numbers;
    ``coupling`` (n×m) and ``readout`` (p×1) are SymPy expressions in h1..hn.
    """

    n: int
    m: int
    activation: Activation
    Gamma: sp.Matrix
    W: sp.Matrix
    b: sp.Matrix
    coupling: sp.Matrix
    sigma: sp.Matrix
    readout: sp.Matrix
    M: sp.Matrix
    start: str = "stationary"
    h0: sp.Matrix | None = None
    input_site: str = "additive"
    form: str = "standard"
    name: str = "srnn"
    derivable: bool = True
    #: the declared parameters, ((symbol, exact value), ...); empty for a network of numbers
    parameters: tuple = ()
    #: the network with the parameters kept as symbols (None: the network is that form)
    symbolic_form: SRNN | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def create(
        cls,
        *,
        n: int,
        m: int = 1,
        activation="tanh",
        Gamma=1,
        W=None,
        b=None,
        C=None,
        coupling=None,
        sigma=1,
        V=None,
        c=None,
        readout=None,
        start="stationary",
        h0=None,
        form="standard",
        input_site="additive",
        name="srnn",
        derivable=True,
        assume_stationary=False,
        parameters=None,
    ) -> SRNN:
        """Validate and build an SRNN.

        Parameters follow the TOML contract: ``Gamma`` scalar/diagonal list/matrix,
        ``W`` n×n, ``b`` length n, ``C`` n×m constant coupling or ``coupling`` an n×m
        matrix of expression strings in h1..hn, ``sigma`` scalar/diagonal/n×r,
        readout ``V`` (p×n) with optional ``c`` or ``readout`` (expression string or
        list of them), ``start`` "stationary" or "point" with ``h0``.
        ``derivable=False`` accepts non-smooth activations (simulation only).
        ``assume_stationary=True`` skips the check that a stationary law exists.

        ``parameters`` (``{symbol or name: value}``) declares symbolic parameters: any
        number above may then be a SymPy expression of them (or a string such as
        ``"-w/2"``).  The network's matrices hold the declared values (every numeric route
        uses them); :meth:`symbolic` returns the same network with the parameters kept as
        symbols, which the derivation (``derive(..., symbolic=True)``) and the closed forms
        (:meth:`symresp.kernels.base.Kernel.as_expr`) use.  Checks that need numbers
        (positive stability, the stationary law) use the declared values and say so.
        """
        values = parameter_symbols(parameters)
        with _declared(values):
            net = cls._build(
                n=n,
                m=m,
                activation=activation,
                Gamma=Gamma,
                W=W,
                b=b,
                C=C,
                coupling=coupling,
                sigma=sigma,
                V=V,
                c=c,
                readout=readout,
                start=start,
                h0=h0,
                form=form,
                input_site=input_site,
                name=name,
                derivable=derivable,
            )
        if values:
            net = replace(net, parameters=tuple(values.items()))._at_values()
        if not isinstance(assume_stationary, (bool, np.bool_)):
            raise SpecError(
                f"network.assume_stationary: expected true or false, got {assume_stationary!r} "
                "(a string such as \"no\" is not read as a boolean)."
            )
        if start == "stationary" and not assume_stationary:
            reason = net.stationary_obstruction()
            if reason:
                note = net._values_text()
                if note:
                    reason = reason.rstrip(".") + f" (at the declared parameter values {note})."
                raise SpecError(
                    f"start.kind = 'stationary': {reason}" + " Use kind = 'point' with h0, "
                    "or set assume_stationary = true if you know the law exists."
                )
        return net

    @classmethod
    def _build(
        cls,
        *,
        n: int,
        m: int = 1,
        activation="tanh",
        Gamma=1,
        W=None,
        b=None,
        C=None,
        coupling=None,
        sigma=1,
        V=None,
        c=None,
        readout=None,
        start="stationary",
        h0=None,
        form="standard",
        input_site="additive",
        name="srnn",
        derivable=True,
    ) -> SRNN:
        """:meth:`create` without the parameters and the stationarity check."""
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise SpecError(
                f"network.n: expected a positive integer (number of hidden units), got {n!r}."
            )
        if not isinstance(m, (int, np.integer)) or isinstance(m, bool) or m < 1:
            raise SpecError(
                f"network.m: expected a positive integer (number of input channels), got {m!r}."
            )
        n, m = int(n), int(m)
        hs = h_symbols(n)
        try:
            act = get_activation(activation, allow_nonsmooth=not derivable)
        except ValueError as exc:
            raise SpecError(str(exc)) from None
        if form not in ("standard", "hopfield"):
            raise SpecError(f"network.form: expected 'standard' or 'hopfield', got {form!r}.")
        Gm = _matrix(
            Gamma,
            (n, n),
            "network.Gamma",
            allow_scalar=True,
            allow_diag=True,
            hint="Give a scalar (times identity), a list of n diagonal entries or an n×n matrix.",
        )
        if not _is_positive_stable(Gm):
            raise SpecError(
                "network.Gamma: the damping must be positive stable (all eigenvalues "
                f"with positive real part); eigenvalues are "
                f"{np.round(np.linalg.eigvals(np.array(_at_declared_values(Gm).evalf(), float)), 6).tolist()}"
                f"{_values_note()}."
            )
        if W is None:
            raise SpecError(
                f"network.W: required, a {n}×{n} matrix of recurrent weights "
                f"(one row per hidden unit), e.g. W = {np.eye(n, dtype=int).tolist()}."
            )
        Wm = _matrix(W, (n, n), "network.W", hint=f"W has one row per hidden unit (n = {n}).")
        bm = _vector(
            [0] * n if b is None else b,
            n,
            "network.b",
            hint=f"b has one entry per hidden unit (n = {n}).",
        )
        if input_site not in ("additive", "activation"):
            raise SpecError(
                f"network.input_site: expected 'additive' or 'activation', got {input_site!r}."
            )
        if C is not None and coupling is not None:
            raise SpecError(
                "network: give either C (constant coupling) or coupling (expressions), not both."
            )
        if coupling is not None:
            if input_site == "activation":
                raise SpecError(
                    "network.coupling: state-dependent coupling is only defined for "
                    "input_site = 'additive'; inside the activation use a constant C."
                )
            Cm = _expr_matrix(coupling, (n, m), "network.coupling", hs)
        else:
            Cm = _matrix(
                sp.ones(n, m).tolist() if C is None else C,
                (n, m),
                "network.C",
                hint=f"C has n = {n} rows and m = {m} columns (one per input channel).",
            )
        sig = _sigma(sigma, n)
        Mm = Wm.T if form == "hopfield" else sp.eye(n)
        if readout is not None and (V is not None or c is not None):
            raise SpecError("readout: give either V (and c) or expression, not both.")
        if readout is not None:
            exprs = [readout] if isinstance(readout, (str, sp.Expr)) else list(readout)
            if not exprs:
                raise SpecError("readout.expression: expected at least one expression.")
            f = sp.Matrix(
                [_expr(e, f"readout.expression[{i + 1}]", hs) for i, e in enumerate(exprs)]
            )
        else:
            Vm = sp.eye(n)[0, :] if V is None else V
            if not isinstance(Vm, sp.MatrixBase):
                arr = Vm if isinstance(Vm, (list, tuple)) else [Vm]
                if not arr or (isinstance(arr[0], (list, tuple)) and not arr[0]):
                    raise SpecError(
                        f"readout.V: expected a p×n matrix with n = {n} columns (one row per "
                        f"output), got {V!r}; e.g. V = [[1.0{', 0.0' * (n - 1)}]]."
                    )
                p = len(arr) if arr and isinstance(arr[0], (list, tuple)) else 1
                Vm = _matrix(
                    arr if p > 1 or isinstance(arr[0], (list, tuple)) else [arr],
                    (p, n),
                    "readout.V",
                    hint=f"V is p×n with n = {n} columns.",
                )
            p = Vm.shape[0]
            cm = (
                sp.zeros(p, 1)
                if c is None
                else _vector(
                    c, p, "readout.c", hint=f"c has one entry per output (p = {p} rows of V)."
                )
            )
            f = Vm * sp.Matrix(hs) + cm
        h0m = None
        if start not in ("stationary", "point"):
            raise SpecError(f"start.kind: expected 'stationary' or 'point', got {start!r}.")
        if start == "point" or h0 is not None:
            if h0 is None:
                raise SpecError(f"start.h0: a point start needs h0, a list of n = {n} numbers.")
            h0m = _vector(h0, n, "start.h0", hint=f"h0 has one entry per hidden unit (n = {n}).")
        net = cls(
            n=n,
            m=m,
            activation=act,
            Gamma=Gm,
            W=Wm,
            b=bm,
            coupling=Cm,
            sigma=sig,
            readout=f,
            M=Mm,
            start=start,
            h0=h0m,
            input_site=input_site,
            form=form,
            name=name,
            derivable=derivable and act.smooth,
        )
        return net

    # ------------------------------------------------------------- parameters
    @property
    def values(self) -> dict:
        """The declared parameters' values, ``{symbol: exact number}`` (empty without parameters)."""
        return dict(self.parameters)

    def _values_text(self) -> str:
        return ", ".join(f"{s} = {v}" for s, v in self.parameters)

    def symbolic(self) -> SRNN:
        """The network with its parameters as SymPy symbols (itself when it has none)."""
        return self.symbolic_form if self.symbolic_form is not None else self

    @property
    def is_symbolic(self) -> bool:
        """True for the form whose matrices hold the parameters as symbols."""
        return bool(self.parameters) and self.symbolic_form is None

    def at_values(self) -> SRNN:
        """The network with the declared values in place of its parameters (itself when its
        matrices hold numbers): the inverse of :meth:`symbolic`."""
        return self._at_values() if self.is_symbolic else self

    def _at_values(self) -> SRNN:
        """The same network with the declared values in place of the parameters; its
        :meth:`symbolic` is ``self``."""
        vals = self.values
        sub = lambda M: None if M is None else M.xreplace(vals)
        return replace(
            self,
            Gamma=sub(self.Gamma),
            W=sub(self.W),
            b=sub(self.b),
            coupling=sub(self.coupling),
            sigma=sub(self.sigma),
            readout=sub(self.readout),
            M=sub(self.M),
            h0=sub(self.h0),
            symbolic_form=self,
        )

    # ------------------------------------------------------------- properties
    @property
    def p(self) -> int:
        return self.readout.shape[0]

    @property
    def r(self) -> int:
        return self.sigma.shape[1]

    @cached_property
    def h(self) -> tuple[sp.Symbol, ...]:
        return h_symbols(self.n)

    @cached_property
    def Sigma(self) -> sp.Matrix:
        """Diffusion matrix Σ = σσᵀ."""
        return self.sigma * self.sigma.T

    @cached_property
    def z(self) -> sp.Matrix:
        """Pre-activations z = W h + b."""
        return self.W * sp.Matrix(self.h) + self.b

    @cached_property
    def drift(self) -> sp.Matrix:
        """φ(h) = −Γh + M a(Wh + b) as SymPy expressions (activation written out)."""
        a = sp.Matrix([self.activation.expr.subs(Z, zi) for zi in self.z])
        return -self.Gamma * sp.Matrix(self.h) + self.M * a

    @cached_property
    def input_field(self) -> sp.Matrix:
        """γ(h), n×m: the first-order input direction, ∂φ(h, εu)/∂(εu_k) at ε = 0; the
        coupling for an additive input, M diag(a'(z)) C inside the activation (M C for the
        identity activation: no local terms)."""
        if self.input_site == "additive":
            return self.coupling
        da = sp.diff(self.activation.expr, Z)
        return self.M * sp.diag(*[da.subs(Z, zi) for zi in self.z]) * self.coupling

    @property
    def constant_coupling(self) -> bool:
        return all(not e.free_symbols for e in self.coupling)

    @property
    def is_linear(self) -> bool:
        """Identity activation: φ(h) = −(Γ − MW) h + M b, the exactly solvable case (Gaussian stationary law)."""
        return self.activation.name == "identity"

    @property
    def input_monomials(self) -> bool:
        """True when the input sits inside a nonlinear activation: a(z + εCu) expands into
        operators of every power of u (input monomials u^ν of weight q), not one per channel."""
        return self.input_site == "activation" and not self.is_linear

    @property
    def A(self) -> sp.Matrix:
        """A = Γ − M W for the linear network (φ = −A h + M b)."""
        return self.Gamma - self.M * self.W

    def stationary_obstruction(self) -> str | None:
        """Why a stationary law is not guaranteed, or None when it is."""
        act = self.activation
        if self.is_linear:
            if not _is_positive_stable(self.A):
                ev = np.linalg.eigvals(np.array(self.A.evalf(), float))
                AW = "Γ − WᵀW" if self.form == "hopfield" else "Γ − W"
                return (
                    f"for the identity activation the drift is −({AW})h + const and {AW} must be "
                    f"positive stable (all eigenvalues with positive real part); its eigenvalues "
                    f"are {np.round(ev, 6).tolist()}."
                )
            return None
        if act.bounded:
            return None  # Γ positive stable (checked) and a bounded perturbation
        Gs = np.array(((self.Gamma + self.Gamma.T) / 2).evalf(), float)
        Wn = np.linalg.norm(
            np.array((self.M * self.W).evalf(), float)
            if self.form == "standard"
            else np.array(self.M.evalf(), float) @ np.array(self.W.evalf(), float),
            2,
        )
        if act.lipschitz is not None and np.linalg.eigvalsh(Gs).min() > act.lipschitz * Wn:
            return None
        if self.n == 1:
            phi = self.drift[0]
            h1 = self.h[0]
            try:
                right, left = sp.limit(phi, h1, sp.oo), sp.limit(phi, h1, -sp.oo)
                if right.is_extended_negative and left.is_extended_positive:
                    return None
            except Exception:  # sympy cannot decide: fall through to refusal
                pass
            return (
                "the 1-D drift does not point inwards at ±∞ (need φ(h) < 0 for large h and "
                "> 0 for large −h)."
            )
        if act.lipschitz is not None:
            return (
                f"the activation {act.name!r} is unbounded; a stationary law is guaranteed when the "
                f"smallest eigenvalue of sym(Γ) ({np.linalg.eigvalsh(Gs).min():.4g}) exceeds "
                f"Lip(a)·‖W‖₂ ({act.lipschitz * Wn:.4g}), which fails here."
            )
        return (
            f"the activation {act.name!r} is unbounded and not globally Lipschitz, so no "
            "stationary law is guaranteed."
        )

    # ----------------------------------------------------------------- numeric
    def numeric(self) -> dict:
        """Float arrays of the parameters (0-based): Gamma, W, b, M, sigma, Sigma, and C when constant."""
        if self.is_symbolic:
            return self._at_values().numeric()
        f = lambda M: np.array(M.evalf(), dtype=float)
        out = dict(
            Gamma=f(self.Gamma),
            W=f(self.W),
            b=f(self.b).ravel(),
            M=f(self.M),
            sigma=f(self.sigma),
            Sigma=f(self.Sigma),
        )
        if self.constant_coupling:
            out["C"] = f(self.coupling)
        if self.h0 is not None:
            out["h0"] = f(self.h0).ravel()
        lin = self._linear_readout()
        if lin is not None:
            out["V"], out["c"] = f(lin[0]), f(lin[1]).ravel()
        return out

    def _linear_readout(self):
        hs = self.h
        rows, consts = [], []
        for e in self.readout:
            poly = sp.Poly(e, *hs) if e.is_polynomial(*hs) else None
            if poly is None or poly.total_degree() > 1:
                return None
            rows.append([poly.coeff_monomial(x) for x in hs])
            consts.append(poly.coeff_monomial(1))
        return sp.Matrix(rows), sp.Matrix(consts)

    def with_start(self, start: str, h0=None) -> SRNN:
        """The same network with another start (``"stationary"`` or ``"point"``)."""
        if start not in ("stationary", "point"):
            raise SpecError(f"start: expected 'stationary' or 'point', got {start!r}.")
        if self.symbolic_form is not None:
            sym = self.symbolic_form.with_start(start, h0)
            return replace(sym._at_values(), name=self.name)
        with _declared(self.values):
            h0m = self.h0 if h0 is None else _vector(h0, self.n, "start.h0")
        if start == "point" and h0m is None:
            raise SpecError(f"start.h0: a point start needs h0, a list of n = {self.n} numbers.")
        return replace(self, start=start, h0=h0m)

    def with_sigma(self, sigma) -> SRNN:
        """The same network with another noise matrix σ."""
        if self.symbolic_form is not None:
            return self.symbolic_form.with_sigma(sigma)._at_values()
        with _declared(self.values):
            return replace(self, sigma=_sigma(sigma, self.n))

    def summary(self) -> str:
        return (
            f"SRNN {self.name!r}: n={self.n}, m={self.m}, p={self.p}, activation={self.activation.name}, "
            f"form={self.form}, start={self.start}"
        )

    __repr__ = summary

    def latex(self) -> str:
        """The network as LaTeX (math mode, no delimiters): the SDE
        dh = [−Γh + M a(Wh + b) + εγ(h)u] dt + σ dW, y = f(h), its matrices with the
        parameters as symbols, the start and the parameters' declared values."""
        net = self.symbolic()
        L = lambda x: sp.latex(x, symbol_names={h: rf"h_{{{i + 1}}}" for i, h in enumerate(net.h)})
        z = sp.Symbol("z")
        a = L(net.activation.expr.subs(Z, z))
        M = "" if net.M == sp.eye(net.n) else r"M\,"
        inside = net.input_site == "activation"
        drift = (
            rf"-\Gamma h + {M}a(W h + b + \varepsilon C u)"
            if inside
            else rf"-\Gamma h + {M}a(W h + b) + \varepsilon\,\gamma(h)\,u"
        )
        mats = [rf"\Gamma = {L(net.Gamma)}", rf"W = {L(net.W)}", rf"b = {L(net.b)}"]
        if M:
            mats.append(rf"M = {L(net.M)}")
        mats.append((r"C = " if inside else r"\gamma(h) = ") + L(net.coupling))
        mats += [rf"\sigma = {L(net.sigma)}", rf"f(h) = {L(net.readout)}"]
        lines = [
            rf"dh_t = \bigl[{drift}\bigr]_{{h = h_t}}\,dt + \sigma\,dW_t,\quad "
            rf"y_t = f(h_t),\quad a(z) = {a}",
            r",\ ".join(mats),
        ]
        start = (
            rf"h_0 = {L(net.h0.T)}"
            if net.start == "point" and net.h0 is not None
            else r"h_0 \sim \rho_\infty\ (\text{stationary start})"
        )
        if self.parameters:
            start += r",\quad " + r",\ ".join(
                rf"{sp.latex(k)} = {sp.latex(v)}" for k, v in self.parameters
            )
        lines.append(start)
        return r"\begin{gathered}" + r" \\ ".join(lines) + r"\end{gathered}"

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"


def _sigma(sigma, n: int) -> sp.Matrix:
    if isinstance(sigma, (list, tuple, np.ndarray, sp.MatrixBase)):
        seq = sigma.tolist() if hasattr(sigma, "tolist") else sigma
        if seq and isinstance(seq[0], (list, tuple)):
            r = len(seq[0])
            return _matrix(
                seq,
                (n, r),
                "network.sigma",
                hint="sigma is a scalar, a list of n diagonal entries, or an n×r matrix.",
            )
        return _matrix(
            seq,
            (n, n),
            "network.sigma",
            allow_diag=True,
            hint="sigma is a scalar, a list of n diagonal entries, or an n×r matrix.",
        )
    return _number(sigma, "network.sigma") * sp.eye(n)


def _expr(e, what: str, hs) -> sp.Expr:
    params = _PARAMS.get()
    if isinstance(e, sp.Expr):
        extra = e.free_symbols - set(hs) - set(params.values())
        if extra:
            more = f" or the declared parameters {sorted(params)}" if params else ""
            raise SpecError(
                f"{what}: unknown symbols {sorted(map(str, extra))}; use h1..h{len(hs)}{more}."
            )
        return sp.nsimplify(e, rational=True) if e.has(sp.Float) else e
    if isinstance(e, (int, float)) and not isinstance(e, bool):
        return _number(e, what)
    try:
        return parse_expression(str(e), {**params, **{s.name: s for s in hs}}, what)
    except ValueError as exc:
        raise SpecError(str(exc)) from None


def _expr_matrix(x, shape, what, hs) -> sp.Matrix:
    rows, cols = shape
    if isinstance(x, str):
        x = [[x]] if shape == (1, 1) else None
    if (
        x is None
        or not isinstance(x, (list, tuple))
        or len(x) != rows
        or any(not isinstance(r, (list, tuple)) or len(r) != cols for r in x)
    ):
        if (
            isinstance(x, (list, tuple))
            and cols == 1
            and len(x) == rows
            and all(not isinstance(r, (list, tuple)) for r in x)
        ):
            x = [[r] for r in x]
        else:
            raise SpecError(
                f"{what}: expected an {rows}×{cols} matrix of expressions in "
                f"h1..h{rows}, e.g. [[\"1 + h1**2\"], ...], got {x!r}."
            )
    return sp.Matrix(
        [
            [_expr(v, f"{what}[{i + 1},{j + 1}]", hs) for j, v in enumerate(r)]
            for i, r in enumerate(x)
        ]
    )
