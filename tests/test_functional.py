"""Every differentiable op passes gradcheck and gradgradcheck on hypothesis-drawn inputs."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, broadcastable_shapes

import tinygan
from tinygan import functional as F
from tinygan.engine.gradcheck import GradcheckError
from tests.helpers import t64, to_np

finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False, width=64)
small_shapes = array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)


def values(shape, elements=finite):
    return arrays(np.float64, shape, elements=elements)


def away_from(points, margin=1e-2):
    """Floats in [-3, 3] at least ``margin`` from each kink (finite differences straddling
    a kink of relu/abs/clip measure the average of two slopes, not either one)."""
    return finite.filter(lambda v: all(abs(v - p) > margin for p in points))


def check_both(fn, *arrays_):
    inputs = [t64(a) for a in arrays_]
    assert tinygan.gradcheck(fn, inputs)
    assert tinygan.gradgradcheck(fn, inputs)


# --- elementwise ------------------------------------------------------------------------
SMOOTH_UNARY = {
    "exp": F.exp, "sigmoid": F.sigmoid, "tanh": F.tanh, "softplus": F.softplus,
    "log_sigmoid": F.log_sigmoid, "square": lambda x: x ** 2, "cube": lambda x: x ** 3,
    "neg": lambda x: -x, "sin": tinygan.sin, "cos": tinygan.cos,
    "flip": lambda x: tinygan.flip(x * x, (0,)),   # (squared: a flip of x alone is linear)
    # issue 29, the eighth session (each squared where the op alone is linear in x)
    "cumsum": lambda x: tinygan.cumsum(x * x, -1) if x.ndim else tinygan.cumsum(x * x, 0),
    "logsumexp": lambda x: tinygan.logsumexp(x, tuple(range(x.ndim))),
    "logsumexp keepdim": lambda x: tinygan.logsumexp(x, -1 if x.ndim else 0, keepdim=True),
    "tril": lambda x: tinygan.tril((x * x).reshape(x.numel(), 1) * x.reshape(1, -1), -1),
    "triu": lambda x: ((x * x).reshape(x.numel(), 1) * x.reshape(1, -1)).triu(1),
    "masked_fill": lambda x: (x * x).masked_fill(   # (a fixed mask: every other element)
        tinygan.arange(x.numel(), device=x.device).reshape(x.shape) % 2 == 0, 0.5),
    "square method": lambda x: x.square(),
    "clamp_min": lambda x: (x * x + 1.0).clamp_min(0.5)     # always above: x^2 + 1
    + (-x * x - 1.0).clamp_min(-0.5),                        # always below: the bound
    "bmm": lambda x: tinygan.bmm(x.reshape(1, -1, 1), (x * x).reshape(1, 1, -1)),
}


@pytest.mark.parametrize("name", sorted(SMOOTH_UNARY))
@given(data=st.data())
def test_smooth_unary_ops(name, data):
    shape = data.draw(small_shapes)
    check_both(SMOOTH_UNARY[name], data.draw(values(shape)))


@given(data=st.data())
def test_log_sqrt_and_powers_on_positive_inputs(data):
    positive = st.floats(0.2, 4.0, width=64)
    a = data.draw(values(data.draw(small_shapes), positive))
    check_both(F.log, a)
    check_both(F.sqrt, a)
    check_both(lambda x: x ** -1.5, a)
    check_both(lambda x: 2.0 ** x, a)


@pytest.mark.parametrize("fn", [F.relu, F.abs, lambda x: F.leaky_relu(x, 0.2),
                                lambda x: F.clip(x, -1.0, 1.0)],
                         ids=["relu", "abs", "leaky_relu", "clip"])
@given(data=st.data())
def test_piecewise_ops_away_from_kinks(fn, data):
    a = data.draw(values(data.draw(small_shapes), away_from([0.0, -1.0, 1.0])))
    check_both(fn, a)


@pytest.mark.parametrize("fn", [tinygan.floor, tinygan.ceil, tinygan.trunc, tinygan.round,
                                tinygan.sign, lambda x: tinygan.round(x, decimals=1)],
                         ids=["floor", "ceil", "trunc", "round", "sign", "round:decimals"])
@given(data=st.data())
def test_step_functions_have_zero_gradients_that_need_no_graph(fn, data):
    """Away from their steps the finite differences are 0, as the gradient is; under
    create_graph the gradient is a constant (PyTorch's too), so it does not require grad."""
    steps = [k / 20 for k in range(-60, 61)]   # every multiple of 0.05 in [-3, 3]
    a = data.draw(values(data.draw(small_shapes), away_from(steps, margin=2e-3)))
    assert tinygan.gradcheck(fn, [t64(a)])
    x = t64(a)
    (g,) = tinygan.grad(fn(x).sum(), [x], create_graph=True)
    assert not g.requires_grad and not g.numpy().any()


# --- binary ops with broadcasting ------------------------------------------------------
@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@given(data=st.data())
def test_binary_ops_with_broadcasting(op, data):
    shape_a, shape_b = data.draw(broadcastable_shapes(
        data.draw(small_shapes), min_dims=0, max_dims=3, min_side=1, max_side=3)), None
    shape_b = data.draw(broadcastable_shapes(shape_a, min_dims=0, max_dims=3, max_side=3))
    a = data.draw(values(shape_a))
    b_elems = st.floats(0.5, 3.0, width=64) if op == "div" else finite
    b = data.draw(values(shape_b, b_elems))
    fn = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y,
          "mul": lambda x, y: x * y, "div": lambda x, y: x / y}[op]
    check_both(fn, a, b)


@given(data=st.data())
def test_matmul_including_batched_and_vectors(data):
    m, k, n = (data.draw(st.integers(1, 3)) for _ in range(3))
    batch = data.draw(st.sampled_from([(), (2,)]))
    a = data.draw(values(batch + (m, k)))
    b = data.draw(values((k, n)))
    check_both(F.matmul, a, b)
    check_both(F.matmul, data.draw(values((k,))), b)  # vector @ matrix
    check_both(F.matmul, a, data.draw(values((k,))))  # matrix @ vector
    # a batch on the right beside a matrix or a vector on the left: PyTorch folds the batch
    # of b^T into rows, and a's gradient is one product over the batch and the rows
    wide = data.draw(st.sampled_from([(2,), (2, 1), (1, 2)]))
    b_batched = data.draw(values(wide + (k, n)))
    check_both(F.matmul, data.draw(values((m, k))), b_batched)
    check_both(F.matmul, data.draw(values((k,))), b_batched)


def _special_floats(shape: tuple) -> st.SearchStrategy:
    """float32 arrays that mix ordinary values with 1e30 (whose products overflow), inf
    and NaN: where the order of a sum shows in its inf and NaN."""
    pool = st.sampled_from([0.1, -0.7, 1.3, 3.7e-3, 1e30, -1e30, float("inf"),
                            -float("inf"), float("nan")])
    return arrays(np.float32, shape, elements=pool)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_folded_products_other_operand_gets_its_gradient_from_one_product(data):
    """Where PyTorch folds a batch into the rows of one matrix (functional._matmul_keeps),
    the operand beside the batch is used once per row, and PyTorch's mm backward adds its
    gradient in one product whose inner sum runs over the batch and the rows together.
    tinygan adds in that same grouping (MatMul.folded), not per batch and then over the
    batch: in float32 the grouping shows where a product overflows beside an inf (issue 29's
    program 5045861: NaN against PyTorch's -inf)."""
    m, k, n = (data.draw(st.integers(0, 3)) for _ in range(3))   # (0: empty, long run
    batch = data.draw(st.sampled_from([(2,), (3,), (2, 2), (0,), (2, 0)]))   # 5107994)
    vector = data.draw(st.booleans())
    batched_left = data.draw(st.booleans())
    small_shape = (k,) if vector else ((k, n) if batched_left else (m, k))
    big_shape = batch + ((m, k) if batched_left else (k, n))
    big = data.draw(_special_floats(big_shape))
    small = data.draw(_special_floats(small_shape))
    a, b = (big, small) if batched_left else (small, big)
    ta = tinygan.tensor(a, requires_grad=True)
    tb = tinygan.tensor(b, requires_grad=True)
    with np.errstate(all="ignore"):
        y = ta @ tb
    gy = data.draw(_special_floats(tuple(y.shape)))
    with np.errstate(all="ignore"):
        y.backward(tinygan.tensor(gy))
        count = int(np.prod(big_shape[:-1 if batched_left else -2])) * (
            1 if batched_left else n)
        if batched_left:   # y_rows = a_rows @ b, so dL/db = a_rows^T @ gy_rows
            a_rows = a.reshape(count, k)
            expected = a_rows.T @ gy.reshape(count) if vector else \
                a_rows.T @ gy.reshape(count, n)
            got = tb.grad.numpy()
        else:              # y^T = (b^T)_rows @ a^T, so dL/da = (gy^T)_rows^T @ (b^T)_rows
            bt_rows = np.swapaxes(b, -1, -2).reshape(count, k)
            expected = bt_rows.T @ gy.reshape(count) if vector else \
                np.swapaxes(gy, -1, -2).reshape(count, m).T @ bt_rows
            got = ta.grad.numpy()
    np.testing.assert_array_equal(got, expected.reshape(got.shape))


@given(data=st.data())
def test_linear(data):
    n, fin, fout = (data.draw(st.integers(1, 3)) for _ in range(3))
    check_both(F.linear, data.draw(values((n, fin))), data.draw(values((fout, fin))),
               data.draw(values((fout,))))
    check_both(F.linear, data.draw(values((n, fin))), data.draw(values((fout, fin))))


# --- reductions and shapes -------------------------------------------------------------
@given(data=st.data())
def test_reductions(data):
    shape = data.draw(array_shapes(min_dims=2, max_dims=3, min_side=2, max_side=3))
    a = data.draw(values(shape, st.floats(-3, 3, width=64)))
    axis = data.draw(st.sampled_from([None, 0, 1, -1, (0, 1)]))
    keep = data.draw(st.booleans())
    check_both(lambda x: x.sum(axis=axis, keepdims=keep), a)
    check_both(lambda x: x.mean(axis=axis, keepdims=keep), a)
    check_both(lambda x: x.var(axis=axis, keepdims=keep), a)
    check_both(lambda x: x.var(axis=axis, keepdims=keep, unbiased=False), a)


@given(data=st.data())
def test_max_and_min_with_distinct_values(data):
    shape = data.draw(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4))
    n = int(np.prod(shape))
    perm = data.draw(st.permutations(range(n)))
    a = (np.array(perm, dtype=np.float64).reshape(shape) * 0.7 - 1.0)  # no ties
    axis = data.draw(st.sampled_from([None, 0, -1]))
    check_both(lambda x: F.amax(x, axis), a)
    check_both(lambda x: F.amin(x, axis, keepdim=True), a)


def test_max_splits_gradient_between_ties():
    x = t64([1.0, 3.0, 3.0])
    F.amax(x).backward()
    assert to_np(x.grad).tolist() == [0.0, 0.5, 0.5]


def test_max_along_a_short_axis_splits_ties_per_row_and_matches_numpy():
    # the short-axis path (elementwise over slices), as in Maxout's (N, out, k) pieces
    x = t64([[[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], [[5.0, 5.0, 5.0], [0.0, -1.0, 4.0]]])
    F.amax(x, axis=2).sum().backward()
    assert to_np(x.grad).tolist() == [[[0, 0.5, 0.5], [1, 0, 0]], [[1 / 3] * 3, [0, 0, 1]]]
    a = np.random.default_rng(0).standard_normal((3, 20, 4))
    for axis in (0, 1, 2, -2):                 # 20 > 16 takes NumPy's own reduce
        for keep in (False, True):
            np.testing.assert_array_equal(to_np(F.amax(t64(a), axis, keep)),
                                          a.max(axis=axis, keepdims=keep))
            np.testing.assert_array_equal(to_np(F.amin(t64(a), axis, keep)),
                                          a.min(axis=axis, keepdims=keep))
    check_both(lambda x: F.amax(x, 1), a[:, :3])


@given(data=st.data())
def test_reshape_transpose_getitem_concatenate(data):
    a = data.draw(values((2, 3, 2)))
    check_both(lambda x: x.reshape(3, 4), a)
    check_both(lambda x: x.transpose(0, 2), a)
    check_both(lambda x: x.permute(1, 2, 0), a)
    check_both(lambda x: x[1, :, 1::2], a)
    check_both(lambda x: x[np.array([0, 1, 0])], a)
    check_both(lambda x, y: F.concatenate([x, y], axis=1), a, data.draw(values((2, 1, 2))))
    check_both(lambda x: F.broadcast_to(x, (3, 2, 3, 2)), a)


# --- losses ----------------------------------------------------------------------------
@given(data=st.data())
def test_bce_with_logits(data):
    shape = data.draw(small_shapes)
    target = t64(data.draw(values(shape, st.floats(0, 1, width=64))), requires_grad=False)
    check_both(lambda x: F.binary_cross_entropy_with_logits(x, target), data.draw(values(shape)))


@given(data=st.data())
def test_bce_on_probabilities(data):
    shape = data.draw(small_shapes)
    target = t64(data.draw(values(shape, st.floats(0, 1, width=64))), requires_grad=False)
    probs = data.draw(values(shape, st.floats(0.05, 0.95, width=64)))
    check_both(lambda p: F.binary_cross_entropy(p, target), probs)


@given(data=st.data())
def test_mse_cross_entropy_log_softmax(data):
    n, c = data.draw(st.integers(1, 3)), data.draw(st.integers(2, 4))
    target = t64(data.draw(values((n, c))), requires_grad=False)
    check_both(lambda x: F.mse_loss(x, target), data.draw(values((n, c))))
    labels = tinygan.tensor(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    check_both(lambda x: F.cross_entropy(x, labels), data.draw(values((n, c))))
    check_both(lambda x: F.log_softmax(x, 1), data.draw(values((n, c))))


def test_bce_with_logits_is_stable_at_plus_minus_1e4():
    for dtype in (np.float32, np.float64):
        x = tinygan.tensor([1e4, -1e4, 1e4, -1e4], dtype=dtype, requires_grad=True)
        t = tinygan.tensor([1.0, 0.0, 0.0, 1.0], dtype=dtype)
        loss = F.binary_cross_entropy_with_logits(x, t, reduction="none")
        np.testing.assert_allclose(to_np(loss), [0.0, 0.0, 1e4, 1e4], rtol=1e-6)
        loss.sum().backward()
        assert np.all(np.isfinite(to_np(x.grad)))
        np.testing.assert_allclose(to_np(x.grad), [0.0, 0.0, 1.0, -1.0])


def test_sigmoid_does_not_overflow():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail the test
        y = F.sigmoid(tinygan.tensor([-1e4, -100.0, 0.0, 100.0, 1e4]))
    np.testing.assert_allclose(to_np(y), [0.0, 0.0, 0.5, 1.0, 1.0], atol=1e-7)
    assert np.all(np.isfinite(to_np(F.log_sigmoid(tinygan.tensor([-1e4, 1e4])))))


def test_bce_clamps_log_at_minus_100_like_pytorch():
    p = tinygan.tensor([0.0, 1.0], requires_grad=True)
    loss = F.binary_cross_entropy(p, tinygan.tensor([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(to_np(loss), [100.0, 100.0])
    loss.sum().backward()
    assert np.all(np.isfinite(to_np(p.grad)))


@pytest.mark.parametrize("bad", [1.5, -0.1, float("nan")])
def test_bce_rejects_values_outside_0_1(bad):
    """On a device the check waits for the next transfer (.item()), as CUDA's asserts do."""
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(tinygan.tensor([bad]), tinygan.tensor([1.0])).item()


def test_loss_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(4, 1\).*\(4,\)"):
        F.binary_cross_entropy_with_logits(tinygan.zeros(4, 1), tinygan.zeros(4))


def test_dropout_inverted_scaling_and_eval_identity():
    x = tinygan.ones(2000, 50)
    y = F.dropout(x, 0.3, training=True, generator=tinygan.Generator(1))
    kept = to_np(y) != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(to_np(y)[kept], 1 / 0.7, rtol=1e-6)
    assert F.dropout(x, 0.3, training=False) is x


def test_dropout_gradients():
    x = t64(np.random.default_rng(0).normal(size=(3, 4)))
    fn = lambda v: F.dropout(v, 0.5, True, generator=tinygan.Generator(3))  # noqa: E731
    assert tinygan.gradcheck(fn, [x]) and tinygan.gradgradcheck(fn, [x])


def test_gradcheck_catches_a_wrong_backward():
    from tinygan.engine.tensor import Function

    class BadSquare(Function):
        def forward(self, x):
            return x * x

        def backward(self, gy):
            return gy * self.inputs[0] * 3  # wrong: should be 2x

    with pytest.raises(GradcheckError, match=r"input 0 .*element \(0,\).*analytic"):
        tinygan.gradcheck(lambda x: BadSquare()(x), [t64([1.0, 2.0])])


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        tinygan.gradcheck(F.exp, [tinygan.tensor([1.0], requires_grad=True)])
