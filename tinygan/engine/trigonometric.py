"""sin and cos: the functions that draw circles (the ring of Gaussians in chapter 2's toy
data, a latent walk around a circle).

    d/dx sin x = cos x,        d/dx cos x = -sin x

Both backward formulas are written with these ops, so second derivatives come for free
(d^2/dx^2 sin x = -sin x). As PyTorch: an integer or bool tensor is read as the default
float dtype; float32 is computed in float64 and rounded once (PyTorch's vectorised kernels
are within an ulp of the correctly rounded value, see functional._rounded_once), float16 in
float32 and rounded to half.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.functional import _floating, _rounded_once
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module


def _in_working_precision(fn: Any, x: Any) -> Any:
    """fn(x) rounded once to x's dtype; half precision through float32, as PyTorch's."""
    if x.dtype == np.float16:
        return _rounded_once(fn, x.astype(np.float32)).astype(np.float16)
    return _rounded_once(fn, x)


class Sin(Function):
    """y = sin x. Backward: gy * cos x (it keeps x, as PyTorch's)."""
    elementwise = True
    def forward(self, x): return _in_working_precision(xp_of(x).sin, x)
    def backward(self, gy): return gy * cos(self.inputs[0])


class Cos(Function):
    """y = cos x. Backward: gy * -sin x (it keeps x, as PyTorch's)."""
    elementwise = True
    def forward(self, x): return _in_working_precision(xp_of(x).cos, x)
    def backward(self, gy): return gy * -sin(self.inputs[0])


def sin(x: Tensor) -> Tensor:
    """The sine of every element, in radians. Shape: x's."""
    return Sin()(_floating(x))


def cos(x: Tensor) -> Tensor:
    """The cosine of every element, in radians. Shape: x's."""
    return Cos()(_floating(x))
