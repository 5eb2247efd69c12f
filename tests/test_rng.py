"""The simulator's normal generator (interleaved xoshiro256** lanes + numpy's ziggurat with an
ordered fix-up stream) and the compiled step loop that draws from it.

The generator is hand-written (numpy's Generator called from numba costs several times more per
normal), so its distribution is tested here against the normal law itself and against numpy's
normals; every check states the false-alarm level it was set at."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from symresp import SRNN
from symresp.montecarlo import rng
from symresp.montecarlo import steps as S
from symresp.montecarlo.engine import NEVER
from symresp.montecarlo.simnet import sim_network

N = 1 << 22  # 4.2e6 draws: standard errors below 5e-4 on every moment tested
Z5 = 5.0  # five standard errors: false alarm ≈ 6e-7 per check under the null


@pytest.fixture(scope="module")
def draws():
    return rng.standard_normals(N, seed=20261201)


def test_moments(draws):
    """Mean 0, variance 1, skewness 0, excess kurtosis 0 of N(0, 1), each within five standard
    errors (√(1/N), √(2/N), √(6/N), √(24/N): the normal-theory sampling errors)."""
    x = draws
    assert abs(x.mean()) < Z5 * np.sqrt(1 / N)
    assert abs(x.var() - 1.0) < Z5 * np.sqrt(2 / N)
    assert abs(stats.skew(x)) < Z5 * np.sqrt(6 / N)
    assert abs(stats.kurtosis(x)) < Z5 * np.sqrt(24 / N)


@pytest.mark.parametrize("c", [1.0, 2.5, 3.0, 3.6541528853610087, 4.0, 4.5])
def test_tail_masses(draws, c):
    """P(|X| > c) = 2Φ(−c) within five binomial standard errors √(p(1−p)/N) (plus one draw
    of slack for the rare c = 4.5, where Np ≈ 28).  c = 3.654… is the ziggurat's base strip
    edge r: beyond it every draw comes from the exponential tail method, and below it the
    wedges decide, so both rejection branches are exercised."""
    p = 2.0 * stats.norm.sf(c)
    frac = np.mean(np.abs(draws) > c)
    assert abs(frac - p) <= Z5 * np.sqrt(p * (1 - p) / N) + 1.0 / N


def test_kolmogorov_smirnov_against_the_normal_law_and_numpy(draws):
    """One-sample KS against Φ and two-sample KS against numpy's Generator normals (same size);
    both p-values above 1e-4 (the false-alarm level)."""
    assert stats.kstest(draws, "norm").pvalue > 1e-4
    ref = np.random.default_rng(7).standard_normal(N)
    assert stats.ks_2samp(draws, ref).pvalue > 1e-4


def test_lanes_and_streams_are_uncorrelated(draws):
    """Draws interleave 8 generators (word g·8 + l from lane l): lag-1…16 autocorrelations
    (neighbouring lanes, and the same lane one step later at lag 8 and 16) and the correlation
    with another block's stream are within five standard errors 1/√N of zero."""
    x = draws - draws.mean()
    v = x.var()
    for lag in range(1, 17):
        assert abs(np.mean(x[:-lag] * x[lag:]) / v) < Z5 / np.sqrt(N)
    other = rng.standard_normals(N, seed=20261201, stream=1)
    assert abs(np.corrcoef(draws, other)[0, 1]) < Z5 / np.sqrt(N)


def test_request_sizes_compose():
    """The stream is one sequence: requests whose sizes are multiples of the lane count
    concatenate (two fills of 8·k and 8·k' equal one fill of 8·(k + k'), across the 512-word
    decode pieces), and the same seed and stream give the same bits."""
    a = rng.stream_state(3, 5)
    b = a.copy()
    one = np.empty(8 * 300)
    rng.fill_normals(a, one)
    first, second = np.empty(8 * 77), np.empty(8 * 223)
    rng.fill_normals(b, first)
    rng.fill_normals(b, second)
    assert np.array_equal(one, np.concatenate([first, second]))
    assert np.array_equal(a, b)
    assert np.array_equal(rng.standard_normals(1000, 3, 5), rng.standard_normals(1000, 3, 5))
    assert not np.array_equal(rng.standard_normals(1000, 3, 5), rng.standard_normals(1000, 3, 6))


def test_stream_states_have_no_zero_lane():
    """Every lane and the fix-up generator start from a non-zero state (zero is xoshiro's
    one fixed point)."""
    for seed in range(50):
        st = rng.stream_state(seed, seed % 7)
        assert st.shape == (4 * (rng.LANES + 1),) and st.dtype == np.uint64
        for lane in range(rng.LANES):
            assert st[lane : 4 * rng.LANES : rng.LANES].any()
        assert st[4 * rng.LANES :].any()


def _block(n=3, B=300, steps=40):
    """A small tanh network (Γ = I, full W and σ) and the arrays of one block."""
    g = np.random.default_rng(2)
    net = SRNN.create(
        n=n,
        m=1,
        activation="tanh",
        Gamma=1.0,
        W=np.round(g.standard_normal((n, n)) * 0.5, 3).tolist(),
        b=[0.1] * n,
        C=[[1.0]] * n,
        sigma=np.round(np.eye(n) * 0.4 + 0.1, 3).tolist(),
        V=[[1.0] * n],
        start="point",
        h0=[0.0] * n,
    )
    mod = sim_network(net)
    r, p = mod.sig.shape[1], mod.p
    lv = S.LevelArrays(
        H=np.zeros((2, n, B)),
        T=np.zeros((0, B)),
        div=np.full(B, NEVER, np.int64),
        Y=np.empty((steps + 1, p, B)),
        rr=np.empty(steps + 1, np.int64),
        rs=np.empty(steps + 1, np.int64),
        u=np.sin(np.arange(steps + 1) * 0.05)[:, None],
        out=np.arange(steps + 1, dtype=np.int64),
    )
    sc = S.Scratch(
        *(np.empty((n, B)) for _ in range(6)),
        np.zeros(B, np.int64),
        np.empty((2, n)),
        np.zeros(n),
        np.empty((r, B)),
        np.empty(512, np.uint64),
    )
    return mod, lv, sc, r


def test_step_loop_draws_the_same_numbers_as_the_chunked_route():
    """advance() drawing each step's normals itself (fast route) gives the same bits as
    advance() fed the same stream's normals drawn step by step beforehand (the route used
    for Richardson levels and user-defined networks): states and records agree exactly, for
    two copies (driven and undriven, common random numbers) and a block size that is not a
    multiple of the tile or the lane count."""
    K, B = 40, 300
    eps, wts = np.array([0.7, 0.0]), np.array([1.0, -1.0])
    res = []
    for inline in (True, False):
        mod, lv, sc, r = _block(B=B, steps=K)
        st = rng.stream_state(11, 2)
        if inline:
            xi = np.empty((0, r, B))
        else:
            xi = np.empty((K, r, B))
            for s in range(K):
                rng.fill_flat(st, xi[s].reshape(-1), sc.words)
        nrec = S.advance(mod.arrays, lv, sc, xi, st, 0, K, 0.01, eps, False, True, wts, 1e6)
        res.append((lv.H.copy(), lv.Y[:nrec].copy(), st.copy()))
    (h1, y1, s1), (h2, y2, s2) = res
    assert np.array_equal(h1, h2) and np.array_equal(y1, y2) and np.array_equal(s1, s2)
    assert np.all(np.isfinite(h1)) and np.abs(y1[-1]).max() > 0  # the paths did move


def test_tiles_do_not_change_the_step():
    """One Euler step computed tile by tile (advance) equals the same step computed on the
    whole block at once with the same kernels (tiles of 1 path would be the reference
    semantics: every path's update reads only its own column), to the last bit."""
    K, B = 1, 300
    mod, lv, sc, r = _block(B=B, steps=K)
    st = rng.stream_state(1, 0)
    xi = np.empty((K, r, B))
    rng.fill_flat(st, xi[0].reshape(-1), sc.words)
    lv.H[:] = np.random.default_rng(4).standard_normal(lv.H.shape)
    H0 = lv.H[0].copy()
    eps, wts = np.array([0.0]), np.array([1.0])
    lvone = lv._replace(H=lv.H[:1])
    S.advance(mod.arrays, lvone, sc, xi, st, 0, K, 0.01, eps, False, False, wts, 1e6)
    md, dt = mod.arrays, 0.01
    Z, A, Nn = np.empty((3, B)), np.empty((3, B)), np.empty((3, B))
    ref = H0.copy()
    zero, flag = np.zeros(3), np.zeros(B, np.int64)
    for b in range(B):  # one path at a time
        S.noise(md.sig, xi[0], np.sqrt(dt), Nn, b, b + 1)
        S.preact(ref, md.W, md.bv, zero, Z, b, b + 1)
        S.act(md.code, Z, A, b, b + 1)
        S.update(ref, A, md.Gam, md.gdiag, md.Mm, md.mid, zero, dt, Nn, Z, flag, 1e6, b, b + 1)
    assert np.array_equal(lvone.H[0], ref)
