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
import collections
import io
import math
import os
import pickle
import struct
import tempfile
import warnings
import zipfile
from typing import Any, Callable

import numpy as np

from tinygan.compat.weights_only import WeightsOnlyUnpickler
from tinygan.devices import backend
from tinygan.engine.tensor import Parameter, Tensor
from tinygan.run.untrusted import check_budget, check_zip_member, open_regular

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
    """What ``torch.FloatStorage`` means in a file: "the bytes of a float32 storage".
    ``dtype``: the elements as stored; ``convert``: turns them into what tinygan holds
    (bfloat16, which NumPy lacks, becomes float32: the same values, exactly)."""

    def __init__(self, name: str, dtype: Any, convert: Callable | None = None) -> None:
        self.name, self.dtype, self.convert = name, np.dtype(dtype), convert

    def __repr__(self) -> str:
        return f"StorageType({self.name})"


def bfloat16_to_float32(raw: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32 (sign, 8 exponent bits, 7 mantissa bits):
    shifting its 16 bits up by 16 gives the float32 of exactly the same value."""
    return (raw.astype(np.uint32) << 16).view(np.float32)


class _Unsupported:
    """A global PyTorch allows that tinygan cannot rebuild: refuses when called."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise pickle.UnpicklingError(f"{self.name} is allowed by PyTorch's weights-only "
                                     f"loader but tinygan cannot rebuild it (sparse, quantized, "
                                     f"nested or exotic-dtype tensors)")


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------
MAX_DIMS = 64   # NumPy's limit on an array's dimensions


class Storage:
    """One data/<key> record of the archive as the flat array of its elements. Every tensor
    that names the key is a view of this one array (no copy), so views that share a storage
    in PyTorch share it here too, and a stride-0 tensor of 2^30 elements costs its 4 bytes."""

    def __init__(self, array: np.ndarray, device: str, kind: StorageType, key: str) -> None:
        self.array, self.device, self.kind, self.key = array, device, kind, key


def _fail(source: str, message: str) -> RuntimeError:
    return RuntimeError(f"tinygan.load: {source}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _strided_view(storage: Any, offset: Any, size: Any, stride: Any, source: str
                  ) -> np.ndarray:
    """The tensor's values: a view of ``size`` elements of the storage, ``stride`` elements
    apart along each axis, from element ``offset``. Checked first, as PyTorch checks:
    every element it reaches, offset + sum((size_i - 1) * stride_i), must lie inside the
    storage; sizes, strides and the offset must be whole numbers >= 0."""
    if not isinstance(storage, Storage):
        raise _fail(source, f"a tensor's storage is a {type(storage).__name__}, not a "
                            f"data/ record")
    where = f"the tensor on data/{storage.key}"
    if not _is_int(offset) or offset < 0:
        raise _fail(source, f"{where}: storage offset {offset!r} is not a whole number >= 0")
    if not (isinstance(size, (tuple, list)) and isinstance(stride, (tuple, list))
            and len(size) <= MAX_DIMS
            and all(_is_int(n) and 0 <= n < 2 ** 63 for n in size)
            and all(_is_int(s) and -2 ** 62 <= s < 2 ** 63 for s in stride)):
        raise _fail(source, f"{where}: size {_short(size)} and stride {_short(stride)} must be "
                            f"at most {MAX_DIMS} whole numbers (sizes >= 0), within PyTorch's "
                            f"int64")
    if len(size) != len(stride):
        raise _fail(source, f"{where}: size {_short(size)} and stride {_short(stride)} have "
                            f"different lengths")
    length, itemsize = storage.array.size, storage.array.itemsize
    if any(s < 0 and n > 1 for n, s in zip(size, stride)) and math.prod(size):
        raise _fail(source, f"{where}: stride {_short(stride)} is negative along an axis of "
                            f"more than one element (PyTorch refuses it too)")
    if math.prod(size) == 0:    # no element is read: PyTorch accepts any offset here
        if offset >= 2 ** 63:
            raise _fail(source, f"{where}: storage offset {offset} is past int64")
        return _make(lambda: np.empty(size, storage.array.dtype), where, source)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= length:
        raise _fail(source, f"{where}: size {_short(size)}, stride {_short(stride)} and offset "
                            f"{offset} reach element {last}, past the storage's {length} "
                            f"elements (an out-of-bounds read)")
    strides = tuple(s * itemsize if n > 1 else 0 for n, s in zip(size, stride))
    return _make(lambda: np.lib.stride_tricks.as_strided(storage.array[offset:], tuple(size),
                                                         strides), where, source)


def _make(build: Callable[[], np.ndarray], where: str, source: str) -> np.ndarray:
    try:
        return build()
    except (ValueError, OverflowError) as err:   # a shape NumPy cannot index
        raise _fail(source, f"{where}: {err}") from None


def _short(value: Any) -> str:
    text = repr(tuple(value)) if isinstance(value, (tuple, list)) and len(value) < 9 else \
        f"<{type(value).__name__}>"
    return text if len(text) < 80 else text[:77] + "..."


class _Rebuilders:
    """The tensor-building globals of one load (they need its file's name for messages)."""

    def __init__(self, source: str) -> None:
        self.source = source

    def tensor(self, storage: Any, offset: Any, size: Any, stride: Any, *rest: Any) -> Tensor:
        """torch._utils._rebuild_tensor (and _v2: requires_grad, hooks, metadata)."""
        array = _strided_view(storage, offset, size, stride, self.source)
        if storage.device != "cpu":   # a device holds its own copy of this tensor
            check_budget(array.size * array.itemsize, f"tinygan.load: {self.source}",
                         lambda m: _fail(self.source, m.split(": ", 2)[-1]))
            array = backend.to_device(np.array(array, order="C"), storage.device)  # 0-d stays 0-d
        requires_grad = bool(rest[0]) if rest else False
        if requires_grad and array.dtype.kind not in "fc":
            raise _fail(self.source, f"a {array.dtype} tensor cannot require gradients (only "
                                     f"floating-point ones can)")
        t = Tensor(array)
        return t.requires_grad_(True) if requires_grad else t

    def parameter(self, data: Any, requires_grad: Any = True, *rest: Any) -> Parameter:
        """torch._utils._rebuild_parameter(_with_state): the same array, as a Parameter."""
        if not isinstance(data, Tensor):
            raise _fail(self.source, f"a Parameter's data is a {type(data).__name__}, not a "
                                     f"tensor")
        if requires_grad and data.array.dtype.kind not in "fc":
            raise _fail(self.source, f"a {data.array.dtype} Parameter cannot require gradients")
        return Parameter(data.array, requires_grad=bool(requires_grad))

    def from_type(self, func: Any, new_type: Any, args: Any, state: Any) -> Any:
        """torch._tensor._rebuild_from_type_v2: a Tensor subclass. tinygan knows Parameter;
        anything else stays a plain Tensor (its extra Python state is not kept)."""
        if not callable(func) or not isinstance(args, tuple):
            raise _fail(self.source, "_rebuild_from_type_v2 needs a rebuild function and a "
                                     "tuple of arguments")
        result = func(*args)
        if new_type is Parameter and isinstance(result, Tensor) and \
                not isinstance(result, Parameter):
            result = Parameter(result.array, requires_grad=result.requires_grad)
        return result

    def device_tensor(self, data: Any, dtype: Any, device: Any, requires_grad: Any) -> Tensor:
        raw = data.array if isinstance(data, Tensor) else np.asarray(data)
        if raw.dtype.kind not in "biufc" or (dtype is not None and not isinstance(dtype,
                                                                               np.dtype)):
            raise _fail(self.source, "_rebuild_device_tensor needs numbers and a dtype")
        t = Tensor(raw.astype(dtype) if dtype is not None else raw)
        return t.requires_grad_(True) if requires_grad else t


def _device(name: str = "cpu", index: Any = None) -> Any:
    from tinygan.compat.creation import device
    return device(name)


def _bounded(constructor: Callable, name: str) -> Callable:
    """``constructor`` for a file: a legacy tensor type called with sizes, or a bytearray
    with a length, allocates that much; more than the memory budget is refused."""
    def build(*args: Any) -> Any:
        sizes = [a for a in args if _is_int(a)]
        if sizes and len(sizes) == len(args):
            check_budget(math.prod(max(0, a) for a in sizes) * 8, f"{name}{tuple(args)}",
                         pickle.UnpicklingError)
        return constructor(*args)
    build.__qualname__ = name
    return build


def _encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as pickle protocol 2 uses it (bytes written as latin-1 text);
    other codecs are refused rather than looked up by a name the file chooses."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise pickle.UnpicklingError(f"_codecs.encode is allowed only as pickle writes bytes "
                                     f"(a str and 'latin1'), got {type(text).__name__} and "
                                     f"{str(encoding)[:20]!r}")
    return text.encode(encoding)


def _size(*shape: Any) -> tuple:
    if len(shape) != 1 or not isinstance(shape[0], (tuple, list)):
        raise pickle.UnpicklingError("torch.Size takes one list of sizes")
    return tuple(shape[0])


def _allowed_globals(source: str = "<file>") -> dict[str, Any]:
    """PyTorch's weights-only allow-list, name by name, with tinygan's meaning of each."""
    from tinygan.compat.legacy_types import CPU_TYPES, CUDA_TYPES
    rebuild = _Rebuilders(source)
    allowed: dict[str, Any] = {
        "collections.OrderedDict": collections.OrderedDict,
        "collections.Counter": collections.Counter,
        "builtins.set": set, "builtins.bytearray": _bounded(bytearray, "bytearray"),
        "builtins.complex": complex,
        "_codecs.encode": _encode,                     # how protocol 2 writes bytes
        "torch.Size": _size,
        "torch.device": _device,
        "torch.nn.parameter.Parameter": _ParameterClass,
        "torch.serialization._get_layout": lambda name: name,
        "torch._utils._rebuild_tensor": rebuild.tensor,
        "torch._utils._rebuild_tensor_v2": rebuild.tensor,
        "torch._utils._rebuild_parameter": rebuild.parameter,
        "torch._utils._rebuild_parameter_with_state": rebuild.parameter,
        "torch._utils._rebuild_device_tensor_from_cpu_tensor": rebuild.device_tensor,
        "torch._utils._rebuild_device_tensor_from_numpy": rebuild.device_tensor,
        "torch._tensor._rebuild_from_type_v2": rebuild.from_type,
        "torch.storage.UntypedStorage": StorageType("UntypedStorage", np.uint8),
    }
    for name, dtype in STORAGE_DTYPES.items():
        allowed[f"torch.{name}"] = allowed[f"torch.cuda.{name}"] = StorageType(name, dtype)
    allowed["torch.BFloat16Storage"] = allowed["torch.cuda.BFloat16Storage"] = StorageType(
        "BFloat16Storage", np.uint16, bfloat16_to_float32)
    for name, dtype in TORCH_DTYPES.items():
        allowed[f"torch.{name}"] = np.dtype(dtype)
    for name in CPU_TYPES:
        if f"torch.{name}" not in _UNSUPPORTED_ALLOWED:
            allowed[f"torch.{name}"] = _bounded(CPU_TYPES[name], f"torch.{name}")
            allowed[f"torch.cuda.{name}"] = _bounded(CUDA_TYPES[name], f"torch.cuda.{name}")
    for name in _UNSUPPORTED_ALLOWED:
        allowed.setdefault(name, _Unsupported(name))
    return allowed


class _ParameterClass(Parameter):
    """``torch.nn.Parameter`` as a file's NEWOBJ names it: built by its constructor."""

    _unpickle_with_init = True

    def __new__(cls, *args: Any, **kwargs: Any) -> Parameter:   # a plain Parameter comes out
        return Parameter(*args, **kwargs)


def _resolve(module: str, name: str) -> str:
    """A GLOBAL's full name; protocol 2 writes Python 2 names (__builtin__.set)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    return f"{module}.{name}"


class _Archive:
    """The .pt zip, checked as a whole before any record is read: one folder holding every
    member (PyTorch's rule), no member twice, a data.pkl and a version record, little-endian.
    ``read`` returns a record only after its declared size has been checked against the
    bytes the file holds and against the memory budget."""

    def __init__(self, f: Any, source: str) -> None:
        self.source = source
        try:
            self.zip = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, struct.error) as err:
            raise RuntimeError(f"tinygan.load: {source} is not a .pt zip archive (PyTorch's "
                               f"format since 1.6; the legacy format is not supported): "
                               f"{type(err).__name__}") from None
        f.seek(0, os.SEEK_END)
        self.file_size, self.used = f.tell(), 0
        self.infos: dict[str, zipfile.ZipInfo] = {}
        for info in self.zip.infolist():
            if info.filename in self.infos:
                raise _fail(source, f"the member {info.filename[:80]} appears twice in the "
                                    f"archive; refusing an ambiguous file")
            self.infos[info.filename] = info
        first = next(iter(self.infos), "")
        self.folder = first.split("/")[0]
        stray = [n for n in self.infos if not n.startswith(self.folder + "/")]
        if "/" not in first or stray:
            raise _fail(source, f"the member {(stray or [first])[0][:80]} is not in the "
                                f"archive's one folder {self.folder[:40]}/ (PyTorch's layout)")
        for record in ("data.pkl", "version"):
            if f"{self.folder}/{record}" not in self.infos:
                raise _fail(source, f"has no {self.folder}/{record} record")
        if self.infos.get(f"{self.folder}/byteorder") is not None and \
                self.read("byteorder", limit=16) != b"little":
            raise _fail(source, "big-endian files are not supported")

    def read(self, record: str, expected: int | None = None, limit: int | None = None
             ) -> bytearray:
        name = f"{self.folder}/{record}"
        info = self.infos.get(name)
        if info is None:
            raise _fail(self.source, f"has no record {name[:80]}")
        if expected is not None and info.file_size != expected:
            raise _fail(self.source, f"record {name[:80]} holds {info.file_size:,} bytes but "
                                     f"its storage declares {expected:,}")
        if limit is not None and info.file_size > limit:
            raise _fail(self.source, f"record {name[:80]} holds {info.file_size:,} bytes, "
                                     f"more than such a record can hold ({limit})")
        check_zip_member(info, self.file_size, f"tinygan.load: {self.source}: record "
                                               f"{name[:80]}", RuntimeError)
        self.used += info.file_size
        check_budget(self.used, f"tinygan.load: {self.source}: record {name[:80]}",
                     RuntimeError)
        buffer = bytearray(info.file_size)
        try:
            with self.zip.open(info) as member:      # inflates at most file_size bytes
                got = member.readinto(buffer)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError,
                ValueError) as err:
            raise _fail(self.source, f"record {name[:80]} is unreadable ({err})") from None
        if got != info.file_size:
            raise _fail(self.source, f"record {name[:80]} is truncated")
        return buffer


class _StorageLoader:
    """``persistent_load`` for one file: ('storage', type, key, location, numel) -> the
    Storage of record data/<key>, read once and shared by every tensor naming it."""

    def __init__(self, archive: _Archive, map_location: Any) -> None:
        self.archive, self.map_location = archive, map_location
        self.storages: dict[str, Storage] = {}
        self.bfloat16 = False

    def __call__(self, pid: Any) -> Storage:
        source = self.archive.source
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] in ("storage", b"storage")):
            raise pickle.UnpicklingError(f"tinygan.load: {source}: a persistent id must be "
                                         f"('storage', type, key, location, numel), got a "
                                         f"{type(pid).__name__}")
        _, kind, key, location, numel = pid
        if not isinstance(kind, StorageType):
            raise pickle.UnpicklingError(f"tinygan.load: {source}: a storage's type must be a "
                                         f"torch.*Storage, got a {type(kind).__name__}")
        if not isinstance(key, str) or not isinstance(location, str) or not _is_int(numel) \
                or numel < 0:
            raise _fail(source, f"a storage id needs a text key, a text location and a "
                                f"whole number of elements >= 0, got {type(key).__name__}, "
                                f"{type(location).__name__}, {numel!r:.40}")
        if not key or key.endswith("/"):   # data/ itself, a zip folder: no record's bytes
            raise _fail(source, f"a storage key must name a record, got {key[:40]!r}")
        if key in self.storages:
            if self.storages[key].kind is not kind:
                raise _fail(source, f"data/{key[:40]} is named as {self.storages[key].kind.name} "
                                    f"and as {kind.name}")
            return self.storages[key]
        device = _map_location(self.map_location, location, source)
        raw = self.archive.read(f"data/{key}", expected=numel * kind.dtype.itemsize)
        array = np.frombuffer(raw, dtype=kind.dtype.newbyteorder("<"))
        if array.dtype != kind.dtype:                  # a big-endian machine: to its order
            array = array.astype(kind.dtype)
        if kind.dtype == np.bool_:                     # any non-zero byte is True (PyTorch)
            as_bytes = np.frombuffer(raw, dtype=np.uint8)
            as_bytes[as_bytes > 1] = 1
        if kind.convert is not None:
            check_budget(array.size * 4, f"tinygan.load: {source}: data/{key[:40]}",
                         RuntimeError)
            array = kind.convert(array)
            self.bfloat16 = True
        self.storages[key] = Storage(array, device, kind, key)
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
    try:
        device = backend.normalize_device(target)
    except (ValueError, TypeError, KeyError) as err:
        raise _fail(source, f"storage location {str(target)[:40]!r} is not a device tinygan "
                            f"knows ({str(err).splitlines()[0] if str(err) else err!r})"
                    ) from None
    if device == "cuda" and not backend.accelerator_available():
        raise RuntimeError(f"tinygan.load: {source}: Attempting to deserialize object on a CUDA "
                           f"device but tinygan.cuda.is_available() is False. If you are "
                           f"running on a CPU-only machine, please use tinygan.load with "
                           f"map_location='cpu' to map your storages to the CPU.")
    return device


def _open(f: Any) -> tuple[Any, str, bool]:
    """(binary file, its name for messages, whether we opened it). A path must name a
    regular file (a link to one is followed, as PyTorch does; a FIFO, a device such as
    /dev/zero or a directory is refused before anything is read)."""
    if isinstance(f, (str, os.PathLike)):
        path = os.fspath(f)
        return open_regular(path, follow_symlinks=True, error=lambda m: RuntimeError(
            f"tinygan.load: {m}")), path, True
    return f, str(getattr(f, "name", "<file object>")), False


def load(f: Any, map_location: Any = None, pickle_module: Any = None, *,
         weights_only: bool | None = True, mmap: Any = None, **pickle_load_args: Any) -> Any:
    """Read an object saved by ``torch.save`` or ``tinygan.save`` (the .pt zip format):
    tensors come back as tinygan Tensors (Parameters as Parameters), on the device they
    were saved from, as in PyTorch ("cpu", or "cuda" for a tensor saved there), unless
    ``map_location`` says where (``map_location="cpu"`` on a machine without a GPU).

    Tensors that share a storage in the file share one array here (views, as in PyTorch).
    bfloat16 tensors come back as float32 holding the same values (NumPy has no bfloat16),
    with a warning saying so. A file that is not what it declares (a size, offset or stride
    past its storage, a record of the wrong length, a member twice, an opcode or global
    PyTorch's weights-only loader refuses) raises one line naming the file and the field.
    """
    if pickle_module is not None:
        raise TypeError("tinygan.load: pickle_module is not supported (tinygan unpickles "
                        "only with its own allow-list)")
    stream, source, opened = _open(f)
    try:
        archive = _Archive(stream, source)
        with archive.zip:
            storages = _StorageLoader(archive, map_location)
            pickled = archive.read("data.pkl")
            result = WeightsOnlyUnpickler(bytes(pickled), source, _allowed_globals(source),
                                          storages, _resolve).load()
    finally:
        if opened:
            stream.close()
    if storages.bfloat16:
        warnings.warn(f"tinygan.load: {source}: bfloat16 tensors were read as float32 (NumPy "
                      f"has no bfloat16; every bfloat16 value is exactly a float32 value)",
                      stacklevel=2)
    return result


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
