"""PyTorch's activation signatures: inplace=, positional arguments, clear errors, Softmax dims."""
import warnings

import numpy as np
import pytest

import tinygan
from tinygan import nn
import tinygan.nn.functional as F
from tests.helpers import t64, to_np


@pytest.mark.parametrize("make", [
    lambda: nn.ReLU(True), lambda: nn.ReLU(inplace=True), lambda: nn.LeakyReLU(0.2, True),
    lambda: nn.LeakyReLU(0.2, inplace=True), lambda: nn.LeakyReLU(negative_slope=0.2),
    lambda: nn.Dropout(0.0, True), lambda: nn.Dropout2d(0.0, inplace=True),
])
def test_inplace_gives_the_same_result_and_gradient(make):
    x = t64(np.random.default_rng(0).normal(size=(3, 4, 2, 2)))
    layer, plain = make(), type(make())()
    if isinstance(layer, nn.LeakyReLU):
        plain = nn.LeakyReLU(layer.negative_slope)
    if isinstance(layer, (nn.Dropout, nn.Dropout2d)):
        plain = type(layer)(0.0)
    v = x * 1.0                       # a non-leaf: in place is allowed on it
    y = layer(v)
    np.testing.assert_array_equal(to_np(y), to_np(plain(x)))
    if layer.inplace and not isinstance(layer, (nn.Dropout, nn.Dropout2d)):
        assert y is v                  # PyTorch overwrites the input and returns it
    (gx,) = tinygan.grad(y.sum(), x)
    (gp,) = tinygan.grad(plain(x).sum(), x)
    np.testing.assert_array_equal(to_np(gx), to_np(gp))
    assert ("inplace=True" in repr(layer)) == layer.inplace


@pytest.mark.parametrize("make", [lambda: nn.ReLU(True), lambda: nn.LeakyReLU(0.2, True)])
def test_inplace_activations_write_their_input_and_refuse_a_leaf(make):
    v = tinygan.tensor([-1.0, 2.0])
    make()(v)
    assert v.tolist()[1] == 2.0 and v.tolist()[0] in (0.0, pytest.approx(-0.2))
    leaf = tinygan.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        make()(leaf)


def test_wrong_arguments_name_the_real_signature():
    with pytest.raises(TypeError, match=r"nn.LeakyReLU\(negative_slope=0.01, inplace=False\): "
                                        r"got an unexpected keyword argument 'slope'"):
        nn.LeakyReLU(slope=0.2)
    with pytest.raises(TypeError, match=r"nn.Sigmoid\(\): too many positional arguments"):
        nn.Sigmoid(True)
    with pytest.raises(TypeError, match=r"nn.ReLU\(inplace=False\): inplace must be True or "
                                        r"False, got 0.2"):
        nn.ReLU(0.2)
    with pytest.raises(TypeError, match=r"nn.Tanh\(\): got an unexpected keyword"):
        nn.Tanh(inplace=True)
    with pytest.raises(TypeError, match="F.relu: inplace must be True or False"):
        F.relu(tinygan.ones(2), "yes")
    assert F.leaky_relu(tinygan.tensor([-1.0]), 0.2, inplace=True).tolist() == \
        pytest.approx([-0.2])


def test_identity_takes_any_arguments_and_softplus_beta_threshold():
    x = tinygan.randn(3)
    assert nn.Identity(54, unused="x")(x) is x
    sp = nn.Softplus(beta=2.0, threshold=1.0)
    v = np.array([-1.0, 0.2, 3.0])
    expected = np.where(2 * v > 1.0, v, np.log1p(np.exp(2 * v)) / 2)
    np.testing.assert_allclose(to_np(sp(t64(v))), expected, rtol=1e-12)


def test_softmax_implicit_dim_warns_and_uses_pytorchs_rule():
    x = tinygan.randn(2, 3, 4)
    with pytest.warns(UserWarning, match="Implicit dimension choice for softmax"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(to_np(y.sum(0)), np.ones((3, 4)), rtol=1e-6)   # 3-D: dim 0
    with pytest.warns(UserWarning, match="Implicit dimension choice for log_softmax"):
        z = F.log_softmax(tinygan.randn(2, 5))
    np.testing.assert_allclose(np.exp(to_np(z)).sum(1), np.ones(2), rtol=1e-6)  # 2-D: dim 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.Softmax(dim=1)(x)
        nn.LogSoftmax(1)(x)


def test_softmax_layers_match_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(size=(4, 5))
    for ours, theirs in ((nn.Softmax(dim=1), torch.nn.Softmax(dim=1)),
                         (nn.LogSoftmax(dim=0), torch.nn.LogSoftmax(dim=0))):
        xt = torch.tensor(x, requires_grad=True)
        xg = t64(x)
        yt, yg = theirs(xt), ours(xg)
        np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-12)
        w = np.random.default_rng(4).normal(size=x.shape)
        (yt * torch.tensor(w)).sum().backward()
        (gx,) = tinygan.grad((yg * t64(w, False)).sum(), xg)
        np.testing.assert_allclose(to_np(gx), xt.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_dropout2d_drops_whole_channels():
    x = tinygan.ones(8, 6, 3, 3, requires_grad=True)
    y = nn.Dropout2d(0.5, generator=tinygan.Generator(1))(x)
    per_channel = to_np(y).reshape(8, 6, 9)
    assert set(np.unique(per_channel).tolist()) == {0.0, 2.0}
    assert (per_channel.min(-1) == per_channel.max(-1)).all()        # constant per channel
    y.sum().backward()
    np.testing.assert_array_equal(to_np(x.grad), to_np(y))          # d(sum)/dx = the mask
    layer = nn.Dropout2d(0.5)
    layer.eval()
    assert layer(x) is x
    with pytest.warns(UserWarning, match="Received a 3D input"):
        nn.Dropout2d(0.5)(tinygan.ones(2, 3, 4))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_in_place_elu_differentiates_from_its_result_as_pytorch(dtype, alpha):
    """elu_ overwrites its input, so PyTorch's backward reads the result (y + alpha where
    y <= 0), refuses once the result is changed in place (issue 29, seed 3901970: tinygan
    kept the old input and ran), and its second derivative comes from the result too.
    Values, first and second derivatives against PyTorch, at 0, both sides and far out."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    values = [-30.0, -2.5, -0.7, -1e-4, 0.0, 1e-4, 0.3, 4.0]
    found = []
    for fw in (tinygan, torch):
        x = fw.tensor(values, dtype=getattr(fw, dtype), requires_grad=True)
        w = fw.tensor([0.5, -1.0, 2.0, 0.25, 1.5, -0.5, 1.0, 3.0], dtype=getattr(fw, dtype))
        y = fw.nn.functional.elu(x * 1.0, alpha, inplace=True)
        (g,) = fw.autograd.grad((y * y * w).sum(), [x], create_graph=True)
        (h,) = fw.autograd.grad((g * g).sum(), [x])
        z = fw.nn.functional.elu(x * 1.0, alpha, inplace=True)
        z.mul_(2.0)
        try:
            z.sum().backward()
            refused = False
        except RuntimeError as error:
            refused = "inplace" in str(error)
        found.append((y.tolist(), g.tolist(), h.tolist(), refused))
    ours, theirs = found
    rtol = 1e-6 if dtype == "float32" else 1e-13
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-12)
    assert ours[3] is theirs[3] is True
