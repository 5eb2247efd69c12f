"""The errors symresp raises for a user's mistake.

Every error that explains a mistake in the input (a specification, an argument, an
input signal, a request the code generator or the LaTeX writer cannot serve, a
simulation that diverged) derives from :class:`SymrespError`; the command line turns
those, and only those, into exit status 2 with the message.  Anything else escaping
symresp is a bug.

The kinds also derive from the built-in exception a caller would expect
(``ValueError`` for bad values, ``TypeError`` for a wrong type, ``RuntimeError`` for a
run that failed), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "SymrespError",
    "SpecError",
    "ArgumentError",
    "ArgumentTypeError",
    "InputError",
    "UnsupportedError",
    "DivergenceError",
    "CodegenError",
    "LatexError",
    "DivergenceWarning",
]


class SymrespError(Exception):
    """Base class of every error that reports a user's mistake or an unmet request."""


class SpecError(SymrespError, ValueError):
    """A network specification is invalid; the message names the parameter and the fix."""


class ArgumentError(SymrespError, ValueError):
    """An argument has a value outside what the function accepts (the message names it)."""


class ArgumentTypeError(SymrespError, TypeError):
    """An argument has the wrong type (e.g. a float where an integer count is needed)."""


class InputError(SymrespError, ValueError):
    """An input signal cannot be read or does not fit the network."""


class UnsupportedError(SymrespError, NotImplementedError):
    """A documented gap: the request is valid but this route does not serve it (the message
    names the routes that do)."""


class DivergenceError(SymrespError, RuntimeError):
    """Simulated paths diverged (non-finite or beyond the bound) and divergence is an error."""


class CodegenError(SymrespError, ValueError):
    """An expression or request that cannot be turned into numba code."""


class LatexError(SymrespError, RuntimeError):
    """pdflatex is missing or failed; the message carries the end of the log."""


class OutputError(SymrespError, OSError):
    """An output file cannot be written where it was asked for (a directory, a missing or
    unwritable directory, a non-regular file); the message names the path and the fix."""


class DivergenceWarning(RuntimeWarning):
    """Some paths diverged; they were excluded from the statistics."""
