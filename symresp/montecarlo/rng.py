"""Random numbers of the simulator: eight interleaved xoshiro256** streams (Blackman & Vigna)
advanced together in SIMD registers, decoded by the 256-layer normal ziggurat of numpy's
Generator (Marsaglia & Tsang 2000), compiled with numba.

Block ``j`` of a run with seed ``s`` owns a *stream*: the state of :data:`LANES` xoshiro256**
generators (the lanes) and of one more, the *fix-up* generator, all seeded from
``SeedSequence(s, spawn_key=(j,))`` — so results do not depend on how blocks are scheduled.

Drawing ``N`` normals (:func:`fill_normals`) takes the 64-bit words of the lanes in turn
(word ``g·LANES + l`` is the g-th output of lane l) and decodes word w as numpy does:
layer ``i = w & 255``, sign bit 8, 52-bit magnitude ``a = (w >> 9) & (2^52 − 1)``, candidate
``x = ±a·w_i``.  ``a < k_i`` (the point lies inside the layer's rectangle) accepts x; this
decode is branch-free and vectorised.  The other 1.5 % of words finish numpy's algorithm —
the wedge test ``f_i + U (f_{i−1} − f_i) < e^{−x²/2}``, or for layer 0 Marsaglia's tail
method, and fresh words on a second rejection — with every further random number taken from
the fix-up generator, in order of position.  Each normal is therefore an exact ziggurat
draw, independent of the others (the fix-up stream is independent of the lanes), and the
numbers depend only on the stream's state and the sequence of request sizes.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from symresp.montecarlo.floatbits import as_float, lowest_bit

__all__ = ["LANES", "standard_normals", "stream_state", "fill_normals", "fill_flat"]

#: Interleaved xoshiro256** generators of one stream (two AVX2 registers per state word).
LANES = 8
_FIX = 4 * LANES  # offset of the fix-up generator's state in a stream
_PIECE = 512  # words decoded at a time: their buffer stays in the L1 cache


def _ziggurat_tables():
    """Tables of the 256-layer normal ziggurat (Marsaglia & Tsang 2000, numpy's layout:
    52-bit magnitudes, ``ki`` acceptance thresholds, ``wi`` widths, ``fi`` densities)."""
    r = 3.6541528853610087963519472518
    v = 0.00492867323399
    m1 = 2.0**52
    ki = np.zeros(256, np.int64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    dn = tn = r
    q = v / math.exp(-0.5 * dn * dn)
    ki[0] = int((dn / q) * m1)
    ki[1] = 0
    wi[0] = q / m1
    wi[255] = dn / m1
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(v / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = int((dn / tn) * m1)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m1
    return ki, wi, fi, r


_KI, _WI, _FI, _ZR = _ziggurat_tables()
_ZRINV = 1.0 / _ZR
_M52 = np.uint64(0x000FFFFFFFFFFFFF)
_TWO52_BITS = np.int64(0x4330000000000000)  # bits of 2^52: (bits | a) − 2^52 = a for a < 2^52
_TWO52 = 4503599627370496.0


@intrinsic
def _xoshiro_lanes(typingctx, state, out, groups):
    """Advance the :data:`LANES` lanes of ``state`` ``groups`` times, writing output g of lane
    l to ``out[g·LANES + l]`` (xoshiro256**: ``rotl(5 s1, 7)·9``, then the linear update).

    The lanes' state words sit in ``state[q·LANES + l]``, q = 0..3; they are held in LLVM
    vectors of LANES uint64 for the whole loop (numba's loop vectoriser would reload them
    through memory every step).  ``out`` must hold ``groups·LANES`` words."""
    sig = types.void(state, out, groups)

    def codegen(context, builder, signature, args):
        sta = context.make_array(signature.args[0])(context, builder, args[0])
        outa = context.make_array(signature.args[1])(context, builder, args[1])
        ngroups = context.cast(builder, args[2], signature.args[2], types.intp)
        i64 = ir.IntType(64)
        vt = ir.VectorType(i64, LANES)
        sp = builder.bitcast(sta.data, vt.as_pointer())
        op = builder.bitcast(outa.data, vt.as_pointer())

        def splat(c):
            return ir.Constant(vt, [c] * LANES)

        def rotl(x, k):
            return builder.or_(builder.shl(x, splat(k)), builder.lshr(x, splat(64 - k)))

        words = [
            cgutils.alloca_once_value(
                builder, builder.load(builder.gep(sp, [ir.Constant(i64, q)]), align=8)
            )
            for q in range(4)
        ]
        with cgutils.for_range(builder, ngroups) as loop:
            s0, s1, s2, s3 = (builder.load(w) for w in words)
            res = builder.mul(rotl(builder.mul(s1, splat(5)), 7), splat(9))
            builder.store(res, builder.gep(op, [loop.index]), align=8)
            t = builder.shl(s1, splat(17))
            s2 = builder.xor(s2, s0)
            s3 = builder.xor(s3, s1)
            s1 = builder.xor(s1, s2)
            s0 = builder.xor(s0, s3)
            s2 = builder.xor(s2, t)
            s3 = rotl(s3, 45)
            for w, v in zip(words, (s0, s1, s2, s3)):
                builder.store(v, w)
        for q, w in enumerate(words):
            builder.store(builder.load(w), builder.gep(sp, [ir.Constant(i64, q)]), align=8)
        return context.get_dummy_value()

    return sig, codegen


@njit(nogil=True, cache=True, inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@njit(nogil=True, cache=True)
def _fix_word(state):
    """Next word of the fix-up generator (scalar xoshiro256**)."""
    o = _FIX
    s0, s1, s2, s3 = state[o], state[o + 1], state[o + 2], state[o + 3]
    res = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    state[o], state[o + 1], state[o + 2], state[o + 3] = s0, s1, s2, _rotl(s3, 45)
    return res


@njit(nogil=True, cache=True)
def _fix_uniform(state):
    """U[0, 1) with 53 bits from the fix-up generator."""
    return float(np.int64(_fix_word(state) >> np.uint64(11))) * (1.0 / 9007199254740992.0)


@njit(nogil=True, cache=True, error_model="numpy")
def _finish(state, w):
    """Complete numpy's ziggurat for a word ``w`` that failed the rectangle test."""
    while True:
        idx = np.int64(w & np.uint64(0xFF))
        rabs = np.int64((w >> np.uint64(9)) & _M52)
        x = float(rabs) * _WI[idx]
        if (w >> np.uint64(8)) & np.uint64(1):
            x = -x
        if rabs < _KI[idx]:
            return x  # a fresh word inside its rectangle
        if idx == 0:  # tail beyond r: Marsaglia's exponential method
            while True:
                xx = -_ZRINV * math.log1p(-_fix_uniform(state))
                yy = -math.log1p(-_fix_uniform(state))
                if yy + yy > xx * xx:
                    break
            return -(_ZR + xx) if (rabs >> 8) & 1 else _ZR + xx
        if (_FI[idx - 1] - _FI[idx]) * _fix_uniform(state) + _FI[idx] < math.exp(-0.5 * x * x):
            return x  # inside the wedge
        w = _fix_word(state)


@njit(nogil=True, cache=True, error_model="numpy")
def fill_flat(state, flat, buf):
    """Fill the 1-D float array ``flat`` with N(0, 1) draws from ``state``; ``buf`` is a
    work array of at least 512 uint64 (pass one to avoid an allocation per call)."""
    size = flat.size
    ki, wi = _KI, _WI
    rejected = np.empty(_PIECE // 64, np.uint64)  # bit q of word g: position 64 g + q failed
    for j0 in range(0, size, _PIECE):
        m = min(_PIECE, size - j0)
        # the unused words of a last, partial group of lanes are dropped
        _xoshiro_lanes(state, buf, (m + LANES - 1) // LANES)
        ng = (m + 63) // 64
        for g in range(ng):
            mask = np.uint64(0)
            for q in range(g * 64, min(m, g * 64 + 64)):  # branch-free: vectorised
                w = buf[q]
                idx = np.int64(w & np.uint64(0xFF))
                rabs = np.int64((w >> np.uint64(9)) & _M52)
                x = (as_float(rabs | _TWO52_BITS) - _TWO52) * wi[idx]
                flat[j0 + q] = -x if (w >> np.uint64(8)) & np.uint64(1) else x
                mask |= np.uint64(0 if rabs < ki[idx] else 1) << np.uint64(q & 63)
            rejected[g] = mask
        for g in range(ng):  # the rejected words, in order of position
            mask = rejected[g]
            while mask:
                q = g * 64 + lowest_bit(mask)
                flat[j0 + q] = _finish(state, buf[q])
                mask &= mask - np.uint64(1)


@njit(nogil=True, cache=True)
def fill_normals(state, out):
    """Fill the C-contiguous float array ``out`` with N(0, 1) draws from the stream ``state``."""
    fill_flat(state, out.reshape(-1), np.empty(_PIECE, np.uint64))


def stream_state(seed: int, index: int) -> np.ndarray:
    """State of stream number ``index`` for ``seed``: :data:`LANES` xoshiro256** lanes and the
    fix-up generator, ``4·(LANES + 1)`` words derived by ``SeedSequence(seed, spawn_key=(index,))``."""
    st = np.random.SeedSequence(int(seed), spawn_key=(int(index),)).generate_state(
        4 * (LANES + 1), np.uint64
    )
    for lane in range(LANES):  # the all-zero state is the one forbidden state of each generator
        if not st[lane:_FIX:LANES].any():
            st[lane] = np.uint64(1)
    if not st[_FIX:].any():
        st[_FIX] = np.uint64(1)
    return st


def standard_normals(shape, seed: int = 0, stream: int = 0) -> np.ndarray:
    """N(0, 1) draws from the simulator's generator (stream ``stream`` of ``seed``)."""
    out = np.empty(shape)
    fill_normals(stream_state(seed, stream), out)
    return out
