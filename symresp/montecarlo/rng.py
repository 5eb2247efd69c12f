"""Random numbers of the simulator: xoshiro256** (Blackman & Vigna) and the 256-layer normal
ziggurat of numpy's Generator (Marsaglia & Tsang 2000), compiled with numba.

Block ``j`` of a run with seed ``s`` draws from its own stream, seeded from
``SeedSequence(s, spawn_key=(j,))``, so results do not depend on how blocks are scheduled.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["standard_normals", "stream_state", "fill_normals"]


def _ziggurat_tables():
    """Tables of the 256-layer normal ziggurat (Marsaglia & Tsang 2000, numpy's layout:
    52-bit magnitudes, ``ki`` acceptance thresholds, ``wi`` widths, ``fi`` densities)."""
    r = 3.6541528853610087963519472518
    v = 0.00492867323399
    m1 = 2.0**52
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
def fill_normals(state, out):
    """Fill the contiguous float array ``out`` with N(0, 1) draws from the stream ``state``."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    flat = out.reshape(-1)
    ki, wi, fi = _KI, _WI, _FI
    u5, u9 = np.uint64(5), np.uint64(9)
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


def stream_state(seed: int, index: int) -> np.ndarray:
    """State of the xoshiro256** stream number ``index`` for ``seed`` (SeedSequence-derived)."""
    st = np.random.SeedSequence(int(seed), spawn_key=(int(index),)).generate_state(4, np.uint64)
    if not st.any():  # the all-zero state is the one forbidden state
        st[0] = np.uint64(1)
    return st


def standard_normals(shape, seed: int = 0, stream: int = 0) -> np.ndarray:
    """N(0, 1) draws from the simulator's generator (stream ``stream`` of ``seed``)."""
    out = np.empty(shape)
    fill_normals(stream_state(seed, stream), out)
    return out
