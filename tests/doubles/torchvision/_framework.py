"""Which tensor library the double builds tensors with (tinygan unless told otherwise)."""
from __future__ import annotations

import importlib
from typing import Any

_current: Any = None


def use_framework(module: Any) -> None:
    global _current
    _current = module


def framework() -> Any:
    return _current if _current is not None else importlib.import_module("tinygan")


def to_numpy(t: Any) -> Any:
    import numpy as np
    if hasattr(t, "detach"):
        t = t.detach()
    if hasattr(t, "cpu"):
        t = t.cpu()
    return np.asarray(t.numpy() if hasattr(t, "numpy") else t)
