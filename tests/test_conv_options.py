"""Conv2d / ConvTranspose2d options beyond the DCGAN defaults: dilation, groups, padding
'same' / 'valid', padding_mode, output_padding with dilation. Each row is checked by
gradcheck and gradgradcheck (float64, tinygan alone), and against PyTorch: values, first
derivatives and second derivatives, with the fused kernels and with the plain form."""
import numpy as np
import pytest

import tinygan
from tinygan import nn
from tinygan.nn import functional as F
from tests.helpers import t64, to_np

# (input shape, weight shape, keyword arguments of F.conv2d)
CONV_ROWS = [
    ((2, 4, 5, 6), (6, 2, 3, 2), dict(groups=2, stride=2, padding=1)),
    ((1, 2, 7, 6), (3, 2, 3, 3), dict(dilation=2, padding=1)),
    ((1, 4, 6, 7), (4, 1, 2, 3), dict(groups=4, dilation=(2, 1), stride=(1, 2))),
    ((2, 2, 5, 4), (3, 2, 2, 3), dict(padding="same")),                  # odd total: asymmetric
    ((1, 3, 6, 5), (6, 1, 3, 2), dict(padding="same", dilation=(1, 2), groups=3)),
    ((1, 2, 5, 5), (2, 2, 3, 3), dict(padding="valid")),
]
# (input shape, weight shape, keyword arguments of F.conv_transpose2d)
TRANSPOSE_ROWS = [
    ((2, 4, 3, 3), (4, 3, 3, 2), dict(groups=2, stride=2, padding=1, output_padding=1)),
    ((1, 2, 3, 4), (2, 2, 3, 3), dict(dilation=2, stride=2, padding=1, output_padding=1)),
    # output_padding 2 >= stride 2 is allowed because it is below the dilation 3
    ((1, 2, 2, 3), (2, 1, 3, 2), dict(dilation=3, stride=2, output_padding=(2, 1))),
    ((1, 3, 3, 2), (3, 1, 2, 2), dict(groups=3, dilation=(1, 2), padding=(0, 1))),
    # stride 1: image by image, the flipped ordinary convolution, with its taps d apart ...
    ((2, 2, 3, 4), (2, 3, 3, 2), dict(dilation=(2, 3), padding=(1, 2))),
    # ... and not that path when output_padding (allowed below the dilation) adds rows
    ((2, 2, 3, 4), (2, 3, 2, 2), dict(dilation=(3, 2), output_padding=(2, 1))),
]
# (input shape, Conv2d keyword arguments) for the padding modes
MODE_ROWS = [
    ((2, 2, 5, 6), dict(in_channels=2, out_channels=3, kernel_size=3, padding=(2, 1),
                        padding_mode="reflect")),
    ((1, 2, 4, 5), dict(in_channels=2, out_channels=2, kernel_size=(2, 3), padding=3,
                        padding_mode="replicate", stride=2)),
    ((1, 4, 4, 5), dict(in_channels=4, out_channels=2, kernel_size=3, padding=(4, 5),
                        padding_mode="circular", groups=2)),
    ((1, 2, 5, 5), dict(in_channels=2, out_channels=2, kernel_size=2, padding="same",
                        padding_mode="reflect", dilation=3)),
]


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


def _inputs(x_shape, w_shape, out_channels, seed=0):
    return _rand(x_shape, seed), _rand(w_shape, seed + 1), _rand((out_channels,), seed + 2)


def _conv_call(kwargs):
    return lambda x, w, b: F.conv2d(x, w, b, **kwargs)


def _transpose_call(kwargs):
    return lambda x, w, b: F.conv_transpose2d(x, w, b, **kwargs)


def _case_list():
    for xs, ws, kw in CONV_ROWS:
        yield pytest.param(xs, ws, ws[0], "conv2d", kw, id=f"conv2d-{kw}")
    for xs, ws, kw in TRANSPOSE_ROWS:
        out = ws[1] * kw.get("groups", 1)
        yield pytest.param(xs, ws, out, "conv_transpose2d", kw, id=f"conv_transpose2d-{kw}")


CASES = list(_case_list())


def _ours(kind, kwargs):
    return (_conv_call if kind == "conv2d" else _transpose_call)(kwargs)


@pytest.mark.parametrize("x_shape, w_shape, out_channels, kind, kwargs", CASES)
def test_gradcheck_and_gradgradcheck(x_shape, w_shape, out_channels, kind, kwargs):
    x, w, b = (t64(a) for a in _inputs(x_shape, w_shape, out_channels))
    fn = _ours(kind, kwargs)
    assert tinygan.gradcheck(fn, [x, w, b])
    assert tinygan.gradgradcheck(fn, [x, w, b])


def _derivatives_ours(fn, arrays, leaves=None):
    leaves = leaves or [t64(a) for a in arrays]          # on the active backend's device
    y = fn(*leaves)
    v = t64(_rand(y.shape, 9), requires_grad=False)
    grads = tinygan.grad(y, leaves, v, create_graph=True)
    second = tinygan.grad(sum((g * g).sum() for g in grads[:2]), leaves[:2])
    return [to_np(t) for t in (y, *grads, *second)]


def _derivatives_torch(torch, fn, arrays):
    leaves = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(*leaves)
    v = torch.tensor(_rand(tuple(y.shape), 9))
    grads = torch.autograd.grad(y, leaves, v, create_graph=True)
    second = torch.autograd.grad(sum((g * g).sum() for g in grads[:2]), leaves[:2])
    return [t.detach().numpy() for t in (y, *grads, *second)]


@pytest.mark.torch
@pytest.mark.parametrize("form", ["fused", "plain", "image by image"])
@pytest.mark.parametrize("x_shape, w_shape, out_channels, kind, kwargs", CASES)
def test_functional_matches_torch_with_two_derivatives(x_shape, w_shape, out_channels, kind,
                                                       kwargs, form, monkeypatch):
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(tinygan.fast, "FUSED", form != "plain")
    if form == "image by image":
        from tinygan.fast import conv_by_image
        monkeypatch.setattr(conv_by_image, "COLUMN_BUDGET_BYTES", 0)
    arrays = _inputs(x_shape, w_shape, out_channels)
    theirs = getattr(torch.nn.functional, kind)
    ours = _derivatives_ours(_ours(kind, kwargs), arrays)
    with _no_warning_check():
        expected = _derivatives_torch(torch, lambda x, w, b: theirs(x, w, b, **kwargs), arrays)
    assert [a.shape for a in ours] == [e.shape for e in expected]
    for name, a, e in zip(["y", "dx", "dw", "db", "d2x", "d2w"], ours, expected):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10, err_msg=name)


class _no_warning_check:
    """PyTorch warns about 'same' with even kernels; the warning is not under test."""
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


@pytest.mark.parametrize("x_shape, kwargs", MODE_ROWS)
def test_padding_modes_gradcheck_and_gradgradcheck(x_shape, kwargs):
    layer = nn.Conv2d(**kwargs).double()
    x = t64(_rand(x_shape, 0))
    # the inputs checked are the layer's own parameters (gradcheck perturbs them in place)
    assert tinygan.gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])
    assert tinygan.gradgradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


@pytest.mark.torch
@pytest.mark.parametrize("x_shape, kwargs", MODE_ROWS)
def test_padding_modes_match_torch_with_two_derivatives(x_shape, kwargs):
    torch = pytest.importorskip("torch")
    ours = nn.Conv2d(**kwargs).double()
    theirs = torch.nn.Conv2d(**kwargs, dtype=torch.float64)
    arrays = (_rand(x_shape, 0), to_np(ours.weight), to_np(ours.bias))
    leaves = [t64(arrays[0]), ours.weight, ours.bias]
    got = _derivatives_ours(lambda x, w, b: ours(x), arrays, leaves)

    def run_torch(x, w, b):
        return torch.func.functional_call(theirs, {"weight": w, "bias": b}, (x,))
    with _no_warning_check():
        expected = _derivatives_torch(torch, run_torch, arrays)
    for name, a, e in zip(["y", "dx", "dw", "db", "d2x", "d2w"], got, expected):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10, err_msg=name)


@pytest.mark.torch
@pytest.mark.parametrize("layer, kwargs", [
    ("Conv2d", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2, dilation=2,
                    padding=1, padding_mode="reflect", bias=False)),
    ("Conv2d", dict(in_channels=3, out_channels=6, kernel_size=(2, 3), padding="same")),
    ("Conv2d", dict(in_channels=3, out_channels=6, kernel_size=3, padding="valid")),
    ("ConvTranspose2d", dict(in_channels=4, out_channels=6, kernel_size=3, groups=2,
                             dilation=2, output_padding=1, stride=2)),
])
def test_layers_match_torch_shapes_repr_and_init_bound(layer, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, layer)(**kwargs), getattr(torch.nn, layer)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    fan_in = ours.weight.shape[1] * ours.weight.shape[2] * ours.weight.shape[3]
    assert np.abs(to_np(ours.weight)).max() <= 1 / np.sqrt(fan_in)


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Conv2d(4, 6, 3, groups=3), r"Conv2d: in_channels=4 and out_channels=6 must "
                                            r"both be divisible by groups=3"),
    (lambda: nn.Conv2d(4, 6, 3, groups=0), r"Conv2d: groups must be a positive integer"),
    (lambda: nn.Conv2d(4, 6, 3, stride=2, padding="same"),
     r"Conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: nn.Conv2d(4, 6, 3, padding="full"), r"Conv2d: invalid padding string 'full'"),
    (lambda: nn.Conv2d(4, 6, 3, padding_mode="mirror"), r"Conv2d: padding_mode must be one"),
    (lambda: nn.Conv2d(4, 6, 3, dilation=0), r"Conv2d: stride must be >= 1, dilation >= 1"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
     r"ConvTranspose2d: only padding_mode='zeros' is supported"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=2),
     r"output_padding \(2, 2\) must be >= 0 and smaller than stride \(2, 2\) or dilation"),
    (lambda: F.conv2d(tinygan.randn(1, 4, 5, 5), tinygan.randn(6, 2, 3, 3), groups=3),
     r"conv2d: input of shape \(1, 4, 5, 5\) has 4 channels, but the weight of shape "
     r"\(6, 2, 3, 3\) with groups=3 expects 6"),
    (lambda: F.conv2d(tinygan.randn(1, 4, 5, 5), tinygan.randn(5, 2, 3, 3), groups=2),
     r"conv2d: weight of shape \(5, 2, 3, 3\) has 5 filters.*not divisible by groups=2"),
    (lambda: F.conv_transpose2d(tinygan.randn(1, 4, 5, 5), tinygan.randn(4, 3, 3, 3),
                                groups=3), r"conv_transpose2d: weight of shape"),
    (lambda: F.conv2d(tinygan.randn(1, 4, 5, 5), tinygan.randn(6, 4, 3, 3), stride=2,
                      padding="same"), r"conv2d: padding='same' is not supported"),
    (lambda: nn.Conv2d(2, 2, 3, padding=5, padding_mode="reflect")(tinygan.randn(1, 2, 5, 6)),
     r"padding_mode='reflect': padding \(5, 5\) must be smaller than the input size 5"),
    (lambda: nn.Conv2d(2, 2, 3, padding=6, padding_mode="circular")(tinygan.randn(1, 2, 5, 6)),
     r"padding_mode='circular': padding \(6, 6\) must not exceed the input size 5"),
])
def test_errors_name_the_layer_and_values(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.torch
@pytest.mark.parametrize("make", [
    lambda nn_, F_, r: nn_.Conv2d(4, 6, 3, groups=3),
    lambda nn_, F_, r: nn_.Conv2d(4, 6, 3, stride=2, padding="same"),
    lambda nn_, F_, r: nn_.Conv2d(4, 6, 3, padding_mode="mirror"),
    lambda nn_, F_, r: nn_.ConvTranspose2d(4, 6, 3, padding_mode="reflect"),
    lambda nn_, F_, r: F_.conv2d(r(1, 4, 5, 5), r(6, 2, 3, 3), groups=3),
    lambda nn_, F_, r: F_.conv2d(r(1, 4, 5, 5), r(5, 2, 3, 3), groups=2),
    lambda nn_, F_, r: nn_.Conv2d(2, 2, 3, padding=5, padding_mode="reflect")(r(1, 2, 5, 6)),
    lambda nn_, F_, r: nn_.Conv2d(2, 2, 3, padding=6, padding_mode="circular")(r(1, 2, 5, 6)),
    lambda nn_, F_, r: nn_.ConvTranspose2d(4, 6, 3, stride=2, output_padding=2)(
        r(1, 4, 3, 3)),
])
def test_torch_raises_on_the_same_calls(make):
    """The error rows above are errors in PyTorch too (so tinygan is not stricter)."""
    torch = pytest.importorskip("torch")
    with pytest.raises((ValueError, RuntimeError)):
        make(torch.nn, torch.nn.functional, torch.randn)


@pytest.mark.torch
@pytest.mark.parametrize("layer, kwargs", [
    ("Conv2d", dict(in_channels=2, out_channels=3, kernel_size=3)),
    ("Conv2d", dict(in_channels=2, out_channels=4, kernel_size=3, groups=2, padding=1,
                    padding_mode="circular")),
    ("ConvTranspose2d", dict(in_channels=2, out_channels=3, kernel_size=3, stride=2)),
])
def test_one_image_without_batch_axis_as_torch(layer, kwargs):
    """PyTorch accepts (C, H, W) and returns (O, Ho, Wo); so does tinygan, gradients too."""
    torch = pytest.importorskip("torch")
    ours = getattr(nn, layer)(**kwargs).double()
    theirs = getattr(torch.nn, layer)(**kwargs, dtype=torch.float64)
    theirs.load_state_dict({k: torch.from_numpy(to_np(v)) for k, v in ours.state_dict().items()})
    a = _rand((2, 5, 4), 0)
    x, tx = tinygan.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, ty = ours(x), theirs(tx)
    np.testing.assert_allclose(to_np(y), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    (y * y).sum().backward()
    (ty * ty).sum().backward()
    np.testing.assert_allclose(to_np(x.grad), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        to_np(F.conv2d(x, ours.weight, groups=ours.groups) if layer == "Conv2d" else
              F.conv_transpose2d(x, ours.weight, stride=2)),
        (torch.nn.functional.conv2d(tx, theirs.weight, groups=ours.groups)
         if layer == "Conv2d" else
         torch.nn.functional.conv_transpose2d(tx, theirs.weight, stride=2)).detach().numpy(),
        rtol=1e-10, atol=1e-12)


def _empty_convolution(fw, shape, transposed, padding):
    """The output shape of a convolution of an input with a 0 in its shape, or the error."""
    x = fw.zeros(*shape)
    w = fw.ones(*((shape[1], 3, 2, 2) if transposed else (3, shape[1], 2, 2)))
    op = fw.nn.functional.conv_transpose2d if transposed else fw.nn.functional.conv2d
    try:
        return tuple(op(x, w, padding=padding).shape)
    except (RuntimeError, ValueError):
        return "raises"


def test_empty_inputs_convolve_exactly_where_pytorch_does():
    """PyTorch convolves an empty batch or no channels (an empty result) and refuses an
    input that is empty otherwise, images without pixels ("Only zero batch or zero channel
    inputs are supported"); issue 29 found tinygan convolving those. All shapes with a 0
    among (N, C, H, W) in {0, 1, 2}, both ops, two paddings."""
    torch = pytest.importorskip("torch")
    import itertools
    for shape in itertools.product((0, 1, 2), (0, 2), (0, 1, 3), (0, 3)):
        if 0 not in shape:
            continue
        for transposed, padding in itertools.product((False, True), (0, 1)):
            ours = _empty_convolution(tinygan, shape, transposed, padding)
            theirs = _empty_convolution(torch, shape, transposed, padding)
            assert ours == theirs, (shape, transposed, padding, ours, theirs)


def test_an_empty_transposed_output_keeps_one_node_and_refuses_a_second_derivative():
    """Issue 29, programs 1901862 and 1912335: ConvTranspose2d whose output is empty (a batch
    of 2, float32: PyTorch returns it). Its gradients all require grad under create_graph
    (one node, as PyTorch's), and a second derivative raises, as PyTorch's (its double
    backward convolves the empty gradient)."""
    torch = pytest.importorskip("torch")
    for fw in (tinygan, torch):
        x = fw.tensor([[[[-0.87]]], [[[0.31]]]], requires_grad=True)
        layer = fw.nn.ConvTranspose2d(1, 2, 2, padding=1)
        y = layer(x)
        assert tuple(y.shape) == (2, 2, 0, 0)
        gs = fw.autograd.grad(y.sum(), [x, layer.weight, layer.bias], create_graph=True)
        assert all(g.requires_grad for g in gs), fw.__name__
        with pytest.raises(RuntimeError, match="Only zero batch or zero channel"):
            fw.autograd.grad(sum((g * g).sum() for g in gs), [x])
