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

- statistics: sums in float64, one element after another (for float32 data the order
  shows only where values cancel: 1e30 and -1e30 in one channel), mean = sum / n rounded
  to the data's type; var_sum = sum of
  (x - mean)^2 (each square in the data's type). Images with one pixel (S = 1,
  BatchNorm1d) and batches stored channels-last go the channels-last way, rows of C values:
  each of the threads sums its block of rows in the data's type (the square fused into the
  running sum), and the threads' partial sums are added in float64 (with no more rows than
  threads, the mean is taken in float64 at once and the squares in one block);
- normalising: alpha = invstd * weight, beta = bias - mean * alpha (fused), y = x * alpha
  + beta (fused), with invstd = 1 / sqrt(var_sum / n + eps) in float64;
- gradients: per image, sum dy and sum (x - mean) dy over the pixels in vectors of 8
  lanes (4 for float64) added lane by lane, then across lanes (float32 in a fixed tree,
  float64 one lane after another), the images' sums added in float64; then
  dx = ((dy - sum / n) - (x - mean) k) invstd w with k = dotp invstd^2 / n (the last
  product fused).

Which kernel runs depends on how the input (and, in backward, the incoming gradient) is
laid out in memory: row-major, channels-last, or neither (PyTorch's generic loops, which
round otherwise): see the end of this file.

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
from tinygan.engine.layout import _fastest_first, suggests_channels_last
from tinygan.fast import sum_kernel

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
    if pixels == 1:                            # channels-last, with per-thread partial sums
        rows = x[:, :, 0]
        if n > threads():
            total = np.zeros(channels)
            for start, end in _blocks(n):      # (cumsum adds one row after another)
                total += np.cumsum(rows[start:end], axis=0, dtype=dtype)[-1]
            mean = (total / n).astype(dtype)
        else:   # no more rows than threads (measured): the mean in float64 at once, and the
            # squared deviations below in one block
            mean = (rows.sum(axis=0, dtype=np.float64) / n).astype(dtype)
        spread = np.zeros(channels)
        for start, end in _blocks(n) if n > threads() else [(0, n)]:
            block = np.zeros(channels, dtype)
            for row in rows[start:end]:
                d = row - mean
                block = fused(d, d, block)      # buffer + (x - mean)^2, one rounding
            spread += block
        return mean, spread.astype(dtype)
    # one element after another, also for float32 data: where values cancel (1e30 and
    # -1e30 in one channel) the order decides which of the others survive (4905938)
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
    """The horizontal sum of one vector (last axis). float32: lane i adds lane i ^ 4, then
    i ^ 2, then i ^ 1 (PyTorch's shuffles); lane 0 holds the result. float64 has no such
    shortcut in PyTorch: lanes 1, 2, 3 are added to lane 0 one after another."""
    if v.dtype == np.float64:
        total = v[..., 0]
        for lane in range(1, v.shape[-1]):
            total = total + v[..., lane]
        return total
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


# ---- which kernel: PyTorch reads the layout of the input (and of the incoming gradient) ----
# Its kernels above serve a row-major input ("contiguous") and, through the one-pixel form,
# an image batch stored channels-last: rows of C values, one per pixel (``as_rows``). Any
# other strides (a transposed batch, an expanded gradient) take its generic loops (the
# ``strided_*`` functions below), which add in another order and group the formulas
# otherwise, so the last bits differ, and where a sum cancels, more than the last bits.

def memory_format(a: np.ndarray) -> str | None:
    """Which of PyTorch's batch-norm kernels reads ``a``: "contiguous" (row-major, checked
    first), "channels_last" (a 4-D or 5-D batch stored with the channels last), or None
    (other strides: its generic loops)."""
    if a.flags.c_contiguous:
        return "contiguous"
    if a.ndim in (4, 5) and np.moveaxis(a, 1, -1).flags.c_contiguous:
        return "channels_last"
    return None


def kernel_reads_both(x: np.ndarray, gy: np.ndarray) -> bool:
    """Whether PyTorch's backward runs x's kernel (else its generic loops): x and the
    incoming gradient both dense in one of its layouts, and suggesting the same one (a
    row-major array suggesting row-major, measured: a one-channel batch stored
    channels-last is both)."""
    def suggested(a: np.ndarray) -> bool:
        return suggests_channels_last(a) and not a.flags.c_contiguous
    return (memory_format(x) is not None and memory_format(gy) is not None
            and suggested(x) == suggested(gy))


def laid_out(result: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A result (the output, or x's gradient) in the layout PyTorch's batch norm gives it:
    its kernels, channels-last unless x is row-major; its generic loops, channels-last
    when x's strides suggest it."""
    kind = memory_format(x)
    if kind == "channels_last" or (kind is None and suggests_channels_last(x)):
        return np.moveaxis(np.ascontiguousarray(np.moveaxis(result, 1, -1)), -1, 1)
    return np.ascontiguousarray(result)


def as_rows(a: np.ndarray) -> np.ndarray:
    """A channels-last batch (N, C, H, W) as (N H W, C, 1): its pixels as rows of C values,
    in memory order (the one-pixel form, which the kernels above treat channels-last)."""
    return np.moveaxis(a, 1, -1).reshape(-1, a.shape[1], 1)


def from_rows(rows: np.ndarray, like: np.ndarray) -> np.ndarray:
    """``as_rows`` undone: (N H W, C, 1) -> like's shape, stored channels-last."""
    shape = (like.shape[0],) + like.shape[2:] + (like.shape[1],)
    return np.moveaxis(rows.reshape(shape), -1, 1)


def _per_channel(arrays: list[np.ndarray]) -> list[np.ndarray]:
    """Each array (N, C, ...) as (C, n): every channel's values in the order PyTorch's
    generic loops visit them (TensorIterator's order of the other dims, fastest first by
    the strides of the operands, the first operand deciding)."""
    others = [a[:, 0] for a in arrays]                           # dims N, 2, 3, ...
    slowest_first = _fastest_first(others[0].shape, others)[::-1]
    return [np.moveaxis(a, 1, 0).transpose([0] + [1 + d for d in slowest_first])
            .reshape(a.shape[1], -1) for a in arrays]


def pytorch_channel_sum(a: np.ndarray) -> np.ndarray:
    """at::sum over every dim but the channels (N, C, ...) -> (C,), in a's dtype: PyTorch's
    sum kernel over a's memory order (fast/sum_kernel.py), where that order is known."""
    slowest_first = _fastest_first(a.shape, [a])[::-1]
    laid = np.ascontiguousarray(a.transpose(slowest_first))
    axes = tuple(i for i, d in enumerate(slowest_first) if d != 1)
    if sum_kernel.applies(laid, axes):
        return sum_kernel.pytorch_sum(laid, axes, False)
    return laid.sum(axis=axes)


def strided_statistics(x: np.ndarray, eps: float) -> tuple[Any, Any, Any]:
    """PyTorch's generic loops: the mean (C,) by at::mean (its sum kernel, then / n), the
    sum of squared deviations in float64 (one after another), invstd = 1 / sqrt(var + eps)
    in float64. Returns mean, var_sum (float64), invstd,
    the first and last in x's dtype."""
    dtype = x.dtype
    n = x.size // x.shape[1]
    mean = pytorch_channel_sum(x) / dtype.type(n)
    (values,) = _per_channel([x])
    d = values - mean.astype(np.float64)[:, None]       # float64: exact for float32 data
    var_sum = _running_sum(d * d, 1)   # (a scalar loop the compiler does not fuse)
    invstd = (1 / np.sqrt(var_sum / n + eps)).astype(dtype)
    return mean, var_sum, invstd


def strided_normalise(x: np.ndarray, mean: np.ndarray, invstd: np.ndarray,
                      weight: np.ndarray | None, bias: np.ndarray | None) -> np.ndarray:
    """y = ((x - mean) invstd) w + b, each step rounded (PyTorch's generic loop; without
    affine, x_hat itself)."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) * invstd.reshape(shape)
    if weight is not None:
        y = y * weight.reshape(shape) + bias.reshape(shape)
    return y


def strided_gradients(x: np.ndarray, gy: np.ndarray, weight: np.ndarray | None,
                      mean: np.ndarray, invstd: np.ndarray) -> tuple[Any, Any, Any]:
    """native_batch_norm_backward's generic loops: sum dy by at::sum; dotp = sum of
    (x - mean) dy (each product rounded in x's dtype) in float64, one after another;
    k = dotp invstd^2 / n;
    dx = ((dy - sum / n) - (x - mean) k) invstd w, dweight = dotp invstd, dbias = sum."""
    dtype = x.dtype
    n = x.size // x.shape[1]
    shape = (1, -1) + (1,) * (x.ndim - 2)
    total = pytorch_channel_sum(gy)
    xs, gs = _per_channel([x, gy])
    centred = xs - mean[:, None]
    dotp = _running_sum(centred * gs, 1)
    k = dotp.astype(dtype) * invstd * invstd / dtype.type(n)
    grad_mean = total / dtype.type(n)
    w = np.ones_like(invstd) if weight is None else weight
    gx = (((gy - grad_mean.reshape(shape)) - (x - mean.reshape(shape)) * k.reshape(shape))
          * invstd.reshape(shape) * w.reshape(shape))
    return gx, (dotp * invstd).astype(dtype), total

