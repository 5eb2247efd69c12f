"""Volterra terms of the output for a given input (THEORY §3.1).

    E[f(h_t)] = V_0(t) + Σ_{n≥1} εⁿ V_n[u](t),
    V_n[u](t) = ∫_{t>s_1>…>s_n>0} Σ_k K⁽ⁿ⁾_k(t; s) u^{k_1}(s_1)⋯u^{k_n}(s_n) ds.

This module evaluates V_n by brute-force quadrature on the ordered simplex:
the collapsed map s_1 = t x_1, s_j = s_{j−1} x_j (x ∈ [0,1]ⁿ, Jacobian
t·s_1⋯s_{n−1}) with a Gauss–Legendre rule in each x_j.  Cost per output time is
qⁿ kernel evaluations; accurate for smooth inputs and kernels.
"""
from __future__ import annotations

import itertools

import numpy as np

__all__ = ["volterra_quadrature", "simplex_rule"]


def simplex_rule(t: float, n: int, q: int):
    """Nodes s (qⁿ × n, s_1 > … > s_n) and weights of a rule for ∫_{t>s_1>…>s_n>0} ds."""
    x, w = np.polynomial.legendre.leggauss(q)
    x, w = (x + 1) / 2, w / 2
    X = np.array(list(itertools.product(x, repeat=n)))
    Wt = np.prod(np.array(list(itertools.product(w, repeat=n))), axis=1)
    S = np.empty_like(X)
    prev = np.full(X.shape[0], float(t))
    jac = np.ones(X.shape[0])
    for j in range(n):
        jac = jac * prev
        S[:, j] = prev * X[:, j]
        prev = S[:, j]
    return S, Wt * jac


def lags_from_times(t: float, S: np.ndarray, start: str) -> np.ndarray:
    """Lags (τ_1..τ_n) = (t − s_1, s_1 − s_2, …), plus s_n at a point start."""
    prev = np.concatenate([np.full((S.shape[0], 1), t), S[:, :-1]], axis=1)
    lags = prev - S
    if start == "point":
        lags = np.concatenate([lags, S[:, -1:]], axis=1)
    return lags


def volterra_quadrature(kernels: dict, u, t_grid, order: int, m: int, start: str,
                        q: int = 16, progress=None) -> np.ndarray:
    """V_n[u](t) for n = 1..order at every t of ``t_grid``.

    Parameters
    ----------
    kernels : {(n, index): K} with 0-based channel tuples; K(lags) → (..., p).
        Missing entries count as zero kernels.
    u : callable mapping an array of times (L,) to input values (L, m).
    start : "stationary" or "point" (decides the lag tuple, THEORY §3.1).
    q : Gauss–Legendre nodes per simplex dimension.

    Returns an array shaped (order, len(t_grid), p).
    """
    t_grid = np.asarray(t_grid, float)
    some = next(iter(kernels.values()))
    p = np.asarray(some(np.zeros((1, some_nlags(some))))).shape[-1]
    out = np.zeros((order, len(t_grid), p))
    for n in range(1, order + 1):
        for it, t in enumerate(t_grid):
            if t <= 0:
                continue
            S, w = simplex_rule(t, n, q)
            lags = lags_from_times(t, S, start)
            U = np.stack([np.asarray(u(S[:, j]), float).reshape(len(S), m) for j in range(n)], axis=1)
            for index in itertools.product(range(m), repeat=n):
                K = kernels.get((n, index))
                if K is None:
                    continue
                uprod = np.prod(U[:, np.arange(n), list(index)], axis=1)
                out[n - 1, it] += (w * uprod) @ np.asarray(K(lags), float).reshape(len(S), p)
            if progress is not None:
                progress.update(1)
    return out


def some_nlags(K) -> int:
    """Number of lag arguments a kernel object takes."""
    for attr in ("nlags",):
        if hasattr(K, attr):
            return int(getattr(K, attr))
    raise TypeError("kernel objects must expose nlags")


def predict(net, u, eps: float, t_grid, order: int, *, method: str = "taylor", taylor: int = 6,
            samples=None, q: int = 16, quiet: bool = True) -> dict:
    """The truncated series V_0(t) + Σ_{n≤N} εⁿ V_n[u](t) on ``t_grid`` (THEORY §3.1).

    ``method`` "taylor" uses the short-time kernels of THEORY §5 (trusted inside their
    radius), "exact" the exact kernels of the linear network (THEORY §4.1).
    Returns {"t", "mean" (len(t) × p), "terms" (order × len(t) × p), "V0"}.
    """
    from .kernels import derive, taylor_kernel, stationary_mean

    t_grid = np.asarray(t_grid, float)
    start = net.start
    der = derive(net, order, taylor if method == "taylor" else 0)
    kernels = {}
    for n in range(1, order + 1):
        for index in itertools.product(range(net.m), repeat=n):
            if method == "taylor":
                kernels[(n, index)] = _quiet(taylor_kernel(der, n, index, samples=samples))
            elif method == "exact":
                from .exact import exact_kernel
                kernels[(n, index)] = exact_kernel(net, n, index)
            else:
                raise ValueError(f"method: expected 'taylor' or 'exact', got {method!r}")
    if start == "stationary":
        v0 = np.broadcast_to(stationary_mean(der, samples)[0], (len(t_grid), net.p))
    elif method == "exact":
        from .exact import exact_mean
        v0 = np.asarray(exact_mean(net, t_grid), float).reshape(len(t_grid), net.p)
    else:
        # V_0(t) = Σ_p t^p/p! (𝓛₀^p f)(h_0)
        from math import factorial
        from .kernels import _expect
        obs = sorted((p, g) for (k, p), g in der.observables.items() if k == ())
        vals, _ = _expect(der, [g for _, gs in obs for g in gs])
        coeff = vals.reshape(len(obs), net.p)
        v0 = sum(coeff[i] * t_grid[:, None] ** p[0] / factorial(p[0]) for i, (p, _) in enumerate(obs))
    bar = None
    if not quiet:
        from tqdm import tqdm
        bar = tqdm(total=order * len(t_grid), desc="Volterra quadrature", leave=False, delay=2)
    terms = volterra_quadrature(kernels, u, t_grid, order, net.m, start, q=q, progress=bar)
    if bar is not None:
        bar.close()
    eps_pow = eps ** np.arange(1, order + 1)
    mean = v0 + np.tensordot(eps_pow, terms, axes=(0, 0))
    return {"t": t_grid, "mean": mean, "terms": terms, "V0": np.asarray(v0)}


class _quiet:
    """A Taylor kernel evaluated without the beyond-radius warning (warned once by predict)."""

    def __init__(self, K):
        self.K, self.nlags = K, K.nlags

    def __call__(self, lags):
        return self.K(lags, warn=False)
