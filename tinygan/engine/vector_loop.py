"""Which elements PyTorch's elementwise CPU loop computes in vector registers.

PyTorch writes an elementwise kernel twice: once for one value (the scalar loop) and once
for a vector of them (the vector loop: 16 float32s or 8 float64s with AVX-512). Its
TensorIterator walks the result row by row; in each row the vector loop takes whole blocks
of two vectors and the scalar loop the rest. The two forms are meant to agree, and for
ordinary numbers they do; where a NaN meets a comparison they can part: ELU's backward tests
``x <= 0`` in its scalar form and ``x > 0`` in its vector form, and both are false at NaN,
so one picks the curve and the other the straight line. Which answer PyTorch gives for an
element then depends on where it sits. ``vector_loop_mask`` says where.

How TensorIterator finds its rows (TensorIterator.cpp): it orders the dims fastest first by
the operands' strides (``layout._fastest_first``), merges neighbouring dims where every
operand steps through them as through one (``dim0 * stride0 == stride1``, or a dim of size
1), and calls the row "the first merged dim". A row runs the vector loop when every operand
steps one element at a time along it, or exactly one input steps by 0 (a broadcast scalar)
and the others by one element; any other strides run the scalar loop throughout.

On the GPU ("cuda") PyTorch's kernels have one form, the scalar one: no element is in a
vector loop there. Not followed: a result of 32,768 elements or more, which PyTorch splits between its threads
(each part has its own tail); here it counts as one thread's work.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.fma import VECTOR_BYTES
from tinygan.engine.layout import _broadcast_steps, _fastest_first


def _row(shape: tuple, operands: list, itemsize: int) -> tuple[list, bool]:
    """The dims TensorIterator merges into its row (fastest first), and whether the row
    runs the vector loop. ``operands``: the inputs (the result is new, stored in the
    order the inputs suggest, so it steps one element at a time along the row)."""
    order = [d for d in _fastest_first(shape, operands) if shape[d] != 1]
    if not order:
        return [], False
    steps = [_broadcast_steps(a, shape) for a in operands]
    row = [order[0]]
    for d in order[1:]:
        # the result steps through the merged dims as through one by construction
        if all(st[row[-1]] * shape[row[-1]] == st[d] for st in steps):
            row.append(d)
        else:
            break
    first = [st[order[0]] for st in steps]
    dense = [s == itemsize for s in first]
    vectorised = all(dense) or (first.count(0) == 1 and dense.count(False) == 1)
    return row, vectorised


def vector_loop_mask(shape: tuple, operands: list, itemsize: int | None = None,
                     block: int | None = None) -> Any:
    """Boolean array of ``shape``: True where PyTorch's elementwise kernel over
    ``operands`` (arrays broadcast to ``shape``; their strides matter, not only their
    values) computes the element in its vector loop, False in its scalar loop. ``block``:
    the elements one turn of the vector loop takes (two vectors of ``itemsize``)."""
    xp = backend.get_array_module(operands[0])
    itemsize = itemsize or operands[0].itemsize
    row, vectorised = _row(tuple(shape), list(operands), itemsize)
    if not vectorised or backend.device_of(operands[0]) != "cpu":
        return xp.zeros(shape, dtype=bool)
    block = block or 2 * VECTOR_BYTES // itemsize   # two vectors per turn of the loop
    place, extent = xp.zeros((1,) * len(shape), dtype=np.int64), 1
    for d in row:                                   # the element's place along its row
        along = [1] * len(shape)
        along[d] = shape[d]
        place = place + xp.arange(shape[d], dtype=np.int64).reshape(along) * extent
        extent *= shape[d]
    whole = extent // block * block                 # the scalar loop takes the rest
    return xp.broadcast_to(place < whole, shape)
