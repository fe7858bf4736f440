"""``F.pixel_shuffle`` and its inverse: channels traded for resolution (Shi et al. 2016,
"Real-Time Single Image and Video Super-Resolution Using an Efficient Sub-Pixel Convolutional
Neural Network", CVPR; SRGAN's and ESRGAN's upsampling).

pixel_shuffle with factor r moves each group of r^2 channels into an r x r block of pixels:

    (*, C r^2, H, W) -> (*, C, H r, W r),   y[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]

It is a reshape to (*, C, r, r, H, W), a permutation to (*, C, H, r, W, r) and a reshape
back: views, so the gradient is the same rearrangement backwards (autograd composes the
three). The result is a new contiguous tensor, as PyTorch's. pixel_unshuffle is the inverse.
"""
from __future__ import annotations

from tinygan.engine import functional as F
from tinygan.engine.arguments import integer
from tinygan.engine.tensor import Tensor


def _factor(op: str, what: str, r: object) -> int:
    r = integer(op, what, r)
    if r <= 0:
        raise RuntimeError(f"{op} expects a positive {what}, but got {r}")
    return int(r)


def _check_dims(op: str, x: Tensor) -> None:
    if x.ndim < 3:
        raise RuntimeError(f"{op} expects input to have at least 3 dimensions, but got input "
                           f"with {x.ndim} dimension(s)")


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C r^2, H, W) -> (*, C, H r, W r), r = upscale_factor."""
    _check_dims("pixel_shuffle", input)
    r = _factor("pixel_shuffle", "upscale_factor", upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    n = len(lead)
    grouped = F.reshape(input, (*lead, c // (r * r), r, r, h, w))
    moved = F.transpose(grouped, tuple(range(n)) + tuple(n + k for k in (0, 3, 1, 4, 2)))
    # a new tensor, laid out as PyTorch's: channels-last if the input is, else row-major
    return F.Clone(like=input.array)(F.reshape(moved, (*lead, c // (r * r), h * r, w * r)))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:  # noqa: A002
    """(*, C, H r, W r) -> (*, C r^2, H, W), r = downscale_factor."""
    _check_dims("pixel_unshuffle", input)
    r = _factor("pixel_unshuffle", "downscale_factor", downscale_factor)
    *lead, c, h, w = input.shape
    for name, size, dim in (("height", h, -2), ("width", w, -1)):
        if size % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by "
                               f"downscale_factor, but input.size({dim})={size} is not "
                               f"divisible by {r}")
    if input.numel() == 0:   # PyTorch 2.13 returns an empty input as it is, shape and all
        return F.clone(input)
    n = len(lead)
    split = F.reshape(input, (*lead, c, h // r, r, w // r, r))
    moved = F.transpose(split, tuple(range(n)) + tuple(n + k for k in (0, 2, 4, 1, 3)))
    return F.Clone(like=input.array)(F.reshape(moved, (*lead, c * r * r, h // r, w // r)))
