"""Taylor (short-time) kernels: polynomials in the lags with coefficients μ₀[G_{k,p}].

For channels k = (k_1..k_n) and lag degrees p = (p_1..p_n) the Taylor
coefficient observables are

    G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ 𝓛₁^{k_1} 𝓛₀^{p_1} f            (operators act right to left)

and the kernels are the polynomials in the lags

    stationary:  K⁽ⁿ⁾_k(τ_1..τ_n)         ≈ Σ_p E_∞[G_{k,p}] Π_j τ_j^{p_j}/p_j!
    point start: K⁽ⁿ⁾_k(τ_1..τ_n, s_n)    ≈ Σ_{p,p'} (𝓛₀^{p'} G_{k,p})(h_0) s_n^{p'}/p'! Π_j τ_j^{p_j}/p_j!

with lags τ_1 = t − s_1, τ_j = s_{j−1} − s_j.  ``truncation="total"`` keeps
lag degrees with Σ p_j ≤ P (error O(|τ|^{P+1}), the cheap default);
``truncation="box"`` keeps every p_j ≤ P (the sum written in THEORY §5, same
error order, far more work).  The observables are exact symbolic
polynomials; only the expectation (:mod:`symresp.expectation`) is numerical.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from symresp.expectation.start_law import expect as _expect
from symresp.errors import ArgumentError

__all__ = ["TaylorKernel", "taylor_kernel", "fdt_kernel", "stationary_mean"]


class TaylorKernel:
    """A kernel as a polynomial in the lags: K(τ) = Σ_p c_p Π_j τ_j^{p_j}/p_j!.

    Call it with lags shaped (..., nlags) to get values shaped (..., p).
    ``cov`` is the covariance of the coefficient estimates when they come from stationary
    samples (flattened in (power, readout) order); ``stderr`` their standard errors, and
    :meth:`stderr_at` the standard error of the kernel value.
    ``radius`` estimates the radius of convergence in each lag (root test on the
    coefficients of the highest degrees); values at lags beyond half of it warn.
    """

    def __init__(self, order, index, powers, coeffs, cov=None, start="stationary",
                 method="taylor"):
        self.order = order
        self.index = tuple(index)
        self.powers = np.asarray(powers, dtype=np.int64).reshape(len(powers), -1)
        self.coeffs = np.asarray(coeffs, dtype=float).reshape(len(powers), -1)
        self.cov = None if cov is None else np.asarray(cov, float)
        self.stderr = None if cov is None else np.sqrt(np.diag(self.cov)).reshape(self.coeffs.shape)
        self.start = start
        self.method = method
        self._factorials = np.array([np.prod([math.factorial(int(x)) for x in p])
                                     for p in self.powers], float)
        self._scaled = self.coeffs / self._factorials[:, None]
        self.radius = self._radius()

    @property
    def nlags(self) -> int:
        return self.powers.shape[1]

    def _radius(self) -> np.ndarray:
        # root test on the highest pure power of each lag: (|c_d|/d!)^(-1/d)
        rad = np.full(self.nlags, np.inf)
        for j in range(self.nlags):
            others = np.delete(self.powers, j, axis=1).sum(axis=1) == 0
            for d in range(int(self.powers[:, j].max(initial=0)), 1, -1):
                mask = others & (self.powers[:, j] == d)
                a = np.abs(self._scaled[mask]).max(initial=0.0)
                if a > 0:
                    rad[j] = a ** (-1.0 / d)
                    break
        return rad

    def __call__(self, lags, *, warn: bool = True) -> np.ndarray:
        lags = np.asarray(lags, dtype=float)
        if lags.shape[-1:] != (self.nlags,):
            raise ArgumentError(f"lags: expected a last axis of length {self.nlags} "
                             f"({'τ_1..τ_n' if self.start == 'stationary' else 'τ_1..τ_n, s_n'}), "
                             f"got shape {lags.shape}")
        if warn and np.any(np.abs(lags) > 0.5 * self.radius):
            warnings.warn(f"Taylor kernel evaluated at lags beyond half its estimated radius of "
                          f"convergence {np.round(self.radius, 4).tolist()}: the short-time series "
                          "may be inaccurate there; use more terms, smaller lags, or another method.",
                          stacklevel=2)
        return self._monomials(lags) @ self._scaled

    def _monomials(self, lags):
        mono = np.ones(lags.shape[:-1] + (len(self.powers),))
        for j in range(self.nlags):
            mono = mono * lags[..., j:j + 1] ** self.powers[:, j]
        return mono

    def stderr_at(self, lags) -> np.ndarray | None:
        """Standard error of K(τ) from the coefficient covariance (None when exact)."""
        if self.cov is None:
            return None
        lags = np.asarray(lags, dtype=float)
        w = self._monomials(lags) / self._factorials  # (..., npowers)
        p_out = self.coeffs.shape[1]
        out = np.empty(lags.shape[:-1] + (p_out,))
        for o in range(p_out):
            C = self.cov[o::p_out, o::p_out]
            out[..., o] = np.sqrt(np.einsum("...i,ij,...j->...", w, C, w))
        return out


def taylor_kernel(der: Derivation, order: int, index, samples=None) -> TaylorKernel:
    """The Taylor kernel K⁽ⁿ⁾_k of THEORY §5 with coefficients c_{k,p} = μ₀[G_{k,p}].

    ``index`` holds 0-based channels (monomials when the input is inside a nonlinear
    activation: :attr:`Derivation.monomials`; ``order`` is then the word's length, the
    number of time integrals, and :meth:`Derivation.weight` its power of ε).
    ``samples`` (N×n stationary states) is needed at a stationary start unless the network
    is linear (exact Gaussian moments) or a 1-/2-D gradient network (Gibbs quadrature).
    """
    if not 1 <= order <= der.order:
        raise ArgumentError(f"order: expected 1..{der.order} (derived up to {der.order}), got {order}")
    index = tuple(int(k) for k in index)
    nl = len(der.monomials)
    what = "channel(s)" if not der.local_terms else "monomial(s)"
    if len(index) != order or any(not 0 <= k < nl for k in index):
        raise ArgumentError(f"index: expected {order} {what} in 1..{nl}, got "
                         f"{[k + 1 for k in index]}")
    if der.weight(index) > der.order:
        raise ArgumentError(f"index: the monomials {[k + 1 for k in index]} have weight "
                         f"{der.weight(index)} > the derived order {der.order}")
    terms = der.terms(order, index)
    powers = sorted(terms)
    flat = [g for p in powers for g in terms[p]]
    vals, cov = _expect(der, flat, samples)
    return TaylorKernel(order, index, powers, vals.reshape(len(powers), der.net.p), cov=cov,
                        start=der.start)


def stationary_mean(der: Derivation, samples=None):
    """V_0 = E_∞[f] (stationary) as (values, stderr or None)."""
    vals, cov = _expect(der, der.observables[((), ())], samples)
    return vals, None if cov is None else np.sqrt(np.diag(cov))


def fdt_kernel(der: Derivation, index: int, samples=None) -> TaylorKernel:
    """First-order kernel in correlation (fluctuation–dissipation) form, THEORY §3.2:

        K⁽¹⁾_k(τ) = E_∞[f(h_τ) A_k(h_0)] ≈ Σ_p E_∞[A_k · 𝓛₀ᵖ f] τᵖ/p!,
        A_k = −∇·γ_k − γ_k·∇log ρ_∞,

    available where log ρ_∞ is known (linear, 1-D, Hopfield form with isotropic noise).
    It must equal :func:`taylor_kernel` (operator form) coefficient by coefficient.
    """
    from symresp.expectation.conjugate import conjugate_observable

    if der.start != "stationary":
        raise ArgumentError("the correlation form holds at a stationary start")
    k = int(index[0]) if isinstance(index, (tuple, list)) else int(index)
    A = conjugate_observable(der.net, k)
    if A is None:
        raise ArgumentError("the conjugate observable A_k needs log ρ_∞ in closed form (linear network, "
                         "n = 1, or Hopfield form with isotropic noise)")
    alg, gens = der.algebra, der.generators
    A_el = alg.lift_expr(A) if hasattr(alg, "lift_expr") else alg.lift(A)
    f = [alg.lift(e) for e in der.net.readout]
    powers = [(p,) for p in range(der.P + 1)]
    chain = [f]
    for _ in range(der.P):
        chain.append([gens.L0(x) for x in chain[-1]])
    flat = [A_el * g for gs in chain for g in gs]
    vals, cov = _expect(der, flat, samples)
    return TaylorKernel(1, (k,), powers, vals.reshape(len(powers), der.net.p), cov=cov,
                        start="stationary", method="fdt")

