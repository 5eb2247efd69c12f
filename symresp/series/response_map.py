"""The exact map from a derived network to its functional on the response feature.

With Taylor kernels, every Volterra term is a finite combination of
``t^{q_0} I_{(q_1,k_1)…(q_n,k_n)}(t)``, ``I(t) = ∫_{t>s_1>…>s_n>0} Π_j s_j^{q_j} u^{k_j}(s_j) ds``
(:func:`symresp.series.volterra.iterated_integral_form`), and
``I_{(q_1,k_1)…(q_n,k_n)} = S(X)^{ℓ_n…ℓ_1}`` for ``X = ∫ψ⊗u``, ``ℓ = q·m + k``.  Hence

    E[y_t] ≈ ⟨ℓ, R_t⟩ = Σ_n εⁿ ⟨ℓ_n, R_t⟩ + ⟨ℓ_0, R_t⟩,

where ``ℓ_0`` carries V_0 on the empty word (constant at a stationary start, the
polynomial Σ_p c_p t^p/p! at a point start).  The coefficients depend on the architecture
only, not on the input.  For the shifted-Legendre support basis the change of basis is
exact and linear: if ``X_leg = L X_mon`` then ``S(X_leg) = L^{⊗k} S(X_mon)`` on level k, so
``ℓ_leg = (L^{−T})^{⊗k} ℓ_mon``.

The feature code (numba) is imported inside the functions that evaluate features, so that
``import symresp.series`` stays numba-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

from symresp.errors import ArgumentError
from symresp.expectation.start_law import expect
from symresp.kernels.taylor import taylor_kernel
from symresp.model.inputs import parse_input
from symresp.series.volterra import (
    Prediction,
    _precision_context,
    _real,
    iterated_integral_form,
    time_arguments,
)
from symresp.symbolic.generators import monomial_inputs
from symresp.symbolic.recursion import derive

__all__ = ["ResponseFunctional", "response_functional", "predict_via_features"]


@dataclass
class ResponseFunctional:
    """ℓ_n for n = 0..order on the response feature of (level = order, degree = Q).

    ``by_order[n]`` has shape (n_features, p); :meth:`coefficients` combines them for an
    amplitude ε.  Feature layout as :func:`symresp.features.response_feature`.
    """

    by_order: np.ndarray
    order: int
    degree: int
    channels: int
    basis: str
    T: float | None
    #: with the input inside a nonlinear activation: the input monomials u^ν as
    #: (weight, channel powers); the feature is then built on the path of the input
    #: monomials u^ν, one channel per monomial.  None: the channels are the inputs.
    monomials: list | None = None

    def feature_input(self, u_vals) -> np.ndarray:
        """The path the feature is built on: the inputs, or their monomials u^ν."""
        u_vals = np.asarray(u_vals, float)
        return u_vals if self.monomials is None else monomial_inputs(u_vals, self.monomials)

    def coefficients(self, eps: float) -> np.ndarray:
        """ℓ = Σ_n εⁿ ℓ_n, shaped (n_features, p)."""
        w = float(eps) ** np.arange(self.order + 1)
        return np.tensordot(w, self.by_order, axes=(0, 0))

    def _features(self, u_vals, t) -> np.ndarray:
        """R_t at every grid time, (len(t), n_features); ``u_vals`` (len(t), m)."""
        from symresp.features.response_features import response_feature  # numba

        path = np.ascontiguousarray(self.feature_input(u_vals).T)  # (n_channels, n_timepoints)
        return response_feature(
            path, t, self.order, self.degree, basis=self.basis, all_times=True
        ).features

    def evaluate(self, u_vals, t, *, eps: float) -> np.ndarray:
        """⟨ℓ, R_t⟩ = Σ_n εⁿ ⟨ℓ_n, R_t⟩ at every grid time: (len(t), p); ``u_vals`` holds
        the input on the grid, shaped (len(t), m)."""
        return self._features(u_vals, t) @ self.coefficients(eps)

    def evaluate_terms(self, u_vals, t, *, eps: float) -> np.ndarray:
        """The ε-scaled terms εⁿ ⟨ℓ_n, R_t⟩, n = 0..order: (order + 1, len(t), p)."""
        R = self._features(u_vals, t)
        w = float(eps) ** np.arange(self.order + 1)
        return w[:, None, None] * np.einsum("tf,nfp->ntp", R, self.by_order)


def response_functional(
    net,
    order: int,
    taylor: int,
    *,
    samples=None,
    basis: str = "monomial",
    T: float | None = None,
    truncation: str = "total",
) -> ResponseFunctional:
    """Derive the network's Taylor kernels and map them onto the response feature.

        E[y_t] ≈ Σ_n εⁿ ⟨ℓ_n, R_t⟩,   ℓ_n[t^{q_0} S^{ℓ_n…ℓ_1}] = L[q_0; (q_1,k_1)…(q_n,k_n)],

    with ``L`` the coefficients of :func:`symresp.series.volterra.iterated_integral_form`
    and ``ℓ = q·m + k``; ``ℓ_0`` carries V_0 on the empty word.  The feature needs level
    ``order`` and degree ``Q = taylor`` (``q_j ≤ P`` under total truncation;
    ``Q = (order + 1)·taylor`` under box truncation).  ``T`` (the horizon) is required for
    the Legendre basis, which lives on [0, T].

    Returns
    -------
    ResponseFunctional
    """
    from symresp.features.response_features import feature_words, integral_feature_index  # numba

    if order < 1:
        raise ArgumentError(f"order: expected ≥ 1, got {order}")
    der = derive(net, order, taylor, truncation=truncation)
    m, start = len(der.monomials), der.start
    kernels = {
        (n, k): taylor_kernel(der, n, k, samples=samples)
        for n in range(1, order + 1)
        for k in der.indices(n)
    }
    form = iterated_integral_form(kernels, start)
    Q = taylor if truncation == "total" else (order + 1) * taylor
    n_words = len(feature_words(m, order, Q))
    by_order = np.zeros((order + 1, n_words * (Q + 1), net.p))
    idx = lambda pairs, q0: integral_feature_index(pairs, q0, channels=m, level=order, degree=Q)
    for _n, terms in form.items():
        for (q0, pairs), c in terms.items():
            # the power of ε: the word's length, or Σ q_ν for input monomials u^ν
            by_order[der.weight(tuple(k for _, k in pairs)), idx(pairs, q0)] += c
    # V_0 on the empty word
    obs = sorted((p, g) for (k, p), g in der.observables.items() if k == ())
    vals, _ = expect(der, [g for _, gs in obs for g in gs], samples)
    vals = vals.reshape(len(obs), net.p)
    for (p, _), v in zip(obs, vals):
        q0 = p[0] if p else 0
        by_order[0, idx((), q0)] += v / factorial(q0)
    if basis == "legendre":
        if T is None:
            raise ArgumentError("basis='legendre' needs the horizon T (the basis lives on [0, T])")
        by_order = _to_legendre(by_order, m, order, Q, float(T))
    elif basis != "monomial":
        raise ArgumentError(f"basis: expected 'monomial' or 'legendre', got {basis!r}")
    return ResponseFunctional(
        by_order, order, Q, m, basis, T, monomials=list(der.monomials) if der.local_terms else None
    )


def _to_legendre(by_order, m, level, Q, T):
    from symresp.features.response_features import basis_matrix, feature_words  # numba

    A = basis_matrix(Q, T)  # ψ_leg = A ψ_mon
    L = np.kron(A, np.eye(m))  # letters ℓ = q·m + k
    Linv_T = np.linalg.inv(L).T
    words = feature_words(m, level, Q)
    D = (Q + 1) * m
    out = np.zeros_like(by_order)
    n_words = len(words)
    pos = {w: i for i, w in enumerate(words)}
    for q0 in range(Q + 1):
        base = q0 * n_words
        out[:, base] = by_order[:, base]  # the empty word is basis-free
        for k in range(1, level + 1):
            ws = [w for w in words if len(w) == k]
            block = np.array([by_order[:, base + pos[w]] for w in ws])  # (D^k, orders, p)
            tens = block.reshape((D,) * k + block.shape[1:])
            for axis in range(k):
                tens = np.moveaxis(np.tensordot(Linv_T, tens, axes=(1, axis)), 0, axis)
            block = tens.reshape(block.shape)
            for w, row in zip(ws, block):
                out[:, base + pos[w]] = row
    return out


def predict_via_features(
    net,
    u,
    *,
    order: int,
    eps: float = 1.0,
    T: float | None = None,
    dt: float | None = None,
    t=None,
    out_every: int = 1,
    taylor: int = 6,
    samples=None,
    basis: str = "monomial",
    precision: int | None = None,
) -> Prediction:
    """The truncated series as a linear functional of the response feature,

        E[y_t] ≈ ⟨ℓ(net), R_t(u)⟩ = Σ_{n=0}^{N} εⁿ ⟨ℓ_n, R_t⟩,

    on the grid of :func:`symresp.series.predict` (``T``, ``dt``, ``out_every``, or an
    explicit ``t`` starting at 0; exclusive).  ``u``: anything
    :func:`symresp.model.inputs.parse_input` accepts.  ``precision``: digits for the
    expectations (see :func:`symresp.series.predict`).

    Returns
    -------
    Prediction with ``via = "features"``.
    """
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 1:
        raise ArgumentError(f"order: expected an integer ≥ 1, got {order!r}")
    if not (_real(eps) and np.isfinite(eps)):
        raise ArgumentError(f"eps: expected a finite amplitude, got {eps!r}")
    grid = time_arguments(T, dt, t, out_every)
    if grid[0] != 0 or grid.size < 2:
        raise ArgumentError(
            "t: the response feature integrates from 0: expected a grid of at "
            "least 2 times starting at t = 0"
        )
    sig = parse_input(u, net.m)
    u_vals = np.asarray(sig(grid), float).reshape(len(grid), net.m)
    with _precision_context(precision):
        F = response_functional(net, int(order), taylor, samples=samples, basis=basis, T=grid[-1])
    scaled = F.evaluate_terms(u_vals, grid, eps=eps)
    return Prediction(
        grid, scaled.sum(axis=0), scaled, float(eps), int(order), "taylor", "features"
    )
