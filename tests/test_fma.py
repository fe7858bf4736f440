"""engine/fma.py's fused(a, b, c): a * b + c rounded once, checked against exact arithmetic.

The float32 form computes in float64, where the product is exact but the sum may round; a
second rounding to float32 can then fall on the wrong side of a tie. The generators draw
ordinary values and, separately, the values that sit exactly on a float32 tie (3 times an
odd 24-bit integer, plus a number too small for float64 to keep), where the plain
float64-then-float32 rounding is wrong half of the time.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import example, given, settings, strategies as st

from tinygan.engine.fma import fused


def _nearest_float32(exact: Fraction) -> np.float32:
    """The float32 nearest to ``exact``, ties to the even one (IEEE's rounding)."""
    guess = np.float32(float(exact))
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]
    finite = [c for c in candidates if np.isfinite(c)]

    def key(c: np.float32) -> tuple:
        odd = int(np.array(c).view(np.int32)) & 1
        return abs(Fraction(float(c)) - exact), odd
    return min(finite, key=key)


def _exact(a: np.float32, b: np.float32, c: np.float32) -> np.float32:
    return _nearest_float32(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)))


finite32 = st.floats(-2.0 ** 60, 2.0 ** 60, width=32, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(finite32, finite32, finite32)
def test_fused_float32_is_the_exact_sum_rounded_once(a, b, c):
    got = fused(np.array([a], np.float32), np.float32(b), np.float32(c))
    assert got.dtype == np.float32
    assert got[0] == _exact(np.float32(a), np.float32(b), np.float32(c)), (a, b, c)


@settings(max_examples=300, deadline=None)
@given(st.integers(2 ** 22, (2 ** 25 - 4) // 6), st.integers(-40, 40),
       st.sampled_from([1, -1]), st.integers(-60, -30), st.sampled_from([1, -1]))
def test_fused_float32_rounds_ties_by_the_small_addend(half_odd, exponent, sign,
                                                       tiny_exponent, tiny_sign):
    # 3 * b with b odd below 2**25 / 3 has 25 significant bits ending in 1: exactly halfway
    # between two float32 numbers. A c far below float64's last bit of the product decides
    # the direction; rounding the float64 sum (which drops c) to float32 ties to even.
    b = np.float32(sign * (2 * half_odd + 1) * 2.0 ** exponent)
    a = np.float32(3.0)
    c = np.float32(tiny_sign * 2.0 ** (tiny_exponent + exponent))
    got = fused(np.array([a], np.float32), b, c)[0]
    assert got == _exact(a, b, c), (float(b), float(c))
    assert (float(got) - float(a) * float(b)) * float(c) > 0   # off the tie, towards c


def test_fused_keeps_infinities_and_nans():
    a = np.array([np.inf, 1.0, np.nan, 3e38], np.float32)
    got = fused(a, np.float32(2.0), np.float32(1.0))
    assert np.isinf(got[0]) and got[0] > 0
    assert got[1] == 3.0 and np.isnan(got[2])
    assert np.isinf(got[3])   # 6e38 overflows float32 after the single rounding


def _nearest_float64(exact: Fraction) -> float:
    guess = float(exact)   # Python's Fraction -> float rounds correctly, ties to even
    return guess


finite64 = st.floats(-2.0 ** 500, 2.0 ** 500, allow_nan=False, allow_infinity=False)


@settings(max_examples=400, deadline=None)
@given(finite64, finite64, finite64)
@example(0.0005, 2.225073858507e-311, 0.0)   # a subnormal product (a full-suite run found it)
def test_fused_float64_is_the_exact_sum_rounded_once(a, b, c):
    got = fused(np.array([a]), np.float64(b), np.float64(c))[0]
    exact = _nearest_float64(Fraction(a) * Fraction(b) + Fraction(c))
    if np.isfinite(exact):
        assert got == exact, (a, b, c)


@settings(max_examples=300, deadline=None)
@given(st.integers(2 ** 51, (2 ** 54 - 4) // 6), st.integers(-40, 40), st.sampled_from([1, -1]),
       st.integers(-90, -60), st.sampled_from([1, -1]))
def test_fused_float64_rounds_ties_by_the_small_addend(half_odd, exponent, sign, tiny_exponent,
                                                       tiny_sign):
    # 3 * b with b odd below 2**54 / 3 is halfway between two float64 numbers; c, far below
    # the product's last bit, decides (the plain error-free sums drop it: linspace's
    # float64 points, 89 down to 3e-303 in 16 steps, were one unit off)
    b = sign * (2 * half_odd + 1) * 2.0 ** exponent
    c = tiny_sign * 2.0 ** (tiny_exponent + exponent)
    got = fused(np.array([3.0]), np.float64(b), np.float64(c))[0]
    assert got == _nearest_float64(3 * Fraction(b) + Fraction(c)), (b, c)


def test_fused_keeps_shapes_and_layouts():
    """0-d arrays stay 0-d (a lerp or an addcmul of 0-d tensors), numbers stay numbers, a
    transposed array keeps its shape (the tie search reads a flattened copy)."""
    assert fused(np.array(1.5, np.float32), np.float32(2), np.float32(1)).shape == ()
    assert float(fused(np.float32(1.5), np.float32(2), np.float32(1))) == 4.0
    x = np.arange(12, dtype=np.float32).reshape(3, 4).T
    np.testing.assert_array_equal(fused(x, np.float32(2), np.float32(1)), 2 * x + 1)
    b = np.float32(11184809.0)                           # 3 * b: halfway between two floats
    tie = fused(np.array([[3.0], [1.0]], np.float32).T, b, np.float32(2.0 ** -30))
    assert tie.shape == (1, 2) and tie[0, 0] == np.float32(33554428.0)


small_or_zero = st.one_of(st.sampled_from([0.0, -0.0]), st.integers(-1000, 1000).map(float))


@settings(max_examples=300, deadline=None)
@given(small_or_zero, small_or_zero, st.sampled_from(["minus the product", "0.0", "-0.0"]),
       st.sampled_from([np.float32, np.float64]))
def test_fused_zero_results_keep_ieees_sign(a, b, addend, dtype):
    """A zero result is signed as IEEE's a * b + c signs it: -0 only when the product and
    c are both -0 (Linear's one-feature product, x * 0 + -0.0: the float64 form gave +0)."""
    c = {"minus the product": -(a * b), "0.0": 0.0, "-0.0": -0.0}[addend]
    expected = dtype(a) * dtype(b) + dtype(c)          # exact: small integers and zeros
    got = fused(np.array([a], dtype), dtype(b), dtype(c))[0]
    assert got == expected and np.signbit(got) == np.signbit(expected), (a, b, c)


@st.composite
def near_underflow(draw):
    """(a, b, c) with a * b and c between 2^-1100 and 2^-940: around the smallest normal
    float64 (2^-1022) and the subnormals below it."""
    mantissa = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
    e_sum = draw(st.integers(-1100, -940))
    e_a = draw(st.integers(max(e_sum - 1000, -1070), min(e_sum + 1000, 1000)))
    a = float(np.ldexp(draw(mantissa), e_a))
    b = float(np.ldexp(draw(mantissa), e_sum - e_a))
    c = float(np.ldexp(draw(mantissa), draw(st.integers(-1100, -940))))
    return a, b, c


@settings(max_examples=300, deadline=None)
@given(near_underflow())
def test_fused_float64_rounds_once_near_underflow(case):
    """Products and sums near and below the smallest normal float64, where Dekker's split
    loses the product's error: rounded once from the exact value all the same."""
    a, b, c = case
    got = fused(np.array([a]), np.float64(b), np.float64(c))[0]
    exact = _nearest_float64(Fraction(a) * Fraction(b) + Fraction(c))
    if np.isfinite(exact) and exact != 0:
        assert got == exact, (a, b, c)
