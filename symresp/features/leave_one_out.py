"""Leave-one-out predictions of ridge regression for many penalties from one SVD.

Ridge with an unpenalised intercept on centred columns Z (n × p) and targets Y has the hat
matrix ``H_α = 11ᵀ/n + Z (ZᵀZ + αI)⁻¹ Zᵀ``.  With the thin SVD ``Z = U S Vᵀ``,

    Z (ZᵀZ + αI)⁻¹ Zᵀ = U diag(s²/(s² + α)) Uᵀ,

so fitted values and the hat diagonal ``h_ii = 1/n + Σ_j U_ij² s_j²/(s_j² + α)`` cost
O(n · rank) per α after one SVD, and the leave-one-out prediction of case i is exactly

    Ŷ_{−i} = Y_i − (Y_i − Ŷ_i) / (1 − h_ii)

(the Sherman–Morrison identity for a model linear in Y; the column statistics of Z are those
of all n cases, held fixed).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

__all__ = ["loo_ridge_predictions"]


def loo_ridge_predictions(Z: np.ndarray, Y: np.ndarray, alphas) -> np.ndarray:
    """Leave-one-out predictions, shape (len(alphas), n, k), for centred Z (n, p), Y (n, k)."""
    n = Z.shape[0]
    U, s, _ = scipy.linalg.svd(Z, full_matrices=False, lapack_driver="gesdd")
    keep = s > s.max(initial=0.0) * max(Z.shape) * np.finfo(float).eps
    U, s2 = U[:, keep], s[keep] ** 2
    mean = Y.mean(axis=0)
    UtY = U.T @ (Y - mean)
    out = np.empty((len(alphas), n, Y.shape[1]))
    for i, a in enumerate(alphas):
        shrink = s2 / (s2 + float(a))
        fitted = U @ (shrink[:, None] * UtY) + mean
        hat = np.minimum(1.0 / n + (U**2) @ shrink, 1.0 - 1e-12)
        out[i] = Y - (Y - fitted) / (1.0 - hat)[:, None]
    return out
