"""Truncated signatures of piecewise-linear paths.

For a path ``X: [0, T] → R^d`` the signature component of a word
``w = w_1 … w_n`` (letters ``0..d-1``) is

    S(X)^{w_1…w_n}_{0,t} = ∫_{0<r_1<…<r_n<t} dX^{w_1}_{r_1} ⋯ dX^{w_n}_{r_n}.

The output convention is iisignature's ``sig`` (and esig's without the
level-0 term): level 0 (the constant 1) omitted, then levels 1..N, the
``d**n`` words of level n in lexicographic order, i.e. word ``w`` sits at
position ``sum_{j<n} d**j + sum_i w_i d**(n-i)`` (0-based, ``i = 1..n``).

Algorithm.  A linear segment with increment ``Δ`` has signature
``exp(Δ) = (1, Δ, Δ^{⊗2}/2!, …)``, and Chen's identity gives the signature
after a segment as ``S ⊗ exp(Δ)``.  Level n of the product is

    (S ⊗ exp Δ)_n = S_n + Σ_{k=1}^{n} S_{n-k} ⊗ Δ^{⊗k} / k!
                  = S_n + (…((Δ/n + S_1) ⊗ Δ/(n-1) + S_2) ⊗ Δ/(n-2) … + S_{n-1}) ⊗ Δ,

a Horner scheme along the word (the bracket after j letters depends only on
the first j letters of the word).  Level n reads only levels < n, so the
update runs in place from the top level down; the only scratch memory is two
Horner buffers of ``d**(N-1)`` entries per path, allocated once per chunk of
paths, never per step.  Paths are processed in chunks of up to 64 with the
path index innermost in memory (``state[word, path]``), so every inner loop
is a contiguous loop over the paths of the chunk, which LLVM vectorises;
chunks run in parallel with ``prange``.  Batches of fewer than 4 paths use
the same update with the letters innermost, one path after the other.  The
cost per segment and path is about ``sig_dim(d, N) · d/(d-1)`` fused
multiply-adds.
"""

from __future__ import annotations

import itertools
import numbers

import numba
import numpy as np
from numba import njit, prange

from symresp.errors import ArgumentError, ArgumentTypeError
from symresp.features.series_input import as_series, cases_by_length, lengths_of, n_channels_of
from symresp.validation import check_budget, check_int

__all__ = ["signature", "sig_dim", "words", "word_index", "level_offsets"]

#: Most signature values (cases × [times ×] terms) one call computes unless ``max_values``
#: says otherwise: 2·10⁸ float64 numbers are 1.6 GB.
MAX_SIGNATURE_VALUES = 2 * 10**8

# Largest number of paths per chunk (the innermost, vectorised dimension).
# The chunk width is passed to the kernels as a runtime value on purpose: with
# a compile-time constant LLVM fully unrolls the short inner loops before the
# loop vectoriser runs, and numba leaves the SLP vectoriser off, so the
# unrolled code stays scalar (seen in the assembly).  With a runtime trip
# count the loop vectoriser emits AVX FMAs after one alias check per row; long
# rows amortise that check.  Measured on a 2-core AMD EPYC (AVX2), ratio to
# iisignature at 100 x 1000 points: widths 16/32/64/96/128 gave about
# 4.7/4.3-5.1/5.2-6.6/4.6-6.4/5.0-7.5x (d = 6, N = 4; a loaded machine, so
# only the trend counts): 64, since 128 is no better within the noise and
# doubles the state of a chunk (sig_dim * width doubles, 0.8 MB at 64).  A
# short last chunk is padded with zero increments, which leave a signature
# unchanged (exp(0) = 1).
_MAX_CHUNK = 64
# Widths are rounded up to a multiple of 8 lanes: the vector loop handles
# 8 doubles per iteration (4-wide AVX2, interleaved twice), and a remainder
# would run scalar.
_LANES = 8
# Below this many paths a lane axis is mostly padding: each path then runs
# alone with the letters innermost, without threads (_signature_few).
_SMALL_BATCH = 4


def _chunk_width(batch: int) -> int:
    """Chunk width: an equal share per thread (so prange's static schedule is
    balanced), at most _MAX_CHUNK, rounded up to a multiple of _LANES."""
    threads = max(1, numba.get_num_threads())
    nchunks = threads * -(-batch // (threads * _MAX_CHUNK))
    width = -(-batch // nchunks)
    if width > _LANES:
        width = _LANES * -(-width // _LANES)
    return max(1, min(width, _MAX_CHUNK))


# 'contract' lets LLVM fuse multiply-add pairs (one rounding instead of two);
# no reassociation, so results do not depend on vector width.
_FASTMATH = {"contract"}


# ---------------------------------------------------------------------------
# word bookkeeping
# ---------------------------------------------------------------------------


def sig_dim(d: int, level: int) -> int:
    """Number of signature components of a d-dimensional path up to ``level``:
    ``d + d² + … + d^level`` (level 0 omitted)."""
    d = check_int(d, "d", minimum=1)
    level = check_int(level, "level", minimum=1)
    return sum(d**n for n in range(1, level + 1))


def level_offsets(d: int, level: int) -> np.ndarray:
    """Start of each level in the signature vector: ``offsets[n-1]`` is the
    position of the first word of level n, ``offsets[level]`` = sig_dim."""
    d = check_int(d, "d", minimum=1)
    level = check_int(level, "level", minimum=1)
    out = np.zeros(level + 1, dtype=np.int64)
    for n in range(1, level + 1):
        out[n] = out[n - 1] + d**n
    return out


def words(d: int, level: int) -> list[tuple[int, ...]]:
    """The words of the signature in output order: levels 1..level, each
    level lexicographic; letters are 0-based integers < d."""
    d = check_int(d, "d", minimum=1)
    level = check_int(level, "level", minimum=1)
    out: list[tuple[int, ...]] = []
    for n in range(1, level + 1):
        out.extend(itertools.product(range(d), repeat=n))
    return out


def word_index(word, d: int) -> int:
    """Position of ``word`` (a sequence of 0-based letters, length >= 1) in the
    signature vector of a d-dimensional path (any truncation level >= len(word)):
    ``sum_{j<n} d**j + sum_i w_i d**(n-i)``."""
    d = check_int(d, "d", minimum=1)
    w = tuple(word)
    if len(w) == 0:
        raise ArgumentError(
            "word: the empty word is not part of the signature vector "
            "(level 0 is omitted, its value is 1)."
        )
    pos = 0
    for letter in w:
        if (
            isinstance(letter, (bool, np.bool_))
            or not isinstance(letter, numbers.Integral)
            or not 0 <= letter < d
        ):
            raise ArgumentError(
                f"word: expected letters that are integers in 0..{d - 1}, got {letter!r} in {w!r}."
            )
        pos = pos * d + int(letter)
    return sum(d**j for j in range(1, len(w))) + pos


# ---------------------------------------------------------------------------
# numba kernels
# ---------------------------------------------------------------------------


@njit(cache=True, fastmath=_FASTMATH)
def _chen_step(state, dx, dxs, buf_a, buf_b, d, level, offsets, C):
    """In place: state ← state ⊗ exp(dx), for one chunk of paths.

    state[offsets[n-1] + word, b]  level-n component of path b
    dx[i, b]                       increment of letter i
    dxs[k, i, b] = dx[i, b] / k    (k = 1..level), the Horner factors
    C                              chunk width (a runtime value on purpose:
                                   see _MAX_CHUNK)
    """
    for n in range(level, 1, -1):
        # Horner bracket after the first letter: Δ/n + S_1 (S_0 = 1)
        o1 = offsets[0]
        for i in range(d):
            for b in range(C):
                buf_a[i, b] = dxs[n, i, b] + state[o1 + i, b]
        prev = buf_a
        nxt = buf_b
        width = d
        # after j letters: B_j[p, i] = B_{j-1}[p] Δ_i/(n-j+1) + S_j[p, i]
        for j in range(2, n):
            oj = offsets[j - 1]
            k = n - j + 1
            for p in range(width):
                for i in range(d):
                    r = p * d + i
                    for b in range(C):
                        nxt[r, b] = prev[p, b] * dxs[k, i, b] + state[oj + r, b]
            width *= d
            prev, nxt = nxt, prev
        # last letter (factor 1/1), accumulated into level n in place
        on = offsets[n - 1]
        for p in range(width):
            for i in range(d):
                r = on + p * d + i
                for b in range(C):
                    state[r, b] += prev[p, b] * dx[i, b]
    o1 = offsets[0]
    for i in range(d):
        for b in range(C):
            state[o1 + i, b] += dx[i, b]


@njit(cache=True, fastmath=_FASTMATH)
def _signature_chunk(paths, b0, C, level, offsets, all_times, out):
    """Signatures of paths b0 .. b0+C-1 (fewer at the end of the batch) into
    out[b, t or 0, :].  Scratch arrays are allocated once per chunk."""
    batch, length, d = paths.shape
    sigdim = offsets[level]
    bc = min(C, batch - b0)
    scratch = 1
    for _ in range(level - 1):
        scratch *= d
    state = np.zeros((sigdim, C))
    buf_a = np.zeros((scratch, C))
    buf_b = np.zeros((scratch, C))
    dx = np.zeros((d, C))
    dxs = np.zeros((level + 1, d, C))
    for t in range(1, length):
        # padding lanes b >= bc keep dx = 0
        for b in range(bc):
            for i in range(d):
                dx[i, b] = paths[b0 + b, t, i] - paths[b0 + b, t - 1, i]
        for k in range(1, level + 1):
            inv = 1.0 / k
            for i in range(d):
                for b in range(C):
                    dxs[k, i, b] = dx[i, b] * inv
        _chen_step(state, dx, dxs, buf_a, buf_b, d, level, offsets, C)
        if all_times:
            for b in range(bc):
                for r in range(sigdim):
                    out[b0 + b, t, r] = state[r, b]
    if not all_times:
        for b in range(bc):
            for r in range(sigdim):
                out[b0 + b, 0, r] = state[r, b]


@njit(cache=True, parallel=True)
def _signature_batch(paths, level, offsets, all_times, C, out):
    """paths: float64 (batch, length, d), C-contiguous; out: (batch, length or
    1, sigdim), filled for t >= 1 (row 0 is the caller's).  The chunk work is
    a separate (not inlined) function: parfor lowering of a large loop body
    is slow to compile, a call is not, and costs nothing per chunk."""
    batch = paths.shape[0]
    nchunks = (batch + C - 1) // C
    for c in prange(nchunks):
        _signature_chunk(paths, c * C, C, level, offsets, all_times, out)


@njit(cache=True, fastmath=_FASTMATH)
def _chen_step_single(state, dx, dxs, buf_a, buf_b, d, level, offsets):
    """_chen_step for one path (no lane axis): the same top-down in-place
    Horner update, for batches too small to fill a vector of paths."""
    for n in range(level, 1, -1):
        for i in range(d):
            buf_a[i] = dxs[n, i] + state[i]
        prev = buf_a
        nxt = buf_b
        width = d
        for j in range(2, n):
            oj = offsets[j - 1]
            k = n - j + 1
            for p in range(width):
                a = prev[p]
                for i in range(d):
                    r = p * d + i
                    nxt[r] = a * dxs[k, i] + state[oj + r]
            width *= d
            prev, nxt = nxt, prev
        on = offsets[n - 1]
        for p in range(width):
            a = prev[p]
            for i in range(d):
                state[on + p * d + i] += a * dx[i]
    for i in range(d):
        state[i] += dx[i]


@njit(cache=True, fastmath=_FASTMATH)
def _signature_path(paths, b, level, offsets, all_times, out):
    """Signature of path b alone into out[b, t or 0, :] (rows t >= 1)."""
    _, length, d = paths.shape
    sigdim = offsets[level]
    scratch = 1
    for _ in range(level - 1):
        scratch *= d
    state = np.zeros(sigdim)
    buf_a = np.zeros(scratch)
    buf_b = np.zeros(scratch)
    dx = np.zeros(d)
    dxs = np.zeros((level + 1, d))
    for t in range(1, length):
        for i in range(d):
            dx[i] = paths[b, t, i] - paths[b, t - 1, i]
        for k in range(1, level + 1):
            inv = 1.0 / k
            for i in range(d):
                dxs[k, i] = dx[i] * inv
        _chen_step_single(state, dx, dxs, buf_a, buf_b, d, level, offsets)
        if all_times:
            for r in range(sigdim):
                out[b, t, r] = state[r]
    if not all_times:
        for r in range(sigdim):
            out[b, 0, r] = state[r]


@njit(cache=True)
def _signature_few(paths, level, offsets, all_times, out):
    """Batches of fewer than _SMALL_BATCH paths, letters innermost, no
    threads: waking a thread pool costs more than a short path's whole
    signature on a busy machine, and one parallel function fewer to compile
    keeps the first call fast."""
    for b in range(paths.shape[0]):
        _signature_path(paths, b, level, offsets, all_times, out)


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------


def _signature_cases(paths: np.ndarray, level: int, all_times: bool) -> np.ndarray:
    """The kernels on float64 C-contiguous (batch, length, d): (batch, [length,] sigdim)."""
    batch, length, d = paths.shape
    offsets = level_offsets(d, level)
    sigdim = int(offsets[-1])
    # The output is allocated here, by numpy, not inside numba: numpy backs
    # large arrays with huge pages, numba's allocator does not, and for a large
    # all_times output the page faults alone cost several times the whole
    # computation.  Rows t >= 1 are all written by the kernels, so only row 0
    # is cleared.
    out = np.empty((batch, length if all_times else 1, sigdim))
    out[:, 0, :] = 0.0
    if 0 < batch < _SMALL_BATCH:
        _signature_few(paths, level, offsets, bool(all_times), out)
    elif batch >= _SMALL_BATCH:
        _signature_batch(paths, level, offsets, bool(all_times), _chunk_width(batch), out)
    return out if all_times else out[:, 0, :]


def signature(X, level: int, *, all_times: bool = False, max_values: int | None = None):
    """Truncated signature of piecewise-linear paths (iisignature convention).

    ``S(X)^{w_1…w_n}_{0,t} = ∫_{0<r_1<…<r_n<t} dX^{w_1}_{r_1} ⋯ dX^{w_n}_{r_n}``
    for the path through the given points, linear in between; levels 1..level,
    words lexicographic within a level (see :func:`words`); the letters are the
    0-based channels.

    Parameters
    ----------
    X : array (n_cases, n_channels, n_timepoints), (n_channels, n_timepoints), or a list
        of (n_channels, n_timepoints_i) arrays
        Points of the paths; time is the last axis (its parametrisation does not
        matter, the signature is reparametrisation invariant).  Paths of unequal
        lengths are computed each at its own length, never padded.
    level : int >= 1
        Truncation level N.
    all_times : bool
        If true, return the signature of the path up to every point (streamed
        in one pass); index 0 is the signature of a single point (0).

    Returns
    -------
    array (n_cases, sigdim), or (n_cases, n_timepoints, sigdim) with ``all_times``
    (a list of (n_timepoints_i, sigdim) arrays for a list of unequal lengths); the
    case axis is dropped for a single series.  ``sigdim = sig_dim(n_channels, level)``.
    A result of more than ``max_values`` numbers (default :data:`MAX_SIGNATURE_VALUES`) is
    refused before any work.
    """
    level = check_int(level, "level", minimum=1)
    if not isinstance(all_times, (bool, np.bool_)):
        raise ArgumentTypeError(f"all_times: expected a bool, got {all_times!r}.")
    data, single = as_series(X, "X", min_timepoints=1)
    limit = (
        MAX_SIGNATURE_VALUES
        if max_values is None
        else check_int(max_values, "max_values", minimum=1)
    )
    d = n_channels_of(data)
    # sig_dim as a float: d**level overflows nothing here, and the check comes first
    dim = sum(float(d) ** k for k in range(1, level + 1))
    lengths = lengths_of(data)
    values = sum(dim * (n if all_times else 1) for n in lengths)
    check_budget(
        values,
        f"signature (level {level} of {d} channel(s): {dim:.4g} terms)",
        limit=limit,
        option="max_values=",
        unit="numbers",
        nbytes=8.0 * values,
    )
    if not isinstance(data, list):
        paths = np.ascontiguousarray(data.transpose(0, 2, 1))  # kernels: (batch, length, d)
        out = _signature_cases(paths, level, bool(all_times))
        return out[0] if single else out
    sigdim = sig_dim(n_channels_of(data), level)
    results = [None] * len(data)
    for idx, batch in cases_by_length(data):
        sig = _signature_cases(
            np.ascontiguousarray(batch.transpose(0, 2, 1)), level, bool(all_times)
        )
        for i, row in zip(idx, sig):
            results[i] = row
    return results if all_times else np.stack(results).reshape(len(data), sigdim)
