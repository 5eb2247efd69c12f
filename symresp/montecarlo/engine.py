"""Monte Carlo for the SRNN: Euler–Maruyama in numba and the estimators of THEORY §3.3, §8.

The network (THEORY §1, §3.4) is the Itô SDE

    dh_t = [ −Γ h_t + M a(W h_t + b + ε C u_t·[site = activation]) + ε γ(h_t) u_t·[site = additive] ] dt
           + σ dW_t,        y_t = f(h_t),

discretised by Euler–Maruyama (weak order 1 in dt)

    h_{k+1} = h_k + φ(h_k, u(t_k)) dt + σ √dt ξ_k,     ξ_k ~ N(0, I_r),  t_k = k dt.

Design (why it is fast and reproducible)
----------------------------------------
* Paths are split into **blocks** of a fixed size (``block``, default 512, independent
  of the thread count).  Block ``j`` owns its own random stream, a xoshiro256** generator
  seeded from ``SeedSequence(seed, spawn_key=(j,))``; normals come from a ziggurat
  sampler compiled with numba (≈ 3 ns a normal, FIELD-NOTES "Monte Carlo": normals
  dominate the cost).  Blocks run on a thread pool (numba kernels release the GIL) and
  their statistics are merged **in block order** (Chan's parallel mean/variance
  update), so a seed gives bit-identical numbers for any number of threads.
* State is stored ``(copies, n, paths)`` with paths innermost, so every inner loop runs
  over paths and vectorises (tanh, the n×n products).
* Statistics are streamed: at each output time a block reduces its paths to a mean and
  a sum of squared deviations; memory is O(block · (n + chunk) + grid), never
  paths × steps.
* **Copies** share the noise (common random numbers): a block can advance several
  copies of the network that differ in input amplitude or in kicks; the recorded value
  is a weighted sum ``Σ_c w_c f(h^{(c)}_t)``.  This one mechanism gives the plain mean
  (one copy), the CRN response (driven − undriven) and the kicked-copies kernel
  estimator (2ⁿ sign patterns).
* **Divergence**: after every step a path whose state is non-finite or has a component
  beyond ``bound`` is marked with the step at which it diverged, reset (so no inf/NaN
  arithmetic follows) and excluded from every statistic at and after that time.  The
  count and times are reported (``result.diverged``), with a warning or an exception
  per ``on_divergence``.  Means at a grid time use only the paths alive at that time
  (``result.count``).

Two integration routes share the same numba building blocks: a single compiled loop
for registry activations (identity, tanh, sigmoid, softplus, sin, cubic, relu, abs)
with constant coupling and linear readout, and a per-step Python loop calling
generated code (:mod:`symresp.codegen`) for user activations, state-dependent
couplings γ(h) and nonlinear readouts (Python overhead per step is small against a
block of paths).  Should :mod:`symresp.codegen` fail to build or load a function, a local
uncached compile of the same SymPy expressions is used and a RuntimeWarning says so.

tanh is evaluated by a branch-free Cephes-style routine (≤ 2 ulp from numpy's tanh) because
numba has no SIMD tanh without SVML and ``math.tanh`` cost as much as the rest of a step.

Public API
----------
:func:`simulate`, :func:`response`, :func:`kernel_mc`, :func:`stationary_samples`,
:func:`simulate_json`, :func:`kernel_json`, :func:`burn_in_time`, :func:`linear_stationary`,
:func:`standard_normals`, :func:`tanh_array`.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import sympy as sp
from numba import njit

from symresp.errors import ArgumentError, DivergenceError, DivergenceWarning
from symresp.model.activations import Z as _ZSYM
from symresp.model.inputs import parse_input

__all__ = ["simulate", "response", "kernel_mc", "stationary_samples", "simulate_json",
           "MCResult", "KernelMC", "DivergenceError", "DivergenceWarning", "burn_in_time",
           "linear_stationary", "standard_normals", "kernel_json", "tanh_array"]

_BIG = np.int64(2) ** 62          # "never diverged" marker for div_step
_CHUNK = 64                      # steps advanced per compiled call (normals drawn per chunk)


# =============================================================================== random numbers
# xoshiro256** (Blackman & Vigna) + the 256-layer ziggurat of numpy's Generator.

def _ziggurat_tables():
    """Tables of the 256-layer normal ziggurat (Marsaglia & Tsang 2000, numpy's layout:
    52-bit magnitudes, ``ki`` acceptance thresholds, ``wi`` widths, ``fi`` densities)."""
    r = 3.6541528853610087963519472518
    v = 0.00492867323399
    m1 = 2.0 ** 52
    ki = np.zeros(256, np.uint64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    ki[0] = np.uint64(int((dn / q) * m1))
    ki[1] = np.uint64(0)
    wi[0] = q / m1
    wi[255] = dn / m1
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = np.uint64(int((dn / tn) * m1))
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m1
    return ki, wi, fi, r


_KI, _WI, _FI, _ZR = _ziggurat_tables()
_ZRINV = 1.0 / _ZR


@njit(nogil=True, cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(nogil=True, cache=True, error_model="numpy")
def _fill_normals(state, out):
    """Fill the contiguous float array ``out`` with N(0, 1) draws from the stream ``state``."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    flat = out.reshape(-1)
    ki, wi, fi = _KI, _WI, _FI
    u5, u7, u9 = np.uint64(5), np.uint64(7), np.uint64(9)
    m52 = np.uint64(0x000FFFFFFFFFFFFF)
    one, ff = np.uint64(1), np.uint64(0xFF)
    for j in range(flat.size):
        while True:
            # --- xoshiro256** step
            rr = _rotl(s1 * u5, 7) * u9
            s0, s1, s2, s3 = _advance_state(s0, s1, s2, s3)
            # --- ziggurat
            idx = rr & ff
            rr >>= np.uint64(8)
            sign = rr & one
            rabs = (rr >> one) & m52
            x = float(np.int64(rabs)) * wi[idx]  # int64→float: uint64→float is slow in numba
            if sign == one:
                x = -x
            if rabs < ki[idx]:
                break  # 99.3 % of draws end here
            if idx == 0:  # tail beyond r: Marsaglia's exponential method
                while True:
                    a = _next_double_inline(s0, s1, s2, s3)
                    s0, s1, s2, s3 = _advance_state(s0, s1, s2, s3)
                    bq = _next_double_inline(s0, s1, s2, s3)
                    s0, s1, s2, s3 = _advance_state(s0, s1, s2, s3)
                    xx = -_ZRINV * math.log1p(-a)
                    yy = -math.log1p(-bq)
                    if yy + yy > xx * xx:
                        break
                x = -(_ZR + xx) if ((rabs >> np.uint64(8)) & one) == one else _ZR + xx
                break
            a = _next_double_inline(s0, s1, s2, s3)
            s0, s1, s2, s3 = _advance_state(s0, s1, s2, s3)
            if (fi[idx - 1] - fi[idx]) * a + fi[idx] < math.exp(-0.5 * x * x):
                break
        flat[j] = x
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3


@njit(nogil=True, cache=True, inline="always")
def _next_double_inline(s0, s1, s2, s3):
    rr = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    return float(np.int64(rr >> np.uint64(11))) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True, inline="always")
def _advance_state(s0, s1, s2, s3):
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return s0, s1, s2, s3


def _stream(seed: int, index: int) -> np.ndarray:
    """State of the xoshiro256** stream number ``index`` for ``seed`` (SeedSequence-derived)."""
    st = np.random.SeedSequence(int(seed), spawn_key=(int(index),)).generate_state(4, np.uint64)
    if not st.any():  # the all-zero state is the one forbidden state
        st[0] = np.uint64(1)
    return st


def standard_normals(shape, seed: int = 0, stream: int = 0) -> np.ndarray:
    """N(0, 1) draws from the simulator's generator (stream ``stream`` of ``seed``)."""
    out = np.empty(shape)
    _fill_normals(_stream(seed, stream), out)
    return out


# =============================================================================== numba kernels
# activation codes of the registry (and non-smooth relu/abs); -1 = user expression
_ACT_CODES = {"identity": 0, "tanh": 1, "sigmoid": 2, "softplus": 3, "sin": 4, "cubic": 5,
              "relu": 6, "abs": 7}


# tanh without libm calls, so that the path loop vectorises (numba has no SIMD tanh here
# without SVML; math.tanh cost ≈ 20 ns a call and dominated a step).  Cephes' tanh:
# |x| < 0.625: x + x³ P(x²)/Q(x²); else 1 − 2/(e^{2|x|} + 1) written with e = e^{−2|x|},
# e^y by y = k ln2 + r, |r| ≤ ln2/2, a degree-13 Taylor polynomial and a 2^k table.
# Both branches are evaluated and one is selected (no branch in the loop).  Max relative
# error vs numpy's tanh: ≈ 2 ulp (tested).
_TP = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TQ = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = \
    tuple(1.0 / math.factorial(j) for j in range(2, 14))


@njit(nogil=True, cache=True, error_model="numpy")
def _tanh_row(z, out, scratch):
    """out = tanh(z) for 1-D rows; ``scratch`` (float64, len ≥ len(z)) holds 2^k built from
    bits (a table lookup would be a gather and stop vectorisation).  The two Cephes branches
    share one division: tanh = num/den with (num, den) selected per element."""
    B = z.size
    bits = scratch.view(np.int64)
    for b in range(B):
        ax = min(abs(z[b]), 20.0)               # NaN → 20; tanh(20) rounds to 1
        kf = np.floor(-2.0 * ax * _INV_LN2 + 0.5)
        bits[b] = (np.int64(kf) + 1023) << 52    # 2^k, k ∈ [−58, 0]
    for b in range(B):
        x = z[b]
        ax = min(abs(x), 20.0)
        sq = x * x
        ps = (_TP[0] * sq + _TP[1]) * sq + _TP[2]
        qs = ((sq + _TQ[0]) * sq + _TQ[1]) * sq + _TQ[2]
        y = -2.0 * ax
        kf = np.floor(y * _INV_LN2 + 0.5)
        r = (y - kf * _LN2_HI) - kf * _LN2_LO
        pr = (((((((((((((_E13 * r + _E12) * r + _E11) * r + _E10) * r + _E9) * r + _E8) * r
                    + _E7) * r + _E6) * r + _E5) * r + _E4) * r + _E3) * r + _E2) * r + 1.0)
              * r + 1.0)
        e = pr * scratch[b]
        sgn = 1.0 if x >= 0.0 else -1.0
        small = ax < 0.625
        num = x * qs + x * sq * ps if small else sgn * (1.0 - e)
        den = qs if small else 1.0 + e
        out[b] = num / den


def tanh_array(z):
    """The simulator's tanh on any float array (exposed for tests)."""
    z = np.ascontiguousarray(z, dtype=float)
    out = np.empty_like(z)
    _tanh_row(z.reshape(-1), out.reshape(-1), np.empty(z.size))
    return out


@njit(nogil=True, cache=True, error_model="numpy")
def _act(code, Z, A, scr):
    """A = a(Z) elementwise; the branch sits outside the path loop so each loop vectorises."""
    n, B = Z.shape
    for i in range(n):
        if code == 0:
            for b in range(B):
                A[i, b] = Z[i, b]
        elif code == 1:
            _tanh_row(Z[i], A[i], scr)
        elif code == 2:
            for b in range(B):
                A[i, b] = 1.0 / (1.0 + math.exp(-Z[i, b]))
        elif code == 3:  # softplus, overflow-free: max(z, 0) + log1p(exp(−|z|))
            for b in range(B):
                z = Z[i, b]
                A[i, b] = max(z, 0.0) + math.log1p(math.exp(-abs(z)))
        elif code == 4:
            for b in range(B):
                A[i, b] = math.sin(Z[i, b])
        elif code == 5:
            for b in range(B):
                z = Z[i, b]
                A[i, b] = z - z * z * z / 3.0
        elif code == 6:
            for b in range(B):
                A[i, b] = max(Z[i, b], 0.0)
        elif code == 7:
            for b in range(B):
                A[i, b] = abs(Z[i, b])


@njit(nogil=True, cache=True, error_model="numpy")
def _dact(code, Z, D, scr):
    """D = a'(Z) elementwise (relu' = 1[z > 0], abs' = sign z)."""
    n, B = Z.shape
    for i in range(n):
        if code == 0:
            for b in range(B):
                D[i, b] = 1.0
        elif code == 1:
            _tanh_row(Z[i], D[i], scr)
            for b in range(B):
                D[i, b] = 1.0 - D[i, b] * D[i, b]
        elif code == 2 or code == 3:
            for b in range(B):
                s = 1.0 / (1.0 + math.exp(-Z[i, b]))
                D[i, b] = s * (1.0 - s) if code == 2 else s
        elif code == 4:
            for b in range(B):
                D[i, b] = math.cos(Z[i, b])
        elif code == 5:
            for b in range(B):
                D[i, b] = 1.0 - Z[i, b] * Z[i, b]
        elif code == 6:
            for b in range(B):
                D[i, b] = 1.0 if Z[i, b] > 0.0 else 0.0
        elif code == 7:
            for b in range(B):
                z = Z[i, b]
                D[i, b] = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)


@njit(nogil=True, cache=True, error_model="numpy")
def _matvec(Mt, X, out, add):
    """out (+)= Mt @ X for X (n, B), paths innermost."""
    rows, cols = Mt.shape
    B = X.shape[1]
    for i in range(rows):
        if not add:
            for b in range(B):
                out[i, b] = 0.0
        for j in range(cols):
            w = Mt[i, j]
            if w != 0.0:
                for b in range(B):
                    out[i, b] += w * X[j, b]


@njit(nogil=True, cache=True, error_model="numpy")
def _noise(sig, xi, sq, N):
    """N = √dt σ ξ for one step (shared by every copy: common random numbers)."""
    n, r = sig.shape
    B = N.shape[1]
    for i in range(n):
        for b in range(B):
            N[i, b] = 0.0
        for l in range(r):
            s = sig[i, l] * sq
            if s != 0.0:
                for b in range(B):
                    N[i, b] += s * xi[l, b]


@njit(nogil=True, cache=True, error_model="numpy")
def _preact(Hc, W, bv, shift, Z):
    """Z = W h + b + shift (shift = ε C u when the input sits inside the activation)."""
    _matvec(W, Hc, Z, False)
    n, B = Z.shape
    for i in range(n):
        c = bv[i] + shift[i]
        for b in range(B):
            Z[i, b] += c


@njit(nogil=True, cache=True, error_model="numpy")
def _update(Hc, A, Gam, gdiag, Mm, mid, drive, dt, N, D):
    """h ← h + dt (−Γ h + M a + drive) + N, with D as scratch."""
    n, B = Hc.shape
    if gdiag:
        for i in range(n):
            g = -Gam[i, i]
            for b in range(B):
                D[i, b] = g * Hc[i, b]
    else:
        for i in range(n):
            for b in range(B):
                D[i, b] = 0.0
            for j in range(n):
                g = -Gam[i, j]
                if g != 0.0:
                    for b in range(B):
                        D[i, b] += g * Hc[j, b]
    if mid:
        for i in range(n):
            for b in range(B):
                D[i, b] += A[i, b]
    else:
        _matvec(Mm, A, D, True)
    for i in range(n):
        dr = drive[i]
        for b in range(B):
            Hc[i, b] += dt * (D[i, b] + dr) + N[i, b]


@njit(nogil=True, cache=True, error_model="numpy")
def _tangent_step(T, dA, W, Gam, gdiag, Mm, mid, dt, D, E):
    """Euler step of the tangent flow dJv = Dφ(h) Jv dt, Dφ = −Γ + M diag(a'(z)) W
    (the exact derivative of the Euler map, so it matches α → 0 of kicked copies)."""
    n, B = T.shape
    _matvec(W, T, D, False)
    for i in range(n):
        for b in range(B):
            D[i, b] *= dA[i, b]
    if mid:
        for i in range(n):
            for b in range(B):
                E[i, b] = D[i, b]
    else:
        _matvec(Mm, D, E, False)
    _matvec(Gam, T, D, False)
    for i in range(n):
        for b in range(B):
            T[i, b] += dt * (E[i, b] - D[i, b])


@njit(nogil=True, cache=True, error_model="numpy")
def _check(H, T, div, kstep, bound, flag):
    """Mark paths with a non-finite state or |h_i| > bound as diverged at step ``kstep``."""
    ncop, n, B = H.shape
    for b in range(B):
        flag[b] = 0.0
    for c in range(ncop):
        for i in range(n):
            for b in range(B):
                flag[b] += 0.0 if abs(H[c, i, b]) <= bound else 1.0
    for i in range(T.shape[0]):
        for b in range(B):
            flag[b] += 0.0 if abs(T[i, b]) <= bound * 1e6 else 1.0
    for b in range(B):
        if flag[b] != 0.0:
            if div[b] > kstep:
                div[b] = kstep
            for c in range(ncop):
                for i in range(n):
                    H[c, i, b] = 0.0
            for i in range(T.shape[0]):
                T[i, b] = 0.0


@njit(nogil=True, cache=True, error_model="numpy")
def _record_linear(H, T, tangent, V, cv, wts, Y):
    """Y = Σ_c w_c (V h^{(c)} + c)  or, for the tangent estimator, Y = V J."""
    ncop, n, B = H.shape
    p = V.shape[0]
    if tangent:
        _matvec(V, T, Y, False)
        return
    for q in range(p):
        for b in range(B):
            Y[q, b] = 0.0
    for c in range(ncop):
        w = wts[c]
        if w == 0.0:
            continue
        for q in range(p):
            cc = w * cv[q]
            for j in range(n):
                v = w * V[q, j]
                if v != 0.0:
                    for b in range(B):
                        Y[q, b] += v * H[c, j, b]
            for b in range(B):
                Y[q, b] += cc


@njit(nogil=True, cache=True, error_model="numpy")
def _advance(H, T, xi, k0, nsteps, dt, u, C, site_act, eps, Gam, gdiag, W, bv, Mm, mid,
             sig, code, tangent, record, out_rows, V, cv, wts, Ybuf, rec_rows, rec_steps, nrec0,
             div, bound, Z, A, dA, D, E, N, flag, du, zero):
    """Advance all copies ``nsteps`` Euler–Maruyama steps from step ``k0`` (fast route).

    At each step k with ``out_rows[k] >= 0`` (and ``record``) the state at t_k is
    recorded into ``Ybuf`` before stepping.  Returns the number of records."""
    ncop, n, B = H.shape
    m = C.shape[1]
    sq = math.sqrt(dt)
    nrec = nrec0
    for s in range(nsteps):
        k = k0 + s
        if record and out_rows[k] >= 0:
            _record_linear(H, T, tangent, V, cv, wts, Ybuf[nrec])
            rec_rows[nrec] = out_rows[k]
            rec_steps[nrec] = k
            nrec += 1
        _noise(sig, xi[s], sq, N)
        for c in range(ncop):
            e = eps[c]
            for i in range(n):
                acc = 0.0
                if e != 0.0:
                    for kk in range(m):
                        acc += C[i, kk] * u[k, kk]
                du[i] = e * acc
            Hc = H[c]
            _preact(Hc, W, bv, du if site_act else zero, Z)
            _act(code, Z, A, flag)
            if tangent and c == 0:
                _dact(code, Z, dA, flag)
                _tangent_step(T, dA, W, Gam, gdiag, Mm, mid, dt, D, E)
            _update(Hc, A, Gam, gdiag, Mm, mid, zero if site_act else du, dt, N, D)
        _check(H, T, div, k + 1, bound, flag)
    return nrec


@njit(nogil=True, cache=True, error_model="numpy")
def _drive_state(G, u_k, eps, dt, N, Nc):
    """Nc = N + dt ε γ(h) u_k with G (paths, n·m) the coupling evaluated per path."""
    n, B = N.shape
    m = u_k.shape[0]
    for i in range(n):
        for b in range(B):
            acc = 0.0
            for kk in range(m):
                acc += G[b, i * m + kk] * u_k[kk]
            Nc[i, b] = N[i, b] + dt * eps * acc


@njit(nogil=True, cache=True, error_model="numpy")
def _accumulate(Ybuf, nrec, rec_rows, rec_steps, div, cnt, mean, m2):
    """Per-record two-pass mean and sum of squared deviations over the paths alive at the
    record's step (a path diverged at step d is alive at steps < d)."""
    p, B = Ybuf.shape[1], Ybuf.shape[2]
    for j in range(nrec):
        g = rec_rows[j]
        s = rec_steps[j]
        c = 0
        for b in range(B):
            if div[b] > s:
                c += 1
        cnt[g] = c
        for q in range(p):
            if c == 0:
                mean[g, q] = 0.0
                m2[g, q] = 0.0
                continue
            acc = 0.0
            for b in range(B):
                if div[b] > s:
                    acc += Ybuf[j, q, b]
            mu = acc / c
            acc = 0.0
            for b in range(B):
                if div[b] > s:
                    d = Ybuf[j, q, b] - mu
                    acc += d * d
            mean[g, q] = mu
            m2[g, q] = acc


@njit(nogil=True, cache=True, error_model="numpy")
def _refine_pairs(xf, xc):
    """Coarse normals from pairs of fine ones: ξ_c = (ξ_{2k} + ξ_{2k+1})/√2, i.e. the coarse
    Brownian increment is the sum of the two fine increments (same Brownian path)."""
    r2 = 1.0 / math.sqrt(2.0)
    K = xc.shape[0]
    for s in range(K):
        for l in range(xc.shape[1]):
            for b in range(xc.shape[2]):
                xc[s, l, b] = (xf[2 * s, l, b] + xf[2 * s + 1, l, b]) * r2


# =============================================================================== model plan

class _Model:
    """Numeric form of an SRNN for the simulator (arrays, activation code, compiled hooks)."""

    def __init__(self, net):
        from symresp.model.activations import get_activation  # noqa: F401  (registry names)
        self.net = net
        num = net.numeric()
        self.n, self.m, self.p = net.n, net.m, net.p
        self.Gam = np.ascontiguousarray(num["Gamma"])
        self.gdiag = bool(np.all(self.Gam == np.diag(np.diag(self.Gam))))
        self.W = np.ascontiguousarray(num["W"])
        self.bv = np.ascontiguousarray(num["b"])
        self.Mm = np.ascontiguousarray(num["M"])
        self.mid = bool(np.array_equal(self.Mm, np.eye(self.n)))
        self.sig = np.ascontiguousarray(num["sigma"])
        self.site_act = net.input_site == "activation"
        self.C = np.ascontiguousarray(num["C"]) if "C" in num else np.zeros((self.n, self.m))
        self.const_coupling = "C" in num
        self.linear_readout = "V" in num
        self.V = np.ascontiguousarray(num["V"]) if self.linear_readout else np.zeros((self.p, self.n))
        self.cv = np.ascontiguousarray(num["c"]) if self.linear_readout else np.zeros(self.p)
        self.h0 = num.get("h0")
        name = net.activation.name
        self.code = _ACT_CODES.get(name, -1) if name in _ACT_CODES and \
            sp.simplify(net.activation.expr - _registry_expr(name)) == 0 else -1
        self._hooks = {}
        self.fast = self.code >= 0 and self.const_coupling and self.linear_readout

    # compiled user hooks (codegen), built lazily --------------------------------------
    def hook(self, what):
        if what in self._hooks:
            return self._hooks[what]
        net, hs = self.net, list(self.net.h)
        if what == "act":
            exprs, args = [net.activation.expr], [_ZSYM]
        elif what == "dact":
            exprs, args = [sp.diff(net.activation.expr, _ZSYM)], [_ZSYM]
        elif what == "coupling":
            exprs, args = list(net.coupling), hs
        elif what == "readout":
            exprs, args = list(net.readout), hs
        elif what == "readout_grad":
            exprs, args = [sp.diff(e, h) for e in net.readout for h in hs], hs
        else:  # pragma: no cover
            raise KeyError(what)
        kernel = None
        try:
            from symresp.codegen.points import points_function
            kernel = points_function(exprs, args, name=f"srnn_{what}", parallel=False,
                                     method="straight").kernel
            X = np.zeros((1, len(args)))
            kernel(X, np.empty((1, len(exprs))))  # trial call: loads or compiles now
        except Exception as exc:  # keep simulating with a local, uncached compile
            warnings.warn(f"symresp.codegen failed for the {what} ({type(exc).__name__}: "
                          f"{str(exc)[:200]}); using a local uncached compile.", RuntimeWarning)
            kernel = _local_points(exprs, args)
        self._hooks[what] = kernel
        return kernel

    def act(self, Z, A):
        if self.code >= 0:
            _act(self.code, Z, A, np.empty(Z.shape[1]))
        else:
            self.hook("act")(Z.reshape(-1, 1), A.reshape(-1, 1))

    def dact(self, Z, D):
        if self.code >= 0:
            _dact(self.code, Z, D, np.empty(Z.shape[1]))
        else:
            self.hook("dact")(Z.reshape(-1, 1), D.reshape(-1, 1))

    def gamma(self, Hc, k, Z, D):
        """Input direction γ_k(h) per path (n, B): C_k, γ_k(h) or M (a'(Wh+b) ⊙ C_k)
        (in-activation site, the order-1 operator of THEORY §3.4; M = I, or Wᵀ in the
        Hopfield form)."""
        n, B = Hc.shape
        if self.site_act and k >= self.m:  # a monomial of weight ≥ 2 (see monomial_field)
            return self.monomial_field(Hc, k)
        if self.site_act:
            _preact(Hc, self.W, self.bv, np.zeros(n), Z)
            self.dact(Z, D)
            return self.Mm @ (D * self.C[:, k][:, None])
        if self.const_coupling:
            return np.repeat(self.C[:, k][:, None], B, axis=1)
        G = np.empty((B, n * self.m))
        self.hook("coupling")(np.ascontiguousarray(Hc.T), G)
        return np.ascontiguousarray(G[:, k::self.m].T)

    def monomial_field(self, Hc, k):
        """γ_ν(h) per path (n, B) for monomial k of :func:`symresp.generators.monomials_through`
        (THEORY §3.4, :func:`symresp.generators.monomial_fields`).  Evaluated only at kick
        times, so a numpy function of the SymPy expressions is fast enough."""
        key = ("monomial", k)
        if key not in self._hooks:
            from symresp.symbolic.generators import monomial_fields, monomials_through
            field = monomial_fields(self.net, [monomials_through(self.m, k)[k]])
            self._hooks[key] = sp.lambdify([list(self.net.h)], list(field), "numpy")
        B = Hc.shape[1]
        return np.array([np.broadcast_to(np.asarray(v, float), (B,))
                         for v in self._hooks[key](Hc)])

    def drift_numpy(self, h):
        """φ(h) at one point (for the fixed point and the burn-in time)."""
        z = (self.W @ h + self.bv)[:, None]
        a = np.empty_like(z)
        self.act(np.ascontiguousarray(z), a)
        return -self.Gam @ h + self.Mm @ a[:, 0]

    def jacobian(self, h):
        z = np.ascontiguousarray((self.W @ h + self.bv)[:, None])
        d = np.empty_like(z)
        self.dact(z, d)
        return -self.Gam + self.Mm @ (d[:, 0][:, None] * self.W)


def _local_points(exprs, args):
    """Fallback evaluator ``kernel(X, out)``, ``out[i, j] = exprs[j](X[i, :])``, printed by
    SymPy's Python code printer (the expressions were parsed by SymPy; nothing the user
    typed is pasted as text) and compiled with numba, without a disk cache."""
    from sympy.printing.pycode import pycode
    xs = [sp.Symbol(f"x{j}") for j in range(len(args))]
    sub = dict(zip(args, xs))
    lines = ["def kernel(X, out):", "    for i in range(X.shape[0]):"]
    lines += [f"        x{j} = X[i, {j}]" for j in range(len(args))]
    for q, e in enumerate(exprs):
        lines.append(f"        out[i, {q}] = {pycode(sp.sympify(e).xreplace(sub), fully_qualified_modules=True)}")
    ns = {"math": math}
    exec(compile("\n".join(lines), "<symresp.simulate local kernel>", "exec"), ns)  # noqa: S102
    return njit(nogil=True)(ns["kernel"])


def _registry_expr(name):
    from symresp.model.activations import KNOWN_ACTIVATIONS, _NON_SMOOTH
    return KNOWN_ACTIVATIONS[name].expr if name in KNOWN_ACTIVATIONS else _NON_SMOOTH[name]


_MODEL_CACHE: dict = {}


def _model(net) -> _Model:
    key = id(net)
    hit = _MODEL_CACHE.get(key)
    if hit is not None and hit.net is net:
        return hit
    mod = _Model(net)
    if len(_MODEL_CACHE) > 32:
        _MODEL_CACHE.clear()
    _MODEL_CACHE[key] = mod
    return mod


# =============================================================================== stationary start

def linear_stationary(net):
    """(m∞, S) of the linear network (THEORY §4.1): A m∞ = M b, A S + S Aᵀ = Σ, A = Γ − M W."""
    from scipy.linalg import solve_continuous_lyapunov
    if not net.is_linear:
        raise ArgumentError("linear_stationary: the network is not linear (identity activation).")
    num = net.numeric()
    A = num["Gamma"] - num["M"] @ num["W"]
    m_inf = np.linalg.solve(A, num["M"] @ num["b"])
    S = solve_continuous_lyapunov(A, num["Sigma"])
    return m_inf, (S + S.T) / 2


def burn_in_time(net, factor: float = 10.0) -> float:
    """Burn-in time ``factor / λ``: λ is the slowest relaxation rate (smallest real part of
    the eigenvalues of −Dφ) at the deterministic fixed point reached from h = 0 (or h0),
    or of Γ when that linearisation is not stable; e^{−10} ≈ 5·10⁻⁵ of the initial offset
    remains after the default factor."""
    mod = _model(net)
    lam_g = float(np.linalg.eigvals(mod.Gam).real.min())
    lam = None
    try:
        from scipy.integrate import solve_ivp
        from scipy.optimize import root
        h = np.zeros(mod.n) if mod.h0 is None else mod.h0.copy()
        # relax along the deterministic flow first (robust start for the root finder)
        sol = solve_ivp(lambda t, x: mod.drift_numpy(x), (0.0, 20.0 / lam_g), h, rtol=1e-6,
                        atol=1e-9)
        res = root(mod.drift_numpy, sol.y[:, -1], jac=mod.jacobian)
        if res.success and np.all(np.isfinite(res.x)):
            ev = np.linalg.eigvals(-mod.jacobian(res.x)).real.min()
            if ev > 1e-3:
                lam = float(ev)
    except Exception:  # any failure falls back to Γ
        lam = None
    if lam is None:
        lam = lam_g
    return factor / lam


# =============================================================================== block engine

@dataclass
class _Plan:
    mod: _Model
    nsteps: int                 # coarse steps of the main phase
    dt: float                   # coarse step
    u: np.ndarray               # (levels' finest grid + 1, m) input values on the finest grid
    out_rows: np.ndarray        # (nsteps + 1,) int64, output row of each coarse step or −1
    n_out: int
    eps: np.ndarray             # (ncop,)
    wts: np.ndarray             # (ncop,)
    kicks: list                 # [(coarse step, channel, alphas (ncop,))], sorted by step
    tangent: tuple | None       # (coarse step, channel) where the tangent starts
    start: tuple                # ("point", h0) | ("exact", mean, L) | ("burn", nburn, hinit)
    bound: float
    levels: tuple               # ((factor, weight), ...): (1, 1.) or ((1, −1.), (2, 2.))
    seed: int
    block: int
    keep_state: bool = False


def _run_block(plan: _Plan, bidx: int, B: int):
    mod = plan.mod
    n, r, p = mod.n, mod.sig.shape[1], mod.p
    ncop = plan.eps.size
    state = _stream(plan.seed, bidx)
    nlev = len(plan.levels)
    fmax = max(f for f, _ in plan.levels)
    zero = np.zeros(n)
    # per-level state
    levs = []
    for f, w in plan.levels:
        levs.append(dict(f=f, w=w, dt=plan.dt / f, H=np.empty((ncop, n, B)),
                         T=np.zeros((n if plan.tangent is not None else 0, B)),
                         div=np.full(B, _BIG, np.int64),
                         Y=np.empty((_CHUNK + 1, p, B)), rr=np.empty(_CHUNK + 1, np.int64),
                         rs=np.empty(_CHUNK + 1, np.int64),
                         u=np.ascontiguousarray(plan.u[::fmax // f]),
                         out=np.full(plan.nsteps * f + 1, -1, np.int64)))
        levs[-1]["out"][::f] = plan.out_rows
    scr = dict(Z=np.empty((n, B)), A=np.empty((n, B)), dA=np.empty((n, B)), D=np.empty((n, B)),
               E=np.empty((n, B)), N=np.empty((n, B)), flag=np.empty(B), du=np.empty(n))
    xif = np.empty((_CHUNK * fmax, r, B))
    xic = np.empty((_CHUNK, r, B)) if nlev > 1 else None

    def noise(kc):
        """Normals for kc coarse steps for every level (refined consistently)."""
        x = xif[: kc * fmax]
        _fill_normals(state, x)
        if nlev == 1:
            return {fmax: x}
        _refine_pairs(x, xic[:kc])
        return {fmax: x, 1: xic[:kc]}

    # ---- start
    kind = plan.start[0]
    h_init = np.empty((n, B))
    if kind == "point":
        h_init[:] = plan.start[1][:, None]
    elif kind == "exact":
        xs = np.empty((n, B))
        _fill_normals(state, xs)
        h_init[:] = plan.start[1][:, None] + plan.start[2] @ xs
    else:
        h_init[:] = plan.start[2][:, None]
    for L in levs:
        L["H"][:] = h_init[None]
    if kind == "burn":
        nburn = plan.start[1]
        burn_lev = [dict(L, H=L["H"][:1], T=np.zeros((0, B))) for L in levs]
        k = 0
        eps0 = np.zeros(1)
        while k < nburn:
            kc = min(_CHUNK, nburn - k)
            xs = noise(kc)
            for L in burn_lev:
                _step_level(mod, plan, L, xs[L["f"]], (k - nburn) * L["f"], kc * L["f"],
                            eps0, False, scr, zero)
            k += kc
        for L in levs:
            L["H"][1:] = L["H"][:1]

    # ---- main phase
    cnt = np.zeros(plan.n_out, np.int64)
    mean = np.zeros((plan.n_out, p))
    m2 = np.zeros((plan.n_out, p))
    events = sorted({kk[0] for kk in plan.kicks} |
                    ({plan.tangent[0]} if plan.tangent is not None else set()))
    k = 0
    while True:
        for ks, ch, alphas in plan.kicks:
            if ks == k:
                for L in levs:
                    for c in range(ncop):
                        if alphas[c] != 0.0:
                            Hc = L["H"][c]
                            Hc += alphas[c] * mod.gamma(Hc, ch, scr["Z"], scr["D"])
        if plan.tangent is not None and plan.tangent[0] == k:
            for L in levs:
                L["T"][:] = mod.gamma(L["H"][0], plan.tangent[1], scr["Z"], scr["D"])
        nxt = [e for e in events if e > k]
        kend = min([plan.nsteps, k + _CHUNK] + nxt[:1])
        kc = kend - k
        if kc > 0:
            xs = noise(kc)
        nrecs = []
        for L in levs:
            f = L["f"]
            nrec = _step_level(mod, plan, L, xs[f] if kc > 0 else None, k * f, kc * f,
                               plan.eps, True, scr, zero)
            if kend == plan.nsteps and L["out"][kend * f] >= 0:  # the final time
                _record_py(mod, plan, L, kend * f, nrec)
                nrec += 1
            nrecs.append(nrec)
        nrec = nrecs[0]
        if nrec:
            if nlev == 1:
                L = levs[0]
                Y, div = L["Y"], L["div"]
            else:  # Richardson: 2 Y_fine − Y_coarse per path; a path is alive on both levels
                # only the first nrec rows are filled; the rest of the buffers is uninitialised
                Y = levs[0]["Y"][:nrec] * levs[0]["w"] + levs[1]["Y"][:nrec] * levs[1]["w"]
                div = _merge_div(levs[0]["div"], levs[1]["div"])
            _accumulate(Y, nrec, levs[0]["rr"], levs[0]["rs"], div, cnt, mean, m2)
        k = kend
        if k >= plan.nsteps:
            break
    div = levs[0]["div"] if nlev == 1 else _merge_div(levs[0]["div"], levs[1]["div"])
    dsteps = div[div < _BIG]
    final = levs[0]["H"][0].T.copy() if plan.keep_state else None
    return cnt, mean, m2, dsteps, final


def _merge_div(dc, dfine):
    """Divergence step of a path on either level, in coarse steps (fine step d ↦ ⌈d/2⌉)."""
    df = np.where(dfine < _BIG, -(-dfine // 2), _BIG)
    return np.minimum(dc, df)


def _record_py(mod, plan, L, kstep, nrec):
    H, T, Y = L["H"], L["T"], L["Y"][nrec]
    if mod.linear_readout:
        _record_linear(H, T, plan.tangent is not None, mod.V, mod.cv, plan.wts, Y)
    elif plan.tangent is not None:
        B = H.shape[2]
        G = np.empty((B, mod.p * mod.n))
        mod.hook("readout_grad")(np.ascontiguousarray(H[0].T), G)
        Y[:] = np.einsum("bqj,jb->qb", G.reshape(B, mod.p, mod.n), T)
    else:
        B = H.shape[2]
        Y[:] = 0.0
        G = np.empty((B, mod.p))
        for c in range(H.shape[0]):
            if plan.wts[c] != 0.0:
                mod.hook("readout")(np.ascontiguousarray(H[c].T), G)
                Y += plan.wts[c] * G.T
    L["rr"][nrec] = L["out"][kstep]
    L["rs"][nrec] = kstep // L["f"]


def _step_level(mod, plan, L, xi, k0, nsteps, eps, record, scr, zero):
    """Advance one level ``nsteps`` (level) steps from level step ``k0``; returns records.
    Record steps are stored in coarse units so that levels line up."""
    if nsteps == 0:
        return 0
    H, T = L["H"], L["T"]
    tangent = T.shape[0] > 0
    dt = L["dt"]
    f = L["f"]
    if mod.fast:
        nrec = _advance(H, T, xi, k0, nsteps, dt, L["u"], mod.C, mod.site_act, eps, mod.Gam,
                        mod.gdiag, mod.W, mod.bv, mod.Mm, mod.mid, mod.sig, mod.code, tangent,
                        record, L["out"], mod.V, mod.cv, plan.wts, L["Y"], L["rr"], L["rs"], 0,
                        L["div"], plan.bound, scr["Z"], scr["A"], scr["dA"], scr["D"], scr["E"],
                        scr["N"], scr["flag"], scr["du"], zero)
        if f > 1:
            L["rs"][:nrec] //= f
        return nrec
    # general route: the same building blocks driven from Python, step by step
    ncop, n, B = H.shape
    sq = math.sqrt(dt)
    Z, A, dA, D, E, N, du = scr["Z"], scr["A"], scr["dA"], scr["D"], scr["E"], scr["N"], scr["du"]
    Nc = np.empty_like(N)
    G = np.empty((B, n * mod.m)) if not mod.const_coupling else None
    nrec = 0
    for s in range(nsteps):
        k = k0 + s
        if record and L["out"][k] >= 0:
            _record_py(mod, plan, L, k, nrec)
            nrec += 1
        _noise(mod.sig, xi[s], sq, N)
        for c in range(ncop):
            e = eps[c]
            Hc = H[c]
            if e != 0.0 and mod.const_coupling:
                du[:] = e * (mod.C @ L["u"][k])
            else:
                du[:] = 0.0
            _preact(Hc, mod.W, mod.bv, du if mod.site_act else zero, Z)
            mod.act(Z, A)
            if tangent and c == 0:
                mod.dact(Z, dA)
                _tangent_step(T, dA, mod.W, mod.Gam, mod.gdiag, mod.Mm, mod.mid, dt, D, E)
            Ninc = N
            if e != 0.0 and not mod.const_coupling:
                mod.hook("coupling")(np.ascontiguousarray(Hc.T), G)
                _drive_state(G, np.ascontiguousarray(L["u"][k]), e, dt, N, Nc)
                Ninc = Nc
            _update(Hc, A, mod.Gam, mod.gdiag, mod.Mm, mod.mid, zero if mod.site_act else du,
                    dt, Ninc, D)
        _check(H, T, L["div"], k + 1, plan.bound, scr["flag"])
    return nrec


# =============================================================================== driver

def _threads(threads):
    if threads is None:
        try:
            import numba
            return max(1, numba.get_num_threads())
        except Exception:  # pragma: no cover
            return max(1, os.cpu_count() or 1)
    if int(threads) < 1:
        raise ArgumentError(f"threads: expected a positive integer, got {threads!r}.")
    return int(threads)


def _execute(plan: _Plan, paths: int, threads, quiet: bool, desc: str):
    """Run all blocks, merge their statistics in block order (Chan et al.)."""
    nblocks = -(-paths // plan.block)
    sizes = [min(plan.block, paths - j * plan.block) for j in range(nblocks)]
    p = plan.mod.p
    cnt = np.zeros(plan.n_out, np.int64)
    mean = np.zeros((plan.n_out, p))
    m2 = np.zeros((plan.n_out, p))
    dsteps, finals = [], []
    from tqdm.auto import tqdm
    bar = tqdm(total=paths, desc=desc, unit="path", disable=quiet, delay=2.0, leave=False)
    nthreads = min(_threads(threads), nblocks)
    try:
        with ThreadPoolExecutor(max_workers=nthreads) as pool:
            wave = max(1, 2 * nthreads)  # bounded number of finished-but-unmerged blocks
            for w0 in range(0, nblocks, wave):
                js = range(w0, min(nblocks, w0 + wave))
                if nthreads == 1:
                    results = (_run_block(plan, j, sizes[j]) for j in js)
                else:
                    results = pool.map(lambda j: _run_block(plan, j, sizes[j]), js)
                for j, (cb, mb, m2b, db, fb) in zip(js, results):
                    nn = cnt + cb
                    with np.errstate(invalid="ignore", divide="ignore"):
                        delta = mb - mean
                        frac = np.where(nn > 0, cb / np.maximum(nn, 1), 0.0)[:, None]
                        mean = mean + delta * frac
                        m2 = m2 + m2b + delta ** 2 * (cnt * frac[:, 0])[:, None]
                    cnt = nn
                    dsteps.append(db)
                    if fb is not None:
                        finals.append(fb)
                    bar.update(sizes[j])
    finally:
        bar.close()
    ds = np.sort(np.concatenate(dsteps)) if dsteps else np.zeros(0, np.int64)
    return cnt, mean, m2, ds, finals


def _divergence_report(ds, dt, paths, on_divergence, bound):
    info = {"count": int(ds.size), "first_time": None, "times": []}
    if ds.size == 0:
        return info
    times = ds.astype(float) * dt  # negative: during burn-in
    info.update(first_time=float(times.min()), times=times[:1000].tolist())
    msg = (f"{ds.size} of {paths} path(s) diverged (non-finite state or |h_i| > {bound:g}); "
           f"first at t = {times.min():.6g}"
           f"{' (during burn-in)' if times.min() < 0 else ''}. They were excluded from the "
           "statistics from the time they diverged; reduce dt, check that the network is stable, "
           "or raise `bound`.")
    if on_divergence == "raise":
        raise DivergenceError(msg)
    if on_divergence == "warn":
        warnings.warn(msg, DivergenceWarning, stacklevel=3)
    return info


@dataclass
class MCResult:
    """Monte Carlo estimate on a time grid.

    ``mean[i, q]`` estimates the weighted copy combination of ``E[f_q(h_{t_i})]`` (the mean,
    the CRN response or Richardson's ``2Y_{dt/2} − Y_dt``), ``stderr`` is its standard error
    ``sd/√count``, ``count[i]`` the number of paths alive at ``t_i``."""
    t: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    count: np.ndarray
    dt: float
    paths: int
    seed: int
    diverged: dict
    meta: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"t": self.t.tolist(), "mean": self.mean.tolist(), "stderr": self.stderr.tolist(),
                "count": self.count.tolist(), "dt": self.dt, "paths": self.paths,
                "seed": self.seed, "diverged": self.diverged, **self.meta}


def _check_common(dt, paths, T=None):
    if not (isinstance(dt, (int, float, np.floating, np.integer)) and not isinstance(dt, bool)
            and np.isfinite(dt) and dt > 0):
        raise ArgumentError(f"dt: expected a positive time step, got {dt!r}.")
    if not isinstance(paths, (int, np.integer)) or isinstance(paths, bool) or paths < 1:
        raise ArgumentError(f"paths: expected a positive integer number of paths, got {paths!r}.")
    if T is not None and not (isinstance(T, (int, float, np.floating, np.integer))
                              and np.isfinite(T) and T >= 0):
        raise ArgumentError(f"T: expected a non-negative final time, got {T!r}.")


def _start(net, mod, start, h0, burn_in, dt, factor):
    """The start tuple of a plan: ("point", h0) | ("exact", m, L) | ("burn", nsteps, hinit)."""
    start = start or net.start
    if start not in ("stationary", "point", "exact", "burn-in"):
        raise ArgumentError(f"start: expected 'stationary', 'exact', 'burn-in' or 'point', got {start!r}.")
    if start == "point":
        h = mod.h0 if h0 is None else np.asarray(h0, float).ravel()
        if h is None:
            raise ArgumentError(f"start='point' needs h0 (n = {mod.n} numbers): give h0=... or a "
                             "spec with [start] h0.")
        if h.size != mod.n:
            raise ArgumentError(f"h0: expected {mod.n} numbers, got {h.size}.")
        return ("point", h.astype(float)), {"start": "point"}
    if start == "exact" or (start == "stationary" and net.is_linear and burn_in is None):
        if not net.is_linear:
            raise ArgumentError("start='exact' samples ρ∞ exactly only for the linear network "
                             "(identity activation); use 'burn-in'.")
        m_inf, S = linear_stationary(net)
        w, Q = np.linalg.eigh(S)
        L = Q * np.sqrt(np.clip(w, 0.0, None))
        return ("exact", m_inf, L), {"start": "exact"}
    tb = burn_in_time(net) if burn_in is None else float(burn_in)
    if tb < 0:
        raise ArgumentError(f"burn_in: expected a non-negative time, got {burn_in!r}.")
    hinit = mod.h0 if (h0 is None and mod.h0 is not None) else (
        np.zeros(mod.n) if h0 is None else np.asarray(h0, float).ravel())
    nb = int(math.ceil(tb / dt - 1e-9))
    return ("burn", nb, hinit.astype(float)), {"start": "burn-in", "burn_in": nb * dt}


def simulate(net, u=None, *, eps: float = 1.0, T: float = 1.0, dt: float = 0.01,
             paths: int = 10000, seed: int = 0, response: bool = False,
             richardson: bool = False, start: str | None = None, h0=None,
             burn_in: float | None = None, out_every: int = 1, u_dt: float | None = None,
             bound: float = 1e6, on_divergence: str = "warn", threads: int | None = None,
             block: int = 512, quiet: bool = False) -> MCResult:
    """Mean (and standard error) of the readout on a time grid by Euler–Maruyama.

        dh = [−Γh + M a(Wh + b (+ εCu)) + ε γ(h) u] dt + σ dW,   estimate  E[f(h_{t_i})],
        t_i = i·out_every·dt,  i = 0..⌊N/out_every⌋,  N dt = T.

    ``response=True`` estimates ``E[f(h^ε_t)] − E[f(h^0_t)]`` with common random numbers
    (THEORY §8): both networks see the same noise, so the variance is O(ε²).
    ``richardson=True`` returns ``2Y_{dt/2} − Y_dt`` (weak order 2, Talay–Tubaro): the
    fine run uses the same Brownian path (each coarse increment is the sum of two fine
    ones), and the standard error is that of the per-path combination, so the correlation
    of the two runs is accounted for.  ``dt`` is shortened so that an integer number of
    steps ends at ``T``.  ``start``: "stationary" (exact for the linear network, else
    burn-in of ``burn_in`` time, default :func:`burn_in_time`), "exact", "burn-in" or
    "point" (``h0`` or the spec's).  ``u``: anything :func:`symresp.inputs.parse_input`
    accepts (``u_dt`` marks tabulated inputs as sampled at step ``u_dt``); the Itô
    (left-point) value ``u(t_k)`` drives step k.  ``on_divergence``: "warn", "raise" or
    "ignore" (see module docstring).  Results are identical for any ``threads``.
    """
    _check_common(dt, paths, T)
    if on_divergence not in ("warn", "raise", "ignore"):
        raise ArgumentError(f"on_divergence: expected 'warn', 'raise' or 'ignore', got {on_divergence!r}.")
    if not isinstance(out_every, (int, np.integer)) or out_every < 1:
        raise ArgumentError(f"out_every: expected a positive integer, got {out_every!r}.")
    if not isinstance(block, (int, np.integer)) or block < 1:
        raise ArgumentError(f"block: expected a positive integer, got {block!r}.")
    mod = _model(net)
    nsteps = max(1, int(math.ceil(T / dt - 1e-9))) if T > 0 else 0
    dt_eff = T / nsteps if nsteps else float(dt)
    fmax = 2 if richardson else 1
    sig = parse_input(u, mod.m, dt=u_dt)
    ugrid = sig(np.arange(nsteps * fmax + 1) * dt_eff / fmax)
    out_rows = np.full(nsteps + 1, -1, np.int64)
    steps = np.arange(0, nsteps + 1, out_every)
    out_rows[steps] = np.arange(steps.size)
    startt, meta = _start(net, mod, start, h0, burn_in, dt_eff, 10.0)
    eps_arr = np.array([eps, 0.0]) if response else np.array([float(eps)])
    wts = np.array([1.0, -1.0]) if response else np.array([1.0])
    plan = _Plan(mod, nsteps, dt_eff, ugrid, out_rows, steps.size, eps_arr, wts, [], None,
                 startt, float(bound), ((1, -1.0), (2, 2.0)) if richardson else ((1, 1.0),),
                 int(seed), int(block))
    t0 = time.perf_counter()
    cnt, mean, m2, ds, _ = _execute(plan, paths, threads, quiet, "simulate")
    info = _divergence_report(ds, dt_eff, paths, on_divergence, bound)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(m2 / np.maximum(cnt - 1, 1)[:, None] / np.maximum(cnt, 1)[:, None])
    se[cnt < 2] = np.nan
    mean = mean.copy()
    mean[cnt == 0] = np.nan
    meta.update(method="mc", response=bool(response), richardson=bool(richardson),
                eps=float(eps), seconds=time.perf_counter() - t0)
    return MCResult(steps * dt_eff, mean, se, cnt, dt_eff, int(paths), int(seed), info, meta)


def response(net, u, **kw) -> MCResult:
    """CRN response ``E[f(h^ε_t)] − E[f(h^0_t)]`` (= ``simulate(..., response=True)``)."""
    return simulate(net, u, response=True, **kw)


# =============================================================================== kernels

@dataclass
class KernelMC:
    """Monte Carlo kernel values ``values[l, q] ≈ K⁽ⁿ⁾_{index}(lags[l])`` for output q."""
    order: int
    index: tuple
    lags: np.ndarray
    values: np.ndarray
    stderr: np.ndarray
    method: str
    start: str
    alpha: float | None
    dt: float
    paths: int
    diverged: dict

    def to_json(self) -> dict:
        return {"order": self.order, "index": [int(k) for k in self.index], "method": "mc",
                "estimator": self.method, "start": self.start, "lags": self.lags.tolist(),
                "values": self.values.tolist(), "stderr": self.stderr.tolist(),
                "alpha": self.alpha, "dt": self.dt, "paths": self.paths,
                "diverged": self.diverged}


def kernel_mc(net, order: int, index, lags, *, method: str = "kicked", start: str | None = None,
              h0=None, dt: float = 0.01, paths: int = 20000, seed: int = 0,
              alpha: float | None = None, richardson: bool = False,
              burn_in: float | None = None, bound: float = 1e6, on_divergence: str = "warn",
              threads: int | None = None, block: int = 512, quiet: bool = False) -> KernelMC:
    """Monte Carlo estimate of the kernel ``K⁽ⁿ⁾_{k_1…k_n}`` at the given lags (THEORY §3.3).

    **Kicked copies** (``method="kicked"``, orders 1–3): 2ⁿ copies of the unperturbed
    network (ε = 0) share the noise; copy σ ∈ {±1}ⁿ receives the kick
    ``h ↦ h + σ_j α γ_{k_j}(h)`` at time s_j, and

        K ≈ E[ Σ_σ (Π_j σ_j) f(h^σ_t) ] / (2ⁿ αⁿ)

    (central mixed difference, bias O(α²) for smooth networks, no variance blow-up as
    α → 0 thanks to common noise).  Default ``α = 10⁻³·max(1, scale)`` with ``scale`` the
    RMS stationary/initial spread; the value used is reported.
    **Tangent** (``method="tangent"``, order 1): ``K = E[∇f(h_t) J_{s→t} γ_k(h_s)]`` with
    the Euler tangent ``J ← J + dt Dφ(h) J`` (the exact derivative of the Euler map, so it
    equals the α → 0 limit of the kicked estimator on the same noise).

    ``lags``: shape (L, n) for the stationary start (τ_1..τ_n; s_n = 0 after burn-in or
    exact sampling, s_{j−1} = s_j + τ_j, t = s_1 + τ_1) or (L, n + 1) for the point start
    (τ_1..τ_n, s_n), 1-D for order 1.  Lags are rounded to multiples of ``dt`` (the
    rounded lags are returned).  ``index``: n channels, 0-based (k_j belongs to s_j).
    With ``input_site = "activation"`` (nonlinear activation) ``index`` holds monomials of
    THEORY §3.4 numbered as :attr:`symresp.kernels.Derivation.monomials` (0..m−1 are the
    channels, then u_1², u_1u_2, … by weight) and the kick direction of monomial ν = (q, m)
    is ``γ_ν = M (a⁽q⁾(Wh + b) ⊙ Π_c C_c^{m_c}/m_c!)``: every monomial is a first-order
    operator, so kicked copies estimate the kernel of any word; the series at order n sums
    the words of weight n (:func:`symresp.predict`).
    Lag tuples sharing (τ_2, …) are estimated in one run with outputs at every τ_1.
    """
    if order not in (1, 2, 3):
        raise ArgumentError(f"order: the kicked-copies estimator supports orders 1–3, got {order!r}.")
    if method not in ("kicked", "tangent"):
        raise ArgumentError(f"method: expected 'kicked' or 'tangent', got {method!r}.")
    if method == "tangent" and order != 1:
        raise ArgumentError("method='tangent' estimates order 1 only; use 'kicked' for orders 2–3.")
    _check_common(dt, paths)
    mod = _model(net)
    index = tuple(int(k) for k in (index if np.ndim(index) else [index]))
    monomials = mod.site_act and not net.is_linear
    if len(index) != order or any(k < 0 or (k >= mod.m and not monomials) for k in index):
        raise ArgumentError(f"index: expected {order} channel(s), each 0-based in 0..{mod.m - 1}, "
                         f"got {list(index)}.")
    start_kind = start or net.start
    point = start_kind == "point"
    width = order + 1 if point else order
    lg = np.asarray(lags, dtype=float)
    if lg.ndim == 1 and width == 1:
        lg = lg[:, None]
    if lg.ndim == 1 and lg.size == width:
        lg = lg[None, :]
    if lg.ndim != 2 or lg.shape[1] != width:
        raise ArgumentError(f"lags: expected shape (L, {width}) ({'τ_1..τ_n, s_n' if point else 'τ_1..τ_n'}"
                         f" for the {'point' if point else 'stationary'} start), got {lg.shape}.")
    if np.any(lg < 0) or not np.all(np.isfinite(lg)):
        raise ArgumentError("lags: must be finite and non-negative.")
    steps = np.rint(lg / dt).astype(np.int64)
    startt, meta = _start(net, mod, start_kind, h0, burn_in, dt, 10.0)
    if alpha is None:
        if startt[0] == "exact":
            scale = float(np.sqrt(np.mean(np.sum(startt[2] ** 2, axis=1))))
        else:
            scale = float(np.sqrt(np.mean(np.diag(mod.sig @ mod.sig.T)) /
                                  (2 * np.linalg.eigvals(mod.Gam).real.min())))
        alpha = 1e-3 * max(1.0, scale)
    alpha = float(alpha)
    if not alpha > 0:
        raise ArgumentError(f"alpha: expected a positive kick size, got {alpha!r}.")
    p = mod.p
    values = np.full((lg.shape[0], p), np.nan)
    stderr = np.full((lg.shape[0], p), np.nan)
    div_all = {"count": 0, "first_time": None, "times": []}
    if method == "kicked":
        ncop = 2 ** order
        signs = np.array([[1.0 - 2.0 * ((c >> j) & 1) for j in range(order)] for c in range(ncop)])
        wts = np.prod(signs, axis=1) / (2.0 * alpha) ** order
    else:
        ncop, signs, wts = 1, None, np.array([1.0])
    groups: dict = {}
    for l in range(lg.shape[0]):
        groups.setdefault(tuple(steps[l, 1:]), []).append(l)
    for gi, (key, ls) in enumerate(sorted(groups.items())):
        # kick times (coarse steps): s_n first.  key = (τ_2..τ_n[, s_n]) in steps.
        tail = list(key)
        s_n = tail.pop() if point else 0
        kick_steps = [0] * order
        kick_steps[order - 1] = s_n
        for j in range(order - 1, 0, -1):     # s_{j-1} = s_j + τ_j  (0-based: index j-1)
            kick_steps[j - 1] = kick_steps[j] + tail[j - 1]
        t_steps = kick_steps[0] + steps[ls, 0]
        nsteps = int(t_steps.max())
        out_rows = np.full(nsteps + 1, -1, np.int64)
        uniq = np.unique(t_steps)
        out_rows[uniq] = np.arange(uniq.size)
        if method == "kicked":
            kicks = [(kick_steps[j], index[j], signs[:, j] * alpha) for j in range(order)]
            kicks.sort(key=lambda x: x[0])
            tangent = None
        else:
            kicks, tangent = [], (kick_steps[0], index[0])
        fmax = 2 if richardson else 1
        plan = _Plan(mod, nsteps, float(dt), np.zeros((nsteps * fmax + 1, mod.m)), out_rows,
                     uniq.size, np.zeros(ncop), wts, kicks, tangent, startt, float(bound),
                     ((1, -1.0), (2, 2.0)) if richardson else ((1, 1.0),),
                     int(seed) + 7919 * gi, int(block))
        cnt, mean, m2, ds, _ = _execute(plan, paths, threads, quiet, f"kernel {gi + 1}/{len(groups)}")
        info = _divergence_report(ds, dt, paths, on_divergence, bound)
        if info["count"]:
            div_all["count"] += info["count"]
            ft = info["first_time"]
            div_all["first_time"] = ft if div_all["first_time"] is None else min(ft, div_all["first_time"])
            div_all["times"] = (div_all["times"] + info["times"])[:1000]
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(m2 / np.maximum(cnt - 1, 1)[:, None] / np.maximum(cnt, 1)[:, None])
        rows = np.searchsorted(uniq, t_steps)
        values[ls] = np.where(cnt[rows, None] > 0, mean[rows], np.nan)
        stderr[ls] = np.where(cnt[rows, None] > 1, se[rows], np.nan)
    return KernelMC(order, index, steps * float(dt), values, stderr, method,
                    meta["start"], alpha if method == "kicked" else None, float(dt), int(paths),
                    div_all)


# =============================================================================== stationary samples

def stationary_samples(net, n_samples: int, seed: int = 0, *, method: str = "auto",
                       dt: float = 0.01, burn_in: float | None = None, h0=None,
                       threads: int | None = None, block: int = 512, quiet: bool = True,
                       bound: float = 1e6) -> np.ndarray:
    """``n_samples`` independent draws from the invariant law ρ∞ of the unperturbed network,
    an ``(n_samples, n)`` array.

    ``method="exact"`` (linear network only): ``N(m∞, S)`` with ``A m∞ = M b`` and
    ``A S + S Aᵀ = Σ`` (THEORY §4.1).  ``method="burn-in"``: Euler–Maruyama paths from h0
    (default 0) run for ``burn_in`` (default :func:`burn_in_time`); their final states
    sample the stationary law of the Euler chain, which differs from ρ∞ by O(dt).
    ``"auto"``: exact when linear, else burn-in.  Diverged paths raise DivergenceError.
    """
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ArgumentError(f"n_samples: expected a positive integer, got {n_samples!r}.")
    _check_common(dt, int(n_samples))
    if method not in ("auto", "exact", "burn-in"):
        raise ArgumentError(f"method: expected 'auto', 'exact' or 'burn-in', got {method!r}.")
    mod = _model(net)
    kind = {"auto": "stationary", "exact": "exact", "burn-in": "burn-in"}[method]
    startt, _ = _start(net, mod, kind, h0, burn_in, float(dt), 10.0)
    plan = _Plan(mod, 0, float(dt), np.zeros((1, mod.m)), np.full(1, -1, np.int64), 1,
                 np.zeros(1), np.ones(1), [], None, startt, float(bound), ((1, 1.0),),
                 int(seed), int(block), keep_state=True)
    _, _, _, ds, finals = _execute(plan, int(n_samples), threads, quiet, "stationary samples")
    if ds.size:
        raise DivergenceError(f"stationary_samples: {ds.size} of {n_samples} burn-in path(s) "
                              f"diverged (first at t = {ds.min() * dt:.6g} into the burn-in).")
    return np.concatenate(finals, axis=0)


# =============================================================================== JSON

def simulate_json(net, input=None, eps: float = 1.0, T: float = 1.0, dt: float = 0.01,
                  paths: int = 10000, seed: int = 0, response: bool = False, **kw) -> dict:
    """JSON-able result of :func:`simulate`: ``{"t": [...], "mean": [[p values] per time],
    "stderr": [[...]], ...}`` (plus count, dt, paths, seed, diverged, start, method)."""
    return simulate(net, input, eps=eps, T=T, dt=dt, paths=paths, seed=seed, response=response,
                    **kw).to_json()


def kernel_json(net, order, index, lags, **kw) -> dict:
    """JSON-able result of :func:`kernel_mc`: ``{"order", "index", "method": "mc", "lags",
    "values", "stderr", ...}``."""
    return kernel_mc(net, order, index, lags, **kw).to_json()
