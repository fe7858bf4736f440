"""Which tensor library the double builds tensors with (tinygan unless told otherwise)."""
from __future__ import annotations

import importlib
from typing import Any

_current: Any = None
_dtype: Any = None


def use_framework(module: Any, dtype: Any = None) -> None:
    """Make tensors with ``module``; ``dtype`` (default float32) for ToTensor's images."""
    global _current, _dtype
    _current, _dtype = module, dtype


def float_dtype() -> Any:
    import numpy as np
    return np.dtype(_dtype or np.float32)


def framework() -> Any:
    return _current if _current is not None else importlib.import_module("tinygan")


def to_numpy(t: Any) -> Any:
    import numpy as np
    if hasattr(t, "detach"):
        t = t.detach()
    if hasattr(t, "cpu"):
        t = t.cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)
