"""A stand-in for a second device, on the CPU: a test backend, not a GPU.

``TINYGAN_BACKEND=standin`` (or ``tinygan.use("standin")``) makes "cuda" mean this device:
new tensors and parameters are made here, ``.to("cuda")`` moves onto it, and
``tinygan.cuda.is_available()`` says True, so a script written PyTorch's way runs on it.
Its arrays hold NumPy memory but behave, at the boundary, the way CuPy's arrays do:

* they are not ``numpy.ndarray``s, and refuse to meet one in any ufunc or array function
  (as CuPy does: the error is raised at the line that mixes devices). Indexing with a NumPy
  array, or writing one into a device array, CuPy allows (it copies to the GPU first), so
  the stand-in allows it too and counts the copy (``host_uploads()``);
* they refuse implicit conversion to NumPy (``np.asarray(x)``, matplotlib, ``__array__``):
  the only ways back to the host are explicit, ``backend.to_numpy`` / ``.get()``;
* they refuse the NumPy features CuPy lacks that tinygan was once caught using:
  ``maximum.reduce`` / ``minimum.reduce`` (call ``x.max()``), and float64 in
  ``scatter_add`` (cupyx's is float32-only; use ``add.at``);
* they count every host synchronisation (``float(x)``, ``x.item()``, ``bool(x)``, a copy
  to the host), so a test can hold a training step to one transfer (``host_syncs()``);
* random draws on this device come from a stream whose state is only (seed, draws so far),
  as for CuPy's generators, whose state cannot be read.

What it cannot catch: anything about CuPy's kernels (a NumPy function or argument CuPy lacks
other than the two above, a different result dtype or rounding), numerics (float32 sums in
another order, cuRAND's numbers), memory and speed. Nor what a run never reaches on it: code
paths that touch no device array. It is a guard that the code keeps its data on one device and
asks the device the right questions; it is not a GPU result. The GPU check remains
``TINYGAN_BACKEND=cupy python -m pytest -q`` on a machine with one.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

_syncs = 0     # host synchronisations since the last reset_host_syncs()
_uploads = 0   # implicit host-to-device copies (a NumPy index or value) since then


def host_syncs() -> int:
    """How many times a stand-in value went back to the host (scalar reads and copies)."""
    return _syncs


def host_uploads() -> int:
    """How many NumPy arrays were copied onto the device implicitly (indices, written values)."""
    return _uploads


def reset_host_syncs() -> None:
    global _syncs, _uploads
    _syncs = _uploads = 0


def _count_sync() -> None:
    global _syncs
    _syncs += 1


class MixedDevicesError(TypeError):
    """A stand-in device array met a NumPy array (CuPy raises TypeError there too)."""


def _mixing(where: str) -> MixedDevicesError:
    return MixedDevicesError(
        f"{where}: a stand-in device ('cuda') array met a NumPy ('cpu') array; CuPy refuses "
        f"this too. Move one of them (backend.to_device / .to(...)) before combining them")


def _unwrap(value: Any, where: str, allow_host: str = "") -> Any:
    """Plain ndarrays inside for a NumPy call; a NumPy array from outside is refused, unless
    ``allow_host`` is "explicit" (xp.asarray) or "implicit" (an index or a written value,
    which CuPy copies over: counted in host_uploads())."""
    global _uploads
    if isinstance(value, StandinArray):
        return value._a
    if isinstance(value, np.ndarray):
        if not allow_host:
            raise _mixing(where)
        _uploads += allow_host == "implicit"
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v, where, allow_host) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v, where, allow_host) for k, v in value.items()}
    return value


def _wrap(value: Any) -> Any:
    """Arrays (and NumPy scalars, as CuPy returns 0-d arrays) back onto the device."""
    if isinstance(value, np.ndarray):
        return StandinArray(value)
    if isinstance(value, np.generic) and value.dtype.kind in "biufc":
        return StandinArray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


_CUPY_LACKS = {("reduce", "maximum"), ("reduce", "minimum")}


class StandinArray(NDArrayOperatorsMixin):
    """An array on the stand-in device (NumPy memory in ``_a``, CuPy's manners outside)."""

    __slots__ = ("_a",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, array: np.ndarray) -> None:
        self._a = array

    # -- NumPy's two dispatch hooks -------------------------------------------------------
    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any):
        where = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        if (method, ufunc.__name__) in _CUPY_LACKS:
            raise TypeError(f"{where}: CuPy has no {where}; use x.max() / x.min() or "
                            f"xp.maximum(a, b)")
        for x in inputs:
            if not isinstance(x, (StandinArray, np.ndarray, numbers.Number, np.generic,
                                  list, tuple)) and x is not None:
                return NotImplemented
        out = kwargs.get("out")
        if method == "at":   # ufunc.at(target, index, values): CuPy copies a NumPy index over
            target, index, *rest = inputs
            args = (_unwrap(target, where), _unwrap(index, where, "implicit"),
                    *_unwrap(tuple(rest), where))
        else:
            args = _unwrap(inputs, where)
        kwargs = _unwrap(kwargs, where)
        result = getattr(ufunc, method)(*args, **kwargs)
        if method == "at":
            return None
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any):
        where = func.__name__
        return _wrap(_writable_broadcast(func(*_unwrap(args, where), **_unwrap(kwargs, where)),
                                         func is np.broadcast_to))

    def __array__(self, dtype: Any = None, copy: Any = None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed (the array is on "
                        "the stand-in 'cuda' device, as it would be on CuPy's). Please use "
                        "backend.to_numpy(x), Tensor.numpy() or .cpu() to copy it explicitly")

    # -- explicit transfer and scalar reads (each one a host synchronisation on a GPU) ----
    def get(self) -> np.ndarray:
        """A NumPy copy (CuPy's name)."""
        _count_sync()
        return self._a.copy()

    def item(self, *args: Any) -> Any:
        _count_sync()
        return self._a.item(*args)

    def tolist(self) -> Any:
        _count_sync()
        return self._a.tolist()

    def __float__(self) -> float:
        _count_sync()
        return float(self._a)

    def __int__(self) -> int:
        _count_sync()
        return int(self._a)

    def __index__(self) -> int:
        if self._a.ndim or self._a.dtype.kind not in "iu":
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        _count_sync()
        return int(self._a)

    def __bool__(self) -> bool:
        _count_sync()
        return bool(self._a)

    def __format__(self, spec: str) -> str:   # f"{x:.3f}" reads the value, as CuPy does
        if not spec:
            return repr(self)
        _count_sync()
        return format(self._a.item() if self._a.ndim == 0 else self._a, spec)

    def __complex__(self) -> complex:
        _count_sync()
        return complex(self._a)

    # -- the container protocol -----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        for i in range(len(self._a)):
            yield self[i]

    def __getitem__(self, index: Any) -> "StandinArray":
        return _wrap(self._a[_unwrap(index, "indexing", "implicit")])

    def __setitem__(self, index: Any, value: Any) -> None:
        self._a[_unwrap(index, "indexing", "implicit")] = \
            _unwrap(value, "an in-place write", "implicit")

    def __repr__(self) -> str:
        return f"standin.array({np.array2string(self._a, separator=', ')}, dtype={self.dtype})"

    __str__ = __repr__

    def __copy__(self) -> "StandinArray":
        return StandinArray(self._a.copy())

    def __deepcopy__(self, memo: Any) -> "StandinArray":
        return StandinArray(self._a.copy())

    def __reduce__(self):   # pickling goes through the host explicitly, as cupy's does
        return (_from_host, (self._a.copy(),))

    @property
    def __cuda_array_interface__(self) -> dict:
        """Where the memory is, as a CuPy array says it (tinygan's overlap check reads it)."""
        face = self._a.__array_interface__
        return {"shape": face["shape"], "typestr": face["typestr"], "data": face["data"],
                "strides": face["strides"], "version": 3}

    # -- everything else (shape, dtype, reshape, sum, astype, T, ...) from the NumPy array
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = getattr(self._a, name)
        if not callable(value):
            return _wrap(value) if isinstance(value, np.ndarray) else value

        def method(*args: Any, **kwargs: Any) -> Any:
            where = f"ndarray.{name}"
            return _wrap(value(*_unwrap(args, where), **_unwrap(kwargs, where)))
        return method


def _writable_broadcast(result: Any, broadcast: bool) -> Any:
    """CuPy's broadcast views are writable (tinygan writes through them only where PyTorch
    does: fill_, index_put_); NumPy's are read-only, so the stand-in gives a writable alias."""
    if not (broadcast and isinstance(result, np.ndarray) and result.size):
        return result
    from tinygan.devices.backend import writable_alias   # (backend imports this module)
    alias = writable_alias(result)
    return result if alias is None else alias


def _from_host(array: np.ndarray) -> StandinArray:
    return StandinArray(array)


class _Module:
    """The stand-in's ``xp``: NumPy's names, with device arrays in and out.

    ``asarray`` / ``array`` / ``ascontiguousarray`` are the explicit host-to-device copy (as
    ``cupy.asarray(numpy_array)`` is); every other function refuses a NumPy array."""

    _FROM_HOST = {"asarray", "array", "ascontiguousarray", "asanyarray"}

    def __init__(self, module: Any = np, name: str = "tinygan.devices.standin") -> None:
        self._module, self.__name__ = module, name

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if isinstance(value, type(np)):            # np.lib, np.lib.stride_tricks, np.linalg
            return _Module(value, f"{self.__name__}.{name}")
        if isinstance(value, np.ufunc) or isinstance(value, type) or not callable(value):
            return value   # ufuncs dispatch through StandinArray; dtypes and constants as is
        allow_host = "explicit" if name in self._FROM_HOST else ""

        def function(*args: Any, **kwargs: Any) -> Any:
            if name == "asarray" and args and isinstance(args[0], StandinArray) and (
                    kwargs.get("dtype") is None or np.dtype(kwargs["dtype"]) == args[0].dtype):
                return args[0]   # already here: no copy, the same object (as cupy.asarray)
            result = value(*_unwrap(args, name, allow_host), **_unwrap(kwargs, name, allow_host))
            return _wrap(_writable_broadcast(result, name == "broadcast_to"))
        function.__name__ = name
        return function

    @staticmethod
    def asnumpy(array: Any) -> np.ndarray:
        """The explicit device-to-host copy (``cupy.asnumpy``)."""
        return array.get() if isinstance(array, StandinArray) else np.asarray(array)

    @staticmethod
    def scatter_add(target: StandinArray, index: Any, values: Any) -> None:
        """``cupyx.scatter_add``'s manners: float32 (and ints) only."""
        if target.dtype == np.float64:
            raise TypeError("scatter_add: CuPy's cupyx.scatter_add does not support float64; "
                            "use xp.add.at(target, index, values)")
        np.add.at(target, index, values)


xp = _Module()


def asarray(array: Any, dtype: Any = None) -> StandinArray:
    """Copy a host array (or Python numbers) onto the stand-in device."""
    return xp.asarray(array, dtype=dtype)


def new_rng(key: int) -> Any:
    """A fresh random source on this device, seeded with ``key`` (see backend.new_stream)."""
    return _Rng(np.random.default_rng(key))


class _Rng:
    """The draws a device stream needs, as device arrays."""

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng

    def random(self, shape: Any, dtype: Any) -> StandinArray:
        return StandinArray(self._rng.random(shape, dtype=dtype))

    def standard_normal(self, shape: Any, dtype: Any) -> StandinArray:
        return StandinArray(self._rng.standard_normal(shape, dtype=dtype))

    def integers(self, low: int, high: int, shape: Any) -> StandinArray:
        return StandinArray(np.asarray(self._rng.integers(low, high, size=shape)))

    def permutation(self, n: int) -> StandinArray:
        return StandinArray(self._rng.permutation(n))
