"""logsumexp: log(sum(exp(x))) over some dims, without overflow.

exp(1000) is inf in any float, but log(e^a + e^b) = m + log(e^(a-m) + e^(b-m)) for any m;
with m the largest element every exponent is <= 0, so nothing overflows and the largest
term is exactly 1. Where m itself is +-inf, PyTorch takes m = 0 instead (inf - inf would be
NaN), and so does tinygan. The steps and their rounding are PyTorch's: amax, x - m, exp,
a sum in its order, log, + m.

The gradient is the softmax along those dims: d/dx_i log sum_j e^x_j = e^x_i / sum_j e^x_j
= exp(x_i - y), PyTorch's logsumexp_backward (it reads x and the result y).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.arguments import flag
from tinygan.engine import functional as F
from tinygan.engine.tensor import Function, Tensor
from tinygan.fast import sum_kernel

xp_of = backend.get_array_module


class LogSumExp(Function):
    """y = log sum exp(x) over ``axes`` (a tuple of non-negative dims, () for a 0-d x)."""
    efficient_zero_passes = (0,)   # (PyTorch: grad * exp(x - y): tensor._efficient_zeros)
    saves_output = True
    result_layout = "row-major"

    def __init__(self, axes: tuple[int, ...], keepdims: bool) -> None:
        self.axes, self.keepdims = axes, keepdims

    def forward(self, x):
        xp = xp_of(x)
        if not self.axes:                     # a 0-d x, or nothing reduced: log(exp(x))
            largest = xp.where(xp.isinf(x), 0, x).astype(x.dtype)
        elif x.size == 0:
            total = xp.exp(x).sum(axis=self.axes, keepdims=self.keepdims)
            return F._rounded_once(xp.log, total).astype(x.dtype, copy=False)
        else:
            largest = x.max(axis=self.axes, keepdims=True)
            largest = xp.where(xp.isinf(largest), xp.zeros((), x.dtype), largest)
        with np.errstate(invalid="ignore", over="ignore"):
            terms = F._rounded_once(xp.exp, x - largest)
            if terms.dtype == np.float16:   # (half: PyTorch adds in float32, rounds once)
                terms = terms.astype(np.float32)
            if sum_kernel.applies(terms, self.axes):
                total = sum_kernel.pytorch_sum(terms, self.axes, self.keepdims)
            else:
                total = terms.sum(axis=self.axes, keepdims=self.keepdims)
            kept = largest if self.keepdims else largest.reshape(total.shape)
            with np.errstate(divide="ignore"):
                return (F._rounded_once(xp.log, xp.asarray(total, dtype=x.dtype))
                        + kept).astype(x.dtype, copy=False)

    def backward(self, gy):
        x, y = self.inputs[0], self.output
        if not self.keepdims and self.axes:
            kept = F._keepdims_shape(x.shape, self.axes)
            gy, y = F.reshape(gy, kept), F.reshape(y, kept)
        return gy * F.exp(x - y)


def logsumexp(x: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim`` (an int or a tuple of ints, required as in PyTorch),
    computed without overflow. Integer and bool tensors are read as floats. Shape: x's
    without ``dim`` (kept as size 1 with ``keepdim``)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"logsumexp(): argument 'input' must be Tensor, not "
                        f"{type(x).__name__}")
    if dim is None:   # (required, an int or a tuple of them)
        raise TypeError("logsumexp(): argument 'dim' (position 2) must be tuple of ints, "
                        "not NoneType; for every dim write dim=tuple(range(x.ndim))")
    keepdim = flag("logsumexp", "keepdim", keepdim)
    x = F._floating(x)
    if isinstance(dim, (tuple, list)) and not dim and x.numel() and x.ndim and not keepdim:
        # dim=() is every dim; PyTorch 2.13 fails to write that result without keepdim
        raise RuntimeError(f"logsumexp: output with shape [] doesn't match the broadcast "
                           f"shape {[1] * x.ndim} (PyTorch 2.13, dim=() without keepdim); "
                           f"give the dims: dim=tuple(range(x.ndim))")
    axes = F._normalise_axes(dim, x.ndim, "logsumexp")
    axes = tuple(range(x.ndim)) if axes is None else (
        (axes,) if isinstance(axes, int) else tuple(sorted(set(axes))))
    return LogSumExp(axes, keepdim)(x)
