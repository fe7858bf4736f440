"""float32 end to end: a training step on float32 parameters makes no float64 array.

A float64 intermediate is a silent leak: it doubles memory traffic and runs matmuls at half
speed. Every Tensor the step creates (forward values, constants, gradients) is watched
through hooks on Tensor.__init__ and Function.__call__; parameters, gradients and optimizer
state are checked after the step.
"""
import numpy as np
import pytest

import tinygan
from tinygan import nn, optim
from tinygan import functional as F
from tinygan.engine.tensor import Function, Tensor


@pytest.fixture
def float64_watch(monkeypatch):
    """A list that collects a description of every float64 array a Tensor or Function sees."""
    seen: list[str] = []
    original_init, original_call = Tensor.__init__, Function.__call__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        if self.array.dtype == np.float64:
            seen.append(f"Tensor of shape {self.shape}")

    def call(self, *inputs):
        out = original_call(self, *inputs)
        for x in (*inputs, out):
            if getattr(x, "dtype", None) == np.float64:
                seen.append(f"{type(self).__name__}: array of shape {x.shape}")
        return out

    monkeypatch.setattr(Tensor, "__init__", init)
    monkeypatch.setattr(Function, "__call__", call)
    return seen


def assert_float32_state(modules, optimizers):
    for module in modules:
        for name, p in module.named_parameters():
            assert p.dtype == np.float32, name
            assert p.grad is None or p.grad.dtype == np.float32, name
        for name, b in module.named_buffers():
            assert b.dtype in (np.float32, np.int64), name
    for opt in optimizers:
        for state in opt.state.values():
            for key, value in state.items():
                assert getattr(value, "dtype", np.float32) == np.float32, key


def mlp_gan(gen):
    G = nn.Sequential(nn.Linear(8, 16, generator=gen), nn.ReLU(),
                      nn.Linear(16, 12, generator=gen), nn.Tanh())
    D = nn.Sequential(nn.Linear(12, 16, generator=gen), nn.LeakyReLU(0.2),
                      nn.Linear(16, 1, generator=gen))
    return G, D


def test_mlp_gan_step_with_bce_logits_and_adam_stays_float32(float64_watch):
    gen = tinygan.Generator(0)
    G, D = mlp_gan(gen)
    opt_g = optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = tinygan.randn(5, 12, generator=gen)
    for _ in range(2):
        fake = G(tinygan.randn(5, 8, generator=gen))
        loss_d = (F.binary_cross_entropy_with_logits(D(real), tinygan.ones(5, 1))
                  + F.binary_cross_entropy_with_logits(D(fake.detach()), tinygan.zeros(5, 1)))
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.binary_cross_entropy_with_logits(D(fake), 1.0 + tinygan.zeros(5, 1))
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    assert loss_d.dtype == loss_g.dtype == np.float32
    assert float64_watch == []
    assert_float32_state([G, D], [opt_g, opt_d])


def test_seed_style_step_with_batchnorm_dropout_sigmoid_bce_stays_float32(float64_watch):
    gen = tinygan.Generator(1)
    D = nn.Sequential(nn.Linear(12, 16, generator=gen), nn.BatchNorm1d(16), nn.LeakyReLU(0.2),
                      nn.Dropout(0.3, generator=gen), nn.Linear(16, 1, generator=gen),
                      nn.Sigmoid())
    criterion = nn.BCELoss()
    for opt in (optim.SGD(D.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4),
                optim.RMSprop(D.parameters(), lr=1e-3, centered=True, momentum=0.5)):
        for _ in range(2):
            x = tinygan.randn(6, 12, generator=gen)
            loss = criterion(D(x), tinygan.ones(6, 1) * 0.9) + F.mse_loss(x.mean(),
                                                                          tinygan.tensor(0.0))
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert_float32_state([D], [opt])
    assert float64_watch == []


def test_gradient_penalty_step_with_second_derivatives_stays_float32(float64_watch):
    gen = tinygan.Generator(2)
    D = nn.Sequential(nn.Linear(4, 8, generator=gen), nn.LeakyReLU(0.2),
                      nn.Linear(8, 8, generator=gen), nn.Softplus(),
                      nn.Linear(8, 1, generator=gen))
    opt = optim.Adam(D.parameters(), lr=1e-4, betas=(0.0, 0.9))
    real, fake = tinygan.randn(6, 4, generator=gen), tinygan.randn(6, 4, generator=gen)
    alpha = tinygan.rand(6, 1, generator=gen)
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_()
    (grad_x,) = tinygan.grad(D(mixed).sum(), mixed, create_graph=True)
    penalty = ((grad_x * grad_x).sum(axis=1).sqrt() - 1) ** 2
    loss = D(fake).mean() - D(real).mean() + 10 * penalty.mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert float64_watch == []
    assert_float32_state([D], [opt])


def test_the_watch_does_catch_a_float64_leak(float64_watch):
    x = tinygan.randn(3, requires_grad=True)
    (x * tinygan.tensor(np.ones(3))).sum().backward()  # np.ones is float64
    assert float64_watch
