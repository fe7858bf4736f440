"""After a double backward, which parameters get a zero gradient and which get None.

PyTorch's rule: a parameter gets a gradient tensor when it is in the graph of the penalty's
backward, even when that gradient is structurally zero, and None only when no path reaches
it. The gradient penalty of a LeakyReLU critic shows both: the first layer's bias feeds
leaky_relu's backward only through the *mask* x > 0, whose derivative PyTorch defines as
zeros_like (so 0.bias gets zeros), while the last layer's bias never enters d out / dx at
all (2.bias gets None). Adam then moves 0.bias on a penalty-only step (with its moments) and
skips 2.bias. tinygan's LeakyReLUGrad.backward returns None for x, so 0.bias gets None.
"""
import numpy as np
import pytest

import tinygan
from tinygan import nn, optim

torch = pytest.importorskip("torch")




def _both():
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LeakyReLU(0.2),
                                 torch.nn.Linear(4, 1))
    ours = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.2), nn.Linear(4, 1))
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _penalty(framework, net, x):
    x = framework.tensor(x, requires_grad=True)
    out = net(x)
    (g,) = framework.autograd.grad(out, x, framework.ones_like(out), create_graph=True)
    return ((g.norm(2, dim=1) - 1) ** 2).mean()


def test_which_parameters_pytorch_gives_zero_and_none():
    """The facts this file relies on (passes: it only reads PyTorch)."""
    _, theirs = _both()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    _penalty(torch, theirs, x).backward()
    grads = {n: p.grad for n, p in theirs.named_parameters()}
    assert grads["2.bias"] is None
    assert grads["0.bias"] is not None and not grads["0.bias"].any()
    assert grads["0.weight"].abs().sum() > 0 and grads["2.weight"].abs().sum() > 0


def test_double_backward_gives_zero_where_pytorch_does_and_adam_follows():
    ours, theirs = _both()
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    opt_t = torch.optim.Adam(theirs.parameters(), lr=0.01)
    opt_g = optim.Adam(ours.parameters(), lr=0.01)
    for _ in range(3):                       # a penalty-only loss, three Adam steps
        opt_t.zero_grad(), opt_g.zero_grad()
        _penalty(torch, theirs, x).backward()
        _penalty(tinygan, ours, x).backward()
        tg = dict(ours.named_parameters())
        for name, p in theirs.named_parameters():
            assert (tg[name].grad is None) == (p.grad is None), name
        opt_t.step(), opt_g.step()
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(tinygan.devices.backend.to_numpy(dict(ours.named_parameters())[
            name].array), p.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
