"""``tinygan.cuda.is_available()``: the question PyTorch scripts ask before ``.to(device)``.

"cuda" is CuPy on a GPU, or the CPU stand-in device while ``TINYGAN_BACKEND=standin`` is
active (a test backend: see tinygan/devices/standin.py).
"""
from tinygan.devices import backend


def is_available() -> bool:
    """True when "cuda" can be used: CuPy sees a GPU, or the stand-in device is active."""
    return backend.accelerator_available()


def device_count() -> int:
    return backend.device_count()


def synchronize() -> None:
    """Wait for queued GPU work to finish (needed around timings)."""
    backend.synchronize()


def manual_seed(seed: int) -> None:
    """Seed the GPU's random numbers. tinygan has one default generator, on the device of
    the active backend: this reseeds it when that is CuPy, and does nothing on NumPy (as
    torch.cuda.manual_seed does nothing without a GPU)."""
    if backend.backend_name() == "cupy":
        from tinygan.devices.random import manual_seed as seed_default
        seed_default(seed)


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Hand CuPy's cached, unused GPU memory back to the driver (no-op without CuPy)."""
    if backend.cupy_available():
        backend.require_cupy().get_default_memory_pool().free_all_blocks()


# torch.cuda.FloatTensor and the other legacy GPU tensor types (tinygan/compat/legacy_types.py)
from tinygan.compat.legacy_types import CUDA_TYPES as _CUDA  # noqa: E402

FloatTensor, DoubleTensor, HalfTensor = _CUDA["FloatTensor"], _CUDA["DoubleTensor"], \
    _CUDA["HalfTensor"]
ByteTensor, CharTensor, ShortTensor = _CUDA["ByteTensor"], _CUDA["CharTensor"], \
    _CUDA["ShortTensor"]
IntTensor, LongTensor, BoolTensor = _CUDA["IntTensor"], _CUDA["LongTensor"], \
    _CUDA["BoolTensor"]
