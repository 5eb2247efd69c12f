"""Validation of series arrays, shared by every function of :mod:`symresp.features`.

Convention (aeon/sktime): a batch of series is ``(n_cases, n_channels, n_timepoints)``; a
single series may be given as ``(n_channels, n_timepoints)`` (or ``(n_timepoints,)`` for one
channel); series of unequal lengths as a list of ``(n_channels, n_timepoints_i)`` arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from symresp.errors import ArgumentError, ArgumentTypeError, InputError

__all__ = [
    "as_series",
    "as_collection",
    "as_grids",
    "n_channels_of",
    "lengths_of",
    "cases_by_length",
    "SHAPES",
    "COLLECTION_SHAPES",
]

#: The accepted shapes, for messages.
SHAPES = (
    "(n_cases, n_channels, n_timepoints), a single series (n_channels, n_timepoints), "
    "or a list of (n_channels, n_timepoints_i) arrays for unequal lengths"
)


#: The accepted shapes of the estimators' collections, for messages.
COLLECTION_SHAPES = (
    "(n_cases, n_channels, n_timepoints), (n_cases, n_timepoints) for univariate series, "
    "or a list of (n_channels, n_timepoints_i) arrays for unequal lengths"
)


def _real_array(x, name: str) -> np.ndarray:
    """x → a real numeric numpy array (no copy when possible); type errors named.

    Complex values are an :class:`InputError` (a ValueError, as scikit-learn expects), an
    object array is converted to float64 where every entry is a number."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ArgumentError(
            f"{name}: expected {SHAPES}; got an object numpy cannot convert ({exc})."
        ) from None
    if np.iscomplexobj(arr):
        raise InputError(
            f"{name}: expected a real array; Complex data not supported (dtype {arr.dtype}): "
            "pass the real and imaginary parts as separate channels."
        )
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ArgumentTypeError(
                f"{name}: expected real numbers, got an object array with an entry that is "
                f"not one ({exc})."
            ) from None
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ArgumentTypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}.")
    return arr


def _check_finite(arr: np.ndarray, name: str, axes: tuple[str, ...]) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = ", ".join(f"{a} {i}" for a, i in zip(axes, np.argwhere(bad)[0]))
        raise InputError(
            f"{name}: expected finite values, got {float(arr[bad][0])} at {where} "
            f"({int(bad.sum())} non-finite value(s) in all; NaN and inf are refused: drop or "
            "impute them first)."
        )


def _one_case(x, name: str) -> np.ndarray:
    """One series of a list → float64 (n_channels, n_timepoints_i)."""
    arr = _real_array(x, name)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2:
        raise ArgumentError(
            f"{name}: expected one series shaped (n_channels, n_timepoints), got shape {arr.shape}."
        )
    arr = np.asarray(arr, dtype=np.float64)
    _check_finite(arr, name, ("channel", "timepoint"))
    return arr


def as_series(X, name: str = "X", *, min_timepoints: int = 1):
    """Validate series input and return ``(data, single)``.

    ``data`` is a float64 array ``(n_cases, n_channels, n_timepoints)``, or, for a list of
    series of unequal lengths, a list of float64 ``(n_channels, n_timepoints_i)`` arrays
    (a list of equal-length series is stacked).  ``single`` is true when ``X`` was one
    series (2-D or 1-D), whose case axis the caller drops from its result.

    Raises InputError for complex input and for NaN or infinity (with the case, channel and
    time point of the first one), ArgumentTypeError for non-numeric input, ArgumentError
    for a wrong number of dimensions, too few channels or time points and mismatched
    channels in a list.
    """
    if (
        isinstance(X, (list, tuple))
        and len(X) > 0
        and all(isinstance(e, np.ndarray) or (isinstance(e, (list, tuple))) for e in X)
    ):
        try:
            arr = np.asarray(X)
            ragged = arr.dtype == object
        except ValueError:
            ragged = True
        if ragged:
            cases = [_one_case(e, f"{name}[{i}]") for i, e in enumerate(X)]
            channels = {c.shape[0] for c in cases}
            if len(channels) > 1:
                raise ArgumentError(
                    f"{name}: every series of the list needs the same number "
                    f"of channels (axis 0 of each (n_channels, n_timepoints_i) "
                    f"array), got {sorted(channels)}."
                )
            for i, c in enumerate(cases):
                _check_sizes(c.shape[0], c.shape[1], f"{name}[{i}]", min_timepoints)
            if len({c.shape[1] for c in cases}) == 1:
                return np.ascontiguousarray(np.stack(cases)), False
            return cases, False
    arr = _real_array(X, name)
    if arr.ndim not in (1, 2, 3):
        raise ArgumentError(
            f"{name}: expected {SHAPES}; got an array with {arr.ndim} "
            f"dimension(s), shape {arr.shape}."
        )
    single = arr.ndim < 3
    while arr.ndim < 3:
        arr = arr[None]
    _, n_channels, n_timepoints = arr.shape
    _check_sizes(n_channels, n_timepoints, name, min_timepoints, arr.shape)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    _check_finite(arr, name, ("case", "channel", "timepoint"))
    return arr, single


def as_collection(X, name: str = "X", *, min_timepoints: int = 2):
    """Validate the input of an estimator: a collection of series, as aeon and sktime take it.

    ``(n_cases, n_channels, n_timepoints)`` arrays; 2-D arrays (and lists of 1-D series)
    ``(n_cases, n_timepoints)`` are univariate collections; a list of ``(n_channels,
    n_timepoints_i)`` arrays holds series of unequal lengths.  Returns float64 ``(n_cases,
    n_channels, n_timepoints)`` or a list of float64 ``(n_channels, n_timepoints_i)``
    arrays.  A 1-D array (one univariate series) is refused: estimators take collections.
    """
    if scipy.sparse.issparse(X):
        raise ArgumentTypeError(
            f"{name}: sparse input is not supported (series are dense); pass X.toarray()."
        )
    if isinstance(X, (list, tuple)):
        if len(X) == 0:
            raise ArgumentError(f"{name}: expected at least 1 series (n_cases >= 1), got 0.")
        if all(np.ndim(e) == 1 for e in X):
            X = [np.asarray(e)[None] if isinstance(e, np.ndarray) else [e] for e in X]
        data, _ = as_series(X, name, min_timepoints=min_timepoints)
    else:
        arr = _real_array(X, name)
        if arr.ndim == 2:
            arr = arr[:, None, :]
        if arr.ndim != 3:
            raise ArgumentError(
                f"{name}: expected a collection of series {COLLECTION_SHAPES}; got an array "
                f"of shape {arr.shape}. Reshape your data: one univariate series x is the "
                "collection x[None]."
            )
        if arr.shape[0] < 1:
            raise ArgumentError(
                f"{name}: expected at least 1 series (n_cases >= 1), got shape {arr.shape}."
            )
        data, _ = as_series(arr, name, min_timepoints=min_timepoints)
    return data


def _check_sizes(n_channels, n_timepoints, name, min_timepoints, shape=None):
    what = f" (shape {shape}, axes n_cases, n_channels, n_timepoints)" if shape is not None else ""
    if n_channels < 1:
        raise ArgumentError(
            f"{name}: expected at least one channel (n_channels >= 1), "
            f"got n_channels = {n_channels}{what}."
        )
    if n_timepoints < min_timepoints:
        raise ArgumentError(
            f"{name}: expected at least {min_timepoints} time point(s) per "
            f"series (n_timepoints >= {min_timepoints}), got {n_timepoints}{what}."
        )


def n_channels_of(data) -> int:
    """The number of channels of validated ``data``."""
    return data[0].shape[0] if isinstance(data, list) else data.shape[1]


def lengths_of(data) -> list[int]:
    """n_timepoints of each case of validated ``data``."""
    return [c.shape[1] for c in data] if isinstance(data, list) else [data.shape[2]] * data.shape[0]


def cases_by_length(data):
    """Yield ``(indices, batch)`` with ``batch`` float64 (len(indices), n_channels, n_i): the
    cases of one length together, never padded."""
    if not isinstance(data, list):
        yield np.arange(data.shape[0]), data
        return
    lengths = np.array([c.shape[1] for c in data])
    for n in np.unique(lengths):
        idx = np.nonzero(lengths == n)[0]
        yield idx, np.stack([data[i] for i in idx])


def as_grids(t, lengths: list[int], name: str = "t"):
    """``t`` → a list of 1-D float64 grids, one per case: ``t`` is one grid shared by every
    case (all of its length) or a list of grids (one per case).  Finite and 1-D checked
    here; monotonicity and origin are the caller's."""
    if (
        isinstance(t, (list, tuple))
        and len(t) == len(lengths)
        and len(t) > 0
        and all(np.ndim(e) == 1 for e in t)
        and not all(np.ndim(e) == 0 for e in t)
    ):
        grids = [
            np.asarray(_real_array(e, f"{name}[{i}]"), dtype=np.float64) for i, e in enumerate(t)
        ]
    else:
        g = np.asarray(_real_array(t, name), dtype=np.float64)
        if g.ndim != 1:
            raise ArgumentError(
                f"{name}: expected a 1-D time grid (n_timepoints,), or a list of "
                f"such grids (one per series), got shape {g.shape}."
            )
        grids = [g] * len(lengths)
    for i, (g, n) in enumerate(zip(grids, lengths)):
        label = name if len(set(map(id, grids))) == 1 else f"{name}[{i}]"
        if g.ndim != 1 or g.size != n:
            raise ArgumentError(
                f"{label}: expected one time per time point of the series "
                f"(n_timepoints = {n}), got shape {g.shape}."
            )
        if not np.all(np.isfinite(g)):
            raise ArgumentError(f"{label}: expected finite times, got NaN or infinity.")
    return grids


def zscore_cases(data):
    """Each case, each channel, z-normalised over its own time points (UCR practice):
    ``(x − mean_t x) / std_t x``; a constant channel is only centred (std taken as 1).
    Same layout as validated ``data`` (array or list)."""

    def one(x):
        sd = x.std(axis=-1, keepdims=True)
        return (x - x.mean(axis=-1, keepdims=True)) / np.where(sd > 0, sd, 1.0)

    return [one(c) for c in data] if isinstance(data, list) else one(data)
