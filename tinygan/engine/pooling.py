"""Pooling over 2-D images: max, average, adaptive average. Inputs (N, C, H, W) or (C, H, W).

Max pooling keeps the largest value of each window. Its gradient goes to the one position
that won (the first, in reading order, when several tie: PyTorch's choice too), so the op
is a *gather*: y = x.flat[winners]. Its backward scatters gy back to the winners (adding
where windows overlap and share a winner); the backward of that scatter is the gather again,
which gives second derivatives.

Average pooling, fixed or adaptive, sums each window and divides by its size. It is linear:
its backward spreads gy back over the windows, and that spreading is linear too, so the two
Functions (AvgPool, AvgPoolGrad) are each other's gradient, which gives second derivatives.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.arguments import flag, index
from tinygan.engine.layout import laid_out_like
from tinygan.engine.tensor import Function, Tensor, as_result

Pair = tuple[int, int]


def _refuse_kinds(op: str, x: Tensor, kinds: str, even_empty: bool = False) -> None:
    """PyTorch's pooling kernels exist for floats (max pooling: integers too); average
    pooling lets an empty input pass (nothing to compute), max pooling checks first."""
    if x.dtype.kind in kinds and (x.numel() or even_empty):
        name = backend.TORCH_DTYPE_NAMES.get(x.dtype.name, x.dtype.name)
        raise NotImplementedError(f'"{op}" not implemented for \'{name}\' (an input of shape '
                                  f'{x.shape}); convert it with .float()')


def _pair(value: int | Sequence[int], name: str, op: str) -> Pair:
    if isinstance(value, Tensor):   # (an int list takes a tensor of one element)
        value = index(op, name, value, bools=True)
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(
            v, (bool, np.bool_)) for v in pair):   # (True is not a size, though an int)
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def _images(op: str, x: Tensor, windows: bool = True) -> tuple[Tensor, bool]:
    """(N, C, H, W) as it is, or (C, H, W) with a batch of one added (and a flag to drop it).
    ``windows``: PyTorch's check for the windowed pools, only the batch may be empty."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: the input must be a Tensor, not {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape "
                           f"{x.shape}")
    if windows and 0 in x.shape[x.ndim - 3:]:
        raise RuntimeError(f"{op}: Expected 3D or 4D (batch mode) tensor with optional 0 dim "
                           f"batch size for input, but got: {list(x.shape)}")
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
    def __init__(self, index, chosen_from_x=False, image_layout=False):
        self.index, self.chosen_from_x = index, chosen_from_x
        if image_layout:   # a pool's result: laid out as PyTorch's image kernels lay it out
            self.result_layout = "own"
        # max pooling: PyTorch's backward node reads x (see Function.backward_reads)
        self.backward_reads = (0,) if chosen_from_x else None
        self.backward_reads_give_zeros = True

    def saves(self): return (0,) if self.chosen_from_x else ()
    def forward(self, x):
        y = x.reshape(-1)[self.index]
        return laid_out_like(y, x) if self.result_layout == "own" else y

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
    _refuse_kinds("max_pool2d", x, "b", even_empty=True)
    ceil_mode = flag("max_pool2d", "ceil_mode", ceil_mode)
    return_indices = flag("max_pool2d", "return_indices", return_indices)
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
    inside = inside_r[:, None, :, None] & inside_c[None, :, None, :]     # (oh, ow, kh, kw)
    if not inside.reshape(oh, ow, -1).any(-1).all():
        raise RuntimeError(f"max_pool2d: a window lies entirely in the padding (input "
                           f"{tuple(x.shape)}, kernel {k}, stride {s}, padding {p}, dilation "
                           f"{d}); PyTorch reads outside the input there. Use less padding")
    valid = xp.asarray(inside.reshape(oh, ow, -1))
    windows = xp.where(valid, windows.reshape(n, c, oh, ow, k[0] * k[1]), -xp.inf)
    best = _winners(xp, windows, valid)
    r = rows_d[xp.arange(oh)[:, None], best // k[1]]        # the winner's row and column
    col = cols_d[xp.arange(ow)[None, :], best % k[1]]
    plane = r * w + col                                        # position in the H*W plane
    flat = (xp.arange(n * c).reshape(n, c, 1, 1) * (h * w) + plane).astype(xp.int64)
    y = Gather(flat, chosen_from_x=True, image_layout=not single)(x)
    if single:
        y, plane = as_result(y.squeeze(0)), plane[0]   # (PyTorch: not a view)
    if not return_indices:
        return y
    indices = plane.astype(xp.int64)
    return y, Tensor(indices if single else laid_out_like(indices, x.array))   # (as y)


def _winners(xp: Any, windows: Any, valid: Any) -> Any:
    """The position each window's maximum is taken from, as PyTorch's kernel finds it: it
    walks the window in reading order from the first pixel inside, and moves on when a value
    is larger or NaN. So the first of equal maxima wins, the last NaN wins over numbers, and
    a window of -inf keeps its first pixel inside. windows: (..., K) with -inf outside."""
    nan = xp.isnan(windows)
    numbers = xp.where(nan, -xp.inf, windows)
    best = numbers.argmax(-1)                                   # the first maximum
    top = xp.take_along_axis(numbers, best[..., None], -1)[..., 0]
    first_inside = xp.broadcast_to(valid.argmax(-1), best.shape)
    best = xp.where(top == -xp.inf, first_inside, best)
    last_nan = windows.shape[-1] - 1 - nan[..., ::-1].argmax(-1)
    return xp.where(nan.any(-1), last_nan, best)


# =======================================================================================
# Average pooling, fixed and adaptive: each window's sum over its size
# =======================================================================================
# Window (i, j) covers rows [top_i, bottom_i) and columns [left_j, right_j) of the input.
# Its sum is taken in reading order from 0, only over the pixels inside (no zero is ever
# multiplied in: an inf pixel gives an inf mean, not 0 * inf = NaN), and divided by the
# window's size, as PyTorch's CPU kernels compute it. Vectorised over the windows, the sum is
# one step per offset (a, b) inside a window: every window adds its pixel (top + a, left + b)
# where it has one. The gradient spreads gy / size back over each window (AvgPoolGrad), and
# that is linear in gy, so its own gradient is the pooling again: second derivatives.
class Windows:
    """The windows of one pooling: bounds per output row and column (host arrays), the
    divisors (one per window), and whether the divisor is applied as PyTorch's adaptive
    kernel does it, sum / kh / kw, rather than sum / (kh kw). ``origin_rows`` and
    ``origin_cols``: where each window would start before the padding is cut off (offsets
    count from there)."""
    def __init__(self, top, bottom, left, right, divisor, two_steps: bool,
                 origin_rows=None, origin_cols=None) -> None:
        self.top, self.bottom, self.left, self.right = top, bottom, left, right
        self.divisor, self.two_steps = divisor, two_steps
        self.origin_rows = top if origin_rows is None else origin_rows
        self.origin_cols = left if origin_cols is None else origin_cols
        self.tall = int((bottom - self.origin_rows).max(initial=0))
        self.wide = int((right - self.origin_cols).max(initial=0))

    def offsets(self, reverse: bool = False):
        """(rows, cols, inside) for each offset (a, b) from a window's origin, a and b
        ascending (or descending): the pixel every window reads there, and where it has one."""
        a_range, b_range = range(self.tall), range(self.wide)
        if reverse:
            a_range, b_range = a_range[::-1], b_range[::-1]
        for a in a_range:
            rows = self.origin_rows + a
            rows_inside = (rows >= self.top) & (rows < self.bottom)
            for b in b_range:
                cols = self.origin_cols + b
                inside = rows_inside[:, None] & ((cols >= self.left) & (cols < self.right))[None]
                yield (np.clip(rows, 0, self.bottom.max() - 1)[:, None],
                       np.clip(cols, 0, self.right.max() - 1)[None, :], inside)

    def in_reading_order_by_offset(self) -> bool:
        """Whether, seen from one pixel, descending offsets meet its windows in reading order
        (true when no two windows of a row or column start at the same place)."""
        return bool(np.all(np.diff(self.origin_rows) > 0) and
                    np.all(np.diff(self.origin_cols) > 0))

    def divide(self, total: Any) -> Any:
        """total / the window's size, in total's dtype."""
        if self.two_steps:
            kh = (self.bottom - self.top)[:, None].astype(total.dtype)
            kw = (self.right - self.left)[None, :].astype(total.dtype)
            return total / kh / kw
        return total / self.divisor.astype(total.dtype)


class AvgPool(Function):
    """y (N, C, OH, OW): each window's sum over the input x (N, C, H, W), over its size.
    ``nonempty_from``: adaptive pooling's backward refuses a gradient with an empty dim
    from this one on, as PyTorch's does (1 for a batch; 2 for a single (C, H, W) image,
    whose C PyTorch's check takes for the batch)."""
    backward_reads, backward_reads_give_zeros = (0,), True   # PyTorch's backward reads x
    result_layout = "own"   # channels-last for a batch that suggests it, else row-major

    def __init__(self, windows: Windows, nonempty_from: int | None = None,
                 image_layout: bool = True) -> None:
        # image_layout False: one (C, H, W) image given a batch of one, row-major as PyTorch
        self.windows, self.nonempty_from, self.image_layout = windows, nonempty_from, \
            image_layout
    def saves(self): return (0,)   # (for its shape: PyTorch keeps x, so x's writes are caught)

    def forward(self, x):
        xp = backend.get_array_module(x)
        work = F.in_opmath(x)
        total = xp.zeros(x.shape[:2] + (len(self.windows.top), len(self.windows.left)),
                         dtype=work.dtype)
        for rows, cols, inside in self.windows.offsets():
            total += xp.where(xp.asarray(inside), work[:, :, rows, cols], 0)
        y = self.windows.divide(total).astype(x.dtype, copy=False)
        return laid_out_like(y, x) if self.image_layout else y

    def backward(self, gy):
        if self.nonempty_from is not None and 0 in gy.shape[self.nonempty_from:]:
            raise RuntimeError(f"adaptive_avg_pool2d_backward(): Expected grad_output to have "
                               f"non-zero size for non-batch dimensions, but grad_output has "
                               f"sizes {list(gy.shape[self.nonempty_from - 1:])}")
        return AvgPoolGrad(self.windows, self.inputs[0].shape)(gy)


class AvgPoolGrad(Function):
    """gx (N, C, H, W): gy / size spread over each window, the windows in reading order (as
    PyTorch's kernel adds them); overlapping windows add up."""
    def __init__(self, windows: Windows, shape: tuple) -> None:
        self.windows, self.shape = windows, tuple(shape)
    def saves(self): return ()

    def forward(self, gy):
        xp = backend.get_array_module(gy)
        delta = self.windows.divide(F.in_opmath(gy)).astype(gy.dtype, copy=False)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        n, c = self.shape[:2]
        win = self.windows
        if not win.in_reading_order_by_offset():   # (adaptive pooling to a larger size)
            for i, (top, bottom) in enumerate(zip(win.top, win.bottom)):
                for j, (left, right) in enumerate(zip(win.left, win.right)):
                    gx[:, :, top:bottom, left:right] += delta[:, :, i:i + 1, j:j + 1]
            return gx
        lead = (xp.arange(n)[:, None, None, None], xp.arange(c)[None, :, None, None])
        # descending offsets: for one pixel, the windows that cover it in reading order
        for rows, cols, inside in win.offsets(reverse=True):
            rows_b, cols_b = np.broadcast_arrays(rows, cols)
            backend.scatter_add(gx, lead + (xp.asarray(rows_b), xp.asarray(cols_b)),
                                xp.where(xp.asarray(inside), delta, 0))
        return gx

    def backward(self, ggx): return AvgPool(self.windows)(ggx)


def avg_pool2d(input: Tensor, kernel_size: int | Pair,  # noqa: A002 - PyTorch's name
               stride: int | Pair | None = None, padding: int | Pair = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """The mean of each window (zero padding counted in the divisor unless
    ``count_include_pad=False``; ``divisor_override`` replaces the divisor)."""
    x, single = _images("avg_pool2d", input)
    _refuse_kinds("avg_pool2d", x, "biu")
    ceil_mode = flag("avg_pool2d", "ceil_mode", ceil_mode)
    count_include_pad = flag("avg_pool2d", "count_include_pad", count_include_pad)
    k = _pair(kernel_size, "kernel_size", "avg_pool2d")
    no_stride = stride is None or stride == () or stride == []     # PyTorch: the kernel
    s = k if no_stride else _pair(stride, "stride", "avg_pool2d")
    p = _pair(padding, "padding", "avg_pool2d")
    if min(k) < 1 or min(s) < 1 or min(p) < 0 or p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise RuntimeError(f"avg_pool2d: pad should be at most half of kernel size and kernel "
                           f"and stride positive, got kernel_size={k}, stride={s}, pad={p}")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("avg_pool2d: divisor must be not zero")
    h, w = x.shape[2:]
    oh, ow = _out_size(h, k[0], s[0], p[0], 1, ceil_mode), _out_size(w, k[1], s[1], p[1], 1,
                                                                      ceil_mode)
    if oh < 1 or ow < 1:
        raise RuntimeError(f"avg_pool2d: input {x.shape} is too small for kernel {k}")
    # window bounds with the padding, cut at the padded edge (ceil_mode's last window) ...
    top = np.arange(oh) * s[0] - p[0]
    left = np.arange(ow) * s[1] - p[1]
    bottom, right = np.minimum(top + k[0], h + p[0]), np.minimum(left + k[1], w + p[1])
    padded_size = (bottom - top)[:, None] * (right - left)[None, :]
    # ... then to the image: only its pixels are summed
    origins = top, left
    top, left = np.maximum(top, 0), np.maximum(left, 0)
    bottom, right = np.minimum(bottom, h), np.minimum(right, w)
    if divisor_override is not None:
        divisor = np.full((oh, ow), divisor_override)
    elif count_include_pad:
        divisor = padded_size
    else:
        divisor = (bottom - top)[:, None] * (right - left)[None, :]
    y = AvgPool(Windows(top, bottom, left, right, divisor, False, *origins),
                image_layout=not single)(x)
    return as_result(y.squeeze(0)) if single else y


def adaptive_avg_pool2d(input: Tensor,  # noqa: A002 - PyTorch's name
                        output_size: int | Sequence[int | None]) -> Tensor:
    """Average into a fixed output_size whatever the input size (None keeps that side).
    PyTorch's bins: window i covers [floor(i H / OH), ceil((i + 1) H / OH)). An output of
    1 x 1 is the mean over the pixels, as PyTorch computes it then: for any input of 3 dims
    or more, an empty one included (its mean is NaN). Other sizes need a 3-D or 4-D input
    with pixels; an output side may be 0."""
    if not isinstance(input, Tensor):
        raise TypeError(f"adaptive_avg_pool2d: the input must be a Tensor, not "
                        f"{type(input).__name__}")
    sides = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
    if input.dtype.kind in "biu" and 0 not in sides:
        # (PyTorch's kernels are for floats; an empty output is made without one)
        name = backend.TORCH_DTYPE_NAMES.get(input.dtype.name, input.dtype.name)
        raise NotImplementedError(f'"adaptive_avg_pool2d" not implemented for \'{name}\' (an '
                                  f'input of shape {input.shape}); convert it with .float()')
    if not all(s is None or (isinstance(s, (int, np.integer)) and not isinstance(s, bool))
               for s in sides):
        raise TypeError(f"adaptive_avg_pool2d(): argument 'output_size' must be tuple of "
                        f"ints, not {output_size!r}")
    if not isinstance(output_size, (int, np.integer)) and input.ndim < 3:
        raise ValueError(f"adaptive_avg_pool2d: Input dimension should be at least 3, got "
                         f"shape {input.shape}")
    if input.ndim < 2:
        raise IndexError(f"adaptive_avg_pool2d: Dimension out of range (expected to be in "
                         f"range of [-1, 0], but got -2): input of shape {input.shape}")
    h, w = input.shape[-2:]
    size = (output_size, output_size) if isinstance(output_size, (int, np.integer)) \
        else tuple(output_size)
    if len(size) != 2:
        raise RuntimeError(f"adaptive_avg_pool2d: output_size must be an int or a pair, got "
                           f"{output_size!r}")
    oh, ow = (h if size[0] is None else int(size[0])), (w if size[1] is None else int(size[1]))
    if oh < 0 or ow < 0:
        raise RuntimeError(f"adaptive_avg_pool2d: elements of output_size must be greater than "
                           f"or equal to 0 but received {(oh, ow)}")
    if (oh, ow) == (1, 1):   # PyTorch's shortcut, before any other check
        return input.mean(dim=(-1, -2), keepdim=True)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got "
                           f"{list(input.shape)}")
    if h == 0 or w == 0:
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected input to have non-zero size for "
                           f"non-batch dimensions, but input has sizes {list(input.shape)} with "
                           f"dimension {input.ndim - (2 if h == 0 else 1)} being empty")
    x, single = _images("adaptive_avg_pool2d", input, windows=False)
    top, left = (np.arange(oh) * h) // max(oh, 1), (np.arange(ow) * w) // max(ow, 1)
    bottom = -(-((np.arange(oh) + 1) * h) // max(oh, 1))
    right = -(-((np.arange(ow) + 1) * w) // max(ow, 1))
    y = AvgPool(Windows(top, bottom, left, right, None, two_steps=True),
                nonempty_from=2 if single else 1, image_layout=not single)(x)
    return as_result(y.squeeze(0)) if single else y


__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d"]
