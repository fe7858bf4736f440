"""Gradient penalties (tinygan.gan.penalties): R1/R2 exact on a linear critic, gradcheck and
gradgradcheck through the double backward, against PyTorch, and inside the trainer."""
import numpy as np
import pytest

import tinygan
from tinygan import functional as F
from tinygan import nn, optim
from tinygan.data.batching import DistributionBatches
from tinygan.data.toy import sample_ring
from tinygan.gan import losses, penalties
from tinygan.gan.trainer import GANTrainer
from tests.helpers import t64, to_np

rng0 = np.random.default_rng(0)
REAL, FAKE = rng0.normal(size=(5, 2)), rng0.normal(size=(5, 2)) + 1.0


def mlp_critic(w1, b1, w2):
    return lambda x: F.linear(F.tanh(F.linear(x, w1, b1)), w2)


def mlp_weights(seed=1):
    rng = np.random.default_rng(seed)
    return t64(rng.normal(size=(3, 2))), t64(rng.normal(size=3)), t64(rng.normal(size=(1, 3)))


@pytest.mark.parametrize("name,batch", [("r1", REAL), ("r2", FAKE)])
def test_linear_critic_penalty_is_exact(name, batch):
    # D(x) = w.x + b: grad_x D = w at every x, so R = gamma/2 ||w||^2 and dR/dw = gamma w
    D = nn.Linear(2, 1, generator=tinygan.Generator(0)).double()
    pen = penalties.get_penalty(name, 3.0)
    value = pen(D, t64(REAL, False), t64(FAKE, False), tinygan.Generator(0))
    w = to_np(D.weight)
    assert value.item() == pytest.approx(1.5 * (w ** 2).sum(), rel=1e-12)
    value.backward()
    np.testing.assert_allclose(to_np(D.weight.grad), 3.0 * w, rtol=1e-12)
    assert D.bias.grad is None   # as in PyTorch: grad_x D does not depend on the bias


def test_r1_uses_real_and_r2_uses_fake():
    w1, b1, w2 = mlp_weights()
    D = mlp_critic(w1, b1, w2)
    real, fake = t64(REAL, False), t64(FAKE, False)
    r1 = penalties.R1Penalty(2.0)(D, real, fake, tinygan.Generator(0)).item()
    r2 = penalties.R2Penalty(2.0)(D, real, fake, tinygan.Generator(0)).item()
    assert r1 == pytest.approx(penalties.zero_centred_penalty(D, real).item(), rel=1e-12)
    assert r2 == pytest.approx(penalties.zero_centred_penalty(D, fake).item(), rel=1e-12)
    assert r1 != pytest.approx(r2)


def test_zero_centred_penalty_vanishes_for_a_flat_critic():
    D = nn.Linear(2, 1).double()
    with tinygan.no_grad():
        D.weight.zero_()
    assert penalties.zero_centred_penalty(D, t64(REAL, False)).item() == 0.0


@pytest.mark.parametrize("name", ["r1", "r2", "gp"])
def test_penalty_gradcheck_and_gradgradcheck(name):
    """gradcheck: the penalty's gradient in D's weights (second derivatives of D: what D's
    step descends); gradgradcheck: one order higher. The data are constants of D's step
    (the penalties detach them, as PyTorch code does), so they are not checked."""
    real, fake = t64(REAL), t64(FAKE)

    def penalty_of(w1, b1, w2, x_real, x_fake):
        return penalties.get_penalty(name, 10.0)(mlp_critic(w1, b1, w2), x_real, x_fake,
                                                 tinygan.Generator(7))

    weights = list(mlp_weights())
    assert tinygan.gradcheck(lambda *w: penalty_of(*w, real, fake), weights)
    assert tinygan.gradgradcheck(lambda *w: penalty_of(*w, real, fake), weights)



def test_packed_critic_gets_one_gradient_row_per_pack():
    D = lambda x: x.reshape(-1, 4).sum(axis=1, keepdims=True) ** 2   # packs of 2 samples
    g = penalties.input_gradients(D, t64(REAL[:4], False))
    assert g.shape == (2, 4)
    packs = REAL[:4].reshape(2, 4)
    np.testing.assert_allclose(to_np(g), 2 * packs.sum(axis=1, keepdims=True) * np.ones((2, 4)))


def test_bad_names_and_weights_raise():
    with pytest.raises(ValueError, match="unknown penalty 'r3'"):
        penalties.get_penalty("r3", 1.0)
    with pytest.raises(ValueError, match="weight must be >= 0"):
        penalties.R1Penalty(-1.0)


def test_losses_gradient_penalty_is_the_shared_one():
    assert losses.gradient_penalty is penalties.gradient_penalty


def _tiny_gan(penalty):
    gen = tinygan.Generator(0)
    G = nn.Sequential(nn.Linear(3, 8, generator=gen), nn.ReLU(), nn.Linear(8, 2, generator=gen))
    D = nn.Sequential(nn.Linear(2, 8, generator=gen), nn.Tanh(), nn.Linear(8, 1, generator=gen))
    return GANTrainer(G, D, losses.get_loss("ns"), optim.Adam(G.parameters(), 1e-2),
                      optim.Adam(D.parameters(), 1e-2), DistributionBatches(sample_ring, gen),
                      gen, z_dim=3, batch_size=16, penalty=penalty)


def test_trainer_adds_the_penalty_to_any_loss():
    plain, zero, r1 = (_tiny_gan(p) for p in (None, penalties.R1Penalty(0.0),
                                              penalties.R1Penalty(10.0)))
    records = [t.train_step() for t in (plain, zero, r1)]
    assert records[0]["penalty"] == 0.0 and records[2]["penalty"] > 0
    # a zero weight changes nothing; a positive one changes D's step
    for a, b in zip(plain.D.parameters(), zero.D.parameters()):
        np.testing.assert_array_equal(to_np(a), to_np(b))
    assert any(not np.array_equal(to_np(a), to_np(b))
               for a, b in zip(plain.D.parameters(), r1.D.parameters()))
    assert records[2]["d_loss"] == pytest.approx(records[0]["d_loss"] + records[2]["penalty"],
                                                 rel=1e-5)


@pytest.mark.torch
def test_r1_matches_torch():
    torch = pytest.importorskip("torch")
    w1, b1, w2 = mlp_weights()
    value = penalties.R1Penalty(10.0)(mlp_critic(w1, b1, w2), t64(REAL, False), None,
                                      tinygan.Generator(0))
    value.backward()
    tw = [torch.tensor(to_np(p), requires_grad=True) for p in (w1, b1, w2)]
    x = torch.tensor(REAL, requires_grad=True)
    out = torch.nn.functional.linear(torch.tanh(torch.nn.functional.linear(x, tw[0], tw[1])),
                                     tw[2])
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    expected = 5.0 * (g ** 2).sum(dim=1).mean()
    expected.backward()
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)
    for ours, theirs in zip((w1, b1, w2), tw):
        np.testing.assert_allclose(to_np(ours.grad), theirs.grad.numpy(), rtol=1e-10)
