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
import math
import os
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tinygan.run.untrusted import check_budget, open_regular

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


def _open(path: Path) -> tuple[BinaryIO, BinaryIO, int | None]:
    """(the regular file, the stream of IDX bytes, the stream's length if known). A .gz is
    decompressed as it is read, so only the bytes asked for are ever inflated; its
    inflated length is unknown until the end (a 2 MB file may inflate to gigabytes)."""
    if not os.path.lexists(path):
        raise FileNotFoundError(f"read_idx: {path}: no such file")
    raw = open_regular(path, follow_symlinks=True, error=IdxFormatError, what="read_idx: ")
    if path.suffix == ".gz":
        return raw, gzip.GzipFile(fileobj=raw, mode="rb"), None
    return raw, raw, os.fstat(raw.fileno()).st_size


def _read_exactly(stream: BinaryIO, n: int, path: Path, what: str) -> bytearray:
    """``n`` bytes of ``stream``, read in chunks: the buffer grows with the bytes that
    actually arrive, so a header declaring gigabytes over a short .gz allocates little."""
    buffer = bytearray()
    while len(buffer) < n:
        chunk = stream.read(min(n - len(buffer), 1 << 24))
        if not chunk:
            raise IdxFormatError(f"read_idx: {path}: file truncated: {what} needs {n} bytes, "
                                 f"the file holds {len(buffer)}")
        buffer += chunk
    return buffer


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (plain or .gz) into a NumPy array in native byte order.

    The header is validated before the data is read: magic number, dtype code, dimension
    count, and the data length it declares, computed exactly (Python integers: 65536^4
    does not wrap to 0) and checked against the bytes present (a plain file) and the memory
    budget (before allocating). A .gz is inflated only up to the declared length, plus one
    byte to find trailing data. Any mismatch raises ``IdxFormatError`` naming the file.

    Returns an array of shape ``(d0, d1, ...)`` as stated by the header.
    """
    path = Path(path)
    raw, stream, length = _open(path)
    try:
        with raw, stream:
            return _read_idx(path, stream, length)
    except (OSError, EOFError, zlib.error) as err:   # gzip's errors for corrupt archives
        if isinstance(err, (IdxFormatError, FileNotFoundError)):
            raise
        raise IdxFormatError(f"read_idx: {path}: cannot decompress/read ({err})") from None


def _read_idx(path: Path, stream: BinaryIO, length: int | None) -> np.ndarray:
    head = stream.read(4)
    if len(head) < 4:
        raise IdxFormatError(f"read_idx: {path}: {len(head)} bytes is too short for an IDX "
                             f"header")
    if head[0] != 0 or head[1] != 0:
        raise IdxFormatError(f"read_idx: {path}: bad magic number {head.hex()} "
                             f"(an IDX file starts with two zero bytes)")
    code, ndim = head[2], head[3]
    if code not in IDX_DTYPES:
        raise IdxFormatError(f"read_idx: {path}: unknown dtype code 0x{code:02X} "
                             f"(valid: {', '.join(f'0x{c:02X}' for c in IDX_DTYPES)})")
    if ndim == 0:
        raise IdxFormatError(f"read_idx: {path}: header says 0 dimensions")
    header_len = 4 + 4 * ndim
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IdxFormatError(f"read_idx: {path}: truncated header ({4 + len(dims)} bytes, "
                             f"{ndim} dimensions need {header_len})")
    shape = tuple(int.from_bytes(dims[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    dtype = IDX_DTYPES[code]
    nbytes = math.prod(shape) * dtype.itemsize      # exact: Python ints do not wrap
    expected = header_len + nbytes
    if length is not None and length != expected:
        problem = "truncated" if length < expected else "has trailing bytes"
        raise IdxFormatError(f"read_idx: {path}: file {problem}: {length} bytes, but a "
                             f"{dtype.name} array of shape {shape} needs {expected}")
    check_budget(nbytes, f"read_idx: {path}: a {dtype.name} array of shape {shape}",
                 IdxFormatError)
    data = _read_exactly(stream, nbytes, path, f"a {dtype.name} array of shape {shape}")
    if length is None and stream.read(1):
        raise IdxFormatError(f"read_idx: {path}: file has trailing bytes: a {dtype.name} "
                             f"array of shape {shape} needs {expected} bytes, and more follow")
    try:
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
    except ValueError:   # no elements, but sizes whose product NumPy cannot index
        raise IdxFormatError(f"read_idx: {path}: shape {shape} is too large for NumPy to "
                             f"index, although it holds no elements") from None
    return array.astype(dtype.newbyteorder("="), copy=False)  # native byte order, writable


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
