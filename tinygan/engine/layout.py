"""Memory layout of a new result, as PyTorch chooses it.

Most ops give a row-major (C-contiguous) result. Some of PyTorch's image ops (padding among
them) give a 4-D input stored channels-last, (N, H, W, C) in memory, a result stored the same
way: PyTorch reads the order from the strides (``suggest_memory_format``). The values are
the same either way, but a program can tell them apart: ``is_contiguous()`` answers
differently, and ``view()`` works on one and raises on the other.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend


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


def _broadcast_steps(array: Any, shape: tuple) -> tuple:
    """``array``'s strides (in bytes) as an operand of a result of ``shape``: dims it lacks,
    and dims of size 1 stretched to more, step by 0."""
    lead = len(shape) - array.ndim
    steps = [0] * lead
    for size, step, n in zip(array.shape, array.strides, shape[lead:]):
        steps.append(0 if size == 1 and n != 1 else step)
    return tuple(steps)


def _fastest_first(shape: tuple, operands: list) -> list:
    """PyTorch's TensorIterator order of the dims, fastest first (reorder_dimensions): from
    the last dim, a dim moves ahead of another when the first operand whose strides tell
    them apart (neither 0) steps less along it; ties keep the row-major order."""
    steps = [_broadcast_steps(a, shape) for a in operands]

    def swap(dim0: int, dim1: int) -> bool:   # whether dim1 must come before dim0
        for st in steps:
            s0, s1 = st[dim0], st[dim1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return s0 > s1
            if shape[dim0] != shape[dim1]:
                return shape[dim0] > shape[dim1]
        return False
    order = list(range(len(shape)))[::-1]
    for i in range(1, len(order)):            # insertion sort, as PyTorch's
        for j in range(i, 0, -1):
            if swap(order[j - 1], order[j]):
                order[j - 1], order[j] = order[j], order[j - 1]
            else:
                break
    return order


def as_elementwise_result(result: Any, operands: list) -> Any:
    """A new result of an elementwise op laid out as PyTorch's TensorIterator lays it out.
    NumPy's order='K' follows its operands too, but takes a broadcast (stride-0) dim for
    the fastest, where PyTorch skips such dims and keeps row-major order: tanh of an
    expanded tensor is contiguous there (is_contiguous(), view() can tell). Only a result
    that is not row-major and has a broadcast operand is looked at (and copied if needed)."""
    arrays = [a for a in operands if hasattr(a, "strides")]
    if result.ndim < 2 or result.flags.c_contiguous or not any(
            any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape))
            or a.ndim < result.ndim for a in arrays):
        return result
    # only an elementwise op's operands broadcast to its result (a reduction's, a matrix
    # product's do not: their results keep the layout their own kernels gave them)
    for a in arrays:
        if a.ndim > result.ndim or any(n not in (1, m) for n, m in
                                       zip(a.shape[::-1], result.shape[::-1])):
            return result
    order = _fastest_first(result.shape, arrays)
    # the result's own order, fastest first (size-1 dims do not matter)
    own = sorted((d for d in range(result.ndim) if result.shape[d] > 1),
                 key=lambda d: result.strides[d])
    if own == [d for d in order if result.shape[d] > 1]:
        return result
    slowest_first = order[::-1]
    laid = result.transpose(slowest_first).copy(order="C")
    return laid.transpose([slowest_first.index(d) for d in range(result.ndim)])


def empty_preserving(array: Any, dtype: Any = None) -> Any:
    """A new uninitialised array shaped like ``array``, laid out as PyTorch's
    memory_format=torch.preserve_format lays it out (clone, zeros_like, randn_like ...):
    dense, with the dims in the order of ``array``'s strides (a transposed tensor's clone
    is transposed; a sliced one's is dense in the same order: NumPy's order="K"), except
    where a dim is broadcast (stride 0): then channels-last when the strides suggest it,
    else row-major."""
    xp = backend.get_array_module(array)
    dtype = array.dtype if dtype is None else dtype
    if array.ndim >= 2 and not array.flags.c_contiguous and all(
            st > 0 for st, n in zip(array.strides, array.shape) if n > 1):
        return xp.empty_like(array, dtype=dtype, order="K")
    if array.ndim == 4 and suggests_channels_last(array):
        return xp.empty(array.shape[:1] + array.shape[2:] + array.shape[1:2],
                        dtype=dtype).transpose(0, 3, 1, 2)
    return xp.empty(array.shape, dtype=dtype)


def copy_preserving(array: Any) -> Any:
    """A copy of ``array`` in ``empty_preserving``'s layout (PyTorch's clone)."""
    out = empty_preserving(array)
    out[...] = array
    return out
