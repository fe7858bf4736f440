"""``torch.accelerator``: the device-neutral question "is there a GPU?" (PyTorch 2.6+).

tinygan's only accelerator is an NVIDIA GPU through CuPy (``tinygan.use("cupy")``).
"""
from __future__ import annotations

from tinygan import cuda

from tinygan.devices import backend
from tinygan.compat.creation import device


def is_available() -> bool:
    return cuda.is_available()


def device_count() -> int:
    return cuda.device_count()


def current_accelerator(check_available: bool = False) -> device | None:
    """``device('cuda')`` when CuPy sees a GPU, else None."""
    return device("cuda") if cuda.is_available() else None


def synchronize(device_: object = None) -> None:
    cuda.synchronize()


__all__ = ["is_available", "device_count", "current_accelerator", "synchronize", "backend"]
