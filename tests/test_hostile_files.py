"""Files from strangers (issue 30): each of the 22 cases, replayed, plus "also seen".

Every case is a file a learner did not make: a .pt checkpoint from a forum, a classmate's run
folder, a teacher's MNIST folder. Each must be refused in one line naming the file and what
is wrong (or handled as PyTorch handles it), without reading out of bounds, crashing,
allocating what the file merely declares, hanging, or touching anything outside the folder.
"""
import gzip
import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

import tinygan
from tinygan.data.idx import IdxFormatError, read_idx
from tinygan.run.checkpoint import CheckpointError, read_checkpoint
from tinygan.run.cli import main
from tests import pt_craft as pt

REPO = Path(__file__).resolve().parents[1]
TINY = ["--steps", "4", "--batch-size", "16", "--ckpt-every", "2", "--quiet", "--no-film"]


# ---- helpers ---------------------------------------------------------------------------
def run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(err, *parts):
    lines = [line for line in err.splitlines() if line.startswith("tinygan: error:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


@contextmanager
def deadline(seconds):
    """Fail (instead of hanging the suite) when the block takes longer than ``seconds``."""
    def expired(*_):
        raise TimeoutError(f"still running after {seconds}s: a hang")
    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile") / "run"
    assert main(["train", "--out", str(folder)] + TINY) == 0
    return folder


@pytest.fixture
def run_dir(template, tmp_path):
    """A fresh copy of a finished 4-step ring run, to damage."""
    folder = tmp_path / "run"
    folder.mkdir()
    for f in template.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def edit_checkpoint(folder, header=None, arrays=None, extra_members=()):
    """Rewrite folder/checkpoint.npz with ``header(h)`` / ``arrays(a)`` applied in place."""
    path = folder / "checkpoint.npz"
    with np.load(path) as npz:
        content = {k: npz[k] for k in npz.files}
    meta = json.loads(content.pop("__meta__").tobytes())
    if header:
        header(meta)
    if arrays:
        arrays(content)
    content["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **content)
    if extra_members:
        with zipfile.ZipFile(path, "a") as zf:
            for name, raw in extra_members:
                zf.writestr(name, raw)
    return path


def npy_header(shape, descr="<f4", fortran=False):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran,
                                                  "shape": shape})
    return buffer.getvalue()


def load_bytes(raw, name="hostile.pt"):
    return pt.load_with(tinygan.load, raw, name)


RECORD = {"0": pt.floats(1, 2, 3, 4)}


def one_tensor(offset, size, stride, numel=4, records=RECORD, dtype="FloatStorage"):
    return pt.archive(pt.pickle_bytes({"w": pt.tensor(pt.storage("0", numel, dtype), offset,
                                                      size, stride)}), records)


# ---- 1. the lock file ------------------------------------------------------------------
@pytest.mark.parametrize("resume", [False, True])
def test_01_a_symlinked_lock_is_refused_and_its_target_untouched(run_dir, tmp_path, capsys,
                                                                  resume):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    folder = run_dir if resume else tmp_path / "new"
    folder.mkdir(exist_ok=True)
    (folder / "tinygan.lock").symlink_to(victim)
    argv = ["train", "--out", folder, *TINY, "--steps", "6"] + (["--resume"] if resume else [])
    code, _, err = run(argv, capsys)
    assert code == 1
    one_line_error(err, "tinygan.lock", "symbolic link")
    assert victim.read_text() == "precious\n"
    missing = tmp_path / "created-by-the-lock"
    (folder / "tinygan.lock").unlink()
    (folder / "tinygan.lock").symlink_to(missing)
    code, _, err = run(argv, capsys)
    assert code == 1 and not missing.exists()
    one_line_error(err, "tinygan.lock", "symbolic link")


# ---- 2, 3, 6, 19: a .pt record's size, offset and stride ---------------------------
@pytest.mark.parametrize("offset,size,stride", [(0, (3, 2), (2, 1)), (3, (2,), (1,)),
                                                (2, (2, 2), (1, 1))])
def test_02_a_record_reaching_past_its_storage_is_refused(offset, size, stride):
    with pytest.raises(RuntimeError, match=r"^tinygan.load: hostile.pt: .*past the storage"):
        load_bytes(one_tensor(offset, size, stride))


def test_03_huge_and_negative_strides_are_refused_not_a_crash(tmp_path):
    """In a child process: the old reader died of a segmentation fault."""
    for i, (offset, stride) in enumerate([(0, 2 ** 40), (0, 2 ** 62), (3, -1), (0, -2 ** 40),
                                          (0, 2 ** 70)]):
        (tmp_path / f"{i}.pt").write_bytes(one_tensor(offset, (2,), (stride,)))
    script = ("import sys, tinygan\n"
              "for path in sys.argv[1:]:\n"
              "    try:\n"
              "        tinygan.load(path)\n"
              "        print('LOADED', path)\n"
              "    except RuntimeError as err:\n"
              "        print('REFUSED', err)\n")
    done = subprocess.run([sys.executable, "-c", script] + sorted(map(str, tmp_path.iterdir())),
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 5 and all(line.startswith("REFUSED tinygan.load: ") for line in lines)
    assert sum("stride" in line for line in lines) == 5


def test_06_a_stride_0_record_stays_a_view_as_in_pytorch():
    t = load_bytes(one_tensor(0, (2 ** 30,), (0,)))["w"]
    assert t.shape == (2 ** 30,) and t.array.strides == (0,)     # 4 bytes, not 4 GiB
    assert float(t.array[123456789]) == 1.0


@pytest.mark.parametrize("make,message", [
    (lambda: one_tensor(0, (2,), (1,), records={}), "has no record archive/data/0"),
    (lambda: one_tensor(0, (1,), (1,), numel=1, records={"0": b"\0" * 5}),
     "record archive/data/0 holds 5 bytes but its storage declares 4"),
    (lambda: one_tensor(0, (-2,), (1,)), "size (-2,)"),
    (lambda: one_tensor(3, (2,), (-1,)), "stride (-1,) is negative"),
    (lambda: one_tensor(-1, (2,), (1,)), "storage offset -1"),
    (lambda: one_tensor(0, (2,), (1,), numel=-1), "whole number of elements >= 0"),
    (lambda: pt.archive(pt.pickle_bytes({"w": pt.tensor(pt.storage("", 1), 0, (1,), (1,))}),
                        {"": pt.floats(0)}), "a storage key must name a record"),   # fuzzer
])
def test_19_broken_records_are_refused_naming_the_file(make, message):
    with pytest.raises(RuntimeError) as caught:
        load_bytes(make())
    assert str(caught.value).startswith("tinygan.load: hostile.pt: ")
    assert message in str(caught.value) and "\n" not in str(caught.value)


# ---- 4. BUILD -------------------------------------------------------------------------
@pytest.mark.parametrize("target", [
    pt.glob("torch", "FloatStorage"),                          # an allow-listed instance
    pt.glob("torch.nn.parameter", "Parameter"),                # a class
    pt.glob("collections", "Counter"),
    pt.glob("torch._utils", "_rebuild_tensor_v2"),             # a function
])
@pytest.mark.parametrize("state", [{"dtype": pt.glob("torch", "int8"), "name": "x"},
                                   (None, {"dtype": pt.glob("torch", "int8"), "x": 1})])
def test_04_build_cannot_change_the_loader(target, state):
    clean = one_tensor(0, (4,), (1,))
    with pytest.raises(pickle.UnpicklingError, match=r"^tinygan.load: hostile.pt: BUILD"):
        load_bytes(pt.archive(pt.pickle_bytes([pt.build(target, state)])))
    back = load_bytes(clean)["w"]
    assert back.dtype == np.float32 and back.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert not hasattr(tinygan.nn.Parameter, "x") and not hasattr(tinygan.nn.Parameter,
                                                                   "dtype_")
    import collections
    assert "x" not in vars(collections.Counter) and "dtype" not in vars(collections.Counter)


def test_04_build_on_a_state_dicts_ordered_dict_still_works():
    raw = pt.archive(pt.pickle_bytes(pt.build(pt.ordered_dict({"w": 1}),
                                              {"_metadata": {"": {"version": 1}}})))
    back = load_bytes(raw)
    assert back == {"w": 1} and back._metadata == {"": {"version": 1}}


# ---- 5, 9, 10, 11, 12-17: checkpoints -----------------------------------------------
def test_05_a_config_larger_than_its_weights_is_refused_before_building(run_dir, capsys):
    edit_checkpoint(run_dir, header=lambda h: h["config"]["model_options"].update(
        hidden_g=[50000, 50000, 50000]))
    tracemalloc.start()
    try:
        code, _, err = run(["sample", "--run", run_dir, "--n", 4, "--out",
                            run_dir / "s.npy"], capsys)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and peak < 200 * 2 ** 20
    one_line_error(err, str(run_dir / "checkpoint.npz"), "model_options.hidden_g", "50000")
    assert not (run_dir / "s.npy").exists()


def test_09_an_npz_member_declaring_2_40_elements_is_refused_naming_it(run_dir, capsys):
    path = edit_checkpoint(run_dir, extra_members=[
        ("G/extra.npy", npy_header((2 ** 40,)) + b"\0" * 64)])
    with pytest.raises(CheckpointError, match="G/extra.npy: its header declares float32"):
        read_checkpoint(str(path))
    code, _, err = run(["sample", "--run", run_dir, "--n", 4, "--out", run_dir / "s.npy"],
                       capsys)
    assert code == 1
    line = one_line_error(err, str(path), "G/extra.npy")
    assert "--batch-size" not in line and "--n" not in line


def test_10_a_fifo_checkpoint_is_refused_not_a_hang(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    os.mkfifo(folder / "checkpoint.npz")
    with deadline(30):
        code, _, err = run(["sample", "--run", folder, "--n", 4, "--out", tmp_path / "s.npy"],
                           capsys)
    assert code == 1
    one_line_error(err, "checkpoint.npz", "FIFO")


def test_11_a_nan_in_a_complex_weight_is_refused(run_dir, capsys):
    def poison(arrays):
        w = arrays["G/net.0.weight"].astype(np.complex64)
        w[0, 0] = complex(0.5, float("nan"))
        arrays["G/net.0.weight"] = w
    edit_checkpoint(run_dir, arrays=poison)
    code, _, err = run(["sample", "--run", run_dir, "--n", 4, "--out", run_dir / "s.npy"],
                       capsys)
    assert code == 1 and not (run_dir / "s.npy").exists()
    one_line_error(err, "G/net.0.weight", "not finite", "nan")


HEADER_CASES = {
    "12-lr_g-a-string": (lambda h: h["config"].update(lr_g="fast"), "sample", "lr_g"),
    "13-seed-a-list": (lambda h: h["config"].update(seed=[1]), "sample", "seed"),
    "14-betas-an-int": (lambda h: h["config"].update(betas=3), "sample", "betas"),
    "15-z_dim-a-string": (lambda h: h["config"].update(z_dim="two"), "sample", "z_dim"),
    "16-evaluations-an-int": (lambda h: h.update(evaluations=5), "resume", "evaluations"),
    "17-generator-state-without-state": (
        lambda h: h.update(generator_state={"seed": 0, "streams": {"cpu": {"kind": "pcg64"}}}),
        "resume",
        "generator_state"),
}


@pytest.mark.parametrize("case", sorted(HEADER_CASES))
def test_12_to_17_wrong_json_types_in_the_header_are_one_line(case, run_dir, capsys):
    edit, command, field = HEADER_CASES[case]
    edit_checkpoint(run_dir, header=edit)
    before = sorted(p.name for p in run_dir.iterdir())
    argv = (["sample", "--run", run_dir, "--n", 4, "--out", run_dir / "s.npy"]
            if command == "sample" else ["train", "--out", run_dir, "--resume", *TINY,
                                         "--steps", "6"])
    code, _, err = run(argv, capsys)
    assert code == 1
    one_line_error(err, "checkpoint.npz", field)
    assert sorted(p.name for p in run_dir.iterdir()) == before       # nothing written


# ---- 7, 18: metrics.json ----------------------------------------------------------------
def test_07_a_metrics_json_linked_to_dev_zero_is_not_followed(run_dir, capsys):
    (run_dir / "metrics.json").unlink()
    (run_dir / "metrics.json").symlink_to("/dev/zero")
    with deadline(120):
        code, _, err = run(["train", "--out", run_dir, "--resume", *TINY, "--steps", "6"],
                           capsys)
    assert code == 0, err
    assert "metrics.json" in err and "rewritten from the checkpoint" in err
    assert not (run_dir / "metrics.json").is_symlink()
    assert json.loads((run_dir / "metrics.json").read_text())["step"] == 6


def deep_json(levels):
    return "[" * levels + "]" * levels


def test_18_a_deeply_nested_metrics_json_is_one_line_not_a_recursion_error(tmp_path, capsys):
    folder = tmp_path / "theirs"
    folder.mkdir()
    (folder / "metrics.json").write_text(deep_json(100000))
    code, _, err = run(["train", "--out", folder, *TINY], capsys)
    assert code == 1
    one_line_error(err, "metrics.json", "nested deeper")


def test_18_a_deep_metrics_json_beside_a_checkpoint_is_rebuilt(run_dir, capsys):
    (run_dir / "metrics.json").write_text(deep_json(100000))
    code, _, err = run(["train", "--out", run_dir, "--resume", *TINY, "--steps", "6"], capsys)
    assert code == 0, err
    assert json.loads((run_dir / "metrics.json").read_text())["step"] == 6


# ---- 8, 21: IDX and gzip --------------------------------------------------------------
def test_08_a_gzip_bomb_is_refused_without_inflating_it(tmp_path):
    header = bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28)
    zeros = gzip.compress(b"\0" * 2 ** 24, compresslevel=9)          # 16 MiB -> ~16 kB
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(header) + zeros * 128)           # inflates to 2 GiB
    assert path.stat().st_size < 4 * 2 ** 20
    tracemalloc.start()
    try:
        with pytest.raises(IdxFormatError, match="trailing bytes"):
            read_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2 ** 20, peak


def test_21_idx_dimensions_do_not_wrap_around(tmp_path):
    path = tmp_path / "wrap-idx4-ubyte"
    path.write_bytes(bytes([0, 0, 8, 4]) + struct.pack(">4I", *[65536] * 4))
    with pytest.raises(IdxFormatError, match=r"wrap-idx4-ubyte: file truncated: 20 bytes, but "
                                             r"a uint8 array of shape \(65536, 65536, 65536, "
                                             r"65536\) needs 18446744073709551636"):
        read_idx(path)
    gz = tmp_path / "wrap-idx4-ubyte.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(IdxFormatError, match="wrap-idx4-ubyte.gz: .*more than the"):
        read_idx(gz)


# ---- 20 and "also seen": PyTorch's own files ------------------------------------------
def test_20_bfloat16_is_read_as_float32_with_a_note():
    values = [1.0, -2.5, 3.0e38, 2.0 ** -130]
    bits = [struct.unpack("<I", struct.pack("<f", v))[0] >> 16 for v in values]
    raw = one_tensor(0, (4,), (1,), dtype="BFloat16Storage",
                     records={"0": struct.pack("<4H", *bits)})
    with pytest.warns(UserWarning, match="hostile.pt: bfloat16 tensors were read as float32"):
        t = load_bytes(raw)["w"]
    expected = np.array([struct.unpack("<f", struct.pack("<I", b << 16))[0] for b in bits],
                        np.float32)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.numpy(), expected)


def test_also_seen_views_sharing_a_storage_stay_shared():
    raw = pt.archive(pt.pickle_bytes({"w": pt.tensor(pt.storage("0", 4), 0, (2, 2), (2, 1)),
                                      "row": pt.tensor(pt.storage("0", 4), 2, (2,), (1,))}),
                     RECORD)
    back = load_bytes(raw)
    back["row"].array[0] = 100.0
    assert back["w"].tolist() == [[1.0, 2.0], [100.0, 4.0]]


def test_also_seen_two_data_pkl_members_are_refused():
    raw = pt.archive(pt.pickle_bytes({"a": 1}),
                     extra=[("archive/data.pkl", pt.pickle_bytes({"b": 2}))])
    with pytest.raises(RuntimeError, match="hostile.pt: the member archive/data.pkl appears "
                                           "twice"):
        load_bytes(raw)


def test_pytorchs_real_state_dicts_load_with_pytorchs_values(tmp_path):
    torch = pytest.importorskip("torch")
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    state = {"f32": w, "row": w[1], "col": w[:, 2], "wt": w.t(), "expanded": w[0, :1].expand(5),
             "f16": (w * 3).half(), "bf16": (w * 1e30).bfloat16(), "i64": torch.arange(-3, 3),
             "i32": torch.tensor([2 ** 31 - 1, -5], dtype=torch.int32),
             "u8": torch.tensor([0, 255], dtype=torch.uint8),
             "b": torch.tensor([True, False, True]), "scalar": torch.tensor(2.5),
             "p": torch.nn.Parameter(torch.ones(2)), "empty": torch.zeros(0, 3)}
    torch.save(state, tmp_path / "sd.pt")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = tinygan.load(tmp_path / "sd.pt")
    assert any("bfloat16" in str(c.message) for c in caught)
    for k, v in state.items():
        theirs = v.detach().float().numpy() if v.dtype == torch.bfloat16 else v.detach().numpy()
        np.testing.assert_array_equal(back[k].numpy(), theirs, err_msg=k)
        assert back[k].numpy().dtype == theirs.dtype, k
    assert isinstance(back["p"], tinygan.nn.Parameter)
    back["w" if "w" in back else "f32"].array[1, 2] = -1.0          # shared, as in PyTorch
    assert float(back["row"].array[2]) == -1.0 and float(back["col"].array[1]) == -1.0
    assert float(back["wt"].array[2, 1]) == -1.0


# ---- 22 and "also seen": command-line flags ------------------------------------------
@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_22_a_non_finite_penalty_weight_is_refused(value, tmp_path, capsys):
    code, _, err = run(["train", "--data", "grid", "--out", tmp_path / "r", *TINY,
                        f"--penalty-weight={value}"], capsys)
    assert code == 1 and not (tmp_path / "r").exists()
    one_line_error(err, "--penalty-weight", "finite")


def test_22_an_out_longer_than_path_max_leaves_no_folders(tmp_path, capsys):
    out = tmp_path.joinpath(*["d" * 200] * 25)
    code, _, err = run(["train", "--out", out, *TINY], capsys)
    assert code == 1
    one_line_error(err, "PATH_MAX")
    assert list(tmp_path.iterdir()) == []


def test_22_sample_out_with_a_250_byte_name_works(run_dir, capsys):
    out = run_dir / ("s" * 246 + ".npy")
    code, _, err = run(["sample", "--run", run_dir, "--n", 4, "--out", out], capsys)
    assert code == 0, err
    assert np.load(out).shape == (4, 2)
    assert not [p for p in run_dir.iterdir() if p.name.startswith(".tmp-")]


def test_also_seen_a_huge_d_steps_is_named_in_the_memory_message(tmp_path, capsys):
    code, _, err = run(["train", "--out", tmp_path / "r", *TINY, "--d-steps", 10 ** 30],
                       capsys)
    assert code == 1
    one_line_error(err, "--d-steps 1000000000000000000000000000000")


def test_also_the_digit_classifier_cache_is_read_with_the_checked_reader(tmp_path):
    """The classifier cache lives in the data folder ($TINYGAN_DATA), which may be someone
    else's: a member declaring 2^40 elements is refused (a ValueError, so the cache is
    retrained), not allocated."""
    from tinygan.metrics import digits
    path = tmp_path / "digit_classifier_mnist_0.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("net.0.weight.npy", npy_header((2 ** 40,)) + b"\0" * 64)
    with pytest.raises(ValueError, match="digit classifier cache .*net.0.weight.npy: its "
                                         "header declares float32"):
        digits._load(path, tinygan.Generator(0))


@pytest.mark.parametrize("data_state,message", [
    ({"order": np.array([0, 5, 1]), "position": 0, "epoch": 0, "has_order": True},
     "data/order is not a permutation"),
    ({"order": np.arange(3), "position": -1, "epoch": 0, "has_order": True},
     "data/position must be a whole number >= 0"),
    ({"order": np.arange(3), "position": 9, "epoch": 0, "has_order": True},
     "data/position 9 is past the 3 examples"),
])
def test_also_a_data_position_outside_the_data_is_refused(tmp_path, data_state, message):
    """Found while fuzzing: a resumed MNIST run would index past its data later, mid-run."""
    from tinygan.run.checkpoint import load_checkpoint, save_checkpoint
    G, D = tinygan.nn.Linear(2, 2), tinygan.nn.Linear(2, 1)
    path = str(tmp_path / "c.npz")
    save_checkpoint(path, G=G, D=D, data_state=data_state)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path, G=G, D=D)
