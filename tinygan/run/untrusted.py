"""Reading files you did not make: the checks every tinygan reader makes before it trusts one.

A file from a course forum, a classmate's run folder or a teacher's data folder is input
from a stranger. Its name may be a symbolic link to something else (``/dev/zero``, a file
outside the folder), a FIFO (a read waits forever), or a directory; its header may declare
any size. So every reader in tinygan goes through the same three steps:

1. **Open only a regular file.** ``open_regular`` opens without blocking (``O_NONBLOCK``: a
   FIFO would otherwise hang the open itself) and, for a run folder's own files, without
   following a symbolic link (``O_NOFOLLOW``); then ``fstat`` on the open descriptor (not
   on the name, which could be swapped in between) must say "regular file".
2. **Check every declared size against the bytes present** before reading them, and
3. **against a memory budget** (``check_budget``) before allocating: a 50-byte header may
   claim 2^40 elements.

JSON files get one more check (``read_json``): a size cap and a nesting cap, since a
deeply nested document makes Python's parser, and everything that walks the result, recurse.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import zipfile
from typing import IO, Any, Callable

#: a JSON file nested deeper than this is refused (tinygan writes at most about 6 levels)
MAX_JSON_DEPTH = 64

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link"))

ErrorType = Callable[[str], Exception]


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def open_regular(path: str | os.PathLike, *, follow_symlinks: bool,
                 error: ErrorType = OSError, what: str = "") -> IO[bytes]:
    """``path`` opened for reading in binary mode, if it is a regular file; otherwise
    ``error("<what><path>: <why>")`` in one line. ``follow_symlinks=False`` refuses a
    symbolic link (a run folder's files); True reads through it but still only to a regular
    file (a data file the user named, which may be a link into a dataset store)."""
    path = os.fspath(path)
    name = f"{what}{path}"
    try:   # look first, so that opening never touches a device or a FIFO at all
        mode = (os.stat if follow_symlinks else os.lstat)(path).st_mode
    except FileNotFoundError:
        raise error(f"{name}: no such file") from None
    except OSError as err:
        raise error(f"{name}: cannot read it ({err.strerror or err})") from None
    if not stat.S_ISREG(mode):
        hint = "" if follow_symlinks or not stat.S_ISLNK(mode) else (
            "; tinygan does not follow links here (copy the file instead)")
        raise error(f"{name}: is {_kind(mode)}, not a regular file{hint}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    except OSError as err:   # swapped for a link or removed since the look: refuse the same
        reason = ("is a symbolic link, not a regular file" if err.errno == errno.ELOOP
                  else f"cannot read it ({err.strerror or err})")
        raise error(f"{name}: {reason}") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"{name}: is {_kind(mode)}, not a regular file")
    return os.fdopen(fd, "rb")


def available_memory() -> int | None:
    """Bytes of memory this process may still use (Linux's MemAvailable), or None."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_budget() -> int:
    """The most bytes one file may make a reader allocate: the memory available now (2 GiB
    where that cannot be read)."""
    available = available_memory()
    return available if available is not None else 2 ** 31


def check_budget(nbytes: int, name: str, error: ErrorType = MemoryError) -> None:
    """Refuse, before allocating, a declared size larger than the memory budget."""
    budget = memory_budget()
    if nbytes > budget:
        raise error(f"{name}: declares {nbytes:,} bytes, more than the {budget:,} bytes of "
                    f"memory available; refusing to allocate it")


def read_limited(f: IO[bytes], limit: int, name: str, error: ErrorType) -> bytes:
    """All of ``f``, refusing it (without reading further) once it passes ``limit`` bytes."""
    data = f.read(limit + 1)
    if len(data) > limit:
        raise error(f"{name}: larger than {limit:,} bytes; refusing to read it")
    return data


def json_depth(value: Any) -> int:
    """How deeply ``value``'s lists and dicts nest (0 for a number), without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        if isinstance(node, (list, dict)):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in
                        (node.values() if isinstance(node, dict) else node))
    return deepest


def parse_json(text: bytes | str, name: str, error: ErrorType) -> Any:
    """Strict-enough JSON from a stranger: one line naming ``name`` for bad syntax, bad
    UTF-8, and nesting deeper than ``MAX_JSON_DEPTH``."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{name}: nested deeper than {MAX_JSON_DEPTH} levels; refusing it") from None
    except (UnicodeDecodeError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise error(f"{name}: unreadable, not valid JSON ({reason})") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise error(f"{name}: nested deeper than {MAX_JSON_DEPTH} levels; refusing it")
    return value


def read_json(path: str | os.PathLike, *, limit: int, error: ErrorType,
              follow_symlinks: bool = False) -> Any:
    """A JSON file that is a regular file of at most ``limit`` bytes, nested at most
    ``MAX_JSON_DEPTH`` levels; ``error`` (one line naming the file) otherwise."""
    with open_regular(path, follow_symlinks=follow_symlinks, error=error) as f:
        text = read_limited(f, limit, os.fspath(path), error)
    return parse_json(text, os.fspath(path), error)


#: deflate never inflates one byte into more than 1032 (its longest run per bit of input)
MAX_DEFLATE_RATIO = 1032


def check_zip_member(info: zipfile.ZipInfo, archive_size: int, name: str,
                     error: ErrorType) -> None:
    """A zip member's declared size checked against the bytes the archive holds, before
    anything is allocated for it: a stored member holds exactly its size, a deflated one at
    most 1032 times its compressed bytes; other methods (.pt and .npz use none) refused."""
    if info.header_offset + info.compress_size > archive_size:
        raise error(f"{name}: declares {info.compress_size:,} bytes past the end of the file "
                    f"(truncated?)")
    if info.compress_type == zipfile.ZIP_STORED:
        if info.compress_size != info.file_size:
            raise error(f"{name}: stored uncompressed, yet declares {info.file_size:,} bytes "
                        f"for {info.compress_size:,}")
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        if info.file_size > info.compress_size * MAX_DEFLATE_RATIO + 1024:
            raise error(f"{name}: declares {info.file_size:,} bytes from "
                        f"{info.compress_size:,} deflated ones, more than deflate can make")
    else:
        raise error(f"{name}: compressed with zip method {info.compress_type}; only stored "
                    f"and deflated members are read")
