"""The one conversion every metric starts with: any array to a NumPy float64 copy."""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor import Tensor


def float64_numpy(array: Any) -> np.ndarray:
    """A NumPy float64 copy of a Tensor, CuPy or NumPy array, or a nested list. Metrics are
    not a training path, so they count in float64 (sums of thousands of float32 terms
    lose digits) and on the CPU."""
    raw = array.array if isinstance(array, Tensor) else array
    return np.asarray(backend.to_numpy(raw), dtype=np.float64)
