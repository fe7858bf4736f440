"""One image at a time: the convolution kernels for large images (tinygan/fast/convolution.py
chooses them).

Read tinygan/engine/convolution.py first: the matrix products here are the same ones. What changes
is how much memory they touch at once. For the whole batch, im2col's column matrix has
C*kh*kw rows and Ho*Wo*N columns: a 3x3 convolution with 128 channels of 32x32 images at
batch 64 builds 1,152 x 65,536 floats, 302 MB, and its input gradient as many again. Such
arrays are fresh memory on every step (the operating system hands out, and on some machines
defragments, hundreds of MB of pages), and they leave the cache before the product reads
them, so copying into them costs more than multiplying them (benchmarks/RESULTS_dcgan.md).

Working image by image, the columns of one image (1,152 x 1,024 floats, 4.7 MB) are built in
a buffer kept between calls and multiplied while they are still in the cache, and the result
is written straight into the output. With one image there is no batch axis to move, so the
(C, H, W, N) layout the batched form copies into and back is simply the image's own (C, H, W)
layout: no layout copies either. The products are the same three per layer:

    forward        y[n]   = W_mat @ cols(x[n])                     (O, C*kh*kw) @ (C*kh*kw, Ho*Wo)
    input grad     cols   = W_mat^T @ gy[n], then col2im           (C*kh*kw, O) @ (O, Ho*Wo)
    weight grad    gW    += gy[n] @ cols(x[n])^T, summed over n    (O, Ho*Wo) @ (Ho*Wo, C*kh*kw)

(with stride 1 the input gradient, a transposed convolution, runs as an ordinary convolution
with the kernel flipped: see ``conv_transpose2d_by_image``).

Small images keep the batched form: their columns are small, and a product over one small
image is too thin for BLAS to run at full speed. ``by_image`` decides, and the CuPy backend
always takes the batched form (a GPU wants one big product, not N small ones).
"""
from __future__ import annotations

import threading
from typing import Any

import numpy as np

from tinygan.devices import backend

Pair = tuple[int, int]

#: Above this many bytes of columns for the whole batch, the NumPy backend works image by
#: image (the threshold is measured: benchmarks/RESULTS_dcgan.md, "one image at a time").
COLUMN_BUDGET_BYTES = 32 * 2 ** 20


def by_image(x: Any, column_rows: int, column_pixels: int) -> bool:
    """Whether to work image by image on x (N, ...): a NumPy array whose batched columns,
    column_rows x (column_pixels * N), would exceed ``COLUMN_BUDGET_BYTES``."""
    if type(x) is not np.ndarray:
        return False
    return column_rows * column_pixels * x.shape[0] * x.itemsize > COLUMN_BUDGET_BYTES


class Workspace(threading.local):
    """Scratch arrays kept between calls, one per (role, shape, dtype): the per-image
    columns and canvases are rebuilt for every image of every step, so reusing them saves
    the allocation and the page faults. Per thread, so two threads never share one."""

    MAX_BUFFERS = 64  # a run uses a handful of shapes; forget them all if it keeps changing

    def __init__(self) -> None:
        self.buffers: dict[tuple, np.ndarray] = {}

    def get(self, role: str, shape: tuple, dtype: Any) -> np.ndarray:
        key = (role, tuple(shape), np.dtype(dtype))
        buffer = self.buffers.get(key)
        if buffer is None:
            if len(self.buffers) >= self.MAX_BUFFERS:
                self.buffers.clear()
            buffer = self.buffers[key] = np.zeros(shape, dtype=dtype)
        return buffer


WORKSPACE = Workspace()


def patch_view(padded: Any, kernel: Pair, stride: Pair, out_size: Pair,
               dilation: Pair = (1, 1)) -> Any:
    """The patches of a padded (C, Hp, Wp, ...) array as a (C, kh, kw, Ho, Wo, ...) strided
    view (no copy): element (c, a, b, i, j, ...) is padded[c, i*sh + a*dh, j*sw + b*dw, ...]
    (dilation d: the taps of a patch lie d pixels apart). Any backend's array (the batched
    form uses it on CuPy's too)."""
    s_c, s_h, s_w, *s_rest = padded.strides
    return backend.get_array_module(padded).lib.stride_tricks.as_strided(
        padded, shape=(padded.shape[0], *kernel, *out_size, *padded.shape[3:]),
        strides=(s_c, s_h * dilation[0], s_w * dilation[1], s_h * stride[0], s_w * stride[1],
                 *s_rest))


def image_columns(image: np.ndarray, kernel: Pair, stride: Pair, padding: Pair,
                  out_size: Pair, dilation: Pair = (1, 1)) -> np.ndarray:
    """im2col of one (C, H, W) image: the (C*kh*kw, Ho*Wo) columns, in a kept buffer that
    the next call overwrites (use it before calling again)."""
    (c, h, w), (ph, pw) = image.shape, padding
    padded = image
    if ph or pw:  # the kept buffer's border stays zero: only its interior is ever written
        padded = WORKSPACE.get(f"padded {ph},{pw}", (c, h + 2 * ph, w + 2 * pw), image.dtype)
        padded[:, ph:ph + h, pw:pw + w] = image
    cols = WORKSPACE.get("columns", (c * kernel[0] * kernel[1], out_size[0] * out_size[1]),
                         image.dtype)
    cols.reshape(c, *kernel, *out_size)[...] = patch_view(padded, kernel, stride, out_size,
                                                            dilation)
    return cols


def add_patches(cols: Any, image: Any, stride: Pair, dilation: Pair = (1, 1)) -> Any:
    """col2im's sum: add cols (O, kh, kw, H, W, ...), one kh x kw patch per input pixel
    (i, j), onto image (O, Hp, Wp, ...): tap (a, b) of patch (i, j) lands on (i*sh + a*dh,
    j*sw + b*dw); overlapping patches sum. The loop runs over the kh*kw kernel offsets: each
    step adds one strided slab. (Only the taps are added: with dilation, the pixels between
    them get nothing, not 0 * something, which is what keeps a NaN where PyTorch keeps it.)"""
    _, kh, kw, h, w = cols.shape[:5]
    (sh, sw), (dh, dw) = stride, dilation
    for a in range(kh):
        for b in range(kw):
            image[:, a * dh:a * dh + sh * (h - 1) + 1:sh,
                  b * dw:b * dw + sw * (w - 1) + 1:sw] += cols[:, a, b]
    return image


def conv2d_by_image(x: np.ndarray, weight: np.ndarray, stride: Pair, padding: Pair,
                    out_size: Pair, dilation: Pair = (1, 1)) -> np.ndarray:
    """conv2d without bias: x (N, C, H, W), weight (O, C, kh, kw) -> (N, O, Ho, Wo)."""
    n, out_channels = x.shape[0], weight.shape[0]
    filters = weight.reshape(out_channels, -1)
    y = np.empty((n, out_channels, *out_size), dtype=x.dtype)
    for i in range(n):
        cols = image_columns(x[i], weight.shape[2:], stride, padding, out_size, dilation)
        np.matmul(filters, cols, out=y[i].reshape(out_channels, -1))
    return y


def conv_transpose2d_by_image(x: np.ndarray, weight: np.ndarray, stride: Pair,
                              padding: Pair, out_size: Pair,
                              dilation: Pair = (1, 1)) -> np.ndarray:
    """conv_transpose2d without bias: x (N, C, H, W), weight (C, O, kh, kw) -> (N, O, Ho, Wo):
    every pixel paints its patch (W_mat^T @ x[n]), the patches are added up (col2im) on a
    kept canvas of the padded output size, and the crop is the output image."""
    (n, c, h, w), (_, out_channels, kh, kw), (ph, pw) = x.shape, weight.shape, padding
    (dh, dw) = dilation
    reach = (dh * (kh - 1), dw * (kw - 1))      # how far a patch's last tap lies from its first
    if stride == (1, 1) and ph <= reach[0] and pw <= reach[1] and \
            tuple(out_size) == (h + reach[0] - 2 * ph, w + reach[1] - 2 * pw):
        # With stride 1 (and no output_padding) the transposed convolution is an ordinary
        # one with the kernel flipped and in/out swapped: y[o, i, j] = sum_(c,a,b) W[c, o,
        # a, b] x[c, i+p-a*d, j+p-b*d] = conv2d(x, W', padding d(k-1)-p), W'[o, c, a, b] =
        # W[c, o, kh-1-a, kw-1-b]. Its product has the other layer's shape (K = C*kh*kw, not
        # C) and writes the image directly: no patches to add up (a 64 -> 1 layer's input
        # gradient: 6x faster).
        flipped = weight[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
        return conv2d_by_image(x, np.ascontiguousarray(flipped), stride,
                               (reach[0] - ph, reach[1] - pw), out_size, dilation)
    filters_t = weight.reshape(c, -1).T                       # (O*kh*kw, C)
    cols = WORKSPACE.get("patches", (out_channels * kh * kw, h * w), x.dtype)
    canvas = WORKSPACE.get("canvas", (out_channels, out_size[0] + 2 * ph,
                                      out_size[1] + 2 * pw), x.dtype)
    y = np.empty((n, out_channels, *out_size), dtype=x.dtype)
    for i in range(n):
        np.matmul(filters_t, x[i].reshape(c, h * w), out=cols)
        canvas.fill(0)
        add_patches(cols.reshape(out_channels, kh, kw, h, w), canvas, stride, dilation)
        y[i] = canvas[:, ph:ph + out_size[0], pw:pw + out_size[1]]
    return y


def conv2d_weight_by_image(x: np.ndarray, gy: np.ndarray, kernel: Pair, stride: Pair,
                           padding: Pair, dilation: Pair = (1, 1)) -> np.ndarray:
    """conv2d's weight gradient: x (N, C, H, W), gy (N, O, Ho, Wo) -> (O, C, kh, kw), the
    sum over images of gy[n] @ cols(x[n])^T."""
    (n, c), out_channels = x.shape[:2], gy.shape[1]
    gw = np.zeros((out_channels, c * kernel[0] * kernel[1]), dtype=x.dtype)
    part = WORKSPACE.get("weight part", gw.shape, x.dtype)
    for i in range(n):
        cols = image_columns(x[i], kernel, stride, padding, gy.shape[2:], dilation)
        np.matmul(gy[i].reshape(out_channels, -1), cols.T, out=part)
        gw += part
    return gw.reshape(out_channels, c, *kernel)
