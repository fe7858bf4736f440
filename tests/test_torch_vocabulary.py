"""PyTorch's vocabulary beyond layers: autograd, legacy types, function forms, compat modules."""
import numpy as np
import pytest

import tinygan
from tinygan import nn
from tinygan.autograd import Variable
from tests.helpers import t64, to_np


# ---- tinygan.autograd -----------------------------------------------------------------
def test_autograd_grad_takes_every_wgan_gp_argument():
    x = tinygan.randn(4, 3, requires_grad=True)
    d = (x * x).sum(1, keepdim=True)
    (g,) = tinygan.autograd.grad(outputs=d, inputs=x, grad_outputs=tinygan.ones(4, 1),
                                 create_graph=True, retain_graph=True, only_inputs=True)
    np.testing.assert_allclose(to_np(g), 2 * to_np(x), rtol=1e-6)
    penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    assert x.grad is not None
    unused = tinygan.randn(2, requires_grad=True)
    assert tinygan.autograd.grad(d.sum(), [x, unused], allow_unused=True)[1] is None


def test_variable_returns_a_tensor_with_requires_grad_as_given():
    t = tinygan.ones(2)
    v = Variable(t, requires_grad=True)
    assert isinstance(v, tinygan.Tensor) and v.requires_grad and v.is_leaf
    assert isinstance(t, Variable) and not isinstance(3, Variable)
    w = Variable(v * 2)                      # a non-leaf: detached, requires_grad False
    assert not w.requires_grad and w.creator is None
    assert Variable(np.zeros(3)).shape == (3,)


def test_autograd_backward_sums_into_the_leaves():
    x = tinygan.tensor([1.0, 2.0], requires_grad=True)
    tinygan.autograd.backward([x * 3, (x * x).sum()], [tinygan.ones(2), None])
    assert to_np(x.grad).tolist() == [5.0, 7.0]


# ---- legacy types ---------------------------------------------------------------------
def test_legacy_constructors_isinstance_and_type():
    z = tinygan.FloatTensor(2, 3)
    assert z.shape == (2, 3) and z.dtype == np.float32 and to_np(z).sum() == 0
    assert tinygan.FloatTensor([1, 2]).dtype == np.float32
    assert tinygan.FloatTensor(np.random.normal(size=(2, 2))).dtype == np.float32
    assert tinygan.LongTensor([1, 2]).dtype == np.int64 and tinygan.LongTensor().shape == (0,)
    assert tinygan.ByteTensor(3).dtype == np.uint8 and tinygan.BoolTensor([1, 0]).dtype == bool
    ones = tinygan.ones(2, device="cpu")         # the types without .cuda are CPU types
    assert isinstance(ones, tinygan.FloatTensor)
    assert not isinstance(ones, tinygan.LongTensor)
    assert not isinstance(ones, tinygan.cuda.FloatTensor)
    assert isinstance(tinygan.arange(3, device="cpu"), tinygan.LongTensor)
    assert ones.type() == "torch.FloatTensor"
    assert tinygan.arange(2, device="cpu").type() == "torch.LongTensor"
    assert tinygan.ones(2).type(tinygan.LongTensor).dtype == np.int64
    assert tinygan.ones(2).type("torch.DoubleTensor").dtype == np.float64
    assert tinygan.ones(2).type(tinygan.float64).dtype == np.float64
    valid = tinygan.FloatTensor(5, 1).fill_(1.0)               # the eriklindernoren idiom
    assert to_np(valid).tolist() == [[1.0]] * 5
    with pytest.raises(ValueError, match="invalid type 'torch.Nonsense'"):
        tinygan.ones(2).type("torch.Nonsense")
    if not tinygan.cuda.is_available():
        with pytest.raises(RuntimeError, match="need CuPy and a GPU"):
            tinygan.cuda.FloatTensor(2)


def test_cuda_legacy_constructors_make_cuda_tensors(cuda_device):
    z = tinygan.cuda.FloatTensor(2, 3)          # Tensor = torch.cuda.FloatTensor if cuda ...
    assert z.is_cuda and z.dtype == np.float32 and to_np(z).sum() == 0
    assert isinstance(z, tinygan.cuda.FloatTensor) and not isinstance(z, tinygan.FloatTensor)
    assert z.type() == "torch.cuda.FloatTensor"
    assert to_np(tinygan.cuda.LongTensor([1, 2])).tolist() == [1, 2]
    assert not z.type(tinygan.FloatTensor).is_cuda
    assert tinygan.ones(2, device="cpu").type("torch.cuda.DoubleTensor").is_cuda


def test_type_cast_is_differentiable():
    x = t64([1.0, 2.0])
    y = x.type(tinygan.FloatTensor)
    assert y.dtype == np.float32
    (g,) = tinygan.grad(y.sum(), x)
    assert g.dtype == np.float64 and to_np(g).tolist() == [1.0, 1.0]


def test_to_a_dtype_object():
    """``x.to(other.dtype)``: other.dtype is a numpy dtype instance (PyTorch scripts cast
    with it). parse_to_args in engine/tensor.py takes anything with a ``.type`` attribute for a
    device, and np.dtype has one."""
    x = tinygan.ones(2)
    assert x.to(np.dtype("float64")).dtype == np.float64
    assert x.to(tinygan.ones(1, dtype=np.float64).dtype).dtype == np.float64


# ---- function forms ------------------------------------------------------------------
def test_function_forms_agree_with_the_methods():
    x = tinygan.tensor([[1.0, -2.0], [3.0, 0.5]])
    y = tinygan.tensor([[0.5, 1.0], [-1.0, 2.0]])
    assert tinygan.mean(x).item() == pytest.approx(0.625)
    assert tinygan.sum(x, 1).tolist() == [-1.0, 3.5]
    assert tinygan.mean(x, dim=0, keepdim=True).shape == (1, 2)
    assert tinygan.add(x, y, alpha=2).tolist() == [[2.0, 0.0], [1.0, 4.5]]
    assert tinygan.mul(x, 2).tolist() == [[2.0, -4.0], [6.0, 1.0]]
    assert tinygan.cat([x, y], 1).shape == (2, 4) and tinygan.stack([x, y]).shape == (2, 2, 2)
    np.testing.assert_allclose(to_np(tinygan.exp(x)), np.exp(to_np(x)), rtol=1e-6)
    np.testing.assert_allclose(to_np(tinygan.sigmoid(x)), 1 / (1 + np.exp(-to_np(x))),
                               rtol=1e-6)
    assert tinygan.clamp(x, -1, 1).tolist() == [[1.0, -1.0], [1.0, 0.5]]
    assert tinygan.where(x > 0, x, y).tolist() == [[1.0, 1.0], [3.0, 0.5]]
    assert [t.tolist() for t in tinygan.where(x > 0)] == [[0, 1, 1], [0, 0, 1]]
    assert tinygan.argmax(x, 1).tolist() == [0, 0] and tinygan.argmax(x).item() == 2
    assert tinygan.norm(x).item() == pytest.approx(np.sqrt(1 + 4 + 9 + 0.25))
    values, indices = tinygan.max(x, 1)
    assert values.tolist() == [1.0, 3.0] and indices.tolist() == [0, 0]
    assert tinygan.max(x).item() == 3.0 and tinygan.min(x).item() == -2.0
    assert tinygan.max(x, y).tolist() == [[1.0, 1.0], [3.0, 2.0]]   # elementwise
    assert tinygan.full_like(x, 7).tolist() == [[7, 7], [7, 7]]
    r = tinygan.rand_like(x)
    assert r.shape == x.shape and r.dtype == x.dtype and 0 <= to_np(r).min()
    assert tinygan.randn_like(x).shape == (2, 2) and tinygan.zeros_like(x).sum().item() == 0
    assert sorted(tinygan.randperm(5).tolist()) == [0, 1, 2, 3, 4]
    assert tinygan.float is tinygan.float32 and tinygan.long is tinygan.int64


def test_function_forms_are_differentiable():
    x = t64([[0.3, -1.2], [2.0, 0.7]])
    loss = tinygan.mean(tinygan.tanh(x) * tinygan.exp(x)) + tinygan.norm(x, 2, 1).sum() + \
        tinygan.max(x, 1)[0].sum()
    (g,) = tinygan.grad(loss, x)
    v = to_np(x)
    expected = (1 - np.tanh(v) ** 2) * np.exp(v) / 4 + np.tanh(v) * np.exp(v) / 4 + \
        v / np.linalg.norm(v, axis=1, keepdims=True) + (v == v.max(1, keepdims=True))
    np.testing.assert_allclose(to_np(g), expected, rtol=1e-10)


# ---- import-level compatibility -------------------------------------------------------
def test_submodules_are_reachable_from_the_top_level():
    import tinygan as torch
    assert torch.utils.data.DataLoader is tinygan.utils.data.DataLoader
    torch.backends.cudnn.benchmark = True
    torch.backends.cudnn.deterministic = True
    assert torch.backends.cudnn.benchmark and not torch.backends.cudnn.is_available()
    torch.backends.cudnn.benchmark = False
    assert torch.accelerator.is_available() == torch.cuda.is_available()
    assert not torch.backends.mps.is_available()
    net = nn.Linear(3, 2)
    x = tinygan.randn(4, 3)
    np.testing.assert_array_equal(to_np(torch.nn.parallel.data_parallel(net, x, range(2))),
                                  to_np(net(x)))
    wrapped = nn.DataParallel(net, device_ids=[0])
    assert list(wrapped.state_dict()) == ["module.weight", "module.bias"]
    np.testing.assert_array_equal(to_np(wrapped(x)), to_np(net(x)))


FACTORIES = ["zeros(2)", "ones(2)", "full((2,), 1.5)", "full((2,), 1)", "empty(2)",
             "arange(3.0)", "arange(3)", "linspace(0, 1, 3)", "eye(2)", "rand(2)", "randn(2)",
             "zeros_like(t)", "ones_like(t)", "full_like(t, 2.0)", "empty_like(t)",
             "rand_like(t)", "randn_like(t)", "tensor([1.0])", "tensor([1])",
             "as_tensor([1.0])", "randint(0, 3, (2,))", "randperm(3)"]
FACTORY_KEYWORDS = ["requires_grad=True", "dtype=L.float64", "device='cpu'",
                    "dtype=L.int64, requires_grad=True"]


@pytest.mark.parametrize("call", FACTORIES)
def test_factories_take_pytorchs_keywords(call):
    """Every factory with requires_grad=, dtype= and device= as PyTorch's: the same dtype,
    requires_grad and shape, or an error in both (an int tensor cannot require grad: a
    RuntimeError in both). full/arange/linspace/eye lacked requires_grad, the *_like ones
    device, randn_like dtype and requires_grad."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    for keywords in FACTORY_KEYWORDS:
        found = []
        for L in (torch, tinygan):
            try:
                y = eval(f"L.{call[:-1]}, {keywords})", {"L": L, "t": L.ones(2)})
                found.append((str(y.dtype).split(".")[-1], bool(y.requires_grad), tuple(y.shape)))
            except (RuntimeError, TypeError) as error:
                found.append(type(error).__name__)
        assert found[0] == found[1], (call, keywords, found)


# ---- dtype= on reductions and softmax, view(dtype) ------------------------------------
def test_reductions_and_softmax_take_a_dtype_and_give_it_back():
    x = tinygan.tensor([[100, 2], [100, 4]], dtype=tinygan.int32)
    assert x.sum(0, dtype=tinygan.int8).tolist() == [-56, 6]   # in int8, as PyTorch: wraps
    assert tinygan.sum(x, dtype=tinygan.int8).dtype == np.int8
    assert x.sum(dtype=tinygan.float16).dtype == np.float16
    assert x.mean(dtype=tinygan.float64).item() == 51.5
    with pytest.raises(RuntimeError, match="floating-point"):
        x.mean()
    y = tinygan.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    for made in (y.softmax(1, dtype=tinygan.float64), y.log_softmax(0, dtype=tinygan.float16)):
        assert made.requires_grad and made.dtype in (np.float64, np.float16)
    y.softmax(1, dtype=tinygan.float64)[0, 0].backward()
    assert y.grad.dtype == np.float32


def test_view_of_its_own_dtype_is_a_view_and_of_another_is_refused():
    x = tinygan.ones(2, 3, requires_grad=True)
    same = x.view(tinygan.float32)
    assert same.shape == (2, 3) and same.requires_grad
    with pytest.raises(NotImplementedError, match=r"\.to\(int32\)"):
        x.view(tinygan.int32)


def test_an_integer_sum_of_a_tensor_that_requires_grad_is_refused_as_in_pytorch():
    x = tinygan.tensor([[0.46, 1.5]], requires_grad=True)
    with pytest.raises(RuntimeError, match="Autograd not support dtype: Long"):
        x.sum(dtype=tinygan.int64)
    with pytest.raises(RuntimeError, match="Autograd not support dtype: Char"):
        tinygan.sum(x, 0, dtype=tinygan.int8)
    assert x.detach().sum(dtype=tinygan.int64).item() == 1   # 0 + 1, truncated first
    with tinygan.no_grad():
        assert x.sum(dtype=tinygan.int64).item() == 1


@pytest.mark.parametrize("p", [float("inf"), float("-inf"), -1.5, -2])
def test_norms_without_an_identity_refuse_an_empty_reduction(p):
    """max, min and negative powers have no value for nothing (PyTorch: linalg.vector_norm
    raises); an empty result over non-empty reductions is fine, and so are p >= 0."""
    with pytest.raises(RuntimeError, match="cannot compute the .* norm on an empty tensor"):
        tinygan.ones(2, 0).norm(p, dim=1)
    with pytest.raises(RuntimeError, match="on an empty tensor"):
        tinygan.ones(0, 3).norm(p)
    assert tinygan.ones(0, 1).norm(p, dim=1).shape == (0,)
    assert tinygan.ones(2, 0).norm(2, dim=1).tolist() == [0.0, 0.0]


# ---- sin/cos, the step functions, the special-value tests, flip (values PyTorch gives) -----
def test_step_functions_at_special_values_and_dtypes():
    nan, inf = float("nan"), float("inf")
    x = tinygan.tensor([nan, -0.0, 0.0, -2.5, 2.5, inf, -inf, 0.5, 1.5, -0.4])
    assert np.array_equal(tinygan.round(x).numpy(),
                          [nan, -0.0, 0.0, -2.0, 2.0, inf, -inf, 0.0, 2.0, -0.0], equal_nan=True)
    assert np.signbit(tinygan.round(x).numpy()[9])          # -0.4 rounds to -0
    assert tinygan.sign(x).tolist()[:3] == [0.0, 0.0, 0.0]   # sign(NaN), sign(-0) are 0
    assert not np.signbit(tinygan.sign(x).numpy()[1])
    assert np.array_equal(tinygan.floor(x).numpy()[3:5], [-3.0, 2.0])
    assert np.array_equal(tinygan.trunc(x).numpy()[3:5], [-2.0, 2.0])
    assert tinygan.round(tinygan.tensor([1.2345, 125.0]), decimals=2).tolist()[1] == 125.0
    assert tinygan.round(tinygan.tensor([125.0, 135.0]), decimals=-1).tolist() == [120.0, 140.0]
    ints = tinygan.tensor([3, -2], dtype=tinygan.int32)
    assert tinygan.floor(ints).dtype == np.int32 and tinygan.sign(ints).tolist() == [1, -1]
    assert tinygan.sign(tinygan.tensor([True, False])).dtype == np.bool_
    with pytest.raises(NotImplementedError, match="Bool"):
        tinygan.floor(tinygan.tensor([True]))
    with pytest.raises(NotImplementedError):
        tinygan.round(ints, decimals=1)
    assert tinygan.isnan(x).tolist()[:2] == [True, False]
    assert tinygan.isinf(x).sum().item() == 2 and tinygan.isfinite(x).sum().item() == 7
    assert tinygan.isfinite(ints).all().item()
    assert tinygan.sin(ints).dtype == np.float32                # as PyTorch's default float
    assert abs(tinygan.sin(tinygan.tensor([1e30])).item() - -0.7911634) < 1e-6
    with pytest.raises(TypeError, match="must be Tensor"):
        tinygan.sin(0.5)


def test_flip_reverses_copies_keeps_the_layout_and_checks_its_dims():
    x = tinygan.arange(6.0).reshape(2, 3)
    assert x.flip(0).tolist() == [[3.0, 4.0, 5.0], [0.0, 1.0, 2.0]]
    assert x.flip(0, 1).tolist() == tinygan.flip(x, (-1, 0)).tolist() == \
        [[5.0, 4.0, 3.0], [2.0, 1.0, 0.0]]
    assert x.flip(()).tolist() == x.tolist()
    flipped = x.t().flip(0)
    assert flipped.array.strides == (4, 12)   # laid out as x.t() (PyTorch: stride (1, 3))
    y = x.flip(1)
    y[0, 0] = 9.0
    assert x[0, 2].item() == 2.0                            # a copy, not a view
    with pytest.raises(RuntimeError, match="appears multiple times"):
        x.flip(0, -2)
    with pytest.raises(IndexError, match="out of range"):
        x.flip(2)
    with pytest.raises(TypeError, match="tuple of ints"):
        tinygan.flip(x, 0)
    with pytest.raises(TypeError, match="dims"):
        x.flip()


def test_new_tensors_take_the_dtype_and_device_of_the_tensor_they_are_made_from():
    x = tinygan.ones(2, 3, dtype=tinygan.float64)
    assert x.new_zeros(2).dtype == np.float64 and x.new_ones((1, 2)).shape == (1, 2)
    assert x.new_full((2,), 3).tolist() == [3.0, 3.0]
    assert x.new_tensor([1, 2]).dtype == np.float64        # not int64: the tensor's dtype
    assert x.new_empty(2, 2).shape == (2, 2)
    assert x.new_ones(3, dtype=tinygan.int32).dtype == np.int32
    made = x.new_zeros(2, requires_grad=True)
    assert made.requires_grad and made.is_leaf
    copied = x.new_tensor(tinygan.tensor([1.5], requires_grad=True))
    assert not copied.requires_grad and copied.dtype == np.float64
    with pytest.raises(TypeError, match="tuple of ints"):
        x.new_full(2, 3)


def test_true_division_of_integers_by_a_negative_number_is_in_floats():
    """uint8 / -2: PyTorch makes both floats first (-0.5); wrapping -2 into uint8 first
    gave 1 / 254 (program 4,637,106 of issue 29's long runs)."""
    v = tinygan.tensor([1, 0, 200], dtype=tinygan.uint8)
    assert tinygan.div(v, -2).tolist() == (v / -2).tolist() == [-0.5, -0.0, -100.0]
    assert (-2 / v).tolist()[0] == -2.0 and (v / -2).dtype == np.float32


# ---- issue 29, the eighth session: names PyTorch code reaches for --------------------------
def _both(build):
    """build(lib) in tinygan and in PyTorch: the results, or the exception type raised."""
    torch = pytest.importorskip("torch")
    out = []
    for lib in (tinygan, torch):
        try:
            value = build(lib)
        except (RuntimeError, TypeError, IndexError, ValueError, NotImplementedError) as e:
            out.append(("raises", type(e).__name__ if not isinstance(e, (RuntimeError,
                        NotImplementedError)) else "RuntimeError"))
            continue
        out.append(value)
    return out


def _facts(t):
    return (str(t.dtype).replace("torch.", ""), tuple(t.shape), t.detach().numpy().tolist(),
            t.requires_grad)


def test_retain_grad_keeps_a_non_leaf_gradient_as_pytorch():
    """After grad() and each backward(), summed; after an in-place write, the gradient at the
    write's node; a leaf keeps its own anyway; no grad, no retaining."""
    def build(lib):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        y.retain_grad()
        z = (y * y).sum()
        lib.autograd.grad(z, x, retain_graph=True)
        seen = [y.grad.tolist(), y.retains_grad, x.retains_grad]
        z.backward(retain_graph=True)
        z.backward()
        seen.append(y.grad.tolist())
        w = x * 3
        w.retain_grad()
        w.mul_(2)
        w.sum().backward()
        seen.append(w.grad.tolist())
        try:
            lib.tensor([1.0]).retain_grad()
        except RuntimeError:
            seen.append("refused")
        return seen
    ours, theirs = _both(build)
    assert ours == theirs


@pytest.mark.parametrize("expression", [
    "b & b", "b | b", "b ^ b", "i & 6", "6 & i", "b & 1", "b & True", "u & 3", "u & i",
    "i & b", "f & b", "b & 1.5", "i | True", "lib.bitwise_and(i, 6)", "i.bitwise_or(b)",
    "lib.logical_and(f, b)", "f.logical_or(f)", "lib.logical_not(f)", "lib.logical_xor(i, 0)",
    "lib.logical_xor(i, b)", "i.logical_not()"])
def test_bitwise_and_logical_ops_as_pytorch(expression):
    def build(lib):
        names = dict(lib=lib, b=lib.tensor([True, False]), i=lib.tensor([3, 5]),
                     u=lib.tensor([3, 5], dtype=lib.uint8), f=lib.tensor([1.0, float("nan")]))
        return _facts(eval(expression, names))
    ours, theirs = _both(build)
    assert ours == theirs


def test_in_place_bitwise_operators_write_the_tensor_itself():
    m = tinygan.tensor([True, True])
    alias = m
    m &= tinygan.tensor([True, False])
    assert m is alias and m.tolist() == [True, False]
    m |= tinygan.tensor([False, True])
    m ^= tinygan.tensor([True, True])
    assert alias.tolist() == [False, False]


@pytest.mark.parametrize("expression", [
    "lib.bmm(a, c)", "a.bmm(c)", "lib.bmm(a[0], c[0])", "lib.bmm(a, c[:, :1])",
    "lib.bmm(a, c.double())", "lib.bmm(a.expand(2, 2, 3), c)",
    "f.masked_fill(f > 0, 2)", "f.masked_fill(f > 0, lib.tensor(3.0))",
    "f.masked_fill((f > 0).reshape(3, 1), 1.0)", "f.reshape(3, 1).masked_fill_(f > 0, 1.0)",
    "f.masked_fill(f > 0, lib.tensor([1.0]))", "f.masked_fill((f > 0).long(), 1)",
    "i.masked_fill(i > 1, 2.7)", "lib.masked_fill(i, i > 1, True)",
    "lib.tensor(1.0).masked_fill(f > 0, 5.0)",
    "i.clamp_min(0.5)", "lib.clamp_max(f, lib.tensor(0.0))", "i.square()", "(i > 1).square()",
    "f.cumsum(0)", "i.cumsum(-1)", "lib.cumsum(f, 0, dtype=lib.float64)", "f.cumsum(1)",
    "f.logsumexp(0)", "lib.logsumexp(f.reshape(3, 1), (0, 1), keepdim=True)",
    "i.logsumexp(0)", "lib.tensor([]).logsumexp(0)", "f.tril()", "c.tril(-1)", "c.triu(1)"])
def test_the_eighth_sessions_names_as_pytorch(expression):
    """Values, dtype and shape, or both raise (the errors of the shapes and dtypes)."""
    def build(lib):
        names = dict(lib=lib, a=lib.tensor([[[1.0, 2.0, 3.0]]]),
                     c=lib.tensor([[[1.0], [0.5], [-1.0]]]), f=lib.tensor([0.5, -1.5, 2.0]),
                     i=lib.tensor([1, -2, 3]))
        return _facts(eval(expression, names))
    ours, theirs = _both(build)
    assert ours == theirs


def test_masked_fill_gives_the_value_the_gradient_of_the_filled_places():
    def build(lib):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        v = lib.tensor(0.5, dtype=lib.float64, requires_grad=True)
        y = (x * 1).masked_fill_(lib.tensor([True, False, True]), v)
        (y * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        return x.grad.tolist(), v.grad.tolist(), str(v.grad.dtype).replace("torch.", "")
    ours, theirs = _both(build)
    assert ours == theirs
