"""The Kolmogorov PDE route for two-dimensional networks (tensor Chebyshev grid): closed forms
of the linear network, the Gibbs density of the Hopfield form, a pathwise-tangent Monte Carlo
for a 2-D tanh network, and the Galerkin route under the grid density."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tomllib
from scipy.linalg import expm

import symresp
from symresp.errors import UnsupportedError
from symresp.kernels.galerkin import galerkin_kernel
from symresp.kernels.pde import pde_kernel
from symresp.model.spec import spec_from_dict

ROOT = Path(__file__).resolve().parents[1]


def _spec(name, **start):
    d = tomllib.loads((ROOT / "derivations" / f"{name}.toml").read_text())
    if start:
        d["start"] = start
    return spec_from_dict(d)


# linear_2d_quadratic.toml: φ = −Ah + b, A = I − W, f = hᵀQh + vᵀh, C constant
A = np.eye(2) - np.array([[-0.5, 0.3], [-0.4, -0.2]])
B = np.array([0.2, -0.1])
Q = np.array([[1.0, 0.25], [0.25, 0.0]])
v = np.array([0.0, 1.0])
C = np.array([1.0, 0.5])
M_INF = np.linalg.solve(A, B)


@pytest.fixture(scope="module")
def tanh2():
    return _spec("tanh_2d")


@pytest.fixture(scope="module")
def pde_tanh(tanh2):
    return pde_kernel(tanh2, 1, points=28)


def test_linear_network_stationary_closed_forms():
    """Stationary start: K⁽¹⁾(τ) = (2m_∞ᵀQ + vᵀ) e^{−Aτ} C (A m_∞ = b), and
    K⁽²⁾(τ_1, τ_2) = 2 (e^{−Aτ_1}C)ᵀ Q e^{−A(τ_1+τ_2)} C (τ_1 = t − s_1, τ_2 = s_1 − s_2).
    The grid holds these polynomials exactly and its boundary rows (drift only, on a box ± 6
    standard deviations wide) barely reach the bulk: 1e-7 on kernels of size O(1); the
    refinement estimate (coarser grid on ± 5 standard deviations) must cover the actual error
    and stay below 1e-5."""
    net = _spec("linear_2d_quadratic")
    K1, K2 = pde_kernel(net, 1, points=28), pde_kernel(net, 2, points=28)
    taus = np.linspace(0, 8, 9)
    closed1 = [(2 * M_INF @ Q + v) @ expm(-A * t) @ C for t in taus]
    np.testing.assert_allclose(K1(taus[:, None])[:, 0], closed1, rtol=0, atol=1e-7)
    lags2 = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0], [1.0, 2.0]])  # one step: 1
    closed2 = [2 * (expm(-A * a) @ C) @ Q @ expm(-A * (a + b)) @ C for a, b in lags2]
    np.testing.assert_allclose(K2(lags2)[:, 0], closed2, rtol=0, atol=1e-7)
    err1 = K1.error(taus[:, None])[:, 0]
    assert np.all(np.abs(K1(taus[:, None])[:, 0] - closed1) <= err1 + 1e-12) and err1.max() < 1e-5
    assert K1.to_dict()["method"] == "pde" and len(K1.box) == 2


def test_linear_network_point_start_closed_form():
    """Point start h_0, kick at s, readout at t = s + τ: the kick moves h_t by e^{−Aτ}C, so
    K⁽¹⁾(τ, s) = E[∇f(h_t)]ᵀ e^{−Aτ} C = (2 m_tᵀQ + vᵀ) e^{−Aτ} C with
    m_t = E[h_t] = m_∞ + e^{−At}(h_0 − m_∞).  Same tolerance as above (plus barycentric
    interpolation at h_0, exact for the polynomials held)."""
    h0 = np.array([0.3, -0.2])
    net = _spec("linear_2d_quadratic", kind="point", h0=h0.tolist())
    K = pde_kernel(net, 1, points=28)
    lags = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 2.0], [2.0, 1.0]])
    closed = [
        (2 * (M_INF + expm(-A * (t + s)) @ (h0 - M_INF)) @ Q + v) @ expm(-A * t) @ C
        for t, s in lags
    ]
    np.testing.assert_allclose(K(lags)[:, 0], closed, rtol=0, atol=1e-7)


@pytest.mark.slow
def test_hopfield_gibbs_density_against_galerkin():
    # the Hopfield form with isotropic noise: ρ_∞ ∝ exp(−2U/s²) on the grid; the Galerkin
    # route projects under the package's independent Gibbs quadrature (Gauss–Legendre
    # panels).  1e-4 at lags up to 10 on a kernel of size ≈ 1; the PDE's own estimate ≪ that
    net = _spec("hopfield_2d")
    P = pde_kernel(net, 1, points=28)
    G = galerkin_kernel(net, 1, tol=1e-5)
    lags = np.linspace(0, 10, 11)[:, None]
    assert P.to_dict()["method"] == "pde" and G.expectation == "gibbs"
    assert P.error(lags).max() < 1e-3
    np.testing.assert_allclose(P(lags), G(lags), rtol=0, atol=1e-4)


def test_tanh_2d_against_a_pathwise_tangent_monte_carlo(tanh2, pde_tanh):
    """K⁽¹⁾ of derivations/tanh_2d.toml at lags 1–5 against K = E[∇f J_{s→t} C] (20000 paths,
    dt = 0.02 and 0.01 Richardson-extrapolated, exact in its standard error σ up to an O(dt²)
    remainder).  Budget per lag: 4σ + the PDE's refinement estimate + 3e-4 for the remainder
    (the Euler bias is ≈ 6e-3 at dt = 0.02; one Richardson step leaves ≲ 5 % of it).  σ is
    2e-4–3e-4, so a wrong coupling or drift (changes ≥ 1e-2) cannot pass."""
    lags = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    r = symresp.kernel_mc(
        tanh2, 1, [0], lags, method="tangent", paths=20000, dt=0.02, seed=11,
        richardson=True, quiet=True,
    )  # fmt: skip
    ref = pde_tanh(lags[:, None])[:, 0]
    budget = 4 * r.stderr[:, 0] + pde_tanh.error(lags[:, None])[:, 0] + 3e-4
    assert np.all(np.abs(r.values[:, 0] - ref) <= budget), (r.values[:, 0], ref, budget)
    assert r.stderr.max() < 1e-3


def test_galerkin_under_the_grid_density_matches_the_pde(tanh2, pde_tanh):
    # no closed ρ_∞: the Galerkin route projects under the forward equation's grid density.
    # The routes share that density but not the generator: basis of monomials in (h, tanh z)
    # against the backward equation on the grid.  1e-3 (the tolerance) at lags up to
    # 10 for K⁽¹⁾ (the PDE's own estimate is ≪ that); the Galerkin estimate covers the gap
    G = symresp.kernel(tanh2, 1, tol=1e-5)
    lags = np.linspace(0, 10, 21)[:, None]
    assert G.method == "galerkin" and G.expectation == "grid" and G.converged
    assert pde_tanh.error(lags).max() < 1e-3
    np.testing.assert_allclose(G(lags), pde_tanh(lags), rtol=0, atol=1e-3)
    gap = np.abs(G(lags) - pde_tanh(lags)) - pde_tanh.error(lags)
    assert np.all(gap <= G.error(lags) + G.tol)


@pytest.mark.slow
def test_second_order_tanh_2d_galerkin_against_the_pde(tanh2):
    # K⁽²⁾ by the recursion on the grid (block propagation over distinct lags); tolerance
    # 1e-3 as above on a 4 × 4 grid of lag pairs up to 6 (the PDE's estimate below that)
    P = pde_kernel(tanh2, 2, points=28)
    G = galerkin_kernel(tanh2, 2, tol=1e-4, lag_max=6.0)
    g = np.linspace(0, 6, 4)
    lags = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    np.testing.assert_allclose(G(lags), P(lags), rtol=0, atol=1e-3)
    assert P.error(lags).max() < 1e-3


def test_refusals():
    with pytest.raises(UnsupportedError, match="n ≤ 2"):
        pde_kernel(_spec("sigmoid_3d"), 1)
    degenerate = symresp.SRNN.create(
        n=2, m=1, activation="tanh", Gamma=1, W=[[0.5, 0.0], [0.0, 0.5]], b=[0.0, 0.0],
        C=[[1.0], [0.0]], sigma=[[0.5], [0.0]], V=[[1.0, 0.0]],
    )  # fmt: skip
    with pytest.raises(UnsupportedError, match="positive definite"):
        pde_kernel(degenerate, 1)
