"""cumsum: running totals along a dim (x.cumsum(0): [a, a + b, a + b + c, ...]).

y_i = x_0 + ... + x_i, so x_j reaches every y_i with i >= j: dL/dx_j = sum over i >= j of
g_i, the running total of the gradient taken from the other end, which is the gradient
flipped, cumsum'd and flipped back (PyTorch's cumsum_backward, the same three ops).

Rounding as PyTorch's CPU kernel: the total is carried in float64 for float32 and float64
data (in float32 for half) and each output rounded once; integers and bools sum to int64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.arguments import dtype_or_none
from tinygan.engine.flip import flip
from tinygan.engine.tensor import Function, Tensor, is_grad_enabled, wrap_dim

xp_of = backend.get_array_module
_CARRIED = {np.dtype(np.float16): np.float32, np.dtype(np.float32): np.float64,
            np.dtype(np.float64): np.float64}


class Cumsum(Function):
    """y = running sum of x along ``axis``; dx = the reversed running sum of gy."""
    result_layout = "row-major"   # (PyTorch's cumsum writes a row-major result)

    def __init__(self, axis: int) -> None: self.axis = axis
    def saves(self): return ()

    def forward(self, x):
        if x.ndim == 0:
            return x.copy()
        carried = _CARRIED.get(x.dtype, np.int64)
        return xp_of(x).cumsum(x.astype(carried), axis=self.axis).astype(x.dtype, copy=False)

    def backward(self, gy):
        if gy.ndim == 0:
            return gy
        return flip(cumsum(flip(gy, (self.axis,)), self.axis), (self.axis,))


def cumsum(x: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running totals of x along ``dim`` (required, as in PyTorch). ``dtype``: x is cast to
    it first; without it, integers and bools give int64. Shape: x's."""
    if not isinstance(x, Tensor):
        raise TypeError(f"cumsum(): argument 'input' must be Tensor, not {type(x).__name__}")
    axis = wrap_dim(dim, x.ndim, "cumsum")
    dtype = dtype_or_none("cumsum", "dtype", dtype)
    if dtype is not None:
        if np.dtype(dtype) == np.bool_ and x.numel():   # (PyTorch has no bool running sum)
            raise NotImplementedError('"cumsum_out_cpu" not implemented for \'Bool\' (a '
                                      'dtype=bool running sum); ask for dtype=int64')
        if np.dtype(dtype).kind in "biu" and x.requires_grad and is_grad_enabled():
            F.refuse_integer_output(dtype)   # (PyTorch's op would need an integer gradient)
        x = F.cast(x, np.dtype(dtype))
    elif x.dtype.kind in "biu":
        x = F.cast(x, np.dtype(np.int64))
    return Cumsum(axis)(x)
