"""Signature engine: S(X)^{w_1…w_n}_{0,t} = ∫_{0<r_1<…<r_n<t} dX^{w_1}_{r_1} ⋯ dX^{w_n}_{r_n}.

symresp takes series (n_cases, n_channels, n_timepoints); iisignature and the oracles here
work on (length, d) points, so every call transposes with ``series()``.

Oracles: iisignature (the convention symresp follows), a brute-force sum over
segment assignments that never uses Chen's identity, and Chen's identity
itself (concatenation) as a property test.

Tolerance.  Every level-n component obeys |S^w| ≤ L^n / n! with L the
1-variation (sum of |increments| over all letters and segments), and the
float64 Chen recursion accumulates one rounding of relative size 2^-53 per
multiply-add, a few hundred to a thousand of them per component here (n
Horner steps per segment, up to 1000 segments).  So the error is bounded by
about 1e3 · 1.1e-16 · L^n/n!; we allow 1e-12 · L^n/n! per level (measured
worst case: about 2e-14 · L^n/n!).
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from symresp.features.signatures import level_offsets, sig_dim, signature, word_index, words

pytestmark = pytest.mark.usefixtures("warm_signature")

iisignature = pytest.importorskip("iisignature")

RTOL = 1e-12


def series(points):
    """iisignature's points (…, length, d) → symresp's series (…, n_channels, n_timepoints)."""
    return np.swapaxes(np.asarray(points), -1, -2)


def level_scale(paths, level):
    """L^n / n! per component (broadcast over the batch), the natural size of level n."""
    p = np.asarray(paths, dtype=float)
    if p.ndim == 2:
        p = p[None]
    L = np.abs(np.diff(p, axis=1)).sum(axis=(1, 2))  # (batch,)
    d = p.shape[2]
    cols = np.concatenate([np.full(d**n, float(n)) for n in range(1, level + 1)])
    fact = np.array([math.factorial(int(n)) for n in cols])
    return np.maximum(L[:, None] ** cols[None, :] / fact[None, :], 1e-300)  # L = 0: exact zeros


def assert_sig_close(ours, ref, paths, level):
    scale = level_scale(paths, level)
    ours = np.asarray(ours).reshape(scale.shape[0], -1, scale.shape[1])
    ref = np.asarray(ref).reshape(ours.shape)
    err = np.abs(ours - ref) / scale[:, None, :]
    assert err.max() <= RTOL, f"max error {err.max():.3g} (in units of L^n/n!)"


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(20261126)


@pytest.mark.parametrize(
    "d,level,batch,length",
    [
        (1, 4, 3, 10),
        (2, 3, 37, 25),
        (3, 6, 5, 40),
        (6, 4, 70, 30),
        (4, 2, 1, 1000),
        (2, 5, 2, 60),
        (3, 3, 200, 7),
    ],
)
def test_agrees_with_iisignature(rng, d, level, batch, length):
    paths = rng.standard_normal((batch, length, d)).cumsum(axis=1) / np.sqrt(length)
    assert_sig_close(signature(series(paths), level), iisignature.sig(paths, level), paths, level)


@pytest.mark.parametrize("batch", [1, 2, 19])  # both kernels: few (1, 2) and chunked
def test_all_times_agrees_with_iisignature(rng, batch):
    paths = rng.standard_normal((batch, 30, 3)).cumsum(axis=1) * 0.3
    ours = signature(series(paths), 4, all_times=True)
    assert ours.shape == (batch, 30, sig_dim(3, 4))
    assert np.all(ours[:, 0] == 0.0)  # one point: S = 1
    ref = iisignature.sig(paths, 4, 2)  # after point 1, 2, …
    assert_sig_close(ours[:, 1:], ref, paths, 4)
    np.testing.assert_array_equal(ours[:, -1], signature(series(paths), 4))


def test_single_path_drops_batch_axis(rng):
    path = rng.standard_normal((50, 2))
    s = signature(series(path), 3)
    assert s.shape == (sig_dim(2, 3),)
    assert_sig_close(s[None], iisignature.sig(path, 3)[None], path, 3)
    assert signature(series(path), 3, all_times=True).shape == (50, sig_dim(2, 3))


def brute_force_signature(path, level):
    """Σ over segment assignments j_1 ≤ … ≤ j_n of Π_i Δ_{j_i}^{w_i} / Π(run lengths)!:
    the iterated integral of a piecewise-linear path split by which segment
    each integration variable falls in (within one segment the n-fold
    integral of a linear path is Π Δ / n!).  No Chen products involved."""
    inc = np.diff(np.asarray(path, dtype=float), axis=0)
    M, d = inc.shape
    out = []
    for n in range(1, level + 1):
        for w in itertools.product(range(d), repeat=n):
            total = 0.0
            for js in itertools.combinations_with_replacement(range(M), n):
                term = 1.0
                for i in range(n):
                    term *= inc[js[i], w[i]]
                for _, run in itertools.groupby(js):
                    term /= math.factorial(len(list(run)))
                total += term
            out.append(total)
    return np.array(out)


@pytest.mark.parametrize("d,level,M", [(1, 5, 4), (2, 4, 5), (3, 3, 6)])
def test_agrees_with_brute_force_iterated_sums(rng, d, level, M):
    path = rng.standard_normal((M + 1, d))
    assert_sig_close(
        signature(series(path), level)[None], brute_force_signature(path, level)[None], path, level
    )


def tensor_product(x, y, d, level):
    """(x ⊗ y)_n = Σ_k x_k ⊗ y_{n-k} in the truncated tensor algebra (level 0 = 1);
    np.outer(...).ravel() is the lexicographic word order."""
    off = level_offsets(d, level)
    xs = [np.ones(1)] + [x[off[n - 1] : off[n]] for n in range(1, level + 1)]
    ys = [np.ones(1)] + [y[off[n - 1] : off[n]] for n in range(1, level + 1)]
    out = []
    for n in range(1, level + 1):
        out.append(sum(np.outer(xs[k], ys[n - k]).ravel() for k in range(n + 1)))
    return np.concatenate(out)


@settings(max_examples=25, deadline=None)
@given(
    d=st.integers(1, 3),
    level=st.integers(1, 4),
    la=st.integers(1, 8),
    lb=st.integers(1, 8),
    data=st.data(),
)
def test_chen_identity(d, level, la, lb, data):
    elems = st.floats(-2, 2, allow_nan=False, allow_infinity=False)
    a = data.draw(hnp.arrays(np.float64, (la, d), elements=elems))
    b = data.draw(hnp.arrays(np.float64, (lb, d), elements=elems))
    b = b - b[0] + a[-1]  # b starts where a ends
    joined = np.concatenate([a, b[1:]])
    lhs = signature(series(joined), level)
    rhs = tensor_product(signature(series(a), level), signature(series(b), level), d, level)
    assert_sig_close(lhs[None], rhs[None], np.concatenate([joined, joined]), level)


def test_prefixes_and_chunking_consistent(rng):
    """all_times[i] is the signature of the first i+1 points, and a path's
    signature does not depend on the other paths of its batch (chunking)."""
    paths = rng.standard_normal((45, 12, 2))
    allt = signature(series(paths), 3, all_times=True)
    for i in (1, 5, 11):
        np.testing.assert_allclose(
            allt[:, i], signature(series(paths[:, : i + 1]), 3), rtol=0, atol=1e-14
        )
    whole = signature(series(paths), 3)
    for j in (0, 17, 44):
        np.testing.assert_allclose(whole[j], signature(series(paths[j]), 3), rtol=0, atol=1e-14)


def test_reparametrisation_and_translation_invariance(rng):
    path = rng.standard_normal((10, 3))
    s = signature(series(path), 3)
    doubled = np.repeat(path, 2, axis=0)  # zero-length segments
    np.testing.assert_allclose(signature(series(doubled), 3), s, rtol=0, atol=1e-13)
    np.testing.assert_allclose(signature(series(path + 5.0), 3), s, rtol=0, atol=1e-13)


def test_linear_path_is_exponential():
    # one segment with increment Δ: S^w = Π Δ_{w_i} / n!
    delta = np.array([0.3, -1.2])
    s = signature(series(np.stack([np.zeros(2), delta])), 4)
    for w in words(2, 4):
        assert s[word_index(w, 2)] == pytest.approx(
            np.prod(delta[list(w)]) / math.factorial(len(w)), rel=1e-14, abs=1e-16
        )


def test_word_bookkeeping():
    assert sig_dim(3, 2) == 12 and sig_dim(1, 5) == 5
    ws = words(3, 3)
    assert len(ws) == sig_dim(3, 3)
    assert ws[:4] == [(0,), (1,), (2,), (0, 0)]
    assert all(word_index(w, 3) == i for i, w in enumerate(ws))
    assert list(level_offsets(2, 3)) == [0, 2, 6, 14]


def test_length_one_path_and_empty_batch():
    assert np.all(signature(np.zeros((4, 2, 1)), 3) == 0)  # 4 cases, 2 channels, 1 point
    assert signature(np.zeros((0, 2, 5)), 2).shape == (0, 6)
    assert signature(np.zeros((0, 2, 5)), 2, all_times=True).shape == (0, 5, 6)


@pytest.mark.parametrize(
    "paths,level,exc,match",
    [
        (np.zeros((5, 2)), 0, ValueError, r"level: expected an integer ≥ 1, got 0"),
        (np.zeros((5, 2)), 2.0, TypeError, r"level: expected an integer"),
        (np.zeros((5, 2)), True, TypeError, r"level: expected an integer"),
        (
            np.zeros((2, 3, 4, 5)),
            2,
            ValueError,
            r"X: expected \(n_cases, n_channels, n_timepoints\), "
            r"a single series .* got an array with 4 dimension",
        ),
        (np.zeros((3, 2, 0)), 2, ValueError, r"at least 1 time point.* n_timepoints"),
        (np.zeros((3, 0, 4)), 2, ValueError, r"at least one channel \(n_channels >= 1\)"),
        (
            np.array([[0.0, np.nan]]),
            2,
            ValueError,
            r"finite values, got nan at case 0, channel 0, "
            r"timepoint 1",
        ),
        ([np.zeros((2, 3)), np.zeros((3, 4))], 2, ValueError, r"same number of channels"),
        (np.array([[0.0, np.nan]]), 2, ValueError, r"finite"),
        (np.zeros((3, 2), dtype=complex), 2, ValueError, r"Complex data not supported"),
        (np.array([["a", "b"]]), 2, TypeError, r"real numeric array"),
    ],
)
def test_errors(paths, level, exc, match):
    with pytest.raises(exc, match=match):
        signature(paths, level)


def test_all_times_must_be_bool():
    with pytest.raises(TypeError, match="all_times: expected a bool"):
        signature(np.zeros((3, 2)), 2, all_times="yes")
