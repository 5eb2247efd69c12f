"""Matrix exponentials e^{τM} at any lag, including lags far beyond the relaxation time.

For a generator matrix M whose eigenvalues other than 0 all have negative real part (a
stable network: the constants are conserved, everything else decays), e^{τM} reaches its
limit to double precision once e^{Re λ τ} underflows for every decaying mode λ.  Evaluating
``expm(τM)`` at larger τ — say 1e308 — overflows inside the scaling-and-squaring algorithm
and returns NaN, although the kernel there is simply its limit (0 for a decaying kernel).
:func:`saturation_lag` gives that lag, and :func:`expm_lags` clamps to it.  An unstable M
(some Re λ > 0) is not clamped: its exponential really grows.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["saturation_lag", "expm_lags"]

#: e^{−x} underflows to 0 in double precision for x above about 745.
_UNDERFLOW = 750.0


def saturation_lag(M, *, tol: float = 1e-10) -> float:
    """The lag beyond which e^{τM} equals its limit in double precision (``inf`` when M has
    an eigenvalue with positive real part, or a decaying mode too slow to bound)."""
    M = np.asarray(M, float)
    if M.size == 0:
        return np.inf
    lam = np.linalg.eigvals(M)
    scale = max(1.0, float(np.max(np.abs(lam))))
    zero = np.abs(lam) <= tol * scale
    re = lam.real[~zero]
    if re.size == 0:
        return np.inf
    if np.any(re > -tol * scale):
        return np.inf
    return _UNDERFLOW / float(np.min(-re))


def expm_lags(taus, M) -> np.ndarray:
    """``expm(τ_i M)`` for every τ_i, shape (len(taus), N, N), with lags past
    :func:`saturation_lag` clamped to it."""
    taus = np.asarray(taus, float)
    cap = saturation_lag(M)
    if np.isfinite(cap):
        taus = np.minimum(taus, cap)
    return scipy.linalg.expm(taus[:, None, None] * np.asarray(M, float)[None])
