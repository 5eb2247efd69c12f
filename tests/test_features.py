"""Response features R_t = {t^{q0} S(X)^w_{0,t}}, X = ∫ψ⊗u; inputs are series (n_channels, n_timepoints).

Oracle: the iterated integrals
    I_{(q_1,k_1)…(q_n,k_n)}(t) = ∫_{t>s_1>…>s_n>0} Π_j s_j^{q_j} u^{k_j}(s_j) ds
computed exactly in the test by nested polynomial integration
(numpy.polynomial; sin t replaced by its Taylor polynomial of degree 31, exact
to 1e-35 on [0, 1.3]), independent of the signature code.  The features come
from a trapezoid path joined linearly, so they carry an O(dt²) error; the
tolerance is 2 dt² · (size of the integral) and the observed order is checked
by halving dt.
"""

import itertools
import json
import math

import numpy as np
import pytest
from numpy.polynomial import Polynomial as P

from symresp.errors import InputError
from symresp.features.response_features import (
    ResponseFeature,
    basis_matrix,
    feature_index,
    feature_words,
    features_json,
    integral_feature_index,
    response_feature,
    response_letters,
    support_path,
)
from symresp.features.signatures import level_offsets, signature

pytestmark = pytest.mark.usefixtures("warm_signature")

T_END = 1.3


def sin_poly(deg=31):
    return P([0 if j % 2 == 0 else (-1) ** (j // 2) / math.factorial(j) for j in range(deg + 1)])


INPUTS = {  # name: (channels as polynomials in s, numpy function of t)
    "one": ([P([1.0])], lambda t: np.ones((t.size, 1))),
    "t": ([P([0.0, 1.0])], lambda t: t[:, None]),
    "sin": ([sin_poly()], lambda t: np.sin(t)[:, None]),
    "one_sin": ([P([1.0]), sin_poly()], lambda t: np.stack([np.ones_like(t), np.sin(t)], axis=1)),
}


def iterated_integral(pairs, channels, t):
    """I_{(q_1,k_1)…(q_n,k_n)}(t) by nested exact integration: the innermost
    variable s_n first, J_n(s) = ∫_0^s r^{q_n} u^{k_n}(r) dr,
    J_j(s) = ∫_0^s r^{q_j} u^{k_j}(r) J_{j+1}(r) dr, I = J_1(t)."""
    J = P([1.0])
    for q, k in reversed(pairs):
        J = (P([0.0] * q + [1.0]) * channels[k] * J).integ(lbnd=0.0)
    return J(t)


def all_pairs_words(m, Q, N):
    letters = [(q, k) for q in range(Q + 1) for k in range(m)]
    for n in range(1, N + 1):
        yield from itertools.product(letters, repeat=n)


@pytest.mark.parametrize("name", list(INPUTS))
def test_features_equal_iterated_integrals(name):
    channels, fn = INPUTS[name]
    m, Q, N = len(channels), 2, 3
    t = np.linspace(0.0, T_END, 801)
    dt = t[1] - t[0]
    rf = response_feature(fn(t).T, t, level=N, degree=Q)
    assert rf.features.shape == ((Q + 1) * (1 + sum(((Q + 1) * m) ** n for n in range(1, N + 1))),)
    for q0 in range(Q + 1):
        assert rf.features[rf.index((), q0)] == pytest.approx(T_END**q0, rel=1e-15)
        for pairs in all_pairs_words(m, Q, N):
            exact = T_END**q0 * iterated_integral(pairs, channels, T_END)
            got = rf.features[rf.integral_index(pairs, q0)]
            size = T_END ** (q0 + sum(q + 1 for q, _ in pairs))  # |integrand| ≤ 1
            assert abs(got - exact) <= 2 * dt**2 * size, (pairs, q0, got, exact)


def test_u_equal_one_closed_form():
    # u = 1: I_{q_1…q_n}(t) = t^{Σ(q_j+1)} / Π_j Σ_{i≥j} (q_i+1)
    t = np.linspace(0.0, 1.0, 2001)
    rf = response_feature(np.ones(t.size), t, level=3, degree=2)
    for pairs in all_pairs_words(1, 2, 3):
        e = [q + 1 for q, _ in pairs]
        denom = np.prod([sum(e[j:]) for j in range(len(e))])
        assert rf.features[rf.integral_index(pairs)] == pytest.approx(
            1.0 / denom, abs=2 * (t[1] - t[0]) ** 2
        )


def test_second_order_convergence():
    channels, fn = INPUTS["sin"]
    pairs = ((2, 0), (1, 0), (0, 0))
    exact = iterated_integral(pairs, channels, T_END)
    errs = []
    for n in (101, 201, 401):
        t = np.linspace(0.0, T_END, n)
        rf = response_feature(fn(t).T, t, level=3, degree=2)
        errs.append(abs(rf.features[rf.integral_index(pairs)] - exact))
    ratios = [errs[0] / errs[1], errs[1] / errs[2]]
    assert all(3.5 < r < 4.5 for r in ratios), (errs, ratios)


def test_word_reversal_and_index_functions():
    m, N, Q = 2, 3, 1
    ws = feature_words(m, N, Q)
    letters = response_letters(m, Q)
    assert letters == [(0, 0), (0, 1), (1, 0), (1, 1)]
    n_words = len(ws)
    for q0 in range(Q + 1):
        for i, w in enumerate(ws):
            pairs = tuple(letters[ell] for ell in w)
            assert feature_index(pairs, q0, channels=m, level=N, degree=Q) == q0 * n_words + i
            assert feature_index(w, q0, channels=m, level=N, degree=Q) == q0 * n_words + i
            assert (
                integral_feature_index(pairs[::-1], q0, channels=m, level=N, degree=Q)
                == q0 * n_words + i
            )
    assert feature_index((), 1, channels=m, level=N, degree=Q) == n_words
    assert (
        feature_index([(1, 0)], 0, channels=m, level=N, degree=Q, include_time_factors=False)
        == 1 + 2
    )


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(word=[(2, 0)]), r"letter \(2, 0\) has q = 2; expected an integer in 0..1"),
        (dict(word=[(0, 2)]), r"has k = 2; expected an integer in 0..1"),
        (dict(word=[9]), r"integers ℓ in 0..3, got 9"),
        (dict(word=[0, 0, 0, 0]), r"at most level = 3 letters, got 4"),
        (dict(word=[0], q0=2), r"q0: expected an integer time power in 0..1"),
        (dict(word=[0], q0=1, include_time_factors=False), r"time factors excluded"),
    ],
)
def test_feature_index_errors(kwargs, match):
    word = kwargs.pop("word")
    with pytest.raises(ValueError, match=match):
        feature_index(word, kwargs.pop("q0", 0), channels=2, level=3, degree=1, **kwargs)


def test_time_factor_blocks_and_no_time_factors():
    t = np.linspace(0.0, 2.0, 51)
    u = np.stack([np.cos(t), t**2])  # (n_channels, n_timepoints)
    rf = response_feature(u, t, 2, 2)
    nw = len(rf.words)
    for q0 in range(3):
        np.testing.assert_allclose(
            rf.features[q0 * nw : (q0 + 1) * nw], 2.0**q0 * rf.features[:nw], rtol=1e-15
        )
    plain = response_feature(u, t, 2, 2, include_time_factors=False)
    assert plain.time_powers == (0,)
    np.testing.assert_array_equal(plain.features, rf.features[:nw])


def test_all_times_and_batch():
    t = np.linspace(0.0, 1.0, 41)
    u = np.stack([np.stack([np.sin(3 * t), np.cos(t)]), np.stack([t, t**3])])  # (2, 2, 41)
    rf = response_feature(u, t, 2, 1, all_times=True)
    assert rf.features.shape == (2, 41, rf.n_features)
    final = response_feature(u, t, 2, 1).features
    np.testing.assert_allclose(rf.features[:, -1], final, rtol=1e-14, atol=1e-15)
    for i in (1, 17, 30):  # prefix of the grid = features at t_i
        prefix = response_feature(u[..., : i + 1], t[: i + 1], 2, 1).features
        np.testing.assert_allclose(rf.features[:, i], prefix, rtol=1e-13, atol=1e-15)
    # at t_0 = 0: S^∅ = 1 and everything else 0 (t^{q0} = 0 for q0 >= 1)
    np.testing.assert_array_equal(rf.features[:, 0, 0], 1.0)
    assert np.all(rf.features[:, 0, 1 : len(rf.words)] == 0)


def test_legendre_is_exact_change_of_basis():
    # ψ^leg = A ψ^mon ⇒ X^leg = (A ⊗ I_m) X^mon ⇒ S(X^leg)_n = (A ⊗ I_m)^{⊗n} S(X^mon)_n
    m, Q, N, T = 2, 3, 3, 1.7
    t = np.linspace(0.0, T, 301)
    u = np.stack([np.sin(2 * t), np.exp(-t)])
    A = basis_matrix(Q, T)
    # A against numpy's Legendre polynomials
    for q in range(Q + 1):
        leg = np.polynomial.legendre.Legendre.basis(q, domain=[0, T]).convert(kind=P)
        np.testing.assert_allclose(
            A[q], np.pad(leg.coef, (0, Q + 1 - leg.coef.size)), atol=1e-12 * np.abs(A[q]).max()
        )
    M = np.kron(A, np.eye(m))
    Xm = support_path(u, t, Q, "monomial")
    Xl = support_path(u, t, Q, "legendre")
    assert Xm.shape == ((Q + 1) * m, t.size)  # the support path is a series
    np.testing.assert_allclose(Xl, M @ Xm, rtol=1e-12, atol=1e-14)
    sm = response_feature(u, t, N, Q, include_time_factors=False).features[1:]
    sl = response_feature(u, t, N, Q, basis="legendre", include_time_factors=False).features[1:]
    off = level_offsets((Q + 1) * m, N)
    Mn = np.ones((1, 1))
    for n in range(1, N + 1):
        Mn = np.kron(Mn, M)
        block = slice(off[n - 1], off[n])
        np.testing.assert_allclose(
            sl[block], Mn @ sm[block], rtol=1e-10, atol=1e-12 * np.abs(Mn @ sm[block]).max()
        )


def test_features_json():
    t = np.linspace(0.0, 1.0, 11)
    u = np.stack([t, 1 - t])
    out = features_json(u, t, 2, 1)
    text = json.dumps(out)  # JSON-able
    assert json.loads(text)["letters"] == [[0, 1], [0, 2], [1, 1], [1, 2]]
    assert out["words"][0] == [] and out["words"][1] == [0] and len(out["words"]) == 1 + 4 + 16
    assert len(out["features"]) == 2 * len(out["words"])
    assert out["time_powers"] == [0, 1] and out["t"] == [1.0]
    np.testing.assert_allclose(out["features"], response_feature(u, t, 2, 1).features)
    allt = features_json(u, t, 2, 1, all_times=True)
    assert len(allt["features"]) == 11 and len(allt["t"]) == 11


def test_result_object():
    t = np.linspace(0.0, 1.0, 5)
    rf = response_feature(np.ones(5), t, 2, 0)
    assert isinstance(rf, ResponseFeature)
    assert rf.letters == [(0, 0)] and rf.words == [(), (0,), (0, 0)]
    np.testing.assert_allclose(rf.features, [1.0, 1.0, 0.5], rtol=1e-15)


@pytest.mark.parametrize(
    "u,t,kw,match",
    [
        (np.ones(5), np.linspace(0.1, 1, 5), {}, r"t: the grid must start at t_0 = 0"),
        (np.ones(5), np.array([0, 1, 1, 2, 3.0]), {}, r"strictly increasing"),
        (
            np.ones(5),
            np.linspace(0, 1, 6),
            {},
            r"t: expected one time per time point of the series "
            r"\(n_timepoints = 5\), got shape \(6,\)",
        ),
        (
            np.ones((2, 2, 5, 1)),
            np.linspace(0, 1, 5),
            {},
            r"u: expected \(n_cases, n_channels, "
            r"n_timepoints\)",
        ),
        (np.ones(5), np.linspace(0, 1, 5), {"basis": "chebyshev"}, r"basis: expected one of"),
        (np.ones(5), np.linspace(0, 1, 5), {"degree": -1}, r"degree: expected an integer ≥ 0"),
        (np.ones(5), np.linspace(0, 1, 5), {"level": 0}, r"level: expected an integer ≥ 1"),
        (
            np.array([1, np.nan, 1, 1, 1.0]),
            np.linspace(0, 1, 5),
            {},
            r"u: expected finite values, got "
            r"nan at case 0, channel 0, timepoint 1",
        ),
        (
            np.ones(1),
            np.zeros(1),
            {},
            r"at least 2 time point\(s\) per series \(n_timepoints >= 2\)",
        ),
    ],
)
def test_input_errors(u, t, kw, match):
    args = dict(level=2, degree=1)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        response_feature(u, t, **args)


def test_complex_input_is_an_input_error():
    with pytest.raises(InputError, match=r"u: expected a real array; Complex data not supported"):
        response_feature(np.ones((2, 5), dtype=complex), np.linspace(0, 1, 5), 2, 1)


def test_signature_of_support_path_is_the_feature():
    t = np.linspace(0.0, 1.0, 21)
    u = np.stack([np.sin(t), np.cos(t)])
    X = support_path(u, t, 1)
    np.testing.assert_allclose(
        response_feature(u, t, 3, 1, include_time_factors=False).features[1:],
        signature(X, 3),
        rtol=0,
        atol=0,
    )
