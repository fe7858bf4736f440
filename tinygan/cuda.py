"""``tinygan.cuda.is_available()``: the question PyTorch scripts ask before ``.to(device)``.

"cuda" is CuPy on a GPU, or the CPU stand-in device while ``TINYGAN_BACKEND=standin`` is
active (a test backend: see tinygan/standin.py).
"""
from tinygan import backend


def is_available() -> bool:
    """True when "cuda" can be used: CuPy sees a GPU, or the stand-in device is active."""
    return backend.accelerator_available()


def device_count() -> int:
    return backend.device_count()


def synchronize() -> None:
    """Wait for queued GPU work to finish (needed around timings)."""
    backend.synchronize()
