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


def manual_seed(seed: int) -> None:
    """Seed the GPU's random numbers. tinygan has one default generator, on the device of
    the active backend: this reseeds it when that is CuPy, and does nothing on NumPy (as
    torch.cuda.manual_seed does nothing without a GPU)."""
    if backend.backend_name() == "cupy":
        from tinygan.random import manual_seed as seed_default
        seed_default(seed)


manual_seed_all = manual_seed


def empty_cache() -> None:
    """Hand CuPy's cached, unused GPU memory back to the driver (no-op without CuPy)."""
    if backend.cupy_available():
        backend.require_cupy().get_default_memory_pool().free_all_blocks()


# torch.cuda.FloatTensor and the other legacy GPU tensor types (tinygan/legacy_types.py)
from tinygan.legacy_types import CUDA_TYPES as _CUDA  # noqa: E402

FloatTensor, DoubleTensor, HalfTensor = _CUDA["FloatTensor"], _CUDA["DoubleTensor"], \
    _CUDA["HalfTensor"]
ByteTensor, CharTensor, ShortTensor = _CUDA["ByteTensor"], _CUDA["CharTensor"], \
    _CUDA["ShortTensor"]
IntTensor, LongTensor, BoolTensor = _CUDA["IntTensor"], _CUDA["LongTensor"], \
    _CUDA["BoolTensor"]
