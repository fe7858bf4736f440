"""Writing a file all or nothing: the one helper every tinygan output goes through.

Writing ``metrics.json`` in place and being killed (or meeting a full disk) half-way leaves
half a file under the real name: the good old version is gone and the new one is broken.
The cure, used by databases and editors alike, is three steps:

1. write the new bytes into a temporary file in the SAME folder (``.tmp-<name>-XXXX``);
2. flush them and ``fsync`` the file, so the bytes are on the disk, not only in a cache;
3. ``os.replace`` the temporary file onto the real name, then ``fsync`` the folder.

``os.replace`` within one filesystem is atomic: a reader (or a crash) sees either the old
file or the new one, never a mixture. A failure at any step deletes the temporary file and
leaves the old file untouched. A temporary file is left behind only by a process killed
mid-write (kill -9, a power cut); run folders delete such ``.tmp-*`` leftovers at start.

Checkpoints, metrics.json, every picture, ``tinygan sample``'s output, the MNIST download
and the digit classifier's cache all use ``atomic_write``.
"""
from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from typing import IO, Any, Iterator

#: prefix of every temporary file, so stale ones are easy to recognise and clean
TMP_PREFIX = ".tmp-"

# errors of the disk itself: when the body of a write raises one of these, it is reported as
# a failure to write the file (other errors, a network error while downloading say, pass as
# they are)
_DISK_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EIO, errno.EACCES,
                errno.EPERM}


class WriteError(OSError):
    """A file could not be written; the message names it and says what was kept."""


def current_umask() -> int:
    """The process's umask (os.umask can only be read by setting it, so set it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_error(path: str, err: OSError) -> WriteError:
    kept = ("the previous version is intact" if os.path.exists(path)
            else "no file was left under that name")
    reason = err.strerror or str(err)
    error = WriteError(f"could not write {path}: {reason} ({kept})")
    error.errno = err.errno
    return error


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; folders cannot be opened on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def temporary_prefix(path: str, folder: str) -> str:
    """``.tmp-<name>-``, with the name cut short where needed so that the temporary name
    (this prefix and mkstemp's 8 random characters) stays within the system's limit on
    a file name (NAME_MAX, 255 bytes): a legal 250-byte name must stay writable."""
    try:
        name_max = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        name_max = 255
    room = name_max - len(TMP_PREFIX) - 1 - 8
    cut = os.fsencode(os.path.basename(path))[:max(room, 0)]
    return f"{TMP_PREFIX}{cut.decode('utf-8', 'ignore')}-"   # no half of a UTF-8 character


class PreparedWrite:
    """Steps 1-2 of an atomic write: ``with PreparedWrite(path) as f: ...`` leaves a complete,
    fsynced temporary file; ``commit()`` renames it onto ``path`` (step 3), ``discard()``
    deletes it. Preparing two files before committing either lets a pair (a checkpoint and
    its metrics.json) change together: a full disk fails while preparing, before any rename.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "wb") -> None:
        if mode not in ("wb", "w"):
            raise ValueError(f"atomic_write: mode must be 'wb' or 'w', got {mode!r}")
        self.path, self.mode = os.fspath(path), mode
        self.folder = os.path.dirname(os.path.abspath(self.path))
        self.tmp: str | None = None
        self.ready = False

    def __enter__(self) -> IO:
        try:
            os.makedirs(self.folder, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(prefix=temporary_prefix(self.path, self.folder),
                                            dir=self.folder)
        except OSError as err:
            raise _write_error(self.path, err) from None
        try:
            os.fchmod(fd, 0o666 & ~current_umask())   # what open() would give, not 0600
        except (AttributeError, OSError):             # no fchmod on Windows
            pass
        self.file = os.fdopen(fd, self.mode, **({"encoding": "utf-8"} if self.mode == "w"
                                                else {}))
        return self.file

    def __exit__(self, kind: Any, error: Any, traceback: Any) -> None:
        try:
            if error is None:
                self.file.flush()
                os.fsync(self.file.fileno())
            self.file.close()
        except OSError as err:
            self.discard()
            raise _write_error(self.path, err) from None
        except BaseException:
            self.discard()
            raise
        if error is not None:
            self.discard()
            if isinstance(error, OSError) and not isinstance(error, WriteError) and (
                    error.errno in _DISK_ERRORS):
                raise _write_error(self.path, error) from None
            return None                               # the body's own error goes on
        self.ready = True
        return None

    def commit(self) -> None:
        """Rename the prepared file onto its path (atomic), and make that durable."""
        if not self.ready:
            raise RuntimeError(f"atomic_write: {self.path} was not prepared")
        try:
            os.replace(self.tmp, self.path)
        except OSError as err:
            self.discard()
            raise _write_error(self.path, err) from None
        self.ready = False
        _fsync_folder(self.folder)

    def discard(self) -> None:
        if self.tmp is not None:
            try:
                os.remove(self.tmp)
            except OSError:
                pass
        self.ready = False


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """``with atomic_write(path) as f: f.write(...)``: ``path`` gets the new content only if
    the block finishes; otherwise the old file (if any) stays as it was.

    mode: "wb" (bytes) or "w" (text, UTF-8). The file gets the permissions ``open()`` would
    give it (0666 minus the umask), not mkstemp's private 0600. An OSError of the disk
    (full, read-only, no permission) is raised as ``WriteError`` naming the file.
    """
    prepared = PreparedWrite(path, mode)
    try:
        with prepared as f:
            yield f
        prepared.commit()
    except BaseException:
        prepared.discard()
        raise


def remove_stale_temporaries(folder: str | os.PathLike) -> list[str]:
    """Delete the ``.tmp-*`` files a killed writer left in ``folder``; returns their names.
    Call it only while holding the folder's lock (another writer's live file looks the same).
    """
    folder = os.fspath(folder)
    removed = []
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return removed
    for name in sorted(names):
        full = os.path.join(folder, name)
        if name.startswith(TMP_PREFIX) and os.path.isfile(full):
            os.remove(full)
            removed.append(name)
    return removed
