"""The fading-memory support basis ``ψ_q(r) = e^{−λ_q (T − r)}`` and its rates.

A stable network forgets its input like ``e^{−κτ}`` in every lag τ, so its kernels are spanned
by few exponentials where monomials need many.  With readout time T and rates
``λ_0 < λ_1 < … < λ_Q`` (``λ_0 = 0`` keeps the plain integral), the level-1 components of
``X_T = ∫_0^T ψ(r) ⊗ u(r) dr`` are the states ``∫_0^T e^{−λ(T−r)} u(r) dr`` of linear
reservoirs with time constants ``1/λ_q``; higher levels are iterated integrals of products of
such exponentials.

Integration on the grid is exact for the piecewise-linear interpolant of u: on a step
``[t_j, t_{j+1}]`` of length h, with ``a = λh`` and ``s = (r − t_j)/h``,

    ∫_{t_j}^{t_{j+1}} e^{−λ(T−r)} u(r) dr = h e^{−λ(T−t_{j+1})} (w_0(a) u_j + w_1(a) u_{j+1}),
    w_0(a) = ∫_0^1 e^{−a(1−s)} (1 − s) ds = (1 − (1 + a) e^{−a}) / a²,
    w_1(a) = ∫_0^1 e^{−a(1−s)} s ds       = (a − 1 + e^{−a}) / a²,

(``w_0 = w_1 = 1/2`` at a = 0: the trapezoidal rule of the polynomial bases), so steps
much longer than a memory time ``1/λ`` lose nothing.
"""

from __future__ import annotations

import numbers

import numpy as np

from symresp.errors import ArgumentError

__all__ = ["exponential_weights", "default_rates", "correlation_time", "check_rates"]

# Below this a = λh the closed forms lose digits to cancellation (1 − (1 + a)e^{−a} ≈ a²/2);
# the Taylor series Σ_k (−a)^k / k! · c_k is used instead: 18 terms leave a^18/18! < 1e-21.
_SERIES_BELOW = 0.5
_SERIES_TERMS = 18


def exponential_weights(a) -> tuple[np.ndarray, np.ndarray]:
    """``(w_0(a), w_1(a))`` of the module docstring, elementwise for a >= 0, to round-off.

    Series for small a: ``w_0 = Σ_k (−a)^k / (k! (k + 2))``,
    ``w_1 = Σ_k (−a)^k / (k! (k + 1)(k + 2))`` (termwise integration of the exponential)."""
    a = np.asarray(a, dtype=np.float64)
    small = a < _SERIES_BELOW
    safe = np.where(small, 1.0, a)
    e = np.exp(-safe)
    w0 = (1.0 - (1.0 + safe) * e) / safe**2
    w1 = (safe - 1.0 + e) / safe**2
    if small.any():
        s0 = np.zeros_like(a)
        s1 = np.zeros_like(a)
        term = np.ones_like(a)  # (−a)^k / k!
        for k in range(_SERIES_TERMS):
            s0 += term / (k + 2)
            s1 += term / ((k + 1) * (k + 2))
            term = term * (-a) / (k + 1)
        w0 = np.where(small, s0, w0)
        w1 = np.where(small, s1, w1)
    return w0, w1


def default_rates(degree: int, T: float, tau: float | None = None) -> np.ndarray:
    """Rates ``λ_0 = 0`` and ``λ_q = 4^{q−Q} / τ`` (q = 1..Q): the fastest memory time is τ,
    each slower one four times longer.  Default ``τ = T / (2·4^{Q−1})`` (slowest memory T/2)."""
    Q = int(degree)
    if Q == 0:
        return np.zeros(1)
    if tau is None:
        tau = T / (2.0 * 4.0 ** (Q - 1))
    return np.concatenate([[0.0], 4.0 ** (np.arange(1, Q + 1) - Q) / float(tau)])


def correlation_time(series: list[np.ndarray], grids: list[np.ndarray]) -> float:
    """The data's time scale: the integrated autocorrelation time
    ``τ = Δ (1/2 + Σ_{k=1}^{K} ρ(k))``, ρ the autocorrelation of the channels averaged over
    cases and channels, summed up to its first non-positive lag K; Δ the mean time step.
    Clipped to [Δ, T/2] (at least one step, at most half the series)."""
    n = min(s.shape[1] for s in series)
    lags = max(1, n // 2)
    acf = np.zeros(lags)
    for s in series:
        c = s[:, :n] - s[:, :n].mean(axis=1, keepdims=True)
        var = (c * c).sum(axis=1)
        ok = var > 0
        if not ok.any():
            continue
        c = c[ok]
        acf += np.array([(c[:, : n - k] * c[:, k:]).sum() for k in range(lags)]) / var[ok].sum()
    dt = float(np.mean([g[-1] / (g.size - 1) for g in grids]))
    T = float(np.mean([g[-1] for g in grids]))
    if acf[0] <= 0:
        return T / 2
    rho = acf / acf[0]
    stop = np.flatnonzero(rho[1:] <= 0)
    k = stop[0] + 1 if stop.size else lags
    tau = dt * (0.5 + rho[1:k].sum())
    return float(np.clip(tau, dt, T / 2))


def check_rates(rates, degree: int) -> np.ndarray:
    """Validated rates: ``degree + 1`` finite, non-negative, distinct numbers."""
    try:
        r = np.asarray(rates, dtype=np.float64)
    except (TypeError, ValueError):
        raise ArgumentError(
            f"rates: expected {degree + 1} non-negative numbers (one per basis function "
            f"q = 0..degree), got {rates!r}."
        ) from None
    if (
        r.ndim != 1
        or r.size != degree + 1
        or not np.all(np.isfinite(r))
        or np.any(r < 0)
        or np.unique(r).size != r.size
        or isinstance(rates, numbers.Number)
    ):
        raise ArgumentError(
            f"rates: expected degree + 1 = {degree + 1} distinct finite non-negative "
            f"numbers (the rates λ_q of ψ_q(r) = exp(−λ_q (T − r))), got {rates!r}."
        )
    return r
