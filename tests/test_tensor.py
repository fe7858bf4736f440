"""The Tensor: creation, operators, the backward pass and its error messages."""
import numpy as np
import pytest

import tinygan
from tinygan import functional as F
from tests.helpers import t64, to_np


def test_default_dtype_is_float32_and_float64_on_request():
    assert tinygan.tensor([1.0, 2.0]).dtype == np.float32
    assert tinygan.tensor([1, 2]).dtype == np.int64
    assert tinygan.tensor([1.0], dtype=tinygan.float64).dtype == np.float64
    assert tinygan.randn(3, 2).dtype == np.float32
    x = tinygan.tensor([1.0, 2.0])
    assert (x * 2.5 + 1).dtype == np.float32  # Python scalars must not promote to float64


def test_operators_match_numpy():
    a = np.array([[1.0, -2.0], [3.0, 4.0]], dtype=np.float32)
    b = np.array([[0.5, 2.0], [-1.0, 3.0]], dtype=np.float32)
    ta, tb = tinygan.tensor(a), tinygan.tensor(b)
    np.testing.assert_allclose(to_np(ta + tb), a + b)
    np.testing.assert_allclose(to_np(ta - tb), a - b)
    np.testing.assert_allclose(to_np(ta * tb), a * b)
    np.testing.assert_allclose(to_np(ta / tb), a / b)
    np.testing.assert_allclose(to_np(ta @ tb), a @ b)
    np.testing.assert_allclose(to_np(ta ** 2), a ** 2)
    np.testing.assert_allclose(to_np(-ta), -a)
    np.testing.assert_allclose(to_np(1 - ta), 1 - a)
    np.testing.assert_allclose(to_np(2 / tb), 2 / b)
    cmp = ta > tb  # a bool Tensor, outside the graph
    assert isinstance(cmp, tinygan.Tensor) and cmp.dtype == np.bool_ and not cmp.requires_grad
    assert cmp.tolist() == (a > b).tolist()
    np.testing.assert_allclose(to_np(ta[1]), a[1])
    np.testing.assert_allclose(to_np(ta.T), a.T)


def test_reductions_and_reshapes():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    t = tinygan.tensor(a)
    np.testing.assert_allclose(to_np(t.sum(axis=1)), a.sum(axis=1))
    np.testing.assert_allclose(to_np(t.mean(axis=(0, 2), keepdims=True)),
                               a.mean(axis=(0, 2), keepdims=True))
    np.testing.assert_allclose(to_np(t.var(axis=0)), a.var(axis=0, ddof=1))  # torch default
    np.testing.assert_allclose(to_np(t.var(axis=0, unbiased=False)), a.var(axis=0))
    np.testing.assert_allclose(to_np(t.amax(2)), a.max(axis=2))
    np.testing.assert_allclose(to_np(t.sum(dim=1, keepdim=True)), a.sum(axis=1, keepdims=True))
    assert t.reshape(6, 4).shape == (6, 4)
    assert t.view(-1, 12).shape == (2, 12)
    assert t.transpose(0, 2).shape == (4, 3, 2)
    assert t.permute(1, 0, 2).shape == (3, 2, 4)
    assert t.size() == (2, 3, 4) and t.size(1) == 3
    assert tinygan.tensor([[1.0, 2.0]]).transpose(0, 1).shape == (2, 1)


def test_gradients_accumulate_across_uses_of_a_node():
    x = tinygan.tensor([3.0], requires_grad=True)
    y = x * x + x  # x used three times: dy/dx = 2x + 1 = 7
    y.backward()
    assert to_np(x.grad).tolist() == [7.0]
    y2 = x * 2
    y2.backward()  # .grad accumulates across backward calls, as in PyTorch
    assert to_np(x.grad).tolist() == [9.0]


def test_broadcasting_reduces_gradient_to_input_shape():
    x = tinygan.tensor(np.ones((4, 3), dtype=np.float32), requires_grad=True)
    b = tinygan.tensor(np.ones((3,), dtype=np.float32), requires_grad=True)
    c = tinygan.tensor(np.ones((4, 1), dtype=np.float32), requires_grad=True)
    (x * b + c).sum().backward()
    assert b.grad.shape == (3,) and to_np(b.grad).tolist() == [4.0, 4.0, 4.0]
    assert c.grad.shape == (4, 1) and to_np(c.grad).ravel().tolist() == [3.0] * 4


def test_no_grad_builds_no_graph():
    x = tinygan.tensor([1.0], requires_grad=True)
    with tinygan.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None
    assert tinygan.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = tinygan.tensor([2.0], requires_grad=True)
    y = (x * 3).detach()
    assert not y.requires_grad and y.creator is None
    z = x * y  # y acts as a constant 6
    z.backward()
    assert to_np(x.grad).tolist() == [6.0]


def test_a_10000_op_chain_does_not_hit_the_recursion_limit():
    x = tinygan.tensor([1.0], requires_grad=True, dtype=tinygan.float64)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.backward()
    np.testing.assert_allclose(to_np(x.grad), [1.0001 ** 10_000], rtol=1e-9)


def test_backward_on_non_scalar_without_gradient_says_so():
    x = tinygan.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    (x * 2).backward(tinygan.tensor([1.0, 1.0]))  # with an explicit gradient it works
    assert to_np(x.grad).tolist() == [2.0, 2.0]


def test_second_backward_through_a_used_graph_is_an_error_as_in_pytorch():
    # before: the second call silently accumulated 2 * 3 again, doubling x.grad
    x = tinygan.tensor([3.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        loss.backward()
    assert to_np(x.grad).tolist() == [6.0]


def test_retain_graph_keeps_the_graph_for_another_backward():
    x = tinygan.tensor([3.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    assert to_np(x.grad).tolist() == [12.0]
    y = (x * x).sum()
    (g,) = tinygan.grad(y, x, retain_graph=True)
    (g2,) = tinygan.grad(y, x)
    assert to_np(g).tolist() == to_np(g2).tolist() == [6.0]


def test_backward_on_tensor_without_grad_says_so():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tinygan.tensor([1.0]).sum().backward()


def test_matmul_shape_error_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4, 5\)"):
        tinygan.randn(2, 3) @ tinygan.randn(4, 5)


def test_item_and_numpy():
    t = tinygan.tensor([[2.5]])
    assert t.item() == 2.5
    assert isinstance(t.numpy(), np.ndarray)
    with pytest.raises(ValueError, match="one element"):
        tinygan.tensor([1.0, 2.0]).item()


def test_grad_returns_gradients_without_touching_dot_grad():
    x = tinygan.tensor([1.0, 2.0], requires_grad=True)
    (g,) = tinygan.grad((x * x).sum(), x)
    assert to_np(g).tolist() == [2.0, 4.0]
    assert x.grad is None and not g.requires_grad


def test_create_graph_gives_second_derivatives():
    x = t64([0.3, -1.2])
    y = (x ** 3).sum()
    (g,) = tinygan.grad(y, x, create_graph=True)  # 3x^2
    assert g.requires_grad
    (gg,) = tinygan.grad(g.sum(), x)  # 6x
    np.testing.assert_allclose(to_np(gg), 6 * np.array([0.3, -1.2]))


def test_gradient_penalty_backpropagates_into_parameters():
    # d/dw of ||d(w*x^2)/dx||^2 = d/dw (2 w x)^2 = 8 w x^2
    w = t64([1.5])
    x = t64([2.0])
    (gx,) = tinygan.grad((w * x * x).sum(), x, create_graph=True)
    penalty = (gx * gx).sum()
    penalty.backward()
    np.testing.assert_allclose(to_np(w.grad), [8 * 1.5 * 4.0])


def test_grad_unused_input_is_an_error_unless_allowed():
    x, y = t64([1.0]), t64([2.0])
    with pytest.raises(RuntimeError, match="not used"):
        tinygan.grad((x * 2).sum(), [x, y])
    gx, gy = tinygan.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and to_np(gx).tolist() == [2.0]


def test_getitem_gradient_scatters_and_adds_repeats():
    x = t64([1.0, 2.0, 3.0])
    y = x[np.array([0, 0, 2])].sum()
    y.backward()
    assert to_np(x.grad).tolist() == [2.0, 0.0, 1.0]


def test_tensor_to_unknown_device_is_an_error():
    with pytest.raises(ValueError, match="unknown device"):
        tinygan.tensor([1.0]).to("tpu")


def test_repr_is_readable():
    t = tinygan.tensor([1.0, 2.0], requires_grad=True)
    assert "requires_grad=True" in repr(t)
    assert "grad_fn=<Mul>" in repr(t * 2)


def test_same_seed_same_numbers_bit_for_bit():
    a = tinygan.randn(5, 3, generator=tinygan.Generator(7)).numpy()
    b = tinygan.randn(5, 3, generator=tinygan.Generator(7)).numpy()
    c = tinygan.randn(5, 3, generator=tinygan.Generator(8)).numpy()
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    tinygan.manual_seed(3)
    d = tinygan.randn(4).numpy()
    tinygan.manual_seed(3)
    assert np.array_equal(d, tinygan.randn(4).numpy())


def test_concatenate_and_stack_gradients():
    a, b = t64(np.ones((2, 3))), t64(np.ones((1, 3)))
    c = F.concatenate([a, b], axis=0)
    assert c.shape == (3, 3)
    (c * t64(np.arange(9).reshape(3, 3), requires_grad=False)).sum().backward()
    assert to_np(b.grad).tolist() == [[6.0, 7.0, 8.0]]
    assert F.stack([a, a], 0).shape == (2, 2, 3)
    with pytest.raises(ValueError, match="differ"):
        F.concatenate([a, t64(np.ones((1, 2)))], axis=0)


def test_builtin_abs_is_differentiable():
    x = tinygan.tensor([-2.0, 3.0], requires_grad=True)
    y = abs(x)  # Python's abs() calls Tensor.__abs__
    assert to_np(y).tolist() == [2.0, 3.0]
    y.sum().backward()
    assert to_np(x.grad).tolist() == [-1.0, 1.0]
