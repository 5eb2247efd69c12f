"""One entry point for every kernel route: ``kernel(net, order, index, method=...)``.

The routes, each returning a :class:`~symresp.kernels.base.Kernel`:

=============== ===============================================================================
exact           linear network, polynomial readout: 𝓛₀ is a finite matrix on polynomials of
                bounded degree, P_τ = exp(τ𝓛₀), kernels exact at every lag
deterministic   σ → 0 at a fixed point φ(h*) = 0, orders 1–2: K⁽¹⁾ = ∇f e^{Jτ_1} C_k and the
                second-order formula with D²φ, D²f, Dγ (J = Dφ(h*))
taylor          short-time series K⁽ⁿ⁾(τ) ≈ Σ_{|p|≤P} μ_0[G_{k,p}] Π_j τ_j^{p_j}/p_j!, error
                O(|τ|^{P+1}), trusted for |τ_j| ≤ radius_j/2
galerkin        projection of 𝓛₀ on polynomials in h and the auxiliaries or the Krylov set of f (under
                ρ_∞): K ≈ m_0ᵀ B_{k_n} e^{τ_n A} ⋯ B_{k_1} e^{τ_1 A} c at every lag, the basis
                grown until successive degrees agree within ``tol``
pde             n ≤ 2: backward Kolmogorov equation on a (tensor) Chebyshev grid (reference)
mc              Monte Carlo with kicked copies sharing their noise (statistical error reported)
=============== ===============================================================================

``method="auto"`` tries the routes of :data:`AUTO` in order (exact, galerkin, taylor) and
takes the first that applies and, for the Galerkin route, whose basis converged.  Adding a route is one entry of :data:`ROUTES` (and its name in :data:`AUTO` when it
should be chosen automatically).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from symresp.errors import ArgumentError
from symresp.expectation.evaluator import evaluation_precision
from symresp.expectation.start_law import expectation_method
from symresp.kernels.base import Kernel
from symresp.kernels.deterministic import deterministic_kernel
from symresp.kernels.exact import exact_kernel, has_exact
from symresp.kernels.galerkin import GALERKIN_OPTIONS, galerkin_kernel, grid_density_applies
from symresp.kernels.montecarlo import MC_OPTIONS, MonteCarloKernel
from symresp.kernels.pde import PDE_OPTIONS, pde_kernel
from symresp.kernels.taylor import taylor_kernel
from symresp.symbolic.generators import monomials_through
from symresp.symbolic.recursion import derive

__all__ = ["kernel", "route_applies", "ROUTES", "AUTO", "Route"]


@dataclass(frozen=True)
class Route:
    """One kernel route: ``build(net, order, index, start, **options) -> Kernel``, the keyword
    ``options`` it accepts, and ``applies(net, order) -> (bool, reason)``."""

    build: Callable[..., Kernel]
    options: tuple
    applies: Callable
    summary: str
    #: under ``"auto"``: ``accept(kernel) -> (bool, reason)`` (e.g. a converged basis)
    accept: Callable | None = None


# ------------------------------------------------------------------ the routes
def _exact_applies(net, order):
    return has_exact(net)


def _build_exact(net, order, index, start):
    return exact_kernel(net, order, index, start=start)


def _deterministic_applies(net, order):
    if not net.derivable:
        return False, (
            f"the activation {net.activation.name!r} is not smooth: no Jacobian at a "
            "fixed point; use the method 'mc'"
        )
    if order not in (1, 2):
        return False, (
            f"deterministic kernels are implemented for orders 1 and 2, not {order}; "
            "use the methods 'taylor' or 'mc'"
        )
    return True, (
        "σ → 0 limit at a fixed point φ(h*) = 0: kernels of the noiseless network "
        "expanded in ε at h*"
    )


def _build_deterministic(net, order, index, start, *, h_star=None):
    return deterministic_kernel(net, order, index, h_star, start=start)


def _taylor_applies(net, order):
    if not net.derivable:
        return False, (
            f"the activation {net.activation.name!r} is not smooth (no Taylor expansion); "
            "use the method 'mc'"
        )
    return True, (
        "short-time series in the lags with coefficients μ_0[G_{k,p}]: error "
        "O(|τ|^{P+1}), trusted where |τ_j| ≤ radius_j/2"
    )


def _weight(net, index) -> int:
    """The power of ε of a word: Σ_j q_{ν_j} (= its length unless the input sits inside a
    nonlinear activation, where index holds monomials u^ν of weight q_ν)."""
    if not net.input_monomials or not index:
        return len(index)
    monomials = monomials_through(net.m, max(index))
    return sum(monomials[k][0] for k in index)


def _build_taylor(
    net,
    order,
    index,
    start,
    *,
    taylor=None,
    samples=None,
    seed=0,
    truncation="total",
    precision=None,
    derivation=None,
    quiet=True,
):
    weight = max(_weight(net, index), order)
    if derivation is not None:
        der = derivation
        if der.net is not net and der.net != net:
            raise ArgumentError("derivation: it was derived for another network than net")
        if der.start != start:
            raise ArgumentError(
                f"derivation: it was derived at a {der.start} start, the kernel "
                f"asks for a {start} start"
            )
        if taylor is not None and int(taylor) != der.P:
            raise ArgumentError(
                f"taylor: {taylor} differs from the derivation's lag degree P = {der.P}"
            )
        if der.order < weight:
            raise ArgumentError(
                f"derivation: derived up to order {der.order}, the index needs {weight}"
            )
    else:
        der = derive(
            net, weight, 6 if taylor is None else taylor, start=start, truncation=truncation
        )
    X = samples
    if samples is not None and np.ndim(samples) == 0:
        n_samples = samples
        if (
            isinstance(n_samples, bool)
            or not isinstance(n_samples, (int, np.integer))
            or n_samples < 2
        ):
            raise ArgumentError(
                f"samples: expected an (N, n) array of stationary states or a number "
                f"N ≥ 2 of states to draw, got {samples!r}"
            )
        X = samples_if_needed(net, start, int(n_samples), seed=seed, quiet=quiet)
    with evaluation_precision(precision):
        return taylor_kernel(der, order, index, samples=X)


def samples_if_needed(net, start: str, n_samples: int, *, seed: int = 0, quiet: bool = True):
    """``n_samples`` simulated stationary states when the start law has no closed route
    (Gaussian moments, Gibbs quadrature, a point), else None: the states a Taylor kernel's
    expectation needs, drawn only when it needs them."""
    if start != "stationary" or not n_samples:
        return None
    try:
        expectation_method(net, start, None)  # a closed route: no samples needed
        return None
    except ArgumentError:
        pass
    # the engine loads numba: import it only when states must be simulated
    from symresp.montecarlo.estimators import stationary_samples

    return stationary_samples(net, int(n_samples), seed=seed, quiet=quiet)


def _galerkin_applies(net, order, samples=None):
    if not net.derivable:
        return False, f"the activation {net.activation.name!r} is not smooth"
    if net.input_monomials:
        return False, "the input sits inside a nonlinear activation (additive input only)"
    if all(x == 0 for x in net.Sigma):
        return False, "no noise (σ = 0): no stationary law to project in"
    try:
        if not all(e.is_polynomial(*net.h) for e in list(net.readout) + list(net.coupling)):
            return False, "readout or coupling not polynomial in h"
    except AttributeError:
        return False, "readout or coupling not polynomial in h"
    if samples is None and not grid_density_applies(net):
        try:
            expectation_method(net, "stationary", None)
        except ArgumentError:
            return False, (
                "ρ_∞ has no closed route (Gaussian, Gibbs, or a 2-D grid density): pass "
                "samples= (an array or a number of stationary states)"
            )
    return True, (
        "Galerkin projection of 𝓛₀ on polynomials in h and the auxiliaries: every lag, "
        "error from successive bases"
    )


def _galerkin_accept(K):
    if K.converged:
        return True, f"converged at degree {K.degree} (tol {K.tol:g} at lags ≤ {K.lag_max:g})"
    return False, (
        f"not converged up to degree {K.degree} (tol {K.tol:g}); last change "
        f"{K.history[-1].get('max_change', float('nan')):.3g}"
    )


def _build_galerkin(net, order, index, start, **options):
    return galerkin_kernel(net, order, index, start=start, **options)


def _pde_applies(net, order):
    if net.n not in (1, 2):
        return False, f"the Kolmogorov PDE route is implemented for n ≤ 2, not {net.n}"
    if np.any(np.linalg.eigvalsh(np.array(net.Sigma.evalf(), float)) <= 0):
        return False, "noise not in every direction (Σ not positive definite)"
    if net.input_monomials:
        return False, "the input sits inside a nonlinear activation"
    return True, f"backward Kolmogorov equation on a Chebyshev grid (n = {net.n})"


def _build_pde(net, order, index, start, **options):
    return pde_kernel(net, order, index, start=start, **options)


def _mc_applies(net, order):
    if order not in (1, 2, 3):
        return False, f"the kicked-copies estimator supports orders 1–3, not {order}"
    return True, "Monte Carlo with kicked copies sharing their noise (any activation)"


def _build_mc(net, order, index, start, **options):
    return MonteCarloKernel(net, order, index, start, **options)


#: name -> Route.  A new route (e.g. a Galerkin projection of 𝓛₀) is one entry here.
ROUTES: dict[str, Route] = {
    "exact": Route(
        _build_exact, (), _exact_applies, "linear network, polynomial readout: exact at every lag"
    ),
    "deterministic": Route(
        _build_deterministic,
        ("h_star",),
        _deterministic_applies,
        "σ → 0 at a fixed point, orders 1–2",
    ),
    "taylor": Route(
        _build_taylor,
        ("taylor", "samples", "seed", "truncation", "precision", "derivation", "quiet"),
        _taylor_applies,
        "short-time series in the lags",
    ),
    "galerkin": Route(
        _build_galerkin,
        GALERKIN_OPTIONS,
        _galerkin_applies,
        "Galerkin projection of the generator, every lag",
        _galerkin_accept,
    ),
    "pde": Route(_build_pde, PDE_OPTIONS, _pde_applies, "backward Kolmogorov PDE, n ≤ 2"),
    "mc": Route(_build_mc, MC_OPTIONS, _mc_applies, "Monte Carlo, kicked copies"),
}

#: the routes ``method="auto"`` tries, best first
AUTO: tuple = ("exact", "galerkin", "taylor")


def route_applies(method: str, net, order: int) -> tuple[bool, str]:
    """Whether the route ``method`` applies to ``net`` at ``order``, and why (or why not)."""
    if method not in ROUTES:
        raise ArgumentError(
            f"method: expected 'auto' or one of {', '.join(map(repr, ROUTES))}, got {method!r}"
        )
    return ROUTES[method].applies(net, order)


def kernel(
    net, order: int, index=None, *, method: str = "auto", start: str | None = None, **options
) -> Kernel:
    """The kernel K⁽ⁿ⁾_k of ``net`` by one route, as a :class:`~symresp.kernels.base.Kernel`.

    Parameters
    ----------
    net : SRNN
    order : int
        n, the number of input times (0 is allowed by the exact route: K⁽⁰⁾ = μ_0[P_t f]).
    index : sequence of int, optional
        k_1..k_n, 0-based channels (k_j belongs to s_j, s_1 the latest); input monomials u^ν
        when the input sits inside a nonlinear activation.  Default all zeros.
    method : {"auto", "exact", "deterministic", "taylor", "galerkin", "pde", "mc"}
        ``"auto"`` takes the first route of :data:`AUTO` that applies (exact where the network
        is linear with a polynomial readout, else galerkin where ρ_∞ has a closed route, is a
        2-D grid density or samples are given, and its basis converges, else taylor); the kernel's ``method`` names the
        route taken and its ``to_dict()`` has ``"auto": true`` and the ``"reason"``.
    start : {"stationary", "point"}, optional
        Default ``net.start``.  Sets the lags: (τ_1..τ_n) or (τ_1..τ_n, s_n).
    **options
        Route options.  taylor: ``taylor`` (lag degree P, default 6), ``samples`` ((N, n)
        stationary states, or a number N of states to simulate where ρ_∞ has no closed route),
        ``seed`` (for those draws), ``truncation`` ("total" | "box"), ``precision`` (digits of
        exact evaluation), ``derivation`` (a :class:`~symresp.symbolic.recursion.Derivation`
        to reuse), ``quiet``.  mc: ``paths``, ``dt``, ``seed``, ``estimator`` ("kicked" |
        "tangent"), ``alpha``, ``richardson``, ``burn_in``, ``bound``, ``on_divergence``,
        ``threads``, ``block``, ``quiet``, ``h0``, ``scheduler`` (Dask, as for
        :func:`~symresp.montecarlo.simulate`).  deterministic: ``h_star``.  exact: none.
        galerkin: ``basis`` ("monomial" | "krylov" | "both"), ``degree``, ``max_degree``,
        ``tol``, ``lag_max``, ``samples``, ``seed``,
        ``batches``, ``rcond``, ``quiet`` (see :func:`~symresp.kernels.galerkin.galerkin_kernel`).
        pde: ``points``, ``tol`` (see :func:`~symresp.kernels.pde.pde_kernel`).
        An option no route accepts raises ArgumentError; under ``"auto"`` options of the
        candidate routes that the chosen one does not take are listed in
        ``to_dict()["ignored_options"]``.
    """
    if not isinstance(method, str) or (method != "auto" and method not in ROUTES):
        raise ArgumentError(
            f"method: expected 'auto' or one of {', '.join(map(repr, ROUTES))}, got {method!r}"
        )
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ArgumentError(f"order: expected an integer ≥ 0, got {order!r}")
    order = int(order)
    if index is None:
        index = (0,) * order
    elif np.ndim(index) == 0:
        index = (index,)
    try:
        index = tuple(int(k) for k in index)
    except (TypeError, ValueError):
        raise ArgumentError(f"index: expected {order} integer(s), 0-based, got {index!r}") from None
    if (
        len(index) != order
        or any(k < 0 for k in index)
        or (not net.input_monomials and any(k >= net.m for k in index))
    ):
        what = (
            "monomial(s), each 0-based ≥ 0"
            if net.input_monomials
            else f"channel(s), each 0-based in 0..{net.m - 1}"
        )
        raise ArgumentError(f"index: expected {order} {what}, got {list(index)}")
    start = net.start if start is None else start
    if start not in ("stationary", "point"):
        raise ArgumentError(f"start: expected 'stationary' or 'point', got {start!r}")

    if method == "auto":
        candidates = AUTO
        accepted = {o for name in candidates for o in ROUTES[name].options}
        _check_options(options, accepted, "auto (" + ", ".join(candidates) + ")")
        refusals = []
        for name in candidates:
            ok, why = _applies(name, net, order, options)
            if not ok:
                refusals.append(f"{name}: {why}")
                continue
            used = {k: v for k, v in options.items() if k in ROUTES[name].options}
            K = ROUTES[name].build(net, order, index, start, **used)
            if ROUTES[name].accept is not None:
                ok, acc = ROUTES[name].accept(K)
                if not ok:
                    refusals.append(f"{name}: {acc}")
                    continue
                why = f"{why}; {acc}"
            break
        else:
            raise ArgumentError(
                "method='auto': no automatic route applies ("
                + "; ".join(refusals)
                + "); use method='mc'"
            )
        reason = "; ".join([f"{r} (not taken)" for r in refusals] + [f"{name}: {why}"])
        K.selection = {
            "auto": True,
            "reason": reason,
            "ignored_options": sorted(set(options) - set(used)),
        }
        return K
    route = ROUTES[method]
    _check_options(options, set(route.options), repr(method))
    ok, why = _applies(method, net, order, options)
    if not ok:
        raise ArgumentError(f"method={method!r} does not apply: {why}")
    K = route.build(net, order, index, start, **options)
    K.selection = {"auto": False}
    return K


def _applies(name, net, order, options):
    if name == "galerkin":
        return _galerkin_applies(net, order, options.get("samples"))
    return ROUTES[name].applies(net, order)


def _check_options(options, accepted, what):
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ArgumentError(
            f"{unknown[0]}: not an option of method={what}; accepted options: "
            f"{', '.join(sorted(accepted)) or 'none'}"
        )
