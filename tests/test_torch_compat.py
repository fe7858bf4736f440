"""Against PyTorch on the same weights: forward, backward, and optimizer trajectories.

Skipped when PyTorch is not installed (``pip install torch==2.13.0`` installs a CPU build).
"""
import numpy as np
import pytest

import tinygan
from tinygan import nn, optim
from tinygan import functional as F
from tests.helpers import to_np

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _torch_float64():
    """These comparisons run in float64; restore torch's default afterwards so other test
    files that build torch layers get float32 as usual."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def both(tg_layer, torch_layer, x, copy_weights=True):
    """Run a tinygan and a torch layer (float64, same weights) on x; compare y and grads."""
    tg_layer.double()
    torch_layer.double()
    if copy_weights:
        tg_layer.load_state_dict(torch_layer.state_dict())
    xt = torch.tensor(x, requires_grad=True)
    xg = tinygan.tensor(x, dtype=np.float64, requires_grad=True)
    yt, yg = torch_layer(xt), tg_layer(xg)
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).normal(size=yt.shape)
    yt.backward(torch.tensor(upstream))
    yg.backward(tinygan.tensor(upstream, dtype=np.float64))
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    torch_params = dict(torch_layer.named_parameters())
    for name, p in tg_layer.named_parameters():
        np.testing.assert_allclose(to_np(p.grad), torch_params[name].grad.numpy(),
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    return tg_layer, torch_layer


x34 = np.random.default_rng(0).normal(size=(6, 4))


@pytest.mark.parametrize("make", [
    lambda m: m.Linear(4, 3), lambda m: m.Linear(4, 3, bias=False), lambda m: m.ReLU(),
    lambda m: m.LeakyReLU(0.2), lambda m: m.Sigmoid(), lambda m: m.Tanh(), lambda m: m.Softplus(),
    lambda m: m.Sequential(m.Linear(4, 5), m.LeakyReLU(0.2), m.Linear(5, 1)),
], ids=["linear", "linear_nobias", "relu", "leaky_relu", "sigmoid", "tanh", "softplus",
        "sequential"])
def test_layers_match_torch(make):
    both(make(nn), make(torch.nn), x34)


def test_default_state_dict_keys_and_shapes_match_torch():
    def build(m):
        return m.Sequential(m.Linear(4, 5), m.BatchNorm1d(5), m.ReLU(), m.Linear(5, 2))
    ours, theirs = build(nn).state_dict(), build(torch.nn).state_dict()
    assert list(ours) == list(theirs)
    assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)


@pytest.mark.parametrize("shape", [(8, 3), (5, 3, 4)])
def test_batchnorm1d_train_and_eval_match_torch(shape):
    x = np.random.default_rng(2).normal(loc=1.0, scale=2.0, size=shape)
    tg_bn, t_bn = nn.BatchNorm1d(3, momentum=0.2), torch.nn.BatchNorm1d(3, momentum=0.2)
    with torch.no_grad():
        t_bn.weight.copy_(torch.tensor([1.5, 0.5, -1.0]))
        t_bn.bias.copy_(torch.tensor([0.1, 0.0, 0.3]))
    both(tg_bn, t_bn, x)
    for name in ("running_mean", "running_var"):
        np.testing.assert_allclose(to_np(getattr(tg_bn, name)),
                                   getattr(t_bn, name).numpy(), rtol=1e-10)
    tg_bn.eval(), t_bn.eval()
    both(tg_bn, t_bn, x * 0.5 + 0.3, copy_weights=False)


def test_batchnorm2d_matches_torch():
    x = np.random.default_rng(3).normal(size=(3, 2, 4, 5))
    tg_bn, t_bn = both(nn.BatchNorm2d(2), torch.nn.BatchNorm2d(2), x)
    np.testing.assert_allclose(to_np(tg_bn.running_var), t_bn.running_var.numpy(), rtol=1e-10)


def test_maxout_matches_a_torch_formulation():
    m = nn.Maxout(4, 3, pieces=2).double()
    lin = torch.nn.Linear(4, 6).double()
    lin.load_state_dict({k.replace("linear.", ""): torch.tensor(to_np(v))
                         for k, v in m.state_dict().items()})
    expected = lin(torch.tensor(x34)).view(6, 3, 2).amax(dim=2)
    np.testing.assert_allclose(to_np(m(tinygan.tensor(x34, dtype=np.float64))),
                               expected.detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("name", ["bce", "bce_logits", "mse"])
def test_losses_match_torch(name):
    rng = np.random.default_rng(4)
    target = rng.uniform(size=(5, 1))
    raw = rng.normal(size=(5, 1)) * 3
    if name == "bce":
        raw = 1 / (1 + np.exp(-raw))
    ours = {"bce": F.binary_cross_entropy, "bce_logits": F.binary_cross_entropy_with_logits,
            "mse": F.mse_loss}[name]
    theirs = {"bce": torch.nn.functional.binary_cross_entropy,
              "bce_logits": torch.nn.functional.binary_cross_entropy_with_logits,
              "mse": torch.nn.functional.mse_loss}[name]
    for reduction in ("mean", "sum", "none"):
        xg = tinygan.tensor(raw, dtype=np.float64, requires_grad=True)
        xt = torch.tensor(raw, requires_grad=True)
        lg = ours(xg, tinygan.tensor(target, dtype=np.float64), reduction=reduction)
        lt = theirs(xt, torch.tensor(target), reduction=reduction)
        np.testing.assert_allclose(to_np(lg), lt.detach().numpy(), rtol=1e-10)
        lg.sum().backward(), lt.sum().backward()
        np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-9)


def test_bce_extremes_match_torch():
    p = np.array([0.0, 1.0, 1e-30, 1 - 1e-16])
    t = np.array([1.0, 0.0, 1.0, 0.0])
    xg = tinygan.tensor(p, dtype=np.float64, requires_grad=True)
    xt = torch.tensor(p, requires_grad=True)
    lg = F.binary_cross_entropy(xg, tinygan.tensor(t, dtype=np.float64), reduction="none")
    lt = torch.nn.functional.binary_cross_entropy(xt, torch.tensor(t), reduction="none")
    np.testing.assert_allclose(to_np(lg), lt.detach().numpy(), rtol=1e-10)
    lg.sum().backward(), lt.sum().backward()
    np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-9)


def _mlp(m):
    return m.Sequential(m.Linear(6, 16), m.LeakyReLU(0.2), m.Linear(16, 8), m.Tanh(),
                        m.Linear(8, 1))


@pytest.mark.parametrize("opt_name,kwargs", [
    ("Adam", dict(lr=2e-3, betas=(0.5, 0.999))),
    ("Adam", dict(lr=1e-3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    ("RMSprop", dict(lr=5e-3)),
    ("RMSprop", dict(lr=1e-3, centered=True, momentum=0.5)),
])
def test_20_optimizer_steps_match_torch(opt_name, kwargs):
    """20 steps of training an MLP: both frameworks follow the same trajectory."""
    rng = np.random.default_rng(5)
    xs = [rng.normal(size=(16, 6)) for _ in range(20)]
    ys = [rng.uniform(size=(16, 1)) for _ in range(20)]
    t_net = _mlp(torch.nn).double()
    g_net = _mlp(nn).double()
    g_net.load_state_dict(t_net.state_dict())
    t_opt = getattr(torch.optim, opt_name)(t_net.parameters(), **kwargs)
    g_opt = getattr(optim, opt_name)(g_net.parameters(), **kwargs)
    for x, y in zip(xs, ys):
        t_opt.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(
            t_net(torch.tensor(x)), torch.tensor(y)).backward()
        t_opt.step()
        g_opt.zero_grad()
        F.binary_cross_entropy_with_logits(
            g_net(tinygan.tensor(x, dtype=np.float64)), tinygan.tensor(y, dtype=np.float64)
        ).backward()
        g_opt.step()
    theirs = t_net.state_dict()
    for name, value in g_net.state_dict().items():
        np.testing.assert_allclose(to_np(value), theirs[name].numpy(), rtol=1e-7, atol=1e-10,
                                   err_msg=name)


def test_second_derivative_gradient_penalty_matches_torch():
    """A WGAN-GP-style penalty ||d D(x)/dx||: its gradient w.r.t. D's weights."""
    t_net, g_net = _mlp(torch.nn).double(), _mlp(nn).double()
    g_net.load_state_dict(t_net.state_dict())
    x = np.random.default_rng(6).normal(size=(5, 6))
    xt = torch.tensor(x, requires_grad=True)
    (gt,) = torch.autograd.grad(t_net(xt).sum(), xt, create_graph=True)
    ((gt.norm(dim=1) - 1) ** 2).mean().backward()
    xg = tinygan.tensor(x, dtype=np.float64, requires_grad=True)
    (gg,) = tinygan.grad(g_net(xg).sum(), xg, create_graph=True)
    (((gg * gg).sum(axis=1).sqrt() - 1) ** 2).mean().backward()
    theirs = dict(t_net.named_parameters())
    for name, p in g_net.named_parameters():
        # the penalty does not depend on the last bias: torch leaves its grad None
        expected = theirs[name].grad
        expected = np.zeros(p.shape) if expected is None else expected.numpy()
        ours = np.zeros(p.shape) if p.grad is None else to_np(p.grad)
        np.testing.assert_allclose(ours, expected, rtol=1e-8,
                                   atol=1e-12, err_msg=name)


def test_weights_move_from_tinygan_to_torch():
    g_net = _mlp(nn)
    t_net = _mlp(torch.nn).float()
    t_net.load_state_dict({k: torch.from_numpy(to_np(v)) for k, v in g_net.state_dict().items()})
    x = np.random.default_rng(7).normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_allclose(to_np(g_net(tinygan.tensor(x))),
                               t_net(torch.from_numpy(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
