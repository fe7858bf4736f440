"""The shortcuts taken for speed give the same answers as the plain formulas.

- LeakyReLU as a maximum (slope in [0, 1]) and as ``where`` (any other slope);
- Linear and MatMul skip the gradients of inputs that do not require one;
- Adam walks big parameters in cache-sized slices: bit-identical to one whole-array update;
- the activations' backward ops (TanhGrad, ...) write in place: same values as the formulas,
  and their own derivatives (the activations' second and third derivatives) check out.
"""
import math

import numpy as np
import pytest

import tinygan
from tinygan import functional as F
from tinygan import fast, optim
from tinygan.fast import activations as A
from tinygan.engine.gradcheck import gradcheck, gradgradcheck
from tests.helpers import t64, to_np


@pytest.mark.parametrize("slope", [-0.5, 0.0, 0.2, 1.0, 3.0])
def test_leaky_relu_every_slope_values_and_derivatives(slope):
    x = np.random.default_rng(0).normal(size=(4, 5))
    x[0, :3] = [0.0, -0.0, 1e-30]
    expected = np.where(x > 0, x, slope * x)
    np.testing.assert_array_equal(to_np(F.leaky_relu(tinygan.tensor(x, dtype=np.float64),
                                                     slope)), expected)
    xt = tinygan.tensor(x, dtype=np.float64, requires_grad=True)
    F.leaky_relu(xt, slope).sum().backward()
    np.testing.assert_array_equal(to_np(xt.grad), np.where(x > 0, 1.0, slope))
    x_away_from_kink = t64(np.where(np.abs(x) < 0.1, 0.5, x))
    gradcheck(lambda v: F.leaky_relu(v, slope), [x_away_from_kink])
    gradgradcheck(lambda v: F.leaky_relu(v, slope) * v, [x_away_from_kink])


def test_leaky_relu_float32_gradient_is_exactly_one_or_slope():
    x = tinygan.randn(1000, requires_grad=True)
    F.leaky_relu(x, 0.2).sum().backward()
    assert x.grad.dtype == np.float32
    assert set(np.unique(to_np(x.grad))) == {np.float32(1.0), np.float32(0.2)}


@pytest.mark.parametrize("op", ["linear", "matmul"])
def test_gradients_nobody_needs_are_not_computed(monkeypatch, op):
    calls = []
    real_matmul = F.matmul
    monkeypatch.setattr(F, "matmul", lambda a, b: calls.append(1) or real_matmul(a, b))
    W = tinygan.randn(3, 4, requires_grad=True)
    for x_needs_grad, expected_products in ((False, 1), (True, 2)):
        x = tinygan.randn(5, 4, requires_grad=x_needs_grad)
        y = F.linear(x, W) if op == "linear" else real_matmul(x, W.T)
        calls.clear()
        W.grad = None
        y.sum().backward()
        assert len(calls) == expected_products
        assert (x.grad is not None) == x_needs_grad
        np.testing.assert_allclose(to_np(W.grad), np.tile(to_np(x).sum(0), (3, 1)), rtol=1e-5)


@pytest.mark.parametrize("shape", [(), (7,), (70_000,), (300, 200), (3, 40_000), (2, 3, 9000)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("variant", ["adam", "amsgrad", "maximize", "adamw"])
def test_fused_adam_is_bit_identical_to_the_plain_rule(shape, weight_decay, variant):
    """The fused update (in place, in cache-sized slices) gives exactly the plain one, and
    both the published rule (with amsgrad's running maximum of v, maximize's -g, AdamW's
    decoupled decay p (1 - lr wd) instead of the L2 term)."""
    rng = np.random.default_rng(0)
    start = rng.normal(size=shape).astype(np.float32)
    grads = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    grads[1] = grads[1] * np.float32(0.1)   # a smaller v: amsgrad keeps the earlier one
    fused, plain = tinygan.nn.Parameter(start.copy()), tinygan.nn.Parameter(start.copy())
    kind = optim.AdamW if variant == "adamw" else optim.Adam
    opts = [kind([q], lr=1e-2, betas=(0.5, 0.999), eps=1e-8, weight_decay=weight_decay,
                 amsgrad=variant == "amsgrad", maximize=variant == "maximize", fused=f)
            for q, f in ((fused, True), (plain, False))]
    ref, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    v_max = np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        for q, opt in zip((fused, plain), opts):
            q.grad = tinygan.Tensor(g)
            opt.step()
        g = -g if variant == "maximize" else g
        if variant == "adamw":
            ref = ref * (1 - 1e-2 * weight_decay)
        gd = g + weight_decay * ref if weight_decay and variant != "adamw" else g
        m = m * 0.5 + gd * (1 - 0.5)  # Python floats keep float32 arrays float32
        v = v * 0.999 + (gd * gd) * (1 - 0.999)
        v_max = np.maximum(v_max, v)
        denom = np.sqrt(v_max if variant == "amsgrad" else v) / math.sqrt(1 - 0.999 ** t) + 1e-8
        ref = ref - (m / denom) * (1e-2 / (1 - 0.5 ** t))
    np.testing.assert_array_equal(to_np(fused), to_np(plain))
    np.testing.assert_array_equal(to_np(fused), ref)
    for key, expected in (("exp_avg", m), ("exp_avg_sq", v)):
        np.testing.assert_array_equal(opts[0].state[0][key], opts[1].state[0][key])
        np.testing.assert_array_equal(opts[0].state[0][key], expected)


def test_adam_updates_a_non_contiguous_parameter_in_place():
    data = np.arange(80_000, dtype=np.float32).reshape(400, 200) / 1e4
    p = tinygan.nn.Parameter(np.zeros((200, 400), dtype=np.float32))
    p.array = data.T  # a transposed view: the slices must still write into it
    p.grad = tinygan.Tensor(np.ones((200, 400), dtype=np.float32))
    expected = data.T - 0.1  # Adam's first step moves every weight by lr * sign(grad)
    optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(to_np(p), expected, rtol=1e-6, atol=1e-6)
    assert p.array.base is data  # still the same memory


GRAD_OPS = {  # op, the activation's derivative as a function of what the op is given
    "tanh": (lambda: A.TanhGrad(), lambda gy, y: gy * (1 - y * y)),
    "sigmoid": (lambda: A.SigmoidGrad(), lambda gy, y: gy * y * (1 - y)),
    "relu": (lambda: A.LeakyReLUGrad(0.0), lambda gy, x: gy * (x > 0)),
    "leaky_relu": (lambda: A.LeakyReLUGrad(0.2), lambda gy, x: gy * np.where(x > 0, 1, 0.2)),
    "leaky_relu_slope_3": (lambda: A.LeakyReLUGrad(3.0),
                           lambda gy, x: gy * np.where(x > 0, 1, 3.0)),
}


@pytest.mark.parametrize("name", sorted(GRAD_OPS))
def test_activation_backward_ops_match_their_formulas_and_differentiate(name):
    make_op, formula = GRAD_OPS[name]
    rng = np.random.default_rng(1)
    gy = rng.normal(size=(6, 5))
    second = rng.uniform(-0.9, 0.9, size=(6, 5))   # y of tanh/sigmoid, or x of (leaky) relu
    second[np.abs(second) < 0.05] = 0.5               # finite differences stay off the kink
    gy_t, second_t = t64(gy), t64(second)
    out = make_op()(gy_t, second_t)
    np.testing.assert_allclose(to_np(out), formula(gy, second), rtol=1e-12, atol=0)
    np.testing.assert_array_equal(to_np(gy_t), gy)    # in place into a fresh array only
    np.testing.assert_array_equal(to_np(second_t), second)
    gradcheck(lambda a, b: make_op()(a, b), [gy_t, second_t])
    gradgradcheck(lambda a, b: make_op()(a, b), [gy_t, second_t])


def test_third_derivative_of_tanh():
    # d^3/dx^3 tanh = -2 (1 - t^2)(1 - 3 t^2), t = tanh x: backward of backward of backward
    x = tinygan.tensor([0.3, -1.2, 2.0], dtype=np.float64, requires_grad=True)
    (g1,) = tinygan.grad(F.tanh(x).sum(), x, create_graph=True)
    (g2,) = tinygan.grad(g1.sum(), x, create_graph=True)
    (g3,) = tinygan.grad(g2.sum(), x)
    t = np.tanh(to_np(x))
    np.testing.assert_allclose(to_np(g3), -2 * (1 - t ** 2) * (1 - 3 * t ** 2), rtol=1e-12)


# ---- the fused forms against the plain forms they replace -----------------------------------
PLAIN_VS_FUSED = {
    "sigmoid": lambda x, w: F.sigmoid(x),
    "tanh": lambda x, w: F.tanh(x),
    "relu": lambda x, w: F.relu(x),
    "leaky_relu": lambda x, w: F.leaky_relu(x, 0.2),
    "leaky_relu_steep": lambda x, w: F.leaky_relu(x, 3.0),
    "linear": lambda x, w: F.linear(x, w, w[0] * 0.5),
    "amax_short_axis": lambda x, w: F.amax(x.reshape(5, 2, 2) * w[0].reshape(2, 2), -1),
    "amin_short_axis": lambda x, w: F.amin(x.reshape(5, 2, 2) * w[0].reshape(2, 2), 1),
}


@pytest.mark.parametrize("name", sorted(PLAIN_VS_FUSED))
def test_the_switch_picks_the_fast_form_or_the_plain_one(name, monkeypatch):
    """With the switch on, the op's node comes from tinygan/fast/; off, from the engine."""
    x, w = tinygan.randn(5, 4, requires_grad=True), tinygan.randn(4, 4, requires_grad=True)
    node = PLAIN_VS_FUSED[name](x, w).creator
    assert type(node).__module__.startswith("tinygan.fast."), type(node)
    monkeypatch.setattr(fast, "FUSED", False)
    node = PLAIN_VS_FUSED[name](x, w).creator
    assert type(node).__module__.startswith("tinygan.engine."), type(node)


@pytest.fixture
def plain_forms():
    fast.FUSED = False
    yield
    fast.FUSED = True


def _values_and_derivatives(name):
    """The op's output, its gradient and its second-order gradient, on fixed inputs."""
    rng = np.random.default_rng(7)
    x = tinygan.Tensor(rng.normal(size=(5, 4)), requires_grad=True)
    w = tinygan.Tensor(rng.normal(size=(4, 4)), requires_grad=True)
    y = PLAIN_VS_FUSED[name](x, w)
    v = tinygan.Tensor(rng.normal(size=y.shape))
    gx, gw = tinygan.grad(y, [x, w], v, create_graph=True, allow_unused=True)
    total = (gx * gx).sum() + ((gw * gw).sum() if gw is not None else 0)
    hx = tinygan.grad(total, [x], allow_unused=True)[0] if total.requires_grad else None
    return [t.numpy() if t is not None else None for t in (y, gx, gw, hx)]


@pytest.mark.parametrize("name", sorted(PLAIN_VS_FUSED))
def test_each_fused_op_equals_its_plain_form(name, request):
    fused = _values_and_derivatives(name)
    request.getfixturevalue("plain_forms")
    plain = _values_and_derivatives(name)
    for a, b in zip(fused, plain):
        if a is None or b is None:
            assert a is None and b is None or not np.any(a if a is not None else b)
            continue
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


# ---- BatchNorm in training mode: one fused node (BatchNormBatchStats) = the plain graph ----
@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (3, 2, 4, 5)])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_batch_norm_equals_the_plain_one_with_derivatives(shape, affine):
    from tinygan import nn
    rng = np.random.default_rng(2)
    x_np, v_np = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)
    kind = {2: nn.BatchNorm1d, 3: nn.BatchNorm1d, 4: nn.BatchNorm2d}[len(shape)]

    def run():
        bn = kind(shape[1], affine=affine).double()
        if affine:   # not the identity: gamma and beta away from 1 and 0
            bn.weight.data = t64(rng.normal(size=shape[1]) + 1.5, requires_grad=False)
            bn.bias.data = t64(rng.normal(size=shape[1]), requires_grad=False)
        x = t64(x_np)
        y = bn(x)
        params = [bn.weight, bn.bias] if affine else []
        grads = tinygan.grad(y, [x, *params], t64(v_np, requires_grad=False),
                             create_graph=True)
        second = tinygan.grad(sum((g * g).sum() for g in grads), [x, *params],
                              allow_unused=True)      # beta's gradient does not use beta
        x_again = t64(x_np)
        (bn(x_again) * t64(v_np, requires_grad=False)).sum().backward()   # no graph
        return [None if t is None else to_np(t) for t in (y, *grads, *second)] + [
            to_np(x_again.grad), to_np(bn.running_mean), to_np(bn.running_var)] + (
            [to_np(bn.weight.grad), to_np(bn.bias.grad)] if affine else [])

    fused = run()
    rng = np.random.default_rng(2)
    x_np, v_np = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)
    fast.FUSED = False
    try:
        plain = run()
    finally:
        fast.FUSED = True
    assert len(fused) == len(plain)
    for a, b in zip(fused, plain):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-11)


def test_fused_batch_norm_gradcheck_and_gradgradcheck():
    from tinygan import nn
    bn = nn.BatchNorm2d(2).double()
    bn.weight.data = t64([0.7, -1.3], requires_grad=False)
    x = t64(np.random.default_rng(4).normal(size=(3, 2, 2, 3)))
    assert gradcheck(lambda x, w, b: bn(x) * x, [x, bn.weight, bn.bias])
    assert gradgradcheck(lambda x, w, b: bn(x) * x, [x, bn.weight, bn.bias])


def test_fused_batch_norm_skips_the_gradient_of_data():
    from tinygan import nn
    bn = nn.BatchNorm1d(3)
    data = tinygan.randn(8, 3)                      # requires no gradient
    bn(data).sum().backward()
    assert data.grad is None and bn.weight.grad is not None
