"""softmax and log_softmax added up in PyTorch's order (its CPU kernels, SoftMaxKernel.cpp).

Why it matters. The gradient of y = log softmax(x) for an incoming g is

    dL/dx_i = g_i - exp(y_i) * sum_j g_j

and where the two terms nearly cancel (a mean over equal logits: g_i = 1/n and exp(y_i) =
1/n, so the exact answer is 0), what is left is rounding: 0 in PyTorch's order, 6.9e-18 in
NumPy's, and a division after it makes that NaN against inf. So tinygan's LogSoftmax takes
the gradient's value from here on the CPU (its graph, for a second derivative, is still the
formula's: engine/functional.py), and the forward values too, which that gradient reads.

PyTorch's order, float32 and float64 (its AVX-512 kernels: 16 and 8 lanes; AVX2: 8 and 4):

1. Over the last dim, each row's sum is ``vec::reduce_all``: a row shorter than one vector
   is added left to right; otherwise whole vectors are added lane by lane, the numbers past
   the last whole vector into the first lanes, and the lanes then added: float32's by
   halving (lane i + lane i + 8, then + 4, + 2, + 1), float64's left to right.
2. Over another dim, each position's sum runs along the dim, from 0, one number after another.
3. Then g - exp(y) * sum, the multiply and the subtraction fused into one rounding.

The forward sums exp(x - max x) in the same order (1 or 2), then log_softmax is
(x - max) - log(sum) and softmax exp(x - max) * (1 / sum) (over another dim: / sum).

exp is NumPy's here (float32's rounded once from float64), PyTorch's SLEEF's there: they
differ in a last bit now and then, so this is PyTorch's value for most elements, not all
(measured over 600 drawn shapes and dims: about 1 element in 60 differs, against about 1 in 7
for the formula in NumPy's order; tests/test_pytorch_rounding.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.fma import fused

# the vectors' width: AVX-512's (16 float32, 8 float64) or AVX2's (8 and 4)
LANES = {np.dtype(np.float32): 16, np.dtype(np.float64): 8} if backend.cpu_has_avx512() \
    else {np.dtype(np.float32): 8, np.dtype(np.float64): 4}
LONGEST = 4096   # a longer dim: the formula in NumPy's order (this loop would cost more)


def applies(y: Any, axis: Any) -> bool:
    """Whether the gradient of a log_softmax with result ``y`` is computed here: a NumPy
    array of float32 or float64, a dim to sum over, of at most LONGEST numbers."""
    return (type(y) is np.ndarray and y.dtype in LANES and axis is not None and y.size > 0
            and y.shape[axis] <= LONGEST)


def log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """log softmax along ``axis`` of z = x - max x: z - log(sum exp z), in PyTorch's order."""
    return z - _exp_or_log(np.log, _sum(_exp_or_log(np.exp, z), axis))


def softmax(z: np.ndarray, axis: int) -> np.ndarray:
    """softmax along ``axis`` of z = x - max x, in PyTorch's order: over the last dim
    exp(z) * (1 / sum exp z), over another exp(z) / sum exp z. (Its last-dim kernel takes a
    faster, less exact exp, SLEEF's u20, so a tenth of the values still differ in a last bit.)"""
    e = _exp_or_log(np.exp, z)
    total = _sum(e, axis)
    return e * (1 / total) if axis == z.ndim - 1 else e / total


def log_softmax_backward(y: np.ndarray, g: np.ndarray, axis: int) -> np.ndarray:
    """dL/dx = g - exp(y) * sum(g along ``axis``), in PyTorch's order (see above)."""
    total = _sum(g, axis)
    with np.errstate(over="ignore", invalid="ignore"):
        return fused(-_exp_or_log(np.exp, y), np.broadcast_to(total, g.shape).copy(), g)


def _exp_or_log(fn: Any, a: np.ndarray) -> np.ndarray:
    """fn(a); float32 through float64, rounded once (as SLEEF's, nearly always)."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return fn(a.astype(np.float64)).astype(np.float32) if a.dtype == np.float32 else fn(a)


def _sum(a: np.ndarray, axis: int) -> np.ndarray:
    """The sum along ``axis`` (kept as size 1) in PyTorch's order: 1 or 2 above."""
    if axis == a.ndim - 1:
        rows = a.reshape(-1, a.shape[-1])
        total = _reduce_all(rows, LANES[a.dtype], halving=a.dtype == np.float32)
        return total.reshape(a.shape[:-1] + (1,))
    total = np.zeros_like(np.take(a, [0], axis=axis))
    for d in range(a.shape[axis]):
        total = total + np.take(a, [d], axis=axis)
    return total


def _reduce_all(rows: np.ndarray, lanes: int, halving: bool) -> np.ndarray:
    """``vec::reduce_all`` of each row of ``rows`` (R, n) with ``lanes``-wide vectors."""
    n = rows.shape[1]
    if n < lanes:   # one partial vector: its numbers left to right
        total = rows[:, 0].copy()
        for j in range(1, n):
            total = total + rows[:, j]
        return total
    whole = n // lanes * lanes
    acc = rows[:, :lanes].copy()
    for start in range(lanes, whole, lanes):
        acc = acc + rows[:, start:start + lanes]
    if whole < n:   # the rest into the first lanes (the others keep theirs)
        acc[:, :n - whole] = acc[:, :n - whole] + rows[:, whole:]
    if halving:
        while acc.shape[1] > 1:
            half = acc.shape[1] // 2
            acc = acc[:, :half] + acc[:, half:]
        return acc[:, 0]
    total = acc[:, 0].copy()
    for j in range(1, lanes):
        total = total + acc[:, j]
    return total
