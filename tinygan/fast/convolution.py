"""The convolution kernels: the array work behind tinygan/engine/convolution.py's Functions.

Read tinygan/engine/convolution.py first: it explains why a convolution is one matrix product
(im2col) and why its gradient is the adjoint. Its Functions hand the arrays to the calls
below, and each call picks the kernel, in this one place:

- batched columns (this file): im2col builds the columns of the whole batch at once and
  one product does the layer; fast for small images, and what a GPU wants;
- one image at a time (conv_by_image.py): for layers whose whole-batch columns would be
  large (more than ``COLUMN_BUDGET_BYTES``), the columns of one image are built in a kept
  buffer and multiplied while still in the cache.

``columns`` and ``matrix`` build the operands a product reads, so that a Function can build
them once and give them to both of its gradient's products; they return None where the layer
works image by image (there are no whole-batch operands to share then). Nothing here imports
the engine, so the engine imports this file without a cycle.

Memory layout. Inputs and outputs are ordinary contiguous NCHW arrays, but inside, the
images are copied to channel-first, batch-LAST order (C, H, W, N) (cuda-convnet's layout):
then every strided slab that im2col copies and col2im adds has an innermost run of N (or
Wo*N) contiguous numbers instead of one, which makes both several times faster on a CPU.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.fast.conv_by_image import (add_patches, by_image, conv2d_by_image,
                                        conv2d_weight_by_image, conv_transpose2d_by_image,
                                        patch_view)

xp_of = backend.get_array_module
Pair = tuple[int, int]


# =======================================================================================
# The kernels: one call per product, each choosing batched columns or image by image
# =======================================================================================
def conv2d(x: Any, weight: Any, stride: Pair, padding: Pair, out_size: Pair,
           x_columns: Any = None, dilation: Pair = (1, 1)) -> Any:
    """y (N, O, Ho, Wo) = conv2d(x (N, C, H, W), weight (O, C, kh, kw)), no bias.
    ``x_columns``: im2col(x), when already built (see ``columns``)."""
    if x_columns is None:
        x_columns = columns(x, weight.shape[2:], stride, padding, out_size, dilation)
        if x_columns is None:
            return conv2d_by_image(x, weight, stride, padding, out_size, dilation)
    out_channels = weight.shape[0]
    y = weight.reshape(out_channels, -1) @ x_columns    # (O, C*kh*kw) @ (C*kh*kw, Ho*Wo*N)
    return to_nchw(y.reshape(out_channels, *out_size, x.shape[0]))


def conv_transpose2d(x: Any, weight: Any, stride: Pair, padding: Pair, out_size: Pair,
                     x_matrix: Any = None, dilation: Pair = (1, 1)) -> Any:
    """y (N, O, Ho, Wo) = conv_transpose2d(x (N, C, H, W), weight (C, O, kh, kw)), no bias:
    every input pixel paints a weighted kh x kw patch, the patches add up (col2im), and the
    padding is cropped away. ``x_matrix``: matrix(x), when already built."""
    (in_channels, out_channels, kh, kw), (n, _, h, w) = weight.shape, x.shape
    if x_matrix is None:
        x_matrix = matrix(x, out_channels * kh * kw)
        if x_matrix is None:
            return conv_transpose2d_by_image(x, weight, stride, padding, out_size, dilation)
    (ph, pw), (out_h, out_w) = padding, out_size
    cols = weight.reshape(in_channels, -1).T @ x_matrix     # (O*kh*kw, C) @ (C, H*W*N)
    cols = cols.reshape(out_channels, kh, kw, h, w, n)     # one patch per input pixel
    image = col2im(cols, (out_h + 2 * ph, out_w + 2 * pw), stride, dilation)
    return to_nchw(image[:, ph:ph + out_h, pw:pw + out_w])  # crop the padding away


def conv2d_weight(x: Any, gy: Any, kernel: Pair, stride: Pair, padding: Pair,
                  x_columns: Any = None, gy_matrix: Any = None,
                  dilation: Pair = (1, 1)) -> Any:
    """gW (O, C, kh, kw) = gy_matrix @ im2col(x)^T, conv2d's weight gradient, from x (N, C,
    H, W) and gy (N, O, Ho, Wo). ``x_columns``, ``gy_matrix``: those operands, when built."""
    if x_columns is None:
        x_columns = columns(x, kernel, stride, padding, gy.shape[2:], dilation)
        if x_columns is None:
            return conv2d_weight_by_image(x, gy, kernel, stride, padding, dilation)
    if gy_matrix is None:
        gy_matrix = as_matrix(gy)
    gw = gy_matrix @ x_columns.T                    # (O, Ho*Wo*N) @ (Ho*Wo*N, C*kh*kw)
    return gw.reshape(gy.shape[1], x.shape[1], *kernel)


# =======================================================================================
# The operands, built once where two products read them
# =======================================================================================
def columns(x: Any, kernel: Pair, stride: Pair, padding: Pair, out_size: Pair,
            dilation: Pair = (1, 1)) -> Any:
    """im2col(x) for the batched kernels, or None where products over x's patches work
    image by image."""
    if by_image(x, x.shape[1] * kernel[0] * kernel[1], out_size[0] * out_size[1]):
        return None
    return im2col(x, kernel, stride, padding, out_size, dilation)


def matrix(x: Any, other_rows: int) -> Any:
    """as_matrix(x) for the batched kernels, or None where a product of a matrix with
    ``other_rows`` rows and x's pixels works image by image."""
    if by_image(x, other_rows, x.shape[2] * x.shape[3]):
        return None
    return as_matrix(x)


# =======================================================================================
# The array-level building blocks: layout, im2col (a strided view) and col2im (its adjoint)
# =======================================================================================
def to_chwn(x: Any) -> Any:
    """An (N, C, H, W) array copied into a contiguous (C, H, W, N) one."""
    return _two_step_transpose(x, (1, 0, 2, 3), (0, 2, 3, 1))


def to_nchw(y: Any) -> Any:
    """A (C, H, W, N) array (or view) copied back into an ordinary contiguous (N, C, H, W)."""
    return _two_step_transpose(y, (0, 3, 1, 2), (1, 0, 2, 3))


def _two_step_transpose(x: Any, first: tuple, second: tuple) -> Any:
    """Between NCHW and CHWN in two copies: N <-> C (moving whole H*W images), then the
    batch axis to or from the end (one 2-D transpose per channel). NumPy copies a 4-D
    transpose in one go with a cache-hostile inner stride; the two steps are faster
    (measured in benchmarks/RESULTS_dcgan.md, "Measured timings moved out of the code")."""
    xp = xp_of(x)
    return xp.ascontiguousarray(xp.ascontiguousarray(x.transpose(first)).transpose(second))


def pad_chwn(x: Any, padding: Pair) -> Any:
    """x (N, C, H, W) -> a contiguous (C, H + 2ph, W + 2pw, N) array, zero-padded."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return to_chwn(x)
    n, c, h, w = x.shape
    xp = xp_of(x)
    padded = xp.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=x.dtype)
    by_channel = xp.ascontiguousarray(x.transpose(1, 0, 2, 3))  # step 1 of to_chwn ...
    padded[:, ph:ph + h, pw:pw + w, :] = by_channel.transpose(0, 2, 3, 1)  # ... 2, in place
    return padded


def im2col(x: Any, kernel: Pair, stride: Pair, padding: Pair, out_size: Pair,
           dilation: Pair = (1, 1)) -> Any:
    """x (N, C, H, W) -> cols (C*kh*kw, Ho*Wo*N), cols[(c,a,b), (i,j,n)] = x_pad[n, c,
    i*sh + a*dh, j*sw + b*dw]. The 6-D strided view costs nothing; the reshape is the one
    copy. (Dilation only changes the view's strides: the pixels between the taps are never
    read, so no zero is ever multiplied in their place.)"""
    padded = pad_chwn(x, padding)
    patches = patch_view(padded, kernel, stride, out_size, dilation)  # (C,kh,kw,Ho,Wo,N)
    return patches.reshape(padded.shape[0] * kernel[0] * kernel[1], -1)


def col2im(cols: Any, image_size: Pair, stride: Pair, dilation: Pair = (1, 1)) -> Any:
    """The adjoint of im2col: add every patch back onto the image where it came from.

    cols: (O, kh, kw, H, W, N), one patch per input pixel (i, j, n), laid at (i*sh, j*sw),
    its taps dilation apart.
    Returns the (O, Hp, Wp, N) image; overlapping patches sum (``add_patches``).
    """
    o, n = cols.shape[0], cols.shape[5]
    image = xp_of(cols).zeros((o, *image_size, n), dtype=cols.dtype)
    return add_patches(cols, image, stride, dilation)


def as_matrix(x: Any) -> Any:
    """(N, C, H, W) -> (C, H*W*N), columns in the same (i, j, n) order as im2col's."""
    return to_chwn(x).reshape(x.shape[1], -1)
