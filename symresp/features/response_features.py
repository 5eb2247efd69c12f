"""The response feature.

For an input ``u: [0, T] → R^m`` and a support basis ``ψ = (ψ_0, …, ψ_Q)``
the path

    X_s = ∫_0^s ψ(r) ⊗ u(r) dr ∈ R^{(Q+1)·m},   letter ℓ = q·m + k  ↔  ψ_q ⊗ u^k

(``k`` the 0-based channel) is built on the given
time grid by the trapezoidal rule and joined linearly between grid points.
Its signature (:mod:`symresp.features.signatures`, iisignature convention)
gives the iterated integrals

    I_{(q_1,k_1)…(q_n,k_n)}(t) = ∫_{t>s_1>…>s_n>0} Π_j s_j^{q_j} u^{k_j}(s_j) ds
                               = S(X)^{ℓ_n … ℓ_1}_{0,t}        (word reversed)

for the monomial basis ``ψ_q(r) = r^q``.  The **response feature** is

    R_t = { t^{q_0} · S(X)^w_{0,t} :  q_0 = 0..Q,  |w| = 0..N },   S^∅ = 1.

Layout of the feature vector (fixed, exposed by :func:`feature_index`)::

    index(q_0, w) = q_0 · n_words + position(w),
    position(∅) = 0,   position(w) = 1 + signature position of w,

i.e. for each time power q_0 the empty word first, then the words of levels
1..N, each level lexicographic in the letters ℓ.  Without time factors
(``include_time_factors=False``) only the q_0 = 0 block is present.

Discretisation error: the trapezoid increments and the piecewise-linear
interpolation each commit O(dt³) per step on smooth inputs, so every
component is accurate to O(dt²) (second order, uniform grids or not).

The shifted Legendre basis ``ψ_q(r) = P_q(2r/T − 1)`` spans the same space;
``ψ^leg = A ψ^mon`` with the exact lower-triangular matrix
:func:`basis_matrix`, and since the path is linear in ψ the signatures are
related by ``S(X^leg)_n = (A ⊗ I_m)^{⊗n} S(X^mon)_n`` (also on the grid: the
trapezoid rule is linear).  Time factors ``t^{q_0}`` are monomials in both
bases.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from math import comb

import numpy as np

from symresp.errors import ArgumentError, ArgumentTypeError
from symresp.features.fading_memory import check_rates, default_rates, exponential_weights
from symresp.features.series_input import as_grids, as_series, lengths_of, n_channels_of
from symresp.features.signatures import _signature_cases, sig_dim, word_index
from symresp.features.signatures import words as _sig_words
from symresp.validation import check_budget, check_int

__all__ = [
    "ResponseFeature",
    "response_feature",
    "response_letters",
    "feature_index",
    "integral_feature_index",
    "feature_words",
    "support_path",
    "basis_matrix",
    "features_json",
    "BASES",
]

#: Most feature values (cases × times × features) one call builds unless ``max_features``
#: says otherwise: 2·10⁸ float64 numbers are 1.6 GB.
MAX_FEATURE_VALUES = 2 * 10**8

BASES = ("monomial", "legendre", "exponential")


# ---------------------------------------------------------------------------
# bookkeeping: letters, words, indices
# ---------------------------------------------------------------------------


def response_letters(channels: int, degree: int) -> list[tuple[int, int]]:
    """The letters of the response path in array order: position
    ``ℓ = q·m + k`` holds ``(q, k)`` (q = 0..degree, k = 0..m-1 the 0-based
    channel)."""
    m = check_int(channels, "channels", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    return [(q, k) for q in range(Q + 1) for k in range(m)]


def feature_words(channels: int, level: int, degree: int) -> list[tuple[int, ...]]:
    """The words of one time-power block in feature order: the empty word,
    then the signature words (letters ℓ, 0-based) of levels 1..level."""
    m = check_int(channels, "channels", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    return [()] + _sig_words((Q + 1) * m, check_int(level, "level", minimum=1))


def _letter(letter, m: int, Q: int) -> int:
    """A letter given as (q, k) (0-based channel) or as the integer ℓ."""
    D = (Q + 1) * m
    if isinstance(letter, (tuple, list)) and len(letter) == 2:
        q, k = letter
        for name, v, top in (("q", q, Q), ("k", k, m - 1)):
            if (
                isinstance(v, (bool, np.bool_))
                or not isinstance(v, numbers.Integral)
                or not 0 <= v <= top
            ):
                raise ArgumentError(
                    f"word: letter {tuple(letter)!r} has {name} = {v!r}; expected an "
                    f"integer in 0..{top} (degree Q = {Q}, channels m = {m}, "
                    f"k is the 0-based channel)."
                )
        return int(q) * m + int(k)
    if (
        isinstance(letter, (bool, np.bool_))
        or not isinstance(letter, numbers.Integral)
        or not 0 <= letter < D
    ):
        raise ArgumentError(
            f"word: expected letters (q, k) or integers ℓ in 0..{D - 1}, got {letter!r}."
        )
    return int(letter)


def feature_index(
    word, q0: int = 0, *, channels: int, level: int, degree: int, include_time_factors: bool = True
) -> int:
    """Index of ``t^{q0} S(X)^w_{0,t}`` in the response-feature vector.

    ``word`` is in signature order (``S^{w_1…w_n}``, w_1 the earliest
    integration variable); its letters are ``(q, k)`` pairs (k the 0-based
    channel) or integers ``ℓ = q·m + k``; ``()`` is the empty word.  For
    ``I_{(q_1,k_1)…(q_n,k_n)} = ∫_{t>s_1>…>s_n>0} Π_j s_j^{q_j} u^{k_j}(s_j) ds`` use
    :func:`integral_feature_index`
    (which reverses the word).  Layout: ``q0 · n_words + position(w)``.
    """
    m = check_int(channels, "channels", minimum=1)
    N = check_int(level, "level", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    top = Q if include_time_factors else 0
    if (
        isinstance(q0, (bool, np.bool_))
        or not isinstance(q0, numbers.Integral)
        or not 0 <= q0 <= top
    ):
        raise ArgumentError(
            f"q0: expected an integer time power in 0..{top}"
            f"{'' if include_time_factors else ' (time factors excluded)'}, "
            f"got {q0!r}."
        )
    letters = [_letter(a, m, Q) for a in word]
    if len(letters) > N:
        raise ArgumentError(f"word: expected at most level = {N} letters, got {len(letters)}.")
    n_words = 1 + sig_dim((Q + 1) * m, N)
    pos = 0 if not letters else 1 + word_index(letters, (Q + 1) * m)
    return int(q0) * n_words + pos


def integral_feature_index(
    pairs, q0: int = 0, *, channels: int, level: int, degree: int, include_time_factors: bool = True
) -> int:
    """Index of ``t^{q0} I_{(q_1,k_1)…(q_n,k_n)}(t)`` (k 0-based):
    the same as :func:`feature_index` of the reversed word, since
    ``I_{(q_1,k_1)…(q_n,k_n)} = S^{ℓ_n … ℓ_1}`` (s_1 is the latest time)."""
    return feature_index(
        tuple(pairs)[::-1],
        q0,
        channels=channels,
        level=level,
        degree=degree,
        include_time_factors=include_time_factors,
    )


# ---------------------------------------------------------------------------
# the support path
# ---------------------------------------------------------------------------


def basis_matrix(degree: int, T: float) -> np.ndarray:
    """Lower-triangular ``A`` with ``ψ^leg_q(r) = Σ_j A[q, j] r^j`` for the
    shifted Legendre basis on [0, T]: ``P_q(2r/T − 1) =
    Σ_j (−1)^{q+j} C(q, j) C(q+j, j) (r/T)^j`` (exact integer coefficients
    divided by T^j)."""
    Q = check_int(degree, "degree", minimum=0)
    T = _check_T(T)
    A = np.zeros((Q + 1, Q + 1))
    for q in range(Q + 1):
        for j in range(q + 1):
            A[q, j] = (-1) ** (q + j) * comb(q, j) * comb(q + j, j) / T**j
    return A


def _check_T(T) -> float:
    if (
        isinstance(T, (bool, np.bool_))
        or not isinstance(T, numbers.Real)
        or not np.isfinite(T)
        or T <= 0
    ):
        raise ArgumentError(f"T: expected a positive finite number, got {T!r}.")
    return float(T)


def _basis_values(t: np.ndarray, degree: int, basis: str, T: float) -> np.ndarray:
    """ψ_q(t_i), shape (length, Q+1)."""
    out = np.empty((t.size, degree + 1))
    if basis == "monomial":
        out[:, 0] = 1.0
        for q in range(1, degree + 1):
            out[:, q] = out[:, q - 1] * t
    else:
        # three-term recurrence in x = 2t/T − 1: accurate, no cancellation
        x = 2.0 * t / T - 1.0
        out[:, 0] = 1.0
        if degree >= 1:
            out[:, 1] = x
        for n in range(1, degree):
            out[:, n + 1] = ((2 * n + 1) * x * out[:, n] - n * out[:, n - 1]) / (n + 1)
    return out


def _check_basis(basis) -> str:
    if not isinstance(basis, str) or basis not in BASES:
        raise ArgumentError(f"basis: expected one of {', '.join(map(repr, BASES))}, got {basis!r}.")
    return basis


def _check_grid(tt: np.ndarray, name: str = "t") -> None:
    if tt.size < 2:
        raise ArgumentError(f"{name}: expected a grid of at least 2 times, got {tt.size}.")
    if tt[0] != 0.0:
        raise ArgumentError(
            f"{name}: the grid must start at t_0 = 0 (the integrals run over "
            f"[0, t]), got t_0 = {tt[0]!r}; shift the grid."
        )
    if np.any(np.diff(tt) <= 0):
        raise ArgumentError(f"{name}: expected a strictly increasing time grid.")


def _as_input(u, t):
    """u → validated series (see :func:`symresp.features.series_input.as_series`), t → one
    grid per case.  Returns (data, grids, single)."""
    data, single = as_series(u, "u", min_timepoints=2)
    grids = as_grids(t, lengths_of(data), "t")
    for i, g in enumerate(grids):
        _check_grid(g, "t" if len(grids) == 1 or grids[0] is grids[-1] else f"t[{i}]")
    return data, grids, single


def support_path(u, t, degree: int, basis: str = "monomial", *, rates=None):
    """The path ``X_{t_i} = ∫_0^{t_i} ψ(r) ⊗ u(r) dr`` on the grid, by the trapezoidal rule,

        X_{t_i} = Σ_{j<i} (t_{j+1} − t_j)·(ψ(t_j) ⊗ u(t_j) + ψ(t_{j+1}) ⊗ u(t_{j+1}))/2,

    channel ``ℓ = q·m + k`` (``ψ_q ⊗ u^k``, k the 0-based channel), ``X_{t_0} = 0``.  For
    the fading-memory basis ``ψ_q(r) = exp(−λ_q (T − r))`` each step is integrated exactly
    for the piecewise-linear interpolant of u (:mod:`symresp.features.fading_memory`).

    Parameters
    ----------
    u : array (n_cases, m, n_timepoints), (m, n_timepoints), or a list of
        (m, n_timepoints_i) arrays
    t : array (n_timepoints,), or a list of grids (one per series)
        Strictly increasing, ``t[0] = 0``; Legendre uses ``T = t[-1]``.
    degree : int >= 0
    basis : "monomial" | "legendre" | "exponential"
    rates : optional degree + 1 rates λ_q >= 0 of the exponential basis (default λ_0 = 0,
        λ_q = 2·4^{q−1}/T)

    Returns
    -------
    array (n_cases, (Q+1)·m, n_timepoints) (a series itself; case axis dropped for a single
    series), or a list of ((Q+1)·m, n_timepoints_i) arrays for a list.
    """
    Q = check_int(degree, "degree", minimum=0)
    basis = _check_basis(basis)
    rates = _check_basis_rates(basis, rates, Q)
    data, grids, single = _as_input(u, t)
    if isinstance(data, list):
        return [_support_path(c.T[None], g, Q, basis, rates)[0].T for c, g in zip(data, grids)]
    X = _support_path(np.ascontiguousarray(data.transpose(0, 2, 1)), grids[0], Q, basis, rates)
    X = X.transpose(0, 2, 1)
    return X[0] if single else X


def _check_basis_rates(basis: str, rates, Q: int):
    """The rates of the exponential basis (validated), None for the polynomial bases."""
    if basis != "exponential":
        if rates is not None:
            raise ArgumentError(
                f"rates: only the exponential basis has rates; got rates={rates!r} with "
                f"basis={basis!r}."
            )
        return None
    return None if rates is None else check_rates(rates, Q)


def _support_path(arr: np.ndarray, tt: np.ndarray, Q: int, basis: str, rates=None) -> np.ndarray:
    """X on the grid for float64 (batch, length, m): (batch, length, (Q+1)·m)."""
    batch, length, m = arr.shape
    h = np.diff(tt)
    if basis == "exponential":
        lam = default_rates(Q, tt[-1]) if rates is None else rates
        w0, w1 = exponential_weights(h[:, None] * lam[None, :])  # (length-1, Q+1)
        decay = h[:, None] * np.exp(-lam[None, :] * (tt[-1] - tt[1:, None]))
        inc = (decay * w0)[None, :, :, None] * arr[:, :-1, None, :] + (decay * w1)[
            None, :, :, None
        ] * arr[:, 1:, None, :]
    else:
        psi = _basis_values(tt, Q, basis, tt[-1])  # (length, Q+1)
        integrand = psi[None, :, :, None] * arr[:, :, None, :]
        inc = 0.5 * h[None, :, None, None] * (integrand[:, 1:] + integrand[:, :-1])
    X = np.zeros((batch, length, (Q + 1) * m))
    np.cumsum(inc.reshape(batch, length - 1, (Q + 1) * m), axis=1, out=X[:, 1:])
    return X


# ---------------------------------------------------------------------------
# the feature
# ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ResponseFeature:
    """Response features R_t = {t^{q0} S(X)^w_{0,t}} and their labels.

    ``features[..., index]`` with ``index = q0 · len(words) + position`` where
    ``words[position]`` is a tuple of letters ℓ (``()`` the empty word) and
    ``letters[ℓ] = (q, k)`` (k the 0-based channel); ``time_powers`` lists the
    q0 of the blocks.  Shape of ``features``: (n_features,), (n_cases,
    n_features), (n_timepoints, n_features) or (n_cases, n_timepoints, n_features)
    as requested (see :func:`response_feature`).
    """

    features: np.ndarray
    letters: list
    words: list
    time_powers: tuple
    t: np.ndarray
    level: int
    degree: int
    channels: int
    basis: str
    all_times: bool
    include_time_factors: bool

    @property
    def n_features(self) -> int:
        return len(self.words) * len(self.time_powers)

    def index(self, word, q0: int = 0) -> int:
        """Position of ``t^{q0} S^w`` (word in signature order, letters (q, k)
        or ℓ); see :func:`feature_index`."""
        return feature_index(
            word,
            q0,
            channels=self.channels,
            level=self.level,
            degree=self.degree,
            include_time_factors=self.include_time_factors,
        )

    def integral_index(self, pairs, q0: int = 0) -> int:
        """Position of ``t^{q0} I_{(q_1,k_1)…(q_n,k_n)}`` (``s_1`` the latest time)."""
        return self.index(tuple(pairs)[::-1], q0)


def response_feature(
    u,
    t,
    level: int,
    degree: int,
    basis: str = "monomial",
    all_times: bool = False,
    include_time_factors: bool = True,
    max_features: int | None = None,
    *,
    rates=None,
) -> ResponseFeature:
    """Response feature ``R_t = {t^{q0} S(X)^w_{0,t}}``, ``X_s = ∫_0^s ψ(r) ⊗ u(r) dr``.

    With the monomial basis ``S(X)^{ℓ_n…ℓ_1}_{0,t} = ∫_{t>s_1>…>s_n>0} Π_j s_j^{q_j}
    u^{k_j}(s_j) ds`` for ``ℓ_j = q_j·m + k_j``: the iterated integrals that carry the
    Volterra terms.

    Parameters
    ----------
    u : array (n_cases, m, n_timepoints), (m, n_timepoints), (n_timepoints,), or a list of
        (m, n_timepoints_i) arrays
        Input samples on the grid ``t``; unequal lengths are computed each on its own grid.
    t : array (n_timepoints,), or a list of grids (one per series of a list)
        Strictly increasing grid with ``t[0] = 0``; ``T = t[-1]``.
    level : int >= 1
        Truncation level N of the signature.
    degree : int >= 0
        Degree Q of the support basis and largest time power q0.
    basis : "monomial" | "legendre" | "exponential"
        ψ_q(r) = r^q, shifted Legendre P_q(2r/T − 1), or the fading-memory basis
        exp(−λ_q (T − r)) anchored at the final time T of each series.
    all_times : bool
        Features at every grid time t_i (else at T only).
    include_time_factors : bool
        Include the blocks q0 = 1..Q (else only q0 = 0).
    max_features : int, optional
        Refuse (before any work) a feature set larger than this many numbers in all
        (n_cases × [n_timepoints ×] n_features); default :data:`MAX_FEATURE_VALUES`.
    rates : optional, exponential basis only
        degree + 1 distinct rates λ_q >= 0 (default λ_0 = 0, λ_q = 2·4^{q−1}/T).

    Returns
    -------
    ResponseFeature with ``features`` ordered as in the module docstring, shaped
    (n_cases, n_features) or with ``all_times`` (n_cases, n_timepoints, n_features); the
    case axis dropped for a single series.  For a list of unequal lengths ``features`` is
    (n_cases, n_features), or a list of (n_timepoints_i, n_features) arrays with
    ``all_times``, and ``t`` the list of grids.
    """
    N = check_int(level, "level", minimum=1)
    Q = check_int(degree, "degree", minimum=0)
    basis = _check_basis(basis)
    rates = _check_basis_rates(basis, rates, Q)
    for name, v in (("all_times", all_times), ("include_time_factors", include_time_factors)):
        if not isinstance(v, (bool, np.bool_)):
            raise ArgumentTypeError(f"{name}: expected a bool, got {v!r}.")
    data, grids, single = _as_input(u, t)
    m = n_channels_of(data)
    powers = tuple(range(Q + 1)) if include_time_factors else (0,)
    limit = (
        MAX_FEATURE_VALUES
        if max_features is None
        else check_int(max_features, "max_features", minimum=1)
    )
    n_feat = len(powers) * (1 + sig_dim((Q + 1) * m, N))
    lengths = [g.size for g in grids] if isinstance(data, list) else [grids[0].size] * len(data)
    values = sum(n_feat * (n if all_times else 1) for n in lengths)
    check_budget(
        values,
        f"response_feature (level {N}, degree {Q}, {m} channel(s): {n_feat} features per time)",
        limit=limit,
        option="max_features=",
        unit="numbers",
        nbytes=8.0 * values,
    )
    if isinstance(data, list):
        rows = [
            _features(c.T[None], g, N, Q, basis, all_times, powers, rates)[0]
            for c, g in zip(data, grids)
        ]
        feats = rows if all_times else np.stack(rows)
        tt = grids
    else:
        feats = _features(
            np.ascontiguousarray(data.transpose(0, 2, 1)),
            grids[0],
            N,
            Q,
            basis,
            all_times,
            powers,
            rates,
        )
        if single:
            feats = feats[0]
        tt = grids[0]
    return ResponseFeature(
        features=feats,
        letters=response_letters(m, Q),
        words=feature_words(m, N, Q),
        time_powers=powers,
        t=tt,
        level=N,
        degree=Q,
        channels=m,
        basis=basis,
        all_times=bool(all_times),
        include_time_factors=bool(include_time_factors),
    )


def _features(arr, tt, N, Q, basis, all_times, powers, rates=None):
    """Features of float64 (batch, length, m) on one grid: (batch, [length,] n_features)."""
    batch, length, m = arr.shape
    X = _support_path(arr, tt, Q, basis, rates)
    sig = _signature_cases(np.ascontiguousarray(X), N, bool(all_times))  # (batch, [length,] sigdim)
    block = np.concatenate([np.ones(sig.shape[:-1] + (1,)), sig], axis=-1)
    if all_times:
        scale = tt[None, :, None] ** np.array(powers)[None, None, :]  # (1, length, P)
        return (scale[..., :, None] * block[..., None, :]).reshape(batch, length, -1)
    scale = tt[-1] ** np.array(powers, dtype=np.float64)  # (P,)
    return (scale[None, :, None] * block[:, None, :]).reshape(batch, -1)


def features_json(
    u,
    t,
    level: int,
    degree: int,
    basis: str = "monomial",
    all_times: bool = False,
    include_time_factors: bool = True,
) -> dict:
    """JSON-able response feature for the CLI (``symresp features … --json``).

    Keys: ``letters`` — ``[q, k]`` with k the **1-based** channel (as in specs
    as on the command line), in letter order ℓ = q·m + (k − 1); ``words`` — the words of one
    time-power block as lists of letters ℓ (0-based positions in ``letters``),
    the empty word ``[]`` first; ``time_powers`` — the q0 of the blocks;
    ``features`` — flat list with ``features[q0_block · len(words) + i]`` =
    ``t^{q0} S^{words[i]}`` (a list of such lists per time with ``all_times``,
    and per series for batched input); plus ``t`` (the times the features
    refer to), ``level``, ``degree``, ``basis``, ``channels``, ``T``.
    """
    rf = response_feature(
        u,
        t,
        level,
        degree,
        basis=basis,
        all_times=all_times,
        include_time_factors=include_time_factors,
    )
    if isinstance(rf.t, list):
        raise ArgumentError("u: features_json takes series of one length (one grid t)")
    return {
        "letters": [[q, k + 1] for q, k in rf.letters],
        "words": [list(w) for w in rf.words],
        "time_powers": list(rf.time_powers),
        "features": np.asarray(rf.features).tolist(),
        "t": (rf.t if rf.all_times else rf.t[-1:]).tolist(),
        "level": rf.level,
        "degree": rf.degree,
        "basis": rf.basis,
        "channels": rf.channels,
        "T": float(rf.t[-1]),
    }
