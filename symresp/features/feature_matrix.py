"""Response features of a collection of series as one matrix, with the options of signature
methods: augmentations, multi-scale windows, the fading-memory basis, component weights.

One row per case: ``R_T = {T^{q0} S(X)^w_{0,T}}`` of the support path
``X_s = ∫_0^s ψ(r) ⊗ ũ(r) dr`` of the (augmented) input ũ, concatenated over windows.

Augmentations (applied to each series on its own grid, in this order):

* ``"time"``: a constant channel 1, so X gains the coordinates ``∫_0^s ψ_q(r) dr`` (for
  ψ_0 = 1 the time s itself, the classical time augmentation);
* ``"cumsum"``: the running integrals ``U_k(t) = ∫_0^t u_k dr`` (trapezoidal) as channels:
  the iterated integrals of the cumulative sum, slow trends;
* ``"leadlag"``: the quadratic variation of each channel.  The lead-lag path of u has, over
  a step, the Lévy area ½ (Δu_k)² between the lead and the lag of channel k; its density
  ``(Δu_k)² / Δt`` (on a sample: that of the step ending there, the first step's at t_0) is
  added as a channel, so X gains the fading-memory integrals ``∫ψ_q d[u_k]`` of the
  quadratic variation — the energy of fast fluctuations that the integrals of u average out;
* ``"basepoint"``: the raw input path ``u`` itself, started from the basepoint 0 (one extra
  point with every coordinate 0 before the first sample), as extra coordinates of the
  signature path: its letters are du^k, so the feature also holds the classical signature
  of the data, sensitive to the initial level ``u(t_0)`` through the jump from 0.

Windows ``(1, 2, 4)``: the whole series, its halves and its quarters (consecutive windows
sharing their boundary sample), each on its own grid re-based to 0 (and rescaled to [0, 1]
with ``normalize_time``), the rows concatenated: the multi-scale features of the generalised
signature method.
"""

from __future__ import annotations

import numbers

import numpy as np

from symresp.errors import ArgumentError
from symresp.features.fading_memory import check_rates
from symresp.features.response_features import BASES, _support_path, feature_words
from symresp.features.series_input import as_collection, as_grids, lengths_of, n_channels_of
from symresp.features.signatures import _signature_cases, sig_dim
from symresp.validation import check_bool, check_int

__all__ = [
    "AUGMENTATIONS",
    "response_feature_matrix",
    "n_response_features",
    "component_weights",
    "gram_matrix",
]

AUGMENTATIONS = ("time", "cumsum", "leadlag", "basepoint")


def check_augmentations(augmentations) -> tuple[str, ...]:
    """A tuple of distinct names from :data:`AUGMENTATIONS` (a single name is one)."""
    if augmentations is None:
        return ()
    aug = (augmentations,) if isinstance(augmentations, str) else tuple(augmentations)
    bad = [a for a in aug if not isinstance(a, str) or a not in AUGMENTATIONS]
    if bad or len(set(aug)) != len(aug):
        raise ArgumentError(
            f"augmentations: expected distinct names from {AUGMENTATIONS}, got {augmentations!r}."
        )
    return tuple(a for a in AUGMENTATIONS if a in aug)


def check_windows(windows) -> tuple[int, ...]:
    """Window counts: a positive integer or a sequence of distinct ones (1 = whole series)."""
    ws = (windows,) if isinstance(windows, numbers.Integral) else tuple(np.ravel(windows))
    out = tuple(check_int(w, "windows", minimum=1) for w in ws)
    if not out or len(set(out)) != len(out):
        raise ArgumentError(
            f"windows: expected a positive integer or distinct positive integers (numbers of "
            f"equal windows, 1 = the whole series), got {windows!r}."
        )
    return out


def _letter_degrees(m: int, degree: int, augmentations: tuple[str, ...]) -> np.ndarray:
    """Polynomial degree q of every letter of the (augmented) path, in path-channel order."""
    width = _augmented_channels(m, augmentations)
    q = np.repeat(np.arange(degree + 1), width)
    raw = m if "basepoint" in augmentations else 0
    return np.concatenate([q, np.zeros(raw, dtype=np.int64)])


def _augmented_channels(m: int, augmentations) -> int:
    return (
        m
        + ("time" in augmentations)
        + m * ("cumsum" in augmentations)
        + m * ("leadlag" in augmentations)
    )


def n_response_features(
    channels: int, *, level: int, degree: int, augmentations=(), windows=1, time_blocks: int = 1
) -> int:
    """Columns of :func:`response_feature_matrix`: per window and time block the empty word
    plus ``sig_dim(D, level)`` words, D the number of path coordinates."""
    aug = check_augmentations(augmentations)
    D = len(_letter_degrees(channels, degree, aug))
    return len(check_windows(windows)) * time_blocks * (1 + sig_dim(D, level))


def _augment(u: np.ndarray, tt: np.ndarray, augmentations) -> np.ndarray:
    """(batch, length, m) → (batch, length, m') with the channel augmentations."""
    parts = [u]
    if "time" in augmentations:
        parts.append(np.ones(u.shape[:2] + (1,)))
    if "cumsum" in augmentations:
        U = np.zeros_like(u)
        h = np.diff(tt)[None, :, None]
        np.cumsum(0.5 * h * (u[:, 1:] + u[:, :-1]), axis=1, out=U[:, 1:])
        parts.append(U)
    if "leadlag" in augmentations:
        rate = np.diff(u, axis=1) ** 2 / np.diff(tt)[None, :, None]
        parts.append(np.concatenate([rate[:, :1], rate], axis=1))
    return np.concatenate(parts, axis=2) if len(parts) > 1 else u


def _window_features(u, tt, *, level, degree, basis, rates, augmentations, with_time):
    """Rows of one batch on one grid (starting at 0): (batch, n_features of one window)."""
    X = _support_path(
        np.ascontiguousarray(_augment(u, tt, augmentations)), tt, degree, basis, rates
    )
    if "basepoint" in augmentations:
        X = np.concatenate([X, u], axis=2)
        X = np.concatenate([np.zeros_like(X[:, :1]), X], axis=1)
    sig = _signature_cases(np.ascontiguousarray(X), level, False)
    block = np.concatenate([np.ones((sig.shape[0], 1)), sig], axis=1)
    if with_time:
        powers = tt[-1] ** np.arange(degree + 1, dtype=np.float64)
        block = (powers[None, :, None] * block[:, None, :]).reshape(block.shape[0], -1)
    return block


def _grids(t, lengths):
    """One validated, strictly increasing grid per case (default 0, 1, …)."""
    if t is None:
        return [np.arange(n, dtype=np.float64) for n in lengths]
    grids = as_grids(t, lengths, "t")
    for g in grids:
        if np.any(np.diff(g) <= 0):
            raise ArgumentError("t: expected finite, strictly increasing times.")
    return grids


def cases_by_grid(cases, grids) -> list[list[int]]:
    """Indices of the cases sharing a length and a grid, one list per grid (first-seen
    order), so that each group is computed as one batch."""
    groups: dict = {}
    for i, (c, g) in enumerate(zip(cases, grids)):
        groups.setdefault((c.shape[1], g.tobytes()), []).append(i)
    return list(groups.values())


def response_feature_matrix(
    X,
    t=None,
    *,
    level: int = 3,
    degree: int = 1,
    basis: str = "legendre",
    rates=None,
    augmentations=(),
    windows=1,
    normalize_time: bool = True,
    include_time_factors: bool = False,
) -> np.ndarray:
    """Response features of each series of a collection, one row per case.

    Parameters
    ----------
    X : array (n_cases, n_channels, n_timepoints), (n_cases, n_timepoints), or a list of
        (n_channels, n_timepoints_i) arrays (each series on its own grid, never padded)
    t : optional grid (n_timepoints,) shared by the cases, or a list of grids
        Default 0, 1, …; every window's grid is shifted to start at 0 and, with
        ``normalize_time``, rescaled to [0, 1] (series of different durations comparable).
    level, degree, basis : the signature level N, support degree Q and basis
        ('monomial', 'legendre' or 'exponential').
    rates : exponential basis only: degree + 1 rates λ_q on the (normalised) time axis;
        None: λ_0 = 0, λ_q = 2·4^{q−1}/T.
    augmentations, windows : see the module docstring.
    include_time_factors : bool
        At a final time shared by all series the time factors ``T^{q0}`` are constants,
        so by default only the q0 = 0 block is returned.

    Returns
    -------
    array (n_cases, n_features): for each window count w in ``windows`` and each of the w
    windows, the block ``[1, S(X)^w …]`` of :func:`symresp.features.response_feature`.
    """
    level = check_int(level, "level", minimum=1)
    degree = check_int(degree, "degree", minimum=0)
    if not isinstance(basis, str) or basis not in BASES:
        raise ArgumentError(f"basis: expected one of {BASES}, got {basis!r}.")
    if rates is not None:
        if basis != "exponential":
            raise ArgumentError(f"rates: only the exponential basis has rates, got {basis!r}.")
        rates = check_rates(rates, degree)
    aug = check_augmentations(augmentations)
    wins = check_windows(windows)
    normalize = check_bool(normalize_time, "normalize_time")
    with_time = check_bool(include_time_factors, "include_time_factors")
    data = as_collection(X)
    lengths = lengths_of(data)
    grids = _grids(t, lengths)
    for w in wins:
        if min(lengths) < w + 1:
            raise ArgumentError(
                f"windows: {w} windows need series of at least {w + 1} time points, the "
                f"shortest has {min(lengths)}."
            )
    kw = dict(level=level, degree=degree, basis=basis, rates=rates, augmentations=aug)
    cases = data if isinstance(data, list) else list(data)
    # one numba call per (window, length, grid): cases sharing a grid are batched
    groups = cases_by_grid(cases, grids)
    blocks = []
    for w in wins:
        for j in range(w):
            out = None
            for idx in groups:
                n = lengths[idx[0]]
                cut = np.linspace(0, n - 1, w + 1).round().astype(int)
                a, b = cut[j], cut[j + 1] + 1
                g = grids[idx[0]][a:b]
                g = g - g[0]
                if normalize:
                    g = g / g[-1]
                u = np.ascontiguousarray(np.stack([cases[i][:, a:b].T for i in idx]))
                block = _window_features(u, g, with_time=with_time, **kw)
                if out is None:
                    out = np.empty((len(cases), block.shape[1]))
                out[idx] = block
            blocks.append(out)
    return np.concatenate(blocks, axis=1)


def _weights_param(value, name: str, length: int, what: str):
    if value is None:
        return np.ones(length)
    try:
        w = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"{name}: expected None or a sequence of {length} non-negative "
            f"numbers ({what}), got {value!r}."
        ) from None
    if w.ndim != 1 or w.size != length:
        raise ArgumentError(
            f"{name}: expected None or a sequence of {length} non-negative "
            f"numbers ({what}), got shape {w.shape}."
        )
    if not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ArgumentError(f"{name}: expected finite non-negative weights, got {w.tolist()}.")
    return w


def component_weights(
    channels: int,
    level: int,
    degree: int,
    level_weights=None,
    degree_weights=None,
    include_time_factors: bool = False,
    *,
    augmentations=(),
    windows=1,
) -> np.ndarray:
    """λ_c = level_weights[|w|] · degree_weights[q0 + Σ_j q_{w_j}] for every
    feature component in the order of :func:`response_feature_matrix`.  ``level_weights``
    has level + 1 entries (index 0: the empty word); ``degree_weights`` has
    Q·(level + 1) + 1 entries (total degrees 0..Q(N+1)); letters of the raw path
    (``"basepoint"``) have degree 0.  None: all ones."""
    m = check_int(channels, "channels", minimum=1)
    N = check_int(level, "level", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    lw = _weights_param(level_weights, "level_weights", N + 1, "levels 0..level")
    dw = _weights_param(
        degree_weights, "degree_weights", Q * (N + 1) + 1, "total degrees 0..degree*(level+1)"
    )
    letter_q = _letter_degrees(m, Q, check_augmentations(augmentations))
    ws = feature_words(len(letter_q), N, 0)
    lev = np.array([len(w) for w in ws])
    deg = np.array([int(letter_q[list(w)].sum()) if w else 0 for w in ws])
    powers = range(Q + 1) if include_time_factors else (0,)
    one = np.concatenate([lw[lev] * dw[deg + q0] for q0 in powers])
    return np.tile(one, sum(check_windows(windows)))


def gram_matrix(
    X,
    Y=None,
    *,
    t=None,
    t_Y=None,
    level_weights=None,
    degree_weights=None,
    **feature_options,
) -> np.ndarray:
    """Gram matrix ``K[i, j] = ⟨R(X_i), R(Y_j)⟩_λ = Σ_c λ_c R_c(X_i) R_c(Y_j)``
    of raw (unstandardised) response features (options of :func:`response_feature_matrix`).
    Y defaults to X.  Shape (n_cases of X, n_cases of Y)."""
    X = as_collection(X)
    m = n_channels_of(X)
    if Y is not None:
        Y = as_collection(Y, "Y")
        if n_channels_of(Y) != m:
            raise ArgumentError(
                f"Y: expected {m} channels (axis n_channels) like X, got {n_channels_of(Y)}."
            )
    F = response_feature_matrix(X, t, **feature_options)
    G = F if Y is None else response_feature_matrix(Y, t_Y, **feature_options)
    opts = {
        k: feature_options[k]
        for k in ("augmentations", "windows", "include_time_factors")
        if k in feature_options
    }
    lam = component_weights(
        m,
        feature_options.get("level", 3),
        feature_options.get("degree", 1),
        level_weights,
        degree_weights,
        **opts,
    )
    return (F * lam) @ G.T
