"""Shared checks of scalar arguments: one function per kind of value, one error per mistake.

* a wrong type (a float or a bool where a count is needed, a string where a flag is)
  raises :class:`~symresp.errors.ArgumentTypeError`;
* a value of the right type outside the accepted range (negative, zero, non-finite, not
  one of the choices) raises :class:`~symresp.errors.ArgumentError`.

Messages name the argument, what was expected and what was given.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from symresp.errors import ArgumentError, ArgumentTypeError

__all__ = ["check_int", "check_bool", "check_float", "check_choice", "check_budget"]


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` in ``[minimum, maximum]``; integral numpy scalars pass,
    bools and floats (even ``2.0``) do not."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(
            f"{name}: expected an integer, got {value!r} ({type(value).__name__})."
        )
    v = int(value)
    if minimum is not None and v < minimum:
        raise ArgumentError(f"{name}: expected an integer ≥ {minimum}, got {v}.")
    if maximum is not None and v > maximum:
        raise ArgumentError(f"{name}: expected an integer ≤ {maximum}, got {v}.")
    return v


def check_bool(value, name: str) -> bool:
    """``value`` as a ``bool``; only ``True``/``False`` (and numpy bools) are accepted —
    the strings ``"no"`` or ``"false"`` are not silently true."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ArgumentTypeError(
        f"{name}: expected True or False, got {value!r} ({type(value).__name__})."
    )


def check_float(
    value, name: str, *, positive: bool = False, nonnegative: bool = False, finite: bool = True
) -> float:
    """``value`` as a finite ``float`` (real numbers only; bools refused), optionally
    ``> 0`` (``positive``) or ``≥ 0`` (``nonnegative``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(
            f"{name}: expected a real number, got {value!r} ({type(value).__name__})."
        )
    v = float(value)
    if finite and not math.isfinite(v):
        raise ArgumentError(f"{name}: expected a finite number, got {v}.")
    if positive and not v > 0:
        raise ArgumentError(f"{name}: expected a number > 0, got {v}.")
    if nonnegative and not v >= 0:
        raise ArgumentError(f"{name}: expected a number ≥ 0, got {v}.")
    return v


def check_choice(value, name: str, choices) -> str:
    """``value`` if it is one of ``choices`` (compared with ``==``)."""
    if value not in tuple(choices):
        opts = ", ".join(repr(c) for c in choices)
        raise ArgumentError(f"{name}: expected one of {opts}, got {value!r}.")
    return value


def check_budget(
    count, what: str, *, limit, option: str | None, unit: str = "", nbytes=None, why: str = ""
) -> None:
    """Refuse work above a documented limit before anything is allocated or run.

    ``count`` is the size the request implies (grid points, samples, features, digits),
    ``limit`` the default ceiling and ``option`` the argument that raises it (None for a
    hard limit, explained by ``why``); ``nbytes``, when known, is added to the message as the
    memory the request would take.
    """
    if count <= limit:
        return
    mem = "" if nbytes is None else f" (about {nbytes / 2**30:.3g} GiB)"
    tail = (
        f"raise it with {option} if you mean it, or ask for less"
        if option
        else (why or "ask for less")
    )
    raise ArgumentError(
        f"{what}: the request needs {count:.4g} {unit}{mem}, above the limit of {limit:.4g}; "
        f"{tail}."
    )
