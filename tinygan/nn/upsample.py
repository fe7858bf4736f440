"""Upsampling layers: ``nn.Upsample`` and its two old names. The op itself, F.interpolate, is
in tinygan/engine/resample.py (the resampling matrices, their adjoints).
"""
from __future__ import annotations

from typing import Any

from tinygan.engine.pixel_shuffle import pixel_shuffle, pixel_unshuffle
from tinygan.engine.resample import interpolate
from tinygan.engine.tensor import Tensor
from tinygan.nn.module import Module


class Upsample(Module):
    """Upsample(scale_factor=2) doubles height and width (a DCGAN generator's alternative
    to transposed convolution: resize, then convolve; Odena et al. 2016, "Deconvolution
    and Checkerboard Artifacts", Distill)."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None,
                 recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        # PyTorch keeps the factor as a float (its repr shows scale_factor=2.0)
        if isinstance(scale_factor, (tuple, list)):
            scale_factor = tuple(float(f) for f in scale_factor)
        elif scale_factor:
            scale_factor = float(scale_factor)
        else:
            scale_factor = None
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                           self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor}" if self.scale_factor is not None else \
            f"size={self.size}"
        return f"{what}, mode='{self.mode}'"


class UpsamplingNearest2d(Upsample):
    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear with align_corners=True (this old layer's fixed choice)."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _Shuffle(Module):
    """A fixed call of pixel_shuffle or pixel_unshuffle (engine/pixel_shuffle.py)."""
    factor_name = ""

    def __init__(self, factor: int) -> None:
        super().__init__()
        setattr(self, self.factor_name, factor)

    def forward(self, x: Tensor) -> Tensor:
        return self.op(x, getattr(self, self.factor_name))

    def extra_repr(self) -> str:
        return f"{self.factor_name}={getattr(self, self.factor_name)}"


class PixelShuffle(_Shuffle):
    """(N, C r^2, H, W) -> (N, C, H r, W r): sub-pixel upsampling (SRGAN's generator)."""
    factor_name, op = "upscale_factor", staticmethod(pixel_shuffle)


class PixelUnshuffle(_Shuffle):
    """(N, C, H r, W r) -> (N, C r^2, H, W), PixelShuffle's inverse."""
    factor_name, op = "downscale_factor", staticmethod(pixel_unshuffle)
