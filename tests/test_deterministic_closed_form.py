"""Closed form of the deterministic (σ → 0, fixed-point) kernels: DeterministicKernel.as_expr.

Derivation.  At the fixed point h* (φ(h*) = 0, J = Dφ(h*)) the kernels are
K⁽¹⁾_k(τ_1) = ∇f e^{Jτ_1} C_k and

    K⁽²⁾_{k_1k_2}(τ_1, τ_2) = ∫_0^{τ_1} ∇f e^{J(τ_1−θ)} D²φ[e^{Jθ}C_{k_1}, e^{J(θ+τ_2)}C_{k_2}] dθ
                             + D²f[e^{Jτ_1}C_{k_1}, e^{J(τ_1+τ_2)}C_{k_2}]
                             + ∇f e^{Jτ_1} Dγ_{k_1}[e^{Jτ_2}C_{k_2}].

Diagonalise J = Q Λ Q⁻¹ and write g = ∇f Q, c_j = Q⁻¹C_{k_j}, T_{iab} = (Q⁻¹ D²φ[Q_a, Q_b])_i,
H_{ab} = D²f[Q_a, Q_b], G = Q⁻¹ Dγ_{k_1} Q.  Then e^{Jθ}C_{k_1} = Σ_a Q_a c_{1a} e^{λ_aθ},
e^{J(θ+τ_2)}C_{k_2} = Σ_b Q_b c_{2b} e^{λ_b(θ+τ_2)} and ∇f e^{J(τ_1−θ)} = Σ_i g_i e^{λ_i(τ_1−θ)} (Q⁻¹)_i,
so with μ = λ_a + λ_b

    ∫_0^{τ_1} e^{λ_i(τ_1−θ)} e^{μθ} dθ = e^{λ_iτ_1} (e^{(μ−λ_i)τ_1} − 1)/(μ − λ_i)
                                       = (e^{μτ_1} − e^{λ_iτ_1})/(μ − λ_i)    (μ ≠ λ_i),
                                       = τ_1 e^{λ_iτ_1}                       (μ = λ_i, resonance),

    K⁽¹⁾ = Σ_i g_i c_{1i} e^{λ_iτ_1},
    K⁽²⁾ = Σ_{iab} g_i T_{iab} c_{1a} c_{2b} e^{λ_bτ_2} (e^{μτ_1} − e^{λ_iτ_1})/(μ − λ_i)
         + Σ_{ab} H_{ab} c_{1a} c_{2b} e^{λ_aτ_1 + λ_b(τ_1+τ_2)}
         + Σ_{ib} g_i G_{ib} c_{2b} e^{λ_iτ_1 + λ_bτ_2}.

For complex λ the sum is real (J, C, ∇f real), so it equals the sum of the real parts,
Re(c e^{(x+iy)·τ}) = e^{x·τ}(Re c cos(y·τ) − Im c sin(y·τ)), after merging conjugate pairs.

The networks: φ(h) = −Γh + tanh(Wh + b), J = −Γ + diag(sech² z*) W, z* = Wh* + b.
Resonant case: Γ = diag(1, 2), W = [[0, 0], [w, 0]], so J is lower triangular with the
eigenvalues −1, −2 exactly, and λ_1 + λ_1 = λ_2 with T_{211} ∝ w² tanh''(z_2*) ≠ 0.
"""

import json

import numpy as np
import pytest
import sympy as sp

from symresp import SRNN
from symresp.kernels.deterministic import deterministic_kernel


def net_real(**kw):
    return SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        W=[[0.6, 0.4], [0.4, -0.3]],
        b=[0.3, -0.2],
        C=[[1.0, 0.2], [0.4, 1.0]],
        sigma=0.0,
        readout=kw.pop("readout", "h1 + 0.5*h2**2 - 0.3*h1*h2"),
        start="point",
        h0=[0.0, 0.0],
        **kw,
    )


def net_complex():
    return SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        W=[[0.3, -1.5], [1.5, 0.3]],
        b=[0.4, -0.3],
        C=[[1.0, 0.0], [0.3, 1.0]],
        sigma=0.0,
        readout="h1 + h2**2",
        start="point",
        h0=[0.0, 0.0],
    )


def net_resonant():
    return SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        Gamma=[1, 2],
        W=[[0, 0], [1.3, 0]],
        b=[0.5, 0.2],
        C=[[1.0, 0.3], [0.0, 1.0]],
        sigma=0.0,
        readout="h2",
        start="point",
        h0=[0.0, 0.0],
    )


def net_coupling():
    """A state-dependent coupling γ(h): the Dγ term of K⁽²⁾."""
    return SRNN.create(
        n=2,
        m=2,
        activation="tanh",
        W=[[0.6, 0.4], [0.4, -0.3]],
        b=[0.3, -0.2],
        coupling=[["1 + 0.5*h2", "0.2*h1"], ["0.4", "1 - 0.3*h1"]],
        sigma=0.0,
        readout="h1 + 0.5*h2**2",
        start="point",
        h0=[0.0, 0.0],
    )


def check(K, npts=40, seed=0):
    expr = K.as_expr()
    taus = K.lag_symbols()
    f = sp.lambdify(taus, expr, "numpy")
    lags = np.random.default_rng(seed).uniform(0, 4, (npts, K.nlags))
    ref = K(lags)
    got = np.array([np.asarray(f(*row), dtype=complex).ravel() for row in lags])
    assert np.max(np.abs(got.imag)) == 0.0  # a real expression
    got = got.real.reshape(ref.shape)
    floor = 1e-3 * np.max(np.abs(ref))
    rel = np.abs(got - ref) / np.maximum(np.abs(ref), floor)
    assert rel.max() <= 1e-10, rel.max()
    info = K.expr_info
    assert info["form"] == "modal" and info["exact"] is False
    assert info["lags"] == [str(t) for t in taus]
    return expr


@pytest.mark.parametrize("make", [net_real, net_complex, net_resonant, net_coupling])
@pytest.mark.parametrize("order,index", [(1, (0,)), (1, (1,)), (2, (0, 1)), (2, (1, 0))])
def test_closed_form_matches_kernel(make, order, index):
    net = make()
    K = deterministic_kernel(net, order, index)
    expr = check(K)
    # point start: one more lag, the earliest input time, which the kernel ignores
    assert K.nlags == order + 1 and not expr.has(K.lag_symbols()[-1])


def test_eigenvalue_kinds():
    assert np.all(deterministic_kernel(net_real(), 1).eigenvalues.imag == 0)
    assert np.all(np.abs(deterministic_kernel(net_complex(), 1).eigenvalues.imag) > 0.5)
    ev = np.sort(deterministic_kernel(net_resonant(), 1).eigenvalues.real)
    assert np.allclose(ev, [-2, -1], atol=1e-14)


def test_complex_eigenvalues_give_cos_sin():
    expr = deterministic_kernel(net_complex(), 2, (0, 1)).as_expr()
    assert expr.has(sp.cos) and expr.has(sp.sin) and not expr.has(sp.I)


def test_resonance_gives_secular_term():
    """μ = λ_1 + λ_1 = λ_2: the θ-integral is τ_1 e^{λ_2τ_1}.  By hand: h_1* = tanh(b_1),
    z_2* = w h_1* + b_2, D²φ_2[x, y] = w² tanh''(z_2*) x_1 y_1, f = h_2, and
    (e^{Jθ}C_1)_1 = e^{−θ}, (e^{J(θ+τ_2)}C_2)_1 = 0.3 e^{−(θ+τ_2)}, (∇f e^{J(τ_1−θ)})_2 = e^{−2(τ_1−θ)}:
    K⁽²⁾_{12} = ∫_0^{τ_1} e^{−2(τ_1−θ)} w² tanh''(z_2*) 0.3 e^{−2θ−τ_2} dθ
             = 0.3 w² tanh''(z_2*) τ_1 e^{−2τ_1−τ_2}."""
    t1, t2 = sp.symbols("tau1 tau2")
    w, b1, b2 = 1.3, 0.5, 0.2
    z2 = w * np.tanh(b1) + b2
    d2tanh = -2 * np.tanh(z2) / np.cosh(z2) ** 2
    expected = 0.3 * w**2 * d2tanh * t1 * sp.exp(-2 * t1 - t2)
    expr = deterministic_kernel(net_resonant(), 2, (0, 1)).as_expr()
    assert t1 in sp.Mul.make_args(expr)  # one secular term c τ_1 e^{…}
    f, g = (sp.lambdify((t1, t2), e, "numpy") for e in (expr, expected))
    for a, b in np.random.default_rng(1).uniform(0, 4, (20, 2)):
        assert abs(f(a, b) - g(a, b)) <= 1e-12 * abs(g(a, b))
    assert not expr.has(sp.zoo, sp.nan, sp.oo)


def test_stationary_start_and_several_outputs():
    net = net_real(readout=["h1 + h2**2", "h1*h2"])
    K = deterministic_kernel(net, 2, (1, 0), start="stationary")
    expr = check(K)
    assert isinstance(expr, sp.Matrix) and expr.shape == (2, 1)
    assert K.nlags == 2
    assert K.latex() and K._repr_latex_().startswith("$K^{(2)}_{2,1}")


def test_cli_symbolic_json_round_trip(tmp_path, capsys):
    import symresp.cli as cli

    spec = tmp_path / "rot.toml"
    spec.write_text(
        "[network]\nn = 2\nm = 2\nactivation = \"tanh\"\nGamma = 1\n"
        "W = [[0.3, -1.5], [1.5, 0.3]]\nb = [0.4, -0.3]\nC = [[1.0, 0.0], [0.3, 1.0]]\n"
        "sigma = 0.2\n[readout]\nexpression = \"h1 + h2**2\"\n"
    )
    base = ["kernel", str(spec), "--order", "2", "--index", "1,2", "--method", "deterministic"]
    cli.main(base + ["--symbolic", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "deterministic" and out["form"] == "modal"
    assert out["exact"] is False and out["lags"] == ["tau1", "tau2"] and out["index"] == [1, 2]
    expr = sp.sympify(out["expr"])
    assert expr.free_symbols <= {sp.Symbol("tau1"), sp.Symbol("tau2")}
    lags = [[0.3, 0.7], [1.9, 0.2]]
    cli.main(base + ["--lags", ";".join(f"{a},{b}" for a, b in lags), "--json"])
    ref = json.loads(capsys.readouterr().out)["values"]
    for (a, b), r in zip(lags, ref):
        val = complex(expr.subs({sp.Symbol("tau1"): a, sp.Symbol("tau2"): b}).evalf())
        assert val.imag == 0 and abs(val.real - r[0]) <= 1e-10 * abs(r[0])
