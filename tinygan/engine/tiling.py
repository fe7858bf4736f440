"""``x.repeat(r0, r1, ...)``: x tiled r_i times along each dim, in new memory.

Forward: with x padded by leading size-1 dims to as many dims as there are repeats,

    y[i0, i1, ...] = x[i0 mod n0, i1 mod n1, ...],     y.shape = (r0 * n0, r1 * n1, ...)

Backward: every element of x was copied to r0 * r1 * ... places, so its gradient is the sum
of the gradients of its copies. Seen as a (r0, n0, r1, n1, ...) array, gy sums over the r
axes, grouped as PyTorch's repeat_backward groups it: the leading new dims first, one at a
time (``sum(0)``), then a single sum over the r axes of the rest. (The order of additions
inside that multi-axis sum is NumPy's, so float32 gradients can differ from PyTorch's in the
last bit.) A repeat of 0 anywhere makes an empty result and a zero gradient.

Unlike ``expand`` (a view with stride 0, no copy), repeat always copies, as in PyTorch.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.engine import functional as F
from tinygan.engine.tensor import Function, Tensor, _shape_args


class Repeat(Function):
    result_layout = "row-major"   # (PyTorch's repeat allocates it so, whatever x's layout)

    def __init__(self, repeats: tuple[int, ...]) -> None:
        self.repeats = repeats

    def saves(self): return ()

    def forward(self, x):
        lead = len(self.repeats) - x.ndim
        padded = x.reshape((1,) * lead + x.shape)
        return F.xp_of(x).tile(padded, self.repeats)

    def backward(self, gy: Tensor) -> Tensor:
        shape = self.inputs[0].shape
        if 0 in self.repeats:   # nothing was copied anywhere: a constant zero gradient
            return Tensor(F.xp_of(gy.array).zeros(shape, dtype=gy.dtype))
        lead = len(self.repeats) - len(shape)
        g = gy
        for _ in range(lead):       # the dims repeat added in front: one sum each
            g = F.sum(g, 0)
        grouped, summed = [], []
        for r, n in zip(self.repeats[lead:], shape):
            if r != 1:
                summed.append(len(grouped))
                grouped.append(r)
            grouped.append(n)
        if not summed:
            return g
        return F.sum(F.reshape(g, tuple(grouped)), tuple(summed))


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """x tiled ``sizes[i]`` times along dim i (sizes may have more dims than x: new leading
    dims). Shape: (sizes[0] * n0, sizes[1] * n1, ...) with x's shape padded by leading 1s."""
    if not sizes:
        raise TypeError('repeat() missing 1 required positional arguments: "repeats"')
    repeats = _shape_args(sizes)
    if any(not isinstance(r, (int, np.integer)) or isinstance(r, bool) for r in repeats):
        raise TypeError(f"repeat(): argument 'repeats' must be a tuple of ints, got {sizes!r}")
    if len(repeats) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than "
                           "number of dimensions of tensor")
    sizes = [r * n for r, n in zip(repeats, (1,) * (len(repeats) - x.ndim) + x.shape)]
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(sizes)}: "
                           f"{sizes}")
    return Repeat(tuple(int(r) for r in repeats))(x)
