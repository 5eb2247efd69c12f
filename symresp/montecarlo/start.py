"""The start of the simulated paths: a point, exact samples of the linear network's Gaussian
stationary law, or a burn-in from a point.

Linear network (identity activation): ``ρ_∞ = N(m_∞, S)`` with ``A m_∞ = M b`` and
``A S + S Aᵀ = Σ``, ``A = Γ − M W``.  Otherwise paths are run from h₀ for a burn-in time
``factor/λ`` with λ the slowest relaxation rate at the deterministic fixed point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from symresp.errors import ArgumentError
from symresp.expectation.gaussian import lyapunov_float
from symresp.model.numeric import numeric_network

__all__ = ["StartLaw", "linear_stationary", "burn_in_time", "start_law"]


@dataclass(frozen=True)
class StartLaw:
    """How a block initialises its paths.

    ``kind``: "point" (every path at ``h0``), "exact" (``mean + L ξ``, ξ ~ N(0, I), L Lᵀ = S)
    or "burn" (``nburn`` unperturbed steps from ``h0`` before the main phase)."""

    kind: str
    h0: np.ndarray | None = None
    mean: np.ndarray | None = None
    L: np.ndarray | None = None
    nburn: int = 0


def linear_stationary(net):
    """(m∞, S) of the linear network in float64: ``A m∞ = M b``, ``A S + S Aᵀ = Σ``,
    ``A = Γ − M W``."""
    if not net.is_linear:
        raise ArgumentError("linear_stationary: the network is not linear (identity activation).")
    num = numeric_network(net)
    A = num.Gamma - num.M @ num.W
    ev = np.linalg.eigvals(A)
    if not np.all(ev.real > 0):
        raise ArgumentError(
            "the linear network has no stationary law: A = Γ − M W has eigenvalues "
            f"{np.round(ev, 6).tolist()}, not all with positive real part; change network.Gamma "
            "or network.W, or use a point start ([start] kind = \"point\")."
        )
    m_inf = np.linalg.solve(A, num.M @ num.b)
    return m_inf, lyapunov_float(A, num.Sigma)


def burn_in_time(net, factor: float = 10.0) -> float:
    """Burn-in time ``factor / λ``: λ is the slowest relaxation rate (smallest real part of
    the eigenvalues of −Dφ) at the deterministic fixed point reached from h = 0 (or h0),
    or of Γ when that linearisation is not stable; e^{−10} ≈ 5·10⁻⁵ of the initial offset
    remains after the default factor."""
    from scipy.integrate import solve_ivp  # scipy: heavy, needed only here
    from scipy.optimize import root  # scipy: as above

    num = numeric_network(net)
    lam_g = float(np.linalg.eigvals(num.Gamma).real.min())
    lam = None
    try:
        h = np.zeros(num.n) if num.h0 is None else num.h0.copy()
        # relax along the deterministic flow first (robust start for the root finder)
        sol = solve_ivp(lambda t, x: num.phi(x), (0.0, 20.0 / lam_g), h, rtol=1e-6, atol=1e-9)
        res = root(num.phi, sol.y[:, -1], jac=num.jacobian)
        if res.success and np.all(np.isfinite(res.x)):
            ev = np.linalg.eigvals(-num.jacobian(res.x)).real.min()
            if ev > 1e-3:
                lam = float(ev)
    except Exception:  # any failure falls back to Γ
        lam = None
    if lam is None:
        lam = lam_g
    return factor / lam


def start_law(net, start, h0, burn_in, dt, factor=10.0):
    """The start of a run and its description: (StartLaw, {"start": ..., ["burn_in": ...]})."""
    num = numeric_network(net)
    start = start or net.start
    if start not in ("stationary", "point", "exact", "burn-in"):
        raise ArgumentError(
            f"start: expected 'stationary', 'exact', 'burn-in' or 'point', got {start!r}."
        )
    if start == "point":
        h = num.h0 if h0 is None else np.asarray(h0, float).ravel()
        if h is None:
            raise ArgumentError(
                f"start='point' needs h0 (n = {num.n} numbers): give h0=... or a "
                "spec with [start] h0."
            )
        if h.size != num.n:
            raise ArgumentError(f"h0: expected {num.n} numbers, got {h.size}.")
        return StartLaw("point", h0=h.astype(float)), {"start": "point"}
    if start == "exact" or (start == "stationary" and net.is_linear and burn_in is None):
        if not net.is_linear:
            raise ArgumentError(
                "start='exact' samples ρ∞ exactly only for the linear network "
                "(identity activation); use 'burn-in'."
            )
        m_inf, S = linear_stationary(net)
        w, Q = np.linalg.eigh(S)
        L = Q * np.sqrt(np.clip(w, 0.0, None))
        return StartLaw("exact", mean=m_inf, L=L), {"start": "exact"}
    tb = burn_in_time(net, factor) if burn_in is None else float(burn_in)
    if tb < 0:
        raise ArgumentError(f"burn_in: expected a non-negative time, got {burn_in!r}.")
    hinit = (
        num.h0
        if (h0 is None and num.h0 is not None)
        else (np.zeros(num.n) if h0 is None else np.asarray(h0, float).ravel())
    )
    nb = int(math.ceil(tb / dt - 1e-9))
    return StartLaw("burn", h0=hinit.astype(float), nburn=nb), {
        "start": "burn-in",
        "burn_in": nb * dt,
    }
