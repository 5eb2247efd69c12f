"""The numba step kernels of the Euler–Maruyama simulator.

One step of every copy c of the network (paths innermost, state ``(copies, n, paths)``):

    h ← h + dt (−Γ h + M a(W h + b + ε C u_k·[site = activation]) + ε C u_k·[site = additive])
          + √dt σ ξ_k,

with the same ξ_k for every copy (common random numbers), and for the tangent estimator
``J ← J + dt Dφ(h) J``, ``Dφ = −Γ + M diag(a'(z)) W``.  The activation formulas are keyed
by the registry's codes (:data:`symresp.model.activations.NUMERIC_ACTIVATIONS`).

:func:`advance` runs a chunk of steps in one compiled call; its arguments are grouped in
:class:`ModelArrays` (the network), :class:`LevelArrays` (the state of one time-step level)
and :class:`Scratch` (work arrays).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from symresp.model.activations import NUMERIC_ACTIVATIONS
from symresp.montecarlo.floatbits import as_float, as_int
from symresp.montecarlo.rng import fill_flat

__all__ = [
    "ModelArrays",
    "LevelArrays",
    "Scratch",
    "TILE",
    "advance",
    "tanh_array",
    "act",
    "dact",
    "matvec",
    "noise",
    "preact",
    "update",
    "tangent_step",
    "settle_divergence",
    "record_linear",
    "drives",
    "drive_state",
    "accumulate",
    "refine_pairs",
]

# activation codes (compile-time constants in the kernels)
_IDENTITY, _TANH, _SIGMOID, _SOFTPLUS, _SIN, _CUBIC, _RELU, _ABS = (
    NUMERIC_ACTIVATIONS[k].code
    for k in ("identity", "tanh", "sigmoid", "softplus", "sin", "cubic", "relu", "abs")
)


class ModelArrays(NamedTuple):
    """The network as the kernels see it (contiguous float64 arrays)."""

    Gam: np.ndarray  # (n, n) Γ
    gdiag: bool  # Γ diagonal
    W: np.ndarray  # (n, n)
    bv: np.ndarray  # (n,) b
    Mm: np.ndarray  # (n, n) M
    mid: bool  # M = I
    sig: np.ndarray  # (n, r) σ
    code: int  # activation code (registry), −1: user expression
    C: np.ndarray  # (n, m) constant coupling (zeros when state-dependent)
    site_act: bool  # input inside the activation
    V: np.ndarray  # (p, n) linear readout
    cv: np.ndarray  # (p,) readout constant


class LevelArrays(NamedTuple):
    """State and record buffers of one time-step level (coarse, or fine for Richardson)."""

    H: np.ndarray  # (copies, n, B) states
    T: np.ndarray  # (n or 0, B) tangent vectors
    div: np.ndarray  # (B,) int64 step at which each path diverged (or a huge marker)
    Y: np.ndarray  # (chunk + 1, p, B) recorded values
    rr: np.ndarray  # (chunk + 1,) int64 output row of each record
    rs: np.ndarray  # (chunk + 1,) int64 step of each record
    u: np.ndarray  # (steps + 1, m) input at the level's grid
    out: np.ndarray  # (steps + 1,) int64 output row of each step or −1


class Scratch(NamedTuple):
    """Work arrays of one block: (n, B) each, ``flag`` (B,) int64 divergence marks (zero
    between steps), ``du`` (copies, n) drives, ``zero`` (n,), and the normals of one step:
    ``X`` (r, B) with ``words`` (uint64 work array of :func:`symresp.montecarlo.rng.fill_flat`)."""

    Z: np.ndarray
    A: np.ndarray
    dA: np.ndarray
    D: np.ndarray
    E: np.ndarray
    N: np.ndarray
    flag: np.ndarray
    du: np.ndarray
    zero: np.ndarray
    X: np.ndarray
    words: np.ndarray


#: Paths advanced together through a whole step.  Smaller tiles keep a tile's rows in the
#: L1 cache between the matvec, the activation and the update, but every row loop then
#: runs a short vector loop with its fixed costs: measured on the benchmark network
#: (n = 8, one core), tiles of 128 and 256 paths were 10–15 % slower than 512.
TILE = 512

# tanh without libm calls, so that the path loop vectorises (math.tanh costs ≈ 20 ns a call
# and dominated a step).  With y = −2|x| = k ln2 + r, |r| ≤ ln2/2, and Cephes' Padé form of
# the exponential e^r ≈ (Q(r²) + rP(r²))/(Q(r²) − rP(r²)), e^y = 2^k e^r and
#     tanh|x| = (1 − e^y)/(1 + e^y) = ((1 − 2^k) Q − (1 + 2^k) rP) / ((1 + 2^k) Q − (1 − 2^k) rP):
# one division and no branch.  For k = 0 (|x| < 0.17) this is −rP/Q, the odd Padé form of
# tanh(r/2), so small arguments keep full relative accuracy; for k ≤ −1 neither numerator
# term cancels (numerator ≥ 0.47).  2^k is built from the bits of k (a table would be a
# gather).  Max relative error vs numpy's tanh ≈ 2 ulp (tested).
_EP = (1.26177193074810590878e-4, 3.02994407707441961300e-2, 9.99999999999999999910e-1)
_EQ = (3.00198505138664455042e-6, 2.52448340349684104192e-3, 2.27265548208155028766e-1, 2.0)
_LN2_HI, _LN2_LO = 6.93145751953125e-1, 1.42860682030941723212e-6  # k·_LN2_HI is exact
_LOG2E = 1.4426950408889634073599
_ROUND = 6755399441055744.0  # 1.5·2^52: x + _ROUND rounds x to an integer held in the low bits
_ROUND_BITS = 0x4338000000000000


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _tanh(x):
    ax = abs(x)
    ax = 20.0 if ax > 20.0 else ax  # tanh(20) rounds to 1; NaN stays NaN
    y = -2.0 * ax
    t = y * _LOG2E + _ROUND
    kf = t - _ROUND
    r = (y - kf * _LN2_HI) - kf * _LN2_LO
    s = as_float((as_int(t) - _ROUND_BITS + 1023) << 52)  # 2^k, k ∈ [−58, 0]
    rr = r * r
    rp = r * ((_EP[0] * rr + _EP[1]) * rr + _EP[2])
    q = ((_EQ[0] * rr + _EQ[1]) * rr + _EQ[2]) * rr + _EQ[3]
    a = 1.0 - s
    b = 1.0 + s
    return math.copysign((a * q - b * rp) / (b * q - a * rp), x)


@njit(nogil=True, cache=True, error_model="numpy")
def _tanh_flat(z, out):
    for j in range(z.size):
        out[j] = _tanh(z[j])


def tanh_array(z):
    """The simulator's tanh on any float array (exposed for tests)."""
    z = np.ascontiguousarray(z, dtype=float)
    out = np.empty_like(z)
    _tanh_flat(z.reshape(-1), out.reshape(-1))
    return out


# Every kernel below works on the paths b0..b1−1 through row views ``X[i, b0:b1]``:
# indexing ``X[i, b]`` with b from ``range(b0, b1)`` keeps numba's negative-index check
# in the loop (b0 could be negative), and that check stops LLVM vectorising it.


@njit(nogil=True, cache=True, error_model="numpy")
def act(code, Z, A, b0, b1):
    """A = a(Z) elementwise on paths b0..b1−1; the branch sits outside the path loop so each
    loop vectorises."""
    for i in range(Z.shape[0]):
        z, a = Z[i, b0:b1], A[i, b0:b1]
        if code == _IDENTITY:
            a[:] = z
        elif code == _TANH:
            for b in range(z.size):
                a[b] = _tanh(z[b])
        elif code == _SIGMOID:
            for b in range(z.size):
                a[b] = 1.0 / (1.0 + math.exp(-z[b]))
        elif code == _SOFTPLUS:  # softplus, overflow-free: max(z, 0) + log1p(exp(−|z|))
            for b in range(z.size):
                a[b] = max(z[b], 0.0) + math.log1p(math.exp(-abs(z[b])))
        elif code == _SIN:
            for b in range(z.size):
                a[b] = math.sin(z[b])
        elif code == _CUBIC:
            for b in range(z.size):
                a[b] = z[b] - z[b] * z[b] * z[b] / 3.0
        elif code == _RELU:
            for b in range(z.size):
                a[b] = max(z[b], 0.0)
        elif code == _ABS:
            for b in range(z.size):
                a[b] = abs(z[b])


@njit(nogil=True, cache=True, error_model="numpy")
def dact(code, Z, D, b0, b1):
    """D = a'(Z) elementwise on paths b0..b1−1 (relu' = 1[z > 0], abs' = sign z)."""
    for i in range(Z.shape[0]):
        z, d = Z[i, b0:b1], D[i, b0:b1]
        if code == _IDENTITY:
            d[:] = 1.0
        elif code == _TANH:
            for b in range(z.size):
                t = _tanh(z[b])
                d[b] = 1.0 - t * t
        elif code == _SIGMOID or code == _SOFTPLUS:
            for b in range(z.size):
                s = 1.0 / (1.0 + math.exp(-z[b]))
                d[b] = s * (1.0 - s) if code == _SIGMOID else s
        elif code == _SIN:
            for b in range(z.size):
                d[b] = math.cos(z[b])
        elif code == _CUBIC:
            for b in range(z.size):
                d[b] = 1.0 - z[b] * z[b]
        elif code == _RELU:
            for b in range(z.size):
                d[b] = 1.0 if z[b] > 0.0 else 0.0
        elif code == _ABS:
            for b in range(z.size):
                d[b] = 1.0 if z[b] > 0.0 else (-1.0 if z[b] < 0.0 else 0.0)


@njit(nogil=True, cache=True, error_model="numpy")
def matvec(Mt, X, out, add, b0, b1):
    """out (+)= Mt @ X on paths b0..b1−1, X (n, B), paths innermost."""
    rows, cols = Mt.shape
    for i in range(rows):
        o = out[i, b0:b1]
        if not add:
            o[:] = 0.0
        _accumulate_row(Mt, i, X, o, b0, b1, 1.0)


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _accumulate_row(Mt, i, X, o, b0, b1, scale):
    """o += Σ_j (scale·Mt[i, j]) X[j, b0:b1], skipping zero weights."""
    for j in range(Mt.shape[1]):
        w = scale * Mt[i, j]
        if w != 0.0:
            x = X[j, b0:b1]
            for b in range(o.size):
                o[b] += w * x[b]


@njit(nogil=True, cache=True, error_model="numpy")
def noise(sig, xi, sq, N, b0, b1):
    """N = √dt σ ξ for one step (shared by every copy: common random numbers)."""
    n, r = sig.shape
    for i in range(n):
        o = N[i, b0:b1]
        o[:] = 0.0
        for l in range(r):
            s = sig[i, l] * sq
            if s != 0.0:
                x = xi[l, b0:b1]
                for b in range(o.size):
                    o[b] += s * x[b]


@njit(nogil=True, cache=True, error_model="numpy")
def preact(Hc, W, bv, shift, Z, b0, b1):
    """Z = (b + shift) + W h (shift = ε C u when the input sits inside the activation)."""
    for i in range(Z.shape[0]):
        z = Z[i, b0:b1]
        z[:] = bv[i] + shift[i]
        _accumulate_row(W, i, Hc, z, b0, b1, 1.0)


@njit(nogil=True, cache=True, error_model="numpy")
def update(Hc, A, Gam, gdiag, Mm, mid, drive, dt, N, D, flag, bound, b0, b1):
    """h ← h + dt ((−Γ h + M a) + drive) + N on paths b0..b1−1, with D as scratch; a path
    whose new state is not finite or has a component beyond ``bound`` gets ``flag`` ≠ 0."""
    n = Hc.shape[0]
    fl = flag[b0:b1]
    if gdiag and mid:  # the common case in one pass, no scratch
        for i in range(n):
            g = -Gam[i, i]
            dr = drive[i]
            h, a, nz = Hc[i, b0:b1], A[i, b0:b1], N[i, b0:b1]
            for b in range(h.size):
                v = h[b] + dt * ((g * h[b] + a[b]) + dr) + nz[b]
                h[b] = v
                fl[b] |= 0 if abs(v) <= bound else 1
        return
    if gdiag:
        for i in range(n):
            g = -Gam[i, i]
            h, d = Hc[i, b0:b1], D[i, b0:b1]
            for b in range(h.size):
                d[b] = g * h[b]
    else:
        for i in range(n):
            d = D[i, b0:b1]
            d[:] = 0.0
            _accumulate_row(Gam, i, Hc, d, b0, b1, -1.0)
    if mid:
        for i in range(n):
            d, a = D[i, b0:b1], A[i, b0:b1]
            for b in range(d.size):
                d[b] += a[b]
    else:
        matvec(Mm, A, D, True, b0, b1)
    for i in range(n):
        dr = drive[i]
        h, d, nz = Hc[i, b0:b1], D[i, b0:b1], N[i, b0:b1]
        for b in range(h.size):
            v = h[b] + dt * (d[b] + dr) + nz[b]
            h[b] = v
            fl[b] |= 0 if abs(v) <= bound else 1


@njit(nogil=True, cache=True, error_model="numpy")
def tangent_step(T, dA, W, Gam, gdiag, Mm, mid, dt, D, E, flag, bound, b0, b1):
    """Euler step of the tangent flow dJv = Dφ(h) Jv dt, Dφ = −Γ + M diag(a'(z)) W
    (the exact derivative of the Euler map, so it matches α → 0 of kicked copies); a path
    whose tangent is not finite or beyond ``10⁶ bound`` gets ``flag`` ≠ 0."""
    n = T.shape[0]
    matvec(W, T, D, False, b0, b1)
    for i in range(n):
        d, da = D[i, b0:b1], dA[i, b0:b1]
        for b in range(d.size):
            d[b] *= da[b]
    if mid:
        for i in range(n):
            E[i, b0:b1] = D[i, b0:b1]
    else:
        matvec(Mm, D, E, False, b0, b1)
    matvec(Gam, T, D, False, b0, b1)
    tb = bound * 1e6
    fl = flag[b0:b1]
    for i in range(n):
        t, e, d = T[i, b0:b1], E[i, b0:b1], D[i, b0:b1]
        for b in range(t.size):
            v = t[b] + dt * (e[b] - d[b])
            t[b] = v
            fl[b] |= 0 if abs(v) <= tb else 1


@njit(nogil=True, cache=True, error_model="numpy")
def settle_divergence(H, T, div, kstep, flag, b0, b1):
    """Paths b0..b1−1 flagged during step ``kstep`` − 1 are marked as diverged at ``kstep``
    and reset to zero (no inf/NaN arithmetic follows); the flags are cleared."""
    fl = flag[b0:b1]
    any_flag = 0
    for b in range(fl.size):
        any_flag |= fl[b]
    if any_flag == 0:
        return
    ncop, n = H.shape[0], H.shape[1]
    for b in range(b0, b1):
        if flag[b] != 0:
            flag[b] = 0
            if div[b] > kstep:
                div[b] = kstep
            for c in range(ncop):
                for i in range(n):
                    H[c, i, b] = 0.0
            for i in range(T.shape[0]):
                T[i, b] = 0.0


@njit(nogil=True, cache=True, error_model="numpy")
def record_linear(H, T, tangent, V, cv, wts, Y, b0, b1):
    """Y = Σ_c w_c (V h^{(c)} + c)  or, for the tangent estimator, Y = V J."""
    ncop, n = H.shape[0], H.shape[1]
    p = V.shape[0]
    if tangent:
        matvec(V, T, Y, False, b0, b1)
        return
    for q in range(p):
        Y[q, b0:b1] = 0.0
    for c in range(ncop):
        w = wts[c]
        if w == 0.0:
            continue
        for q in range(p):
            y = Y[q, b0:b1]
            cc = w * cv[q]
            for j in range(n):
                v = w * V[q, j]
                if v != 0.0:
                    h = H[c, j, b0:b1]
                    for b in range(y.size):
                        y[b] += v * h[b]
            for b in range(y.size):
                y[b] += cc


@njit(nogil=True, cache=True, error_model="numpy")
def drives(C, u, k, eps, du):
    """du[c] = ε_c C u_k for every copy c (the constant-coupling input term); the input is
    not read for copies with ε_c = 0 (burn-in steps have negative k)."""
    n, m = C.shape
    for c in range(eps.size):
        e = eps[c]
        for i in range(n):
            acc = 0.0
            if e != 0.0:
                for kk in range(m):
                    acc += C[i, kk] * u[k, kk]
            du[c, i] = e * acc


@njit(nogil=True, cache=True, error_model="numpy")
def advance(md, lv, sc, xi, stream, k0, nsteps, dt, eps, tangent, record, wts, bound):
    """Advance all copies ``nsteps`` Euler–Maruyama steps from step ``k0`` (fast route:
    registry activation, constant coupling, linear readout).

    The normals of step s are ``xi[s]``, or, when ``xi`` has no rows, drawn here from
    ``stream`` one step at a time (the same numbers the general route draws).  Each step
    runs tile by tile (:data:`TILE` paths): record, noise, and for every copy the
    pre-activation, activation, tangent and update, then the divergence check.
    At each step k with ``lv.out[k] >= 0`` (and ``record``) the state at t_k is recorded
    into ``lv.Y`` before stepping.  Returns the number of records."""
    H, T, u = lv.H, lv.T, lv.u
    Z, A, dA, D, E, N, flag, du, zero = sc.Z, sc.A, sc.dA, sc.D, sc.E, sc.N, sc.flag, sc.du, sc.zero
    site_act, code = md.site_act, md.code
    ncop, n, B = H.shape
    sq = math.sqrt(dt)
    draw = xi.shape[0] == 0
    nrec = 0
    for s in range(nsteps):
        k = k0 + s
        rec = record and lv.out[k] >= 0
        if draw:
            fill_flat(stream, sc.X.reshape(-1), sc.words)
        x = sc.X if draw else xi[s]
        drives(md.C, u, k, eps, du)
        for b0 in range(0, B, TILE):
            b1 = min(B, b0 + TILE)
            if rec:
                record_linear(H, T, tangent, md.V, md.cv, wts, lv.Y[nrec], b0, b1)
            noise(md.sig, x, sq, N, b0, b1)
            for c in range(ncop):
                Hc = H[c]
                preact(Hc, md.W, md.bv, du[c] if site_act else zero, Z, b0, b1)
                act(code, Z, A, b0, b1)
                if tangent and c == 0:
                    dact(code, Z, dA, b0, b1)
                    tangent_step(
                        T, dA, md.W, md.Gam, md.gdiag, md.Mm, md.mid, dt, D, E, flag, bound, b0, b1
                    )
                update(
                    Hc,
                    A,
                    md.Gam,
                    md.gdiag,
                    md.Mm,
                    md.mid,
                    zero if site_act else du[c],
                    dt,
                    N,
                    D,
                    flag,
                    bound,
                    b0,
                    b1,
                )
            settle_divergence(H, T, lv.div, k + 1, flag, b0, b1)
        if rec:
            lv.rr[nrec] = lv.out[k]
            lv.rs[nrec] = k
            nrec += 1
    return nrec


@njit(nogil=True, cache=True, error_model="numpy")
def drive_state(G, u_k, eps, dt, N, Nc):
    """Nc = N + dt ε γ(h) u_k with G (paths, n·m) the coupling evaluated per path."""
    n, B = N.shape
    m = u_k.shape[0]
    for i in range(n):
        for b in range(B):
            acc = 0.0
            for kk in range(m):
                acc += G[b, i * m + kk] * u_k[kk]
            Nc[i, b] = N[i, b] + dt * eps * acc


#: Independent partial sums in a reduction: a single running float sum waits for the
#: previous addition at every path, four break that chain (combined in a fixed order).
_SUMS = 4


@njit(nogil=True, cache=True, inline="always", error_model="numpy")
def _alive_sum(y, div, s, mu, square):
    """Σ over paths alive at step s (div > s) of y − mu, or of (y − mu)² when ``square``:
    :data:`_SUMS` interleaved partial sums ((a₀ + a₁) + (a₂ + a₃)) + the remainder."""
    B = y.size
    a0 = a1 = a2 = a3 = 0.0
    top = B - B % _SUMS
    for b in range(0, top, _SUMS):
        d0, d1, d2, d3 = y[b] - mu, y[b + 1] - mu, y[b + 2] - mu, y[b + 3] - mu
        if square:
            d0, d1, d2, d3 = d0 * d0, d1 * d1, d2 * d2, d3 * d3
        a0 += d0 if div[b] > s else 0.0
        a1 += d1 if div[b + 1] > s else 0.0
        a2 += d2 if div[b + 2] > s else 0.0
        a3 += d3 if div[b + 3] > s else 0.0
    acc = (a0 + a1) + (a2 + a3)
    for b in range(top, B):
        d = y[b] - mu
        acc += (d * d if square else d) if div[b] > s else 0.0
    return acc


@njit(nogil=True, cache=True, error_model="numpy")
def accumulate(Ybuf, nrec, rec_rows, rec_steps, div, cnt, mean, m2):
    """Per-record two-pass mean and sum of squared deviations over the paths alive at the
    record's step (a path diverged at step d is alive at steps < d)."""
    p, B = Ybuf.shape[1], Ybuf.shape[2]
    for j in range(nrec):
        g = rec_rows[j]
        s = rec_steps[j]
        c = 0
        for b in range(B):
            c += 1 if div[b] > s else 0
        cnt[g] = c
        for q in range(p):
            if c == 0:
                mean[g, q] = 0.0
                m2[g, q] = 0.0
                continue
            y = Ybuf[j, q]
            mu = _alive_sum(y, div, s, 0.0, False) / c
            mean[g, q] = mu
            m2[g, q] = _alive_sum(y, div, s, mu, True)


@njit(nogil=True, cache=True, error_model="numpy")
def refine_pairs(xf, xc):
    """Coarse normals from pairs of fine ones: ξ_c = (ξ_{2k} + ξ_{2k+1})/√2, i.e. the coarse
    Brownian increment is the sum of the two fine increments (same Brownian path)."""
    r2 = 1.0 / math.sqrt(2.0)
    K = xc.shape[0]
    for s in range(K):
        for l in range(xc.shape[1]):
            for b in range(xc.shape[2]):
                xc[s, l, b] = (xf[2 * s, l, b] + xf[2 * s + 1, l, b]) * r2
