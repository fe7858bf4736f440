"""Resampling an image: ``F.interpolate`` (nearest and (bi)linear), the op behind ``nn.Upsample``.

Resizing an image is *linear* in its pixels, and separable: along each spatial axis every
output pixel is a fixed combination of a few input pixels, its *taps*:

    nearest            y[o] = x[i]                      the one source pixel i = floor(o * scale)
    linear/bilinear    y[o] = (1 - t) x[i0] + t x[i1]   where o maps to the source coordinate
                                                        src = i0 + t (``source_coordinate``),
                                                        i1 = i0 + 1 (i0 at the last pixel)

As a matrix A of shape (out, in), row o holds these weights and zeros elsewhere, and for an
(N, C, H, W) image y = A_h x A_w^T for every (n, c). Because y is linear in x, its backward is
the transpose map: gx = A_h^T gy A_w (for nearest, A^T *sums* the gradients of all copies of
a pixel back into it). So the backward is the adjoint op, and the adjoint's backward is the
op again: second derivatives come for free.

The matrix is the idea; the computation reads only the taps, as PyTorch does. A matrix
product also multiplies the input pixels whose weight is 0, and 0 * inf = NaN: one inf or
NaN pixel would spread along its whole row and column, where PyTorch's answer keeps it
local. The width axis is resampled first, then the height, so each output is
h0 (w0 x00 + w1 x01) + h1 (w0 x10 + w1 x11), PyTorch's order of rounding.

Nearest upsampling by an integer factor has a fast form, ``repeat`` along each axis and block
sums for its adjoint (tinygan/fast/upsample.py), tested equal to the taps form here.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tinygan import fast
from tinygan.devices import backend
from tinygan.engine.arguments import flag, index
from tinygan.engine.fma import fused
from tinygan.engine.functional import in_opmath, refuse_kinds
from tinygan.engine.layout import laid_out_like
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module
LINEAR_MODES = ("linear", "bilinear", "bicubic", "trilinear")


# ---- the interpolation matrices ------------------------------------------------------
def source_coordinate(out_size: int, in_size: int, align_corners: bool,
                      scale: float | None) -> np.ndarray:
    """Where each output pixel o = 0..out_size-1 samples the input, in input pixels.

    align_corners=True: the corner pixels' centres line up, src = o (in - 1) / (out - 1).
    align_corners=False: pixel *areas* line up, src = (o + 0.5) / s - 0.5 (clamped at 0),
    with s the scale factor given (or out / in when a size was given), as in PyTorch.
    """
    o = np.arange(out_size, dtype=np.float64)
    if align_corners:
        ratio = (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
        return o * ratio
    ratio = 1.0 / scale if scale else in_size / out_size
    return np.maximum((o + 0.5) * ratio - 0.5, 0.0)


Taps = tuple  # (indices (out, T) int64, weights (out, T) or None for a plain copy)


def linear_taps(out_size: int, in_size: int, align_corners: bool,
                scale: float | None, pytorch_dtype: Any = None) -> Taps:
    """Each output pixel's two source pixels i0, i1 and their weights 1 - t and t.

    ``pytorch_dtype`` None: the picture, in float64. Else the coordinates as PyTorch
    computes them for data of that precision (float32, or float64 for double data): its
    compiled kernel fuses ``scale * (o + 0.5) - 0.5`` into one multiply-add (one rounding,
    not two), and a weight's last bit, or whether a weight that should be 0 is 1e-8
    instead, follows from that; ``pytorch_coordinates`` does the same."""
    if pytorch_dtype is None:
        src = source_coordinate(out_size, in_size, align_corners, scale)
    else:
        src = pytorch_coordinates(out_size, in_size, align_corners, scale, pytorch_dtype)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    # the second tap: the next pixel (the same one at the last pixel, and everywhere when the
    # size does not change, as in PyTorch's kernels: with weight 0 it still reads a pixel,
    # and 0 * inf = NaN shows which)
    i1 = i0 if out_size == in_size else np.minimum(i0 + 1, in_size - 1)
    t = np.clip(src - i0.astype(src.dtype), 0, 1).astype(src.dtype)
    if out_size == in_size:     # (PyTorch copies then, whatever the scale factor says)
        i0, i1, t = np.arange(out_size), np.arange(out_size), np.zeros_like(t)
    return np.stack([i0, i1], 1), np.stack([(1 - t).astype(src.dtype), t], 1)


# ---- PyTorch's arithmetic, to the last bit ----------------------------------------------
# The taps above are the idea. What follows computes the same sums as PyTorch 2.13's CPU
# kernels do, rounding where they round, so a value that is 0 in exact arithmetic comes out
# with PyTorch's sign (a relu, clamp or log after it then treats the same pixels alike),
# and an inf pixel meets the same zero weights. Those kernels are compiled with fused
# multiply-adds (a * b + c rounded once); NumPy has none, so ``fused`` (engine/fma.py)
# computes one.
# Checked bit for bit against PyTorch on random float32 images
# (tests/test_upsample_embedding.py). float64 data take the same path, but their coordinates
# are not fused: PyTorch's double kernel rounds the product, then the difference.
def pytorch_coordinates(out_size: int, in_size: int, align_corners: bool,
                        scale: float | None, dtype: Any = np.float32) -> np.ndarray:
    """``source_coordinate`` in ``dtype`` (float32, or float64 for double data), as PyTorch's
    area_pixel_compute_source_index computes it."""
    f32 = np.dtype(dtype).type
    o = np.arange(out_size).astype(f32)
    if align_corners:
        ratio = f32(in_size - 1) / f32(out_size - 1) if out_size > 1 else f32(0)
        return (ratio * o).astype(f32)
    ratio = f32(1.0 / scale) if scale else f32(in_size) / f32(out_size)
    if f32 is np.float64:   # the double kernel rounds the product, then the difference
        src = ratio * (o + 0.5) - 0.5
    else:
        src = fused(np.full(out_size, ratio, f32), o + f32(0.5), np.full(out_size, -0.5, f32))
    return np.maximum(src, f32(0))


VECTOR_BYTES = 32   # the kernel's vector loop (AVX2): 8 float32 or 4 float64 lanes


def bilinear_as_pytorch(x: Any, taps: Sequence[Taps]) -> Any:
    """Bilinear resampling of (N, C, H, W) floats, PyTorch's way. Small outputs (height +
    width <= 128) go through its channels-last kernel: the four weights h_i w_j first, then
    one sum of four products, in a different order for the channels its vector loop takes
    (C rounded down to a multiple of 8 for float32, of 4 for float64) and for the rest. Larger outputs go through its
    separable kernel: width, then height, each fused(x0, w0, x1 w1)."""
    (hi, hw), (wi, ww) = taps
    xp = xp_of(x)
    hw, ww = xp.asarray(hw.astype(x.dtype)), xp.asarray(ww.astype(x.dtype))
    hi, wi = xp.asarray(hi), xp.asarray(wi)
    # an axis whose size does not change is copied (weights 1 and 0 on one pixel), whatever
    # the scale factor says
    h_in, w_in = x.shape[-2:]
    if len(hi) == h_in:
        hi, hw = _identity_taps(xp, h_in, x.dtype)
    if len(wi) == w_in:
        wi, ww = _identity_taps(xp, w_in, x.dtype)
    if len(hi) + len(wi) > 128:
        rows = [fused(x[..., hi[:, r], :][..., wi[:, 0]], ww[:, 0],
                      x[..., hi[:, r], :][..., wi[:, 1]] * ww[:, 1]) for r in (0, 1)]
        return fused(rows[0], hw[:, 0, None], rows[1] * hw[:, 1, None])
    w = [[hw[:, a, None] * ww[None, :, b] for b in (0, 1)] for a in (0, 1)]
    p = [[x[..., hi[:, a], :][..., wi[:, b]] for b in (0, 1)] for a in (0, 1)]
    vector = fused(w[0][0], p[0][0], fused(w[0][1], p[0][1], fused(w[1][1], p[1][1],
                                                                   w[1][0] * p[1][0])))
    channels = x.shape[1]
    cut = channels - channels % (VECTOR_BYTES // x.itemsize)
    if cut == channels:
        return vector
    scalar = fused(w[1][1], p[1][1], fused(w[1][0], p[1][0], fused(w[0][0], p[0][0],
                                                                   w[0][1] * p[0][1])))
    return xp.concatenate([vector[:, :cut], scalar[:, cut:]], axis=1)


def _identity_taps(xp: Any, n: int, dtype: Any) -> tuple[Any, Any]:
    index = xp.arange(n)
    weights = xp.zeros((n, 2), dtype=dtype)
    weights[:, 0] = 1
    return xp.stack([index, index], 1), weights


def linear_as_pytorch(x: Any, taps: Taps) -> Any:
    """Linear resampling of (N, C, L) floats, PyTorch's way: fused(x0, w0, x1 w1)."""
    indices, weights = taps
    xp = xp_of(x)
    if len(indices) == x.shape[-1]:   # the same length: weights 1 and 0 on one pixel, as
        i, w = _identity_taps(xp, len(indices), x.dtype)   # PyTorch (an inf gives NaN)
    else:
        i, w = xp.asarray(indices), xp.asarray(weights.astype(x.dtype))
    return fused(x[..., i[:, 0]], w[:, 0], x[..., i[:, 1]] * w[:, 1])


def nearest_indices(out_size: int, in_size: int, scale: float | None,
                    exact: bool = False) -> np.ndarray:
    """The source pixel of each output pixel: floor(o / s) ('nearest', PyTorch's legacy
    rule, computed in float32 as PyTorch does) or floor((o + 0.5) / s) ('nearest-exact')."""
    ratio = np.float32(1.0 / scale) if scale else np.float32(in_size) / np.float32(out_size)
    o = np.arange(out_size, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(o * ratio).astype(np.int64), in_size - 1)


def nearest_taps(out_size: int, in_size: int, scale: float | None,
                 exact: bool = False) -> Taps:
    return nearest_indices(out_size, in_size, scale, exact)[:, None], None


def taps_matrix(taps: Taps, in_size: int) -> np.ndarray:
    """The (out, in) matrix A of the module docstring (for reading and for tests)."""
    indices, weights = taps
    a = np.zeros((len(indices), in_size))
    for j in range(indices.shape[1]):
        np.add.at(a, (np.arange(len(indices)), indices[:, j]),
                  1.0 if weights is None else weights[:, j])
    return a


# ---- the ops ------------------------------------------------------------------------
def _gather(x: Any, axis: int, taps: Taps) -> Any:
    """Along ``axis``: y[o] = sum_j w[o, j] x[idx[o, j]] (w0 x0 + w1 x1, in that order)."""
    xp = xp_of(x)
    indices, weights = (xp.asarray(t) if t is not None else None for t in taps)
    moved = xp.moveaxis(x, axis, -1)                              # (..., in)
    if weights is None:
        y = moved[..., indices[:, 0]]
    else:
        weights = weights.astype(x.dtype)
        y = moved[..., indices[:, 0]] * weights[:, 0]
        for j in range(1, indices.shape[1]):
            y = y + moved[..., indices[:, j]] * weights[:, j]
    return xp.moveaxis(y, -1, axis)


def _scatter(gy: Any, axis: int, taps: Taps, in_size: int) -> Any:
    """The adjoint of ``_gather``: gx[i] = sum over the taps (o, j) that read i of
    w[o, j] gy[o] (repeated reads add up)."""
    xp = xp_of(gy)
    indices, weights = (xp.asarray(t) if t is not None else None for t in taps)
    moved = xp.moveaxis(gy, axis, -1)                             # (..., out)
    gx = xp.zeros(moved.shape[:-1] + (in_size,), dtype=gy.dtype)
    for j in range(indices.shape[1]):
        part = moved if weights is None else moved * weights[:, j].astype(gy.dtype)
        backend.scatter_add(gx, (Ellipsis, indices[:, j]), part)
    return xp.moveaxis(gx, -1, axis)


class Resample(Function):
    """y = x resampled along its last k axes, by the taps of each axis (see above): width
    first, then height. Linear in x, so backward is the adjoint, ResampleAdjoint.
    ``as_pytorch``: the forward sums (bi)linear taps as PyTorch's kernels do (see above)."""
    result_layout = "own"   # laid out in forward, as PyTorch lays out an image op's result

    def __init__(self, taps: Sequence[Taps], as_pytorch: bool = False) -> None:
        self.taps, self.as_pytorch = list(taps), as_pytorch

    def saves(self):
        return ()            # linear: backward needs no input values

    def forward(self, x):
        k = len(self.taps)
        self.in_sizes = x.shape[x.ndim - k:]
        if self.as_pytorch and x.dtype.kind == "f" and x.ndim == k + 2:
            wide = in_opmath(x)   # (half: in float32, rounded once)
            y = (bilinear_as_pytorch(wide, self.taps) if k == 2 else
                 linear_as_pytorch(wide, self.taps[0]))
            return laid_out_like(y.astype(x.dtype, copy=False), x)
        y = x
        for axis in reversed(range(k)):                      # the last axis first
            y = _gather(y, x.ndim - k + axis, self.taps[axis])
        return laid_out_like(y, x)   # (channels-last if the image suggests it, as PyTorch)

    def backward(self, gy):
        return ResampleAdjoint(self.taps, self.in_sizes)(gy)


class ResampleAdjoint(Function):
    """gx = A^T gy per axis (the gradient of Resample); its own backward is Resample."""

    def __init__(self, taps: Sequence[Taps], in_sizes: Sequence[int]) -> None:
        self.taps, self.in_sizes = list(taps), tuple(in_sizes)

    def saves(self):
        return ()

    def forward(self, gy):
        k = len(self.taps)
        gx = gy
        for axis in range(k):                                # the reverse order
            gx = _scatter(gx, gy.ndim - k + axis, self.taps[axis], self.in_sizes[axis])
        return gx

    def backward(self, ggx):
        return Resample(self.taps)(ggx)   # (the plain sums: PyTorch's is another kernel)


def resample(x: Tensor, taps: Sequence[Taps], as_pytorch: bool = False) -> Tensor:
    """x resampled along its last len(taps) axes, one (indices, weights) pair per axis;
    ``as_pytorch``: (bi)linear taps summed in PyTorch's order and rounding."""
    return Resample(taps, as_pytorch)(x)


def resample_nearest(x: Tensor, out_sizes: Sequence[int], scales: Sequence[float | None],
                     exact: bool) -> Tensor:
    """Nearest (or nearest-exact) resampling to ``out_sizes``, the plain form: each output
    pixel copies its one source pixel."""
    in_sizes = x.shape[-len(out_sizes):]
    return resample(x, [nearest_taps(o, i, s, exact)
                        for o, i, s in zip(out_sizes, in_sizes, scales)])


# ---- F.interpolate --------------------------------------------------------------------
def _output_sizes(x: Tensor, k: int, size: Any, scale_factor: Any) -> tuple[list, list]:
    """(out sizes, scales to use in the coordinate formulas or None), PyTorch's rules."""
    in_sizes = list(x.shape[-k:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        # ints (or integer tensors of one element), as PyTorch's: 1.5 or True is refused
        sizes = [index("interpolate", "size", s) for s in size] if isinstance(
            size, (tuple, list)) else [index("interpolate", "size", size)] * k
        if len(sizes) != k:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{in_sizes} and output size of {sizes}.")
        return sizes, [None] * k
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if any(isinstance(s, (Tensor, str)) for s in (
            scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,))):
        raise TypeError(f"interpolate(): scale_factor must be a float or a tuple of floats, "
                        f"not {type(scale_factor).__name__}")
    scales = [float(s) for s in scale_factor] if isinstance(scale_factor, (tuple, list)) \
        else [float(scale_factor)] * k
    if len(scales) != k:
        raise ValueError(f"Input and scale_factor must have the same number of spatial "
                         f"dimensions, but got input with spatial dimensions of {in_sizes} "
                         f"and scale_factor of shape {scales}.")
    return [int(math.floor(n * s)) for n, s in zip(in_sizes, scales)], scales


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) inputs: mode 'nearest', 'nearest-exact', 'linear'
    (3-D) or 'bilinear' (4-D), to ``size`` or by ``scale_factor``, as torch.nn.functional."""
    if mode not in ("nearest", "nearest-exact", "linear", "bilinear"):
        raise NotImplementedError(f"interpolate: mode {mode!r} is not supported by tinygan "
                                  f"(nearest, nearest-exact, linear, bilinear)")
    if align_corners is not None:
        flag("interpolate", "align_corners", align_corners)
    if align_corners is not None and mode not in LINEAR_MODES:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if antialias:
        raise NotImplementedError("interpolate: antialias=True is not supported by tinygan")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"interpolate: input of shape {input.shape}; tinygan supports "
                                  f"3-D (N, C, L) and 4-D (N, C, H, W) inputs")
    if mode == "bilinear" and input.ndim != 4:
        raise NotImplementedError(f"Got {input.ndim}D input, but bilinear mode needs 4D input")
    if mode == "linear" and input.ndim != 3:
        raise NotImplementedError(f"Got {input.ndim}D input, but linear mode needs 3D input")
    k = input.ndim - 2
    out_sizes, scales = _output_sizes(input, k, size, scale_factor)
    if any(s <= 0 for s in out_sizes):
        raise ValueError(f"interpolate: output size {out_sizes} must be positive "
                         f"(input {input.shape}, scale_factor {scale_factor})")
    if 0 in input.shape[1:]:   # PyTorch: an empty batch is fine, an empty channel is not
        raise RuntimeError(f"interpolate: Non-empty {input.ndim}D data tensor expected but got "
                           f"a tensor with sizes {list(input.shape)}")
    if recompute_scale_factor:
        scales = [None] * k
    if mode in ("nearest", "nearest-exact"):   # PyTorch: floats and uint8 only
        if input.dtype != np.uint8:
            refuse_kinds("compute_indices_weights_nearest", input, "biu")
        return fast.form(resample_nearest)(input, out_sizes, scales, mode == "nearest-exact")
    if input.dtype == np.uint8 and mode == "bilinear":
        # PyTorch resamples bytes in fixed point, rounding after each axis: not reproduced
        raise NotImplementedError(f"interpolate: tinygan resamples uint8 images bilinearly "
                                  f"only as floats (shape {input.shape}); write "
                                  f"F.interpolate(x.float(), ...) and round back yourself")
    refuse_kinds(f"compute_indices_weights_{mode}", input, "biu")
    in_sizes = input.shape[-k:]
    precision = np.float64 if input.dtype == np.float64 else np.float32   # PyTorch's opmath
    return resample(input, [linear_taps(o, i, bool(align_corners), s, precision)
                            for o, i, s in zip(out_sizes, in_sizes, scales)], as_pytorch=True)
