"""The EMA of G's weights (tinygan/gan/ema.py) and the trainer that keeps one: the update
rule, buffers, sampling from the average, checkpoints and bit-for-bit resume."""
import numpy as np
import pytest

import tinygan
from tinygan import nn, optim
from tinygan.run.checkpoint import CheckpointError, read_checkpoint
from tinygan.data import toy
from tinygan.data.batching import DistributionBatches
from tinygan.gan.ema import EMA
from tinygan.gan.losses import get_loss
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer
from tests.helpers import to_np


def test_update_is_the_exponential_moving_average():
    net = nn.Linear(3, 2).double()
    ema = EMA(net, decay=0.9)
    expected = [to_np(p).copy() for p in net.parameters()]
    rng = np.random.default_rng(0)
    for _ in range(4):
        with tinygan.no_grad():
            for p in net.parameters():
                p.add_(tinygan.tensor(rng.normal(size=p.shape)))
        ema.update(net)
        expected = [0.9 * e + 0.1 * to_np(p) for e, p in zip(expected, net.parameters())]
    for e, p in zip(expected, ema.module.parameters()):
        np.testing.assert_allclose(to_np(p), e, rtol=1e-12)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert all(p.requires_grad for p in net.parameters())   # the original is untouched


def test_buffers_are_copied_not_averaged():
    net = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    ema = EMA(net, decay=0.5)
    net(tinygan.randn(8, 2) * 3 + 1)     # a training forward moves the running stats
    ema.update(net)
    np.testing.assert_array_equal(to_np(ema.module[1].running_mean), to_np(net[1].running_mean))


def test_decay_out_of_range_raises():
    for decay in (-0.1, 1.0, 1.5):
        with pytest.raises(ValueError, match="decay must be in"):
            EMA(nn.Linear(2, 2), decay)


def make_trainer(ema_decay=0.9, seed=0):
    gen = tinygan.Generator(seed)
    G, D = toy_mlp((2,), 3, generator=gen, hidden_g=(16, 16), hidden_d=(16, 16))
    return GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999)),
                      optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999)),
                      DistributionBatches(toy.sample_grid, gen), gen, z_dim=3, batch_size=16,
                      ema_decay=ema_decay)


def test_trainer_samples_from_the_average():
    trainer = make_trainer(0.9)
    for _ in range(5):
        trainer.train_step()
    averaged = trainer.sample(50, generator=tinygan.Generator(1)).numpy()
    latest = trainer.sample(50, generator=tinygan.Generator(1), use_ema=False).numpy()
    assert not np.allclose(averaged, latest)
    z = tinygan.Tensor(toy.sample_noise(50, 3, tinygan.Generator(1), "normal"))
    with tinygan.no_grad():
        np.testing.assert_array_equal(averaged, trainer.ema.module.eval()(z).numpy())
    # decay 0: the average is the latest G
    plain = make_trainer(0.0)
    plain.train_step()
    np.testing.assert_array_equal(plain.sample(20, generator=tinygan.Generator(2)).numpy(),
                                  plain.sample(20, generator=tinygan.Generator(2),
                                               use_ema=False).numpy())


def test_resume_with_ema_is_bit_for_bit(tmp_path):
    straight = make_trainer()
    straight.train(20, progress=False)
    first_half = make_trainer()
    first_half.train(9, progress=False)
    path = str(tmp_path / "ckpt.npz")
    first_half.save(path)
    assert any(k.startswith("G_ema/") for k in read_checkpoint(path)[1]["architecture"])
    halfway = make_trainer()
    halfway.load(path)
    halfway.train(20, progress=False)
    for module in ("G", "D"):
        for a, b in zip(getattr(straight, module).parameters(),
                        getattr(halfway, module).parameters()):
            np.testing.assert_array_equal(to_np(a), to_np(b))
    for a, b in zip(straight.ema.module.parameters(), halfway.ema.module.parameters()):
        np.testing.assert_array_equal(to_np(a), to_np(b))


def test_a_checkpoint_without_ema_is_refused_by_a_trainer_with_one(tmp_path):
    path = str(tmp_path / "ckpt.npz")
    make_trainer(None).save(path)
    with pytest.raises(CheckpointError, match="holds no EMA of G"):
        make_trainer(0.9).load(path)
