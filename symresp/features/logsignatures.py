"""Log-signatures of piecewise-linear paths.

The signature ``S = 1 + x`` of a path (:func:`symresp.features.signatures.signature`)
is group-like, so its tensor logarithm

    log S = Σ_{k=1}^{N} (−1)^{k+1} x^{⊗k} / k        (truncated at level N)

is a Lie element: a combination of iterated brackets of the letters.  It carries the
same information as ``S`` (``S = exp(log S)``) in far fewer coordinates — at level n,
Witt's number ``(1/n) Σ_{k|n} μ(k) d^{n/k}`` instead of ``dⁿ``.

Two coordinate systems:

* ``basis="expanded"``: the tensor coordinates of ``log S``, laid out like the signature
  (levels 1..N, words lexicographic within a level); iisignature's ``logsig(..., "x")``.
* ``basis="lyndon"`` (default): coordinates ``c_w`` in the Lyndon basis,
  ``log S = Σ_w c_w P_w`` over Lyndon words ``w`` (levels 1..N, lexicographic within a
  level), ``P_a = a`` for a letter and ``P_w = [P_u, P_v]`` for the standard
  factorisation ``w = uv`` (``v`` the longest proper Lyndon suffix); iisignature's
  default ``logsig`` basis.  Since ``P_w = w + (lexicographically larger words)``, the
  coordinates solve a unit triangular system on the Lyndon rows of ``log S``.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from symresp.errors import ArgumentError
from symresp.features.series_input import as_series, n_channels_of
from symresp.features.signatures import level_offsets, signature
from symresp.validation import check_int

__all__ = [
    "logsignature",
    "logsig_dim",
    "lyndon_words",
    "lyndon_brackets",
    "tensor_log",
    "tensor_exp",
]


def lyndon_words(d: int, level: int) -> list[tuple[int, ...]]:
    """Lyndon words over the letters ``0..d-1`` of length ≤ ``level``: by length, then
    lexicographic (Duval's algorithm)."""
    d = check_int(d, "d", minimum=1)
    level = check_int(level, "level", minimum=1)
    return list(_lyndon(d, level))


@lru_cache(maxsize=32)
def _lyndon(d: int, level: int) -> tuple:
    found = []
    w = [-1]
    while w:
        w[-1] += 1
        found.append(tuple(w))
        m = len(w)
        while len(w) < level:
            w.append(w[len(w) - m])
        while w and w[-1] == d - 1:
            w.pop()
    return tuple(sorted(found, key=lambda u: (len(u), u)))


def logsig_dim(d: int, level: int) -> int:
    """Number of Lyndon-basis coordinates up to ``level`` (Witt's formula summed)."""
    d = check_int(d, "d", minimum=1)
    level = check_int(level, "level", minimum=1)
    total = 0
    for n in range(1, level + 1):
        total += sum(_mobius(k) * d ** (n // k) for k in range(1, n + 1) if n % k == 0) // n
    return total


def _mobius(k: int) -> int:
    out, p = 1, 2
    while p * p <= k:
        if k % p == 0:
            k //= p
            if k % p == 0:
                return 0
            out = -out
        p += 1
    return -out if k > 1 else out


def _standard_factorisation(w: tuple) -> tuple[tuple, tuple]:
    for i in range(1, len(w)):
        v = w[i:]
        if _is_lyndon(v):
            return w[:i], v
    raise ArgumentError(f"{w} has no standard factorisation")  # pragma: no cover


def _is_lyndon(w: tuple) -> bool:
    return all(w < w[i:] + w[:i] for i in range(1, len(w)))


def lyndon_brackets(d: int, level: int) -> list[str]:
    """The bracketings ``P_w`` as text with 1-based letters (iisignature's ``basis``)."""

    def text(w):
        if len(w) == 1:
            return str(w[0] + 1)
        u, v = _standard_factorisation(w)
        return f"[{text(u)},{text(v)}]"

    return [text(w) for w in lyndon_words(d, level)]


@lru_cache(maxsize=32)
def _lyndon_systems(d: int, level: int) -> tuple:
    """Per level n: (positions of the Lyndon words among the dⁿ words, the unit upper
    triangular matrix A with A[u, w] = coefficient of word u in P_w)."""
    expansions: dict = {}

    def expand(w):  # P_w as a vector over the d^|w| words of its level
        if w in expansions:
            return expansions[w]
        if len(w) == 1:
            vec = np.zeros(d)
            vec[w[0]] = 1.0
        else:
            u, v = _standard_factorisation(w)
            pu, pv = expand(u), expand(v)
            vec = np.outer(pu, pv).reshape(-1) - np.outer(pv, pu).reshape(-1)
        expansions[w] = vec
        return vec

    out = []
    for n in range(1, level + 1):
        ws = [w for w in _lyndon(d, level) if len(w) == n]
        pos = np.array([int(np.ravel_multi_index(w, (d,) * n)) for w in ws], np.int64)
        A = np.column_stack([expand(w)[pos] for w in ws]) if ws else np.zeros((0, 0))
        out.append((pos, A))
    return tuple(out)


def _levels(flat: np.ndarray, d: int, level: int) -> list[np.ndarray]:
    off = level_offsets(d, level)
    return [flat[:, off[n - 1] : off[n]] for n in range(1, level + 1)]


def _product(a: list, b: list, d: int, level: int) -> list:
    """Truncated tensor product of two elements with zero level-0 part (levels 1..N)."""
    batch = a[0].shape[0]
    out = [np.zeros((batch, d**n)) for n in range(1, level + 1)]
    for i in range(1, level):
        for j in range(1, level - i + 1):
            out[i + j - 1] += (a[i - 1][:, :, None] * b[j - 1][:, None, :]).reshape(batch, -1)
    return out


def tensor_log(sig: np.ndarray, d: int, level: int) -> np.ndarray:
    """``log(1 + x)`` of signature vectors ``sig`` (batch, sig_dim) in tensor
    coordinates (same layout), truncated at ``level``."""
    sig = np.atleast_2d(np.asarray(sig, dtype=np.float64))
    x = _levels(sig, d, level)
    power = x
    acc = [p.copy() for p in x]
    for k in range(2, level + 1):
        power = _product(power, x, d, level)
        sign = (-1.0) ** (k + 1) / k
        for n in range(level):
            acc[n] += sign * power[n]
    return np.concatenate(acc, axis=1)


def tensor_exp(lie: np.ndarray, d: int, level: int) -> np.ndarray:
    """``exp(y) − 1`` of tensor-coordinate vectors (batch, sig_dim), truncated at
    ``level``: the inverse of :func:`tensor_log`."""
    lie = np.atleast_2d(np.asarray(lie, dtype=np.float64))
    y = _levels(lie, d, level)
    power = y
    acc = [p.copy() for p in y]
    fact = 1.0
    for k in range(2, level + 1):
        power = _product(power, y, d, level)
        fact *= k
        for n in range(level):
            acc[n] += power[n] / fact
    return np.concatenate(acc, axis=1)


def logsignature(X, level: int, *, basis: str = "lyndon") -> np.ndarray:
    """Truncated log-signature of piecewise-linear paths,

        log S = Σ_{k=1}^{N} (−1)^{k+1} x^{⊗k} / k,   S = 1 + x the signature,

    in Lyndon-basis or tensor coordinates (see the module docstring).

    Parameters
    ----------
    X : array (n_cases, n_channels, n_timepoints), (n_channels, n_timepoints), or a list
        of (n_channels, n_timepoints_i) arrays
        Points of the paths, as for :func:`symresp.features.signatures.signature`
        (unequal lengths: each path at its own length).
    level : int >= 1
        Truncation level N.
    basis : "lyndon" or "expanded"
        Lyndon-basis coordinates (``logsig_dim(n_channels, N)`` of them, ordered as
        :func:`lyndon_words`) or the tensor coordinates of ``log S``
        (``sig_dim(n_channels, N)``, ordered as :func:`symresp.features.signatures.words`).

    Returns
    -------
    array (n_cases, dim), or (dim,) for a single series.
    """
    if basis not in ("lyndon", "expanded"):
        raise ArgumentError(f"basis: expected 'lyndon' or 'expanded', got {basis!r}")
    level = check_int(level, "level", minimum=1)
    data, single = as_series(X, "X", min_timepoints=1)
    d = n_channels_of(data)
    sig = np.atleast_2d(signature(data, level))
    log = tensor_log(sig, d, level)
    if basis == "expanded":
        return log[0] if single else log
    parts = []
    for (pos, A), lv in zip(_lyndon_systems(d, level), _levels(log, d, level)):
        if len(pos):
            # A is unit triangular (P_w = w + larger words): a plain solve is exact
            # up to rounding and cheap at these sizes
            parts.append(np.linalg.solve(A, lv[:, pos].T).T)
    out = np.concatenate(parts, axis=1)
    return out[0] if single else out
