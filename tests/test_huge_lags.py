"""Kernels at lags far beyond the relaxation time are their limits, not NaN.

For the stable linear network K⁽¹⁾(τ) = V e^{−Aτ} C (linear readout) and, for the quadratic
readout, K⁽¹⁾_k(τ) = 2 m∞ᵀQ e^{−Aτ}C_k: every term carries e^{−Aτ}, so the kernel tends to 0;
expm(1e308·L) overflowed to NaN before.  An unstable generator is not clamped.
"""

from __future__ import annotations

import numpy as np

import symresp
from symresp.kernels.propagators import expm_lags, saturation_lag


def test_exact_kernels_at_huge_lags_are_zero():
    net = symresp.load_spec("derivations/linear_2d_quadratic.toml")
    for order, lags in ((1, [[1e308]]), (2, [[1e308, 1e308]]), (2, [[0.1, 1e300]])):
        K = symresp.kernel(net, order, [0] * order, method="exact")
        v = K(np.array(lags))
        assert np.all(np.isfinite(v)) and np.allclose(v, 0.0, atol=1e-300), (order, lags, v)


def test_deterministic_kernel_at_huge_lags_is_zero():
    net = symresp.load_spec("derivations/tanh_2d.toml")
    K = symresp.kernel(net, 2, [0, 0], method="deterministic")
    v = K(np.array([[1e308, 0.2], [0.3, 1e308]]))
    assert np.all(np.isfinite(v)) and np.allclose(v, 0.0, atol=1e-300)


def test_saturation_lag():
    A = np.array([[-1.0, 0.3], [0.0, -2.0]])
    assert np.isclose(saturation_lag(A), 750.0)
    assert saturation_lag(np.array([[0.5]])) == np.inf  # growing: never clamped
    L = np.diag([0.0, -1.0, -3.0])  # a conserved constant, two decaying modes
    E = expm_lags([1e308], L)[0]
    assert np.array_equal(E, np.diag([1.0, 0.0, 0.0]))
