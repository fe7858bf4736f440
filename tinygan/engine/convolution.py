"""Convolution and transposed convolution as matrix products (im2col and its adjoint).

Shapes (NCHW, PyTorch's conventions)
-------------------------------------
conv2d:            x (N, C, H, W),     weight (O, C, kh, kw)  ->  y (N, O, Ho, Wo)
                   Ho = floor((H + 2 ph - kh) / sh) + 1        (Wo likewise)
conv_transpose2d:  x (N, C, H, W),     weight (C, O, kh, kw)  ->  y (N, O, Ho, Wo)
                   Ho = (H - 1) sh - 2 ph + kh + output_padding_h

A convolution is one matrix product (im2col)
---------------------------------------------
Each output pixel y[n, o, i, j] is a dot product between the filter weight[o] (C*kh*kw
numbers) and the patch of the zero-padded input under it, whose top-left corner sits at
(i*sh, j*sw). Lay every patch out as a column and the columns side by side:

    cols[(c, a, b), (i, j, n)] = x_pad[n, c, i*sh + a, j*sw + b]      (C*kh*kw, Ho*Wo*N)

and the whole layer is a single matrix product with the flattened filters:

    y[o, (i, j, n)] = sum_(c, a, b) weight[o, (c, a, b)] * cols[(c, a, b), (i, j, n)]
                      (O, C*kh*kw) @ (C*kh*kw, Ho*Wo*N)  ->  (O, Ho*Wo*N)

``cols`` is never built pixel by pixel: with ``as_strided`` the padded input is *viewed* as
the 6-D array (C, kh, kw, Ho, Wo, N) - a step of one along axis i moves sh rows in memory -
and one reshape copies that view into the column matrix before BLAS multiplies it.

Memory layout. Inputs and outputs are ordinary contiguous NCHW arrays, but inside, the
images are copied to channel-first, batch-LAST order (C, H, W, N) (cuda-convnet's layout):
then every strided slab that im2col copies and col2im adds has an innermost run of N (or
Wo*N) contiguous numbers instead of one, which makes both several times faster on a CPU.

The transposed convolution is the adjoint
-----------------------------------------
For a fixed weight, conv2d is a linear map A: R^(N*C*H*W) -> R^(N*O*Ho*Wo). Its adjoint
(transpose) A^T is the unique map with

    <A x, y> = <x, A^T y>      for every x and y,

and that is exactly the gradient rule: if L depends on x through A x, dL/dx = A^T (dL/dy).
Reading the sum above backwards gives A^T: multiply by the transposed filter matrix to get
columns, (C*kh*kw, O) @ (O, Ho*Wo*N), then *add* each column back onto the image patch it
came from (col2im; overlapping patches sum). ``conv_transpose2d(y, weight)`` is precisely
this A^T, with weight read as (in, out, kh, kw) of the transposed layer: it maps a small
image to a larger one, which is why generators use it to upsample. Hence the three facts
this file is built on, each one the adjoint of another:

    d conv2d / dx            = conv_transpose2d(gy, weight)          (same stride, padding)
    d conv_transpose2d / dx  = conv2d(gy, weight)
    d conv2d / dweight       = conv2d_weight(x, gy): patches of x correlated with gy

All three are Functions whose backward calls the others, so second derivatives (the WGAN-GP
penalty through a convolutional critic) come for free.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.fast.conv_by_image import (add_patches, by_image, conv2d_by_image,
                                   conv2d_weight_by_image, conv_transpose2d_by_image,
                                   patch_view)
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module
Pair = tuple[int, int]


# =======================================================================================
# The plain form: read this first
# =======================================================================================
# Both layers written with ops the engine already has: indexing gathers the patches
# (im2col), one matmul applies the filters; the transposed layer multiplies first and then
# scatter-adds the patches back (col2im). Every gradient, second derivatives included,
# comes from those ops. The FUSED Functions further down compute the same numbers with a
# faster memory layout (and are the default; tests/test_conv.py checks the two agree).
def patch_index(size: Pair, kernel: Pair, stride: Pair, out_size: Pair, xp: Any) -> tuple:
    """Index arrays that pick, from a padded (N, C, Hp, Wp) image, the (N, C, Ho, kh, Wo, kw)
    array of patches: patch (i, j) starts at row i*sh and column j*sw."""
    rows = (xp.arange(out_size[0]) * stride[0])[:, None] + xp.arange(kernel[0])[None, :]
    cols = (xp.arange(out_size[1]) * stride[1])[:, None] + xp.arange(kernel[1])[None, :]
    return (slice(None), slice(None), rows[:, :, None, None], cols[None, None, :, :])


def conv2d_plain(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                 stride: Pair = (1, 1), padding: Pair = (0, 0)) -> Tensor:
    """x (N, C, H, W), weight (O, C, kh, kw) -> (N, O, Ho, Wo): pad, gather, multiply."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    (ph, pw), xp = padding, xp_of(x.array)
    ho, wo = conv_output_size((h, w), (kh, kw), stride, padding)
    zeros = Tensor(xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype))
    padded = F.index_put(zeros, (slice(None), slice(None), slice(ph, ph + h),
                                 slice(pw, pw + w)), x)
    patches = padded[patch_index((h, w), (kh, kw), stride, (ho, wo), xp)]  # N,C,Ho,kh,Wo,kw
    rows = patches.permute(0, 2, 4, 1, 3, 5).reshape(n * ho * wo, c * kh * kw)
    y = rows @ weight.reshape(o, c * kh * kw).T                            # (N*Ho*Wo, O)
    y = y.reshape(n, ho, wo, o).permute(0, 3, 1, 2)
    return y if bias is None else y + bias.reshape(1, o, 1, 1)


def conv_transpose2d_plain(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                           stride: Pair = (1, 1), padding: Pair = (0, 0),
                           output_padding: Pair = (0, 0)) -> Tensor:
    """x (N, C, H, W), weight (C, O, kh, kw) -> (N, O, Ho, Wo): multiply, scatter-add, crop
    (conv2d's adjoint: every input pixel paints a weighted kh x kw patch)."""
    n, c, h, w = x.shape
    _, o, kh, kw = weight.shape
    (ph, pw), xp = padding, xp_of(x.array)
    full = ((h - 1) * stride[0] + kh + output_padding[0],
            (w - 1) * stride[1] + kw + output_padding[1])
    pixels = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
    painted = (pixels @ weight.reshape(c, o * kh * kw)).reshape(n, h, w, o, kh, kw)
    painted = painted.permute(0, 3, 1, 4, 2, 5)                          # N,O,H,kh,W,kw
    index = patch_index(full, (kh, kw), stride, (h, w), xp)
    image = F.GetItemGrad(index, (n, o) + full)(painted)                 # add patches up
    y = image[:, :, ph:full[0] - ph, pw:full[1] - pw]
    return y if bias is None else y + bias.reshape(1, o, 1, 1)


def pair(value: int | tuple[int, int] | list[int], name: str = "value") -> Pair:
    """3 -> (3, 3); (3, 2) -> (3, 2). Kernel sizes, strides and paddings accept either."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return int(value[0]), int(value[1])
    return int(value), int(value)


def conv_output_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair) -> Pair:
    """floor((H + 2p - k) / s) + 1 for each spatial dimension."""
    return tuple((n + 2 * p - k) // s + 1  # type: ignore[return-value]
                 for n, k, s, p in zip(size, kernel, stride, padding))


def conv_transpose_output_size(size: Pair, kernel: Pair, stride: Pair, padding: Pair,
                               output_padding: Pair) -> Pair:
    """(H - 1) s - 2p + k + output_padding for each spatial dimension."""
    return tuple((n - 1) * s - 2 * p + k + op  # type: ignore[return-value]
                 for n, k, s, p, op in zip(size, kernel, stride, padding, output_padding))


# =======================================================================================
# FUSED: the fast form. The array-level building blocks: layout, im2col (a strided view)
# and col2im (its adjoint)
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


def im2col(x: Any, kernel: Pair, stride: Pair, padding: Pair, out_size: Pair) -> Any:
    """x (N, C, H, W) -> cols (C*kh*kw, Ho*Wo*N), cols[(c,a,b), (i,j,n)] = x_pad[n, c,
    i*sh + a, j*sw + b]. The 6-D strided view costs nothing; the reshape is the one copy."""
    padded = pad_chwn(x, padding)
    patches = patch_view(padded, kernel, stride, out_size)       # (C, kh, kw, Ho, Wo, N)
    return patches.reshape(padded.shape[0] * kernel[0] * kernel[1], -1)


def col2im(cols: Any, image_size: Pair, stride: Pair) -> Any:
    """The adjoint of im2col: add every patch back onto the image where it came from.

    cols: (O, kh, kw, H, W, N), one patch per input pixel (i, j, n), laid at (i*sh, j*sw).
    Returns the (O, Hp, Wp, N) image; overlapping patches sum (``add_patches``).
    """
    o, n = cols.shape[0], cols.shape[5]
    return add_patches(cols, xp_of(cols).zeros((o, *image_size, n), dtype=cols.dtype), stride)


def as_matrix(x: Any) -> Any:
    """(N, C, H, W) -> (C, H*W*N), columns in the same (i, j, n) order as im2col's."""
    return to_chwn(x).reshape(x.shape[1], -1)


# =======================================================================================
# The Functions
# =======================================================================================
class Conv2d(Function):
    """y = conv2d(x, W) + b. Backward: dx = conv_transpose2d(gy, W), dW = conv2d_weight(x,
    gy), db = gy summed over batch and pixels."""

    def __init__(self, stride: Pair, padding: Pair) -> None:
        self.stride, self.padding = stride, padding

    def forward(self, x, weight, bias=None):
        out_channels, kernel = weight.shape[0], weight.shape[2:]
        out_h, out_w = conv_output_size(x.shape[2:], kernel, self.stride, self.padding)
        self.x_cols = None
        if by_image(x, x.shape[1] * kernel[0] * kernel[1], out_h * out_w):
            y = conv2d_by_image(x, weight, self.stride, self.padding, (out_h, out_w))
            return y if bias is None else _add_bias(y, bias)
        cols = im2col(x, kernel, self.stride, self.padding, (out_h, out_w))
        self.x_cols = cols  # kept for the weight gradient, which needs exactly these columns
        y = weight.reshape(out_channels, -1) @ cols      # (O, C*kh*kw) @ (C*kh*kw, Ho*Wo*N)
        y = y.reshape(out_channels, out_h, out_w, x.shape[0])
        if bias is not None:
            y += bias.reshape(-1, 1, 1, 1)
        return to_nchw(y)

    def backward(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        kernel, gx, gw = weight.shape[2:], None, None
        extra = _dropped_rows(x.shape, gy.shape, kernel, self.stride, self.padding)
        adjoint = ConvTranspose2d(self.stride, self.padding, extra)
        if x.requires_grad:  # like PyTorch's needs_input_grad: skip work nobody asked for
            gx = adjoint(gy, weight)
        if weight.requires_grad:  # reuse both matrices the two forwards already built
            gw = Conv2dWeight(kernel, self.stride, self.padding, x_cols=self.x_cols,
                              gy_matrix=getattr(adjoint, "x_matrix", None))(x, gy)
        return gx, gw, _bias_grad(self.inputs, gy)


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b, the adjoint of conv2d. Backward: dx = conv2d(gy, W),
    dW = conv2d_weight(gy, x) (the roles of input and output swap), db as for conv2d."""

    def __init__(self, stride: Pair, padding: Pair, output_padding: Pair) -> None:
        self.stride, self.padding, self.output_padding = stride, padding, output_padding

    def forward(self, x, weight, bias=None):
        (ph, pw), (in_channels, out_channels, kh, kw) = self.padding, weight.shape
        n, _, h, w = x.shape
        out_h, out_w = conv_transpose_output_size((h, w), (kh, kw), self.stride,
                                                  self.padding, self.output_padding)
        self.x_matrix = None
        if by_image(x, out_channels * kh * kw, h * w):
            y = conv_transpose2d_by_image(x, weight, self.stride, self.padding, (out_h, out_w))
            return y if bias is None else _add_bias(y, bias)
        self.x_matrix = as_matrix(x)  # kept: the weight gradient multiplies by it again
        cols = weight.reshape(in_channels, -1).T @ self.x_matrix  # (O*kh*kw, C) @ (C, H*W*N)
        cols = cols.reshape(out_channels, kh, kw, h, w, n)       # one patch per input pixel
        image = col2im(cols, (out_h + 2 * ph, out_w + 2 * pw), self.stride)
        y = image[:, ph:ph + out_h, pw:pw + out_w]               # crop the padding away
        if bias is not None:
            y = y + bias.reshape(-1, 1, 1, 1)
        return to_nchw(y)

    def backward(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        gx, gw = None, None
        adjoint = Conv2d(self.stride, self.padding)
        if x.requires_grad:
            gx = adjoint(gy, weight)
        if weight.requires_grad:  # reuse both matrices the two forwards already built
            gw = Conv2dWeight(weight.shape[2:], self.stride, self.padding,
                              x_cols=getattr(adjoint, "x_cols", None),
                              gy_matrix=self.x_matrix)(gy, x)
        return gx, gw, _bias_grad(self.inputs, gy)


class Conv2dWeight(Function):
    """gW = conv2d_weight(x, gy): gW[o, c, a, b] = sum_(n,i,j) gy[n, o, i, j] x_pad[n, c,
    i*sh + a, j*sw + b], the weight gradient of conv2d. It is linear in x and in gy:
    <ggW, gW> = <gy, conv2d(x, ggW)>, so its own gradients are conv ops with ggW as weight."""

    def __init__(self, kernel: Pair, stride: Pair, padding: Pair, x_cols: Any = None,
                 gy_matrix: Any = None) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding
        # im2col(x) and as_matrix(gy) when the caller's forward already built them
        self.x_cols, self.gy_matrix = x_cols, gy_matrix

    def forward(self, x, gy):
        if by_image(x, x.shape[1] * self.kernel[0] * self.kernel[1], gy.shape[2] * gy.shape[3]):
            return conv2d_weight_by_image(x, gy, self.kernel, self.stride, self.padding)
        cols = self.x_cols
        if cols is None:
            cols = im2col(x, self.kernel, self.stride, self.padding, gy.shape[2:])
        gy_matrix = as_matrix(gy) if self.gy_matrix is None else self.gy_matrix
        gw = gy_matrix @ cols.T                     # (O, Ho*Wo*N) @ (Ho*Wo*N, C*kh*kw)
        return gw.reshape(gy.shape[1], x.shape[1], *self.kernel)

    def backward(self, ggw):
        x, gy = self.inputs
        gx = ggy = None
        if x.requires_grad:
            extra = _dropped_rows(x.shape, gy.shape, self.kernel, self.stride, self.padding)
            gx = conv_transpose2d(gy, ggw, None, self.stride, self.padding, extra)
        if gy.requires_grad:
            ggy = conv2d(x, ggw, None, self.stride, self.padding)
        return gx, ggy


def _add_bias(y: Any, bias: Any) -> Any:
    """y (N, O, Ho, Wo) += bias (O,) at every pixel, in place (y is the op's own new array)."""
    y += bias.reshape(1, -1, 1, 1)
    return y


def _dropped_rows(x_shape: tuple, y_shape: tuple, kernel: Pair, stride: Pair,
                  padding: Pair) -> Pair:
    """The rows and columns of x that conv2d's floor division never reached: the adjoint,
    conv_transpose2d, gives them back (as zeros) through its output_padding."""
    reached = conv_transpose_output_size(y_shape[2:], kernel, stride, padding, (0, 0))
    return x_shape[2] - reached[0], x_shape[3] - reached[1]


def _bias_grad(inputs: tuple, gy: Tensor) -> Tensor | None:
    """A bias adds to every pixel of every image: its gradient sums gy over (N, H, W)."""
    if len(inputs) == 3 and inputs[2].requires_grad:
        return gy.sum(axis=(0, 2, 3))
    return None


# =======================================================================================
# The functional API (torch.nn.functional's names), with the shape checks
# =======================================================================================
def _check_input(who: str, x: Tensor, weight: Tensor, bias: Tensor | None,
                 weight_in_axis: int) -> None:
    F._same_dtype(who, *((x, weight) if bias is None else (x, weight, bias)))
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D weight, got shape {weight.shape}")
    if x.shape[1] != weight.shape[weight_in_axis]:
        raise ValueError(f"{who}: input of shape {x.shape} has {x.shape[1]} channels, but the "
                         f"weight of shape {weight.shape} expects "
                         f"{weight.shape[weight_in_axis]}")
    out_channels = weight.shape[1 - weight_in_axis]
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{who}: bias of shape {bias.shape} does not match the "
                         f"{out_channels} output channels of weight {weight.shape}")


def _check_geometry(who: str, stride: Pair, padding: Pair) -> None:
    if min(stride) < 1 or min(padding) < 0:
        raise ValueError(f"{who}: stride must be >= 1 and padding >= 0, got stride {stride}, "
                         f"padding {padding}")


def check_conv2d(who: str, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                 padding: Pair) -> None:
    """Raise a ValueError naming ``who`` and the shapes if conv2d cannot run."""
    _check_input(who, x, weight, bias, weight_in_axis=1)
    _check_geometry(who, stride, padding)
    padded = (x.shape[2] + 2 * padding[0], x.shape[3] + 2 * padding[1])
    kernel = weight.shape[2:]
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{who}: kernel {kernel} is larger than the padded input {padded} "
                         f"(input {x.shape}, padding {padding})")


def check_conv_transpose2d(who: str, x: Tensor, weight: Tensor, bias: Tensor | None,
                           stride: Pair, padding: Pair, output_padding: Pair) -> None:
    """Raise a ValueError naming ``who`` and the shapes if conv_transpose2d cannot run."""
    _check_input(who, x, weight, bias, weight_in_axis=0)
    _check_geometry(who, stride, padding)
    if not all(0 <= op < s for op, s in zip(output_padding, stride)):
        raise ValueError(f"{who}: output_padding {output_padding} must be >= 0 and smaller "
                         f"than stride {stride}")
    out = conv_transpose_output_size(x.shape[2:], weight.shape[2:], stride, padding,
                                     output_padding)
    if min(out) < 1:
        raise ValueError(f"{who}: output size {out} is not positive (input {x.shape}, weight "
                         f"{weight.shape}, stride {stride}, padding {padding})")


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | Pair = 1, padding: int | Pair = 0) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with weight
    (O, C, kh, kw) and optional bias (O,) -> (N, O, Ho, Wo)."""
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    check_conv2d("conv2d", x, weight, bias, stride, padding)
    if not F.FUSED:
        return conv2d_plain(x, weight, bias, stride, padding)
    args = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d(stride, padding)(*args)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | Pair = 1, padding: int | Pair = 0,
                     output_padding: int | Pair = 0) -> Tensor:
    """Transposed convolution of x (N, C, H, W) with weight (C, O, kh, kw) and optional
    bias (O,) -> (N, O, Ho, Wo): the adjoint of conv2d with the same weight."""
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    output_padding = pair(output_padding, "output_padding")
    check_conv_transpose2d("conv_transpose2d", x, weight, bias, stride, padding,
                           output_padding)
    if not F.FUSED:
        return conv_transpose2d_plain(x, weight, bias, stride, padding, output_padding)
    args = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d(stride, padding, output_padding)(*args)


def conv2d_weight(x: Tensor, grad_output: Tensor, kernel_size: int | Pair,
                  stride: int | Pair = 1, padding: int | Pair = 0) -> Tensor:
    """The gradient of conv2d with respect to its weight, (O, C, kh, kw), given the input x
    (N, C, H, W) and the output gradient (N, O, Ho, Wo) (torch.nn.grad.conv2d_weight)."""
    kernel, stride, padding = pair(kernel_size), pair(stride), pair(padding)
    return Conv2dWeight(kernel, stride, padding)(x, grad_output)
