"""Property-based fuzzing of every reader of files from outside (issue 30).

The 22 cases of the issue were a sample; these generators are how the rest of the class is
found. Each draws hostile files of one kind (hypothesis shrinks any failure to a small one)
and checks the one property every reader promises: it returns a value that matches what the
file declares, or it raises its own error in one line naming the file. Never another
exception (a traceback), a crash, an allocation the file merely declares, or a hang.

For the .pt reader, where PyTorch is installed, the structured files are also loaded by
``torch.load(weights_only=True)``: tinygan must accept what PyTorch accepts (with PyTorch's
values) and refuse what it refuses, except the documented differences (README, "Loading
files you did not make").

CI runs ``TINYGAN_FUZZ_EXAMPLES`` examples per generator (default 60: well under a minute in
all); a longer run: ``TINYGAN_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz_readers.py``.
"""
import gzip
import io
import json
import math
import os
import pickle
import struct
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygan
from tinygan.data.idx import IDX_DTYPES, IdxFormatError, read_idx
from tinygan.run.checkpoint import CheckpointError, read_checkpoint
from tinygan.run.runfolder import RunFolderError, read_report
from tests import pt_craft as pt

EXAMPLES = int(os.environ.get("TINYGAN_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                suppress_health_check=list(HealthCheck))

try:
    import torch
except Exception:  # pragma: no cover - depends on the machine
    torch = None


def assert_one_line(err, prefix):
    text = str(err)
    assert text.startswith(prefix) and "\n" not in text, repr(text[:300])


def touch_every_value(value, seen=None):
    """Read every element of every tensor in a loaded object (an out-of-bounds view would
    read garbage or crash here), for tensors small enough to read."""
    seen = set() if seen is None else seen
    todo = [value]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, tinygan.Tensor):
            if node.array.size <= 10 ** 6:
                np.asarray(node.array).tobytes()
        elif isinstance(node, dict):
            todo.extend(node.values())
        elif isinstance(node, (list, tuple, set)):
            todo.extend(node)


def load_pt(raw, name="fuzz.pt"):
    """tinygan.load's promise: a value, or one line starting 'tinygan.load: fuzz.pt'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = pt.load_with(tinygan.load, raw, name)
        except (RuntimeError, pickle.UnpicklingError) as err:
            assert_one_line(err, f"tinygan.load: {name}")
            return err
    touch_every_value(value)
    return value


# ---- .pt archives: structure drawn, then mutated -----------------------------------------
STORAGES = {"FloatStorage": 4, "DoubleStorage": 8, "HalfStorage": 2, "LongStorage": 8,
            "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
            "BoolStorage": 1, "BFloat16Storage": 2, "ComplexFloatStorage": 8}
small = st.integers(-3, 6)
edge = st.sampled_from([-2 ** 63, -1, 0, 1, 2 ** 31, 2 ** 62, 2 ** 63, 2 ** 64, 2 ** 70])
dim = st.one_of(small, small, small, edge)


@st.composite
def pt_tensors(draw, keys):
    key = draw(st.sampled_from(keys))
    kind = draw(st.sampled_from(sorted(STORAGES)))
    numel = draw(st.one_of(st.integers(0, 12), edge))
    ndim = draw(st.integers(0, 3))
    size = tuple(draw(dim) for _ in range(ndim))
    stride = tuple(draw(dim) for _ in range(draw(st.sampled_from([ndim] * 5 + [ndim + 1]))))
    return pt.tensor(pt.storage(key, numel, kind), draw(st.one_of(small, edge)), size, stride,
                     draw(st.booleans()))


@st.composite
def pt_archives(draw):
    """(archive bytes, whether tinygan may refuse what PyTorch accepts)."""
    keys = draw(st.lists(st.sampled_from(["0", "1", "2", "x/../0", ""]), min_size=1,
                         max_size=3, unique=True))
    records = {k: draw(st.binary(max_size=48)) for k in keys if draw(st.booleans()) or k == "0"}
    tensors = draw(st.lists(pt_tensors(keys), min_size=1, max_size=4))
    obj = draw(st.sampled_from(["dict", "list", "ordered", "param"]))
    if obj == "dict":
        value = {f"t{i}": t for i, t in enumerate(tensors)}
    elif obj == "list":
        value = list(tensors)
    elif obj == "ordered":
        value = pt.build(pt.ordered_dict({f"t{i}": t for i, t in enumerate(tensors)}),
                         {"_metadata": {"": {"version": 1}}})
    else:
        value = [pt.call(pt.glob("torch._utils", "_rebuild_parameter"), t, False,
                         pt.ordered_dict()) for t in tensors]
    extra, different = [], "" in keys   # PyTorch reads key "" (a zip folder) as garbage
    if draw(st.integers(0, 9)) == 0:     # a second data.pkl, or a record twice
        extra.append((draw(st.sampled_from(["archive/data.pkl", "archive/data/0"])),
                      draw(st.binary(max_size=8))))
        different = True
    return pt.archive(pt.pickle_bytes(value), records, extra=extra), different


def torch_load(raw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.load(io.BytesIO(raw), weights_only=True)
        except Exception as err:   # PyTorch's own refusals come in many types
            return err


def flat_tensors(value):
    if isinstance(value, dict):
        return [t for v in value.values() for t in flat_tensors(v)]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in flat_tensors(v)]
    return [value]


@FUZZ
@given(pt_archives())
def test_fuzz_pt_archives_against_pytorch(drawn):
    raw, may_differ = drawn
    ours = load_pt(raw)
    if torch is None:
        return
    theirs = torch_load(raw)
    if isinstance(theirs, Exception):
        if not may_differ:
            assert isinstance(ours, Exception), f"PyTorch refused ({theirs!r:.200}), tinygan " \
                                                f"loaded it"
        return
    if isinstance(ours, Exception):
        assert may_differ or _numpy_cannot_hold(theirs), f"PyTorch loaded it, tinygan: {ours}"
        return
    for a, b in zip(flat_tensors(ours), flat_tensors(theirs)):
        if b.numel() > 10 ** 6:
            continue
        expected = b.detach().float() if b.dtype == torch.bfloat16 else b.detach()
        np.testing.assert_array_equal(a.numpy(), expected.numpy())


def _numpy_cannot_hold(value):
    """A zero-element tensor whose shape NumPy cannot make: sizes multiplying past its index
    range, or a negative size beside a 0 (PyTorch keeps both; tinygan refuses them, as the
    README says)."""
    return any(t.numel() == 0 and (min(t.shape) < 0 or math.prod(
        abs(t.shape[i]) or 1 for i in range(t.dim())) >= 2 ** 62)
        for t in flat_tensors(value) if hasattr(t, "numel"))


VALID_PT = pt.archive(pt.pickle_bytes({
    "w": pt.tensor(pt.storage("0", 4), 0, (2, 2), (2, 1)),
    "row": pt.tensor(pt.storage("0", 4), 2, (2,), (1,)),
    "meta": pt.build(pt.ordered_dict({"a": 1.5, "b": "text"}), {"_metadata": {}}),
    "i": pt.tensor(pt.storage("1", 2, "LongStorage"), 1, (), ())}),
    {"0": pt.floats(1, 2, 3, 4), "1": struct.pack("<2q", 7, -8)})


@FUZZ
@given(st.data())
def test_fuzz_pt_bytes_mutated(data):
    """A valid archive with bytes overwritten, inserted or cut: never more than a refusal."""
    raw = bytearray(VALID_PT)
    for _ in range(data.draw(st.integers(1, 8))):
        at = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["set", "insert", "cut"]))
        if how == "set":
            raw[at] = data.draw(st.integers(0, 255))
        elif how == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del raw[at:at + data.draw(st.integers(1, 64))]
    load_pt(bytes(raw))


# ---- raw pickle streams ----------------------------------------------------------------
OPCODES = [b"c", b"\x81", b"R", b"b", b"a", b"e", b"s", b"u", b"(", b"t", b"\x85", b"\x86",
           b"\x87", b"N", b"\x89", b"\x88", b")", b"]", b"}", b"\x8f", b"J", b"K", b"M", b"G",
           b"X", b"U", b"Q", b"h", b"j", b"q", b"r", b"\x8a", b"\x80", b"."]
GLOBALS = [("collections", "OrderedDict"), ("collections", "Counter"), ("builtins", "set"),
           ("builtins", "bytearray"), ("builtins", "complex"), ("_codecs", "encode"),
           ("torch", "Size"), ("torch", "device"), ("torch.nn.parameter", "Parameter"),
           ("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_parameter"),
           ("torch._tensor", "_rebuild_from_type_v2"), ("torch", "FloatStorage"),
           ("torch", "FloatTensor"), ("torch", "float32"), ("torch", "BFloat16Storage"),
           ("torch._utils", "_rebuild_device_tensor_from_numpy"), ("torch", "Tensor"),
           ("os", "system"), ("builtins", "getattr"), ("__builtin__", "set")]


@st.composite
def opcode_streams(draw):
    out = bytearray(b"\x80\x02")
    for _ in range(draw(st.integers(0, 40))):
        code = draw(st.sampled_from(OPCODES))
        out += code
        if code == b"c":
            module, name = draw(st.sampled_from(GLOBALS))
            out += f"{module}\n{name}\n".encode()
        elif code in (b"J", b"G"):
            out += draw(st.binary(min_size=4 if code == b"J" else 8,
                                  max_size=4 if code == b"J" else 8))
        elif code in (b"K", b"h", b"q", b"\x80"):
            out += bytes([draw(st.integers(0, 5))])
        elif code == b"M":
            out += struct.pack("<H", draw(st.integers(0, 2 ** 16 - 1)))
        elif code in (b"j", b"r"):
            out += struct.pack("<I", draw(st.sampled_from([0, 1, 2, 2 ** 32 - 1])))
        elif code == b"X":
            text = draw(st.sampled_from(["storage", "0", "cpu", "cuda:0", "", "\udcff"]))
            body = text.encode("utf-8", "surrogatepass")
            out += struct.pack("<I", draw(st.sampled_from([len(body), len(body) + 3,
                                                           2 ** 32 - 1]))) + body
        elif code == b"U":
            body = draw(st.binary(max_size=6))
            out += bytes([draw(st.sampled_from([len(body), 255]))]) + body
        elif code == b"\x8a":
            body = draw(st.binary(max_size=9))
            out += bytes([len(body)]) + body
    if draw(st.booleans()):
        out += b"."
    return bytes(out)


@FUZZ
@given(opcode_streams(), st.booleans())
def test_fuzz_pickle_streams(stream, with_record):
    records = {"0": pt.floats(1, 2, 3, 4)} if with_record else {}
    load_pt(pt.archive(stream, records))


# ---- .npz checkpoints with hostile .npy headers ----------------------------------------
DESCRS = ["<f4", ">f8", "<i8", "|u1", "|b1", "<c8", "|O", "|V8", "<U3", "<M8[s]",
          [("a", "<f4")], ("<f4", (2,)), "<f2"]


@st.composite
def npy_members(draw):
    shape = tuple(draw(st.one_of(st.integers(0, 4), edge)) for _ in range(draw(st.integers(0, 3))))
    header = {"descr": draw(st.sampled_from(DESCRS)), "fortran_order": draw(st.booleans()),
              "shape": shape}
    text = repr(header) if draw(st.integers(0, 5)) else draw(st.sampled_from(
        ["{'descr': '<f4'}", "[1, 2]", "{'descr': '<f4', 'fortran_order': False, 'shape': "
         "(2**40,)}", "__import__('os')", "{" * 200]))
    version = draw(st.sampled_from([(1, 0), (1, 0), (2, 0), (3, 0), (9, 9)]))
    text = text + " " * (-(len(text) + 11) % 64) + "\n"
    length = struct.pack("<H" if version[0] == 1 else "<I", len(text))
    body = draw(st.binary(max_size=40))
    return b"\x93NUMPY" + bytes(version) + length + text.encode("latin1") + body


@st.composite
def npz_files(draw):
    header = {"format": "tinygan-checkpoint", "version": 1, "step": 0, "config": {},
              "values": {}, "generator_state": None, "evaluations": []}
    members = [(f"G/{i}.npy" if draw(st.booleans()) else f"{i}", draw(npy_members()))
               for i in range(draw(st.integers(0, 3)))]
    meta_text = json.dumps(header).encode() if draw(st.integers(0, 3)) else draw(st.binary(
        max_size=30))
    meta = io.BytesIO()
    np.save(meta, np.frombuffer(meta_text, np.uint8))
    members.append(("__meta__.npy", meta.getvalue()))
    if draw(st.integers(0, 9)) == 0:
        members.append(members[0])
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", draw(st.sampled_from([zipfile.ZIP_STORED,
                                                         zipfile.ZIP_DEFLATED]))) as zf:
        for name, raw in members:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                zf.writestr(name, raw)
    return out.getvalue()


@FUZZ
@given(npz_files())
def test_fuzz_checkpoint_npz_headers(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("npz") / "checkpoint.npz"
    path.write_bytes(raw)
    try:
        arrays, _ = read_checkpoint(str(path))
    except CheckpointError as err:
        assert_one_line(err, f"checkpoint {path}")
        return
    for name, array in arrays.items():
        assert array.dtype.kind in "biufc" and not array.dtype.hasobject, name


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70),
                        st.floats(allow_nan=False), st.text(max_size=5))
JSON = st.recursive(JSON_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=12)


@FUZZ
@given(st.data())
def test_fuzz_checkpoint_headers_and_configs(fuzz_run, data):
    """A real run's checkpoint with one header field or config setting replaced by any JSON
    value: `tinygan sample` and `train --resume` either work or refuse in one line."""
    from tinygan.run.cli import main
    folder, template = fuzz_run
    with np.load(template) as npz:
        content = {k: npz[k] for k in npz.files}
    header = json.loads(content.pop("__meta__").tobytes())
    where = data.draw(st.sampled_from(["header", "config", "model_options", "values",
                                       "generator_state"]))
    value = data.draw(JSON)
    if where == "header":
        header[data.draw(st.sampled_from(sorted(header)))] = value
    elif where == "config":
        header["config"][data.draw(st.sampled_from(sorted(header["config"])))] = value
    elif where == "model_options":
        header["config"]["model_options"][data.draw(st.sampled_from(
            ["hidden_g", "hidden_d", "pack"]))] = value
    elif where == "values":
        header["values"][data.draw(st.sampled_from(sorted(header["values"])))] = value
    else:
        streams = header["generator_state"]["streams"]     # "cpu", or "cuda" on a device
        streams[data.draw(st.sampled_from(sorted(streams)))][data.draw(st.sampled_from(
            ["kind", "state"]))] = value
    content["__meta__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(folder / "checkpoint.npz", **content)
    command = data.draw(st.sampled_from(["sample", "resume"]))
    argv = (["sample", "--run", str(folder), "--n", "3", "--out", str(folder / "s.npy")]
            if command == "sample" else
            ["train", "--out", str(folder), "--resume", "--steps", "3", "--quiet",
             "--no-film"])
    code = main(argv)
    assert code in (0, 1)


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory):
    from tinygan.run.cli import main
    folder = tmp_path_factory.mktemp("fuzzrun") / "run"
    assert main(["train", "--out", str(folder), "--steps", "2", "--batch-size", "8",
                 "--ckpt-every", "2", "--quiet", "--no-film"]) == 0
    template = folder.parent / "template.npz"
    template.write_bytes((folder / "checkpoint.npz").read_bytes())
    return folder, template


# ---- IDX headers, plain and gzip ---------------------------------------------------------
@st.composite
def idx_files(draw):
    magic = draw(st.sampled_from([b"\0\0", b"\0\0", b"\0\0", b"\x01\0", b"PK"]))
    code = draw(st.sampled_from(sorted(IDX_DTYPES) + [0x07, 0xFF]))
    dims = [draw(st.one_of(st.integers(0, 5), st.sampled_from([65536, 2 ** 31, 2 ** 32 - 1])))
            for _ in range(draw(st.integers(0, 5)))]
    ndim = draw(st.sampled_from([len(dims)] * 4 + [len(dims) + 1, 255]))
    declared = math.prod(dims) * IDX_DTYPES.get(code, np.dtype("u1")).itemsize
    body_len = draw(st.sampled_from([declared, declared, max(0, declared - 1), declared + 1,
                                     0])) if declared < 4096 else draw(st.integers(0, 64))
    raw = magic + bytes([code, ndim]) + b"".join(struct.pack(">I", d) for d in dims) + \
        draw(st.binary(min_size=body_len, max_size=body_len))
    return raw, draw(st.booleans())


@FUZZ
@given(idx_files())
def test_fuzz_idx_headers(tmp_path_factory, drawn):
    raw, compressed = drawn
    folder = tmp_path_factory.mktemp("idx")
    path = folder / ("data-idx.gz" if compressed else "data-idx")
    path.write_bytes(gzip.compress(raw) if compressed else raw)
    try:
        array = read_idx(path)
    except IdxFormatError as err:
        assert_one_line(err, f"read_idx: {path}")
        return
    header_dims = raw[4:4 + 4 * raw[3]]
    assert array.shape == struct.unpack(f">{raw[3]}I", header_dims)


# ---- metrics.json ------------------------------------------------------------------------
@FUZZ
@given(st.one_of(JSON.map(json.dumps), st.binary(max_size=64).map(
    lambda b: b.decode("latin1")), st.integers(1, 20000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 20000).map(lambda n: '{"a":' * n + "1" + "}" * n)))
def test_fuzz_metrics_json(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("m") / "metrics.json"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        report = read_report(str(path))
    except RunFolderError as err:
        assert_one_line(err, str(path))
        return
    assert isinstance(report, dict)


# ---- file types: what is expected to be a regular file, and is not --------------------
def _make_kind(kind, path, tmp_path):
    if kind == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "FIFO":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "nowhere")
    elif kind == "symlink to a regular file":
        target = tmp_path / "elsewhere"
        target.write_bytes(b"x" * 10)
        path.symlink_to(target)


KINDS = ["symlink to /dev/zero", "FIFO", "directory", "dangling symlink",
         "symlink to a regular file"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("reader", ["pt", "checkpoint", "metrics", "idx", "idx.gz"])
def test_readers_refuse_what_is_not_a_regular_file(reader, kind, tmp_path):
    name = {"pt": "w.pt", "checkpoint": "checkpoint.npz", "metrics": "metrics.json",
            "idx": "x-idx1-ubyte", "idx.gz": "x-idx1-ubyte.gz"}[reader]
    path = tmp_path / name
    _make_kind(kind, path, tmp_path)
    call, error = {"pt": (tinygan.load, RuntimeError),
                   "checkpoint": (lambda p: read_checkpoint(str(p)), CheckpointError),
                   "metrics": (lambda p: read_report(str(p)), RunFolderError),
                   "idx": (read_idx, (IdxFormatError, FileNotFoundError)),
                   "idx.gz": (read_idx, (IdxFormatError, FileNotFoundError))}[reader]
    with pytest.raises(error) as caught:
        call(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    follows = reader in ("pt", "idx", "idx.gz")   # data the user names: links are followed
    if kind == "symlink to a regular file" and follows:
        assert "link" not in str(caught.value)     # read through, then refused as content
    elif kind != "symlink to a regular file" or not follows:
        assert any(w in str(caught.value) for w in ("not a regular file", "no such file",
                                                    "symbolic link")), str(caught.value)


def test_a_name_longer_than_name_max_is_one_line(tmp_path):
    path = tmp_path / ("n" * 300 + ".pt")
    with pytest.raises(RuntimeError, match="tinygan.load: .*cannot read it"):
        tinygan.load(path)
