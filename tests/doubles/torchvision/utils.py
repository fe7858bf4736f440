"""torchvision.utils.make_grid and save_image."""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image

from torchvision._framework import framework, to_numpy


def _grid(batch: np.ndarray, nrow: int, padding: int, normalize: bool, value_range: Any,
          scale_each: bool, pad_value: float) -> np.ndarray:
    if batch.ndim == 2:
        batch = batch[None]
    if batch.ndim == 3:
        batch = batch[None] if batch.shape[0] in (1, 3) else batch[:, None]
    batch = batch.astype(np.float32)
    if batch.shape[1] == 1:
        batch = np.repeat(batch, 3, axis=1)
    if normalize:
        def scale(x: np.ndarray) -> np.ndarray:
            low, high = value_range if value_range is not None else (x.min(), x.max())
            return (np.clip(x, low, high) - low) / max(high - low, 1e-5)
        batch = np.stack([scale(b) for b in batch]) if scale_each else scale(batch)
    n, c, h, w = batch.shape
    cols = min(nrow, n)
    rows = int(math.ceil(n / cols))
    grid = np.full((c, rows * (h + padding) + padding, cols * (w + padding) + padding),
                   pad_value, dtype=np.float32)
    for k in range(n):
        r, q = divmod(k, cols)
        top, left = r * (h + padding) + padding, q * (w + padding) + padding
        grid[:, top:top + h, left:left + w] = batch[k]
    return grid


def make_grid(tensor: Any, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range: Any = None, scale_each: bool = False, pad_value: float = 0.0,
              **kwargs: Any) -> Any:
    arrays = [to_numpy(t) for t in tensor] if isinstance(tensor, list) else to_numpy(tensor)
    grid = _grid(np.stack(arrays) if isinstance(arrays, list) else arrays, nrow, padding,
                 normalize, value_range, scale_each, pad_value)
    return framework().from_numpy(grid)


def save_image(tensor: Any, fp: Any, nrow: int = 8, padding: int = 2, normalize: bool = False,
               value_range: Any = None, scale_each: bool = False, pad_value: float = 0.0,
               format: Any = None, **kwargs: Any) -> None:  # noqa: A002
    arrays = [to_numpy(t) for t in tensor] if isinstance(tensor, list) else to_numpy(tensor)
    grid = _grid(np.stack(arrays) if isinstance(arrays, list) else arrays, nrow, padding,
                 normalize, value_range, scale_each, pad_value)
    pixels = np.clip(grid * 255 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
    Image.fromarray(pixels).save(fp, format=format)
