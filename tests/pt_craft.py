"""Hand-made .pt files for the hostile-file tests and fuzzers: a protocol-2 pickle written
opcode by opcode (so a test can say exactly what a file does: a BUILD here, a stride there),
and the zip archive PyTorch's format wraps it in."""
from __future__ import annotations

import io
import struct
import zipfile
from typing import Any, Callable


class Op:
    """A piece of a pickle stream already written as opcodes (a global, a call, ...)."""

    def __init__(self, code: bytes) -> None:
        self.code = code


def encode(value: Any) -> bytes:
    """Opcodes that push ``value``: None, bool, int, float, str, bytes (as SHORT_BINSTRING),
    tuples, lists, dicts (SETITEMS) and Op pieces, nested."""
    if isinstance(value, Op):
        return value.code
    if value is None:
        return b"N"
    if value is True:
        return b"\x88"
    if value is False:
        return b"\x89"
    if isinstance(value, int):
        if 0 <= value < 256:
            return b"K" + bytes([value])
        if -2 ** 31 <= value < 2 ** 31:
            return b"J" + struct.pack("<i", value)
        raw = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True)
        return b"\x8a" + bytes([len(raw)]) + raw
    if isinstance(value, float):
        return b"G" + struct.pack(">d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8", "surrogatepass")
        return b"X" + struct.pack("<I", len(raw)) + raw
    if isinstance(value, bytes):
        return b"U" + bytes([len(value)]) + value
    if isinstance(value, tuple):
        if not value:
            return b")"
        return b"(" + b"".join(encode(v) for v in value) + b"t"
    if isinstance(value, list):
        return b"]" + (b"(" + b"".join(encode(v) for v in value) + b"e" if value else b"")
    if isinstance(value, dict):
        body = b"".join(encode(k) + encode(v) for k, v in value.items())
        return b"}" + (b"(" + body + b"u" if value else b"")
    raise TypeError(f"pt_craft cannot encode {type(value).__name__}")


def glob(module: str, name: str) -> Op:
    return Op(b"c" + f"{module}\n{name}\n".encode("utf-8"))


def call(func: Op, *args: Any) -> Op:
    """func(*args) through REDUCE."""
    return Op(func.code + encode(tuple(args)) + b"R")


def build(obj: Any, state: Any) -> Op:
    """obj, then BUILD with ``state`` (what pickle does for obj.__setstate__ / __dict__)."""
    return Op(encode(obj) + encode(state) + b"b")


def ordered_dict(items: dict | None = None) -> Op:
    code = call(glob("collections", "OrderedDict")).code
    if items:
        code += b"(" + b"".join(encode(k) + encode(v) for k, v in items.items()) + b"u"
    return Op(code)


def storage(key: str, numel: int, dtype: str = "FloatStorage", location: str = "cpu") -> Op:
    """The persistent id ('storage', torch.<dtype>, key, location, numel) and BINPERSID."""
    return Op(encode(("storage", glob("torch", dtype), key, location, numel)) + b"Q")


def tensor(store: Op, offset: int, size: tuple, stride: tuple, requires_grad: bool = False
           ) -> Op:
    return call(glob("torch._utils", "_rebuild_tensor_v2"), store, offset, tuple(size),
                tuple(stride), requires_grad, ordered_dict())


def pickle_bytes(value: Any) -> bytes:
    return b"\x80\x02" + encode(value) + b"."


def archive(pickled: bytes, records: dict[str, bytes] | None = None, folder: str = "archive",
            extra: list[tuple[str, bytes]] | None = None) -> bytes:
    """A .pt zip: folder/data.pkl, folder/data/<key> records, byteorder and version; ``extra``
    members are added as given (duplicates too)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{folder}/data.pkl", pickled)
        zf.writestr(f"{folder}/byteorder", b"little")
        for key, raw in (records or {}).items():
            zf.writestr(f"{folder}/data/{key}", raw)
        zf.writestr(f"{folder}/version", b"3\n")
        for name, raw in extra or []:
            with _quiet_duplicates():
                zf.writestr(name, raw)
    return buffer.getvalue()


class _quiet_duplicates:
    def __enter__(self) -> None:
        import warnings
        self.catch = warnings.catch_warnings()
        self.catch.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc: Any) -> None:
        self.catch.__exit__(*exc)


def floats(*values: float) -> bytes:
    return struct.pack(f"<{len(values)}f", *values)


def load_with(loader: Callable[[Any], Any], raw: bytes, name: str = "hostile.pt") -> Any:
    stream = io.BytesIO(raw)
    stream.name = name
    return loader(stream)
