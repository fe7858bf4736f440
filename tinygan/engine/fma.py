"""a * b + c rounded once, as a CPU's fused multiply-add instruction computes it.

PyTorch's CPU kernels are compiled with fused multiply-adds wherever the compiler may contract
``a * b + c`` (scalar loops, some vector code); NumPy has no such operation, and rounding the
product before the addition can change the last bit. Where tinygan follows PyTorch's
arithmetic bit for bit (bilinear resampling, BatchNorm, addcmul_), it calls ``fused``.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from tinygan.devices import backend

xp_of = backend.get_array_module


def fused(a: Any, b: Any, c: Any) -> Any:
    """a * b + c with one rounding. float32: in float64, where the product is exact, rounded
    to odd and then to float32. float64: the product's rounding error recovered exactly
    (Dekker's split of each factor into two halves whose products are exact), c added by
    Knuth's two-sum, the two small parts summed and rounded to odd, and the total rounded
    once more (Boldo and Melquiond's emulation of the fused operation). Where a value is
    inf or NaN, or the result zero, the plain a * b + c (the same inf or NaN, the same sign
    of zero)."""
    dtype = getattr(a, "dtype", None)
    if dtype == np.float32:   # (a smaller b or c widened first: NumPy's broadcasting
        # loops over mixed dtypes are slow)
        return _to_float32_once(a.astype(np.float64) * _wide(b, a.size),
                                _wide(c, a.size))
    if dtype != np.float64:
        return a * b + c
    xp = xp_of(a)
    product = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        a_hi, a_lo = _split(a)
        b_hi, b_lo = _split(b)
        product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
        total, sum_error = _two_sum(product, c)    # a*b + c = total + sum_error + product_error
        small, smaller = _two_sum(sum_error, product_error)
        exact = total + _rounded_to_odd(small, smaller)
    # inf or NaN, or an exact zero: a * b + c itself (the zero signed by IEEE's rules)
    result = xp.where(xp.isfinite(exact) & (exact != 0), exact, product + c)
    # Dekker's split needs a product far enough from underflow for its error to be a
    # float64 too: below 2^-968, with c as small (a larger c swamps the product anyway),
    # the few such elements are computed exactly, in Python's fractions, and rounded once
    tiny = (abs(product) < 2.0 ** -968) & (abs(c) < 2.0 ** -900)
    if bool(tiny.any()):
        result = _exactly_where(tiny, result, a, b, c)
    return result


def _exactly_where(mask: Any, result: Any, a: Any, b: Any, c: Any) -> Any:
    """``result`` with a * b + c rounded once from its exact value where ``mask`` holds
    (Python's Fraction to float rounds correctly, subnormals included)."""
    xp = xp_of(result)
    result = backend.to_numpy(result).copy()
    shape = result.shape
    a, b, c, mask = (np.broadcast_to(backend.to_numpy(xp.asarray(v)), shape)
                     for v in (a, b, c, mask))
    for at in map(tuple, np.argwhere(mask)):
        exact = Fraction(float(a[at])) * Fraction(float(b[at])) + Fraction(float(c[at]))
        if exact != 0:   # (an exact zero keeps IEEE's sign, as above)
            result[at] = float(exact)
    return xp.asarray(result)


def _wide(v: Any, size: int) -> Any:
    """v as float64 where it is a number or smaller than ``size`` (broadcast)."""
    if not hasattr(v, "astype"):
        return np.float64(v)
    return v.astype(np.float64) if v.size < size else v


def _to_float32_once(product: Any, c: Any) -> Any:
    """product + c (product float64 and exact) rounded once to float32. The float64 sum
    rounds first; rounding it again to float32 is wrong only where the float64 sum sits
    exactly halfway between two float32 numbers (its 29 extra bits 1000...0) and was
    inexact: there, and only there, the sum is rounded to odd first. The search for those
    sums runs block by block on the CPU, its temporaries small enough to stay in cache
    (whole arrays of them cost more than the sum itself)."""
    xp = xp_of(product)
    with np.errstate(over="ignore", invalid="ignore"):
        total = product + c
        if xp.ndim(total) == 0:   # one number: round it to odd directly
            return _rounded_to_odd(*_two_sum(product, c)).astype(np.float32)
        bits = total.reshape(-1).view(np.int64)   # (a copy where total is not contiguous)
        block = bits.size if xp is not np else _BLOCK
        for start in range(0, bits.size, block):
            halfway = (bits[start:start + block] & 0x1FFFFFFF) == 0x10000000
            if halfway.any():
                at = xp.unravel_index(xp.nonzero(halfway)[0] + start, total.shape)
                s, e = _two_sum(xp.broadcast_to(product, total.shape)[at],
                                xp.broadcast_to(c, total.shape)[at])
                total[at] = _rounded_to_odd(s, e)
    return total.astype(np.float32)


_BLOCK = 1 << 15   # elements per block of the halfway search (256 KiB of float64)


def _two_sum(x: Any, y: Any) -> tuple[Any, Any]:
    """(s, e) with s = x + y rounded and s + e = x + y exactly (Knuth)."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = x + y
        back = s - x
        return s, (x - (s - back)) + (y - back)


def _rounded_to_odd(s: Any, e: Any) -> Any:
    """s + e rounded "to odd", where s is s + e rounded to nearest: an inexact s moved to
    its neighbour on the exact value's side when its last bit is even. Rounding that again
    (to float32, or after one more addition) cannot fall on the wrong side of a tie, which
    a second rounding to nearest can (1e30 / 32 * 3 - 4.65 in float32): a double rounding
    through round-to-odd is exact (Boldo and Melquiond 2008, "Emulation of FMA and
    correctly rounded sums: proved algorithms using rounding to odd")."""
    xp = xp_of(s)
    with np.errstate(over="ignore", invalid="ignore"):
        even = (xp.asarray(s, dtype=np.float64).view(np.int64) & 1) == 0
        towards = xp.where(e > 0, np.inf, -np.inf)
        return xp.where((e != 0) & even & xp.isfinite(s), xp.nextafter(s, towards), s)


def _split(x: Any) -> tuple[Any, Any]:
    """x = hi + lo with each half 26 bits wide (Veltkamp): products of halves are exact."""
    scaled = x * 134217729.0   # 2^27 + 1
    hi = scaled - (scaled - x)
    return hi, x - hi


def cpu_has(feature: str) -> bool:
    """Whether the CPU has an instruction set extension, as NumPy reads them ("AVX512F",
    "AVX512FP16", ...); False where NumPy cannot say."""
    try:   # NumPy's own reading of the CPU's features (NumPy 2, then 1)
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return False
    return bool(features.get(feature))


# The width of the vectors PyTorch's CPU kernels use here: 64 bytes where the CPU has the
# AVX-512 subsets PyTorch requires for its AVX512 kernels, else 32 (AVX2).
def _vector_bytes() -> int:
    avx512 = ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")
    return 64 if all(cpu_has(f) for f in avx512) else 32


VECTOR_BYTES = _vector_bytes()
