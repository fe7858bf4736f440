"""The shortcuts taken for speed give the same answers as the plain formulas.

- LeakyReLU as a maximum (slope in [0, 1]) and as ``where`` (any other slope);
- Linear and MatMul skip the gradients of inputs that do not require one;
- Adam walks big parameters in cache-sized slices: bit-identical to one whole-array update.
"""
import math

import numpy as np
import pytest

import tinygan
from tinygan import functional as F
from tinygan import optim
from tinygan.gradcheck import gradcheck, gradgradcheck
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
def test_adam_in_slices_is_bit_identical_to_the_whole_array_rule(shape):
    rng = np.random.default_rng(0)
    start = rng.normal(size=shape).astype(np.float32)
    grads = [rng.normal(size=shape).astype(np.float32) for _ in range(3)]
    p = tinygan.nn.Parameter(start.copy())
    opt = optim.Adam([p], lr=1e-2, betas=(0.5, 0.999), eps=1e-8)
    ref, m, v = start.copy(), np.zeros_like(start), np.zeros_like(start)
    for t, g in enumerate(grads, start=1):
        p.grad = tinygan.Tensor(g)
        opt.step()
        m = m * 0.5 + g * (1 - 0.5)  # Python floats keep float32 arrays float32
        v = v * 0.999 + (g * g) * (1 - 0.999)
        denom = np.sqrt(v) * (1.0 / math.sqrt(1 - 0.999 ** t)) + 1e-8
        ref = ref - (m / denom) * (1e-2 / (1 - 0.5 ** t))
    np.testing.assert_array_equal(to_np(p), ref)
    np.testing.assert_array_equal(opt.state[0]["exp_avg"], m)
    np.testing.assert_array_equal(opt.state[0]["exp_avg_sq"], v)


def test_adam_updates_a_non_contiguous_parameter_in_place():
    data = np.arange(80_000, dtype=np.float32).reshape(400, 200) / 1e4
    p = tinygan.nn.Parameter(np.zeros((200, 400), dtype=np.float32))
    p.data = data.T  # a transposed view: the slices must still write into it
    p.grad = tinygan.Tensor(np.ones((200, 400), dtype=np.float32))
    expected = data.T - 0.1  # Adam's first step moves every weight by lr * sign(grad)
    optim.Adam([p], lr=0.1).step()
    np.testing.assert_allclose(to_np(p), expected, rtol=1e-6, atol=1e-6)
    assert p.data.base is data  # still the same memory
