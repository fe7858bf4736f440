"""Memory layout of a new result, as PyTorch chooses it.

Most ops give a row-major (C-contiguous) result. Some of PyTorch's image ops (padding among
them) give a 4-D input stored channels-last, (N, H, W, C) in memory, a result stored the same
way: PyTorch reads the order from the strides (``suggest_memory_format``). The values are
the same either way, but a program can tell them apart: ``is_contiguous()`` answers
differently, and ``view()`` works on one and raises on the other.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend


def suggests_channels_last(array: Any) -> bool:
    """PyTorch's is_channels_last_strides_2d (and _3d): whether a 4-D array's strides order
    its dims C, W, H, N from the fastest to the slowest (a 5-D one's C, W, H, D, N), so
    that PyTorch suggests channels-last for it (ambiguous cases count as row-major)."""
    if array.ndim not in (4, 5):
        return False
    sizes, strides = array.shape, [s // array.itemsize for s in array.strides]
    if strides[1] == 0:
        return False
    smallest = 0
    for d in (1, 3, 2, 0) if array.ndim == 4 else (1, 4, 3, 2, 0):
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


def strictly_row_major(array: Any) -> bool:
    """Row-major with the strides PyTorch's row-major tensor has, a size-1 dim's included:
    the product of the sizes after it. NumPy's flag passes over size-1 dims (never stepped
    along); TensorIterator reads their strides when operands broadcast, so a row-major
    operand with other size-1 strides can give a result that is not row-major."""
    if not array.flags.c_contiguous:
        return False
    if 1 not in array.shape:
        return True
    step = array.itemsize
    for n, st in zip(reversed(array.shape), reversed(array.strides)):
        if st != step:
            return False
        step *= n
    return True


def row_major(array: Any) -> Any:
    """``array`` itself when row-major, else a row-major copy: the layout PyTorch gives a
    reduction's result (sum, amax, std, argmax, all ... allocate it row-major whatever the
    input's strides) and softmax's. NumPy's reductions follow the input's memory order
    instead, so a reduction of a transposed tensor would come out transposed. (Not
    ascontiguousarray: that makes a 0-d array 1-d.)"""
    return array if array.flags.c_contiguous else array.copy(order="C")


def _broadcast_steps(array: Any, shape: tuple) -> tuple:
    """``array``'s strides (in bytes) as an operand of a result of ``shape``: dims it lacks,
    and dims of size 1 stretched to more, step by 0."""
    lead = len(shape) - array.ndim
    steps = [0] * lead
    for size, step, n in zip(array.shape, array.strides, shape[lead:]):
        steps.append(0 if size == 1 and n != 1 else step)
    return tuple(steps)


def _fastest_first(shape: tuple, operands: list) -> list:
    """PyTorch's order of the dims for a new result, fastest first: TensorIterator's
    reorder_dimensions (and, for one operand, empty_like's infer_dense_strides). Start from
    row-major (the last dim fastest) and insertion-sort: a dim moves ahead of another when
    the first operand whose strides tell them apart (neither 0) steps less along it (equal
    steps: when it is the shorter dim). A broadcast (stride-0) step says nothing: the pair
    is passed over, not stopped at, so a dim can move past it."""
    steps = [_broadcast_steps(a, shape) for a in operands]

    def compare(dim0: int, dim1: int) -> int:   # 1: dim1 goes first; -1: dim0 does; 0: ?
        for st in steps:
            s0, s1 = st[dim0], st[dim1]
            if s0 == 0 or s1 == 0:
                continue
            if s0 != s1:
                return 1 if s0 > s1 else -1
            if shape[dim0] > shape[dim1]:
                return 1
        return 0
    order = list(range(len(shape)))[::-1]
    for i in range(1, len(order)):
        moving = i
        for j in range(i - 1, -1, -1):   # (an ambiguous pair is passed, as in PyTorch)
            c = compare(order[j], order[moving])
            if c > 0:
                order[j], order[moving] = order[moving], order[j]
                moving = j
            elif c < 0:
                break
    return order


def _in_order(xp: Any, shape: tuple, dtype: Any, fastest_first: list) -> Any:
    """A new dense array of ``shape`` whose dims lie in memory in the given order."""
    slowest_first = fastest_first[::-1]
    laid = xp.empty(tuple(shape[d] for d in slowest_first), dtype=dtype)
    return laid.transpose([slowest_first.index(d) for d in range(len(shape))])


def _own_order(array: Any) -> list:
    """The dims of size > 1 of ``array``, fastest first (its memory order)."""
    return sorted((d for d in range(array.ndim) if array.shape[d] > 1),
                  key=lambda d: array.strides[d])


def as_elementwise_result(result: Any, operands: list) -> Any:
    """A new result of an elementwise op laid out as PyTorch's TensorIterator lays it out.
    NumPy's order='K' follows the operands too, but differently: it takes a broadcast
    (stride-0) dim for the fastest, where PyTorch passes over such dims, and it picks
    row-major where operands disagree, where PyTorch follows the first that tells two dims
    apart. TensorIterator's two ways (``operands``: the op's tensors in PyTorch's order, a
    Python number among them as a 0-d array):
    - operands all of the result's shape (its "fast set-up"): all row-major (size-1 dims'
      strides not read) gives a row-major result; all dense with the very same strides,
      those strides; otherwise the second way;
    - dims ordered by ``_fastest_first`` (a size-1 dim's stride read too), each size-1 dim
      given the product of the sizes before it in that order.
    Copied only where the memory order differs."""
    arrays = [a for a in operands if hasattr(a, "strides")]
    if result.ndim < 2:
        return result
    # only an elementwise op's result is its operands broadcast together (a reduction's,
    # a pool's, a matrix product's is not: theirs keep the layout their kernels gave them)
    try:
        if np.broadcast_shapes(*(a.shape for a in arrays)) != result.shape:
            return result
    except ValueError:
        return result
    xp = backend.get_array_module(result)
    if arrays and all(a.shape == result.shape for a in arrays):
        if all(a.flags.c_contiguous for a in arrays):
            return _restrided(xp, result, list(range(result.ndim))[::-1])
        first = tuple(st // arrays[0].itemsize for st in arrays[0].strides)
        if _dense(arrays[0]) and all(_dense(a) and tuple(
                st // a.itemsize for st in a.strides) == first for a in arrays[1:]):
            if tuple(st * result.itemsize for st in first) == result.strides \
                    or result.size == 0:
                return result
            laid = empty_preserving(arrays[0], result.dtype)   # (those very strides)
            laid[...] = result
            return laid
    elif result.flags.c_contiguous and all(strictly_row_major(a) for a in arrays):
        return _restrided(xp, result, list(range(result.ndim))[::-1])
    order = _fastest_first(result.shape, arrays)
    if _own_order(result) == [d for d in order if result.shape[d] > 1]:
        return _restrided(xp, result, order)
    laid = _in_order(xp, result.shape, result.dtype, order)
    laid[...] = result
    return laid


def _restrided(xp: Any, result: Any, fastest_first: list) -> Any:
    """``result``, dense with its dims in memory in the order ``fastest_first`` (only its
    size-1 dims' strides may change, which no element is read through): each size-1 dim
    given the product of the sizes before it, as PyTorch sets it."""
    steps, step = [0] * result.ndim, result.itemsize
    for d in fastest_first:
        steps[d], step = step, step * result.shape[d]
    if result.size == 0 or tuple(steps) == result.strides:
        return result
    return xp.lib.stride_tricks.as_strided(result, result.shape, tuple(steps))


def _dense(array: Any) -> bool:
    """PyTorch's is_non_overlapping_and_dense: the elements fill a block of memory with no
    gap and no overlap, in some order of the dims (a transposed tensor: yes; a sliced
    x[:, ::2] or an expanded one: no)."""
    expected = array.itemsize
    for d in _own_order(array):
        if array.strides[d] != expected:
            return False
        expected *= array.shape[d]
    return True


def empty_preserving(array: Any, dtype: Any = None) -> Any:
    """A new uninitialised array shaped like ``array``, laid out as PyTorch's empty_like
    with memory_format=torch.preserve_format lays it out (clone, zeros_like, randn_like,
    sort ...): a dense ``array``'s strides are kept (a transposed tensor's clone is
    transposed); otherwise (sliced, expanded) a dense layout with the dims in the order
    of ``array``'s strides, stride-0 dims left where row-major order puts them
    (infer_dense_strides: ``_fastest_first`` with one operand)."""
    xp = backend.get_array_module(array)
    dtype = np.dtype(array.dtype if dtype is None else dtype)
    if array.ndim < 2 or array.size == 0:
        return xp.empty(array.shape, dtype=dtype)
    if _dense(array):   # the very strides, size-1 dims' included (PyTorch: empty_strided)
        if array.flags.c_contiguous and 1 not in array.shape:
            return xp.empty(array.shape, dtype=dtype)
        steps = tuple(st // array.itemsize * dtype.itemsize for st in array.strides)
        return xp.lib.stride_tricks.as_strided(xp.empty(array.size, dtype=dtype),
                                               array.shape, steps)
    return _in_order(xp, array.shape, dtype, _fastest_first(array.shape, [array]))


def copy_preserving(array: Any, dtype: Any = None) -> Any:
    """A copy of ``array`` in ``empty_preserving``'s layout (PyTorch's clone), converted to
    ``dtype`` if given (PyTorch's ``to(dtype)``, whose _to_copy lays it out the same way)."""
    if array.ndim < 2 or array.size == 0 or strictly_row_major(array):
        return array.astype(array.dtype if dtype is None else dtype)   # (row-major too)
    out = empty_preserving(array, dtype)
    out[...] = array   # (converted as astype converts: towards 0, nonzero is True)
    return out


class _Strided:
    """An operand as TensorIterator sees it: a shape and byte strides, no data."""
    def __init__(self, shape: tuple, strides: tuple) -> None:
        self.shape, self.strides, self.ndim = tuple(shape), tuple(strides), len(shape)


def as_advanced_index_result(result: Any, sliced: Any, positions: list, indices: list) -> Any:
    """``sliced[...indices at positions...]`` (NumPy's result, row-major) laid out as
    PyTorch's advanced indexing lays it out. PyTorch computes it with TensorIterator over
    the source, restrided so the indexed dims step 0 and the index dims take their place,
    and the index tensors, broadcast together and reshaped to the result's dims; the
    result's dim order is ``_fastest_first`` of those operands. Indexed dims that are not
    next to each other go to the front first (as NumPy does with the values)."""
    if result.ndim < 2 or result.size == 0:
        return result
    xp = backend.get_array_module(result)
    indices = xp.broadcast_arrays(*indices)
    shape, strides = list(sliced.shape), list(sliced.strides)
    if positions != list(range(positions[0], positions[0] + len(positions))):
        order = positions + [d for d in range(sliced.ndim) if d not in positions]
        shape, strides = [shape[d] for d in order], [strides[d] for d in order]
        positions = list(range(len(positions)))
    before, after = positions[0], len(shape) - positions[-1] - 1
    index_shape = list(indices[0].shape)
    out_shape = tuple(shape[:before] + index_shape + shape[positions[-1] + 1:])
    if out_shape != result.shape:
        return result   # (a case not followed here: NumPy's layout stays)
    operands = [_Strided(out_shape, strides[:before] + [0] * len(index_shape)
                         + strides[positions[-1] + 1:])]
    from tinygan.engine.functional import view_strides   # (reshape's rule lives there)
    for index in indices:   # each seen as (1, ..., its shape, ..., 1) by a view
        steps = [s // index.itemsize for s in index.strides]
        seen_as = (1,) * before + tuple(index_shape) + (1,) * after
        view = view_strides(index.shape, steps, seen_as)
        operands.append(_Strided(seen_as, tuple(s * index.itemsize for s in view)))
    order = _fastest_first(out_shape, operands)
    if _own_order(result) == [d for d in order if out_shape[d] > 1]:
        return result
    laid = _in_order(xp, out_shape, result.dtype, order)
    laid[...] = result
    return laid
