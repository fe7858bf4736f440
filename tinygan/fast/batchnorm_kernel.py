"""BatchNorm's training-mode arithmetic in the order PyTorch 2.13's CPU kernels run it.

The fast BatchNorm node (batchnorm.py) computes the same formulas as the plain form; this
file decides only the order of the additions and where a multiply and an add round once
(the compiler fuses them in PyTorch's kernels). That order is invisible in a trained
network, and visible exactly where a program looks at rounding: a channel whose values are
all equal (x - mean is 0 in exact arithmetic, 1e-8 in float32, and a relu or a pow after it
tells the two apart), or a tiny gradient made of cancelling sums. With these steps tinygan's
float32 results are PyTorch's to the bit (checked on random shapes, tests/
test_pytorch_rounding.py); float64 ones agree to the last bit or so.

PyTorch's CPU kernels, for an input laid out (N, C, S) (S: the pixels of one channel):

- statistics: sums in float64 (one element after another; for float32 data the order no
  longer shows once rounded), mean = sum / n rounded to the data's type; var_sum = sum of
  (x - mean)^2 (each square in the data's type; in float64 for one-pixel float32 images
  with no more rows than threads, as that loop compiles). Images with
  one pixel (S = 1, BatchNorm1d) go the channels-last way: each of the threads sums its
  block of rows in the data's type (the square fused into the running sum), and the
  threads' partial sums are added in float64 (with no more rows than threads, the squares
  are taken in float64);
- normalising: alpha = invstd * weight, beta = bias - mean * alpha (fused), y = x * alpha
  + beta (fused), with invstd = 1 / sqrt(var_sum / n + eps) in float64;
- gradients: per image, sum dy and sum (x - mean) dy over the pixels in vectors of 8
  lanes (4 for float64) added lane by lane, then across lanes in a fixed tree, the images'
  sums added in float64; then dx = ((dy - sum / n) - (x - mean) k) invstd w with
  k = dotp invstd^2 / n (the last product fused).

The thread count is PyTorch's default here, the machine's cores (``threads``). The order
costs extra passes over memory, so batchnorm.py takes it for inputs of up to EXACT_MOST
elements (every test, every program the differential tester draws), and the vectorised
formulas for training-size batches, where the last bits do not matter.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from tinygan.engine.fma import fused

LANES = {np.dtype(np.float32): 8, np.dtype(np.float64): 4}   # one 256-bit vector
EXACT_MOST = 1 << 16   # the largest input (elements) BatchNorm computes in PyTorch's order


def threads() -> int:
    """PyTorch's default thread count: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:       # (not Linux)
        return max(1, os.cpu_count() or 1)


def _blocks(n: int) -> list[tuple[int, int]]:
    """How at::parallel_for splits range(n) among the threads: equal blocks, the last
    one shorter."""
    tasks = min(threads(), n)
    size = -(-n // tasks)
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def _running_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """The sum along ``axis``, one element after another, in a float64 accumulator."""
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis))
    return np.cumsum(a, axis=axis, dtype=np.float64).take(-1, axis=axis)


def statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, S), contiguous. The mean (C,) and the sum of squared deviations (C,), both
    in x's dtype, as PyTorch's batch_norm collect-stats kernels compute them."""
    dtype = x.dtype
    n_batch, channels, pixels = x.shape
    n = n_batch * pixels
    if pixels == 1 and n > threads():          # channels-last, with per-thread partial sums
        rows = x[:, :, 0]
        total = np.zeros(channels)
        for start, end in _blocks(n):          # (cumsum adds one row after another)
            total += np.cumsum(rows[start:end], axis=0, dtype=dtype)[-1]
        mean = (total / n).astype(dtype)
        spread = np.zeros(channels)
        for start, end in _blocks(n):
            block = np.zeros(channels, dtype)
            for row in rows[start:end]:
                d = row - mean
                block = fused(d, d, block)      # buffer + (x - mean)^2, one rounding
            spread += block
        return mean, spread.astype(dtype)
    if dtype == np.float32:
        # float64 sums of float32 values: their order no longer shows once the result is
        # rounded to float32, so NumPy's own order will do (no copy into PyTorch's order)
        mean = (x.sum(axis=(0, 2), dtype=np.float64) / n).astype(dtype)
        d = x - mean[None, :, None]
        squares = d * d if pixels > 1 else np.square(d, dtype=np.float64)
        return mean, squares.sum(axis=(0, 2), dtype=np.float64).astype(dtype)
    flat = x.transpose(1, 0, 2).reshape(channels, n)   # each channel's values, in order
    mean = (_running_sum(flat, 1) / n).astype(dtype)
    d = flat - mean[:, None]
    return mean, _running_sum(d * d, 1).astype(dtype)


def normalise(x: np.ndarray, mean: np.ndarray, var_sum: np.ndarray, eps: float,
              weight: np.ndarray | None, bias: np.ndarray | None) -> tuple[Any, Any]:
    """y = x alpha + beta for x (N, C, S), and invstd (C,)."""
    dtype = x.dtype
    n = x.shape[0] * x.shape[2]
    var = var_sum / dtype.type(n)
    invstd = (1 / np.sqrt(var.astype(np.float64) + eps)).astype(dtype)
    alpha = invstd if weight is None else invstd * weight
    beta = np.zeros_like(alpha) if bias is None else bias
    beta = fused(-mean, alpha, beta)
    shape = (1, -1, 1)
    return fused(x, np.broadcast_to(alpha.reshape(shape), x.shape),
                 np.broadcast_to(beta.reshape(shape), x.shape)), invstd


def _lane_sum(v: np.ndarray) -> np.ndarray:
    """The horizontal sum of one vector (last axis): lane i adds lane i ^ 4, then i ^ 2,
    then i ^ 1 (PyTorch's shuffles); lane 0 holds the result."""
    step = v.shape[-1] // 2
    while step >= 1:
        v = v + v[..., np.arange(v.shape[-1]) ^ step]
        step //= 2
    return v[..., 0]


def _vector_sum(values: np.ndarray, x: np.ndarray | None = None,
                mean: np.ndarray | None = None) -> np.ndarray:
    """vec::reduce_all over the last axis of ``values`` (or, with x and mean, of
    (x - mean) * values, PyTorch's map2_reduce_all): whole vectors added lane by lane,
    the ragged tail added into the first lanes (there the product is fused into the add),
    then ``_lane_sum``. Fewer values than one vector are added one after another."""
    lanes = LANES[values.dtype]
    size = values.shape[-1]
    if size < lanes:
        v = values if x is None else (x - mean) * values
        return np.cumsum(v, axis=-1)[..., -1]          # (cumsum adds one after another)
    whole = size - size % lanes
    terms = values[..., :whole] if x is None else (x[..., :whole] - mean) * values[..., :whole]
    vectors = terms.reshape(terms.shape[:-1] + (whole // lanes, lanes))
    acc = np.cumsum(vectors, axis=-2)[..., -1, :]      # vector after vector, lane by lane
    if whole < size:
        rest = size - whole
        if x is None:
            tail = acc[..., :rest] + values[..., whole:]
        else:
            tail = fused(x[..., whole:] - mean, values[..., whole:], acc[..., :rest])
        acc = np.concatenate([tail, acc[..., rest:]], axis=-1)
    return _lane_sum(acc)


def gradients(x: np.ndarray, gy: np.ndarray, weight: np.ndarray | None, mean: np.ndarray,
              invstd: np.ndarray) -> tuple[Any, Any, Any]:
    """dL/dx (N, C, S), dL/dweight and dL/dbias (C,), as native_batch_norm_backward."""
    dtype = x.dtype
    n_batch, channels, pixels = x.shape
    n = n_batch * pixels
    w = np.ones(channels, dtype) if weight is None else weight
    if pixels == 1:                               # channels-last, per-thread partial sums
        rows, grads = x[:, :, 0], gy[:, :, 0]
        total, dotp = np.zeros(channels), np.zeros(channels)
        for start, end in _blocks(n):
            total += np.cumsum(grads[start:end], axis=0, dtype=dtype)[-1]
            block = np.zeros(channels, dtype)
            for row, g in zip(rows[start:end], grads[start:end]):
                block = fused(row - mean, g, block)     # dotp + (x - mean) dy, fused
            dotp += block
        total, dotp = total.astype(dtype), dotp.astype(dtype)
        k = dotp * invstd * invstd / dtype.type(n)
        grad_mean = total / dtype.type(n)
        gx = ((grads - grad_mean) - (rows - mean) * k) * invstd * w
        return gx[:, :, None], dotp * invstd, total
    sums = _vector_sum(gy)                                  # (N, C): each image's sums
    dots = _vector_sum(gy, x, mean[:, None])
    total = np.cumsum(sums, axis=0, dtype=np.float64)[-1]   # the images', in float64
    dotp = np.cumsum(dots, axis=0, dtype=np.float64)[-1]
    k = dotp.astype(dtype) * invstd * invstd / dtype.type(n)
    grad_mean = (total / n).astype(dtype)
    shape = (1, -1, 1)
    inner = fused(-(x - mean.reshape(shape)), np.broadcast_to(k.reshape(shape), x.shape),
                  gy - grad_mean.reshape(shape))        # (dy - grad_mean) - (x - mean) k
    gx = inner * invstd.reshape(shape) * w.reshape(shape)
    return gx, (dotp * invstd).astype(dtype), total.astype(dtype)
