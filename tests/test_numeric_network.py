"""The numeric network (φ, Dφ, D²φ, fixed point) against SymPy and finite differences; the
Lyapunov solve against SciPy; the Stein moment recursion against closed forms."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import solve_continuous_lyapunov

from symresp import SRNN
from symresp.expectation.gaussian import (
    gaussian_stationary,
    lyapunov_exact,
    lyapunov_float,
    stein_moments,
)
from symresp.kernels.deterministic import find_fixed_point
from symresp.model.activations import (
    KNOWN_ACTIVATIONS,
    NUMERIC_ACTIVATIONS,
    Z,
    get_activation,
    numeric_activation,
    registry_expr,
)
from symresp.model.numeric import numeric_network
from symresp.montecarlo import linear_stationary

ZS = np.linspace(-3.0, 3.0, 61) + 0.0137  # avoids z = 0 (relu, abs)


@pytest.mark.parametrize("name", list(NUMERIC_ACTIVATIONS))
def test_numeric_activation_matches_sympy(name):
    num = NUMERIC_ACTIVATIONS[name]
    expr = registry_expr(name)
    for k, fn in enumerate((num.a, num.da, num.d2a)):
        dk = sp.diff(expr, Z, k).replace(sp.DiracDelta, lambda *args: sp.S.Zero)  # relu, abs: z ≠ 0
        ref = sp.lambdify(Z, dk, "numpy")
        want = np.broadcast_to(np.asarray(ref(ZS), float), ZS.shape)
        assert np.allclose(fn(ZS), want, rtol=1e-13, atol=1e-14), (name, k)


def test_numeric_activation_codes_and_user_expression():
    assert [a.code for a in NUMERIC_ACTIVATIONS.values()] == list(range(len(NUMERIC_ACTIVATIONS)))
    assert set(KNOWN_ACTIVATIONS) <= set(NUMERIC_ACTIVATIONS)
    user = numeric_activation(get_activation("z/(1+z**2)"))
    assert user.code == -1
    assert np.allclose(user.d2a(ZS), (2 * ZS**3 - 6 * ZS) / (1 + ZS**2) ** 3, rtol=1e-12)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # overflow-free forms
        for name in ("sigmoid", "softplus"):
            a = NUMERIC_ACTIVATIONS[name]
            assert np.all(np.isfinite(a.a(np.array([-800.0, 800.0]))))


def _net(activation, form="standard"):
    W = [[0.3, -0.5, 0.2], [0.4, 0.1, -0.3], [-0.2, 0.6, 0.1]]
    return SRNN.create(
        n=3,
        m=1,
        activation=activation,
        Gamma=[[1.0, 0.1, 0.0], [0.0, 1.2, 0.0], [0.0, 0.0, 0.8]],
        W=W,
        b=[0.1, -0.2, 0.3],
        C=[[1.0], [0.0], [0.5]],
        sigma=0.3,
        V=[[1.0, 0.0, 0.0]],
        form=form,
        start="point",
        h0=[0, 0, 0],
        derivable=activation not in ("relu", "abs"),
    )


@pytest.mark.parametrize("name", list(KNOWN_ACTIVATIONS) + ["z/(1+z**2)"])
@pytest.mark.parametrize("form", ["standard", "hopfield"])
def test_phi_derivatives_sympy_and_finite_differences(name, form):
    net = _net(name, form)
    num = numeric_network(net)
    hs = list(net.h)
    phi = sp.Matrix(net.drift)
    F = sp.lambdify([hs], list(phi), "numpy")
    J = sp.lambdify([hs], phi.jacobian(hs).tolist(), "numpy")
    Hs = sp.lambdify([hs], [[[sp.diff(e, a, b) for b in hs] for a in hs] for e in phi], "numpy")
    rng = np.random.default_rng(1)
    X = rng.uniform(-1.5, 1.5, (5, 3))
    assert num.phi(X).shape == (5, 3) and num.jacobian(X).shape == (5, 3, 3)
    assert num.hessian(X).shape == (5, 3, 3, 3)
    for x in X:
        assert np.allclose(num.phi(x), np.asarray(F(x), float).ravel(), rtol=1e-13, atol=1e-14)
        assert np.allclose(num.jacobian(x), np.asarray(J(x), float), rtol=1e-12, atol=1e-13)
        assert np.allclose(num.hessian(x), np.asarray(Hs(x), float), rtol=1e-12, atol=1e-13)
        h = 1e-6  # central differences: O(h²) ≈ 1e-12 truncation, 1e-10 rounding
        fd_j = np.column_stack(
            [(num.phi(x + h * e) - num.phi(x - h * e)) / (2 * h) for e in np.eye(3)]
        )
        fd_h = np.stack(
            [(num.jacobian(x + h * e) - num.jacobian(x - h * e)) / (2 * h) for e in np.eye(3)],
            axis=-1,
        )
        assert np.allclose(fd_j, num.jacobian(x), atol=1e-8)
        assert np.allclose(fd_h, num.hessian(x), atol=1e-7)


def test_fixed_point_of_tanh_network():
    net = _net("tanh")
    h, res = find_fixed_point(net)
    assert res < 1e-13
    # independent check: the SymPy drift vanishes there, and a damped iteration converges to it
    F = sp.lambdify([list(net.h)], list(net.drift), "numpy")
    assert np.max(np.abs(np.asarray(F(h), float))) < 1e-13
    x = np.zeros(3)
    for _ in range(4000):
        x = x + 0.05 * numeric_network(net).phi(x)
    assert np.allclose(x, h, atol=1e-10)
    assert np.array_equal(numeric_network(net).find_fixed_point()[0], h)


def test_lyapunov_against_scipy():
    rng = np.random.default_rng(3)
    A = np.eye(3) * 1.5 + 0.3 * rng.standard_normal((3, 3))
    B = rng.standard_normal((3, 2))
    Sig = B @ B.T
    S = lyapunov_float(A, Sig)
    assert np.allclose(S, solve_continuous_lyapunov(A, Sig), rtol=1e-12, atol=1e-14)
    assert np.allclose(A @ S + S @ A.T, Sig, atol=1e-12) and np.array_equal(S, S.T)
    Aq = sp.Matrix([[sp.Rational(3, 2), sp.Rational(1, 5)], [sp.Rational(-1, 3), 1]])
    Sq = sp.Matrix([[1, sp.Rational(1, 4)], [sp.Rational(1, 4), sp.Rational(1, 2)]])
    Se = lyapunov_exact(Aq, Sq)
    assert sp.simplify(Aq * Se + Se * Aq.T - Sq) == sp.zeros(2, 2)
    f = lambda M: np.array(M.evalf(), float)
    assert np.allclose(f(Se), solve_continuous_lyapunov(f(Aq), f(Sq)), rtol=1e-13)


def test_gaussian_stationary_matches_float_solve():
    lin = SRNN.create(
        n=2,
        m=1,
        activation="identity",
        Gamma=1.0,
        W=[[-0.5, 0.3], [-0.4, -0.2]],
        b=[0.2, -0.1],
        C=[[1.0], [0.5]],
        sigma=0.5,
        V=[[1.0, 0.0]],
    )
    m, S = gaussian_stationary(lin)
    mf, Sf = linear_stationary(lin)
    assert np.allclose(np.array(m.evalf(), float).ravel(), mf, rtol=1e-13)
    assert np.allclose(np.array(S.evalf(), float), Sf, rtol=1e-13)


def test_stein_moments_closed_forms():
    s, mu = Fraction(3, 2), Fraction(1, 3)
    one_d = stein_moments([Fraction(0)], [[s * s]], Fraction(1))
    assert one_d((4,)) == 3 * s**4 and one_d((6,)) == 15 * s**6 and one_d((3,)) == 0
    shifted = stein_moments([mu], [[s * s]], Fraction(1))
    assert shifted((3,)) == mu**3 + 3 * mu * s * s
    assert shifted((4,)) == mu**4 + 6 * mu**2 * s**2 + 3 * s**4
    S = [[Fraction(2), Fraction(1, 2)], [Fraction(1, 2), Fraction(1)]]
    two_d = stein_moments([Fraction(0), Fraction(0)], S, Fraction(1))
    assert two_d((2, 2)) == S[0][0] * S[1][1] + 2 * S[0][1] ** 2  # Isserlis
    assert two_d((1, 1)) == S[0][1] and two_d((3, 1)) == 3 * S[0][0] * S[0][1]
    # vectorised over a family of Gaussians, and SymPy numbers
    sv = np.array([0.5, 1.0, 2.0])
    vec = stein_moments([np.zeros(3)], [[sv**2]], np.ones(3))
    assert np.allclose(vec((4,)), 3 * sv**4, rtol=1e-15)
    sym = stein_moments([sp.Integer(0)], [[sp.Symbol("v")]], sp.Integer(1), normalize=sp.expand)
    assert sym((4,)) == 3 * sp.Symbol("v") ** 2
