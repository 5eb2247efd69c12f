"""Taylor (short-time) kernels: polynomials in the lags

    K⁽ⁿ⁾_k(τ) ≈ Σ_p c_{k,p} Π_j τ_j^{p_j}/p_j!,      c_{k,p} = μ₀[G_{k,p}],

with the exact coefficient observables G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ 𝓛₁^{k_1} 𝓛₀^{p_1} f
of :func:`symresp.symbolic.recursion.derive` (at a point start one more lag s_n and
degree p_{n+1}).  Only μ₀, the start law, is numerical (:mod:`symresp.expectation`):
exact for a point start and for the Gaussian law of a linear network, a quadrature for
low-dimensional gradient networks, a sample mean with its standard error otherwise.
The truncation error is O(|τ|^{P+1}); for non-polynomial activations the series has a
finite radius, estimated per lag (``TaylorKernel.radius``) and behind ``trusted``.
"""

from __future__ import annotations

import math
import warnings

import flint
import numpy as np
import sympy as sp

from symresp.errors import ArgumentError
from symresp.expectation.conjugate import conjugate_observable
from symresp.expectation.gaussian import (
    gaussian_expect_expr,
    gaussian_moments,
    gaussian_stationary,
)
from symresp.expectation.start_law import expect as _expect
from symresp.expectation.start_law import expectation_method
from symresp.kernels.base import Kernel
from symresp.symbolic.recursion import Derivation, derive

__all__ = [
    "TaylorKernel",
    "taylor_kernel",
    "fdt_kernel",
    "stationary_mean",
    "exact_coefficients",
    "rational_point",
]


class TaylorKernel(Kernel):
    """A kernel as a polynomial in the lags: K(τ) = Σ_p c_p Π_j τ_j^{p_j}/p_j!.

    Call it with lags shaped (..., nlags) to get values shaped (..., p).
    ``cov`` is the covariance of the coefficient estimates when they come from stationary
    samples (flattened in (power, readout) order); ``coeff_stderr`` their standard errors
    (shaped like ``coeffs``), and :meth:`stderr` the standard error of the kernel value,
    √(wᵀ Cov w) with w_p = Π_j τ_j^{p_j}/p_j!.
    ``radius`` estimates the radius of convergence in each lag (root test on the
    coefficients of the highest pure powers, (|c_d|/d!)^(−1/d)); the truncated series is
    trusted where |τ_j| ≤ radius_j/2 for every j (there the next terms shrink at least like
    2^{−d}), and values beyond warn.  This holds for the linear network too: its series
    converges at every lag, but the degree-P truncation does not (its error grows like
    |τ|^{P+1}), and the root-test radius grows with P.
    """

    negative_lags_allowed = True  # a polynomial in the lags

    def __init__(
        self,
        order,
        index,
        powers,
        coeffs,
        cov=None,
        start="stationary",
        method="taylor",
        *,
        P=None,
        truncation=None,
        expectation=None,
    ):
        self.order = order
        self.index = tuple(index)
        self.powers = np.asarray(powers, dtype=np.int64).reshape(len(powers), -1)
        self.coeffs = np.asarray(coeffs, dtype=float).reshape(len(powers), -1)
        self.cov = None if cov is None else np.asarray(cov, float)
        self.coeff_stderr = (
            None if cov is None else np.sqrt(np.diag(self.cov)).reshape(self.coeffs.shape)
        )
        self.start = start
        self.method = method
        self.P = int(self.powers.sum(axis=1).max(initial=0)) if P is None else int(P)
        self.truncation = truncation
        self.expectation = expectation
        self._factorials = np.array(
            [np.prod([math.factorial(int(x)) for x in p]) for p in self.powers], float
        )
        self._scaled = self.coeffs / self._factorials[:, None]
        self.radius = self._radius()
        #: the declared parameters, ((symbol, value), ...), of the network it was computed for
        self.parameters = ()

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

    def _trusted(self, lags):
        return np.all(np.abs(lags) <= 0.5 * self.radius, axis=-1)

    def trusted_range(self) -> np.ndarray:
        """The trusted lags per lag axis: |τ_j| ≤ radius_j / 2."""
        return 0.5 * self.radius

    def error(self, lags) -> np.ndarray:
        """Estimated truncation error per lag point, shaped (..., p).

        With H_d(τ) = Σ_{|p|=d} |c_p| Π_j |τ_j|^{p_j}/p_j! (the size of the degree-d terms),
        ρ = max_j |τ_j|/radius_j and P the top degree, the omitted tail is bounded as for a
        geometric series of ratio ρ,

            err(τ) = max(H_P(τ), ρ·H_{P−1}(τ)) · ρ/(1 − ρ)      (∞ where ρ ≥ 1),

        the second term guarding series whose odd or even terms vanish.  It is an estimate,
        not a bound: the radius itself is estimated from the last coefficients.
        """
        lags = self._check_lags(lags)
        return self._error(lags)

    def _error(self, lags):
        deg = self.powers.sum(axis=1)
        top = int(deg.max(initial=0))
        mono = np.abs(self._monomials(np.abs(lags)))
        absc = np.abs(self._scaled)
        H = lambda d: mono[..., deg == d] @ absc[deg == d]
        with np.errstate(divide="ignore", invalid="ignore"):
            rho = np.max(np.abs(lags) / self.radius, axis=-1)[..., None]
        lead = np.maximum(H(top), rho * H(top - 1)) if top > 0 else H(top) * 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            err = np.where(rho < 1, lead * rho / np.where(rho < 1, 1 - rho, 1.0), np.inf)
        return err

    def untrusted_message(self, lags) -> str | None:
        """A sentence naming the lags outside the trusted range and the estimated error
        there (None when every lag is trusted)."""
        lags = np.asarray(lags, float).reshape(-1, self.nlags)
        bad = ~np.asarray(self._trusted(lags), bool).reshape(-1)
        if not bad.any():
            return None
        err = self._error(lags[bad]).max(axis=-1)
        worst = int(np.argmax(err))
        lo = np.abs(lags[bad]).max(axis=0)
        shown = ", ".join(f"{name} up to {v:.3g}" for name, v in zip(self._lag_axis_names(), lo))
        size = (
            "unbounded (beyond the radius)" if not np.isfinite(err[worst]) else f"{err[worst]:.3g}"
        )
        return (
            f"Taylor kernel K⁽{self.order}⁾ index {list(self.index)} (0-based) evaluated at "
            f"{int(bad.sum())} of {len(lags)} lag point(s) outside its trusted range "
            f"|lag_j| ≤ {np.round(self.trusted_range(), 4).tolist()} (half the estimated radius "
            f"{np.round(self.radius, 4).tolist()}; untrusted: {shown}); estimated error up to "
            f"{size} at lags {np.round(lags[bad][worst], 4).tolist()}: use more "
            "terms, smaller lags, or the 'galerkin' / 'mc' methods"
        )

    def _lag_axis_names(self):
        names = [f"τ_{j + 1}" for j in range(self.order)]
        return names + (["s_n"] if self.nlags > self.order else [])

    def _evaluate(self, lags, *, warn: bool = True) -> np.ndarray:
        if warn:
            msg = self.untrusted_message(lags)
            if msg is not None:
                warnings.warn(msg, UserWarning, stacklevel=3)
        return self._monomials(lags) @ self._scaled

    def _monomials(self, lags):
        mono = np.ones(lags.shape[:-1] + (len(self.powers),))
        for j in range(self.nlags):
            mono = mono * lags[..., j : j + 1] ** self.powers[:, j]
        return mono

    def _stderr(self, lags) -> np.ndarray | None:
        """√(wᵀ Cov w) per output from the coefficient covariance (None when exact)."""
        if self.cov is None:
            return None
        w = self._monomials(lags) / self._factorials  # (..., npowers)
        p_out = self.coeffs.shape[1]
        out = np.empty(lags.shape[:-1] + (p_out,))
        for o in range(p_out):
            C = self.cov[o::p_out, o::p_out]
            out[..., o] = np.sqrt(np.einsum("...i,ij,...j->...", w, C, w))
        return out

    def _metadata(self) -> dict:
        return {
            "P": self.P,
            "truncation": self.truncation,
            "radius": self.radius.tolist(),
            "expectation": self.expectation,
            "n_terms": int(len(self.powers)),
        }

    def _repr_fields(self) -> dict:
        return {"P": self.P, "expectation": self.expectation}

    def _as_expr(self):
        """Σ_p c_p Π_j τ_j^{p_j}/p_j!, the coefficients as computed (floats), their standard
        errors alongside in :attr:`expr_info` when they come from samples."""

        taus = self.lag_symbols()
        exprs = []
        # a point start or the Gaussian law computes the coefficients exactly: take them from
        # the exact source (in the parameters) when taylor_kernel attached one, else recover
        # the rationals when the double is one with a small denominator, else keep the double
        exact_route = self.expectation in ("point", "gaussian")
        recovered = True
        source = getattr(self, "_exact_source", None)
        exact = source() if (exact_route and source is not None) else None
        if source is not None and exact is None:
            exact_route = False  # irrational values at h₀: the doubles are all there is

        def coefficient(c):
            nonlocal recovered
            if exact_route:
                r = sp.Rational(float(c)).limit_denominator(10**9)
                if float(r) == float(c):
                    return r
            recovered = False
            return sp.Float(float(c), 15)

        for o in range(self.coeffs.shape[1]):
            terms = []
            for r, (p, c) in enumerate(zip(self.powers, self.coeffs[:, o])):
                if exact is None and c == 0:
                    continue
                mono = sp.Mul(*[t ** int(e) / sp.factorial(int(e)) for t, e in zip(taus, p)])
                terms.append((coefficient(c) if exact is None else exact[r][o]) * mono)
            exprs.append(sp.Add(*terms))
        info = {
            "exact": False,  # a truncated series
            "coefficients_exact": bool(exact_route and (recovered or exact is not None)),
            "parameters": {str(k): v for k, v in self.parameters},
            "form": f"polynomial in the lags (degree ≤ {self.P}, {self.truncation} truncation)",
            "lags": [str(t) for t in taus],
            "expectation": self.expectation,
            "radius": self.radius.tolist(),
        }
        if self.coeff_stderr is not None:
            info["coefficient_stderr"] = {
                ",".join(map(str, p)): self.coeff_stderr[i].tolist()
                for i, p in enumerate(self.powers.tolist())
            }
        return (exprs[0] if len(exprs) == 1 else sp.Matrix(exprs)), info


def taylor_kernel(der: Derivation, order: int, index, samples=None) -> TaylorKernel:
    """The Taylor kernel K⁽ⁿ⁾_k(τ) ≈ Σ_p c_{k,p} Π_j τ_j^{p_j}/p_j! with coefficients
    c_{k,p} = μ₀[G_{k,p}], G_{k,p} = 𝓛₁^{k_n} 𝓛₀^{p_n} ⋯ 𝓛₁^{k_1} 𝓛₀^{p_1} f.

    ``index`` holds 0-based channels (monomials when the input is inside a nonlinear
    activation: :attr:`Derivation.monomials`; ``order`` is then the word's length, the
    number of time integrals, and :meth:`Derivation.weight` its power of ε).
    ``samples`` (N×n stationary states) is needed at a stationary start unless the network
    is linear (exact Gaussian moments) or a 1-/2-D gradient network (Gibbs quadrature).
    """
    if not 1 <= order <= der.order:
        raise ArgumentError(
            f"order: expected 1..{der.order} (derived up to {der.order}), got {order}"
        )
    index = tuple(int(k) for k in index)
    nl = len(der.monomials)
    what = "channel(s)" if not der.local_terms else "monomial(s)"
    if len(index) != order or any(not 0 <= k < nl for k in index):
        raise ArgumentError(
            f"index: expected {order} {what}, each 0-based in 0..{nl - 1}, got {list(index)}"
        )
    if der.weight(index) > der.order:
        raise ArgumentError(
            f"index: the monomials {list(index)} (0-based) have weight "
            f"{der.weight(index)} > the derived order {der.order}"
        )
    terms = der.terms(order, index)
    powers = sorted(terms)
    flat = [g for p in powers for g in terms[p]]
    vals, cov = _expect(der, flat, samples)
    K = TaylorKernel(
        order,
        index,
        powers,
        vals.reshape(len(powers), der.net.p),
        cov=cov,
        start=der.start,
        P=der.P,
        truncation=der.truncation,
        expectation=_route_name(der, samples),
    )
    K.parameters = tuple(der.net.parameters)
    if K.expectation in ("point", "gaussian"):
        K._exact_source = lambda: exact_coefficients(der, order, index, powers)
    return K


def rational_point(der: Derivation):
    """``g -> SymPy Rational``, the exact value g(h₀) of a ring element at a point start,
    when h₀ and the auxiliaries at h₀ are rational (e.g. tanh(0) = 0) and the ring holds no
    parameters; None otherwise (then only the double is known, or the value needs symbols)."""
    net, alg = der.net, der.algebra
    if der.start != "point" or net.h0 is None or not hasattr(alg, "ctx"):
        return None
    at = dict(zip(net.h, net.h0))
    args = [*net.h0, *[v.xreplace(at) for v in alg.aux_values().values()]]
    if len(args) != len(alg.ctx.gens()) or not all(sp.sympify(a).is_Rational for a in args):
        return None
    q = [flint.fmpq(int(sp.Rational(a).p), int(sp.Rational(a).q)) for a in args]

    def value(g):
        v = g(*q)
        return sp.Rational(int(v.p), int(v.q))

    return value


def exact_coefficients(der: Derivation, order: int, index, powers) -> list | None:
    """The coefficients c_{k,p} = μ₀[G_{k,p}] exactly, in the network's parameters:
    ``[[c per readout] per power]`` (SymPy numbers or expressions), or None where only
    doubles are known.

    Point start: G_{k,p}(h₀) — rationals when h₀ and the auxiliaries at h₀ are (see
    :func:`rational_point`); with parameters an expression in them, the auxiliaries written
    as their values (e.g. tanh(w x)); None for irrational auxiliaries without parameters.
    Linear network, stationary start: the Gaussian expectation under N(m_∞, S),
    A m_∞ = M b and A S + S Aᵀ = Σ, rational in the parameters.  A derivation of numbers is
    repeated with the parameters as ring variables.
    """
    if not der.net.parameters:
        if der.start == "point":
            value = rational_point(der)
            if value is None:
                return None
        else:
            moments = gaussian_moments(der.net, *gaussian_stationary(der.net))
            value = lambda g: moments(der.algebra, g)  # noqa: E731
        terms = der.terms(order, index)
        return [[value(g) for g in terms[tuple(p)]] for p in powers]
    sym = der
    if not der.symbolic:
        sym = derive(
            der.net,
            der.weight(index),
            der.P,
            start=der.start,
            truncation=der.truncation,
            symbolic=True,
        )
    net, alg = sym.net, sym.algebra
    terms = sym.terms(order, index)
    if der.start == "point":
        at = dict(zip(net.h, net.h0))
        point = {s: v.xreplace(at) for s, v in alg.aux_values().items()} | at
        polynomial = not alg.aux_values()
        # no expansion of transcendental values: a sum of terms, each evaluated
        mu = lambda e: sp.expand(e.xreplace(point)) if polynomial else e.xreplace(point)  # noqa: E731
        return [[mu(alg.to_expr(g)) for g in terms[tuple(p)]] for p in powers]
    m, S = gaussian_stationary(net)
    m, S = m.applyfunc(sp.cancel), S.applyfunc(sp.cancel)
    mu = lambda e: sp.factor(gaussian_expect_expr(e, list(net.h), m, S))  # noqa: E731
    return [[mu(alg.to_expr(g)) for g in terms[tuple(p)]] for p in powers]


def _route_name(der, samples) -> str:
    """The start law's route: 'gaussian', 'gibbs', 'point' or 'samples[N]'."""
    route = expectation_method(der.net, der.start, samples)
    return f"samples[{np.shape(samples)[0]}]" if route == "samples" else route


def stationary_mean(der: Derivation, samples=None):
    """V_0 = E_∞[f] (stationary) as (values, stderr or None)."""
    vals, cov = _expect(der, der.observables[((), ())], samples)
    return vals, None if cov is None else np.sqrt(np.diag(cov))


def fdt_kernel(der: Derivation, index: int, samples=None) -> TaylorKernel:
    """First-order kernel in correlation (fluctuation–dissipation) form:

        K⁽¹⁾_k(τ) = E_∞[f(h_τ) A_k(h_0)] ≈ Σ_p E_∞[A_k · 𝓛₀ᵖ f] τᵖ/p!,
        A_k = −∇·γ_k − γ_k·∇log ρ_∞,

    available where log ρ_∞ is known (linear, 1-D, Hopfield form with isotropic noise).
    It must equal :func:`taylor_kernel` (operator form) coefficient by coefficient.
    """

    if der.start != "stationary":
        raise ArgumentError("the correlation form holds at a stationary start")
    k = int(index[0]) if isinstance(index, (tuple, list)) else int(index)
    A = conjugate_observable(der.net, k)
    if A is None:
        raise ArgumentError(
            "the conjugate observable A_k needs log ρ_∞ in closed form (linear network, "
            "n = 1, or Hopfield form with isotropic noise)"
        )
    alg, gens = der.algebra, der.generators
    A_el = alg.lift_expr(A) if hasattr(alg, "lift_expr") else alg.lift(A)
    f = [alg.lift(e) for e in der.net.readout]
    powers = [(p,) for p in range(der.P + 1)]
    chain = [f]
    for _ in range(der.P):
        chain.append([gens.L0(x) for x in chain[-1]])
    flat = [A_el * g for gs in chain for g in gs]
    vals, cov = _expect(der, flat, samples)
    return TaylorKernel(
        1,
        (k,),
        powers,
        vals.reshape(len(powers), der.net.p),
        cov=cov,
        start="stationary",
        method="fdt",
        P=der.P,
        truncation="total",
        expectation=_route_name(der, samples),
    )
