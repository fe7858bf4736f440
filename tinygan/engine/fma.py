"""a * b + c rounded once, as a CPU's fused multiply-add instruction computes it.

PyTorch's CPU kernels are compiled with fused multiply-adds wherever the compiler may contract
``a * b + c`` (scalar loops, some vector code); NumPy has no such operation, and rounding the
product before the addition can change the last bit. Where tinygan follows PyTorch's
arithmetic bit for bit (bilinear resampling, BatchNorm, addcmul_), it calls ``fused``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend

xp_of = backend.get_array_module


def fused(a: Any, b: Any, c: Any) -> Any:
    """a * b + c with one rounding. float32: in float64, where the product is exact.
    float64: the product's rounding error recovered exactly (Dekker's split of each factor
    into two halves whose products are exact), then added back with c's (Knuth's two-sum);
    the sum of the parts rounds as the fused operation does, but for rare double roundings.
    Where a value is inf or NaN, the plain a * b + c (the same inf or NaN)."""
    dtype = getattr(a, "dtype", None)
    if dtype == np.float32:
        return _to_float32_once(a.astype(np.float64) * b, c)
    if dtype != np.float64:
        return a * b + c
    xp = xp_of(a)
    product = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        a_hi, a_lo = _split(a)
        b_hi, b_lo = _split(b)
        product_error = ((a_hi * b_hi - product) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
        total = product + c
        back = total - product
        sum_error = (product - (total - back)) + (c - back)
        exact = total + (product_error + sum_error)
    return xp.where(xp.isfinite(exact), exact, product + c)


def _to_float32_once(product: Any, c: Any) -> Any:
    """product + c rounded once to float32, where product (float64) is exact. The float64
    sum may round, and rounding again to float32 can then land on the other side of a tie
    (1e30 / 32 * 3 - 4.65). Rounding the float64 sum "to odd" (an inexact sum moved to the
    odd neighbour on the exact value's side) keeps the information the second rounding
    needs: float64 has more than twice float32's 24 bits plus two, so the result is the
    float32 nearest the exact sum (Boldo and Melquiond 2008)."""
    xp = xp_of(product)
    with np.errstate(over="ignore", invalid="ignore"):
        total = product + c
        back = total - product
        error = (product - (total - back)) + (c - back)   # exact: product + c - total
        even = (xp.asarray(total).view(np.int64) & 1) == 0
        towards = xp.where(error > 0, np.inf, -np.inf)
        odd = xp.where((error != 0) & even & xp.isfinite(total),
                       xp.nextafter(total, towards), total)
    return xp.asarray(odd).astype(np.float32)


def _split(x: Any) -> tuple[Any, Any]:
    """x = hi + lo with each half 26 bits wide (Veltkamp): products of halves are exact."""
    scaled = x * 134217729.0   # 2^27 + 1
    hi = scaled - (scaled - x)
    return hi, x - hi


# The width of the vectors PyTorch's CPU kernels use here: 64 bytes where the CPU has the
# AVX-512 subsets PyTorch requires for its AVX512 kernels, else 32 (AVX2).
def _vector_bytes() -> int:
    try:   # NumPy's own reading of the CPU's features (NumPy 2, then 1)
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return 32
    avx512 = ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")
    return 64 if all(features.get(f) for f in avx512) else 32


VECTOR_BYTES = _vector_bytes()
