"""Conv2d and ConvTranspose2d: gradients, second derivatives, the adjoint identity, PyTorch
agreement, initialisation and error messages."""
import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tinygan
from tinygan import nn
from tinygan.engine import convolution
from tinygan.fast import conv_by_image
from tinygan.nn import functional as F
from tests.helpers import t64, to_np


# ---------------------------------------------------------------------------------------
# Hypothesis: tiny geometries (gradcheck costs two forward passes per input element)
# ---------------------------------------------------------------------------------------
@st.composite
def conv_config(draw, transpose=False):
    """A small valid configuration: shapes, kernel, stride (may exceed the kernel), padding,
    and for the transposed convolution an output_padding below the stride."""
    n = draw(st.integers(1, 2))
    c_in, c_out = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    if transpose:  # any input size works as long as the output is positive
        h, w = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        oph, opw = draw(st.integers(0, sh - 1)), draw(st.integers(0, sw - 1))
        if (h - 1) * sh - 2 * ph + kh + oph < 1 or (w - 1) * sw - 2 * pw + kw + opw < 1:
            ph = pw = 0
        return dict(n=n, c_in=c_in, c_out=c_out, h=h, w=w, kernel=(kh, kw), stride=(sh, sw),
                    padding=(ph, pw), output_padding=(oph, opw))
    h = draw(st.integers(max(1, kh - 2 * ph), 5))
    w = draw(st.integers(max(1, kw - 2 * pw), 5))
    return dict(n=n, c_in=c_in, c_out=c_out, h=h, w=w, kernel=(kh, kw), stride=(sh, sw),
                padding=(ph, pw))


def _random(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _conv_inputs(cfg, seed=0):
    x = t64(_random((cfg["n"], cfg["c_in"], cfg["h"], cfg["w"]), seed))
    w = t64(_random((cfg["c_out"], cfg["c_in"]) + cfg["kernel"], seed + 1))
    b = t64(_random((cfg["c_out"],), seed + 2))
    return x, w, b


def _transpose_inputs(cfg, seed=0):
    x = t64(_random((cfg["n"], cfg["c_in"], cfg["h"], cfg["w"]), seed))
    w = t64(_random((cfg["c_in"], cfg["c_out"]) + cfg["kernel"], seed + 1))
    b = t64(_random((cfg["c_out"],), seed + 2))
    return x, w, b


STRIDE_OVER_KERNEL = dict(n=1, c_in=2, c_out=1, h=5, w=4, kernel=(2, 1), stride=(3, 2),
                         padding=(1, 0))


@settings(max_examples=12)
@given(conv_config())
@example(STRIDE_OVER_KERNEL)  # always checked, whatever hypothesis draws
def test_conv2d_gradcheck_and_gradgradcheck(cfg):
    x, w, b = _conv_inputs(cfg)

    def fn(x, w, b):
        return F.conv2d(x, w, b, cfg["stride"], cfg["padding"])

    assert tinygan.gradcheck(fn, [x, w, b])
    assert tinygan.gradgradcheck(fn, [x, w, b])


@settings(max_examples=12)
@given(conv_config(transpose=True))
@example(dict(STRIDE_OVER_KERNEL, h=2, w=3, output_padding=(2, 1)))
def test_conv_transpose2d_gradcheck_and_gradgradcheck(cfg):
    x, w, b = _transpose_inputs(cfg)

    def fn(x, w, b):
        return F.conv_transpose2d(x, w, b, cfg["stride"], cfg["padding"],
                                  cfg["output_padding"])

    assert tinygan.gradcheck(fn, [x, w, b])
    assert tinygan.gradgradcheck(fn, [x, w, b])


@settings(max_examples=8)
@given(conv_config())
def test_conv2d_weight_gradient_has_second_derivatives(cfg):
    """conv2d_weight (the weight gradient) is itself a Function with a checked backward."""
    x, w, _ = _conv_inputs(cfg)
    gy = t64(_random(F.conv2d(x, w, None, cfg["stride"], cfg["padding"]).shape, 7))

    def fn(x, gy):
        return convolution.conv2d_weight(x, gy, cfg["kernel"], cfg["stride"], cfg["padding"])

    assert tinygan.gradcheck(fn, [x, gy])
    assert tinygan.gradgradcheck(fn, [x, gy])


@settings(max_examples=25)
@given(conv_config(), st.integers(0, 2 ** 16))
def test_adjoint_identity(cfg, seed):
    """<conv2d(x), y> = <x, conv_transpose2d(y)> with the same weight, stride and padding;
    output_padding restores the rows conv2d's floor division dropped."""
    x, w, _ = _conv_inputs(cfg, seed)
    y_shape = F.conv2d(x, w, None, cfg["stride"], cfg["padding"]).shape
    y = t64(_random(y_shape, seed + 3))
    dropped = tuple((n + 2 * p - k) % s for n, k, s, p in zip(
        (cfg["h"], cfg["w"]), cfg["kernel"], cfg["stride"], cfg["padding"]))
    conv_x = F.conv2d(x, w, None, cfg["stride"], cfg["padding"])
    convt_y = F.conv_transpose2d(y, w, None, cfg["stride"], cfg["padding"], dropped)
    assert convt_y.shape == x.shape
    left = float((to_np(conv_x) * to_np(y)).sum())
    right = float((to_np(x) * to_np(convt_y)).sum())
    assert left == pytest.approx(right, rel=1e-10, abs=1e-10)


# ---------------------------------------------------------------------------------------
# Direct checks of the definition (no PyTorch needed)
# ---------------------------------------------------------------------------------------
def _reference_conv2d(x, w, stride, padding):
    """The textbook definition, with loops over output pixels (fine for tiny inputs)."""
    (sh, sw), (ph, pw) = stride, padding
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _, hp, wp = xp.shape
    o, _, kh, kw = w.shape
    ho, wo = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            y[:, :, i, j] = np.einsum("ncab,ocab->no", patch, w)
    return y


@pytest.mark.parametrize("stride,padding", [((1, 1), (0, 0)), ((2, 1), (1, 2)), ((3, 3), (1, 0))])
def test_conv2d_matches_the_definition(stride, padding):
    x, w = _random((2, 3, 7, 6), 0), _random((4, 3, 3, 2), 1)
    y = F.conv2d(t64(x), t64(w), None, stride, padding)
    np.testing.assert_allclose(to_np(y), _reference_conv2d(x, w, stride, padding), atol=1e-12)


def test_float32_in_float32_out():
    conv, convt = nn.Conv2d(2, 3, 3, 2, 1), nn.ConvTranspose2d(3, 2, 4, 2, 1)
    x = tinygan.randn(2, 2, 8, 8, requires_grad=True)
    y = convt(conv(x))
    assert y.shape == (2, 2, 8, 8) and y.dtype == np.float32
    (y * y).sum().backward()
    assert x.grad.dtype == conv.weight.grad.dtype == convt.weight.grad.dtype == np.float32


def test_conv_on_each_backend(each_backend):
    """Same numbers on NumPy and (when present) CuPy: the code only uses xp functions."""
    x, w = _random((2, 3, 6, 5), 0), _random((2, 3, 3, 3), 1)
    tx, tw = t64(x), t64(w)
    assert tx.device == ("cpu" if each_backend == "numpy" else "cuda")
    y = F.conv2d(tx, tw, None, 2, 1)                      # (2, 2, 3, 3)
    back = F.conv_transpose2d(y, tw, None, 2, 1, (1, 0))   # the adjoint: back to (2, 3, 6, 5)
    (back * back).sum().backward()
    np.testing.assert_allclose(to_np(y), _reference_conv2d(x, w, (2, 2), (1, 1)), atol=1e-12)
    assert back.shape == x.shape and tx.grad.shape == x.shape and tw.grad.shape == w.shape
    assert tx.grad.device == tx.device


# ---------------------------------------------------------------------------------------
# Against PyTorch, layer by layer, on the same weights
# ---------------------------------------------------------------------------------------
CONV_CONFIGS = [  # (in, out, kernel, stride, padding, input H, W)
    (1, 4, 4, 2, 1, 28, 28),
    (3, 5, 3, 1, 1, 7, 9),
    (2, 3, (3, 2), (2, 3), (0, 1), 8, 7),
    (2, 2, 2, 3, 0, 7, 7),      # stride larger than the kernel: pixels are skipped
    (4, 2, 5, 1, 2, 5, 5),
]
TRANSPOSE_CONFIGS = [  # (in, out, kernel, stride, padding, output_padding, input H, W)
    (8, 4, 4, 2, 1, 0, 7, 7),
    (3, 1, 3, 2, 1, 1, 5, 6),
    (2, 3, (3, 2), (2, 3), (1, 0), (1, 2), 4, 3),
    (2, 2, 2, 3, 0, 2, 3, 3),   # stride larger than the kernel: gaps between patches
    (3, 3, 3, 1, 1, 0, 6, 6),
]


def _compare_with_torch(ours, theirs, x_np, torch):
    """Copy our weights into the torch layer, then compare outputs and all gradients.
    Everything is float32 on both sides (torch layers are built with an explicit dtype, so a
    test elsewhere that changes torch's default dtype cannot change this one)."""
    theirs.load_state_dict({k: torch.from_numpy(to_np(v)) for k, v in ours.state_dict().items()})
    x = tinygan.tensor(x_np, requires_grad=True)
    tx = torch.tensor(x_np, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = np.random.default_rng(5).standard_normal(y.shape).astype(np.float32)
    (y * tinygan.tensor(g)).sum().backward()
    (ty * torch.from_numpy(g)).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_np(ours.weight.grad), theirs.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(to_np(ours.bias.grad), theirs.bias.grad.numpy(),
                               rtol=1e-4, atol=1e-3)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", CONV_CONFIGS)
def test_conv2d_layer_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    c_in, c_out, k, s, p, h, w = cfg
    ours = nn.Conv2d(c_in, c_out, k, s, p)
    theirs = torch.nn.Conv2d(c_in, c_out, k, s, p, dtype=torch.float32)
    x = np.random.default_rng(0).standard_normal((3, c_in, h, w)).astype(np.float32)
    _compare_with_torch(ours, theirs, x, torch)


@pytest.mark.torch
@pytest.mark.parametrize("cfg", TRANSPOSE_CONFIGS)
def test_conv_transpose2d_layer_matches_torch(cfg):
    torch = pytest.importorskip("torch")
    c_in, c_out, k, s, p, op, h, w = cfg
    ours = nn.ConvTranspose2d(c_in, c_out, k, s, p, op)
    theirs = torch.nn.ConvTranspose2d(c_in, c_out, k, s, p, op, dtype=torch.float32)
    assert ours.weight.shape == tuple(theirs.weight.shape)
    x = np.random.default_rng(0).standard_normal((3, c_in, h, w)).astype(np.float32)
    _compare_with_torch(ours, theirs, x, torch)


@pytest.mark.torch
def test_double_backward_matches_torch():
    """The gradient penalty's ingredient: d/dW of ||d out / d x||^2 through both layers."""
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.Conv2d(2, 3, 3, 2, 1), nn.LeakyReLU(0.2),
                         nn.ConvTranspose2d(3, 2, 3, 2, 1, 1))
    theirs = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3, 2, 1), torch.nn.LeakyReLU(0.2),
                                 torch.nn.ConvTranspose2d(3, 2, 3, 2, 1, 1)).float()
    theirs.load_state_dict({k: torch.from_numpy(to_np(v)) for k, v in ours.state_dict().items()})
    x_np = np.random.default_rng(1).standard_normal((2, 2, 6, 6)).astype(np.float32)
    x, tx = tinygan.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    (gx,) = tinygan.grad((ours(x) ** 2).sum(), x, create_graph=True)
    (tgx,) = torch.autograd.grad((theirs(tx) ** 2).sum(), tx, create_graph=True)
    (gx * gx).sum().backward()
    (tgx * tgx).sum().backward()
    for (name, p), tp in zip(ours.named_parameters(), theirs.parameters()):
        np.testing.assert_allclose(to_np(p.grad), tp.grad.numpy(), rtol=1e-3, atol=1e-3,
                                   err_msg=name)


@pytest.mark.torch
def test_default_init_bound_matches_torch():
    """U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = weight.shape[1] * kh * kw: for the
    transposed layer that is out_channels * kh * kw, as torch computes it."""
    torch = pytest.importorskip("torch")
    for ours, theirs in [(nn.Conv2d(16, 4, 3), torch.nn.Conv2d(16, 4, 3)),
                         (nn.ConvTranspose2d(16, 4, 3), torch.nn.ConvTranspose2d(16, 4, 3))]:
        bound = 1 / math.sqrt(ours.weight.shape[1] * 9)
        for w in (to_np(ours.weight), theirs.weight.detach().numpy()):
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
        for b in (to_np(ours.bias), theirs.bias.detach().numpy()):
            assert np.abs(b).max() <= bound


# ---------------------------------------------------------------------------------------
# Errors name the layer and the shapes
# ---------------------------------------------------------------------------------------
def test_kernel_larger_than_padded_input():
    conv = nn.Conv2d(1, 2, 5, padding=1)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2, kernel_size=\(5, 5\).*kernel \(5, 5\) "
                                         r"is larger than the padded input \(4, 4\)"):
        conv(tinygan.randn(1, 1, 2, 2))


def test_channel_mismatch():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 2.*\(4, 1, 8, 8\) has 1 channels.*"
                                         r"\(2, 3, 3, 3\) expects 3"):
        nn.Conv2d(3, 2, 3)(tinygan.randn(4, 1, 8, 8))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(5, 2.*\(4, 3, 8, 8\) has 3 "
                                         r"channels.*\(5, 2, 3, 3\) expects 5"):
        nn.ConvTranspose2d(5, 2, 3)(tinygan.randn(4, 3, 8, 8))
    with pytest.raises(ValueError, match=r"conv2d: .*has 2 channels"):
        F.conv2d(tinygan.randn(1, 2, 5, 5), tinygan.randn(3, 4, 3, 3))


def test_output_padding_must_be_below_stride():
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(2, 3.*output_padding \(2, 2\) "
                                         r"must be >= 0 and smaller than stride \(2, 2\)"):
        nn.ConvTranspose2d(2, 3, 4, stride=2, output_padding=2)
    with pytest.raises(ValueError, match=r"conv_transpose2d: output_padding \(1, 1\).*"
                                         r"stride \(1, 1\)"):
        F.conv_transpose2d(tinygan.randn(1, 2, 3, 3), tinygan.randn(2, 2, 3, 3),
                           output_padding=1)


def test_input_must_be_4d_or_one_image():
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2.*4-D input \(N, C, H, W\) or a 3-D "
                                         r"one \(C, H, W\), got shape \(8, 8\)"):
        nn.Conv2d(1, 2, 3)(tinygan.randn(8, 8))
    with pytest.raises(ValueError, match=r"Conv2d\(1, 2.*got shape \(8, 8\)"):
        nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect")(tinygan.randn(8, 8))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(1, 2.*got shape \(64,\)"):
        nn.ConvTranspose2d(1, 2, 3)(tinygan.randn(64))


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match=r"Conv2d: stride must be >= 1.*stride=\(0, 0\)"):
        nn.Conv2d(1, 2, 3, stride=0)
    with pytest.raises(ValueError, match=r"kernel_size must be an int or a pair"):
        nn.Conv2d(1, 2, (3, 3, 3))
    with pytest.raises(ValueError, match=r"ConvTranspose2d: channels and kernel_size"):
        nn.ConvTranspose2d(0, 2, 3)


def test_bias_shape_is_checked():
    with pytest.raises(ValueError, match=r"conv2d: bias of shape \(3,\) does not match the 2 "
                                         r"output channels of weight \(2, 1, 3, 3\)"):
        F.conv2d(tinygan.randn(1, 1, 5, 5), tinygan.randn(2, 1, 3, 3), tinygan.randn(3))


def test_layer_repr_and_state_dict_keys():
    layer = nn.ConvTranspose2d(4, 2, 4, 2, 1, bias=False)
    assert repr(layer) == "ConvTranspose2d(4, 2, kernel_size=(4, 4), stride=(2, 2), " \
                          "padding=(1, 1), bias=False)"
    assert list(layer.state_dict()) == ["weight"]
    assert layer.weight.shape == (4, 2, 4, 4)


def test_only_the_requested_gradients_are_formed():
    """A frozen weight (requires_grad False) gets no gradient and the input's is unchanged;
    an input that needs none (a data batch) gets none. Work nobody asked for is skipped."""
    x_np, w_np = _random((2, 3, 6, 6), 0), _random((4, 3, 3, 3), 1)
    x, w = t64(x_np), t64(w_np)
    (F.conv2d(x, w, None, 2, 1) ** 2).sum().backward()
    frozen_x, frozen_w = t64(x_np), t64(w_np, requires_grad=False)
    (F.conv2d(frozen_x, frozen_w, None, 2, 1) ** 2).sum().backward()
    assert frozen_w.grad is None
    np.testing.assert_allclose(to_np(frozen_x.grad), to_np(x.grad))
    data, w2 = t64(x_np, requires_grad=False), t64(w_np)
    (F.conv2d(data, w2, None, 2, 1) ** 2).sum().backward()
    assert data.grad is None
    np.testing.assert_allclose(to_np(w2.grad), to_np(w.grad))
    layer = nn.ConvTranspose2d(3, 2, 3, 2, 1)
    layer.weight.requires_grad_(False)
    layer(tinygan.randn(2, 3, 4, 4)).sum().backward()
    assert layer.weight.grad is None and layer.bias.grad is not None


# ---- the plain form (gather + matmul, scatter-add) equals the fused one ----------------------
GEOMETRIES = [  # (N, C, H, W), (O, kh, kw), stride, padding, output_padding
    ((2, 3, 7, 6), (4, 3, 3), (1, 1), (1, 1), (0, 0)),
    ((1, 2, 8, 8), (3, 4, 4), (2, 2), (1, 1), (1, 0)),
    ((2, 1, 5, 9), (2, 2, 3), (2, 3), (0, 2), (1, 2)),
]


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_the_plain_convolutions_equal_the_fused_ones_with_their_derivatives(geometry,
                                                                            transposed):
    (n, c, h, w), (o, kh, kw), stride, padding, output_padding = geometry
    rng = np.random.default_rng(5)
    x = tinygan.Tensor(rng.normal(size=(n, c, h, w)), requires_grad=True)
    shape = (c, o, kh, kw) if transposed else (o, c, kh, kw)
    weight = tinygan.Tensor(rng.normal(size=shape), requires_grad=True)
    bias = tinygan.Tensor(rng.normal(size=(o,)), requires_grad=True)

    def run():
        if transposed:
            y = convolution.conv_transpose2d(x, weight, bias, stride, padding,
                                             output_padding)
        else:
            y = convolution.conv2d(x, weight, bias, stride, padding)
        v = tinygan.Tensor(np.random.default_rng(6).normal(size=y.shape))
        grads = tinygan.grad(y, [x, weight, bias], v, create_graph=True)
        second = tinygan.grad(sum((g * g).sum() for g in grads[:2]), [x, weight])
        return [t.numpy() for t in (y, *grads, *second)]

    fused = run()
    tinygan.fast.FUSED = False
    try:
        plain = run()
    finally:
        tinygan.fast.FUSED = True
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


# ---- one image at a time (tinygan/fast/conv_by_image.py) equals the batched fused form -----------
@pytest.fixture
def image_by_image(monkeypatch):
    """Every convolution takes the image-by-image path (a budget of 0 bytes of columns)."""
    monkeypatch.setattr(conv_by_image, "COLUMN_BUDGET_BYTES", 0)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_image_by_image_equals_the_plain_convolutions_with_their_derivatives(
        geometry, transposed, image_by_image):
    test_the_plain_convolutions_equal_the_fused_ones_with_their_derivatives(geometry,
                                                                            transposed)


def test_the_budget_decides_the_path(monkeypatch):
    """Large batched columns go image by image; small ones, and non-NumPy arrays, do not."""
    x = np.zeros((64, 128, 32, 32), dtype=np.float32)
    assert conv_by_image.by_image(x, 128 * 9, 32 * 32)          # 302 MB of columns
    assert not conv_by_image.by_image(x[:, :64, :14, :14], 64 * 16, 7 * 7)   # 12.8 MB
    monkeypatch.setattr(conv_by_image, "COLUMN_BUDGET_BYTES", 0)
    assert not conv_by_image.by_image(x.tolist(), 1, 1)


def test_image_by_image_gradcheck_and_gradgradcheck(image_by_image):
    cfg = dict(n=2, c_in=2, c_out=3, h=5, w=4, kernel=(3, 2), stride=(2, 1), padding=(1, 1))
    x, w, b = _conv_inputs(cfg)
    assert tinygan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 1)), [x, w, b])
    assert tinygan.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 1)), [x, w, b])
    xt, wt, bt = _transpose_inputs(dict(cfg, h=3, w=2))

    def transposed(x, w, b):
        return F.conv_transpose2d(x, w, b, (2, 1), (1, 0), (1, 0))

    assert tinygan.gradcheck(transposed, [xt, wt, bt])
    assert tinygan.gradgradcheck(transposed, [xt, wt, bt])


def test_image_by_image_reuses_its_buffers_without_mixing_layers(image_by_image):
    """The kept columns and canvases are shared between calls: two layers of different
    shapes, called in turn, still give their own batched results."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 2, 6, 6)).astype(np.float32)
    wa = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    b = rng.normal(size=(3, 4, 5, 5)).astype(np.float32)
    wb = rng.normal(size=(4, 1, 2, 2)).astype(np.float32)
    runs = []
    for _ in range(2):
        runs.append([F.conv2d(tinygan.Tensor(a), tinygan.Tensor(wa), None, 1, 1).numpy(),
                     F.conv_transpose2d(tinygan.Tensor(b), tinygan.Tensor(wb), None, 2,
                                        0).numpy()])
    conv_by_image.COLUMN_BUDGET_BYTES = 32 * 2 ** 20   # restored by the fixture afterwards
    batched = [F.conv2d(tinygan.Tensor(a), tinygan.Tensor(wa), None, 1, 1).numpy(),
               F.conv_transpose2d(tinygan.Tensor(b), tinygan.Tensor(wb), None, 2, 0).numpy()]
    for run in runs:
        for got, want in zip(run, batched):
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_image_by_image_stride_one_gradcheck_and_gradgradcheck(image_by_image):
    """With stride 1 the transposed convolution runs as a flipped ordinary one."""
    cfg = dict(n=2, c_in=2, c_out=3, h=4, w=5, kernel=(2, 3), stride=(1, 1), padding=(0, 1))
    x, w, b = _conv_inputs(cfg)
    assert tinygan.gradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, (0, 1)), [x, w, b])
    assert tinygan.gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, 1, (0, 1)), [x, w, b])
    xt, wt, bt = _transpose_inputs(dict(cfg, h=3, w=2))
    assert tinygan.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, 1, (1, 0)),
                             [xt, wt, bt])


# ---- the batched kernels build each operand once (tinygan/fast/convolution.py) ---------------
@pytest.mark.parametrize("transposed", [False, True])
def test_the_backward_builds_each_operand_once_and_shares_it(monkeypatch, transposed):
    """A layer's backward reads gy twice (for dx and for dW) and the forward's operand once
    more: each layout is built once and handed to both products, not rebuilt."""
    from tinygan.fast import convolution as kernels
    calls = {"im2col": 0, "as_matrix": 0}
    for name in calls:
        real = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _real=real, _name=name:
                            calls.__setitem__(_name, calls[_name] + 1) or _real(*a))
    rng = np.random.default_rng(3)
    x = t64(rng.normal(size=(2, 3, 6, 6)))
    w = t64(rng.normal(size=(3, 4, 3, 3)))
    if transposed:
        y = convolution.conv_transpose2d(x, w, None, 2, 1)
    else:
        y = convolution.conv2d(x, w.permute(1, 0, 2, 3), None, 2, 1)
    y.sum().backward()
    assert calls == {"im2col": 1, "as_matrix": 1}
    assert x.grad.shape == x.shape and w.grad.shape == w.shape


@pytest.mark.cpu_only
def test_an_inf_weight_meets_the_padding_as_in_pytorchs_cpu_kernels():
    """A batch of two runs in oneDNN's direct kernel, which never multiplies the padding
    (the inf tap lands on real pixels only at the bottom right); one image runs in PyTorch's
    own im2col kernel, where 0 * inf = NaN (values printed by torch 2.13,
    engine/conv_padding_skip.py)."""
    x = tinygan.tensor([[[[-1.13]]], [[[0.09]]]])
    w = tinygan.tensor([[[[math.inf, -0.47], [0.42, -0.17]]]])
    pair = F.conv2d(x, w, padding=1).numpy()
    np.testing.assert_allclose(pair, [[[[0.1921, -0.4746], [0.5311, -np.inf]]],
                                      [[[-0.0153, 0.0378], [-0.0423, np.inf]]]], rtol=1e-6)
    single = F.conv2d(x[:1], w, padding=1).numpy()
    assert np.isnan(single[0, 0, 0]).all() and np.isnan(single[0, 0, 1, 0])
    assert single[0, 0, 1, 1] == -np.inf
    # float64 always runs PyTorch's own kernel: the padding is multiplied
    assert np.isnan(F.conv2d(x.double(), w.double(), padding=1).numpy()[0, 0, 0, 0])
