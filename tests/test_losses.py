"""GAN losses (tinygan/gan/losses.py): formulas, gradients, and which network each one moves."""
import math

import numpy as np
import pytest

import tinygan
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.data.batching import DistributionBatches
from tinygan.data.toy import sample_ring
from tinygan.gan import losses
from tinygan.gan.trainer import GANTrainer
from tests.helpers import t64, to_np

ALL = list(losses.LOSSES)
REAL = np.array([[0.3], [-1.7], [2.2], [0.05]])
FAKE = np.array([[-0.4], [1.3], [-2.6], [0.7]])


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.mark.parametrize("name", ALL)
def test_d_and_g_losses_pass_gradcheck(name):
    loss = losses.get_loss(name)
    tinygan.gradcheck(lambda r, f: loss.d_loss(r, f), [t64(REAL), t64(FAKE)])
    tinygan.gradcheck(lambda f: loss.g_loss(f), [t64(FAKE)])


@pytest.mark.parametrize("name, d_expected, g_expected", [
    ("minimax", -np.log(_sigmoid(REAL)).mean() - np.log(1 - _sigmoid(FAKE)).mean(),
     np.log(1 - _sigmoid(FAKE)).mean()),
    ("ns", -np.log(_sigmoid(REAL)).mean() - np.log(1 - _sigmoid(FAKE)).mean(),
     -np.log(_sigmoid(FAKE)).mean()),
    ("wgan", FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ("wgan-gp", FAKE.mean() - REAL.mean(), -FAKE.mean()),
    ("lsgan", 0.5 * ((REAL - 1) ** 2).mean() + 0.5 * (FAKE ** 2).mean(),
     0.5 * ((FAKE - 1) ** 2).mean()),
    ("hinge", np.maximum(0, 1 - REAL).mean() + np.maximum(0, 1 + FAKE).mean(), -FAKE.mean()),
])
def test_losses_match_their_papers_formulas(name, d_expected, g_expected):
    loss = losses.get_loss(name)
    assert loss.d_loss(t64(REAL), t64(FAKE)).item() == pytest.approx(d_expected, rel=1e-12)
    assert loss.g_loss(t64(FAKE)).item() == pytest.approx(g_expected, rel=1e-12)


def test_logit_losses_stay_finite_for_huge_logits():
    big = tinygan.tensor([[1e4], [-1e4]], requires_grad=True)
    for name in ("minimax", "ns"):
        loss = losses.get_loss(name)
        total = loss.d_loss(big, big) + loss.g_loss(big)
        total.backward()
        assert math.isfinite(total.item()) and np.all(np.isfinite(to_np(big.grad)))
        big.grad = None


def test_saturating_loss_saturates_where_the_non_saturating_one_does_not():
    # Section 3 of Goodfellow et al.: when D confidently rejects a fake (logit -8),
    # d/dl log(1 - sigmoid(l)) = -sigmoid(l) ~ -3e-4, but d/dl -log sigmoid(l) ~ -1.
    for name, expected in (("minimax", -_sigmoid(-8.0)), ("ns", -(1 - _sigmoid(-8.0)))):
        l = t64([[-8.0]])
        losses.get_loss(name).g_loss(l).backward()
        assert to_np(l.grad)[0, 0] == pytest.approx(expected, rel=1e-9)


def _tiny_gan(loss_name, seed=0):
    gen = tinygan.Generator(seed)
    G = nn.Sequential(nn.Linear(3, 8, generator=gen), nn.ReLU(), nn.Linear(8, 2, generator=gen))
    D = nn.Sequential(nn.Linear(2, 8, generator=gen), nn.LeakyReLU(0.2),
                      nn.Linear(8, 1, generator=gen))
    trainer = GANTrainer(G, D, losses.get_loss(loss_name), optim.Adam(G.parameters(), 1e-2),
                         optim.Adam(D.parameters(), 1e-2), DistributionBatches(sample_ring, gen),
                         gen, z_dim=3, batch_size=16)
    return trainer


def _params(module):
    return [to_np(p).copy() for p in module.parameters()]


@pytest.mark.parametrize("name", ALL)
def test_generator_step_moves_g_through_d_and_leaves_d_alone(name):
    trainer = _tiny_gan(name)
    g_before, d_before = _params(trainer.G), _params(trainer.D)
    trainer.generator_step()
    for p in trainer.G.parameters():             # the gradient reached G through D...
        assert p.grad is not None and np.abs(to_np(p.grad)).sum() > 0
    assert all(np.any(a != b) for a, b in zip(g_before, _params(trainer.G)))
    for a, b in zip(d_before, _params(trainer.D)):  # ...and D did not move
        np.testing.assert_array_equal(a, b)
    assert all(p.requires_grad for p in trainer.D.parameters())   # switched back on


@pytest.mark.parametrize("name", ALL)
def test_discriminator_step_moves_d_and_leaves_g_alone(name):
    trainer = _tiny_gan(name)
    g_before, d_before = _params(trainer.G), _params(trainer.D)
    trainer.discriminator_step()
    for a, b in zip(g_before, _params(trainer.G)):
        np.testing.assert_array_equal(a, b)
    assert all(p.grad is None for p in trainer.G.parameters())
    assert any(np.any(a != b) for a, b in zip(d_before, _params(trainer.D)))


def test_wgan_clips_the_critic_after_each_step():
    trainer = _tiny_gan("wgan")
    trainer.discriminator_step()
    for p in trainer.D.parameters():
        assert np.abs(to_np(p)).max() <= 0.01


def test_gradient_penalty_of_a_linear_critic_is_exact():
    # D(x) = w.x + b has grad_x D = w everywhere, so the penalty is (||w|| - 1)^2.
    D = nn.Linear(2, 1, generator=tinygan.Generator(0)).double()
    real, fake = t64(np.random.default_rng(0).normal(size=(5, 2)), False), t64(np.zeros((5, 2)), False)
    gp = losses.gradient_penalty(D, real, fake, tinygan.Generator(0))
    w = to_np(D.weight)
    assert gp.item() == pytest.approx((np.linalg.norm(w) - 1) ** 2, rel=1e-12)
    gp.backward()  # second derivatives: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    np.testing.assert_allclose(to_np(D.weight.grad),
                               2 * (np.linalg.norm(w) - 1) * w / np.linalg.norm(w), rtol=1e-10)


def test_gradient_penalty_reaches_d_parameters_and_passes_gradcheck():
    rng = np.random.default_rng(1)
    real, fake = t64(rng.normal(size=(4, 2)), False), t64(rng.normal(size=(4, 2)), False)

    def penalty_of(w1, b1, w2):
        def D(x):
            return F.linear(F.tanh(F.linear(x, w1, b1)), w2)
        return losses.WGANGPLoss(gp_lambda=10.0).penalty(D, real, fake, tinygan.Generator(7))

    w1, b1, w2 = t64(rng.normal(size=(3, 2))), t64(rng.normal(size=3)), t64(rng.normal(size=(1, 3)))
    out = penalty_of(w1, b1, w2)
    out.backward()
    assert all(np.abs(to_np(p.grad)).sum() > 0 for p in (w1, b1, w2))
    tinygan.gradcheck(penalty_of, [w1, b1, w2])


def test_get_loss_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown loss 'gan': choose one of minimax, ns, wgan"):
        losses.get_loss("gan")


def test_gradient_penalty_takes_one_norm_per_pack_for_a_packed_critic():
    from tinygan.gan.models import MLPDiscriminator
    D = MLPDiscriminator((2,), (8,), pack=2, generator=tinygan.Generator(0)).double()
    rng = np.random.default_rng(2)
    real, fake = t64(rng.normal(size=(6, 2)), False), t64(rng.normal(size=(6, 2)), False)
    gp = losses.gradient_penalty(D, real, fake, tinygan.Generator(3))
    # by hand: the same interpolates, and the gradient of each pack's logit w.r.t. its 4 inputs
    e = to_np(tinygan.Tensor(tinygan.Generator(3).uniform((6, 1), dtype=np.float64)))
    x_hat = t64(e * to_np(real) + (1 - e) * to_np(fake))
    (g,) = tinygan.grad(D(x_hat).sum(), x_hat)
    norms = np.linalg.norm(to_np(g).reshape(3, 4), axis=1)
    assert gp.item() == pytest.approx(((norms - 1) ** 2).mean(), rel=1e-10)
