"""Checkpoints (tinygan/run/checkpoint.py): exact resume, no pickle, clear refusals."""
import os
import pickle
import zipfile

import numpy as np
import pytest

import tinygan
from tinygan import optim
from tinygan.run.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from tinygan.data import toy
from tinygan.data.batching import DatasetBatches, DistributionBatches
from tinygan.gan.losses import get_loss
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer
from tests.helpers import to_np

# bit-for-bit resume holds on every device (each keeps its own saved random stream)


def make_trainer(dataset=False, hidden=(16, 16), loss="ns", seed=0, instance_noise=0.0):
    gen = tinygan.Generator(seed)
    G, D = toy_mlp((2,), 3, generator=gen, hidden_g=hidden, hidden_d=hidden)
    if dataset:   # a finite dataset: resuming must land mid-epoch on the right batch
        points = to_np(toy.sample_grid(100, tinygan.Generator(9)))   # in host memory, as MNIST
        real = DatasetBatches(points, None, gen)
    else:
        real = DistributionBatches(toy.sample_grid, gen)
    opt_d = (optim.RMSprop(D.parameters(), 5e-3) if loss == "wgan"
             else optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999)))
    return GANTrainer(G, D, get_loss(loss), optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999)),
                      opt_d, real, gen, z_dim=3, batch_size=16, lr_decay_steps=30,
                      instance_noise=instance_noise, instance_noise_steps=20,
                      config={"note": "test"})


def state_of(trainer):
    arrays = [to_np(p) for p in list(trainer.G.parameters()) + list(trainer.D.parameters())]
    for opt in (trainer.opt_g, trainer.opt_d):
        for s in opt.state_dict()["state"].values():
            arrays += [to_np(s[k]) for k in sorted(s)]
    return arrays


@pytest.mark.parametrize("dataset, loss, noise", [(False, "ns", 0.0), (True, "ns", 0.0),
                                                  (False, "wgan", 0.0), (False, "ns", 0.5)])
def test_resume_from_step_n_is_bit_for_bit_an_uninterrupted_run(tmp_path, dataset, loss, noise):
    straight = make_trainer(dataset, loss=loss, instance_noise=noise)
    straight.train(30, progress=False)

    first = make_trainer(dataset, loss=loss, instance_noise=noise)
    path = str(tmp_path / "ckpt.npz")
    first.train(30, progress=False, checkpoint_path=path, ckpt_every=13)  # last save: 30
    assert read_checkpoint(path)[1]["step"] == 30
    halfway = make_trainer(dataset, loss=loss, instance_noise=noise)
    save_dir = tmp_path / "half"
    first_half = make_trainer(dataset, loss=loss, instance_noise=noise)
    first_half.train(13, progress=False)
    first_half.save(str(save_dir / "ckpt.npz"))
    halfway.load(str(save_dir / "ckpt.npz"))   # a fresh process would do exactly this
    assert halfway.step == 13
    halfway.train(30, progress=False)
    for a, b in zip(state_of(straight), state_of(halfway)):
        np.testing.assert_array_equal(a, b)
    assert halfway.history == straight.history


def test_checkpoint_is_one_npz_of_plain_arrays_readable_without_pickle(tmp_path):
    trainer = make_trainer()
    trainer.train(3, progress=False)
    path = tmp_path / "run" / "ckpt.npz"
    trainer.save(str(path))
    assert sorted(os.listdir(path.parent)) == ["ckpt.npz"]    # no temp file left behind
    with np.load(path, allow_pickle=False) as npz:
        names = npz.files
        assert all(npz[k].dtype != object for k in names)
    assert "G/net.0.weight" in names and "opt_d/state/0/exp_avg" in names
    arrays, header = read_checkpoint(str(path))
    assert header["step"] == 3 and header["config"] == {"note": "test"}


def test_a_truncated_file_is_refused_in_one_line(tmp_path):
    trainer = make_trainer()
    path = tmp_path / "ckpt.npz"
    trainer.save(str(path))
    data = path.read_bytes()
    for cut in (len(data) // 2, 2):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError, match="truncated") as info:
            load_checkpoint(str(path), G=trainer.G, D=trainer.D)
        assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_pickled_objects_are_refused(tmp_path):
    trainer = make_trainer()
    bad = tmp_path / "objects.npz"
    np.savez(bad, **{"G/net.0.weight": np.array([{"evil": 1}], dtype=object)})
    with pytest.raises(CheckpointError, match="pickled Python objects") as info:
        load_checkpoint(str(bad), G=trainer.G, D=trainer.D)
    assert str(bad) in str(info.value)
    raw = tmp_path / "raw.pkl"
    raw.write_bytes(pickle.dumps({"G": 1}))
    with pytest.raises(CheckpointError, match="is a Python pickle"):
        load_checkpoint(str(raw), G=trainer.G, D=trainer.D)


def test_another_architecture_is_refused_naming_the_layer(tmp_path):
    path = tmp_path / "ckpt.npz"
    make_trainer(hidden=(16, 16)).save(str(path))
    other = make_trainer(hidden=(8, 16))
    with pytest.raises(CheckpointError, match=r"another architecture: G 'net.0.weight' has "
                                              r"shape \(16, 3\) in the file but \(8, 3\)"):
        other.load(str(path))
    deeper = make_trainer(hidden=(16, 16, 16))
    with pytest.raises(CheckpointError, match="another architecture"):
        deeper.load(str(path))


def test_missing_and_foreign_files_are_refused(tmp_path):
    trainer = make_trainer()
    with pytest.raises(CheckpointError, match="no such file"):
        trainer.load(str(tmp_path / "nope.npz"))
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weights=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a tinygan checkpoint"):
        trainer.load(str(foreign))
    assert zipfile.is_zipfile(foreign)


def test_save_without_optimizers_loads_models_only(tmp_path):
    a, b = make_trainer(seed=1), make_trainer(seed=2)
    a.train(2, progress=False)
    path = str(tmp_path / "models.npz")
    save_checkpoint(path, G=a.G, D=a.D)
    load_checkpoint(path, G=b.G, D=b.D)
    for p, q in zip(a.G.parameters(), b.G.parameters()):
        np.testing.assert_array_equal(to_np(p), to_np(q))
    with pytest.raises(CheckpointError, match="holds no opt_g state"):
        load_checkpoint(path, G=b.G, D=b.D, opt_g=b.opt_g)
