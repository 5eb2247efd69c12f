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

__all__ = [
    "ModelArrays",
    "LevelArrays",
    "Scratch",
    "advance",
    "tanh_array",
    "act",
    "dact",
    "matvec",
    "noise",
    "preact",
    "update",
    "tangent_step",
    "check_divergence",
    "record_linear",
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
    """Work arrays of one block: (n, B) each, ``flag`` (B,), ``du``/``zero`` (n,)."""

    Z: np.ndarray
    A: np.ndarray
    dA: np.ndarray
    D: np.ndarray
    E: np.ndarray
    N: np.ndarray
    flag: np.ndarray
    du: np.ndarray
    zero: np.ndarray


# tanh without libm calls, so that the path loop vectorises (numba has no SIMD tanh here
# without SVML; math.tanh cost ≈ 20 ns a call and dominated a step).  Cephes' tanh:
# |x| < 0.625: x + x³ P(x²)/Q(x²); else 1 − 2/(e^{2|x|} + 1) written with e = e^{−2|x|},
# e^y by y = k ln2 + r, |r| ≤ ln2/2, a degree-13 Taylor polynomial and a 2^k table.
# Both branches are evaluated and one is selected (no branch in the loop).  Max relative
# error vs numpy's tanh: ≈ 2 ulp (tested).
_TP = (-9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3)
_TQ = (1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3)
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
(_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13) = tuple(
    1.0 / math.factorial(j) for j in range(2, 14)
)


@njit(nogil=True, cache=True, error_model="numpy")
def _tanh_row(z, out, scratch):
    """out = tanh(z) for 1-D rows; ``scratch`` (float64, len ≥ len(z)) holds 2^k built from
    bits (a table lookup would be a gather and stop vectorisation).  The two Cephes branches
    share one division: tanh = num/den with (num, den) selected per element."""
    B = z.size
    bits = scratch.view(np.int64)
    for b in range(B):
        ax = min(abs(z[b]), 20.0)  # NaN → 20; tanh(20) rounds to 1
        kf = np.floor(-2.0 * ax * _INV_LN2 + 0.5)
        bits[b] = (np.int64(kf) + 1023) << 52  # 2^k, k ∈ [−58, 0]
    for b in range(B):
        x = z[b]
        ax = min(abs(x), 20.0)
        sq = x * x
        ps = (_TP[0] * sq + _TP[1]) * sq + _TP[2]
        qs = ((sq + _TQ[0]) * sq + _TQ[1]) * sq + _TQ[2]
        y = -2.0 * ax
        kf = np.floor(y * _INV_LN2 + 0.5)
        r = (y - kf * _LN2_HI) - kf * _LN2_LO
        pr = (
            (
                (
                    (
                        (
                            (
                                (
                                    (
                                        ((((_E13 * r + _E12) * r + _E11) * r + _E10) * r + _E9) * r
                                        + _E8
                                    )
                                    * r
                                    + _E7
                                )
                                * r
                                + _E6
                            )
                            * r
                            + _E5
                        )
                        * r
                        + _E4
                    )
                    * r
                    + _E3
                )
                * r
                + _E2
            )
            * r
            + 1.0
        ) * r + 1.0
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
def act(code, Z, A, scr):
    """A = a(Z) elementwise; the branch sits outside the path loop so each loop vectorises."""
    n, B = Z.shape
    for i in range(n):
        if code == _IDENTITY:
            for b in range(B):
                A[i, b] = Z[i, b]
        elif code == _TANH:
            _tanh_row(Z[i], A[i], scr)
        elif code == _SIGMOID:
            for b in range(B):
                A[i, b] = 1.0 / (1.0 + math.exp(-Z[i, b]))
        elif code == _SOFTPLUS:  # softplus, overflow-free: max(z, 0) + log1p(exp(−|z|))
            for b in range(B):
                z = Z[i, b]
                A[i, b] = max(z, 0.0) + math.log1p(math.exp(-abs(z)))
        elif code == _SIN:
            for b in range(B):
                A[i, b] = math.sin(Z[i, b])
        elif code == _CUBIC:
            for b in range(B):
                z = Z[i, b]
                A[i, b] = z - z * z * z / 3.0
        elif code == _RELU:
            for b in range(B):
                A[i, b] = max(Z[i, b], 0.0)
        elif code == _ABS:
            for b in range(B):
                A[i, b] = abs(Z[i, b])


@njit(nogil=True, cache=True, error_model="numpy")
def dact(code, Z, D, scr):
    """D = a'(Z) elementwise (relu' = 1[z > 0], abs' = sign z)."""
    n, B = Z.shape
    for i in range(n):
        if code == _IDENTITY:
            for b in range(B):
                D[i, b] = 1.0
        elif code == _TANH:
            _tanh_row(Z[i], D[i], scr)
            for b in range(B):
                D[i, b] = 1.0 - D[i, b] * D[i, b]
        elif code == _SIGMOID or code == _SOFTPLUS:
            for b in range(B):
                s = 1.0 / (1.0 + math.exp(-Z[i, b]))
                D[i, b] = s * (1.0 - s) if code == _SIGMOID else s
        elif code == _SIN:
            for b in range(B):
                D[i, b] = math.cos(Z[i, b])
        elif code == _CUBIC:
            for b in range(B):
                D[i, b] = 1.0 - Z[i, b] * Z[i, b]
        elif code == _RELU:
            for b in range(B):
                D[i, b] = 1.0 if Z[i, b] > 0.0 else 0.0
        elif code == _ABS:
            for b in range(B):
                z = Z[i, b]
                D[i, b] = 1.0 if z > 0.0 else (-1.0 if z < 0.0 else 0.0)


@njit(nogil=True, cache=True, error_model="numpy")
def matvec(Mt, X, out, add):
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
def noise(sig, xi, sq, N):
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
def preact(Hc, W, bv, shift, Z):
    """Z = W h + b + shift (shift = ε C u when the input sits inside the activation)."""
    matvec(W, Hc, Z, False)
    n, B = Z.shape
    for i in range(n):
        c = bv[i] + shift[i]
        for b in range(B):
            Z[i, b] += c


@njit(nogil=True, cache=True, error_model="numpy")
def update(Hc, A, Gam, gdiag, Mm, mid, drive, dt, N, D):
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
        matvec(Mm, A, D, True)
    for i in range(n):
        dr = drive[i]
        for b in range(B):
            Hc[i, b] += dt * (D[i, b] + dr) + N[i, b]


@njit(nogil=True, cache=True, error_model="numpy")
def tangent_step(T, dA, W, Gam, gdiag, Mm, mid, dt, D, E):
    """Euler step of the tangent flow dJv = Dφ(h) Jv dt, Dφ = −Γ + M diag(a'(z)) W
    (the exact derivative of the Euler map, so it matches α → 0 of kicked copies)."""
    n, B = T.shape
    matvec(W, T, D, False)
    for i in range(n):
        for b in range(B):
            D[i, b] *= dA[i, b]
    if mid:
        for i in range(n):
            for b in range(B):
                E[i, b] = D[i, b]
    else:
        matvec(Mm, D, E, False)
    matvec(Gam, T, D, False)
    for i in range(n):
        for b in range(B):
            T[i, b] += dt * (E[i, b] - D[i, b])


@njit(nogil=True, cache=True, error_model="numpy")
def check_divergence(H, T, div, kstep, bound, flag):
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
def record_linear(H, T, tangent, V, cv, wts, Y):
    """Y = Σ_c w_c (V h^{(c)} + c)  or, for the tangent estimator, Y = V J."""
    ncop, n, B = H.shape
    p = V.shape[0]
    if tangent:
        matvec(V, T, Y, False)
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
def advance(md, lv, sc, xi, k0, nsteps, dt, eps, tangent, record, wts, bound):
    """Advance all copies ``nsteps`` Euler–Maruyama steps from step ``k0`` (fast route:
    registry activation, constant coupling, linear readout).

    At each step k with ``lv.out[k] >= 0`` (and ``record``) the state at t_k is recorded
    into ``lv.Y`` before stepping.  Returns the number of records."""
    H, T, u = lv.H, lv.T, lv.u
    Z, A, dA, D, E, N, flag, du, zero = sc.Z, sc.A, sc.dA, sc.D, sc.E, sc.N, sc.flag, sc.du, sc.zero
    C, site_act, code = md.C, md.site_act, md.code
    ncop, n, B = H.shape
    m = C.shape[1]
    sq = math.sqrt(dt)
    nrec = 0
    for s in range(nsteps):
        k = k0 + s
        if record and lv.out[k] >= 0:
            record_linear(H, T, tangent, md.V, md.cv, wts, lv.Y[nrec])
            lv.rr[nrec] = lv.out[k]
            lv.rs[nrec] = k
            nrec += 1
        noise(md.sig, xi[s], sq, N)
        for c in range(ncop):
            e = eps[c]
            for i in range(n):
                acc = 0.0
                if e != 0.0:
                    for kk in range(m):
                        acc += C[i, kk] * u[k, kk]
                du[i] = e * acc
            Hc = H[c]
            preact(Hc, md.W, md.bv, du if site_act else zero, Z)
            act(code, Z, A, flag)
            if tangent and c == 0:
                dact(code, Z, dA, flag)
                tangent_step(T, dA, md.W, md.Gam, md.gdiag, md.Mm, md.mid, dt, D, E)
            update(Hc, A, md.Gam, md.gdiag, md.Mm, md.mid, zero if site_act else du, dt, N, D)
        check_divergence(H, T, lv.div, k + 1, bound, flag)
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
def refine_pairs(xf, xc):
    """Coarse normals from pairs of fine ones: ξ_c = (ξ_{2k} + ξ_{2k+1})/√2, i.e. the coarse
    Brownian increment is the sum of the two fine increments (same Brownian path)."""
    r2 = 1.0 / math.sqrt(2.0)
    K = xc.shape[0]
    for s in range(K):
        for l in range(xc.shape[1]):
            for b in range(xc.shape[2]):
                xc[s, l, b] = (xf[2 * s, l, b] + xf[2 * s + 1, l, b]) * r2
