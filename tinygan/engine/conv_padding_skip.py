"""Where a convolution's padding meets an inf or NaN weight: PyTorch's CPU kernels, measured.

In exact arithmetic the zeros a convolution pads with contribute nothing. With an inf (or
NaN) weight they do, if they are multiplied: 0 * inf = NaN. tinygan's im2col form multiplies
every tap, padded or not, as PyTorch's own CPU kernel (slow_conv2d) does; but a float32
convolution on PyTorch's CPU usually runs in oneDNN, whose direct kernels never read the
padding, so the same output is a number there. Which kernel runs follows two rules:

1. PyTorch's (aten/src/ATen/native/Convolution.cpp, ``use_mkldnn``; ``pytorch_runs_onednn``
   below): float16 on a CPU with AVX512-FP16; float32 with a batch of more than one image,
   groups > 1, a kernel larger than 3 x 3, or more than 20480 input numbers (a 1 x 1 kernel
   also needs a stride, a dilation, a batch of 16 or more than one thread).
2. oneDNN's, measured against torch 2.13 on an AVX-512 machine with random geometries
   (the generator in tests/test_conv_nonfinite.py): its direct kernel runs where on every
   side the padding is narrower than the dilated kernel, and the left and right padding
   are at most the output width; with groups, only for some channel counts per group
   (depthwise 1 -> 1, multiples of 4 on both sides, or multiples of 8 out from fewer
   than 8 input channels in all). Elsewhere oneDNN's gemm kernel multiplies the padding.

``pytorch_skips_padding`` says which; ``without_padded_taps`` recomputes the outputs that
differ. The weight gradient of a NaN meeting the padding follows other, unmeasured rules in
oneDNN, and is left as tinygan computes it (tests/differential/causes.py names it).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.engine.fma import VECTOR_BYTES, cpu_has
from tinygan.fast.batchnorm_kernel import threads   # PyTorch's default thread count

Pair = tuple[int, int]


def pytorch_runs_onednn(x_shape: tuple, weight_shape: tuple, stride: Pair, dilation: Pair,
                        groups: int, dtype: Any) -> bool:
    """Whether PyTorch's CPU convolution of x (N, C, H, W) with weight (.., .., kh, kw) runs
    in oneDNN (its ``use_mkldnn``), for conv2d and conv_transpose2d alike. It matters beyond
    speed: oneDNN also accepts a transposed convolution whose output is empty, which
    PyTorch's own kernel refuses as too small."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:   # PyTorch's mkldnn_fp16_device_check
        return cpu_has("AVX512FP16") or cpu_has("AMX_FP16")
    if dtype != np.float32:
        return False
    n, c, h, w = x_shape
    kh, kw = weight_shape[-2:]
    worth_it = (stride != (1, 1) or dilation != (1, 1) or n >= 16 or (kh, kw) != (1, 1)
                or threads() > 1)
    return worth_it and (groups > 1 or (kh > 3 and kw > 3) or n > 1 or n * c * h * w > 20480)


def pytorch_skips_padding(x_shape: tuple, weight_shape: tuple, stride: Pair, padding: Pair,
                          dilation: Pair, groups: int, dtype: Any, transposed: bool = False,
                          out_size: Pair = (0, 0)) -> bool:
    """Whether PyTorch's CPU conv2d runs a kernel that never multiplies the padded zeros,
    for x (N, C, H, W) and weight (O, C / groups, kh, kw). ``transposed``: the same question
    for conv_transpose2d's input gradient, conv2d(gy, W), where x (N, C, H, W) is the
    transposed layer's input, W (C, O / groups, kh, kw) and ``out_size`` its output's size."""
    n, c, h, w = x_shape
    o, c_per_group, kh, kw = weight_shape
    if np.dtype(dtype) != np.float32 or padding == (0, 0):
        return False
    if not pytorch_runs_onednn(x_shape, weight_shape, stride, dilation, groups, dtype):
        return False                                     # PyTorch's own im2col kernel
    if transposed:   # the convolution that runs: gy (N, O, Ho, Wo) -> (N, C, H, W)
        n, c, h, w = (n, c_per_group * groups) + tuple(out_size)
        o, c_per_group = x_shape[1], weight_shape[1]
    reach = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    out_h = (h + 2 * padding[0] - reach[0]) // stride[0] + 1
    out_w = (w + 2 * padding[1] - reach[1]) // stride[1] + 1
    bottom = (out_h - 1) * stride[0] + reach[0] - (h + padding[0])
    right = (out_w - 1) * stride[1] + reach[1] - (w + padding[1])
    if not (padding[0] < reach[0] and bottom < reach[0] and padding[1] < reach[1]
            and right < reach[1] and padding[1] <= out_w and right <= out_w):
        return False                                     # oneDNN's gemm kernel
    if groups == 1:
        return True
    if VECTOR_BYTES != 64:       # measured on AVX-512 only: elsewhere, the plain answer
        return False
    o_per_group = o // groups
    return (c_per_group == o_per_group == 1
            or (c_per_group % 4 == 0 and o_per_group % 4 == 0)
            or (o_per_group % 8 == 0 and c < 8))


def without_padded_taps(y: Any, x: Any, weight: Any, stride: Pair, padding: Pair,
                        dilation: Pair) -> Any:
    """y (N, O, Ho, Wo), the convolution of x (N, C, H, W) with weight (O, C, kh, kw), with
    every output whose window puts a non-finite weight on a padded zero recomputed from the
    real pixels alone (a NaN there becomes the number, or the inf, the real taps give)."""
    if np.isfinite(weight.sum(dtype=np.float64)):   # one pass, no array: float32 weights
        return y                                     # cannot overflow a float64 sum
    bad = ~np.isfinite(weight)
    n, c, h, w = x.shape
    kh, kw = weight.shape[2:]
    out_h, out_w = y.shape[2:]
    rows = (np.arange(out_h) * stride[0])[:, None] + np.arange(kh) * dilation[0] - padding[0]
    cols = (np.arange(out_w) * stride[1])[:, None] + np.arange(kw) * dilation[1] - padding[1]
    real = ((rows >= 0) & (rows < h))[:, None, :, None] & \
        ((cols >= 0) & (cols < w))[None, :, None, :]              # (Ho, Wo, kh, kw)
    rows, cols = np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)
    y = y.copy()
    for out_channel in np.nonzero(bad.any(axis=(1, 2, 3)))[0]:
        meets = (~real & bad[out_channel].any(axis=0)).any(axis=(2, 3))   # (Ho, Wo)
        at_i, at_j = np.nonzero(meets)
        if not at_i.size:
            continue
        # the windows of those outputs: (N, C, P, kh, kw), padded taps masked out
        windows = x[:, :, rows[at_i][:, :, None], cols[at_j][:, None, :]]
        with np.errstate(invalid="ignore", over="ignore"):
            products = windows * weight[out_channel][:, None]
            products = np.where(real[at_i, at_j], products, 0)
            y[:, out_channel, at_i, at_j] = products.sum(axis=(1, 3, 4))
    return y
