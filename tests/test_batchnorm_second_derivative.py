"""BatchNorm's (and so InstanceNorm's) second derivative in closed form
(tinygan/fast/batchnorm_second_derivative.py).

- The closed form is the derivative: gradcheck of the first derivatives (the second
  derivatives, against finite differences) and gradgradcheck (the third, through the
  statistics' recomputed graph).
- Against PyTorch, on drawn shapes, layers and dtypes, with an inf or NaN drawn into the
  upstream gradient, the input or gamma: where each library gives inf, -inf or NaN, and
  the finite values. Before the closed form, the chain rule through x_hat gave NaN where one
  image's inf reaches the others through InstanceNorm's shared gamma, and PyTorch inf
  (issue 29's long run, programs 4712715 and 4725618). A half batch through a float32
  layer is normalised in float32, but PyTorch differentiates it twice in half, where a
  channel of equal values overflows s^3 and gives NaN (4784436, 4784562).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan
from tinygan.engine.gradcheck import gradcheck, gradgradcheck
from tests.helpers import t64


def first_derivatives(x, gamma, beta, g):
    """(dL/dx, dL/dgamma, dL/dbeta) of L = <g, batch_norm(x)>, as a graph."""
    y = tinygan.nn.functional.batch_norm(x, None, None, gamma, beta, training=True)
    return tinygan.autograd.grad(y, [x, gamma, beta], g, create_graph=True)


@pytest.mark.parametrize("shape", [(5, 2), (3, 2, 4), (2, 3, 2, 3)])
def test_second_and_third_derivatives_against_finite_differences(shape):
    rng = np.random.default_rng(len(shape))
    x, g = t64(rng.normal(size=shape) * 2 + 1), t64(rng.normal(size=shape))
    gamma, beta = t64(rng.normal(size=shape[1]) + 1.5), t64(rng.normal(size=shape[1]))
    inputs = [x, gamma, beta, g]
    assert gradcheck(lambda *a: first_derivatives(*a)[:2], inputs)
    assert gradgradcheck(lambda *a: first_derivatives(*a)[:2], inputs)


def test_without_affine_the_input_gradient_differentiates():
    rng = np.random.default_rng(7)
    x, g = t64(rng.normal(size=(4, 2, 3))), t64(rng.normal(size=(4, 2, 3)))

    def input_gradient(x, g):
        y = tinygan.nn.functional.batch_norm(x, None, None, training=True)
        return tinygan.autograd.grad(y, [x], g, create_graph=True)[0]
    assert gradcheck(input_gradient, [x, g])
    assert gradgradcheck(input_gradient, [x, g])


# ---- against PyTorch, non-finite values included -------------------------------------------
def _derivatives(lib, kind, x, w, gamma, beta, dtype):
    # (a half batch through a float32 layer: normalised in float32, differentiated twice
    # in half by PyTorch)
    module = getattr(lib.nn, kind)(x.shape[1], affine=True)
    module = module.to(getattr(lib, "float32" if dtype == "float16" else dtype))
    with lib.no_grad():
        module.weight.copy_(lib.tensor(gamma))
        module.bias.copy_(lib.tensor(beta))
    xt = lib.tensor(x, dtype=getattr(lib, dtype), requires_grad=True)
    loss = (module(xt) * lib.tensor(w, dtype=getattr(lib, dtype))).sum()
    wanted = [xt, module.weight, module.bias]
    first = lib.autograd.grad(loss, wanted, create_graph=True)
    penalty = sum((t * t).sum() for t in first)
    second = lib.autograd.grad(penalty, wanted[:2])
    return [t.detach().numpy() for t in (*first, *second)]


@st.composite
def batches(draw):
    kind = draw(st.sampled_from(["BatchNorm2d", "InstanceNorm2d", "BatchNorm1d"]))
    if kind == "BatchNorm1d":
        shape = (draw(st.integers(2, 4)), draw(st.integers(1, 3)))
    else:
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                 draw(st.integers(2, 4)))
    seed = draw(st.integers(0, 2 ** 31))
    rng = np.random.default_rng(seed)
    x, w = np.round(rng.normal(size=shape), 2), np.round(rng.normal(size=shape), 2)
    gamma = np.round(rng.uniform(-1, 1, shape[1]), 2)
    beta = np.round(rng.uniform(-1, 1, shape[1]), 2)
    if draw(st.booleans()):   # a channel of equal values: its variance is 0, s = 1/sqrt(eps)
        x[:, 0] = x.flat[0]
    where = draw(st.sampled_from(["nowhere", "upstream", "input", "gamma"]))
    special = draw(st.sampled_from([np.inf, -np.inf, np.nan]))
    target = {"upstream": w, "input": x, "gamma": gamma}.get(where)
    if target is not None:
        target.flat[draw(st.integers(0, target.size - 1))] = special
    return kind, x, w, gamma, beta, draw(st.sampled_from(["float32", "float64", "float16"]))


@settings(max_examples=150, deadline=None)
@given(batches())
def test_derivatives_as_pytorchs_with_infs_and_nans(case):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")
    kind, x, w, gamma, beta, dtype = case
    with np.errstate(all="ignore"):
        ours = _derivatives(tinygan, kind, x, w, gamma, beta, dtype)
    theirs = _derivatives(torch, kind, x, w, gamma, beta, dtype)
    names = ["dx", "dgamma", "dbeta", "d2x", "d2gamma"]
    for name, a, b in zip(names, ours, theirs):
        assert a.dtype == b.dtype, name
        for special in (np.isnan, np.isposinf, np.isneginf):   # the same non-finite places
            np.testing.assert_array_equal(special(a), special(b), err_msg=name)
        finite = np.isfinite(b)
        tolerance = {"float16": 1e-2, "float32": 1e-4, "float64": 1e-10}[dtype]
        scale = np.abs(b[finite]).max(initial=1.0) if dtype == "float16" else 1.0
        # (half keeps 11 bits, and its sums of products cancel: there the bound is on the
        # error against the largest value, 1% of it)
        np.testing.assert_allclose(a[finite], b[finite], rtol=tolerance,
                                   atol=tolerance * scale, err_msg=name)
