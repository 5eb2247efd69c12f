"""The interface every kernel route returns.

A kernel K⁽ⁿ⁾_k of order n and index k = (k_1..k_n) (0-based channels, or input
monomials u^ν when the input sits inside a nonlinear activation) is a function of the lags

    stationary start:  (τ_1, …, τ_n)            τ_1 = t − s_1, τ_j = s_{j−1} − s_j
    point start:       (τ_1, …, τ_n, s_n)       one more argument: the earliest input time

so ``nlags`` is n at a stationary start and n + 1 at a point start.  Every route
validates the lags here (one place) and evaluates them in :meth:`Kernel._evaluate`.
"""

from __future__ import annotations

import abc

import numpy as np
import sympy as sp  # the numeric routes never need SymPy here

from symresp.errors import ArgumentError, UnsupportedError

__all__ = ["Kernel", "lag_symbols", "CLOSED_FORM_ROUTES"]

#: the routes whose kernels have a closed form (:meth:`Kernel.as_expr`), and where
CLOSED_FORM_ROUTES = {
    "exact": "linear network, polynomial readout: exponentials of the lags, every order",
    "deterministic": "σ → 0 at a fixed point, orders 1 and 2: modal exponentials",
    "taylor": "the short-time series: a polynomial in the lags",
}


def lag_symbols(nlags: int) -> tuple:
    """The lag symbols ``tau1 … tau<nlags>`` of closed forms (1-based names)."""

    return tuple(sp.Symbol(f"tau{j + 1}") for j in range(nlags))


class Kernel(abc.ABC):
    """A Volterra kernel evaluated at lags shaped (..., nlags), values shaped (..., p).

    Attributes
    ----------
    order : int
        n, the number of input times.
    index : tuple of int
        k_1..k_n, 0-based (k_j belongs to s_j, s_1 the latest input time).
    start : {"stationary", "point"}
        The start law μ_0: ρ_∞ (lags τ_1..τ_n) or δ_{h_0} (lags τ_1..τ_n, s_n).
    method : str
        The route that computed the kernel ("exact", "deterministic", "taylor", "fdt", "mc").
    nlags : int
        Length of the last axis of the lags.

    Subclasses implement :meth:`_evaluate` (lags already validated, shape (..., nlags)) and,
    where they have them, :meth:`_stderr`, :meth:`_trusted` and :meth:`_metadata`.
    """

    order: int
    index: tuple
    start: str
    method: str
    #: lags may be negative (a polynomial in the lags extends past the simplex)
    negative_lags_allowed = False

    @property
    def nlags(self) -> int:
        return self.order + (1 if self.start == "point" else 0)

    # ------------------------------------------------------------ lags
    def _lag_names(self) -> str:
        return "τ_1..τ_n" + (", s_n" if self.start == "point" else "")

    def _check_lags(self, lags) -> np.ndarray:
        """The lags as a float array of shape (..., nlags); ArgumentError naming ``lags`` otherwise."""
        try:
            arr = np.asarray(lags, dtype=float)
        except (TypeError, ValueError):
            raise ArgumentError(
                f"lags: expected numbers shaped (..., {self.nlags}) "
                f"({self._lag_names()}), got {lags!r}"
            ) from None
        if arr.ndim == 0 or arr.shape[-1] != self.nlags:
            raise ArgumentError(
                f"lags: expected a last axis of length {self.nlags} "
                f"({self._lag_names()} at a {self.start} start), so shape "
                f"(..., {self.nlags}); got shape {arr.shape}"
            )
        if not np.all(np.isfinite(arr)):
            raise ArgumentError(
                f"lags: expected finite numbers shaped (..., {self.nlags}), got NaN or infinity"
            )
        if not self.negative_lags_allowed and np.any(arr < 0):
            raise ArgumentError(
                "lags: must be ≥ 0 (kernels live on the ordered simplex t > s_1 > … > s_n > 0)"
            )
        return arr

    # ------------------------------------------------------------ interface
    def __call__(self, lags, **kwargs) -> np.ndarray:
        """K at ``lags`` (..., nlags) → array (..., p)."""
        return self._evaluate(self._check_lags(lags), **kwargs)

    @abc.abstractmethod
    def _evaluate(self, lags: np.ndarray, **kwargs) -> np.ndarray:
        """Values at validated lags (..., nlags) → (..., p)."""

    def stderr(self, lags) -> np.ndarray | None:
        """Standard error of K(lags), shaped (..., p); None for routes without sampling error."""
        return self._stderr(self._check_lags(lags))

    def _stderr(self, lags: np.ndarray) -> np.ndarray | None:
        return None

    def trusted(self, lags) -> np.ndarray:
        """Boolean array of shape lags.shape[:-1]: where the route's own error estimate holds."""
        lags = self._check_lags(lags)
        return np.asarray(self._trusted(lags), bool).reshape(lags.shape[:-1])

    def _trusted(self, lags: np.ndarray) -> np.ndarray:
        return np.ones(lags.shape[:-1], bool)

    def _metadata(self) -> dict:
        """Route-specific JSON-able fields of :meth:`to_dict`."""
        return {}

    def to_dict(self) -> dict:
        """JSON-able description: order, index (0-based), start, method, nlags, route metadata."""
        out = {
            "order": int(self.order),
            "index": [int(k) for k in self.index],
            "start": self.start,
            "method": self.method,
            "nlags": int(self.nlags),
        }
        out.update(self._metadata())
        out.update(getattr(self, "selection", None) or {})
        return out

    # ------------------------------------------------------------ closed forms
    def lag_symbols(self) -> tuple:
        """``(tau1, …, tau<nlags>)``: τ_1..τ_n, and at a point start the last lag s_n."""
        return lag_symbols(self.nlags)

    def as_expr(self):
        """The kernel in closed form: a SymPy expression in :meth:`lag_symbols` and the
        network's parameters (a column ``Matrix`` when the readout has several outputs).

        :attr:`expr_info` says how exact it is.  Routes without a closed form raise
        ``UnsupportedError`` naming those that have one.
        """
        cached = getattr(self, "_closed_form", None)
        if cached is not None:
            return cached[0]
        expr, info = self._as_expr()
        self._closed_form = (expr, info)
        return expr

    def _as_expr(self):
        routes = "; ".join(f"'{k}' ({v})" for k, v in CLOSED_FORM_ROUTES.items())
        raise UnsupportedError(
            f"the '{self.method}' route has no closed form; routes with one: {routes}."
        )

    @property
    def expr_info(self) -> dict:
        """How :meth:`as_expr` was obtained: ``exact`` (True when exact in the parameters and
        the lags), ``form`` (the route's kind of closed form), ``lags`` and ``parameters``
        (names and declared values) and route-specific notes."""
        self.as_expr()
        return dict(self._closed_form[1])

    def latex(self) -> str:
        """LaTeX of :meth:`as_expr`, lags written τ_1, τ_2, …"""

        expr = self.as_expr()
        names = {s: rf"\tau_{{{j + 1}}}" for j, s in enumerate(self.lag_symbols())}
        return sp.latex(expr, symbol_names=names)

    def _repr_latex_(self) -> str:
        try:
            body = self.latex()
        except Exception:  # a route without a closed form: no LaTeX display
            return None
        k = ",".join(str(int(i) + 1) for i in self.index)
        return rf"$K^{{({self.order})}}_{{{k}}} = {body}$"

    def _repr_fields(self) -> dict:
        """Extra fields of :meth:`__repr__` (short, route-specific)."""
        return {}

    def __repr__(self) -> str:
        fields = {
            "order": self.order,
            "index": tuple(int(k) for k in self.index),
            "start": self.start,
            **self._repr_fields(),
        }
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v!r}" for k, v in fields.items()) + ")"
