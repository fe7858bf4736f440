"""``tinygan.save`` / ``tinygan.load`` in PyTorch's own .pt format, with no code run on load.

A .pt file (PyTorch 1.6+) is a zip archive, stored uncompressed, all under one folder:

    archive/data.pkl          the object, pickled (protocol 2); each tensor appears as a call
                              torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
                              requires_grad, hooks) whose storage is a *persistent id*
                              ('storage', torch.FloatStorage, '0', 'cpu', numel)
    archive/data/0, 1, ...    each storage's raw bytes (little-endian), 64-byte aligned
    archive/byteorder         b'little';  archive/version  b'3\\n';  and two small records

Unpickling normally lets the file name any Python callable and call it: loading a stranger's
.pt could run their code. ``load`` therefore unpickles with an allow-list, exactly the
globals PyTorch's weights-only unpickler allows (``torch.load(weights_only=True)``), each
mapped to a tinygan rebuilder (``torch._utils._rebuild_tensor_v2`` builds a tinygan Tensor,
``torch.FloatStorage`` says "float32 bytes", ``collections.OrderedDict`` is itself); any other
global is refused with one line naming the file and the global. ``weights_only=False`` is
accepted but changes nothing: tinygan never runs code from a file.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import collections
import functools
import io
import os
import pickle
import tempfile
import zipfile
from typing import Any, Callable

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor import Parameter, Tensor

# storage type name <-> NumPy dtype (torch.BFloat16Storage etc. have no NumPy dtype)
STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64, "ComplexDoubleStorage": np.complex128,
}
STORAGE_NAMES = {np.dtype(d): name for name, d in STORAGE_DTYPES.items()}
TORCH_DTYPES = {"float32": np.float32, "float64": np.float64, "float16": np.float16,
                "int64": np.int64, "int32": np.int32, "int16": np.int16, "int8": np.int8,
                "uint8": np.uint8, "bool": np.bool_, "complex64": np.complex64,
                "complex128": np.complex128, "uint16": np.uint16, "uint32": np.uint32,
                "uint64": np.uint64}

# PyTorch 2.13's weights-only allow-list beyond the names built below (from
# torch._weights_only_unpickler._get_allowed_globals): things tinygan cannot represent
# (sparse, quantized, nested, meta tensors, exotic dtypes) map to a refusal when used.
_UNSUPPORTED_ALLOWED = (
    ["torch.Tensor", "torch._utils._rebuild_meta_tensor_no_storage",
     "torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_qtensor",
     "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_wrapper_subclass",
     "torch._utils._rebuild_tensor_v3", "torch.BFloat16Storage", "torch.cuda.BFloat16Storage",
     "torch.BFloat16Tensor", "torch.cuda.BFloat16Tensor", "torch.QInt32Storage",
     "torch.QInt8Storage", "torch.QUInt2x4Storage", "torch.QUInt4x2Storage",
     "torch.QUInt8Storage", "torch.storage.TypedStorage"]
    + [f"torch.{n}" for n in ("bfloat16", "bits16", "bits1x8", "bits2x4", "bits4x2", "bits8",
                              "complex32", "float4_e2m1fn_x2", "float8_e4m3fn",
                              "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz",
                              "float8_e8m0fnu", "qint32", "qint8", "quint2x4", "quint4x2",
                              "quint8", "per_channel_affine", "per_channel_affine_float_qparams",
                              "per_channel_symmetric", "per_tensor_affine",
                              "per_tensor_symmetric")]
    + [f"torch.int{i}" for i in range(1, 8)] + [f"torch.uint{i}" for i in range(1, 8)]
    + [f"torch{s}.{k}Tensor" for s in (".sparse", ".cuda.sparse")
       for k in ("BFloat16", "Byte", "Char", "Double", "Float", "Half", "Int", "Long", "Short")])


class StorageType:
    """What ``torch.FloatStorage`` means in a file: "the bytes of a float32 storage"."""

    def __init__(self, name: str, dtype: Any) -> None:
        self.name, self.dtype = name, np.dtype(dtype)

    def __repr__(self) -> str:
        return f"StorageType({self.name})"


class _Unsupported:
    """A global PyTorch allows that tinygan cannot rebuild: refuses when called."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError(f"{self.name} is allowed by PyTorch's weights-only "
                                     f"loader but tinygan cannot rebuild it (sparse, quantized, "
                                     f"nested or exotic-dtype tensors)")

    __new__ = object.__new__


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------
def _strided(storage: np.ndarray, offset: int, size: tuple, stride: tuple) -> np.ndarray:
    """The tensor's values: ``size`` elements read from ``storage`` with element
    ``stride``s, starting at ``offset``, copied into a fresh contiguous array."""
    itemsize = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)


def _rebuild_tensor(storage: Any, offset: int, size: tuple, stride: tuple) -> Tensor:
    array, device = storage
    return Tensor(_place(_strided(array, offset, size, stride), device))


def _rebuild_tensor_v2(storage: Any, offset: int, size: tuple, stride: tuple,
                       requires_grad: bool, backward_hooks: Any, metadata: Any = None) -> Tensor:
    t = _rebuild_tensor(storage, offset, size, stride)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(data: Tensor, requires_grad: bool, backward_hooks: Any,
                       state: Any = None) -> Parameter:
    return Parameter(data.array, requires_grad=requires_grad)


def _rebuild_device_tensor(data: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    raw = data.array if isinstance(data, Tensor) else np.asarray(data)
    t = Tensor(raw.astype(dtype) if dtype is not None else raw)
    return t.requires_grad_(True) if requires_grad else t


def _rebuild_from_type_v2(func: Callable, new_type: Any, args: tuple, state: Any) -> Any:
    """A Tensor subclass: tinygan knows Parameter; anything else stays a plain Tensor."""
    result = func(*args)
    if new_type is Parameter and not isinstance(result, Parameter):
        result = Parameter(result.array, requires_grad=result.requires_grad)
    return result


def _device(name: str = "cpu", index: Any = None) -> Any:
    from tinygan.compat.creation import device
    return device(name)


@functools.lru_cache(maxsize=1)
def _allowed_globals() -> dict[str, Any]:
    """PyTorch's weights-only allow-list, name by name, with tinygan's meaning of each."""
    from tinygan.compat.legacy_types import CPU_TYPES, CUDA_TYPES
    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set, "builtins.bytearray": bytearray, "builtins.complex": complex,
        "_codecs.encode": codecs.encode,                     # how protocol 2 writes bytes
        "torch.Size": lambda *shape: tuple(*shape),
        "torch.device": _device,
        "torch.nn.parameter.Parameter": Parameter,
        "torch.serialization._get_layout": lambda name: name,
        "torch._utils._rebuild_tensor": _rebuild_tensor,
        "torch._utils._rebuild_tensor_v2": _rebuild_tensor_v2,
        "torch._utils._rebuild_parameter": _rebuild_parameter,
        "torch._utils._rebuild_parameter_with_state": _rebuild_parameter,
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": _rebuild_device_tensor,
        "torch._utils._rebuild_device_tensor_from_numpy": _rebuild_device_tensor,
        "torch._tensor._rebuild_from_type_v2": _rebuild_from_type_v2,
        "torch.storage.UntypedStorage": StorageType("UntypedStorage", np.uint8),
    }
    for name, dtype in STORAGE_DTYPES.items():
        allowed[f"torch.{name}"] = allowed[f"torch.cuda.{name}"] = StorageType(name, dtype)
    for name, dtype in TORCH_DTYPES.items():
        allowed[f"torch.{name}"] = np.dtype(dtype)
    for name in CPU_TYPES:
        if f"torch.{name}" not in _UNSUPPORTED_ALLOWED:
            allowed[f"torch.{name}"], allowed[f"torch.cuda.{name}"] = \
                CPU_TYPES[name], CUDA_TYPES[name]
    for name in _UNSUPPORTED_ALLOWED:
        allowed.setdefault(name, _Unsupported(name))
    return allowed


class SafeUnpickler(pickle.Unpickler):
    """An Unpickler whose ``find_class`` hands out only the allow-listed globals; the
    storages come from the zip's data/ records (``persistent_load``)."""

    def __init__(self, file: Any, source: str, read_record: Callable[[str], bytes],
                 map_location: Any) -> None:
        super().__init__(file)
        self.source, self.read_record, self.map_location = source, read_record, map_location
        self.allowed = _allowed_globals()
        self.storages: dict[str, Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _compat_pickle.NAME_MAPPING:      # protocol 2 writes Python 2
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]   # names (__builtin__)
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
        full = f"{module}.{name}"
        if full not in self.allowed:
            raise pickle.UnpicklingError(
                f"tinygan.load: {self.source}: refusing the global {full}, which is not one "
                f"of the globals PyTorch's weights-only loader allows (tinygan never runs code "
                f"from a file)")
        return self.allowed[full]

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], StorageType)):
            raise pickle.UnpicklingError(f"tinygan.load: {self.source}: unexpected persistent "
                                         f"id {pid!r}")
        _, storage_type, key, location, numel = pid
        if key not in self.storages:
            raw = self.read_record(f"data/{key}")
            array = np.frombuffer(raw, dtype=storage_type.dtype.newbyteorder("<")).astype(
                storage_type.dtype)
            self.storages[key] = (array, _map_location(self.map_location, str(location),
                                                       self.source))
        return self.storages[key]


def _map_location(map_location: Any, location: str, source: str) -> str:
    """Where a storage saved at ``location`` ("cpu", "cuda:0") goes: PyTorch's rules for a
    device, a string, or a {saved: wanted} dict; None keeps the saved place."""
    if isinstance(map_location, dict):
        target = map_location.get(location, location)
    elif map_location is None:
        target = location
    elif callable(map_location):
        raise TypeError("tinygan.load: a map_location function is not supported; give a "
                        "device, a device name or a dict such as {'cuda:0': 'cpu'}")
    else:
        target = map_location
    device = backend.normalize_device(target)
    if device == "cuda" and not backend.accelerator_available():
        raise RuntimeError(f"tinygan.load: {source}: Attempting to deserialize object on a CUDA "
                           f"device but tinygan.cuda.is_available() is False. If you are "
                           f"running on a CPU-only machine, please use tinygan.load with "
                           f"map_location='cpu' to map your storages to the CPU.")
    return device


def _place(array: np.ndarray, device: str) -> Any:
    return backend.to_device(array, device) if device != "cpu" else array


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: Any = None, **pickle_load_args: Any) -> Any:
    """Read an object saved by ``torch.save`` or ``tinygan.save`` (the .pt zip format):
    tensors come back as tinygan Tensors (Parameters as Parameters), on the device they
    were saved from, as in PyTorch ("cpu", or "cuda" for a tensor saved there), unless
    ``map_location`` says where (``map_location="cpu"`` on a machine without a GPU)."""
    if pickle_module is not None:
        raise TypeError("tinygan.load: pickle_module is not supported (tinygan unpickles "
                        "only with its own allow-list)")
    source = os.fspath(f) if isinstance(f, (str, os.PathLike)) else getattr(f, "name",
                                                                             "<file object>")
    try:
        archive = zipfile.ZipFile(f)
    except zipfile.BadZipFile:
        raise RuntimeError(f"tinygan.load: {source} is not a .pt zip archive (PyTorch's "
                           f"format since 1.6); the legacy format is not supported") from None
    with archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("data.pkl") and n.count("/") == 1]
        if not pickles:
            raise RuntimeError(f"tinygan.load: {source} has no <archive>/data.pkl record")
        folder = pickles[0].split("/")[0]
        byteorder = archive.read(f"{folder}/byteorder") if f"{folder}/byteorder" in names \
            else b"little"
        if byteorder != b"little":
            raise RuntimeError(f"tinygan.load: {source}: big-endian files are not supported")
        unpickler = SafeUnpickler(io.BytesIO(archive.read(pickles[0])), source,
                                  lambda record: archive.read(f"{folder}/{record}"),
                                  map_location)
        return unpickler.load()


# ---------------------------------------------------------------------------------------
# Saving
# ---------------------------------------------------------------------------------------
class _Global:
    """Pickles as GLOBAL 'module name' without importing the module (torch need not be
    installed to write a file that torch reads)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def __call__(self, *args: Any) -> Any:   # pickle asks reduce functions to be callable
        raise TypeError(f"{self.module}.{self.name} is a name to write, not to call")


class _Storage:
    """One tensor's bytes, written as a data/N record and referenced by persistent id."""

    def __init__(self, array: np.ndarray, location: str) -> None:
        self.array, self.location = array, location


class TorchPickler(pickle._Pickler):  # the Python pickler: its dispatch can be extended
    def __init__(self, file: Any) -> None:
        super().__init__(file, protocol=2)
        self.storages: list[_Storage] = []
        self.dispatch_table = {Tensor: self._reduce_tensor, Parameter: self._reduce_parameter,
                               np.ndarray: self._reduce_array}

    def save_torch_global(self, obj: _Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode("utf-8"))
        self.memoize(obj)

    dispatch = pickle._Pickler.dispatch.copy()
    dispatch[_Global] = save_torch_global

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, np.generic):      # NumPy scalars: Python numbers (numpy's own
            obj = obj.item()                 # globals are not on the allow-list)
        super().save(obj, save_persistent_id)

    def save_global(self, obj: Any, name: str | None = None) -> None:
        """Classes and functions: only those PyTorch's weights-only loader would accept,
        so that what tinygan writes, ``torch.load(weights_only=True)`` can read."""
        module = getattr(obj, "__module__", None) or "?"
        full = f"{module}.{name or getattr(obj, '__qualname__', '?')}"
        if full not in _allowed_globals():
            raise pickle.PicklingError(
                f"tinygan.save: cannot save {full}: a .pt file may hold tensors, numbers, "
                f"strings, bytes, None and dicts/lists/tuples/sets of them (what "
                f"torch.load(weights_only=True) reads)")
        super().save_global(obj, name)

    def reducer_override(self, obj: Any) -> Any:
        """A raw array on the GPU (a state_dict's values on "cuda") is written as a cuda
        tensor whose bytes are copied to the host, as torch.save writes a CUDA tensor; its
        own pickling would name CuPy's functions, which no weights-only loader accepts."""
        if backend.device_of(obj) != "cpu":
            return self._reduce_array(obj)
        return NotImplemented

    def persistent_id(self, obj: Any) -> Any:
        if not isinstance(obj, _Storage):
            return None
        self.storages.append(obj)
        name = STORAGE_NAMES.get(obj.array.dtype)
        return ("storage", _Global("torch", name), str(len(self.storages) - 1), obj.location,
                obj.array.size)

    def _tensor_args(self, raw: Any, requires_grad: bool) -> tuple:
        if np.dtype(raw.dtype) not in STORAGE_NAMES:
            raise TypeError(f"tinygan.save: no PyTorch storage type for dtype {raw.dtype}")
        location = "cpu" if backend.device_of(raw) == "cpu" else "cuda:0"
        array = np.array(backend.to_numpy(raw), order="C")      # keeps 0-d arrays 0-d
        stride = tuple(s // array.itemsize for s in array.strides) if array.size else \
            tuple(int(np.prod(array.shape[i + 1:])) for i in range(array.ndim))
        return (_Storage(array.reshape(-1), location), 0, tuple(array.shape), stride,
                requires_grad, collections.OrderedDict())

    def _reduce_tensor(self, t: Tensor) -> tuple:
        return _Global("torch._utils", "_rebuild_tensor_v2"), self._tensor_args(
            t.array, t.requires_grad)

    def _reduce_parameter(self, p: Parameter) -> tuple:
        data = Tensor(p.array)
        return _Global("torch._utils", "_rebuild_parameter"), (
            data, p.requires_grad, collections.OrderedDict())

    def _reduce_array(self, a: Any) -> tuple:   # a NumPy array, or one on the GPU
        if a.dtype.kind in "OUSV":
            raise TypeError(f"tinygan.save: cannot save an array of dtype {a.dtype}")
        return _Global("torch._utils", "_rebuild_tensor_v2"), self._tensor_args(a, False)


def _aligned_info(name: str, offset: int, alignment: int = 64) -> zipfile.ZipInfo:
    """A stored zip entry whose data starts on an ``alignment`` boundary, padded with an
    extra field as PyTorch pads (id 'FB', then 'Z's)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    start = offset + 30 + len(name.encode("utf-8")) + 4          # header + name + FB field id
    pad = (-start) % alignment
    info.extra = b"FB" + pad.to_bytes(2, "little") + b"Z" * pad
    return info


def _write_archive(stream: Any, folder: str, pickled: bytes, storages: list[_Storage]) -> None:
    records = [("data.pkl", pickled), (".format_version", b"1"),
               (".storage_alignment", b"64"), ("byteorder", b"little")]
    records += [(f"data/{i}", s.array.tobytes()) for i, s in enumerate(storages)]
    records += [("version", b"3\n"), (".data/serialization_id", b"0" * 40)]
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for name, payload in records:
            offset = stream.tell()
            archive.writestr(_aligned_info(f"{folder}/{name}", offset), payload)


def save(obj: Any, f: Any, pickle_module: Any = None, pickle_protocol: int = 2,
         _use_new_zipfile_serialization: bool = True) -> None:
    """Write ``obj`` (a state dict, nested dicts/lists of tensors, arrays, numbers and
    strings) in PyTorch's .pt format: ``torch.load(path, weights_only=True)`` reads it.

    A path is written to a temporary file first and renamed into place, so a crash or a
    full disk never leaves a half-written checkpoint under the real name.
    """
    if pickle_module is not None or not _use_new_zipfile_serialization:
        raise TypeError("tinygan.save writes only PyTorch's zip format with its own pickler")
    buffer = io.BytesIO()
    pickler = TorchPickler(buffer)
    pickler.dump(obj)
    if not isinstance(f, (str, os.PathLike)):
        _write_archive(f, "archive", buffer.getvalue(), pickler.storages)
        return
    path = os.fspath(f)
    folder = os.path.splitext(os.path.basename(path))[0] or "archive"
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tinygan-save-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, folder, buffer.getvalue(), pickler.storages)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
