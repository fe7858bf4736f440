"""A float sum added in PyTorch's order (its CPU kernel, SumKernel.cpp), bit for bit.

Why it matters. Float addition is not associative, so two libraries that add the same
numbers in different orders print different last bits. Usually nobody can tell; but where a
sum is 0 in exact arithmetic (the deviations of a batch from its mean, a gradient that
cancels), what is printed is rounding noise, 1e-8 in one order and -3e-8 in another, and a
division or a log after it turns that into a different answer. NumPy sums pairwise; PyTorch
sums as below. tinygan's ``Sum`` uses this order for the sums PyTorch makes in one thread
(up to 32,768 numbers a row), so such programs print PyTorch's noise too.

PyTorch's order, for one contiguous row x of n numbers (float32: 8-lane vectors; float64: 4):

1. Rows shorter than one vector: a scalar sum with 4 running accumulators ("ilp"): x[4i+k]
   goes to accumulator k; the leftover numbers go to accumulator 0; then acc0 + acc1 + acc2
   + acc3.
2. Otherwise the row is read as v = n // lanes vectors. The same 4-accumulator scheme runs
   over the vectors (vector 4i+k to accumulator k, leftovers to accumulator 0, then the four
   added), each accumulator a vector, added lane by lane.
3. Long rows (16 or more groups of 4) are added in a cascade ("multi_row_sum"): blocks of
   2^p groups are summed on their own and carried up through 4 levels, so no accumulator
   grows much larger than the numbers added to it (less rounding).
4. Finally a scalar, starting at 0, takes the numbers past the last whole vector, then the
   8 (or 4) lanes, one after another.

A sum over leading *and* trailing dims, (A, C, R) -> (C,) (x.sum((0, 2, 3)), a convolution's
bias gradient), sums each row of R as above and adds the rows into the result in turn.
A sum over the *leading* dims of a contiguous (n, C) block (a bias gradient, x.sum(0))
goes down the columns instead ("vectorized_outer_sum" / "scalar_outer_sum"): with C at
least one vector, the columns in whole blocks of 4 vectors (or, below one vector, of 4
columns) add their n rows one after another, cascaded as in 3 (no 4 accumulators); the
other columns take the 4-accumulator scheme of 1 along their rows. PyTorch splits such a
sum across threads by columns once it has 32,768 numbers, which changes the blocks: only
smaller ones are followed here (and, as they cost more here than NumPy's sum, so are the
sums over leading and trailing dims: a small batch's bias gradient, not a DCGAN's).

The result equals NumPy's sum up to rounding; tests/test_pytorch_rounding.py checks it is
PyTorch's to the bit on random lengths and rows.
"""
from __future__ import annotations

import math

import numpy as np

MOST = 32768          # PyTorch splits longer sums across threads (its grain size)
LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}
_ILP = 4              # accumulators
_LEVELS = 4           # the cascade's levels


def _ceil_log2(x: int) -> int:
    return 1 if x <= 2 else int(x - 1).bit_length()


def _in_order(parts: np.ndarray) -> np.ndarray:
    """parts (k, ...) added one after another along axis 0. NumPy reduces a contiguous
    array's first axis that way, one row onto the running sum, when each row has 2 or more
    numbers (with one, the axis is contiguous and NumPy adds pairwise): then its sum is
    used, else a running sum (cumsum, always in order, slower)."""
    if parts.ndim > 1 and parts[0].size > 1 and parts.flags.c_contiguous:
        return np.add.reduce(parts, axis=0)
    return np.cumsum(parts, axis=0, dtype=parts.dtype)[-1]


def _accumulate(groups: np.ndarray) -> np.ndarray:
    """groups (m, R, 4, ...): the 4 accumulators after adding the m groups, cascaded as
    PyTorch's multi_row_sum: (R, 4, ...)."""
    m = groups.shape[0]
    power = max(4, _ceil_log2(m) // _LEVELS)
    step, mask = 1 << power, (1 << power) - 1
    if 0 < m < step:   # no whole block: one running sum, then the three empty levels
        return _in_order(groups) + groups.dtype.type(0)   # (0 + ... turns -0.0 into 0.0)
    zero = np.zeros(groups.shape[1:], groups.dtype)
    acc = [zero.copy() for _ in range(_LEVELS)]
    whole = m // step
    blocks = groups[:whole * step].reshape((whole, step) + groups.shape[1:])
    if zero.size > 1 and blocks.flags.c_contiguous:   # each block's own sum, all at once
        block_sums = np.add.reduce(blocks, axis=1)    # (row by row, as _in_order)
    else:
        block_sums = [_in_order(block) for block in blocks]
    if 0 < whole < step and not isinstance(block_sums, list):
        # (fewer blocks than fill the second level: they add up there one after another,
        # the rows past them run on at the first, and the two meet at the end)
        rest = _in_order(np.concatenate([zero[None], groups[whole * step:]]))
        return (rest + _in_order(block_sums)) + groups.dtype.type(0)
    i = 0
    for block_sum in block_sums:  # a whole block: summed alone, then carried up
        acc[0] = block_sum
        i += step
        for j in range(1, _LEVELS):
            acc[j] = acc[j] + acc[j - 1]
            acc[j - 1] = zero
            if i & (mask << (j * power)):
                break
    if i < m:
        acc[0] = _in_order(np.concatenate([acc[0][None], groups[i:]]))
    return _in_order(np.stack(acc))


def _row_sum(items: np.ndarray) -> np.ndarray:
    """items (R, n, ...): PyTorch's row_sum over axis 1 with 4 accumulators -> (R, ...)."""
    n = items.shape[1]
    whole = n // _ILP
    grouped = items[:, :whole * _ILP].reshape(items.shape[0], whole, _ILP, *items.shape[2:])
    acc = _accumulate(np.ascontiguousarray(np.moveaxis(grouped, 1, 0)))   # (R, 4, ...)
    # acc0 takes the leftovers, then acc1, acc2, acc3, in that order
    order = [acc[:, :1], items[:, whole * _ILP:], acc[:, 1:]]
    return _in_order(np.ascontiguousarray(np.moveaxis(np.concatenate(order, axis=1), 1, 0)))


def row_sums(x: np.ndarray) -> np.ndarray:
    """x (R, n), contiguous, float32 or float64, n <= MOST -> (R,) sums in PyTorch's order."""
    lanes = LANES[x.dtype]
    rows, n = x.shape
    if n < lanes:
        return _row_sum(x)
    whole = n // lanes
    vectors = x[:, :whole * lanes].reshape(rows, whole, lanes)
    lane_sums = _row_sum(vectors)                              # (R, lanes)
    zero = np.zeros((rows, 1), x.dtype)
    tail = np.concatenate([zero, x[:, whole * lanes:], lane_sums], axis=1)
    return _in_order(np.ascontiguousarray(tail.T))


def applies(x: np.ndarray, axes: tuple[int, ...] | None) -> bool:
    """Whether PyTorch's order is known here: a contiguous float32/float64 NumPy array summed
    over a trailing run of its dims (or all of them), rows of 1..MOST numbers, or over a
    leading run, fewer than MOST numbers in all."""
    if type(x) is not np.ndarray or x.dtype not in LANES or not x.flags.c_contiguous:
        return False
    if axes == () and x.ndim:
        return False
    axes = tuple(range(x.ndim)) if axes is None else tuple(sorted(axes))
    lead, trail = _runs(axes, x.ndim)
    if lead + trail != len(axes) or x.size == 0:
        return False   # (reduced dims on both sides of a kept one and elsewhere: not known)
    if lead and len(axes) < x.ndim:   # over leading dims (and trailing ones): see
        return x.size < MOST          # leading_sum and outer_and_inner_sum
    n = int(math.prod(x.shape[x.ndim - trail:]))
    return 0 < n <= MOST


def _runs(axes: tuple[int, ...], ndim: int) -> tuple[int, int]:
    """How many of the sorted ``axes`` form a run from dim 0, and how many of the rest a
    run to the last dim."""
    lead = 0
    while lead < len(axes) and axes[lead] == lead:
        lead += 1
    trail = 0
    while trail < len(axes) - lead and axes[len(axes) - 1 - trail] == ndim - 1 - trail:
        trail += 1
    return lead, trail


def pytorch_sum(x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """x summed over ``axes`` (where ``applies``) in PyTorch's order."""
    axes = tuple(range(x.ndim)) if axes is None else tuple(sorted(axes))
    lead, trail = _runs(axes, x.ndim)
    if len(axes) == x.ndim or not lead:
        return trailing_sum(x, axes, keepdims)
    kept = x.shape[lead:x.ndim - trail]
    before, inside = int(math.prod(x.shape[:lead])), int(math.prod(kept))
    after = int(math.prod(x.shape[x.ndim - trail:]))   # (dims of size 1 reduce nothing)
    if after == 1:
        sums = leading_sum(x.reshape(before, inside))
    elif before == 1:
        sums = row_sums(x.reshape(inside, after))
    else:
        sums = outer_and_inner_sum(x.reshape(before, inside, after))
    sums = sums.reshape(kept)
    return sums.reshape((1,) * lead + kept + (1,) * trail) if keepdims else sums


def outer_and_inner_sum(x: np.ndarray) -> np.ndarray:
    """x (A, C, R), contiguous -> (C,): sums over A and R (an image batch's bias gradient,
    x.sum((0, 2, 3))). PyTorch sums each row of R numbers (the module docstring) and adds
    the rows to the result one after another, starting from 0, for a = 0, 1, ..."""
    a, c, r = x.shape
    if c == 1:   # nothing kept apart: one long contiguous row
        return row_sums(x.reshape(1, -1))
    rows = row_sums(x.reshape(a * c, r)).reshape(a, c)
    return _in_order(np.concatenate([np.zeros((1, c), x.dtype), rows]))


def leading_sum(x: np.ndarray) -> np.ndarray:
    """x (n, C), contiguous, fewer than MOST numbers -> (C,): each column's sum in PyTorch's
    order for a reduction over the rows (the module docstring)."""
    n, columns = x.shape
    if columns == 1:   # one column: a contiguous row after all
        return row_sums(x.reshape(1, n))
    lanes = LANES[x.dtype]
    # the columns summed as whole blocks (of 4 vectors, or 4 columns), rows in turn
    block = (columns // (4 * lanes)) * 4 * lanes if columns >= lanes else (columns // 4) * 4
    sums = np.empty(columns, x.dtype)
    if block:
        sums[:block] = _accumulate(x[:, :block])
    if block < columns:   # the rest with 4 accumulators along each column
        sums[block:] = _row_sum(np.ascontiguousarray(x[None, :, block:]))[0]
    return sums


def trailing_sum(x: np.ndarray, axes: tuple[int, ...] | None, keepdims: bool) -> np.ndarray:
    """x summed over ``axes`` (a trailing run, see ``applies``) in PyTorch's order."""
    axes = tuple(range(x.ndim)) if axes is None else tuple(sorted(axes))
    kept = x.shape[:x.ndim - len(axes)]
    sums = row_sums(x.reshape(int(math.prod(kept)), -1)).reshape(kept)
    if keepdims:
        sums = sums.reshape(kept + (1,) * len(axes))
    return sums
