"""Memory layout of a new result, as PyTorch chooses it.

Most ops give a row-major (C-contiguous) result. Some of PyTorch's image ops (padding among
them) give a 4-D input stored channels-last, (N, H, W, C) in memory, a result stored the same
way: PyTorch reads the order from the strides (``suggest_memory_format``). The values are
the same either way, but a program can tell them apart: ``is_contiguous()`` answers
differently, and ``view()`` works on one and raises on the other.
"""
from __future__ import annotations

from typing import Any


def suggests_channels_last(array: Any) -> bool:
    """PyTorch's is_channels_last_strides_2d: whether a 4-D array's strides order its dims
    C, W, H, N from the fastest to the slowest (ambiguous cases count as row-major)."""
    if array.ndim != 4:
        return False
    sizes, strides = array.shape, [s // array.itemsize for s in array.strides]
    if strides[1] == 0:
        return False
    smallest = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < smallest:
            return False
        if d == 0 and smallest == strides[1]:   # N111 and the like: row-major
            return False
        smallest = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return True


def laid_out_like(result: Any, source: Any) -> Any:
    """``result`` (a new array) in the layout PyTorch gives an image op's result computed
    from ``source``: channels-last when ``source`` suggests it, else row-major."""
    if result.ndim == 4 and suggests_channels_last(source):
        return result.transpose(0, 2, 3, 1).copy(order="C").transpose(0, 3, 1, 2)
    return result if result.flags.c_contiguous else result.copy(order="C")
