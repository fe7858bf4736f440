"""The IDX file format: how MNIST is stored on disk.

An IDX file is a tiny header followed by one big array, all big-endian:

    bytes 0-1   0x00 0x00            (the magic number starts with two zero bytes)
    byte  2     dtype code           0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
                                     0x0D float32, 0x0E float64
    byte  3     ndim                 number of dimensions
    then        ndim x uint32        the size of each dimension
    then        the data             prod(sizes) items, row-major (C order)

MNIST's images are ``(N, 28, 28)`` uint8 (code 0x08, ndim 3: "idx3"), its labels ``(N,)``
uint8 ("idx1"). Files may be gzip-compressed (``.gz``), as they are distributed.

Because the header states exactly how many bytes follow, a reader can check a file fully
before trusting it: a truncated download or a file of the wrong kind is refused here with a
one-line message, rather than turning into a wrongly shaped array later.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

# dtype code -> big-endian NumPy dtype (">" = most significant byte first).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class IdxFormatError(ValueError):
    """A file that is not a valid IDX file (bad magic, dtype, dimensions or length)."""


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError) as err:  # gzip raises these for corrupt/truncated archives
        if isinstance(err, FileNotFoundError):
            raise FileNotFoundError(f"read_idx: {path}: no such file") from None
        raise IdxFormatError(f"read_idx: {path}: cannot decompress/read ({err})") from None


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a NumPy array in native byte order.

    The header is validated against the file: magic number, dtype code, dimension count and
    the exact data length. Any mismatch raises ``IdxFormatError`` naming the file.

    Returns an array of shape ``(d0, d1, ...)`` as stated by the header.
    """
    path = Path(path)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IdxFormatError(f"read_idx: {path}: {len(raw)} bytes is too short for an IDX header")
    if raw[0] != 0 or raw[1] != 0:
        raise IdxFormatError(f"read_idx: {path}: bad magic number {raw[:4].hex()} "
                             f"(an IDX file starts with two zero bytes)")
    code, ndim = raw[2], raw[3]
    if code not in IDX_DTYPES:
        raise IdxFormatError(f"read_idx: {path}: unknown dtype code 0x{code:02X} "
                             f"(valid: {', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if ndim == 0:
        raise IdxFormatError(f"read_idx: {path}: header says 0 dimensions")
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise IdxFormatError(f"read_idx: {path}: truncated header ({len(raw)} bytes, "
                             f"{ndim} dimensions need {header_len})")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = header_len + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has trailing bytes"
        raise IdxFormatError(f"read_idx: {path}: file {problem}: {len(raw)} bytes, but a "
                             f"{dtype.name} array of shape {shape} needs {expected}")
    data = np.frombuffer(raw, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # native byte order, and a writable copy


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file (gzip-compressed when ``path`` ends in .gz).

    The inverse of ``read_idx``; handy for tests and for saving small datasets.
    """
    path = Path(path)
    array = np.asarray(array)
    codes = {dt.newbyteorder("=").str: code for code, dt in IDX_DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("=").str)
    if code is None:
        raise TypeError(f"write_idx: {path}: dtype {array.dtype} has no IDX code "
                        f"(use uint8, int8, int16, int32, float32 or float64)")
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: {path}: need 1 to 255 dimensions, got {array.ndim}")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    body = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + body)
