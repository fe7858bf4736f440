"""Fast form of nearest upsampling by integer factors: ``repeat``, and block sums backward.

The plain form (tinygan/engine/resample.py) copies each output pixel's source pixel. With an
integer factor s each pixel is simply copied s times per axis: NumPy's ``repeat``. The
adjoint of copying is adding the copies back up: a sum over each s x s block. Both are linear,
so each one's backward is the other, and second derivatives come for free.
tests/test_upsample_embedding.py checks them against the plain form.
"""
from __future__ import annotations

from typing import Sequence

from tinygan.engine import resample as plain
from tinygan.engine.layout import laid_out_like
from tinygan.engine.tensor import Function, Tensor
from tinygan.fast import replaces


class NearestRepeat(Function):
    """Nearest upsampling by integer factors = repeat each pixel s times per axis.
    Equal to Resample with the nearest taps; backward sums each s x s block."""
    result_layout = "own"   # as Resample's: channels-last if the image suggests it

    def __init__(self, factors: Sequence[int]) -> None:
        self.factors = tuple(factors)

    def saves(self):
        return ()

    def forward(self, x):
        k, image = len(self.factors), x
        for axis, s in enumerate(self.factors):
            x = x.repeat(s, axis=x.ndim - k + axis)
        return laid_out_like(x, image)

    def backward(self, gy):
        return RepeatSum(self.factors)(gy)


class RepeatSum(Function):
    """The adjoint of NearestRepeat: sum over each block of s_1 x s_2 copies."""

    def __init__(self, factors: Sequence[int]) -> None:
        self.factors = tuple(factors)

    def saves(self):
        return ()

    def forward(self, g):
        # Block sums, one axis at a time: the s copies of pixel i along an axis are the
        # strided slices r::s (r < s), added elementwise. (Summing a reshaped (..., H/s, s,
        # W/s, s) array over its short axes is the same sum, but NumPy walks those axes
        # element by element: 15x slower at 32x32.)
        k = len(self.factors)
        for i, s in reversed(list(enumerate(self.factors))):   # the innermost axis first
            if s == 1:
                continue
            along = (slice(None),) * (g.ndim - k + i)
            total = g[along + (slice(0, None, s),)] + g[along + (slice(1, None, s),)]
            for r in range(2, s):
                total += g[along + (slice(r, None, s),)]
            g = total
        return g if any(s > 1 for s in self.factors) else g.copy()   # never the input itself

    def backward(self, gg):
        return NearestRepeat(self.factors)(gg)


@replaces(plain.resample_nearest)
def resample_nearest(x: Tensor, out_sizes: Sequence[int], scales: Sequence[float | None],
                     exact: bool) -> Tensor:
    """Integer factors (and any scale given equal to them): NearestRepeat; else the plain
    form. Nearest and nearest-exact pick the same pixels for integer factors."""
    in_sizes = x.shape[-len(out_sizes):]
    factors = [o // i for o, i in zip(out_sizes, in_sizes)]
    if all(o == f * i for o, f, i in zip(out_sizes, factors, in_sizes)) and all(
            s is None or s == f for s, f in zip(scales, factors)):
        return NearestRepeat(factors)(x)
    return plain.resample_nearest(x, out_sizes, scales, exact)
