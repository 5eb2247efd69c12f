"""Input signals u : [0, T] → R^m: parsing and sampling on a time grid.

The network is driven by a deterministic input ``u_t`` (m channels).
An input specification is any of

* an **expression string** in ``t``, one expression per channel separated by ``;``
  (``"sin(2*t); cos(t)"``).  It is parsed only by SymPy's parser
  (:func:`symresp.model.activations.parse_expression`), never by ``eval``; the only
  variable allowed is ``t``.  A single expression is accepted for ``m = 1`` only.
* a SymPy expression (m = 1) or a list/tuple of expressions or expression strings;
* a **file** ``.npy`` or ``.csv`` (a :class:`pathlib.Path`, or a string ending in
  one of these suffixes) holding a 2-D table.  By default the **first column is
  time** and the remaining ``m`` columns are the channels; with ``dt=...`` every
  column is a channel and row ``i`` is the value at time ``i·dt``.  A CSV may have
  one header line (it is skipped when it does not parse as numbers);
* a **numpy array**: 1-D (m = 1) or 2-D.  With ``dt`` the rows are samples at
  ``i·dt``; without ``dt`` the first column is time (like a file);
* a **Python callable** ``u(t)`` taking a 1-D array of times and returning an array
  shaped ``(len(t), m)`` (``(len(t),)`` for m = 1 and channels-first ``(m, len(t))``
  are accepted too); a callable that only accepts scalars is evaluated time by time;
* a number (a constant input, m = 1) or ``None``/``0`` (no input).

Tabulated signals are sampled by linear interpolation, and sampling outside the
tabulated time range is an error (no silent extrapolation).

:func:`sample_input` returns the ``(len(t_grid), m)`` float array the simulator
uses; :class:`InputError` (a ``ValueError``) explains every refusal, naming the
expected channel count ``m`` and the count given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import sympy as sp

from symresp.errors import InputError
from symresp.model.activations import parse_expression

__all__ = ["InputError", "parse_input", "sample_input", "InputSignal", "T_SYMBOL"]

T_SYMBOL = sp.Symbol("t", real=True)


class InputSignal:
    """A parsed input u(t) with ``m`` channels; call it on a 1-D time array.

    ``kind`` is "expression", "table", "callable" or "zero"; ``exprs`` holds the SymPy
    expressions of an expression input (used by the symbolic side, e.g. LaTeX).
    """

    def __init__(
        self,
        kind: str,
        m: int,
        fn: Callable[[np.ndarray], np.ndarray],
        *,
        exprs: tuple[sp.Expr, ...] | None = None,
        t_range=None,
        text: str = "",
    ):
        self.kind, self.m, self._fn, self.exprs = kind, m, fn, exprs
        self.t_range, self.text = t_range, text

    def __call__(self, t) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if self.t_range is not None:
            lo, hi = self.t_range
            tol = 1e-9 * max(1.0, abs(hi))
            if t.size and (t.min() < lo - tol or t.max() > hi + tol):
                raise InputError(
                    f"input: the table covers times [{lo:g}, {hi:g}] but the simulation needs "
                    f"[{t.min():g}, {t.max():g}]; extend the table or shorten T."
                )
        out = np.asarray(self._fn(t), dtype=float)
        if out.ndim == 1 and self.m == 1:
            out = out[:, None]
        if out.shape != (t.size, self.m):
            raise InputError(
                f"input: expected values shaped ({t.size}, {self.m}) "
                f"(times × channels), got {out.shape}."
            )
        if not np.all(np.isfinite(out)):
            bad = t[~np.all(np.isfinite(out), axis=1)]
            raise InputError(
                f"input: non-finite values at t = {bad[:5].tolist()}{' …' if bad.size > 5 else ''}."
            )
        return out

    def __repr__(self):
        return f"InputSignal({self.kind}, m={self.m}{', ' + self.text if self.text else ''})"


def _count_error(m: int, given: int, what: str) -> InputError:
    return InputError(
        f"input: the network has m = {m} input channel(s) but {what} gives "
        f"{given}; give one per channel (expressions separated by ';')."
    )


def _from_exprs(exprs: list, m: int, what: str) -> InputSignal:
    parsed = []
    for j, e in enumerate(exprs):
        if isinstance(e, sp.Expr):
            ex = e.xreplace({s: T_SYMBOL for s in e.free_symbols if s.name == "t"})
            extra = ex.free_symbols - {T_SYMBOL}
            if extra:
                raise InputError(
                    f"input channel u{j + 1}: only the variable t is allowed, found "
                    f"{sorted(s.name for s in extra)}."
                )
        elif isinstance(e, (int, float, np.integer, np.floating)) and not isinstance(e, bool):
            ex = sp.Float(float(e))
        elif isinstance(e, str):
            try:
                ex = parse_expression(e, {"t": T_SYMBOL}, f"input channel u{j + 1}")
            except ValueError as exc:
                raise InputError(str(exc)) from None
        else:
            raise InputError(f"input channel u{j + 1}: expected an expression in t, got {e!r}.")
        parsed.append(ex)
    if len(parsed) != m:
        raise _count_error(m, len(parsed), what)
    fns = [sp.lambdify(T_SYMBOL, ex, "numpy") for ex in parsed]

    def fn(t):
        return np.stack(
            [np.broadcast_to(np.asarray(f(t), dtype=float), t.shape) for f in fns], axis=1
        )

    return InputSignal(
        "expression", m, fn, exprs=tuple(parsed), text="; ".join(str(e) for e in parsed)
    )


def _load_table(path: Path) -> np.ndarray:
    if not path.exists():
        raise InputError(f"input: file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            try:
                arr = np.loadtxt(path, delimiter=",", ndmin=2)
            except ValueError:  # one header line
                arr = np.loadtxt(path, delimiter=",", ndmin=2, skiprows=1)
        else:
            raise InputError(f"input: unsupported file type {suffix!r}; use .npy or .csv.")
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"input: could not read {str(path)!r} ({type(exc).__name__}: {exc})."
        ) from None
    return arr


def _from_table(arr, m: int, dt: float | None, what: str) -> InputSignal:
    arr = np.asarray(arr, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None] if dt is not None else arr[None, :]
    if arr.ndim != 2:
        raise InputError(f"input: {what} must be a 1-D or 2-D table, got {arr.ndim} dimensions.")
    if dt is not None:
        if not dt > 0:
            raise InputError(f"input: dt must be positive, got {dt!r}.")
        values = arr
        times = dt * np.arange(arr.shape[0])
    else:
        if arr.shape[1] < 2:
            raise InputError(
                f"input: {what} has one column; without dt the first column is time "
                f"and the next m = {m} are channels (or pass dt=...)."
            )
        times, values = arr[:, 0], arr[:, 1:]
    if values.shape[1] != m:
        raise _count_error(
            m, values.shape[1], f"{what} (columns{' after time' if dt is None else ''})"
        )
    if dt is None and np.any(np.diff(times) <= 0):
        raise InputError(f"input: the time column of {what} must be strictly increasing.")
    if values.shape[0] < 1 or not np.all(np.isfinite(values)) or not np.all(np.isfinite(times)):
        raise InputError(f"input: {what} must be non-empty and finite.")

    def fn(t):
        if times.size == 1:
            return np.repeat(values, t.size, axis=0)
        return np.stack([np.interp(t, times, values[:, j]) for j in range(m)], axis=1)

    return InputSignal("table", m, fn, t_range=(float(times[0]), float(times[-1])), text=what)


def _from_callable(f, m: int) -> InputSignal:
    def fn(t):
        try:
            out = np.asarray(f(t), dtype=float)
            if out.shape in ((t.size, m),) or (m == 1 and out.shape == (t.size,)):
                return out
            if out.shape == (m, t.size):  # channels first, e.g. ``lambda t: [sin(t), cos(t)]``
                return out.T
            if out.ndim == 0 or out.shape == (m,):
                raise TypeError  # a scalar function: evaluate pointwise
            raise InputError(
                f"input: the callable returned shape {out.shape} for {t.size} times; "
                f"expected ({t.size}, {m}) (m = {m} channels)."
            )
        except InputError:
            raise
        except Exception:
            rows = [np.atleast_1d(np.asarray(f(float(s)), dtype=float)) for s in t]
            if rows and rows[0].size != m:
                raise _count_error(m, rows[0].size, "the callable") from None
            return np.array(rows).reshape(t.size, m)

    return InputSignal("callable", m, fn, text=getattr(f, "__name__", "callable"))


def parse_input(spec, m: int, *, dt: float | None = None) -> InputSignal:
    """Turn an input specification into an :class:`InputSignal` with ``m`` channels.

    See the module docstring for the accepted forms.  ``dt`` marks tabulated values
    (array or file) as sampled at ``0, dt, 2dt, …`` with every column a channel;
    without it the first column is time.
    """
    if not isinstance(m, (int, np.integer)) or m < 1:
        raise InputError(f"input: m must be a positive integer, got {m!r}.")
    m = int(m)
    if isinstance(spec, InputSignal):
        if spec.m != m:
            raise _count_error(m, spec.m, "the input signal")
        return spec
    if spec is None or (
        isinstance(spec, (int, float))
        and not isinstance(spec, bool)
        and spec == 0
        and not isinstance(spec, np.ndarray)
    ):
        return InputSignal("zero", m, lambda t: np.zeros((t.size, m)), text="0")
    if isinstance(spec, Path) or (
        isinstance(spec, str) and spec.strip().lower().endswith((".npy", ".csv"))
    ):
        path = Path(spec).expanduser()
        return _from_table(_load_table(path), m, dt, f"file {path.name!r}")
    if isinstance(spec, str):
        parts = [p for p in spec.split(";")]
        if any(not p.strip() for p in parts):
            raise InputError(
                f"input: empty channel expression in {spec!r}; write one expression "
                "in t per channel separated by ';', e.g. 'sin(2*t); cos(t)'."
            )
        return _from_exprs(parts, m, f"{spec!r}")
    if isinstance(spec, sp.Expr) or (
        isinstance(spec, (int, float, np.integer, np.floating)) and not isinstance(spec, bool)
    ):
        return _from_exprs([spec], m, "a single expression")
    if isinstance(spec, sp.MatrixBase):
        return _from_exprs(list(spec), m, "the matrix")
    if isinstance(spec, np.ndarray):
        return _from_table(spec, m, dt, "the array")
    if isinstance(spec, (list, tuple)):
        if spec and all(isinstance(e, (str, sp.Expr)) for e in spec):
            return _from_exprs(list(spec), m, f"the list of {len(spec)} expressions")
        return _from_table(np.asarray(spec, dtype=float), m, dt, "the list")
    if callable(spec):
        return _from_callable(spec, m)
    raise InputError(
        f"input: cannot read {spec!r} ({type(spec).__name__}); give expressions in t "
        "separated by ';', a .npy/.csv file, an array, or a callable u(t)."
    )


def sample_input(spec, m: int, t_grid, *, dt: float | None = None) -> np.ndarray:
    """Values ``u(t_i)`` on ``t_grid``: a float array shaped ``(len(t_grid), m)``.

    ``spec`` is anything :func:`parse_input` accepts (``dt`` as there).
    """
    t = np.asarray(t_grid, dtype=float).ravel()
    return parse_input(spec, m, dt=dt)(t)
