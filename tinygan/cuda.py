"""``tinygan.cuda.is_available()``: the question PyTorch scripts ask before ``.to(device)``."""
from tinygan import backend


def is_available() -> bool:
    """True when CuPy is installed and sees a GPU."""
    return backend.cupy_available()


def device_count() -> int:
    if not backend.cupy_available():
        return 0
    return int(backend.require_cupy().cuda.runtime.getDeviceCount())


def synchronize() -> None:
    """Wait for queued GPU work to finish (needed around timings)."""
    if backend.cupy_available():
        backend.require_cupy().cuda.Device().synchronize()
