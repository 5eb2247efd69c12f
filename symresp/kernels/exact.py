"""Exact kernels of the linear network with a polynomial readout.

Exact up to floating-point rounding (no truncation in the lags).

**Linear network, polynomial readout.**  With the identity
   activation the drift is ``φ(h) = −A h + M b`` (``A = Γ − M W``) and

       𝓛₀ = (−A h + M b)·∇ + ½ Σ:∇∇

   maps a polynomial of degree ≤ D to one of degree ≤ D, so on the monomial basis
   ``{h^α : |α| ≤ D}`` it is a finite matrix ``L`` and ``P_τ = exp(τ𝓛₀)`` is the matrix
   exponential ``expm(τL)``.  The input operators ``𝓛₁ᵏ = γ_k·∇`` are matrices too:
   a constant coupling lowers the degree by one, an affine coupling keeps it, and a
   polynomial coupling of degree q raises it by q − 1 (the basis degree D is chosen
   large enough for the whole chain, so nothing is truncated).  The kernels
   K⁽ⁿ⁾ = μ_0[P_{s_n} 𝓛₁^{k_n} P_{τ_n} ⋯ 𝓛₁^{k_1} P_{τ_1} f] are then finite products of
   matrices:

       stationary:  K⁽ⁿ⁾_k(τ_1..τ_n)      = E_∞[ 𝓛₁^{k_n} P_{τ_n} ⋯ 𝓛₁^{k_1} P_{τ_1} f ]
       point start: K⁽ⁿ⁾_k(τ_1..τ_n, s_n) = ( P_{s_n} 𝓛₁^{k_n} P_{τ_n} ⋯ 𝓛₁^{k_1} P_{τ_1} f )(h_0)

   with the stationary expectation taken against the exact moments of
   ``ρ_∞ = N(m_∞, S)`` (:func:`symresp.expectation.gaussian.gaussian_stationary`).

The deterministic limit at a fixed point (σ = 0, φ(h*) = 0) lives in
:mod:`symresp.kernels.deterministic`.

Why ``scipy.linalg.expm`` on ``L`` (and not an eigen-decomposition): the
eigenvalues of ``L`` are the sums ``−Σ_i α_i λ_i(A)`` over multi-indices, which
collide as soon as two degrees resonate (e.g. λ₁ = 2λ₂, and always 0 twice when
Σ is degenerate); ``L`` is then defective and its eigenvector matrix is arbitrarily
ill-conditioned.  ``expm`` (Al-Mohy–Higham scaled and squared Padé) needs no
diagonalisation, is accurate to a few ulps times ``‖τL‖`` for these small,
block-triangular (by degree) matrices, and accepts a stack of lags at once.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numpy as np
import sympy as sp

from symresp.errors import ArgumentError
from symresp.expectation.gaussian import (
    gaussian_stationary,
    lyapunov_exact,
    stein_moments,
)
from symresp.kernels.base import Kernel
from symresp.kernels.propagators import expm_lags
from symresp.model.network import SRNN, _is_positive_stable
from symresp.symbolic.matexp import exp_minus_A

__all__ = ["has_exact", "exact_kernel", "ExactKernel", "MonomialBasis", "linear_closed_form"]


# ---------------------------------------------------------------- eligibility
def _poly_degree(expr: sp.Expr, hs) -> int | None:
    """Total degree of a polynomial in h, or None when the expression is not one."""
    expr = sp.sympify(expr)
    if not expr.free_symbols:
        return 0
    if not expr.is_polynomial(*hs):
        return None
    return sp.Poly(expr, *hs).total_degree()


def has_exact(net: SRNN) -> tuple[bool, str]:
    """Whether :func:`exact_kernel` applies to ``net``, and why (or why not).

    Applies to the linear network (identity activation, φ(h) = −A h + M b) with a
    polynomial readout and a polynomial input coupling (constant, affine, ...),
    at either start.  A stationary start also needs ``A = Γ − M W`` positive stable.
    """
    if not net.is_linear:
        return False, (
            f"exact kernels need the identity activation (a linear drift); this network "
            f"uses {net.activation.name!r}: use the methods 'taylor' (short-time series in "
            "the lags) or 'mc' (Monte Carlo with kicked copies), or 'deterministic' at a "
            "fixed point with σ = 0"
        )
    hs = net.h
    for i, e in enumerate(net.readout):
        if _poly_degree(e, hs) is None:
            return False, (
                f"exact kernels need a polynomial readout; readout component {i} (0-based) is "
                f"{e}: use the methods 'taylor' or 'mc'"
            )
    for (i, k), e in np.ndenumerate(np.array(net.coupling.tolist(), dtype=object)):
        if _poly_degree(e, hs) is None:
            return False, (
                f"exact kernels need a polynomial input coupling; coupling[{i}, {k}] (0-based) "
                f"is {e}: use the methods 'taylor' or 'mc'"
            )
    return True, (
        "linear network with polynomial readout: 𝓛₀ is a finite matrix on polynomials "
        "of bounded degree and P_τ = exp(τ𝓛₀) its matrix exponential, so the kernels are "
        "exact at all lags"
    )


# ------------------------------------------------------------ monomial basis
class MonomialBasis:
    """Monomials h^α with |α| ≤ degree, graded (by degree, then lexicographic).

    ``index[α]`` is the position of h^α; ``exps`` is the (N, n) array of exponents.
    """

    def __init__(self, n: int, degree: int):
        self.n, self.degree = n, degree
        exps = []
        for d in range(degree + 1):
            # all α with |α| = d, in reverse-lexicographic order of compositions
            for combo in itertools.combinations_with_replacement(range(n), d):
                a = [0] * n
                for i in combo:
                    a[i] += 1
                exps.append(tuple(a))
        self.exps = np.array(exps, dtype=np.int64).reshape(len(exps), n)
        self.index = {a: j for j, a in enumerate(exps)}

    def __len__(self):
        return len(self.index)

    def coefficients(self, expr: sp.Expr, hs) -> np.ndarray:
        """Coefficient vector of a polynomial expression (must fit the basis)."""
        v = np.zeros(len(self))
        expr = sp.expand(sp.sympify(expr))
        if expr == 0:
            return v
        for monom, c in sp.Poly(expr, *hs).terms():
            v[self.index[tuple(monom)]] += float(c)
        return v

    def values(self, H: np.ndarray) -> np.ndarray:
        """h^α at states H (..., n) → (..., N)."""
        H = np.asarray(H, float)
        out = np.ones(H.shape[:-1] + (len(self),))
        for i in range(self.n):
            out = out * H[..., i : i + 1] ** self.exps[:, i]
        return out

    def derivative_operator(self, coeff_of_h: dict, i: int) -> np.ndarray:
        """Matrix of g ↦ c(h) ∂_i g for a polynomial c given as {α: coeff}.

        Image monomials beyond the basis degree are dropped; callers size the basis
        so that this never happens on the vectors they apply it to.
        """
        N = len(self)
        Mx = np.zeros((N, N))
        for j, a in enumerate(map(tuple, self.exps)):
            if a[i] == 0:
                continue
            base = list(a)
            base[i] -= 1
            for beta, c in coeff_of_h.items():
                tgt = tuple(x + y for x, y in zip(base, beta))
                k = self.index.get(tgt)
                if k is not None:
                    Mx[k, j] += a[i] * c
        return Mx

    def second_derivative_operator(self, i: int, j: int) -> np.ndarray:
        """Matrix of g ↦ ∂_i ∂_j g."""
        N = len(self)
        Mx = np.zeros((N, N))
        for col, a in enumerate(map(tuple, self.exps)):
            b = list(a)
            if b[i] == 0:
                continue
            c = b[i]
            b[i] -= 1
            if b[j] == 0:
                continue
            c *= b[j]
            b[j] -= 1
            Mx[self.index[tuple(b)], col] += c
        return Mx


def _poly_dict(expr, hs) -> dict:
    expr = sp.expand(sp.sympify(expr))
    if expr == 0:
        return {}
    return {tuple(m): float(c) for m, c in sp.Poly(expr, *hs).terms()}


def _gaussian_moment_vector(basis: MonomialBasis, m: sp.Matrix, S: sp.Matrix) -> np.ndarray:
    """E[h^α] under N(m, S) for every basis monomial, exactly (SymPy), then to float
    (the Stein recursion of :func:`symresp.expectation.gaussian.stein_moments`)."""
    # m, S are exact SymPy numbers (rationals for a spec of decimals): keep them exact
    moment = stein_moments(
        [sp.sympify(x) for x in m],
        [[sp.sympify(x) for x in row] for row in S.tolist()],
        sp.Integer(1),
        normalize=lambda v: v if v.is_Rational else sp.expand(v),
    )
    return np.array([float(moment(a)) for a in basis.exps])


# --------------------------------------------------------------- exact kernel
class ExactKernel(Kernel):
    """Exact kernel K⁽ⁿ⁾_k = μ_0[P_{s_n} 𝓛₁^{k_n} P_{τ_n} ⋯ 𝓛₁^{k_1} P_{τ_1} f] of a linear
    network with polynomial readout (at a stationary start μ_0 = ρ_∞ absorbs P_{s_n}).

    Call with lags shaped (..., nlags) — (τ_1..τ_n) at a stationary start,
    (τ_1..τ_n, s_n) at a point start, τ_1 = t − s_1, τ_j = s_{j−1} − s_j — to get
    values shaped (..., p), like :class:`symresp.kernels.taylor.TaylorKernel`.  Order 0 is
    allowed: lags () give E_∞[f] (stationary), lags (t,) give E[f(h_t) | h_0] (point).

    Attributes: ``L0`` (the matrix of 𝓛₀ on ``basis``), ``L1`` (list of matrices of
    𝓛₁ᵏ), ``F`` (N×p readout coefficients), ``zero`` (True when the kernel vanishes
    identically: constant coupling and order above the readout degree).
    """

    method = "exact"

    def __init__(self, net: SRNN, order: int, index, start: str):
        self.net, self.order, self.index, self.start = net, order, tuple(index), start
        hs = net.h
        gamma = net.input_field
        d_f = max(_poly_degree(e, hs) for e in net.readout)
        d_g = max(_poly_degree(e, hs) for e in gamma)
        self.readout_degree, self.coupling_degree = d_f, d_g
        # degree of the chain after j input operators: d_f + j (d_g − 1), never below 0
        degs = [d_f]
        for _ in range(order):
            degs.append(max(degs[-1] + d_g - 1, 0) if degs[-1] > 0 else -1)
        self.zero = any(dg < 0 for dg in degs)  # a constant was differentiated: exactly zero
        D = max(max(degs), 0)
        self.basis = B = MonomialBasis(net.n, D)
        num = net.numeric()
        A = np.array(net.A.evalf(), float)
        c = np.array((net.M * net.b).evalf(), float).ravel()
        Sig = num["Sigma"]
        n = net.n
        # 𝓛₀ = Σ_i φ_i ∂_i + ½ Σ_ij Σ_ij ∂_i∂_j, φ_i = −Σ_j A_ij h_j + c_i
        L0 = np.zeros((len(B), len(B)))
        for i in range(n):
            phi_i = {}
            if c[i]:
                phi_i[(0,) * n] = c[i]
            for j in range(n):
                if A[i, j]:
                    e = [0] * n
                    e[j] = 1
                    phi_i[tuple(e)] = -A[i, j]
            L0 += B.derivative_operator(phi_i, i)
            for j in range(n):
                if Sig[i, j]:
                    L0 += 0.5 * Sig[i, j] * B.second_derivative_operator(i, j)
        self.L0 = L0
        self.L1 = [
            sum(B.derivative_operator(_poly_dict(gamma[i, k], hs), i) for i in range(n))
            for k in range(net.m)
        ]
        self.F = np.column_stack([B.coefficients(e, hs) for e in net.readout])
        if start == "stationary":
            m, S = _stationary(net)
            self.moments = _gaussian_moment_vector(B, m, S)
            self.h0 = None
        else:
            self.moments = None
            self.h0 = np.array(net.h0.evalf(), float).ravel()

    def _metadata(self) -> dict:
        return {
            "basis_degree": int(self.basis.degree),
            "basis_size": int(len(self.basis)),
            "zero": bool(self.zero),
        }

    def _as_expr(self):
        p = self.F.shape[1]
        taus = self.lag_symbols()
        if self.zero:
            exprs, info = [sp.Integer(0)] * p, {"exact": True, "form": "zero"}
        else:
            exprs, info = linear_closed_form(
                self.net.symbolic(), self.order, self.index, self.start, taus
            )
        net = self.net
        info.update(
            lags=[str(t) for t in taus],
            parameters={str(k): v for k, v in net.parameters},
        )
        expr = exprs[0] if p == 1 else sp.Matrix(exprs)
        return expr, info

    def _propagate(self, taus: np.ndarray, V: np.ndarray) -> np.ndarray:
        """expm(τ L0) applied to V (npts, N, p), one τ per point."""
        E = expm_lags(taus, self.L0)  # lags past the relaxation reach the limit, not NaN
        return E @ V

    def _evaluate(self, lags) -> np.ndarray:
        batch = lags.shape[:-1]
        p = self.F.shape[1]
        if self.zero:
            return np.zeros(batch + (p,))
        npts = int(np.prod(batch))
        flat = lags.reshape(npts, self.nlags)
        V = np.broadcast_to(self.F, (npts,) + self.F.shape).copy()
        for j in range(self.order):
            V = self._propagate(flat[:, j], V)  # P_{τ_j}
            V = self.L1[self.index[j]] @ V  # 𝓛₁^{k_j}
        if self.start == "stationary":
            out = np.einsum("a,xap->xp", self.moments, V)
        else:
            V = self._propagate(flat[:, -1], V)  # outermost P_{s_n}
            out = np.einsum("a,xap->xp", self.basis.values(self.h0), V)
        return out.reshape(batch + (p,))


@lru_cache(maxsize=32)
def _stationary_cached(net):
    return gaussian_stationary(net)


def _stationary(net):
    if not _is_positive_stable(net.A):
        raise ArgumentError(
            "stationary start: A = Γ − M W is not positive stable, so the linear "
            "network has no stationary law; use a point start"
        )
    return _stationary_cached(net)


def exact_kernel(net: SRNN, order: int, index=None, *, start: str | None = None) -> ExactKernel:
    """The exact kernel K⁽ⁿ⁾_k of a linear SRNN with polynomial readout (see :class:`ExactKernel`).

    ``index`` holds 0-based channels (length ``order``; default all zeros).  ``start``
    defaults to ``net.start``.  Raises ArgumentError (a ``ValueError``) naming the applicable methods
    ("taylor", "mc") when the network is not linear or the readout not polynomial.
    Orders above the readout degree vanish identically for a constant coupling
    (each 𝓛₁ᵏ lowers the degree by one and 𝓛₀ preserves it).
    """
    ok, why = has_exact(net)
    if not ok:
        raise ArgumentError(why)
    if not isinstance(order, (int, np.integer)) or order < 0:
        raise ArgumentError(f"order: expected an integer ≥ 0, got {order!r}")
    index = (0,) * order if index is None else tuple(int(k) for k in index)
    if len(index) != order or any(not 0 <= k < net.m for k in index):
        raise ArgumentError(
            f"index: expected {order} channel(s), each 0-based in 0..{net.m - 1}, got {list(index)}"
        )
    start = net.start if start is None else start
    if start not in ("stationary", "point"):
        raise ArgumentError(f"start: expected 'stationary' or 'point', got {start!r}")
    if start == "point" and net.h0 is None:
        raise ArgumentError(
            "a point start needs h0 (start.h0 in the spec, or net.with_start('point', h0))"
        )
    return ExactKernel(net, int(order), index, start)


# ------------------------------------------------------------- closed forms
_LAG_FUNCS = (sp.exp, sp.cos, sp.sin, sp.cosh, sp.sinh)


def _lag_atoms(E: sp.Matrix, tau) -> list:
    """The functions of one lag in e^{−Aτ}: exponentials, (hyperbolic) sines and cosines of
    multiples of τ, and τ itself (defective A)."""
    atoms = {a for a in E.atoms(*_LAG_FUNCS) if a.has(tau)}
    if any(e.has(tau) and e.subs({a: 1 for a in atoms}).has(tau) for e in E):
        atoms.add(tau)
    return sorted(atoms, key=sp.default_sort_key)


def _assemble(poly, gens_out: list, domain) -> sp.Expr:
    """A polynomial in the lag atoms back to SymPy: one term per monomial, its coefficient
    factored, and the exponentials of one monomial merged into one."""
    out = []
    terms = [(monom, domain.to_sympy(coeff)) for monom, coeff in poly.terms()]
    floats = [abs(complex(c)) for _, c in terms if c.is_number and c.has(sp.Float)]
    cut = 1e-14 * max(floats, default=0.0)  # rounding residues of a modal form
    for monom, c in terms:
        if c.is_number and c.has(sp.Float) and abs(complex(c)) <= cut:
            continue
        c = sp.factor(c) if not c.has(sp.Float) else c
        expo, rest = sp.Integer(0), sp.Integer(1)
        for g, e in zip(gens_out, monom):
            if not e:
                continue
            if g.func == sp.exp:
                expo += e * g.args[0]
            else:
                rest *= g**e
        out.append(c * rest * (sp.exp(sp.expand(expo)) if expo != 0 else 1))
    return sp.Add(*out)


def linear_closed_form(net: SRNN, order: int, index, start: str, taus):
    """The kernel of a linear network with polynomial readout in closed form.

    .. math::

        K^{(n)}_k = μ_0[P_{s_n} 𝓛_1^{k_n} P_{τ_n} ⋯ 𝓛_1^{k_1} P_{τ_1} f],\\qquad
        (P_τ g)(h) = E[g(X)],\\ X ∼ N(m_∞ + e^{−Aτ}(h − m_∞),\\ S − e^{−Aτ} S e^{−Aᵀτ}),

    with ``A m_∞ = M b`` and ``A S + S Aᵀ = Σ``; μ_0 is ``N(m_∞, S)`` at a stationary start
    and the evaluation at h_0 at a point start.  Only ``e^{−Aτ}`` is needed
    (:func:`symresp.symbolic.matexp.exp_minus_A`).  ``net`` may hold parameters (its
    :meth:`~symresp.model.network.SRNN.symbolic` form): the result is then exact in them
    where ``e^{−Aτ}`` is; otherwise (a modal form with numeric eigenvalues) the declared
    values are substituted everywhere.  The algebra runs in a sparse polynomial ring over
    the field of the parameters, with the lags' exponentials (and sines, cosines) as
    variables, so each term of the result is one function of the lags.

    Returns ``(exprs, info)``: one expression per readout component in the lag symbols
    ``taus`` and ``info = {"exact": bool, "form": ...}``.
    """
    values = net.values
    hs = list(net.h)
    n = len(hs)
    A = net.A
    Es, forms, exact = [], [], True
    for tau in taus:
        E, ex, form = exp_minus_A(A, tau, values)
        Es.append(E)
        forms.append(form)
        exact = exact and ex
    sub = (lambda M: M) if exact else (lambda M: M.xreplace(values))
    A, c, Sig = sub(A), sub(net.M * net.b), sub(net.Sigma)
    gamma, f = sub(net.input_field), sub(net.readout)
    if not exact:
        Es = [E.xreplace(values) for E in Es]
    m = A.LUsolve(c).applyfunc(sp.cancel)
    S = lyapunov_exact(A, Sig).applyfunc(sp.cancel)
    h0 = None if start == "stationary" else sub(net.h0)
    # lag atoms → ring variables
    atoms = []
    for E, tau in zip(Es, taus):
        atoms += _lag_atoms(E, tau)
    X = [sp.Symbol(f"_x{j}") for j in range(len(atoms))]
    to_x = dict(zip(atoms, X))
    Ex = [E.xreplace(to_x) for E in Es]
    pieces = [*Ex, m, S, gamma, f, Sig] + ([h0] if h0 is not None else [])
    flat = [e for M in pieces for e in M]
    # radicals of the parameters (√d of a 2×2 form) as field generators: a field of
    # rational functions is far faster than general expressions
    roots = sorted(
        {a for e in flat for a in e.atoms(sp.Pow) if a.free_symbols and not a.exp.is_Integer},
        key=sp.default_sort_key,
    )
    R_sym = [sp.Symbol(f"_r{j}") for j in range(len(roots))]
    flat = [e.xreplace(dict(zip(roots, R_sym))) for e in flat]
    try:
        R, elems = sp.sring(flat, *hs, *X, field=True)
    except Exception:  # a coefficient SymPy cannot put in a field: general expressions
        R, elems = sp.sring(flat, *hs, *X, domain="EX")
    it = iter(elems)
    take = lambda M: [[next(it) for _ in range(M.shape[1])] for _ in range(M.shape[0])]
    E_r = [take(E) for E in Ex]
    m_r = [row[0] for row in take(m)]
    S_r = take(S)
    g_r = take(gamma)
    f_r = [row[0] for row in take(f)]
    take(Sig)
    h0_r = [row[0] for row in take(h0)] if h0 is not None else None
    H = R.gens[:n]
    zero = R.zero

    def propagate(g, E):
        mean = [sum((E[i][j] * (H[j] - m_r[j]) for j in range(n)), zero) + m_r[i] for i in range(n)]
        ESE = [
            [
                sum((E[i][a] * S_r[a][b] * E[j][b] for a in range(n) for b in range(n)), zero)
                for j in range(n)
            ]
            for i in range(n)
        ]
        cov = [[S_r[i][j] - ESE[i][j] for j in range(n)] for i in range(n)]
        return _expect_ring(g, n, mean, cov, R)

    out = []
    for g in f_r:
        for j in range(order):
            g = propagate(g, E_r[j])
            k = index[j]
            g = sum((g_r[i][k] * g.diff(H[i]) for i in range(n)), zero)
        if start == "stationary":
            g = _expect_ring(g, n, m_r, S_r, R)
        else:
            g = propagate(g, E_r[-1])
            g = _expect_ring(g, n, h0_r, [[zero] * n for _ in range(n)], R)
        expr = _assemble(g, [sp.Integer(1)] * n + atoms, R.domain)
        out.append(expr.xreplace(dict(zip(R_sym, roots))) if roots else expr)
    form = "exponentials" if exact else "modal (numeric eigenvalues at the declared values)"
    return out, {"exact": bool(exact), "form": form, "propagator": sorted(set(forms))}


def _expect_ring(g, n: int, mean, cov, R):
    """E[g(X)] for X ∼ N(mean, cov): g a ring element, its first n variables the state."""
    moment = stein_moments(mean, cov, R.one)
    out = R.zero
    for monom, coeff in g.terms():
        rest = R({(0,) * n + tuple(monom[n:]): coeff})
        out += rest * moment(monom[:n])
    return out
