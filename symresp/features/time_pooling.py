"""Fading-memory responses at every readout time, and their statistics over time.

The response feature of a fixed readout time T describes the output ``y_T`` of a network at
the end of the input.  A stable network produces an output at *every* time, and on a long
series the informative events (a motor starting, a cycle) happen anywhere: their position is
not what identifies them.  This module computes the fading-memory response at every sample
time t, with the support basis ``ψ_q(r) = e^{−λ_q (t − r)}`` moving with t,

    S_t^w = ∫_{0 < r_1 < … < r_n < t} Π_j e^{−λ_{q_j} (t − r_j)} u_{k_j}(r_j) dr_j,

for words ``w = ℓ_1 … ℓ_n`` of letters ``ℓ = q·m + k`` (rate q, channel k, counted from 0;
the signature convention of the response feature: ℓ_1 is the earliest time).  Differentiating
in t gives the linear recursion of a bank of stable linear reservoirs and their products,

    dS^w/dt = −Λ_w S^w + S^{w'}(t) u_{k_n}(t),   Λ_w = Σ_j λ_{q_j},   w' = ℓ_1 … ℓ_{n−1},  S^∅ = 1,

integrated over a step of length h with ``g = S^{w'} u_{k_n}`` linear in between:
``S(t_{j+1}) = e^{−Λh} S(t_j) + h (w_0(Λh) g_j + w_1(Λh) g_{j+1})`` (the weights of
:mod:`symresp.features.fading_memory`; exact at level 1 for piecewise-linear input, so
``S_T`` equals the level-1 exponential-basis response feature at T; second order in h above).

*Directions.*  Each running component is one direction x(t); so are the band-pass responses
``D_{q,k} = E_{q−1,k} − E_{q,k}`` of the unit-gain smoothings ``E_{q,k} = λ_q S^{(q,k)}``
(rates sorted fastest first, ``E_{−1,k} = u_k`` itself: ``D_0`` is the high-pass ``u − E_0``).
They are linear in the level-1 components, but a threshold (below) is not.

*Pooling.*  For each direction, its integral over time and the times spent above levels
``b_1 < … < b_B`` (``n_thresholds``; the training quantiles i/(B + 1) of x over cases and
times):

    x̄ = ∫_0^T x(t) dt,      P_b = ∫_0^T 1[x(t) > b] dt

(trapezoidal weights of the samples).  On the time axis [0, 1] (``normalize_time``, the
estimators' default) these are the time average and the fraction of time above b; in sample
time they are totals, so the duration of a series stays a feature, as it is for the
final-time response in sample time (for series of one length the two differ by a constant
factor, which standardisation removes).  ``P_b`` integrates the thresholded output
``1[⟨a, R_t⟩ > b]`` of a readout ``a``: the "proportion of positive values" that makes the
random convolutions of ROCKET / MiniRocket (Dempster et al., 2020, 2021) work, here on the
responses of fading-memory reservoirs.  A linear readout of these features reads the whole
output trajectory of the network, and is translation-invariant in time up to the start-up transient.

*Windows.*  With pooling ``windows`` (w equal parts of [0, T] for each w; 1 = the whole
series) both statistics are also taken over each window ``[kT/w, (k+1)T/w]``, the responses
running on through the whole series (no restart at a window): they say when in the series the
output was high.  The window integrals are exact for the piecewise-linear interpolant of the
samples, each step split where a window ends, so the windows of one count add up to the whole.
"""

from __future__ import annotations

import numpy as np

from symresp.errors import ArgumentError
from symresp.features.fading_memory import exponential_weights
from symresp.features.feature_matrix import _augment, _grids, cases_by_grid, check_windows
from symresp.features.series_input import as_collection, lengths_of
from symresp.features.signatures import words as signature_words
from symresp.validation import check_int

__all__ = [
    "check_positive_rates",
    "running_response",
    "pooled_rates",
    "n_pooled_features",
    "pooled_directions",
    "fit_thresholds",
    "pool_over_time",
    "pooled_feature_matrix",
    "collection_thresholds",
]

# A chunk of cases holds at most this many running values (floats) at once (~80 MB).
_CHUNK_FLOATS = 10_000_000
# Thresholds are quantiles of at most this many samples per direction (every s-th time).
_QUANTILE_SAMPLES = 20_000


def n_pooled_features(channels: int, level: int, n_rates: int, n_thresholds: int, windows=1) -> int:
    """Columns of the pooled feature: (words of levels 1..N + band-pass directions) × (B + 1)
    × the number of pooling windows (Σ w over ``windows``)."""
    return (
        _n_directions(channels, n_rates, level) * (n_thresholds + 1) * sum(check_windows(windows))
    )


def pooled_rates(degree: int, dt: float, T: float) -> np.ndarray:
    """``degree + 1`` rates ``λ_q = 1/μ_q``, memories μ geometric from one time step dt to a
    quarter of the duration T (at least 2·dt), slowest first (λ_0 < … < λ_Q)."""
    Q = check_int(degree, "degree", minimum=0)
    hi = max(T / 4.0, 2.0 * dt)
    if Q == 0:
        return np.array([1.0 / hi])
    mem = dt * (hi / dt) ** (np.arange(Q + 1) / Q)
    return np.sort(1.0 / mem)


def check_positive_rates(rates, degree: int | None = None) -> np.ndarray:
    """Validated rates of the running response: positive, finite, distinct (degree + 1 of
    them when a degree is given)."""
    try:
        r = np.asarray(rates, dtype=np.float64)
    except (TypeError, ValueError):
        r = np.zeros(0)
    n_ok = degree is None or r.size == degree + 1
    if r.ndim != 1 or not n_ok or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ArgumentError(
            f"rates: pooling over time needs "
            f"{'degree + 1 = ' + str(degree + 1) + ' ' if degree is not None else ''}"
            f"positive finite rates λ_q (memories 1/λ_q; a zero rate is a growing "
            f"integral, not a fading memory), got {rates!r}."
        )
    if np.unique(r).size != r.size:
        raise ArgumentError(f"rates: expected distinct rates, got {rates!r}.")
    return r


def running_response(X, t=None, *, rates, level: int = 1):
    """The fading-memory response ``S_t^w`` (module docstring) at every sample time.

    Parameters
    ----------
    X : series array (n_cases, n_channels, n_timepoints), (n_cases, n_timepoints), or a list
        of (n_channels, n_timepoints_i) arrays
    t : optional grid (shared, or one per case); default 0, 1, …; shifted to start at 0
    rates : positive rates λ_q (memories 1/λ_q)
    level : int >= 1, the largest word length N

    Returns
    -------
    (n_cases, n_timepoints, n_words), or for unequal lengths a list of
    (n_timepoints_i, n_words) arrays: words of levels 1..N in order, lexicographic in the
    letters ``ℓ = q·m + k`` (rate q, channel k) within each level.
    """
    data = as_collection(X)
    grids = [g - g[0] for g in _grids(t, lengths_of(data))]
    cases = data if isinstance(data, list) else list(data)
    out = [None] * len(cases)
    for u, tt, idx in _grid_groups(cases, grids, ()):
        R = _running(u, tt, rates, level)
        for j, i in enumerate(idx):
            out[i] = R[:, j]
    return out if isinstance(data, list) else np.stack(out)


def _running(u: np.ndarray, tt: np.ndarray, rates, level: int) -> np.ndarray:
    """:func:`running_response` of a batch on one grid: u (batch, n_times, m), tt (n_times,)
    → (n_times, batch, n_words)."""
    return np.concatenate([R for _, R in _running_blocks(u, tt, rates, level)], axis=0)


def _running_blocks(u: np.ndarray, tt: np.ndarray, rates, level: int):
    """Yield ``(j0, R)``: the running response at times j0, j0 + 1, … in blocks of at most
    ``_CHUNK_FLOATS`` values (n_rows, batch, n_words), the recursion's state carried over."""
    u = np.asarray(u, dtype=np.float64)
    tt = np.asarray(tt, dtype=np.float64)
    lam = check_positive_rates(rates)
    level = check_int(level, "level", minimum=1)
    batch, L, m = u.shape
    n_letters = lam.size * m
    words = signature_words(n_letters, level)
    index = {w: i for i, w in enumerate(words)}
    Lam = np.array([lam[[c // m for c in w]].sum() for w in words])
    channel = np.array([w[-1] % m for w in words])
    parent = np.array([index[w[:-1]] if len(w) > 1 else -1 for w in words])
    starts = np.cumsum([0] + [n_letters**n for n in range(1, level + 1)])
    levels = [slice(starts[i], starts[i + 1]) for i in range(level)]
    U = np.ascontiguousarray(u.transpose(1, 0, 2))  # (n_times, batch, m)

    def products(S, j, sl):
        # g = S^{w'} u_{k_n} at time j for the words in slice sl (level 1: S^∅ = 1)
        if sl.start == 0:
            return U[j][:, channel[sl]]
        return S[:, parent[sl]] * U[j][:, channel[sl]]

    S = np.zeros((batch, len(words)))
    g_prev = np.concatenate([products(S, 0, sl) for sl in levels], axis=1)
    rows = max(1, _CHUNK_FLOATS // (batch * len(words)))
    for j0 in range(0, L, rows):
        out = np.empty((min(rows, L - j0), batch, len(words)))
        for j in range(j0, j0 + out.shape[0]):
            if j > 0:
                h = tt[j] - tt[j - 1]
                a = Lam * h
                w0, w1 = exponential_weights(a)
                S = np.exp(-a) * S + (h * w0) * g_prev
                g_new = np.empty_like(g_prev)
                for sl in levels:  # parents (one level down) are final before their children
                    g_new[:, sl] = products(S, j, sl)
                    S[:, sl] += (h * w1[sl]) * g_new[:, sl]
                g_prev = g_new
            out[j - j0] = S
        yield j0, out


def _direction_blocks(u: np.ndarray, tt: np.ndarray, rates, level: int):
    """Yield ``(j0, X)``: the directions x(t) of the module docstring in time blocks,
    (n_rows, batch, n_directions): the running words, then the band-pass responses
    ``E_a − E_b`` for every pair a < b of (input, smoothings fastest first), per channel."""
    lam = check_positive_rates(rates)
    m = u.shape[2]
    order = np.argsort(-lam)  # fastest first
    a, b = np.triu_indices(lam.size + 1, k=1)
    for j0, R in _running_blocks(u, tt, lam, level):
        rows, batch, _ = R.shape
        E = R[:, :, : lam.size * m].reshape(rows, batch, lam.size, m)[:, :, order]
        E = E * lam[order][None, None, :, None]
        here = np.moveaxis(u[:, j0 : j0 + rows], 1, 0)[:, :, None, :]
        ext = np.concatenate([here, E], axis=2)
        yield j0, np.concatenate([R, (ext[:, :, a] - ext[:, :, b]).reshape(rows, batch, -1)], 2)


def pooled_directions(u: np.ndarray, tt: np.ndarray, rates, level: int) -> np.ndarray:
    """All the directions of a batch on one grid, (n_times, batch, n_directions)."""
    return np.concatenate([X for _, X in _direction_blocks(u, tt, rates, level)], axis=0)


def _n_directions(m: int, n_rates: int, level: int) -> int:
    letters = m * n_rates
    return sum(letters**n for n in range(1, level + 1)) + m * n_rates * (n_rates + 1) // 2


def _case_slices(batch: int, per_case: int):
    """Slices of cases small enough that 64 time rows of them fit in ``_CHUNK_FLOATS``."""
    size = max(1, _CHUNK_FLOATS // (64 * max(1, per_case)))
    return [slice(i, min(i + size, batch)) for i in range(0, batch, size)]


def _time_weights(tt: np.ndarray, windows=1) -> np.ndarray:
    """Weights of the samples for the integral over each pooling window, (Σ w, n_times):
    ``∫_{kT/w}^{(k+1)T/w} x dt ≈ Σ_j W_{kj} x(t_j)``, exact for the piecewise-linear
    interpolant of the samples (each step split where a window ends), so the windows of one
    count add up to the trapezoidal rule over [0, T]."""
    tt = np.asarray(tt, dtype=np.float64)
    T = tt[-1]
    h = np.diff(tt)
    rows = []
    for w in check_windows(windows):
        for k in range(w):
            a, b = T * k / w, T * (k + 1) / w
            lo, hi = np.clip(tt[:-1], a, b), np.clip(tt[1:], a, b)
            mid = np.divide((lo + hi) / 2 - tt[:-1], h, out=np.zeros_like(h), where=h > 0)
            row = np.zeros(tt.size)
            row[:-1] += (hi - lo) * (1 - mid)
            row[1:] += (hi - lo) * mid
            rows.append(row)
    return np.array(rows)


def fit_thresholds(batches, rates, level: int, n_thresholds: int) -> np.ndarray:
    """Levels ``b_i`` = the i/(B + 1) quantiles, i = 1..B, of each direction over the
    training cases and times: (n_directions, B).  ``batches`` is a list of (u, tt) pairs as
    for :func:`pooled_directions`.  Quantiles of every s-th time point (at most
    20 000 samples per direction, deterministic), which fixes the levels to a rank of
    about 1/20 000 of the distribution."""
    B = check_int(n_thresholds, "n_thresholds", minimum=1)
    total = sum(u.shape[0] * u.shape[1] for u, _ in batches)
    step = max(1, -(-total // _QUANTILE_SAMPLES))
    samples = []
    lam = check_positive_rates(rates)
    for u, tt in batches:
        for cases in _case_slices(u.shape[0], _n_directions(u.shape[2], lam.size, level)):
            for j0, X in _direction_blocks(u[cases], tt, lam, level):
                keep = np.arange((-j0) % step, X.shape[0], step)  # global times ≡ 0 mod step
                samples.append(X[keep].reshape(-1, X.shape[2]))
    values = np.concatenate(samples, axis=0)
    qs = np.arange(1, B + 1) / (B + 1)
    return np.quantile(values, qs, axis=0).T.copy()


def pool_over_time(
    u: np.ndarray, tt: np.ndarray, rates, level: int, thresholds, windows=1
) -> np.ndarray:
    """The pooled feature of a batch on one grid: (batch, Σw · n_directions · (B + 1)); for
    each pooling window (``windows``: w equal parts of [0, T] for each w, 1 = the whole
    series; the responses run on through all of them) and each direction, its integral over
    the window then ``P_{b_1} … P_{b_B}`` there (module docstring)."""
    thr = np.asarray(thresholds, dtype=np.float64)
    W = _time_weights(tt, windows)
    rows = []
    for cases in _case_slices(u.shape[0], thr.shape[0] * W.shape[0]):
        block = None
        for j0, X in _direction_blocks(u[cases], tt, rates, level):
            if X.shape[2] != thr.shape[0]:
                raise ArgumentError(
                    f"thresholds: expected one row per direction ({X.shape[2]}), got "
                    f"{thr.shape[0]}."
                )
            if block is None:
                block = np.zeros((X.shape[1], W.shape[0], X.shape[2], thr.shape[1] + 1))
            Wj = W[:, j0 : j0 + X.shape[0]]
            block[..., 0] += np.einsum("st,tcd->csd", Wj, X)
            for i in range(thr.shape[1]):
                above = (X > thr[None, None, :, i]).astype(np.float64)
                block[..., i + 1] += np.einsum("st,tcd->csd", Wj, above)
        rows.append(block.reshape(block.shape[0], -1))
    return np.concatenate(rows, axis=0)


def _grid_groups(cases, grids, augmentations):
    """(u (batch, n_times, m'), tt, case indices) for the cases sharing a grid, augmented."""
    for idx in cases_by_grid(cases, grids):
        tt = grids[idx[0]]
        u = np.stack([cases[i].T for i in idx])
        yield np.ascontiguousarray(_augment(u, tt, augmentations)), tt, idx


def pooled_feature_matrix(cases, grids, *, rates, level, augmentations, thresholds, windows=1):
    """Pooled features of a collection (a list of (m, n_times_i) cases, each on its grid
    starting at 0) with the given thresholds (:func:`collection_thresholds` of the training
    cases) over the pooling ``windows``: (n_cases, n_features)."""
    F = None
    for u, tt, idx in _grid_groups(cases, grids, augmentations):
        block = pool_over_time(u, tt, rates, level, thresholds, windows)
        if F is None:
            F = np.empty((len(cases), block.shape[1]))
        F[idx] = block
    return F


def collection_thresholds(cases, grids, *, rates, level, augmentations, n_thresholds):
    """:func:`fit_thresholds` over a collection (as for :func:`pooled_feature_matrix`)."""
    batches = [(u, tt) for u, tt, _ in _grid_groups(cases, grids, augmentations)]
    return fit_thresholds(batches, rates, level, n_thresholds)
