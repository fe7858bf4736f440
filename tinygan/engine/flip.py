"""flip: the elements in reverse order along some dims (a mirrored image: x.flip(-1)).

Flipping is its own inverse and a permutation of the elements, so its gradient is the
incoming gradient flipped back along the same dims. As PyTorch, the result is a copy (not a
view) laid out as x is (engine/layout.py); a dim named twice is refused.
"""
from __future__ import annotations

from typing import Any, Sequence

from tinygan.devices import backend
from tinygan.engine.arguments import index
from tinygan.engine.layout import empty_preserving
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module


class Flip(Function):
    """y = x reversed along ``axes``; dx = gy reversed along the same axes."""
    result_layout = "own"
    def __init__(self, axes: tuple[int, ...]) -> None: self.axes = axes
    def saves(self): return ()

    def forward(self, x):
        out = empty_preserving(x)
        out[...] = xp_of(x).flip(x, self.axes) if self.axes else x
        return out

    def backward(self, gy): return Flip(self.axes)(gy)


def flip(x: Tensor, dims: Sequence[int]) -> Tensor:
    """x reversed along each dim of ``dims`` (a tuple or list of ints). Shape: x's."""
    if isinstance(dims, int) or not isinstance(dims, (tuple, list)):
        raise TypeError(f"flip(): argument 'dims' must be tuple of ints, not "
                        f"{type(dims).__name__} (write flip(x, (0,)))")
    return Flip(_axes(dims, x.ndim))(x)


def _axes(dims: Sequence[Any], ndim: int) -> tuple[int, ...]:
    axes = []
    for d in dims:
        d = index("flip", "dims", d, bools=True)   # (an int, or a tensor of one element)
        low, high = -max(ndim, 1), max(ndim, 1) - 1
        if not low <= d <= high:
            raise IndexError(f"Dimension out of range (expected to be in range of "
                             f"[{low}, {high}], but got {d})")
        axis = d % max(ndim, 1)
        if axis in axes:
            raise RuntimeError(f"dim {axis} appears multiple times in the list of dims")
        axes.append(axis)
    return tuple(axes) if ndim else ()
