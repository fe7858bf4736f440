"""A NaN or an inf meeting a convolution's structural zeros, against PyTorch.

A convolution reads pixels that hold no data: the zeros it pads with, and (in the spread-kernel
form of dilation) the pixels between its taps. In exact arithmetic they contribute nothing,
and which kernel runs decides whether they are multiplied at all; once a gradient holds a NaN
or an inf, 0 * NaN = NaN tells the two apart. The generator below draws convolutions and
transposed convolutions of every geometry tinygan accepts (stride, padding, dilation, groups,
output_padding, batch sizes that pick PyTorch's oneDNN kernel or its own), puts NaNs and infs
into the incoming gradient or the input, and checks which gradient entries are NaN, inf or
finite, and the finite ones' values, against PyTorch's.

NaNs and infs in the weight meet the padding in the forward pass: PyTorch's float32 CPU
convolution then runs oneDNN's direct kernel (which never reads the padding) or a kernel
that multiplies the padded zeros, by rules measured and written down in
tinygan/engine/conv_padding_skip.py, which tinygan follows.

Three pairings are left out. The weight gradient where PyTorch runs a float32 convolution with
oneDNN and the padding faces a NaN or an inf: oneDNN's choice of kernel there follows other
rules, not pinned down (of 353 such random convolutions on the AMD machine, 121 skipped the
padding). And a transposed convolution with a NaN or an inf in its weight: oneDNN's
deconvolution sometimes multiplies zeros of its own (1 output and 2 input gradients of about
200 float32 layers), by no rule found. And the input gradient of a strided convolution
whose weight holds a NaN or an inf: PyTorch's kernel there sometimes multiplies the zeros
between the spread-out gradient's entries by the inf (a NaN where tinygan, which scatters
the gradient, has a finite value): tinygan's NaNs are PyTorch's in 214 of 226 random such
layers, and no rule was found for the other 12 (a full correlation over the spread,
padded gradient matches fewer: 48). The other outputs and gradients are compared there.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygan
import tinygan.nn.functional as TF

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")


@st.composite
def conv_cases(draw):
    transposed = draw(st.booleans())
    groups = draw(st.sampled_from([1, 1, 1, 2]))
    c = groups * draw(st.integers(1, 2))
    o = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    stride = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    n = draw(st.sampled_from([1, 2, 3]))
    h, w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    reach = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    output_padding = (0, 0)
    if transposed:
        output_padding = tuple(draw(st.integers(0, max(s, d) - 1))
                               for s, d in zip(stride, dilation))
        out = [(size - 1) * s - 2 * p + r + op for size, s, p, r, op in
               zip((h, w), stride, padding, reach, output_padding)]
        if min(out) < 1:
            padding = (0, 0)
        weight_shape = (c, o // groups, kh, kw)
    else:
        if h + 2 * padding[0] < reach[0] or w + 2 * padding[1] < reach[1]:
            padding = (reach[0], reach[1])
        weight_shape = (o, c // groups, kh, kw)
    dtype = draw(st.sampled_from(["float32", "float64"]))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    # a NaN or an inf in the weight: of the convolution only (see the module's docstring)
    where = draw(st.sampled_from(["gy", "x", "both"] + ([] if transposed else ["w"])))
    return dict(transposed=transposed, groups=groups, stride=stride, dilation=dilation,
                padding=padding, output_padding=output_padding, x_shape=(n, c, h, w),
                weight_shape=weight_shape, bias=draw(st.booleans()), dtype=dtype, seed=seed,
                where=where)


def _poison(rng, a):
    """About a quarter of a's entries set to NaN, inf or -inf."""
    a = a.copy()
    hit = rng.random(a.shape) < 0.25
    a[hit] = rng.choice([np.nan, np.inf, -np.inf], size=int(hit.sum()))
    return a


def _run(fw, functional, case, x_array, w_array, b_array, gy_array):
    x = fw.tensor(x_array, requires_grad=True)
    w = fw.tensor(w_array, requires_grad=True)
    b = fw.tensor(b_array, requires_grad=True) if b_array is not None else None
    if case["transposed"]:
        y = functional.conv_transpose2d(x, w, b, stride=case["stride"],
                                        padding=case["padding"],
                                        output_padding=case["output_padding"],
                                        groups=case["groups"], dilation=case["dilation"])
    else:
        y = functional.conv2d(x, w, b, stride=case["stride"], padding=case["padding"],
                              dilation=case["dilation"], groups=case["groups"])
    if gy_array is None:
        return y.detach().numpy(), None
    y.backward(fw.tensor(gy_array))
    grads = [x.grad, w.grad] + ([b.grad] if b is not None else [])
    return y.detach().numpy(), [g.numpy() for g in grads]


def _assert_close(ours, theirs, what):
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    for name, test in (("NaN", np.isnan), ("inf", np.isposinf), ("-inf", np.isneginf)):
        assert np.array_equal(test(ours), test(theirs)), (
            f"{what}: {name} at {np.argwhere(test(ours) != test(theirs)).tolist()}: "
            f"{ours.tolist()} vs {theirs.tolist()}")
    tol = 1e-4 if ours.dtype == np.float32 else 1e-10
    np.testing.assert_allclose(np.nan_to_num(ours), np.nan_to_num(theirs), rtol=tol,
                               atol=tol, err_msg=what)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(conv_cases())
def test_nonfinite_values_meet_the_structural_zeros_as_in_pytorch(case):
    rng = np.random.default_rng(case["seed"])
    dtype = case["dtype"]
    x = np.round(rng.uniform(-2, 2, case["x_shape"]), 2).astype(dtype)
    w = np.round(rng.uniform(-1, 1, case["weight_shape"]), 2).astype(dtype)
    o = w.shape[1] * case["groups"] if case["transposed"] else w.shape[0]
    b = np.round(rng.uniform(-1, 1, o), 2).astype(dtype) if case["bias"] else None
    if case["where"] in ("x", "both"):
        x = _poison(rng, x)
    if case["where"] == "w":
        w = _poison(rng, w)
    y_theirs, _ = _run(torch, torch.nn.functional, case, x, w, b, None)
    gy = np.round(rng.uniform(-1, 1, y_theirs.shape), 2).astype(dtype)
    if case["where"] in ("gy", "both"):
        gy = _poison(rng, gy)
    y_theirs, grads_theirs = _run(torch, torch.nn.functional, case, x, w, b, gy)
    y_ours, grads_ours = _run(tinygan, TF, case, x, w, b, gy)
    _assert_close(y_ours, y_theirs, "output")
    for name, ours, theirs in zip(("x.grad", "weight.grad", "bias.grad"), grads_ours,
                                  grads_theirs):
        if name == "weight.grad" and _onednn_may_skip_padding(case, x, w, gy):
            continue
        if name == "x.grad" and _strided_input_gradient_of_a_nonfinite_weight(case, w):
            continue
        _assert_close(ours, theirs, name)


def _strided_input_gradient_of_a_nonfinite_weight(case, w) -> bool:
    """The third pairing left out (see the module's docstring): x's gradient of a strided
    convolution whose weight holds a NaN or an inf."""
    return (not case["transposed"] and case["stride"] != (1, 1)
            and not np.isfinite(w).all())


def _onednn_may_skip_padding(case, x, w, gy) -> bool:
    """Whether PyTorch runs this call with oneDNN, whose weight gradient may skip the padding
    (see the module's docstring), and a NaN or inf could face the padding there."""
    if case["padding"] == (0, 0):
        return False
    facing = gy if not case["transposed"] else x   # the operand the padded one multiplies
    if np.isfinite(facing).all():
        return False
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:                             # cannot ask: assume it may
        return True
    backend = select(torch.tensor(x), torch.tensor(w), None, list(case["stride"]),
                     list(case["padding"]), list(case["dilation"]), case["transposed"],
                     list(case["output_padding"]), case["groups"], None)
    # PyTorch's own kernels multiply the padding; the transposed oneDNN kernel prints as ???
    return str(backend).split(".")[-1] not in ("Slow2d", "SlowDilated2d", "SlowTranspose2d",
                                               "SlowDilatedTranspose2d")
