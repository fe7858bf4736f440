"""torchvision.transforms: Compose, ToTensor, Normalize, Resize, CenterCrop, Lambda."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from PIL import Image

from torchvision._framework import float_dtype, framework, to_numpy


class Compose:
    def __init__(self, transforms: Sequence[Any]) -> None:
        self.transforms = list(transforms)

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img


class ToTensor:
    """PIL image or (H, W, C) uint8 array -> float32 tensor (C, H, W) in [0, 1]."""

    def __call__(self, pic: Any) -> Any:
        array = np.asarray(pic)
        if array.ndim == 2:
            array = array[:, :, None]
        chw = np.ascontiguousarray(array.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            chw = chw.astype(float_dtype()) / float_dtype().type(255)
        return framework().from_numpy(chw.astype(float_dtype()))


class Normalize:
    """(x - mean) / std, channel by channel."""

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean, self.std = list(mean), list(std)

    def __call__(self, tensor: Any) -> Any:
        x = to_numpy(tensor)
        mean = np.asarray(self.mean, dtype=x.dtype).reshape(-1, 1, 1)
        std = np.asarray(self.std, dtype=x.dtype).reshape(-1, 1, 1)
        return framework().from_numpy(((x - mean) / std).astype(x.dtype))


def _size(size: Any, w: int, h: int) -> tuple[int, int]:
    if isinstance(size, int):          # the shorter side becomes ``size``
        return (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    return int(size[1]), int(size[0])


class Resize:
    def __init__(self, size: Any, interpolation: Any = Image.BILINEAR, max_size: Any = None,
                 antialias: Any = True) -> None:
        self.size, self.interpolation = size, interpolation

    def __call__(self, img: Any) -> Any:
        if not isinstance(img, Image.Image):
            raise TypeError("Resize (test double): expects a PIL image")
        return img.resize(_size(self.size, *img.size), self.interpolation)


class CenterCrop:
    def __init__(self, size: Any) -> None:
        self.size = (size, size) if isinstance(size, int) else tuple(size)

    def __call__(self, img: Any) -> Any:
        w, h = img.size
        th, tw = self.size
        left, top = int(round((w - tw) / 2)), int(round((h - th) / 2))
        return img.crop((left, top, left + tw, top + th))


class Lambda:
    """Any function of the image (examples/mnist_forward_forward flattens with it)."""

    def __init__(self, lambd: Any) -> None:
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)
