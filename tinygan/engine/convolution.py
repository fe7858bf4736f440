"""Convolution and transposed convolution as matrix products (im2col and its adjoint).

Shapes (NCHW, PyTorch's conventions)
-------------------------------------
conv2d:            x (N, C, H, W),     weight (O, C, kh, kw)  ->  y (N, O, Ho, Wo)
                   Ho = floor((H + 2 ph - kh) / sh) + 1        (Wo likewise)
conv_transpose2d:  x (N, C, H, W),     weight (C, O, kh, kw)  ->  y (N, O, Ho, Wo)
                   Ho = (H - 1) sh - 2 ph + kh + output_padding_h
With dilation d and groups G (see "Dilation and groups" below), kh becomes d (kh - 1) + 1 in
both formulas, and the weights are (O, C/G, kh, kw) and (C, O/G, kh, kw).

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

What is in this file, in reading order: the plain form (both layers written with ops the
engine already has: read it first); the output sizes, padding strings and padding modes;
dilation (patches whose taps lie d pixels apart) and groups (one convolution per block of
channels); the three Functions, each with its public function under it. The Functions do their array work with one call each to
tinygan/fast/convolution.py, which picks the kernel (batched columns, or one image at a time
for large layers). The switch ``tinygan.fast.FUSED = False`` runs the plain form instead;
tests/test_conv.py checks the two agree, derivatives included.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan import fast
from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.conv_padding_skip import pytorch_runs_onednn, pytorch_skips_padding, \
    without_padded_taps
from tinygan.engine.padding import pad
from tinygan.engine.tensor import Function, Tensor, as_result, is_grad_enabled
from tinygan.fast import convolution as kernels    # array work only: imports no engine

xp_of = backend.get_array_module
Pair = tuple[int, int]


# =======================================================================================
# The plain form: read this first
# =======================================================================================
# Both layers written with ops the engine already has: indexing gathers the patches
# (im2col), one matmul applies the filters; the transposed layer multiplies first and then
# scatter-adds the patches back (col2im). Every gradient, second derivatives included,
# comes from those ops. The Functions further down compute the same numbers in one node each,
# with the kernels of tinygan/fast/convolution.py (the default).
def patch_index(size: Pair, kernel: Pair, stride: Pair, out_size: Pair, xp: Any,
                dilation: Pair = (1, 1)) -> tuple:
    """Index arrays that pick, from a padded (N, C, Hp, Wp) image, the (N, C, Ho, kh, Wo, kw)
    array of patches: patch (i, j) starts at row i*sh and column j*sw, its taps d apart."""
    rows = ((xp.arange(out_size[0]) * stride[0])[:, None]
            + (xp.arange(kernel[0]) * dilation[0])[None, :])
    cols = ((xp.arange(out_size[1]) * stride[1])[:, None]
            + (xp.arange(kernel[1]) * dilation[1])[None, :])
    return (slice(None), slice(None), rows[:, :, None, None], cols[None, None, :, :])


def conv2d_plain(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                 stride: Pair = (1, 1), padding: Pair = (0, 0),
                 dilation: Pair = (1, 1)) -> Tensor:
    """x (N, C, H, W), weight (O, C, kh, kw) -> (N, O, Ho, Wo): pad, gather, multiply."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    (ph, pw), xp = padding, xp_of(x.array)
    ho, wo = conv_output_size((h, w), effective_kernel((kh, kw), dilation), stride, padding)
    zeros = Tensor(xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype))
    padded = F.index_put(zeros, (slice(None), slice(None), slice(ph, ph + h),
                                 slice(pw, pw + w)), x)
    index = patch_index((h, w), (kh, kw), stride, (ho, wo), xp, dilation)
    patches = padded[index]                                                # N,C,Ho,kh,Wo,kw
    rows = patches.permute(0, 2, 4, 1, 3, 5).reshape(n * ho * wo, c * kh * kw)
    y = rows @ weight.reshape(o, c * kh * kw).T                            # (N*Ho*Wo, O)
    y = y.reshape(n, ho, wo, o).permute(0, 3, 1, 2)
    return y if bias is None else y + bias.reshape(1, o, 1, 1)


def conv_transpose2d_plain(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                           stride: Pair = (1, 1), padding: Pair = (0, 0),
                           output_padding: Pair = (0, 0), dilation: Pair = (1, 1)) -> Tensor:
    """x (N, C, H, W), weight (C, O, kh, kw) -> (N, O, Ho, Wo): multiply, scatter-add, crop
    (conv2d's adjoint: every input pixel paints a weighted kh x kw patch)."""
    n, c, h, w = x.shape
    _, o, kh, kw = weight.shape
    (ph, pw), xp = padding, xp_of(x.array)
    reach = effective_kernel((kh, kw), dilation)
    full = ((h - 1) * stride[0] + reach[0] + output_padding[0],
            (w - 1) * stride[1] + reach[1] + output_padding[1])
    pixels = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
    painted = (pixels @ weight.reshape(c, o * kh * kw)).reshape(n, h, w, o, kh, kw)
    painted = painted.permute(0, 3, 1, 4, 2, 5)                          # N,O,H,kh,W,kw
    index = patch_index(full, (kh, kw), stride, (h, w), xp, dilation)
    image = F.GetItemGrad(index, (n, o) + full)(painted)                 # add patches up
    y = as_result(image[:, :, ph:full[0] - ph, pw:full[1] - pw])   # (PyTorch: not a view)
    return y if bias is None else y + bias.reshape(1, o, 1, 1)


# =======================================================================================
# Sizes, and the checks that raise before any work is done
# =======================================================================================
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


def effective_kernel(kernel: Pair, dilation: Pair) -> Pair:
    """A kernel of k taps spread d apart covers d (k - 1) + 1 pixels."""
    return tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))  # type: ignore[return-value]


def resolve_padding(who: str, padding: int | Pair | str, kernel: Pair, stride: Pair,
                    dilation: Pair) -> tuple[Pair, Pair]:
    """Padding as (before, extra after) per dimension. 'valid' is no padding; 'same' pads
    d (k - 1) in total so that Ho = H (stride 1 only), half before and half after, the odd
    one out going after (bottom, right), as PyTorch does."""
    if not isinstance(padding, str):
        return pair(padding, "padding"), (0, 0)
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding != "same":
        raise ValueError(f"{who}: invalid padding string {padding!r}, should be 'same' or "
                         f"'valid'")
    if stride != (1, 1):
        raise ValueError(f"{who}: padding='same' is not supported for strided convolutions "
                         f"(stride {stride}); compute the padding for your stride instead")
    total = [e - 1 for e in effective_kernel(tuple(kernel), dilation)]
    before = (total[0] // 2, total[1] // 2)
    return before, (total[0] - 2 * before[0], total[1] - 2 * before[1])


PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def pad_image(x: Tensor, pads: tuple[int, int, int, int], mode: str = "zeros") -> Tensor:
    """x (N, C, H, W) padded with (top, bottom, left, right) rows/columns -> (N, C, H', W').

    'zeros' writes x into a zero image. The other modes read every output pixel from some
    input pixel, so they are one gather x[:, :, rows, cols] (its gradient adds back onto the
    source pixels): for an output row i (counted from -top), the source row is
        reflect:   mirror at the edge without repeating it   (-1 -> 1, H -> H - 2)
        replicate: the nearest edge row                       (clip to [0, H - 1])
        circular:  wrap around                                (i mod H)
    """
    top, bottom, left, right = pads
    n, c, h, w = x.shape
    xp = xp_of(x.array)
    if mode == "zeros":
        zeros = Tensor(xp.zeros((n, c, h + top + bottom, w + left + right), dtype=x.dtype))
        return F.index_put(zeros, (slice(None), slice(None), slice(top, top + h),
                                   slice(left, left + w)), x)
    for size, before, after in ((h, top, bottom), (w, left, right)):
        if mode == "reflect" and max(before, after) >= size:
            raise ValueError(f"padding_mode='reflect': padding ({before}, {after}) must be "
                             f"smaller than the input size {size} (input {x.shape})")
        if mode == "circular" and max(before, after) > size:
            raise ValueError(f"padding_mode='circular': padding ({before}, {after}) must not "
                             f"exceed the input size {size} (input {x.shape})")
    # F.pad's gather (engine/padding.py), as PyTorch's layers call F.pad: its reflect and
    # replicate nodes keep x, so writing x in place before backward is refused there too
    return pad(x, (left, right, top, bottom), mode)


def _check_input(who: str, x: Tensor, weight: Tensor, bias: Tensor | None,
                 weight_in_axis: int, groups: int = 1) -> None:
    F._same_dtype(who, *((x, weight) if bias is None else (x, weight, bias)))
    if x.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D input (N, C, H, W) or a 3-D one (C, H, W), "
                         f"got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"{who}: expected a 4-D weight, got shape {weight.shape}")
    if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{who}: groups must be a positive integer, got {groups!r}")
    if weight.shape[0] < groups:
        raise RuntimeError(f"{who}: Given groups={groups}, expected weight to be at least "
                           f"{groups} at dimension 0, but got weight of size "
                           f"{list(weight.shape)} instead")
    if weight.shape[0] % groups:
        raise ValueError(f"{who}: weight of shape {weight.shape} has {weight.shape[0]} filters "
                         f"along dimension 0, not divisible by groups={groups}")
    # conv2d's weight holds C / groups input channels per filter; conv_transpose2d's all C
    expected = weight.shape[1] * groups if weight_in_axis == 1 else weight.shape[0]
    if x.shape[1] != expected:
        with_groups = f" with groups={groups}" if groups != 1 else ""
        raise ValueError(f"{who}: input of shape {x.shape} has {x.shape[1]} channels, but the "
                         f"weight of shape {weight.shape}{with_groups} expects {expected}")
    out_channels = weight.shape[0] if weight_in_axis == 1 else weight.shape[1] * groups
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{who}: bias of shape {bias.shape} does not match the "
                         f"{out_channels} output channels of weight {weight.shape}")


def _check_geometry(who: str, stride: Pair, padding: Pair, dilation: Pair = (1, 1)) -> None:
    if min(stride) < 1 or min(padding) < 0 or min(dilation) < 1:
        raise ValueError(f"{who}: stride must be >= 1, dilation >= 1 and padding >= 0, got "
                         f"stride {stride}, padding {padding}, dilation {dilation}")


def _check_empty_image(who: str, x: Tensor) -> None:
    """PyTorch computes a convolution of an empty batch or of no channels (an empty result),
    but refuses images with no pixels in a batch that has images and channels."""
    if x.numel() == 0 and x.shape[0] != 0 and x.shape[1] != 0:
        raise RuntimeError(f"{who}: Only zero batch or zero channel inputs are supported, "
                           f"but got input shape: {list(x.shape)}")


class NoChannels(Function):
    """conv2d of an input with no channels, as PyTorch 2.13 gives it: an empty result
    (N, 0, Ho, Wo), with no channels either (not the O channels of the weight), and zero
    gradients for the input, the weight and the bias."""
    def __init__(self, shape: tuple) -> None: self.shape = shape
    def saves(self): return ()
    def forward(self, x, weight, bias=None): return xp_of(x).zeros(self.shape, x.dtype)

    def backward(self, gy):
        return tuple(Tensor(xp_of(t.array).zeros(t.shape, t.dtype)) for t in self.inputs)


class EmptyOutputGradient(Function):
    """The value itself, standing for conv_transpose2d's empty output (batch >= 2, float32,
    where PyTorch returns one). Its gradient is the incoming one, marked so that a second
    derivative through it raises: PyTorch's double backward convolves the empty gradient,
    which its rule above refuses."""
    def saves(self): return ()
    def forward(self, y): return y.copy()

    def backward(self, gy):
        if not is_grad_enabled():
            return gy
        return F.RefusedBackward(f"conv_transpose2d double backward: Only zero batch or zero "
                                 f"channel inputs are supported, but got input shape: "
                                 f"{list(gy.shape)}")(gy)


def check_conv2d(who: str, x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                 padding: Pair, dilation: Pair = (1, 1), groups: int = 1,
                 extra: Pair = (0, 0)) -> None:
    """Raise a ValueError naming ``who`` and the shapes if conv2d cannot run (``extra``: the
    odd row/column of padding='same', added after)."""
    _check_input(who, x, weight, bias, weight_in_axis=1, groups=groups)
    _check_geometry(who, stride, padding, dilation)
    padded = (x.shape[2] + 2 * padding[0] + extra[0], x.shape[3] + 2 * padding[1] + extra[1])
    kernel = effective_kernel(weight.shape[2:], dilation)
    if kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ValueError(f"{who}: kernel {kernel} is larger than the padded input {padded} "
                         f"(input {x.shape}, padding {padding}, dilation {dilation})")
    _check_empty_image(who, x)


def check_conv_transpose2d(who: str, x: Tensor, weight: Tensor, bias: Tensor | None,
                           stride: Pair, padding: Pair, output_padding: Pair,
                           dilation: Pair = (1, 1), groups: int = 1) -> None:
    """Raise a ValueError naming ``who`` and the shapes if conv_transpose2d cannot run."""
    _check_input(who, x, weight, bias, weight_in_axis=0, groups=groups)
    _check_geometry(who, stride, padding, dilation)
    # PyTorch's rule: output_padding below the stride or below the dilation
    if not all(0 <= op < max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"{who}: output_padding {output_padding} must be >= 0 and smaller "
                         f"than stride {stride} or dilation {dilation}")
    out = conv_transpose_output_size(x.shape[2:], effective_kernel(weight.shape[2:], dilation),
                                     stride, padding, output_padding)
    if min(out) < 0:   # 0 is allowed: an empty image, as PyTorch gives
        raise ValueError(f"{who}: output size {out} is negative (input {x.shape}, weight "
                         f"{weight.shape}, stride {stride}, padding {padding}, dilation "
                         f"{dilation}): Output size is too small")
    _check_empty_image(who, x)


# =======================================================================================
# Dilation and groups
# =======================================================================================
# Dilation spreads the taps: with dilation d, y[n, o, i, j] = sum_(c, a, b) W[o, c, a, b]
# x_pad[n, c, i*s + d*a, j*s + d*b]. A patch then covers d (k - 1) + 1 pixels but still has
# k x k taps, so dilation is only a change of the patches' strides: im2col reads every d-th
# pixel (fast/conv_by_image.py, ``patch_view``) and col2im adds back to every d-th pixel.
# (It is also an ordinary convolution with a larger kernel holding zeros between the taps,
# but that form multiplies the pixels between the taps by 0, and 0 * NaN is NaN: a NaN would
# spread to gradients that PyTorch, which never reads those pixels, leaves finite.)
#
# Groups split the channels: with G groups, the C inputs and O outputs are cut into G equal
# blocks, and output block g sees only input block g:
#     y[:, block g of O] = conv2d(x[:, block g of C], W[block g of O])    (W is (O, C/G, ...))
# G independent convolutions side by side, concatenated along the channels (G = C = O is the
# depthwise convolution of MobileNet). The transposed layer is the same with its own weight
# layout (C, O/G, kh, kw): W[block g of C] maps input block g to output block g.
def conv2d_groups(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                  padding: Pair, dilation: Pair, groups: int,
                  skips_padding: bool = False) -> Tensor:
    """conv2d with groups: one ordinary conv2d per block of channels, concatenated."""
    c, o = x.shape[1] // groups, weight.shape[0] // groups
    # each block with its share of the bias, so its gradient comes from the conv's own
    # backward, as PyTorch's (see Function.backward_reads)
    blocks = [_conv2d_one_group(x[:, g * c:(g + 1) * c], weight[g * o:(g + 1) * o],
                                None if bias is None else bias[g * o:(g + 1) * o], stride,
                                padding, dilation, skips_padding)
              for g in range(groups)]
    return F.concatenate(blocks, dim=1)


def conv_transpose2d_groups(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                            padding: Pair, output_padding: Pair, dilation: Pair,
                            groups: int) -> Tensor:
    """conv_transpose2d with groups: the adjoint of conv2d_groups, block by block."""
    c, o = x.shape[1] // groups, weight.shape[1]
    blocks = [_conv_transpose2d_checked(x[:, g * c:(g + 1) * c], weight[g * c:(g + 1) * c],
                                        None if bias is None else bias[g * o:(g + 1) * o],
                                        stride, padding, output_padding, dilation)
              for g in range(groups)]   # each block with its share of the bias
    return F.concatenate(blocks, dim=1)


# =======================================================================================
# The Functions, each with its public function (torch.nn.functional's names) under it
# =======================================================================================
class Conv2d(Function):
    """y = conv2d(x, W) + b. Backward, by the adjoint facts above: dx = conv_transpose2d(gy,
    W), dW = conv2d_weight(x, gy), db = gy summed over batch and pixels.

    Both products of the backward read gy laid out as a matrix, and dW reads x's columns,
    which the forward built: each is built once and handed to the two ops explicitly
    (``x_columns`` can also come from the caller, who may have built it already)."""

    backward_reads = (0, 1)   # PyTorch: convolution_backward reads x and W

    def saves(self): return (0, 1)   # and keeps them, not the bias (db sums gy alone)

    def __init__(self, stride: Pair, padding: Pair, x_columns: Any = None,
                 dilation: Pair = (1, 1), out_size: Pair | None = None,
                 skips_padding: bool = False) -> None:
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.x_columns = x_columns      # im2col(x); None while not built, or image by image
        self.out_size = out_size        # None: conv_output_size's (see ConvTranspose2d.backward)
        self.skips_padding = skips_padding   # PyTorch's kernel never reads the padding

    def forward(self, x, weight, bias=None):
        kernel = weight.shape[2:]
        out_size = self.out_size or conv_output_size(
            x.shape[2:], effective_kernel(kernel, self.dilation), self.stride, self.padding)
        if self.x_columns is None:      # kept: the weight gradient multiplies by them again
            self.x_columns = kernels.columns(x, kernel, self.stride, self.padding, out_size,
                                             self.dilation)
        y = kernels.conv2d(x, weight, self.stride, self.padding, out_size, self.x_columns,
                           self.dilation)
        if self.skips_padding:          # only an inf or NaN weight tells (conv_padding_skip.py)
            y = without_padded_taps(y, x, weight, self.stride, self.padding, self.dilation)
        return y if bias is None else _add_bias(y, bias)

    def backward(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        kernel, gx, gw = weight.shape[2:], None, None
        # gy as the matrix both products read, built once (none when working image by image)
        gy_matrix = None
        if self.x_columns is not None and (x.requires_grad or weight.requires_grad):
            gy_matrix = kernels.as_matrix(gy.array)
        if x.requires_grad:  # like PyTorch's needs_input_grad: skip work nobody asked for
            extra = _dropped_rows(x.shape, gy.shape, kernel, self.stride, self.padding,
                                  self.dilation)
            gx = ConvTranspose2d(self.stride, self.padding, extra, x_matrix=gy_matrix,
                                 dilation=self.dilation)(gy, weight)  # conv_transpose2d(gy, W)
        if weight.requires_grad:                              # dW = conv2d_weight(x, gy)
            gw = Conv2dWeight(kernel, self.stride, self.padding, x_columns=self.x_columns,
                              gy_matrix=gy_matrix, dilation=self.dilation)(x, gy)
        return gx, gw, _bias_grad(self.inputs, gy)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | Pair = 1, padding: int | Pair | str = 0, dilation: int | Pair = 1,
           groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of x (N, C, H, W) with weight
    (O, C / groups, kh, kw) and optional bias (O,) -> (N, O, Ho, Wo). ``padding`` may also be
    'valid' (none) or 'same' (stride 1 only: output size = input size). A single image
    (C, H, W) gives (O, Ho, Wo)."""
    if x.ndim == 3:                        # one image without the batch axis, as PyTorch
        return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    padding, extra = resolve_padding("conv2d", padding, weight.shape[2:], stride, dilation)
    check_conv2d("conv2d", x, weight, bias, stride, padding, dilation, groups, extra)
    if extra != (0, 0):   # 'same' with an odd total: as PyTorch, the extra row/column on
        x = pad_image(x, (0, extra[0], 0, extra[1]))   # the far side is written into x,
        # and the symmetric part stays padding
    if x.shape[1] == 0:                    # no input channels: PyTorch's empty result
        out = conv_output_size(x.shape[2:], effective_kernel(weight.shape[2:], dilation),
                               stride, padding)
        return NoChannels((x.shape[0], 0) + tuple(out))(
            *((x, weight) if bias is None else (x, weight, bias)))
    # on the CPU, PyTorch's kernel may leave the padding out (only an inf or NaN weight
    # can tell): tinygan's default form does as it does (engine/conv_padding_skip.py)
    skips = xp_of(x.array) is np and pytorch_skips_padding(
        x.shape, weight.shape, stride, padding, dilation, groups, x.dtype)
    if groups != 1:
        return conv2d_groups(x, weight, bias, stride, padding, dilation, groups, skips)
    return _conv2d_one_group(x, weight, bias, stride, padding, dilation, skips)


def _conv2d_one_group(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                      padding: Pair, dilation: Pair, skips_padding: bool = False) -> Tensor:
    """conv2d of checked arguments and one group, in the plain or the default form."""
    if not fast.FUSED:                                   # the plain form
        return conv2d_plain(x, weight, bias, stride, padding, dilation)
    args = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d(stride, padding, dilation=dilation, skips_padding=skips_padding)(*args)


class ConvTranspose2d(Function):
    """y = conv_transpose2d(x, W) + b, the adjoint of conv2d. Backward: dx = conv2d(gy, W),
    dW = conv2d_weight(gy, x) (the roles of input and output swap), db as for conv2d.

    Both products of the backward read gy's columns: built once, handed to both; dW also
    reads x laid out as a matrix, which the forward built."""

    backward_reads = (0, 1)   # PyTorch: convolution_backward reads x and W

    def saves(self): return (0, 1)   # and keeps them, not the bias (db sums gy alone)

    def __init__(self, stride: Pair, padding: Pair, output_padding: Pair,
                 x_matrix: Any = None, dilation: Pair = (1, 1),
                 skips_padding: bool = False) -> None:
        self.stride, self.padding, self.output_padding = stride, padding, output_padding
        self.dilation = dilation
        self.x_matrix = x_matrix        # x as a matrix; None while not built, or image by image
        self.skips_padding = skips_padding   # PyTorch's dx = conv2d(gy, W) never reads padding

    def forward(self, x, weight, bias=None):
        _, out_channels, kh, kw = weight.shape
        out_size = conv_transpose_output_size(
            x.shape[2:], effective_kernel((kh, kw), self.dilation), self.stride,
            self.padding, self.output_padding)
        if self.x_matrix is None:       # kept: the weight gradient multiplies by it again
            self.x_matrix = kernels.matrix(x, out_channels * kh * kw)
        y = kernels.conv_transpose2d(x, weight, self.stride, self.padding, out_size,
                                     self.x_matrix, self.dilation)
        return y if bias is None else _add_bias(y, bias)

    def backward(self, gy):
        x, weight = self.inputs[0], self.inputs[1]
        kernel, gx, gw = weight.shape[2:], None, None
        # gy's columns, which both products read, built once (none when image by image)
        gy_columns = None
        if self.x_matrix is not None and (x.requires_grad or weight.requires_grad):
            gy_columns = kernels.im2col(gy.array, kernel, self.stride, self.padding,
                                        x.shape[2:], self.dilation)
        # the sizes are x's: an output_padding of a stride or more (allowed below the
        # dilation) adds rows that conv2d's own size formula would count as one more patch
        if x.requires_grad:                                   # dx = conv2d(gy, W)
            gx = Conv2d(self.stride, self.padding, x_columns=gy_columns,
                        dilation=self.dilation, out_size=x.shape[2:],
                        skips_padding=self.skips_padding)(gy, weight)
        if weight.requires_grad:                              # dW = conv2d_weight(gy, x)
            gw = Conv2dWeight(kernel, self.stride, self.padding, x_columns=gy_columns,
                              gy_matrix=self.x_matrix, dilation=self.dilation)(gy, x)
        return gx, gw, _bias_grad(self.inputs, gy)


def conv_transpose2d(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: int | Pair = 1, padding: int | Pair = 0,
                     output_padding: int | Pair = 0, groups: int = 1,
                     dilation: int | Pair = 1) -> Tensor:
    """Transposed convolution of x (N, C, H, W) with weight (C, O / groups, kh, kw) and
    optional bias (O,) -> (N, O, Ho, Wo): the adjoint of conv2d with the same weight.
    (PyTorch's argument order: groups comes before dilation here.) A single image (C, H, W)
    gives (O, Ho, Wo)."""
    if x.ndim == 3:                        # one image without the batch axis, as PyTorch
        return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding,
                                groups, dilation).squeeze(0)   # (a view, as PyTorch's)
    if isinstance(padding, str):
        raise TypeError(f"conv_transpose2d: padding must be an int or a pair of ints, got "
                        f"{padding!r} (padding strings exist only for conv2d)")
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    output_padding, dilation = pair(output_padding, "output_padding"), pair(dilation, "dilation")
    check_conv_transpose2d("conv_transpose2d", x, weight, bias, stride, padding,
                           output_padding, dilation, groups)
    out = conv_transpose_output_size(x.shape[2:], effective_kernel(weight.shape[2:], dilation),
                                     stride, padding, output_padding)
    empty = min(out) == 0
    # PyTorch 2.13 itself: an empty output comes back empty where oneDNN runs it (a float32
    # batch of 2 or more, float16 on a CPU with AVX512-FP16, ...) or no kernel runs (an
    # empty input); its own kernel raises
    if empty and x.numel() > 0 and not pytorch_runs_onednn(x.shape, weight.shape, stride,
                                                           dilation, groups, x.dtype):
        raise RuntimeError(f"conv_transpose2d: Given input size per channel: ({x.shape[2]} x "
                           f"{x.shape[3]}). Calculated output size per channel: ({out[0]} x "
                           f"{out[1]}). Output size is too small")
    if groups != 1:
        return conv_transpose2d_groups(x, weight, bias, stride, padding, output_padding,
                                       dilation, groups)
    return _conv_transpose2d_checked(x, weight, bias, stride, padding, output_padding, dilation)


def _conv_transpose2d_checked(x: Tensor, weight: Tensor, bias: Tensor | None, stride: Pair,
                              padding: Pair, output_padding: Pair, dilation: Pair) -> Tensor:
    """conv_transpose2d of one group, its arguments checked: the plain or the fused form."""
    out = conv_transpose_output_size(x.shape[2:], effective_kernel(weight.shape[2:], dilation),
                                     stride, padding, output_padding)
    if min(out) == 0:   # the plain form, which crops to nothing, as PyTorch's one node:
        # it keeps x and W
        y = conv_transpose2d_plain(x, weight, bias, stride, padding, output_padding, dilation)
        if is_grad_enabled() and y.requires_grad:
            y = EmptyOutputGradient()(y)
        return F.keeps(y, x, weight, name="ConvTranspose2d", reads_value=False)
    if not fast.FUSED:                                   # the plain form
        return conv_transpose2d_plain(x, weight, bias, stride, padding, output_padding,
                                      dilation)
    # PyTorch's dx = conv2d(gy, W) may leave the padding out (engine/conv_padding_skip.py)
    skips = xp_of(x.array) is np and pytorch_skips_padding(
        x.shape, weight.shape, stride, padding, dilation, 1, x.dtype, transposed=True,
        out_size=out)
    args = (x, weight) if bias is None else (x, weight, bias)
    return ConvTranspose2d(stride, padding, output_padding, dilation=dilation,
                           skips_padding=skips)(*args)


class Conv2dWeight(Function):
    """gW = conv2d_weight(x, gy): gW[o, c, a, b] = sum_(n,i,j) gy[n, o, i, j] x_pad[n, c,
    i*sh + a, j*sw + b], the weight gradient of conv2d. It is linear in x and in gy:
    <ggW, gW> = <gy, conv2d(x, ggW)>, so its own gradients are conv ops with ggW as weight."""

    def __init__(self, kernel: Pair, stride: Pair, padding: Pair, x_columns: Any = None,
                 gy_matrix: Any = None, dilation: Pair = (1, 1)) -> None:
        self.kernel, self.stride, self.padding = kernel, stride, padding
        self.dilation = dilation
        # im2col(x) and gy as a matrix, when the caller has built them already
        self.x_columns, self.gy_matrix = x_columns, gy_matrix

    def forward(self, x, gy):
        return kernels.conv2d_weight(x, gy, self.kernel, self.stride, self.padding,
                                     self.x_columns, self.gy_matrix, self.dilation)

    def backward(self, ggw):
        x, gy = self.inputs
        gx = ggy = None
        if x.requires_grad:                         # d<ggW, gW>/dx = conv_transpose2d(gy, ggW)
            extra = _dropped_rows(x.shape, gy.shape, self.kernel, self.stride, self.padding,
                                  self.dilation)
            gx = conv_transpose2d(gy, ggw, None, self.stride, self.padding, extra, 1,
                                  self.dilation)
        if gy.requires_grad:                        # d<ggW, gW>/dgy = conv2d(x, ggW)
            ggy = conv2d(x, ggw, None, self.stride, self.padding, self.dilation)
            # as in ConvTranspose2d.backward: x's rows past the last whole patch are not gy's
            ggy = ggy[:, :, :gy.shape[2], :gy.shape[3]]
        return gx, ggy


def conv2d_weight(x: Tensor, grad_output: Tensor, kernel_size: int | Pair,
                  stride: int | Pair = 1, padding: int | Pair = 0,
                  dilation: int | Pair = 1) -> Tensor:
    """The gradient of conv2d with respect to its weight, (O, C, kh, kw), given the input x
    (N, C, H, W) and the output gradient (N, O, Ho, Wo) (torch.nn.grad.conv2d_weight)."""
    kernel, stride, padding = pair(kernel_size), pair(stride), pair(padding)
    return Conv2dWeight(kernel, stride, padding, dilation=pair(dilation))(x, grad_output)


def _add_bias(y: Any, bias: Any) -> Any:
    """y (N, O, Ho, Wo) += bias (O,) at every pixel, in place (y is the op's own new array)."""
    y += bias.reshape(1, -1, 1, 1)
    return y


def _dropped_rows(x_shape: tuple, y_shape: tuple, kernel: Pair, stride: Pair,
                  padding: Pair, dilation: Pair = (1, 1)) -> Pair:
    """The rows and columns of x that conv2d's floor division never reached: the adjoint,
    conv_transpose2d, gives them back (as zeros) through its output_padding."""
    reached = conv_transpose_output_size(y_shape[2:], effective_kernel(kernel, dilation),
                                         stride, padding, (0, 0))
    return x_shape[2] - reached[0], x_shape[3] - reached[1]


def _bias_grad(inputs: tuple, gy: Tensor) -> Tensor | None:
    """A bias adds to every pixel of every image: its gradient sums gy over (N, H, W)."""
    if len(inputs) == 3 and inputs[2].requires_grad:
        return gy.sum(axis=(0, 2, 3))
    return None
