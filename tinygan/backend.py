"""The one place in tinygan that knows about array modules.

Everything else asks this file three questions:

* ``get_array_module(array)`` - which module (``numpy`` or ``cupy``) holds this array?
* ``xp()`` - which module should new arrays be made with right now?
* ``device_of(array)`` / ``to_device(array, device)`` - where does it live, and moving it.

The switch is ``tinygan.use("cupy")``, the environment variable ``TINYGAN_BACKEND=cupy``,
or moving a tensor or module with ``.to("cuda")``. Chainer and DeZero use the same idea:
code written against ``xp`` runs unchanged on either module, because CuPy mirrors NumPy.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

DEFAULT_DTYPE = np.float32  # GANs train in float32; gradient checks ask for float64.

GPU_INSTALL_HINT = (
    'CuPy is needed for the GPU backend: install it with `pip install "tinygan[gpu]"` '
    '(CUDA 12: "tinygan[gpu-cuda12]", CUDA 13: "tinygan[gpu-cuda13]") on a machine with an '
    "NVIDIA GPU and driver"
)

_cupy: ModuleType | None = None
_cupy_checked = False
_active_name = "numpy"


class BackendError(RuntimeError):
    """Raised when the requested backend cannot be used (e.g. no CuPy, no GPU)."""


def _load_cupy() -> ModuleType | None:
    """Import CuPy once; return it if it imports *and* sees a GPU, else None."""
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy  # type: ignore[import-not-found]

            if cupy.cuda.runtime.getDeviceCount() > 0:
                _cupy = cupy
        except Exception:  # ImportError, CUDA driver errors, ...: no usable GPU
            _cupy = None
    return _cupy


def cupy_available() -> bool:
    """True when CuPy is installed and at least one GPU is visible."""
    return _load_cupy() is not None


def require_cupy() -> ModuleType:
    """Return the cupy module, or raise a BackendError that says how to get it."""
    cp = _load_cupy()
    if cp is None:
        raise BackendError(GPU_INSTALL_HINT)
    return cp


def use(name: str) -> None:
    """Choose the array module new tensors are created with: "numpy" or "cupy"."""
    global _active_name
    name = name.lower()
    if name in ("numpy", "cpu"):
        _active_name = "numpy"
    elif name in ("cupy", "cuda", "gpu"):
        require_cupy()
        _active_name = "cupy"
    else:
        raise ValueError(f"unknown backend {name!r}: choose 'numpy' or 'cupy'")


def backend_name() -> str:
    """The active backend's name, "numpy" or "cupy"."""
    return _active_name


def xp() -> ModuleType:
    """The active array module (numpy, or cupy after ``use("cupy")``)."""
    return require_cupy() if _active_name == "cupy" else np


def get_array_module(array: Any) -> ModuleType:
    """The module that holds ``array``: cupy for a cupy.ndarray, numpy for anything else."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array: Any) -> str:
    """"cuda" for an array on the GPU, "cpu" otherwise."""
    return "cuda" if get_array_module(array) is not np else "cpu"


def normalize_device(device: Any) -> str:
    """Accept "cpu", "cuda", "cuda:0", "gpu" or a tinygan.device; return "cpu" or "cuda"."""
    name = str(getattr(device, "type", device)).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "gpu") or name.startswith("cuda:"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: choose 'cpu' or 'cuda'")


def to_device(array: Any, device: str) -> Any:
    """Copy ``array`` to "cpu" or "cuda" (no copy when it is already there)."""
    device = normalize_device(device)
    if device == device_of(array):
        return array
    if device == "cuda":
        return require_cupy().asarray(array)
    return get_array_module(array).asnumpy(array)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy copy of any array (fetches from the GPU when needed)."""
    if device_of(array) == "cuda":
        return get_array_module(array).asnumpy(array)
    return np.asarray(array)


def module_for_device(device: str) -> ModuleType:
    """The array module that lives on ``device``."""
    return require_cupy() if normalize_device(device) == "cuda" else np


# Honour TINYGAN_BACKEND at import time, so notebooks and the test suite switch with one variable.
_env_backend = os.environ.get("TINYGAN_BACKEND", "").strip()
if _env_backend:
    use(_env_backend)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """target[index] += values, in place, where repeated indices add up.

    A basic index (ints and slices) never repeats a position, so plain assignment-add is
    exact and fast; advanced (array) indices need NumPy's ``add.at`` or CuPy's
    ``cupyx.scatter_add``, which accumulate duplicates instead of keeping the last one.
    """
    parts = index if isinstance(index, tuple) else (index,)
    basic = all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
                for i in parts)
    if basic:
        target[index] += values
    elif get_array_module(target) is np:
        np.add.at(target, index, values)
    else:
        import cupyx  # type: ignore[import-not-found]

        cupyx.scatter_add(target, index, values)
