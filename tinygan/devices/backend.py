"""The one place in tinygan that knows about array modules (NumPy, CuPy, the stand-in).

The device model: the data decides. Every operation, random draw and in-place write runs
on the device of the tensor it serves; nothing moves unless asked (``.to("cuda")``,
``to_device``). The only global choice is the *default device* for new tensors and
parameters: ``tinygan.use("cupy")`` or ``TINYGAN_BACKEND=cupy`` sets it to "cuda".

Everything else asks this file:

* ``get_array_module(array)`` / ``device_of(array)`` - which module holds it, where it lives;
* ``module_for_device(device)``, ``xp()`` - the module that makes arrays there (``xp()``:
  on the default device);
* ``to_device(array, device)``, ``to_numpy(array)`` - the explicit copies;
* ``new_rng(device, seed)`` - a random source on a device (``tinygan.devices.random`` builds streams).

"cuda" means CuPy on a GPU, or the stand-in device (tinygan/devices/standin.py, a CPU test backend
with CuPy's manners, ``TINYGAN_BACKEND=standin``) while that is active. Chainer and DeZero use
the same idea: code written against ``xp`` runs unchanged on either module, as CuPy mirrors NumPy.
"""
from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import numpy as np

from tinygan.devices import standin

DEFAULT_DTYPE = np.float32  # GANs train in float32; gradient checks ask for float64.
# PyTorch's short names of the dtypes, as its "not implemented for 'Long'" errors print them
TORCH_DTYPE_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short",
                     "int32": "Int", "int64": "Long", "float16": "Half", "float32": "Float",
                     "float64": "Double"}

GPU_INSTALL_HINT = (
    'CuPy is needed for the GPU backend: install it with `pip install "tinygan[gpu]"` '
    '(CUDA 12: "tinygan[gpu-cuda12]", CUDA 13: "tinygan[gpu-cuda13]") on a machine with an '
    "NVIDIA GPU and driver"
)

_cupy: ModuleType | None = None
_cupy_checked = False
_default_device = "cpu"              # where new tensors and parameters are made
_accelerator: str | None = None      # what "cuda" means: "cupy" or "standin" (None: cupy)


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
    """Choose the default device for new tensors and parameters.

    "numpy" / "cpu": the CPU. "cupy" / "cuda" / "gpu": the GPU through CuPy ("cuda" and
    "gpu" mean the stand-in device instead while it is active). "standin": the test device
    of tinygan/devices/standin.py, which "cuda" then names. Existing tensors stay where they are:
    every operation runs on the device of the data it is given.
    """
    global _default_device, _accelerator
    name = name.lower()
    if name in ("numpy", "cpu"):
        _default_device = "cpu"
    elif name == "standin":
        _accelerator, _default_device = "standin", "cuda"
    elif name in ("cupy", "cuda", "gpu"):
        if name == "cupy" or _accelerator != "standin":
            require_cupy()
            _accelerator = "cupy"
        _default_device = "cuda"
    else:
        raise ValueError(f"unknown backend {name!r}: choose 'numpy' or 'cupy' "
                         f"(or 'standin', the test device)")


def backend_name() -> str:
    """The module behind the default device: "numpy", "cupy" or "standin"."""
    return "numpy" if _default_device == "cpu" else _accelerator_name()


def default_device() -> str:
    """Where new tensors and parameters are made: "cpu" or "cuda"."""
    return _default_device


def _accelerator_name() -> str:
    return _accelerator or "cupy"


def accelerator_available() -> bool:
    """True when "cuda" can be used: CuPy with a GPU, or the stand-in while it is active."""
    return _accelerator == "standin" or cupy_available()


def device_count() -> int:
    """How many "cuda" devices there are (the stand-in counts as one)."""
    if _accelerator == "standin":
        return 1
    if not cupy_available():
        return 0
    return int(require_cupy().cuda.runtime.getDeviceCount())


def xp() -> ModuleType:
    """The array module of the default device (numpy, cupy, or the stand-in's)."""
    return module_for_device(_default_device)


def get_array_module(array: Any) -> ModuleType:
    """The module that holds ``array``: cupy, the stand-in's, or numpy for anything else."""
    if isinstance(array, standin.StandinArray):
        return standin.xp  # type: ignore[return-value]
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return np


def device_of(array: Any) -> str:
    """"cuda" for an array on the GPU (or the stand-in device), "cpu" otherwise."""
    return "cpu" if get_array_module(array) is np else "cuda"


def normalize_device(device: Any) -> str:
    """Accept "cpu", "cuda", "cuda:0", "gpu" or a tinygan.device; return "cpu" or "cuda"."""
    name = str(getattr(device, "type", device)).lower()
    if name == "cpu":
        return "cpu"
    if name in ("cuda", "gpu") or name.startswith("cuda:"):
        return "cuda"
    raise ValueError(f"unknown device {device!r}: choose 'cpu' or 'cuda'")


def module_for_device(device: Any) -> ModuleType:
    """The array module that lives on ``device``."""
    if normalize_device(device) == "cpu":
        return np
    if _accelerator == "standin":
        return standin.xp  # type: ignore[return-value]
    return require_cupy()


def to_device(array: Any, device: Any) -> Any:
    """Copy ``array`` to "cpu" or "cuda" (no copy when it is already there). Python numbers
    and lists are made on ``device``."""
    device = normalize_device(device)
    if hasattr(array, "dtype") and device == device_of(array):
        return array
    if device == "cpu":
        return to_numpy(array)
    return module_for_device(device).asarray(array)


_CPU: dict = {}


def _cpu_info() -> dict:
    """The CPU's maker and instruction sets, from /proc/cpuinfo (read once; elsewhere
    "other" and none)."""
    if not _CPU:
        _CPU.update(vendor="other", flags=frozenset())
        try:
            with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
                for line in info:
                    key, _, value = line.partition(":")
                    if key.strip() == "vendor_id":
                        _CPU["vendor"] = {"GenuineIntel": "intel", "AuthenticAMD": "amd"}.get(
                            value.strip(), "other")
                    elif key.strip() == "flags":
                        _CPU["flags"] = frozenset(value.split())
                        break
        except OSError:
            pass
    return _CPU


def cpu_vendor() -> str:
    """"intel", "amd" or "other". PyTorch's CPU results depend on it in one place tinygan
    follows (fast/linear.py: MKL's addmm with one input feature fuses its multiply-add on
    Intel CPUs, not on AMD ones)."""
    return _cpu_info()["vendor"]


def cpu_has_avx512() -> bool:
    """Whether PyTorch's CPU kernels run their AVX-512 forms here (16 float32 lanes, 8
    float64), not their AVX2 ones (8 and 4): the order of their vector sums
    (fast/softmax_kernel.py) follows the width."""
    return "avx512f" in _cpu_info()["flags"]


def writable_alias(a: np.ndarray) -> np.ndarray | None:
    """A writable NumPy array over the same memory as the read-only view ``a`` (what
    np.broadcast_to returns: several elements, one memory location; CuPy's broadcast
    views are writable), or None when the memory itself is read-only."""
    owner = a
    while True:   # down to the array that owns the memory
        base = owner.base
        if not isinstance(base, np.ndarray):   # (as_strided's stand-in keeps its array)
            base = getattr(base, "base", None)
        if not isinstance(base, np.ndarray):
            break
        owner = base
    if not (owner.flags.writeable and owner.flags.c_contiguous):
        return None
    offset = a.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return np.ndarray(a.shape, a.dtype, buffer=owner, offset=offset, strides=a.strides)


def to_numpy(array: Any) -> np.ndarray:
    """A NumPy array of any array: the explicit copy from the GPU when it is there (one
    host synchronisation), the array itself when it is already NumPy. Checks waiting on
    that device (see ``check``) ride along in the same transfer and raise here."""
    xp_ = get_array_module(array)
    if xp_ is np:
        return np.asarray(array)
    waiting = [(ok, message) for ok, message in _waiting_checks if get_array_module(ok) is xp_]
    if not waiting or array.dtype.kind not in "biuf":
        return xp_.asnumpy(array)
    for item in waiting:
        _waiting_checks.remove(item)
    flags = xp_.stack([ok for ok, _ in waiting]).astype(array.dtype)
    host = xp_.asnumpy(xp_.concatenate([array.reshape(-1), flags]))
    for passed, (_, message) in zip(host[array.size:], waiting):
        if not passed:
            raise ValueError(message() if callable(message) else message)
    return host[:array.size].reshape(array.shape)


_waiting_checks: list[tuple[Any, Any]] = []


def check(ok: Any, message: Any) -> None:
    """Raise ValueError(message) unless every element of the boolean array ``ok`` is True.
    ``message`` may be a function returning the text (called only to raise, so it may read
    values: the run is failing anyway).

    On the CPU at once. On a device, reading ``ok`` would stall it (the host waits for all
    queued work), so the check waits on the device and is raised by the next ``to_numpy``
    there, which carries it in the same transfer: as CUDA reports a device-side assert at
    the next synchronisation, a step later at most, with the op's own message.
    """
    if get_array_module(ok) is np:
        if not np.all(ok):
            raise ValueError(message() if callable(message) else message)
        return
    _waiting_checks.append((ok.all(), message))


def asarray(data: Any, dtype: Any = None, device: Any = None) -> Any:
    """``data`` as an array on ``device``: where it already is when None (Python numbers and
    lists: the default device). Never a silent move: use to_device for that."""
    if device is None:
        xp_ = get_array_module(data) if hasattr(data, "dtype") else xp()
    else:
        xp_ = module_for_device(device)
    return xp_.asarray(data, dtype=dtype)


def synchronize() -> None:
    """Wait for queued GPU work to finish (needed around timings); nothing on the CPU."""
    if _accelerator == "cupy" and cupy_available():
        require_cupy().cuda.Device().synchronize()


# ---- random sources ---------------------------------------------------------------------
def rng_state_readable(device: Any) -> bool:
    """Whether this device's random generator can save and restore its state. NumPy's can;
    CuPy's cannot (its documentation says so), so tinygan.devices.random reseeds those per draw."""
    return normalize_device(device) == "cpu"


def new_rng(device: Any, seed: int) -> Any:
    """A random source on ``device`` seeded with ``seed``, with NumPy Generator's methods
    ``random(shape, dtype)``, ``standard_normal(shape, dtype)``, ``integers(low, high,
    shape)`` and ``permutation(n)``, each returning an array on that device."""
    if normalize_device(device) == "cpu":
        return np.random.default_rng(seed)
    if _accelerator == "standin":
        return standin.new_rng(seed)
    return _CupyRng(require_cupy(), seed)


class _CupyRng:
    """CuPy's legacy RandomState with cuRAND's Philox generator: creating one is cheap (a
    counter-based generator needs no per-thread setup), so it can be made for every draw."""

    def __init__(self, cp: ModuleType, seed: int) -> None:
        method = getattr(cp.cuda.curand, "CURAND_RNG_PSEUDO_PHILOX4_32_10", None)
        self._rs = cp.random.RandomState(seed) if method is None else \
            cp.random.RandomState(seed, method=method)

    def random(self, shape: Any, dtype: Any) -> Any:
        return self._rs.random_sample(shape, dtype=dtype)

    def standard_normal(self, shape: Any, dtype: Any) -> Any:
        return self._rs.standard_normal(shape, dtype=dtype)

    def integers(self, low: int, high: int, shape: Any) -> Any:
        return self._rs.randint(low, high, size=shape, dtype=np.int64)

    def permutation(self, n: int) -> Any:
        return self._rs.permutation(n)


# Honour TINYGAN_BACKEND at import time, so notebooks and the test suite switch with one variable.
_env_backend = os.environ.get("TINYGAN_BACKEND", "").strip()
if _env_backend:
    use(_env_backend)


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """target[index] += values, in place, where repeated indices add up.

    A basic index (ints and slices) never repeats a position, so plain assignment-add is
    exact and fast; advanced (array) indices need the array module's ``add.at``, which
    accumulates duplicates instead of keeping the last one (NumPy, and CuPy since v13, for
    every dtype). Older CuPy has only ``cupyx.scatter_add``, which is float32-only.
    """
    parts = index if isinstance(index, tuple) else (index,)
    basic = all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
                for i in parts)
    if basic:
        target[index] += values
        return
    xp_ = get_array_module(target)
    if hasattr(xp_.add, "at"):
        xp_.add.at(target, index, values)
        return
    if target.dtype == np.float64:  # pragma: no cover - CuPy before v13 only
        raise BackendError("scatter_add: this CuPy has no add.at and cupyx.scatter_add is "
                           "float32-only; upgrade CuPy (>= 13) for float64 gradients of indexing")
    import cupyx  # type: ignore[import-not-found]  # pragma: no cover
    cupyx.scatter_add(target, index, values)  # pragma: no cover
