"""Kernels at every lag by a Galerkin projection of the generator.

Choose observables ψ = (ψ_1..ψ_d): every monomial of total degree ≤ D in the ring variables
(the state h and the activation's auxiliaries, e.g. T_i = tanh(z_i):
:class:`~symresp.symbolic.algebra.RingAlgebra`), or the Krylov set 1, f, 𝓛₀f, …, 𝓛₀ᴰf of
the readout (``basis="krylov"``; on it the kernel matches the short-time series to order D
at τ = 0 and resums it), or both.  𝓛₀ψ_j and 𝓛₁ᵏψ_j are exact ring elements
(:class:`~symresp.symbolic.generators.Generators`); only the inner products under a
projection measure μ (ρ_∞) are numerical:

    M_ij = μ[ψ_i ψ_j],   L_ij = μ[ψ_i 𝓛₀ψ_j],   Bᵏ_ij = μ[ψ_i 𝓛₁ᵏψ_j],   F_io = μ[ψ_i f_o].

μ is the Gaussian law of a linear network (a tensor Gauss–Hermite rule, exact for the
polynomial degrees involved), the Gibbs quadrature of a 1-/2-D gradient network, for any other
2-D network the tensor Chebyshev rule of ρ_∞ solved from the forward Kolmogorov equation
(:mod:`symresp.kernels.chebyshev_2d`; a coarser grid measures its error), or a mean over
stationary samples (its error propagated by a delete-one-batch jackknife).

The Gram matrix is orthonormalised, never inverted: after Jacobi scaling
(M̂ = DMD, D = diag(M)^(−1/2)) its eigenvectors with eigenvalues ≥ ``rcond``·λ_max are kept,
Q = D U Λ^(−1/2) (d × r), and in the orthonormal basis φ = Qᵀψ

    A = QᵀLQ,   B_k = QᵀBᵏQ,   c = QᵀF,   P_τ ≈ e^{τA},
    stationary:  K⁽ⁿ⁾_k(τ_1..τ_n)      ≈ m_0ᵀ B_{k_n} e^{τ_n A} ⋯ B_{k_1} e^{τ_1 A} c,  m_0 = Qᵀμ[ψ]
    point start: K⁽ⁿ⁾_k(τ_1..τ_n, s_n) ≈ m_0ᵀ e^{s_n A} B_{k_n} e^{τ_n A} ⋯ B_{k_1} e^{τ_1 A} c,
                 m_0 = Qᵀψ(h_0)   (the projection is in L²(ρ_∞); h_0 should lie in its bulk).

For the linear network with a polynomial readout the polynomials of the readout's degree are
invariant under 𝓛₀ and 𝓛₁ᵏ (constant coupling): the route is exact.  Otherwise it converges
as D grows; the degree grows from the readout's until the difference between successive bases,
max over probe lags of |K_D − K_{D−1}|, is within ``tol`` (plus three standard errors of that
difference when μ is a sample mean) at two successive levels.  That difference, per lag, is :meth:`GalerkinKernel.error`
and is behind :meth:`~symresp.kernels.base.Kernel.trusted`.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError, UnsupportedError
from symresp.expectation.evaluator import Evaluator
from symresp.expectation.gaussian import gaussian_stationary
from symresp.expectation.gibbs import GibbsQuadrature
from symresp.expectation.start_law import expectation_method
from symresp.kernels.base import Kernel
from symresp.kernels.chebyshev_2d import stationary_quadrature_2d
from symresp.kernels.propagators import expm_lags, saturation_lag
from symresp.symbolic.algebra import RingAlgebra, make_algebra
from symresp.symbolic.generators import Generators
from symresp.validation import check_float, check_int

__all__ = ["GalerkinKernel", "galerkin_kernel", "GALERKIN_OPTIONS"]

#: keyword options of the Galerkin route
GALERKIN_OPTIONS = (
    "basis",
    "degree",
    "max_degree",
    "tol",
    "lag_max",
    "samples",
    "seed",
    "batches",
    "rcond",
    "quiet",
)

#: the bases: monomials in h and the auxiliaries, the Krylov set of the readout, or both
BASES = ("monomial", "krylov", "both")

_CHUNK = 20000  # points per block of the inner products (memory bound)
_CACHE_FLOATS = 10_000_000  # most cached element values (80 MB) across the levels


# ------------------------------------------------------------------ measure
class _Measure:
    """Points and weights of the projection measure ρ_∞, with batch labels for the jackknife,
    and (``alt``) a coarser rule whose difference measures a grid density's error."""

    def __init__(self, points, weights, batches, route, alt=None):
        self.points = np.asarray(points, float)
        self.weights = np.asarray(weights, float)
        self.batches = batches  # list of index arrays (None: exact rule, no sampling error)
        self.route = route
        self.alt = alt


def grid_density_applies(net) -> bool:
    """ρ_∞ of a 2-D network without a closed route, from the forward Kolmogorov equation on a
    tensor Chebyshev grid (noise in every direction needed)."""
    if net.n != 2:
        return False
    try:
        expectation_method(net, "stationary", None)
        return False  # a closed route exists
    except ArgumentError:
        pass
    Sigma = np.array(net.Sigma.evalf(), float)
    return bool(np.all(np.linalg.eigvalsh(Sigma) > 0))


def _gauss_hermite(net, degree: int) -> _Measure:
    """Tensor Gauss–Hermite rule for N(m_∞, S): exact for polynomials of degree ≤ 2q − 1
    in each variable, q = degree + 2 nodes per dimension."""

    m, S = gaussian_stationary(net)
    m = np.array(m.evalf(), float).ravel()
    S = np.array(S.evalf(), float)
    lam, U = np.linalg.eigh(S)
    R = U * np.sqrt(np.clip(lam, 0.0, None))
    q = degree + 2
    x, w = np.polynomial.hermite_e.hermegauss(q)
    w = w / w.sum()
    X = np.array(list(itertools.product(x, repeat=net.n)))
    Wt = np.prod(np.array(list(itertools.product(w, repeat=net.n))), axis=1)
    return _Measure(m + X @ R.T, Wt, None, "gaussian")


def _measure(net, samples, seed, batches, quiet, degree) -> _Measure:
    if samples is None and grid_density_applies(net):
        (P, w), (Pc, wc) = stationary_quadrature_2d(net)
        return _Measure(P, w, None, "grid", _Measure(Pc, wc, None, "grid (coarse)"))
    route = expectation_method(net, "stationary", samples)  # raises when there is none
    if route == "gaussian":
        return _gauss_hermite(net, degree)
    if route == "gibbs":
        quad = GibbsQuadrature(net)
        return _Measure(quad.points, quad.weights, None, "gibbs")
    X = np.asarray(samples, float)
    if X.ndim != 2 or X.shape[1] != net.n or X.shape[0] < 2 * batches:
        raise ArgumentError(
            f"samples: expected an array of shape (N, n={net.n}) of stationary states with "
            f"N ≥ 2·batches = {2 * batches}, got shape {X.shape}"
        )
    idx = np.array_split(np.arange(X.shape[0]), batches)
    return _Measure(X, np.full(X.shape[0], 1.0 / X.shape[0]), idx, f"samples[{X.shape[0]}]")


# ------------------------------------------------------------------ polynomial evaluation
# ------------------------------------------------------------------ one basis
class _Projection:
    """A, B_k, c, m_0 of one basis (orthonormal coordinates) and the kernel they give."""

    def __init__(self, A, B, c, m0):
        self.A, self.B, self.c, self.m0 = A, B, c, m0
        self._modes = None

    def __call__(self, flat: np.ndarray, order: int, point: bool) -> np.ndarray:
        N = flat.shape[0]
        v = np.broadcast_to(self.c, (N,) + self.c.shape).copy()
        for j in range(order):
            v = self.propagate(flat[:, j], v)
            v = np.einsum("ab,nbp->nap", self.B[j], v)
        if point:
            v = self.propagate(flat[:, order], v)
        return np.einsum("a,nap->np", self.m0, v)

    def propagate(self, taus, v):
        """e^{τ_i A} v_i for every row i.  With a well-conditioned eigenbasis A = XΛX⁻¹
        (cond X ≤ 1e6: relative rounding ≲ 1e-10) e^{τA} = X e^{τΛ} X⁻¹ for all rows at once,
        τ clamped at the saturation lag; otherwise one matrix exponential per distinct τ."""
        taus = np.asarray(taus, float)
        if self._modes is None:
            lam, X = np.linalg.eig(self.A)
            ok = np.all(np.isfinite(lam)) and np.linalg.cond(X) <= 1e6
            self._modes = (lam, X, np.linalg.inv(X), saturation_lag(self.A)) if ok else False
        if self._modes is False:
            uniq, inv = np.unique(taus, return_inverse=True)
            E = expm_lags(uniq, self.A)
            return np.einsum("nab,nbp->nap", E[inv.ravel()], v)
        lam, X, Xi, cap = self._modes
        t = np.minimum(taus, cap) if np.isfinite(cap) else taus
        z = np.einsum("ab,nbp->nap", Xi, v.astype(complex)) * np.exp(np.outer(t, lam))[:, :, None]
        return np.einsum("ab,nbp->nap", X, z).real


def _monomials(nvars: int, degree: int) -> list:
    """Exponent tuples of total degree ≤ degree (graded)."""
    out = []
    for d in range(degree + 1):
        for combo in itertools.combinations_with_replacement(range(nvars), d):
            e = [0] * nvars
            for v in combo:
                e[v] += 1
            out.append(tuple(e))
    return out


class _Builder:
    """Symbolic images of the basis (cached across degrees) and their inner products."""

    def __init__(self, net, index, start, measure, rcond, kind="monomial"):
        self.net, self.index, self.start, self.kind = net, tuple(index), start, kind
        alg = make_algebra(net)
        if not isinstance(alg, RingAlgebra):
            raise UnsupportedError(
                "the Galerkin route needs a readout and coupling polynomial in h (the ring "
                "algebra); use the methods 'taylor' or 'mc'"
            )
        self.alg = alg
        self.gens = Generators(net, alg, max_weight=max([1] + [1 + k for k in index]))
        self.nvars = len(alg.variables)
        self.measure = measure
        self.rcond = rcond
        self.readout = [alg.lift(e) for e in net.readout]
        self.ev = Evaluator(alg, codegen=False)
        self._images: dict = {}
        self._krylov: list = []  # levels [1], [f], [𝓛₀f], … of images
        self.channels = sorted(set(self.index))
        self._values_of, self._values = None, {}  # element values on the measure's points

    def _monomial_images(self, exps):
        alg, out = self.alg, []
        for e in exps:
            if e not in self._images:
                self._images[e] = self._image(alg.ctx.from_dict({e: 1}))
            out.append(self._images[e])
        return out

    def _image(self, g):
        return (g, self.gens.L0(g), [self.gens.L1(g, k) for k in self.channels])

    def _krylov_images(self, power):
        """1 and f_o, 𝓛₀f_o, …, 𝓛₀^power f_o for every readout component (the constant keeps
        μ[·] exact on the span; the 𝓛₀-image of the last power is the next power)."""
        kry = self._krylov
        if not kry:
            kry.append([self._image(self.alg.lift(1))])
            kry.append([self._image(f) for f in self.readout])
        while len(kry) <= power + 1:
            kry.append([self._image(l0) for _, l0, _ in kry[-1]])
        return [img for level in kry[: power + 2] for img in level]

    def basis(self, level):
        """The images (ψ, 𝓛₀ψ, [𝓛₁ᵏψ]) of the basis at ``level``: monomials of total degree
        ≤ level, the Krylov set up to 𝓛₀^level f, or both."""
        imgs = []
        if self.kind in ("monomial", "both"):
            imgs += self._monomial_images(_monomials(self.nvars, level))
        if self.kind in ("krylov", "both"):
            imgs += self._krylov_images(level)
        return imgs

    def projections(self, level):
        """The projection from all points, and one per deleted batch (jackknife)."""
        imgs = self.basis(level)
        d, p = len(imgs), self.net.p
        psi = [g for g, _, _ in imgs]
        L0 = [l0 for _, l0, _ in imgs]
        L1 = [[l1[c] for _, _, l1 in imgs] for c in range(len(self.channels))]
        table = psi + L0 + [x for col in L1 for x in col] + self.readout
        meas = self.measure
        groups = meas.batches or [np.arange(len(meas.weights))]
        V_all = self._cached_values(table)
        sums = []
        for grp in groups:
            S = {
                "M": np.zeros((d, d)),
                "L": np.zeros((d, d)),
                "B": np.zeros((len(self.channels), d, d)),
                "F": np.zeros((d, p)),
                "m": np.zeros(d),
                "w": 0.0,
            }
            for a in range(0, len(grp), _CHUNK):
                sel = grp[a : a + _CHUNK]
                w = meas.weights[sel]
                V = V_all[sel] if V_all is not None else self.ev(table, meas.points[sel], weights=w)
                P = V[:, :d]
                Pw = P * w[:, None]
                S["M"] += Pw.T @ P
                S["L"] += Pw.T @ V[:, d : 2 * d]
                for c in range(len(self.channels)):
                    S["B"][c] += Pw.T @ V[:, (2 + c) * d : (3 + c) * d]
                S["F"] += Pw.T @ V[:, (2 + len(self.channels)) * d :]
                S["m"] += Pw.sum(axis=0)
                S["w"] += w.sum()
            sums.append(S)
        total = {k: sum(S[k] for S in sums) for k in sums[0]}
        Q, kept = self._orthonormal(total["M"] / total["w"])
        h0 = None
        if self.start == "point":
            if self.net.h0 is None:
                raise ArgumentError("a point start needs h0 (start.h0 in the spec)")
            h0 = np.array(self.net.h0.evalf(), float).reshape(1, -1)
            psi0 = self.ev(psi, h0)[0]
        main = self._project(total, Q, None if h0 is None else psi0)
        reps = []
        if meas.batches is not None:
            for S in sums:
                rest = {k: total[k] - S[k] for k in total}
                reps.append(self._project(rest, Q, None if h0 is None else psi0))
        return main, reps, {"degree": int(level), "basis_size": d, "kept": kept}

    def _cached_values(self, table):
        """Values of ``table`` at every point of the measure, each element evaluated once
        for all levels (the bases are nested, and their images are cached objects), or
        None when the cache would pass _CACHE_FLOATS (then each level evaluates in chunks)."""
        meas = self.measure
        if self._values_of is not meas:  # a new measure (Gauss–Hermite grows with the level)
            self._values_of, self._values = meas, {}
        new = [g for g in table if id(g) not in self._values]
        if len(meas.weights) * (len(self._values) + len(new)) > _CACHE_FLOATS:
            return None
        if new:
            cols = self.ev(new, meas.points, weights=meas.weights)
            for j, g in enumerate(new):
                self._values[id(g)] = (g, cols[:, j])  # the element kept: its id stays unique
        return np.column_stack([self._values[id(g)][1] for g in table])

    def _orthonormal(self, M):
        dg = np.sqrt(np.clip(np.diag(M), 1e-300, None))
        Ms = M / dg[:, None] / dg[None, :]
        lam, U = np.linalg.eigh(Ms)
        keep = lam >= self.rcond * lam.max()
        return (U[:, keep] / np.sqrt(lam[keep])) / dg[:, None], int(keep.sum())

    def _project(self, S, Q, psi0):
        w = S["w"]
        Mt = Q.T @ (S["M"] / w) @ Q  # = I for the full set; ≈ I for a jackknife replicate
        solve = lambda X: np.linalg.solve(Mt, X)
        A = solve(Q.T @ (S["L"] / w) @ Q)
        Bs = {k: solve(Q.T @ (S["B"][c] / w) @ Q) for c, k in enumerate(self.channels)}
        c = solve(Q.T @ (S["F"] / w))
        # m_0 = μ[φ] (stationary) or φ(h_0) (point): K = m_0ᵀ(coordinates of g)
        m0 = Q.T @ (S["m"] / w) if psi0 is None else Q.T @ psi0
        return _Projection(A, [Bs[k] for k in self.index], c, m0)


# ------------------------------------------------------------------ the kernel
class GalerkinKernel(Kernel):
    """K⁽ⁿ⁾_k ≈ m_0ᵀ B_{k_n} e^{τ_n A} ⋯ B_{k_1} e^{τ_1 A} c on a basis of observables.

    Attributes
    ----------
    degree : int
        The level D of the result's basis: the total degree of the monomials (in h and the
        auxiliaries), or the highest power 𝓛₀ᴰf of the Krylov set.
    basis : str
        'monomial', 'krylov' or 'both'.
    converged : bool
        Whether max over the probe lags of :meth:`error` met ``tol``.
    history : list of dict
        Per degree tried: basis size, functions kept after orthonormalisation, and the
        max difference from the previous degree at the probe lags.
    expectation : str
        The projection measure's route: 'gaussian', 'gibbs', 'grid' (ρ_∞ of a 2-D network from
        the forward Kolmogorov equation on a tensor Chebyshev grid) or 'samples[N]'.
    """

    method = "galerkin"

    def __init__(self, order, index, start, main, previous, reps, prev_reps, info):
        self.order, self.index, self.start = order, tuple(index), start
        self._main, self._prev = main, previous
        self._reps, self._prev_reps = reps, prev_reps
        self.degree = info["degree"]
        self.tol = info["tol"]
        self.converged = info["converged"]
        self.history = info["history"]
        self.expectation = info["expectation"]
        self.lag_max = info["lag_max"]
        self.rcond = info["rcond"]
        self.basis = info["basis"]
        self._alt = info.get("alt")

    def _flat(self, lags):
        return lags.reshape(-1, self.nlags)

    def _values(self, proj, lags):
        out = proj(self._flat(lags), self.order, self.start == "point")
        return out.reshape(lags.shape[:-1] + (out.shape[-1],))

    def _evaluate(self, lags, **_):
        return self._values(self._main, lags)

    def mean_output(self, t) -> np.ndarray:
        """V_0(t) = μ_0[P_t f] on the same projection (len(t), p): m_0ᵀ c at a stationary
        start (μ[f] under the projection measure), m_0ᵀ e^{tA} c at a point start."""
        t = np.atleast_1d(np.asarray(t, float))
        pr = self._main
        if self.start == "stationary":
            return np.broadcast_to(pr.m0 @ pr.c, (len(t), pr.c.shape[1])).copy()
        return np.einsum(
            "a,nap->np", pr.m0, pr.propagate(t, np.broadcast_to(pr.c, (len(t),) + pr.c.shape))
        )

    def _jackknife(self, reps, lags, base=None):
        if not reps:
            return None
        vals = np.stack([self._values(r, lags) for r in reps])
        if base is not None:
            vals = vals - base
        B = len(reps)
        return np.sqrt((B - 1) / B * ((vals - vals.mean(axis=0)) ** 2).sum(axis=0))

    def _stderr(self, lags):
        """Delete-one-batch jackknife standard error (None for an exact quadrature)."""
        return self._jackknife(self._reps, lags)

    def error(self, lags) -> np.ndarray:
        """Estimated truncation error |K_D − K_{D−1}| (…, p) (successive bases; it bounds
        the error of the coarser basis and over-estimates that of the result when the
        projection converges), plus |K − K_coarse| when ρ_∞ is a grid density (the same basis
        under the coarser grid's rule).  Zero when only one degree was built (an invariant
        basis under an exact rule)."""
        lags = self._check_lags(lags)
        main = self._values(self._main, lags)
        err = np.zeros_like(main)
        if self._prev is not None:
            err += np.abs(main - self._values(self._prev, lags))
        if self._alt is not None:
            err += np.abs(main - self._values(self._alt, lags))
        return err

    def _diff_stderr(self, lags):
        if not self._reps or self._prev is None:
            return 0.0
        diff = [
            self._values(a, lags) - self._values(b, lags)
            for a, b in zip(self._reps, self._prev_reps)
        ]
        diff = np.stack(diff)
        B = len(diff)
        return np.sqrt((B - 1) / B * ((diff - diff.mean(axis=0)) ** 2).sum(axis=0))

    def _trusted(self, lags):
        ok = self.error(lags) <= self.tol + 3 * self._diff_stderr(lags)
        return np.all(ok, axis=-1)

    def _metadata(self):
        return {
            "degree": self.degree,
            "tol": self.tol,
            "converged": bool(self.converged),
            "expectation": self.expectation,
            "lag_max": self.lag_max,
            "rcond": self.rcond,
            "basis": self.basis,
            "history": self.history,
        }

    def _repr_fields(self):
        return {"degree": self.degree, "converged": self.converged}


def _probe_lags(nlags, lag_max):
    pts = np.linspace(0.0, lag_max, 11 if nlags == 1 else (6 if nlags == 2 else 4))
    return np.array(list(itertools.product(pts, repeat=nlags)))


def galerkin_kernel(
    net,
    order: int,
    index=None,
    *,
    start: str | None = None,
    degree: int | None = None,
    max_degree: int | None = None,
    basis: str = "monomial",
    tol: float = 1e-4,
    lag_max: float = 10.0,
    samples=None,
    seed: int = 0,
    batches: int = 10,
    rcond: float = 1e-10,
    quiet: bool = True,
) -> GalerkinKernel:
    """The Galerkin kernel K⁽ⁿ⁾_k ≈ m_0ᵀ B_{k_n} e^{τ_n A} ⋯ B_{k_1} e^{τ_1 A} c.

    Parameters
    ----------
    net : SRNN
        Readout and coupling polynomial in h; noise σ ≠ 0 (ρ_∞ is the projection measure).
    order : int ≥ 1
    index : sequence of int, optional
        0-based channels k_1..k_n (default zeros).
    start : {"stationary", "point"}, optional
        Default ``net.start``.
    basis : {"monomial", "krylov", "both"}
        The observables at level D: "monomial", every monomial of total degree ≤ D in h and
        the auxiliaries; "krylov", 1 and f, 𝓛₀f, …, 𝓛₀ᴰf (the short-time series resummed:
        the kernel agrees with the Taylor kernel of lag degree D at τ = 0 and stays bounded
        when A is stable); "both", their union (redundant directions are cut by ``rcond``).
    degree : int, optional
        A fixed level D (the error estimate then compares with D − 1).  Default: grow from
        the readout's degree (from 1 for "krylov") until the estimate meets ``tol`` or
        ``max_degree``.
    max_degree : int, optional
        The largest level tried (a warning when not converged there); default 6, 12 for
        "krylov".
    tol : float
        Tolerance on max over probe lags of |K_D − K_{D−1}| (absolute, in the kernel's units),
        to be met at two successive levels (at the one comparison of a fixed ``degree``).
    lag_max : float
        Probe lags span [0, lag_max] in every lag (11 points for n = 1, 6 per lag for n = 2).
    samples : (N, n) array or int, optional
        Stationary states for μ when ρ_∞ has no closed route (or a number N to draw with
        :func:`symresp.montecarlo.stationary_samples`, seed ``seed``).
    batches : int
        Batches of the delete-one-batch jackknife behind :meth:`GalerkinKernel.stderr`.
    rcond : float
        Eigenvalues of the Jacobi-scaled Gram matrix below ``rcond``·λ_max are cut.

    Returns
    -------
    GalerkinKernel
    """
    order = check_int(order, "order", minimum=1)
    start = net.start if start is None else start
    if start not in ("stationary", "point"):
        raise ArgumentError(f"start: expected 'stationary' or 'point', got {start!r}")
    index = (0,) * order if index is None else tuple(int(k) for k in index)
    if len(index) != order:
        raise ArgumentError(f"index: expected {order} channel(s), got {list(index)}")
    if net.input_monomials:
        raise UnsupportedError(
            "the Galerkin route takes an additive input; with the input inside a nonlinear "
            "activation use the methods 'taylor' or 'mc'"
        )
    if any(not 0 <= k < net.m for k in index):
        raise ArgumentError(f"index: channels must be 0-based in 0..{net.m - 1}, got {index}")
    if not net.derivable:
        raise UnsupportedError(
            f"the activation {net.activation.name!r} is not smooth: use the method 'mc'"
        )
    if all(x == 0 for x in net.Sigma):
        raise UnsupportedError(
            "the Galerkin route projects in L²(ρ_∞), which needs noise (σ ≠ 0); use the "
            "method 'deterministic' for σ = 0"
        )
    tol = check_float(tol, "tol", positive=True)
    lag_max = check_float(lag_max, "lag_max", positive=True)
    rcond = check_float(rcond, "rcond", positive=True)
    batches = check_int(batches, "batches", minimum=2)
    if basis not in BASES:
        raise ArgumentError(f"basis: expected one of {', '.join(map(repr, BASES))}, got {basis!r}")
    if max_degree is None:
        max_degree = 12 if basis == "krylov" else 6
    max_degree = check_int(max_degree, "max_degree", minimum=1)
    d0 = max(1, *(_degree(net, e) for e in net.readout))
    first = 1 if basis == "krylov" else d0  # the smallest level: 1, f, 𝓛₀f for Krylov
    if degree is not None:
        degree = check_int(degree, "degree", minimum=1)
        degrees = [degree - 1, degree] if degree - 1 >= first else [degree]
    else:
        degrees = list(range(first, max(first, max_degree) + 1))
    if samples is not None and np.ndim(samples) == 0:
        n_samples = check_int(samples, "samples", minimum=2 * batches)
        samples = None
        try:
            expectation_method(net, "stationary", None)
        except ArgumentError:
            if not grid_density_applies(net):  # the grid density needs no draws
                from symresp.montecarlo.estimators import stationary_samples  # loads numba

                samples = stationary_samples(net, n_samples, seed=seed, quiet=quiet)
    measure = _measure(net, samples, seed, batches, quiet, max(max(degrees), d0))
    builder = _Builder(net, index, start, measure, rcond, basis)
    probe = _probe_lags(order + (start == "point"), lag_max)
    invariant = net.is_linear and measure.route == "gaussian" and basis != "krylov"
    if invariant:
        # polynomials of the readout's degree are invariant: one basis is exact
        degrees = [degrees[-1]] if degree is not None else [d0]
    point = start == "point"
    built, history, converged, agreed = [], [], False, False
    for d in degrees:
        if measure.route == "gaussian":
            builder.measure = _gauss_hermite(net, max(d, d0))
        main, reps, info = builder.projections(d)
        vals = main(probe, order, point)
        if not np.all(np.isfinite(vals)):
            info["max_change"] = float("inf")
            history.append(info)
            break
        if built:
            pmain, preps = built[-1]
            diff = np.abs(vals - pmain(probe, order, point))
            noise = 0.0
            if reps:
                dd = np.stack(
                    [a(probe, order, point) - b(probe, order, point) for a, b in zip(reps, preps)]
                )
                noise = np.sqrt((len(dd) - 1) / len(dd) * ((dd - dd.mean(0)) ** 2).sum(0))
            info["max_change"] = float(diff.max())
            agree = bool(np.all(diff <= tol + 3 * noise))
            # two successive agreements (one where the level is fixed): a single one can be
            # an accident of a slowly converging basis (seen: degrees 1 and 2 agreeing to 7e-5
            # while both were 3e-4 off)
            converged = agree and (degree is not None or agreed)
            agreed = agree
        history.append(info)
        built.append((main, reps))
        if converged:
            break
    if len(built) == 1 and invariant:
        converged = True  # the invariant basis: exact up to rounding
    main, reps = built[-1]
    prev, prev_reps = built[-2] if len(built) > 1 else (None, [])
    alt = None
    if measure.alt is not None:  # the same basis under the coarser grid density
        builder.measure = measure.alt
        alt = builder.projections(history[len(built) - 1]["degree"])[0]
        density_change = float(np.abs(main(probe, order, point) - alt(probe, order, point)).max())
        history[len(built) - 1]["density_change"] = density_change
        converged = converged and density_change <= tol
    if not converged and not quiet:
        warnings.warn(
            f"Galerkin kernel not converged up to degree {history[-1]['degree']} "
            f"(last change {history[-1].get('max_change', float('nan')):.3g} > tol {tol:g})",
            RuntimeWarning,
            stacklevel=2,
        )
    return GalerkinKernel(
        order,
        index,
        start,
        main,
        prev,
        reps,
        prev_reps,
        {
            "degree": history[len(built) - 1]["degree"],
            "tol": tol,
            "converged": converged,
            "history": history,
            "expectation": measure.route,
            "lag_max": lag_max,
            "rcond": rcond,
            "basis": basis,
            "alt": alt,
        },
    )


def _degree(net, expr) -> int:

    expr = sp.sympify(expr)
    if not expr.free_symbols:
        return 0
    if not expr.is_polynomial(*net.h):
        raise UnsupportedError(
            "the Galerkin route needs a readout polynomial in h; use the methods 'taylor' or 'mc'"
        )
    return sp.Poly(expr, *net.h).total_degree()
