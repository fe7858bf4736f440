"""Fast forms of the four activations: the backward as one op that writes one fresh array.

The plain backward of tanh, ``gy * (1 - y * y)`` (tinygan/engine/functional.py), is three
Tensor ops and allocates an array for each. ``TanhGrad`` (PyTorch's ``tanh_backward``) does
the same arithmetic on raw arrays, in place into one new array: at batch 1024 that is about
half of an activation's backward time (benchmarks/RESULTS_mlp.md). Its own backward is in
Tensor ops, so second and third derivatives stay exact. SigmoidGrad, ReLUGrad and
LeakyReLUGrad follow the same pattern.

The activations themselves keep the engine's forward; the classes at the bottom only swap
their backward for these ops, and register as the engine's fast forms (``fast.form(Tanh)``).
tests/test_fast_paths.py checks each against the plain form, derivatives included.
"""
from __future__ import annotations

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.tensor import Function, Tensor
from tinygan.fast import replaces

xp_of = backend.get_array_module


class SigmoidGrad(Function):
    """dL/dx = gy y (1 - y) for y = sigma(x)  (sigma' = sigma (1 - sigma))."""
    elementwise = True
    def forward(self, gy, y):
        d = 1 - y                                            # one array, three passes
        d *= y
        d *= gy
        return d

    def backward(self, gg):  # d/dgy = y (1 - y),  d/dy = gy (1 - 2y)
        gy, y = self.inputs
        return gg * y * (1 - y), gg * gy * (1 - 2 * y)


class TanhGrad(Function):
    """dL/dx = gy (1 - y^2) for y = tanh(x)  (tanh' = 1 - tanh^2)."""
    elementwise = True
    def forward(self, gy, y):
        d = xp_of(y).multiply(y, y, out=xp_of(y).empty_like(y))   # one array, three passes
        xp_of(y).subtract(1, d, out=d)
        d *= gy
        return d

    def backward(self, gg):  # d/dgy = 1 - y^2,  d/dy = -2 y gy
        gy, y = self.inputs
        return gg * (1 - y * y), gg * gy * (-2 * y)


class ReLUGrad(Function):
    """dL/dx = 0 where y <= 0, else gy, for y = relu(x): PyTorch's threshold_backward, whose
    test is written that way round, so where y is NaN (relu of a NaN) the gradient passes.
    [not y <= 0] * gy is ten times faster than a masked copy, but 0 * inf is NaN: where that
    can have happened it chooses instead (on a GPU always, to avoid a host sync)."""
    elementwise = True
    def forward(self, gy, y):
        xp = xp_of(y)
        d = xp.less_equal(y, 0, out=xp.empty_like(y))   # 1.0 where y <= 0
        xp.subtract(1, d, out=d)                         # 1.0 where not
        d *= gy
        if xp is not np or xp.isnan(d).any():
            d = xp.where(y <= 0, y.dtype.type(0), gy)
        return d

    def backward(self, gg):
        y = self.inputs[1]   # y's gradient is 0, but a zero, not None (see LeakyReLUGrad)
        zero = Tensor(xp_of(y.array).zeros_like(y.array)) if y.requires_grad else None
        return ReLUGrad()(gg, y), zero


class LeakyReLUGrad(Function):
    """dL/dx = gy * (1 if x > 0 else slope) (a NaN x takes the slope, as in PyTorch).

    The factor is written as a float array, then multiplied in place: [x > 0] as 0.0 / 1.0
    straight into a float array (one pass, where ``(x > 0).astype(...)`` takes two, and
    float * float runs faster than float * bool), then max([x > 0], slope) turns the zeros
    into the slope when 0 < slope <= 1. The factor does not depend on gy and is piecewise
    constant in x, so the second derivative is the same op applied to gg, and 0 for x.
    """
    elementwise = True
    def __init__(self, slope): self.slope = slope

    def forward(self, gy, x):
        xp, slope = xp_of(x), x.dtype.type(self.slope)
        if x.dtype == np.float16:   # PyTorch: g * slope in float32, rounded once to half
            factor = xp.where(x > 0, np.float32(1), np.float32(self.slope))
            return (factor * gy.astype(np.float32)).astype(gy.dtype)
        if 0 <= self.slope <= 1:
            d = xp.greater(x, 0, out=xp.empty_like(x))
            if self.slope > 0:
                xp.maximum(d, slope, out=d)
        else:
            d = xp.where(x > 0, x.dtype.type(1), slope)
        d *= gy                                              # gy's dtype is x's (float)
        return d

    def backward(self, gg):
        x = self.inputs[1]   # x's gradient is 0, but a zero, not None, as in PyTorch: a
        zero = Tensor(xp_of(x.array).zeros_like(x.array)) if x.requires_grad else None
        return LeakyReLUGrad(self.slope)(gg, x), zero   # parameter behind it gets zeros


# ---- the activations with these backward ops (same names, so grad_fn reads the same) ------
@replaces(F.Sigmoid)
class Sigmoid(F.Sigmoid):
    elementwise = True
    def backward(self, gy): return SigmoidGrad()(gy, self.output)


@replaces(F.Tanh)
class Tanh(F.Tanh):
    elementwise = True
    def backward(self, gy): return TanhGrad()(gy, self.output)


@replaces(F.ReLU)
class ReLU(F.ReLU):
    elementwise = True
    def backward(self, gy): return ReLUGrad()(gy, self.output)


@replaces(F.LeakyReLU)
class LeakyReLU(F.LeakyReLU):
    elementwise = True
    def backward(self, gy): return LeakyReLUGrad(self.slope)(gy, self.mask_source())
