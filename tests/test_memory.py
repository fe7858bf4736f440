"""No graph and no buffer survives a training step.

The graph is owned by the loss (output -> creator -> inputs, with only a weak reference
back from a Function to its output), so when the step's locals go out of scope, reference
counting alone frees every intermediate: no cycle, no gc.collect() needed. These tests run
with the cycle collector switched off to prove it. The long-run RSS check lives in
``benchmarks/bench_mlp_gan.py --memory``.
"""
import gc
import weakref

import pytest

import tinygan
from tinygan import nn, optim
from tinygan import functional as F
from tinygan.engine.tensor import Function, Tensor


@pytest.fixture
def no_cycle_collector():
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    yield
    if was_enabled:
        gc.enable()


class Spy(nn.Module):
    """Identity layer that keeps weak references to what flows through it."""

    def __init__(self, refs):
        super().__init__()
        self.refs = refs

    def forward(self, x):
        self.refs.append(weakref.ref(x))
        if x.creator is not None:
            self.refs.append(weakref.ref(x.creator))
        return x


def gan_step(G, D, opt_g, opt_d, gen, refs, create_graph_penalty=False):
    fake = G(tinygan.randn(4, 3, generator=gen))
    real = tinygan.randn(4, 5, generator=gen)
    loss_d = (F.binary_cross_entropy_with_logits(D(real), tinygan.ones(4, 1))
              + F.binary_cross_entropy_with_logits(D(fake.detach()), tinygan.zeros(4, 1)))
    if create_graph_penalty:  # a WGAN-GP style penalty: a graph built from a gradient
        mixed = (0.5 * real + 0.5 * fake.detach()).requires_grad_()
        (g,) = tinygan.grad(D(mixed).sum(), mixed, create_graph=True)
        refs.append(weakref.ref(g))
        loss_d = loss_d + ((g * g).sum(axis=1) - 1).mean() ** 2
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = F.binary_cross_entropy_with_logits(D(fake), tinygan.ones(4, 1))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    refs += [weakref.ref(t) for t in (fake, loss_d, loss_g)]
    refs += [weakref.ref(t.creator) for t in (fake, loss_d, loss_g)]


def make_models(refs):
    gen = tinygan.Generator(0)
    G = nn.Sequential(nn.Linear(3, 8, generator=gen), Spy(refs), nn.ReLU(),
                      nn.Linear(8, 5, generator=gen), nn.Tanh())
    D = nn.Sequential(nn.Linear(5, 8, generator=gen), nn.BatchNorm1d(8), Spy(refs),
                      nn.LeakyReLU(0.2), nn.Linear(8, 1, generator=gen))
    return G, D, optim.Adam(G.parameters(), lr=1e-3), optim.Adam(D.parameters(), lr=1e-3), gen


@pytest.mark.parametrize("penalty", [False, True], ids=["plain", "gradient_penalty"])
def test_every_intermediate_is_freed_by_reference_counting(no_cycle_collector, penalty):
    refs: list[weakref.ref] = []
    G, D, opt_g, opt_d, gen = make_models(refs)
    gan_step(G, D, opt_g, opt_d, gen, refs, create_graph_penalty=penalty)
    assert len(refs) > 10
    alive = [r() for r in refs if r() is not None]
    assert alive == [], f"{len(alive)} graph objects outlived the step: {alive[:3]}"


def test_gradients_and_state_are_plain_leaves_with_no_graph(no_cycle_collector):
    refs: list[weakref.ref] = []
    G, D, opt_g, opt_d, gen = make_models(refs)
    gan_step(G, D, opt_g, opt_d, gen, refs, create_graph_penalty=True)
    for p in list(G.parameters()) + list(D.parameters()):
        assert p.grad is not None and p.grad.creator is None and not p.grad.requires_grad


def live_objects():
    """(live Tensors, live Functions); issubclass(type(o)) avoids touching o.__class__."""
    objects = gc.get_objects()
    tensors = sum(1 for o in objects if issubclass(type(o), Tensor))
    functions = sum(1 for o in objects if issubclass(type(o), Function))
    return tensors, functions


def test_the_number_of_live_tensors_does_not_grow_across_steps(no_cycle_collector):
    refs: list[weakref.ref] = []
    G, D, opt_g, opt_d, gen = make_models(refs)
    gan_step(G, D, opt_g, opt_d, gen, refs)
    refs.clear()
    after_one = live_objects()
    for _ in range(3):
        gan_step(G, D, opt_g, opt_d, gen, refs)
        refs.clear()
    assert live_objects() == after_one
    assert after_one[1] == 0  # no Function (graph node) is alive between steps
    kept = D(tinygan.randn(2, 5)).sum()  # the control: a graph kept on purpose is seen
    assert live_objects()[1] > 0 and kept.creator is not None
