"""Resampling an image: ``F.interpolate`` (nearest and (bi)linear), the op behind ``nn.Upsample``.

Resizing an image is *linear* in its pixels, and separable: along each spatial axis every
output pixel is a fixed combination of input pixels, a matrix A of shape (out, in).

    nearest            A[o, i] = 1 for the one source pixel i = floor(o * scale)
    linear/bilinear    A[o, i0] = 1 - t,  A[o, i0 + 1] = t, where o maps to the source
                       coordinate src = i0 + t (see ``source_coordinate``)

For an (N, C, H, W) image, y = A_h x A_w^T for every (n, c). Because y is linear in x, its
backward is the transpose map: gx = A_h^T gy A_w (for nearest, A^T *sums* the gradients of
all copies of a pixel back into it). The backward is therefore the same op with transposed
matrices, and so is its own backward: second derivatives come for free.

Nearest upsampling by an integer factor has a fast form, ``repeat`` along each axis and block
sums for its adjoint (tinygan/fast/upsample.py), tested equal to the matrix form here.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from tinygan import fast
from tinygan.devices import backend
from tinygan.engine.functional import refuse_kinds
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


def linear_matrix(out_size: int, in_size: int, align_corners: bool,
                  scale: float | None) -> np.ndarray:
    """A (out, in): row o holds the two weights 1 - t and t of linear interpolation."""
    src = source_coordinate(out_size, in_size, align_corners, scale)
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    i1 = np.minimum(i0 + 1, in_size - 1)
    t = src - i0
    a = np.zeros((out_size, in_size))
    np.add.at(a, (np.arange(out_size), i0), 1.0 - t)
    np.add.at(a, (np.arange(out_size), i1), t)
    return a


def nearest_indices(out_size: int, in_size: int, scale: float | None,
                    exact: bool = False) -> np.ndarray:
    """The source pixel of each output pixel: floor(o / s) ('nearest', PyTorch's legacy
    rule, computed in float32 as PyTorch does) or floor((o + 0.5) / s) ('nearest-exact')."""
    ratio = np.float32(1.0 / scale) if scale else np.float32(in_size) / np.float32(out_size)
    o = np.arange(out_size, dtype=np.float32) + (np.float32(0.5) if exact else np.float32(0))
    return np.minimum(np.floor(o * ratio).astype(np.int64), in_size - 1)


def nearest_matrix(out_size: int, in_size: int, scale: float | None,
                   exact: bool = False) -> np.ndarray:
    a = np.zeros((out_size, in_size))
    a[np.arange(out_size), nearest_indices(out_size, in_size, scale, exact)] = 1.0
    return a


# ---- the ops ------------------------------------------------------------------------
class Resample(Function):
    """y = x resampled along its last k axes by matrices A_1..A_k (one per axis):
    y[..., o1, o2] = sum_{i1, i2} A_1[o1, i1] A_2[o2, i2] x[..., i1, i2].
    Linear in x, so backward is Resample by the transposed matrices."""

    def __init__(self, matrices: Sequence[Any]) -> None:
        self.matrices = list(matrices)

    def saves(self):
        return ()            # linear: backward needs no input values

    def forward(self, x):
        xp, k = xp_of(x), len(self.matrices)
        y = x
        for axis, a in enumerate(self.matrices):            # one axis at a time
            a = xp.asarray(a, dtype=x.dtype)
            moved = xp.moveaxis(y, x.ndim - k + axis, -1)    # (..., in)
            y = xp.moveaxis(moved @ a.T, -1, x.ndim - k + axis)
        return xp.ascontiguousarray(y)

    def backward(self, gy):
        return Resample([a.T for a in self.matrices])(gy)


def resample(x: Tensor, matrices: Sequence[Any]) -> Tensor:
    """x resampled along its last len(matrices) axes, one (out, in) matrix per axis."""
    return Resample(matrices)(x)


def resample_nearest(x: Tensor, out_sizes: Sequence[int], scales: Sequence[float | None],
                     exact: bool) -> Tensor:
    """Nearest (or nearest-exact) resampling to ``out_sizes``, the plain form: Resample by
    the 0/1 matrices that pick each output pixel's source pixel."""
    in_sizes = x.shape[-len(out_sizes):]
    return resample(x, [nearest_matrix(o, i, s, exact)
                        for o, i, s in zip(out_sizes, in_sizes, scales)])


# ---- F.interpolate --------------------------------------------------------------------
def _output_sizes(x: Tensor, k: int, size: Any, scale_factor: Any) -> tuple[list, list]:
    """(out sizes, scales to use in the coordinate formulas or None), PyTorch's rules."""
    in_sizes = list(x.shape[-k:])
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        sizes = [int(s) for s in size] if isinstance(size, (tuple, list)) else [int(size)] * k
        if len(sizes) != k:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{in_sizes} and output size of {sizes}.")
        return sizes, [None] * k
    if scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
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
    return resample(input, [linear_matrix(o, i, bool(align_corners), s)
                            for o, i, s in zip(out_sizes, in_sizes, scales)])
