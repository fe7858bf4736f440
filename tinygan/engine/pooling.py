"""Pooling over 2-D images: max, average, adaptive average. Inputs (N, C, H, W) or (C, H, W).

Max pooling keeps the largest value of each window. Its gradient goes to the one position
that won (the first, in reading order, when several tie: PyTorch's choice too), so the op
is a *gather*: y = x.flat[winners]. Its backward scatters gy back to the winners (adding
where windows overlap and share a winner); the backward of that scatter is the gather again,
which gives second derivatives.

Average pooling, fixed or adaptive, is linear and works on rows and columns separately:
y = A_h x A_w^T, with A_h (H_out, H) holding 1/len in each window's columns. Written as two
matrix products, it needs no Function of its own: matmul gives every derivative.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.tensor import Function, Tensor

Pair = tuple[int, int]


def _pair(value: int | Sequence[int], name: str, op: str) -> Pair:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _images(op: str, x: Tensor) -> tuple[Tensor, bool]:
    """(N, C, H, W) as it is, or (C, H, W) with a batch of one added (and a flag to drop it)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the input must be a Tensor, not {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                           f"{x.shape}")
    return (x, False) if x.ndim == 4 else (x.unsqueeze(0), True)


def _out_size(size: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's output length: floor (or ceil) of (size + 2p - d(k-1) - 1) / s, plus one;
    with ceil_mode a last window must still start inside the input or the left padding."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


# =======================================================================================
# Max pooling: a gather at the winners, a scatter back
# =======================================================================================
class Gather(Function):
    """y = x.flat[index] (index: any shape of flat positions into x).

    ``chosen_from_x``: the index was computed from x's values (max pooling's winners), so a
    change to x in place before backward makes it stale: x's version is then checked, and
    backward refuses, as PyTorch's max_pool2d does. The gradient itself needs only the
    index."""
    def __init__(self, index, chosen_from_x=False):
        self.index, self.chosen_from_x = index, chosen_from_x
        # max pooling: PyTorch's backward node reads x (see Function.backward_reads)
        self.backward_reads = (0,) if chosen_from_x else None
        self.backward_reads_give_zeros = True

    def saves(self): return (0,) if self.chosen_from_x else ()
    def forward(self, x): return x.reshape(-1)[self.index]
    def backward(self, gy): return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Function):
    """y = zeros(shape), then y.flat[index] += g (repeats add up): Gather's backward."""
    def __init__(self, index, shape): self.index, self.shape = index, tuple(shape)
    def saves(self): return ()

    def forward(self, g):
        y = backend.get_array_module(g).zeros(int(np.prod(self.shape)), dtype=g.dtype)
        backend.scatter_add(y, self.index.reshape(-1), g.reshape(-1))
        return y.reshape(self.shape)

    def backward(self, gg): return Gather(self.index)(gg)


def max_pool2d(input: Tensor, kernel_size: int | Pair,  # noqa: A002 - PyTorch's name
               stride: int | Pair | None = None, padding: int | Pair = 0,
               dilation: int | Pair = 1, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """The largest value of each kernel_size window, windows ``stride`` apart (default: the
    kernel size, so they tile the image). Padding counts as -inf. ``return_indices`` also
    gives each winner's position in its H*W plane (int64), as PyTorch's."""
    x, single = _images("max_pool2d", input)
    k = _pair(kernel_size, "kernel_size", "max_pool2d")
    no_stride = stride is None or stride == () or stride == []     # PyTorch: the kernel
    s = k if no_stride else _pair(stride, "stride", "max_pool2d")
    p, d = _pair(padding, "padding", "max_pool2d"), _pair(dilation, "dilation", "max_pool2d")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise RuntimeError(f"max_pool2d: kernel_size, stride and dilation must be positive, got "
                           f"{k}, {s}, {d}")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2 or min(p) < 0:
        raise RuntimeError(f"max_pool2d: pad should be at most half of effective kernel size, "
                           f"but got pad={p}, kernel_size={k}")
    n, c, h, w = x.shape
    oh, ow = (_out_size(h, k[0], s[0], p[0], d[0], ceil_mode),
              _out_size(w, k[1], s[1], p[1], d[1], ceil_mode))
    if oh < 1 or ow < 1:
        raise RuntimeError(f"max_pool2d: input {x.shape} is too small for kernel {k}: output "
                           f"size would be {oh}x{ow}")
    # row and column of every window element: (oh, kh) and (ow, kw), in unpadded coordinates
    rows = np.arange(oh)[:, None] * s[0] + np.arange(k[0])[None, :] * d[0] - p[0]
    cols = np.arange(ow)[:, None] * s[1] + np.arange(k[1])[None, :] * d[1] - p[1]
    inside_r, inside_c = (rows >= 0) & (rows < h), (cols >= 0) & (cols < w)
    # the small index tables are built on the host, then joined with the data on its device
    xp = backend.get_array_module(x.array)
    rows_d, cols_d = xp.asarray(rows), xp.asarray(cols)
    # windows: (n, c, oh, ow, kh, kw), -inf where a window leaves the image
    windows = x.array[:, :, xp.asarray(rows.clip(0, h - 1)[:, None, :, None]),
                      xp.asarray(cols.clip(0, w - 1)[None, :, None, :])]
    valid = xp.asarray(inside_r[:, None, :, None] & inside_c[None, :, None, :])
    windows = xp.where(valid, windows, -xp.inf).reshape(n, c, oh, ow, -1)
    best = windows.argmax(-1)                                  # first maximum, row-major
    r = rows_d[xp.arange(oh)[:, None], best // k[1]]        # the winner's row and column
    col = cols_d[xp.arange(ow)[None, :], best % k[1]]
    plane = r * w + col                                        # position in the H*W plane
    flat = (xp.arange(n * c).reshape(n, c, 1, 1) * (h * w) + plane).astype(xp.int64)
    y = Gather(flat, chosen_from_x=True)(x)
    if single:
        y, plane = y.squeeze(0), plane[0]
    return (y, Tensor(plane.astype(xp.int64))) if return_indices else y


# =======================================================================================
# Average pooling, fixed and adaptive: y = A_h x A_w^T
# =======================================================================================
def _average(x: Tensor, rows: np.ndarray, cols: np.ndarray) -> Tensor:
    """x (N, C, H, W) -> (N, C, OH, OW) through the two averaging matrices."""
    a_h = F._same_dtype_const(x.array, rows)
    a_w = F._same_dtype_const(x.array, cols)
    return F.matmul(F.matmul(a_h, x), a_w.transpose(0, 1))


def _window_matrix(size: int, out: int, k: int, s: int, p: int,
                   count_pad: bool) -> tuple[np.ndarray, np.ndarray]:
    """Ones where input position j falls in window i, and each window's length (with the
    zero padding counted or not; with ceil_mode a window hanging past the padding is cut)."""
    start = np.arange(out) * s - p
    end = np.minimum(start + k, size + p)
    j = np.arange(size)
    member = ((j[None, :] >= start[:, None]) & (j[None, :] < end[:, None])).astype(float)
    length = (end - start) if count_pad else member.sum(1)
    return member, length


def avg_pool2d(input: Tensor, kernel_size: int | Pair,  # noqa: A002 - PyTorch's name
               stride: int | Pair | None = None, padding: int | Pair = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window (zero padding counted in the divisor unless
    ``count_include_pad=False``; ``divisor_override`` replaces the divisor)."""
    x, single = _images("avg_pool2d", input)
    k = _pair(kernel_size, "kernel_size", "avg_pool2d")
    no_stride = stride is None or stride == () or stride == []     # PyTorch: the kernel
    s = k if no_stride else _pair(stride, "stride", "avg_pool2d")
    p = _pair(padding, "padding", "avg_pool2d")
    if min(k) < 1 or min(s) < 1 or min(p) < 0 or p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(f"avg_pool2d: pad should be at most half of kernel size and kernel "
                           f"and stride positive, got kernel_size={k}, stride={s}, pad={p}")
    h, w = x.shape[2:]
    oh, ow = _out_size(h, k[0], s[0], p[0], 1, ceil_mode), _out_size(w, k[1], s[1], p[1], 1,
                                                                      ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"avg_pool2d: input {x.shape} is too small for kernel {k}")
    m_h, len_h = _window_matrix(h, oh, k[0], s[0], p[0], count_include_pad)
    m_w, len_w = _window_matrix(w, ow, k[1], s[1], p[1], count_include_pad)
    if divisor_override is not None:       # one divisor for every window
        y = _average(x, m_h, m_w) * (1.0 / divisor_override)
    else:                                  # the divisor |rows| |cols| splits into the two sides
        y = _average(x, m_h / len_h[:, None], m_w / len_w[:, None])
    # PyTorch's avg_pool2d is one op that keeps its input (its backward reads the shape): an
    # in-place change of the input before backward is refused there, and here
    y = F.keeps(y, x, name="AvgPool2D")
    return y.squeeze(0) if single else y


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    """PyTorch's adaptive bins: window i covers [floor(i size/out), ceil((i+1) size/out))."""
    m = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def adaptive_avg_pool2d(input: Tensor,  # noqa: A002 - PyTorch's name
                        output_size: int | Sequence[int | None]) -> Tensor:
    """Average into a fixed output_size whatever the input size (None keeps that side)."""
    x, single = _images("adaptive_avg_pool2d", input)
    h, w = x.shape[2:]
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(size) != 2:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                           f"{output_size!r}")
    oh, ow = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    if oh < 1 or ow < 1 or x.shape[2] < 1 or x.shape[3] < 1:
        raise ValueError(f"adaptive_avg_pool2d: output size must be positive and the input "
                         f"non-empty, got output_size={output_size!r} for input {x.shape}")
    y = _average(x, _adaptive_matrix(h, oh), _adaptive_matrix(w, ow))
    return y.squeeze(0) if single else y


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]
