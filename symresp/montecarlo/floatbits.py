"""Bit-level operations inside numba kernels: float64 ⇄ int64 reinterpretation, and the
index of the lowest set bit of a word.

Reading the bits of a double (or building a double from bits) is what turns an integer
exponent k into 2^k, or 52 random bits into the float they count, without an int64 → float64
conversion: AVX2 has no vector instruction for that conversion, so a loop containing one is
not vectorised.  Both functions are one LLVM ``bitcast``, free at run time.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["as_float", "as_int", "lowest_bit"]


@intrinsic
def as_float(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    if not isinstance(bits, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.int64)
        return builder.bitcast(v, ir.DoubleType())

    return types.float64(bits), codegen


@intrinsic
def as_int(typingctx, x):
    """The IEEE-754 bit pattern of the float64 ``x``, as an int64."""
    if not isinstance(x, types.Float):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.float64)
        return builder.bitcast(v, ir.IntType(64))

    return types.int64(x), codegen


@intrinsic
def lowest_bit(typingctx, word):
    """The index of the lowest set bit of the uint64 ``word`` (64 for 0): LLVM's ``cttz``,
    one instruction, written here rather than taken from numba's internal modules."""
    if not isinstance(word, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        v = context.cast(builder, args[0], signature.args[0], types.uint64)
        return builder.cttz(v, ir.Constant(ir.IntType(1), 0))

    return types.uint64(word), codegen
