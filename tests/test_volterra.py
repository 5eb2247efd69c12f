"""Volterra terms: linear-time routes vs brute-force simplex quadrature, and the response-feature map.

Independent routes compared here:
* Gauss quadrature on the ordered simplex (``via="quadrature"``) — accurate to ~1e-12 for smooth
  inputs with q = 20 nodes per dimension;
* the iterated-integral recursion t^{q_0} ∫ Π_j s_j^{q_j} u^{k_j}(s_j) ds (cumulative trapezoid,
  error O(dt²));
* the exact pathwise shift of the linear network (input linear between grid points: the
  error against a smooth input is O(dt²));
* ⟨ℓ, R_t⟩ with the response feature of the features module (trapezoid support path and
  piecewise-linear signature: O(dt²)).
Tolerances are therefore set by the O(dt²) discretisation, and each test checks the rate
(halving dt divides the error by ≈ 4), so a wrong coefficient cannot hide inside the tolerance.
"""

import numpy as np
import pytest
import scipy.linalg as sla

import symresp
from symresp.series.response_map import predict_via_features, response_functional
from symresp.series.volterra import predict, volterra_linear_exact


def u1(s):
    return np.cos(3 * np.asarray(s, float))[:, None]


def u2(s):
    s = np.asarray(s, float)
    return np.column_stack([np.sin(2 * s), 1 - s])


@pytest.fixture(scope="module")
def tanh1():
    return symresp.load_spec("derivations/tanh_1d.toml")


@pytest.fixture(scope="module")
def lin():
    return symresp.load_spec("derivations/linear_2d_quadratic.toml")


def _rate(errors):
    return np.log2(errors[0] / errors[1])


def test_recursion_matches_quadrature_tanh(tanh1):
    """Taylor kernels (P = 6) inside their radius: recursion vs quadrature, O(dt²) with rate ≈ 2."""
    errs = []
    for M in (51, 101):
        t = np.linspace(0, 0.5, M)
        a = predict(
            tanh1, u1, order=2, eps=0.5, t=t, taylor=6, method="taylor", via="quadrature", q=20
        )
        b = predict(
            tanh1,
            u1,
            order=2,
            eps=0.5,
            t=t,
            taylor=6,
            method="taylor",
            via="recursion",
            min_steps=1,
        )
        errs.append(np.abs(a.scaled_terms[1:] - b.scaled_terms[1:]).max())
    assert errs[1] < 1e-5 * np.abs(a.scaled_terms[1:]).max() * 10
    assert 1.7 < _rate(errs) < 2.3


def test_linear_exact_shift_matches_quadrature_of_exact_kernels(lin):
    """The O(M) exact route (h^ε = h^0 + εx) equals quadrature of exact kernels; order 3 vanishes
    exactly (quadratic readout)."""
    errs = []
    for M in (101, 201):
        t = np.linspace(0, 1.0, M)
        ex = volterra_linear_exact(lin, u1(t), t, 3)
        stride = (M - 1) // 4
        ref = predict(
            lin, u1, order=2, eps=1.0, t=t[::stride], method="exact", via="quadrature", q=12
        ).scaled_terms[1:]
        errs.append(np.abs(ex[:2, ::stride] - ref).max())
        assert np.all(ex[2] == 0.0)
    assert 1.7 < _rate(errs) < 2.3


def test_linear_exact_first_order_closed_form(lin):
    """V_1 for u ≡ 1 and the linear part of the readout: ∫_0^t ∇f(m∞) e^{−Aτ} C dτ, closed form
    ∇f(m∞) A^{-1}(I − e^{−At}) C; the input is linear between grid points so the route is exact
    here up to round-off."""
    num = lin.numeric()
    A = np.array(lin.A.evalf(), float)
    C = num["C"]
    m, S = (np.array(x.evalf(), float) for x in symresp.gaussian_stationary(lin))
    # f = h1² + h1 h2/2 + h2: ∇f(m) = (2 m1 + m2/2, m1/2 + 1)
    g = np.array([2 * m[0, 0] + m[1, 0] / 2, m[0, 0] / 2 + 1])
    t = np.linspace(0, 2.0, 41)
    ex = volterra_linear_exact(lin, np.ones((len(t), 1)), t, 1)[0, :, 0]
    closed = [g @ np.linalg.solve(A, np.eye(2) - sla.expm(-A * s)) @ C[:, 0] for s in t]
    assert np.allclose(ex, closed, rtol=1e-12, atol=1e-13)


def test_point_start_recursion(lin):
    pt = lin.with_start("point", [0.3, -0.2])
    t = np.linspace(0, 0.8, 5)
    ref = predict(pt, u1, order=2, eps=0.7, t=t, method="exact", via="quadrature", q=12)
    rec = predict(pt, u1, order=2, eps=0.7, t=t, method="exact", via="recursion", min_steps=4000)
    tay = predict(
        pt, u1, order=2, eps=0.7, t=t, method="taylor", taylor=14, via="recursion", min_steps=4000
    )
    # O(dt²) with dt = 2e-4: ≲ 1e-7; the Taylor series (entire for the linear network) at P = 14
    # and t ≤ 0.8 is accurate to ~1e-9
    assert np.abs(rec.mean - ref.mean).max() < 1e-6
    assert np.abs(tay.mean - ref.mean).max() < 1e-6


def test_features_reproduce_series_two_channels():
    """⟨ℓ, R_t⟩ equals the Taylor series by quadrature to O(dt²) (rate ≈ 2) for a 2-input network
    at both starts, and the Legendre basis gives the same numbers to round-off."""
    net = symresp.SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        W=[[0.4, -0.6], [0.7, 0.1]],
        b=[0.2, -0.1],
        C=[[1.0, 0.0], [0.3, 0.8]],
        sigma=[0.0, 0.0],
        start="point",
        h0=[0.1, -0.2],
    )
    errs = []
    for M in (101, 201):
        t = np.linspace(0, 0.4, M)
        ref = predict(
            net, u2, order=2, eps=0.6, t=t, taylor=4, method="taylor", via="quadrature", q=16
        ).mean
        mon = predict_via_features(net, u2, order=2, eps=0.6, t=t, taylor=4).mean
        leg = predict_via_features(net, u2, order=2, eps=0.6, t=t, taylor=4, basis="legendre").mean
        errs.append(np.abs(ref - mon).max())
        assert np.abs(mon - leg).max() < 1e-12
    assert errs[1] < 1e-5
    assert 1.7 < _rate(errs) < 2.3


def test_functional_is_linear_in_readout(tanh1):
    """Readout-only training: with f = V h the coefficients are linear in V."""
    n1 = tanh1
    n2 = symresp.SRNN.create(
        n=1, activation="tanh", W=[[0.8]], b=[0.1], C=[[1.0]], sigma=0.5, V=[[2.5]]
    )
    F1 = response_functional(n1, 2, 4)
    F2 = response_functional(n2, 2, 4)
    assert np.allclose(F2.by_order, 2.5 * F1.by_order, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("spec", ["linear_2d_quadratic", "tanh_1d", "hopfield_2d"])
def test_fdt_kernel_equals_operator_form(spec):
    """Correlation form: E∞[A_k 𝓛₀ᵖ f] = E∞[𝓛₁ᵏ 𝓛₀ᵖ f]. Exact rationals for the linear network (0.0);
    quadrature (~1e-15 relative) for the gradient networks."""
    from symresp.kernels.taylor import fdt_kernel, taylor_kernel
    from symresp.symbolic.recursion import derive

    net = symresp.load_spec(f"derivations/{spec}.toml")
    d = derive(net, 1, 4)
    a, b = taylor_kernel(d, 1, (0,)), fdt_kernel(d, 0)
    assert np.allclose(a.coeffs, b.coeffs, rtol=1e-11, atol=1e-13)
