"""tinygan.save / tinygan.load: PyTorch's .pt zip format both ways, and nothing executed."""
import collections
import io
import pickle
import zipfile

import numpy as np
import pytest

import tinygan
from tinygan import nn
from tests.helpers import to_np


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LeakyReLU(0.2), nn.Linear(4, 1))


def test_a_state_dict_round_trips(tmp_path):
    a, b = _model(), _model()
    tinygan.save(a.state_dict(), tmp_path / "g.pt")
    state = tinygan.load(tmp_path / "g.pt")
    assert isinstance(state, collections.OrderedDict) and list(state) == list(a.state_dict())
    b.load_state_dict(state)
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(to_np(v), to_np(b.state_dict()[k]))


def test_nested_objects_round_trip_through_a_file_object():
    obj = {"epoch": 3, "lr": 0.5, "name": "dcgan", "flag": True, "none": None,
           "history": [1.5, (2, "x")], "raw": b"\x00\xff", "ids": {1, 2},
           "t": tinygan.arange(6).reshape(2, 3), "p": nn.Parameter(tinygan.ones(2)),
           "half": tinygan.ones(2, dtype=np.float16), "scalar": tinygan.tensor(2.5),
           "np_scalar": np.float32(0.25)}
    buffer = io.BytesIO()
    tinygan.save(obj, buffer)
    buffer.seek(0)
    back = tinygan.load(buffer)
    assert {k: back[k] for k in ("epoch", "lr", "name", "flag", "none", "history", "raw",
                                 "ids", "np_scalar")} == \
        {"epoch": 3, "lr": 0.5, "name": "dcgan", "flag": True, "none": None,
         "history": [1.5, (2, "x")], "raw": b"\x00\xff", "ids": {1, 2}, "np_scalar": 0.25}
    assert back["t"].dtype == np.int64 and back["t"].tolist() == [[0, 1, 2], [3, 4, 5]]
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad
    assert back["half"].dtype == np.float16 and back["scalar"].shape == ()


def test_records_are_64_byte_aligned_like_pytorchs(tmp_path):
    tinygan.save({"w": tinygan.randn(5, 7)}, tmp_path / "w.pt")
    with zipfile.ZipFile(tmp_path / "w.pt") as archive:
        names = archive.namelist()
        assert names[0] == "w/data.pkl" and "w/data/0" in names and "w/version" in names
        raw = (tmp_path / "w.pt").read_bytes()
        for info in archive.infolist():
            start = info.header_offset + 30 + len(info.filename) + len(info.extra)
            assert start % 64 == 0, info.filename
            assert raw[start:start + info.file_size] == archive.read(info.filename)


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def _pickled_archive(obj):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(obj, protocol=2))
        archive.writestr("archive/version", b"3\n")
    buffer.seek(0)
    buffer.name = "evil.pt"
    return buffer


def test_globals_outside_pytorchs_allow_list_are_refused(capsys):
    with pytest.raises(pickle.UnpicklingError, match=r"^tinygan.load: evil.pt: refusing the "
                                                     r"global builtins.print, which is not"):
        tinygan.load(_pickled_archive({"x": _RunsCode()}))
    assert "must never run" not in capsys.readouterr().out
    with pytest.raises(pickle.UnpicklingError, match="refusing the global numpy"):
        tinygan.load(_pickled_archive({"x": np.zeros(2)}))          # as PyTorch's default
    with pytest.raises(pickle.UnpicklingError, match=r"refusing the global (os|posix).system"):
        tinygan.load(_pickled_archive(__import__("os").system))
    with pytest.raises(RuntimeError, match="not a .pt zip archive"):
        tinygan.load(io.BytesIO(b"not a zip"))


def test_a_crash_while_saving_leaves_the_old_file(tmp_path):
    path = tmp_path / "ckpt.pt"
    tinygan.save({"v": 1}, path)
    with pytest.raises(pickle.PicklingError, match="tinygan.save: cannot save builtins.object"):
        tinygan.save({"v": object()}, path)
    assert tinygan.load(path) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]        # no temporary left


def test_device_tensors_keep_their_device_unless_map_location_moves_them(cuda_device,
                                                                         tmp_path):
    """As torch.save of a CUDA tensor: the file records cuda:0 and the values (copied to the
    host); tinygan.load puts them back on "cuda", or where map_location says."""
    layer = nn.Linear(3, 2).to(cuda_device)
    tinygan.save({"w": layer.weight.detach(), "state": layer.state_dict()}, tmp_path / "d.pt")
    with zipfile.ZipFile(tmp_path / "d.pt") as archive:
        pickled = archive.read("d/data.pkl")
    assert b"cuda:0" in pickled and b"tinygan" not in pickled and b"cupy" not in pickled
    back = tinygan.load(tmp_path / "d.pt")
    assert back["w"].is_cuda and back["state"]["bias"].is_cuda
    np.testing.assert_array_equal(back["w"].numpy(), layer.weight.detach().numpy())
    for where in ("cpu", tinygan.device("cpu"), {"cuda:0": "cpu"}):
        moved = tinygan.load(tmp_path / "d.pt", map_location=where)
        assert not moved["w"].is_cuda and not moved["state"]["bias"].is_cuda
        np.testing.assert_array_equal(moved["state"]["bias"].numpy(), to_np(layer.bias))


# ---- against PyTorch ------------------------------------------------------------------
def test_torch_save_loads_into_tinygan_and_back(tmp_path):
    torch = pytest.importorskip("torch")

    def build(m):
        return m.Sequential(m.Linear(3, 4), m.BatchNorm1d(4), m.LeakyReLU(0.2), m.Linear(4, 1))
    theirs = build(torch.nn)
    theirs.train()(torch.randn(8, 3))                       # running statistics move
    torch.save(theirs.state_dict(), tmp_path / "t.pt")
    ours = build(nn)
    ours.load_state_dict(tinygan.load(tmp_path / "t.pt"))
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(to_np(ours.state_dict()[k]).reshape(v.shape),
                                      v.numpy(), err_msg=k)
    ours.eval(), theirs.eval()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_allclose(to_np(ours(tinygan.tensor(x))),
                               theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
    tinygan.save(ours.state_dict(), tmp_path / "g.pt")   # says cuda:0 when the suite runs there
    back = torch.load(tmp_path / "g.pt", weights_only=True, map_location="cpu")
    fresh = build(torch.nn)
    fresh.load_state_dict(back)
    for k, v in theirs.state_dict().items():
        np.testing.assert_array_equal(back[k].numpy().reshape(v.shape), v.numpy(), err_msg=k)


def test_torch_reads_every_kind_tinygan_writes(tmp_path):
    torch = pytest.importorskip("torch")
    obj = {"t": tinygan.arange(6).reshape(2, 3), "f": tinygan.randn(3, 2).transpose(0, 1),
           "p": nn.Parameter(tinygan.ones(2)), "b": tinygan.tensor([True, False]),
           "d": tinygan.ones(2, dtype=np.float64), "meta": {"epoch": 1, "tags": ["a", "b"]},
           "s": tinygan.tensor(3.0)}
    tinygan.save(obj, tmp_path / "k.pt")
    back = torch.load(tmp_path / "k.pt", weights_only=True, map_location="cpu")
    for k in ("t", "f", "b", "d", "s"):
        np.testing.assert_array_equal(back[k].numpy(), to_np(obj[k]), err_msg=k)
    assert back["t"].dtype == torch.int64 and back["b"].dtype == torch.bool
    assert isinstance(back["p"], torch.nn.Parameter) and back["meta"] == obj["meta"]


def test_views_sharing_a_torch_storage_load_with_their_offsets(tmp_path):
    torch = pytest.importorskip("torch")
    w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    torch.save({"w": w, "row": w[1], "col": w[:, 2], "wt": w.t()}, tmp_path / "v.pt")
    back = tinygan.load(tmp_path / "v.pt")
    for k, v in {"w": w, "row": w[1], "col": w[:, 2], "wt": w.t()}.items():
        np.testing.assert_array_equal(to_np(back[k]), v.numpy(), err_msg=k)
