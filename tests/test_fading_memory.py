"""The fading-memory basis ψ_q(r) = exp(−λ_q (T − r)) against exact iterated integrals.

Closed forms (derived here; E(c) = (1 − e^{−cT})/c, E(0) = T):

* level 1, u(r) = α + βr:  ∫_0^T e^{−λ(T−r)} (α + βr) dr = α E(λ) + β (T − E(λ))/λ,
  since ∫_0^T e^{−λ(T−r)} r dr = [r e^{−λ(T−r)}/λ]_0^T − ∫_0^T e^{−λ(T−r)}/λ dr.
* level 2, an exponential kernel.  The Volterra term of the kernel e^{−a_1 τ_1 − a_2 τ_2}
  (τ_1 = T − s_1, τ_2 = s_1 − s_2, T > s_1 > s_2 > 0) for u ≡ 1 is
      V = ∫_0^T e^{−a_1(T−s_1)} ∫_0^{s_1} e^{−a_2(s_1−s_2)} ds_2 ds_1
        = ∫_0^T e^{−a_1(T−s_1)} (1 − e^{−a_2 s_1})/a_2 ds_1
        = [E(a_1) − (e^{−a_2 T} − e^{−a_1 T})/(a_1 − a_2)] / a_2          (a_1 ≠ a_2).
  Rewriting e^{−a_1(T−s_1) − a_2(s_1−s_2)} = e^{−(a_1−a_2)(T−s_1)} e^{−a_2(T−s_2)} shows that V
  is one signature component of X = ∫ψ⊗u with rates λ = (0, a_2, a_1 − a_2): the word
  (letter of s_2: rate a_2, letter of s_1: rate a_1 − a_2) in signature order (earliest first).

Discretisation: u ≡ 1 and u linear are their own piecewise-linear interpolants, so the exact
step weights make X exact at the grid nodes (level 1: round-off, tolerance 1e-13 relative).
The signature of the chordal path differs from that of the smooth X at level 2 by at most
T h² (M2_a M1_b + M1_a M2_b)/8 (per step: ∫(X^a − L^a)dX^b ≤ h·h²M2_a/8·M1_b, and, after
integrating by parts, ∫(L^a − L^a_start)(dX^b − dL^b) = −L̇^a ∫e^b ≤ M1_a h·h²M2_b/8), with
M1 = max|Ẋ| ≤ 1 and M2 = max|Ẍ| ≤ λ for u ≡ 1.
"""

import numpy as np
import pytest

from symresp.features.fading_memory import correlation_time, exponential_weights
from symresp.features.response_features import response_feature, support_path

pytestmark = pytest.mark.usefixtures("warm_signature")


def E(c, T):
    return T if c == 0 else (1 - np.exp(-c * T)) / c


def test_step_weights_series_and_closed_form_agree():
    """w_0, w_1 on both sides of the switch at a = 0.5 match the integrals by 200-point
    Gauss–Legendre quadrature: rtol 1e-12, the quadrature's own accuracy at a = 40 (the
    integrand e^{−40(1−s)} is steep; at a <= 2 it agrees to 1e-15)."""
    a = np.array([0.0, 1e-8, 0.3, 0.4999, 0.5001, 2.0, 40.0])
    x, w = np.polynomial.legendre.leggauss(200)
    s = (x + 1) / 2
    q0 = np.array([np.sum(w / 2 * np.exp(-ai * (1 - s)) * (1 - s)) for ai in a])
    q1 = np.array([np.sum(w / 2 * np.exp(-ai * (1 - s)) * s) for ai in a])
    w0, w1 = exponential_weights(a)
    np.testing.assert_allclose(w0, q0, rtol=1e-12)
    np.testing.assert_allclose(w1, q1, rtol=1e-12)


def test_level_one_is_exact_for_linear_input():
    T, lam = 2.0, np.array([0.0, 0.7, 3.0, 25.0])
    t = np.linspace(0.0, T, 17)  # coarse: the weights are exact, steps may exceed 1/λ
    alpha, beta = 0.4, -1.3
    X = support_path((alpha + beta * t)[None], t, 3, "exponential", rates=lam)[:, -1]
    exact = [alpha * E(r, T) + beta * (T**2 / 2 if r == 0 else (T - E(r, T)) / r) for r in lam]
    np.testing.assert_allclose(X, exact, rtol=1e-13)


@pytest.mark.parametrize("a1, a2", [(4.0, 1.5), (2.0, 0.5)])
def test_exponential_kernel_is_one_signature_component(a1, a2):
    """V of the module docstring = S^{(q=1),(q=2)} with rates (0, a_2, a_1 − a_2) (a_1 > a_2:
    the rates of the basis are >= 0), within the chordal bound, and second order in h."""
    T = 1.0
    b = a1 - a2
    lam = np.array([0.0, a2, b])
    exact = (E(a1, T) - (np.exp(-a2 * T) - np.exp(-a1 * T)) / (a1 - a2)) / a2
    errors = []
    for n in (101, 201):
        t = np.linspace(0.0, T, n)
        rf = response_feature(np.ones((1, n)), t, 2, 2, basis="exponential", rates=lam)
        got = rf.features[rf.index(((1, 0), (2, 0)))]
        h = T / (n - 1)
        bound = T * h**2 * (lam[1] + lam[2]) / 8
        errors.append(abs(got - exact))
        assert errors[-1] <= bound, (errors[-1], bound)
    assert errors[0] / errors[1] > 3.5  # second order: the bound is not vacuous


def test_auto_rates_follow_the_data_time_scale():
    """An AR(1) series x_{k+1} = φ x_k + noise has ρ(k) = φ^k and integrated correlation
    time (1/2 + φ/(1−φ)) steps; at φ = 0.9 that is 9.5 steps.  Estimated from 40 series of
    2000 steps within 15 % (the estimator's sampling error is a few %)."""
    rng = np.random.default_rng(0)
    phi, n = 0.9, 2000
    x = np.zeros((40, 1, n))
    noise = rng.standard_normal((40, 1, n))
    for k in range(1, n):
        x[:, :, k] = phi * x[:, :, k - 1] + noise[:, :, k]
    grid = np.arange(n, dtype=float)
    tau = correlation_time(list(x), [grid] * 40)
    assert abs(tau - 9.5) < 0.15 * 9.5, tau
