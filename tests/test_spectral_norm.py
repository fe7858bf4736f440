"""Spectral normalisation: against torch.nn.utils.spectral_norm on the same weights and the
same u (outputs, gradients, buffers over several training steps, eval mode, state_dicts,
remove_spectral_norm), and by gradcheck/gradgradcheck. The PyTorch tests skip without torch."""
import copy

import numpy as np
import pytest

import tinygan
from tinygan import nn
from tinygan.nn.utils import remove_spectral_norm, spectral_norm
from tests.helpers import t64, to_np

try:
    import torch
except ImportError:  # pragma: no cover - depends on the machine
    torch = None



def needs_torch(test):
    """Mark a PyTorch comparison: collected always, skipped cleanly without torch."""
    skip = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
    return pytest.mark.torch(skip(test))


LAYERS = {  # name: (builder taking a module namespace, input shape)
    "linear": (lambda m: m.Linear(5, 3), (4, 5)),
    "conv2d": (lambda m: m.Conv2d(2, 3, 3, stride=2, padding=1), (2, 2, 6, 6)),
    "conv_transpose2d": (lambda m: m.ConvTranspose2d(3, 2, 4, stride=2, padding=1),
                         (2, 3, 3, 3)),
}


def sn_pair(name, dim=None, n_power_iterations=1):
    """The same spectrally normalised layer in torch and tinygan (float64, same weights,
    same u and v: tinygan loads torch's state_dict)."""
    build, shape = LAYERS[name]
    torch.manual_seed(0)
    kwargs = {} if dim is None else {"dim": dim}
    theirs = torch.nn.utils.spectral_norm(build(torch.nn).double(),
                                          n_power_iterations=n_power_iterations, **kwargs)
    ours = spectral_norm(build(nn).double(), n_power_iterations=n_power_iterations, **kwargs)
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs, shape


@needs_torch
@pytest.mark.parametrize("dim", [None, 0, 1])
@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("n_power_iterations", [1, 3])
def test_training_steps_match_torch(name, dim, n_power_iterations):
    ours, theirs, shape = sn_pair(name, dim, n_power_iterations)
    rng = np.random.default_rng(1)
    lr = 0.1
    for step in range(5):   # forward (power iteration), backward, an SGD step, on both
        x = rng.normal(size=shape)
        xt = torch.tensor(x, requires_grad=True)
        xg = t64(x)
        yt, yg = theirs(xt), ours(xg)
        np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
        upstream = rng.normal(size=tuple(yt.shape))
        yt.backward(torch.tensor(upstream))
        yg.backward(t64(upstream, requires_grad=False))
        np.testing.assert_allclose(to_np(xg.grad), xt.grad.numpy(), rtol=1e-9, atol=1e-12)
        torch_params = dict(theirs.named_parameters())
        assert sorted(torch_params) == sorted(n for n, _ in ours.named_parameters())
        for pname, p in ours.named_parameters():
            np.testing.assert_allclose(to_np(p.grad), torch_params[pname].grad.numpy(),
                                       rtol=1e-9, atol=1e-12, err_msg=f"{pname} step {step}")
        for buf in ("weight_u", "weight_v"):
            np.testing.assert_allclose(to_np(getattr(ours, buf)),
                                       getattr(theirs, buf).numpy(), rtol=1e-10, atol=1e-12,
                                       err_msg=f"{buf} step {step}")
        with torch.no_grad():
            for pname, p in theirs.named_parameters():
                p -= lr * p.grad
                p.grad = None
        with tinygan.no_grad():
            for p in ours.parameters():
                p.sub_(lr * p.grad)
                p.grad = None
    # eval mode: no power iteration, the buffers stay as they are, outputs still agree
    ours.eval(), theirs.eval()
    u_before = to_np(ours.weight_u).copy()
    x = rng.normal(size=shape)
    np.testing.assert_allclose(to_np(ours(t64(x))), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(to_np(ours.weight_u), u_before)


@needs_torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_state_dict_moves_both_ways(name):
    ours, theirs, shape = sn_pair(name)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(2).normal(size=shape)
    ours(t64(x))    # one training forward moves u and v in tinygan only
    fresh = torch.nn.utils.spectral_norm(LAYERS[name][0](torch.nn).double())
    fresh.load_state_dict({k: torch.tensor(to_np(v)) for k, v in ours.state_dict().items()})
    ours.eval(), fresh.eval()
    np.testing.assert_allclose(to_np(ours(t64(x))), fresh(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("name", list(LAYERS))
def test_remove_spectral_norm_matches_torch(name):
    ours, theirs, shape = sn_pair(name)
    x = np.random.default_rng(3).normal(size=shape)
    ours(t64(x)), theirs(torch.tensor(x))
    remove_spectral_norm(ours), torch.nn.utils.remove_spectral_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    np.testing.assert_allclose(to_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-10)
    assert isinstance(ours.weight, nn.Parameter)
    np.testing.assert_allclose(to_np(ours(t64(x))), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradients_through_sigma_gradcheck(name):
    """Eval mode holds u and v fixed, so the layer is a function of (weight_orig, x) that
    finite differences can probe: W / (u^T W v), sigma's dependence on W included."""
    build, shape = LAYERS[name]
    layer = spectral_norm(build(nn).double())
    layer(t64(np.zeros(shape), requires_grad=False))   # one power iteration
    layer.eval()
    x = t64(np.random.default_rng(4).normal(size=shape))
    assert tinygan.gradcheck(lambda w, inp: layer(inp), [layer.weight_orig, x])
    assert tinygan.gradgradcheck(lambda w, inp: layer(inp), [layer.weight_orig, x])


def test_power_iteration_finds_the_largest_singular_value():
    layer = spectral_norm(nn.Linear(20, 10).double())
    x = t64(np.ones((1, 20)), requires_grad=False)
    for _ in range(60):
        layer(x)
    w = to_np(layer.weight_orig)
    sigma = np.linalg.svd(w, compute_uv=False)[0]
    np.testing.assert_allclose(np.linalg.svd(to_np(layer.weight), compute_uv=False)[0], 1.0,
                               rtol=1e-6)
    u, v = to_np(layer.weight_u), to_np(layer.weight_v)
    np.testing.assert_allclose(u @ w @ v, sigma, rtol=1e-6)


def test_default_dim_for_conv_transpose_is_one():
    layer = spectral_norm(nn.ConvTranspose2d(3, 5, 4))   # weight (3, 5, 4, 4)
    assert layer.weight_u.shape == (5,) and layer.weight_v.shape == (3 * 16,)
    layer = spectral_norm(nn.Conv2d(3, 5, 4))            # weight (5, 3, 4, 4)
    assert layer.weight_u.shape == (5,) and layer.weight_v.shape == (3 * 16,)


def test_optimizer_sees_weight_orig_and_training_moves_it():
    layer = spectral_norm(nn.Linear(3, 2))
    names = [n for n, _ in layer.named_parameters()]
    assert names == ["bias", "weight_orig"]
    opt = tinygan.optim.SGD(layer.parameters(), lr=0.5)
    before = to_np(layer.weight_orig).copy()
    layer(tinygan.randn(4, 3)).sum().backward()
    opt.step()
    assert not np.allclose(to_np(layer.weight_orig), before)


def test_deepcopy_keeps_an_independent_hook():
    layer = spectral_norm(nn.Linear(3, 2))
    twin = copy.deepcopy(layer)
    x = tinygan.randn(4, 3)
    np.testing.assert_allclose(to_np(twin(x)), to_np(layer(x)), rtol=1e-6)
    with tinygan.no_grad():
        twin.weight_orig.mul_(2.0)
    np.testing.assert_allclose(to_np(layer.weight_orig) * 2, to_np(twin.weight_orig))
    # W / sigma does not change when W doubles: the twin normalises its own weight
    np.testing.assert_allclose(to_np(twin(x)) - to_np(twin.bias),
                               to_np(layer(x)) - to_np(layer.bias), rtol=1e-5, atol=1e-6)


def test_bad_uses_raise():
    layer = spectral_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="already has spectral_norm"):
        spectral_norm(layer)
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        spectral_norm(nn.Linear(3, 2), name="kernel")
    with pytest.raises(ValueError, match="not found"):
        remove_spectral_norm(nn.Linear(3, 2))
    with pytest.raises(IndexError, match="out of range"):
        spectral_norm(nn.Linear(3, 2), dim=2)


def test_imports_like_torch_nn_utils():
    import tinygan.nn.utils
    from tinygan.nn.utils import spectral_norm as sn
    assert tinygan.nn.utils.spectral_norm is sn is nn.utils.spectral_norm
    assert callable(tinygan.nn.utils.remove_spectral_norm)
