"""InstanceNorm1d/2d and F.instance_norm (tinygan/nn/instancenorm.py), F.batch_norm and the
norm layers' ``bias=False`` (tinygan/nn/batchnorm.py).

A generator draws layers (affine or not, tracking running statistics or not, momentum 0.1,
0.3 or None, float32 or float64) and inputs (batched or one image, 1 to 3 images, 1 to 5
pixels a side, values at several scales) and runs each in tinygan and PyTorch: outputs,
first and second derivatives, running statistics and the evaluation-mode output agree, or
both raise. gradcheck and gradgradcheck run without PyTorch."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan
import tinygan.nn.functional as TF

SETTINGS = settings(max_examples=120, deadline=None, derandomize=True)


@st.composite
def layers_and_inputs(draw):
    spatial = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=2)))
    batched = draw(st.booleans()) or len(spatial) == 1 and draw(st.booleans())
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = ((n,) if batched else ()) + (c,) + spatial
    scale = draw(st.sampled_from([1.0, 1e-3, 100.0]))
    x = np.random.default_rng(draw(st.integers(0, 999))).normal(size=shape) * scale
    return dict(x=x, dims=len(spatial), c=c, affine=draw(st.booleans()),
                bias=draw(st.booleans()), track=draw(st.booleans()),
                momentum=draw(st.sampled_from([0.1, 0.3, None])),
                dtype=draw(st.sampled_from(["float32", "float64"])),
                features=c if draw(st.integers(0, 5)) else c + 1)


def _params_of(case):
    return ["x"] + (["weight"] if case["affine"] else []) + \
        (["bias"] if case["affine"] and case["bias"] else [])


def _run(lib, case):
    cls = getattr(lib.nn, f"InstanceNorm{case['dims']}d")
    dtype = getattr(lib, case["dtype"])
    m = cls(case["features"], affine=case["affine"], track_running_stats=case["track"],
            momentum=case["momentum"], bias=case["bias"]).to(dtype)
    if case["affine"]:
        with lib.no_grad():
            for k, p in enumerate(m.parameters()):
                p.copy_(lib.tensor(np.linspace(0.5 - k, 1.5, p.numel()), dtype=dtype))
    x = lib.tensor(case["x"], dtype=dtype, requires_grad=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = m(x)
    except (ValueError, RuntimeError) as e:
        return ("raise", type(e).__name__)
    w = lib.tensor(np.linspace(-1, 2, y.numel()).reshape(tuple(y.shape)), dtype=dtype)
    params = [x] + list(m.parameters())
    gs = lib.autograd.grad((y * w).sum(), params, create_graph=True)
    hs = lib.autograd.grad(sum((g * g).sum() for g in gs), params, allow_unused=True)
    m.eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y_eval = m(x)
    out = [y.detach().numpy(), y_eval.detach().numpy()]
    out += [g.detach().numpy() for g in gs]
    out += [np.zeros(1) if h is None else h.numpy() for h in hs]
    out += [b.numpy() for b in m.buffers()]
    return out


@SETTINGS
@given(case=layers_and_inputs())
def test_instance_norm_matches_pytorch(torch, case):
    theirs, ours = _run(torch, case), _run(tinygan, case)
    if isinstance(theirs[0], str) or isinstance(ours[0], str):
        assert theirs == ours
        return
    rtol, atol = (2e-4, 2e-4) if case["dtype"] == "float32" else (1e-8, 1e-9)
    float32 = case["dtype"] == "float32"
    p = len(_params_of(case))   # results: 2 outputs, p first, p second derivatives, buffers
    second = range(2 + p, 2 + 2 * p)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        # Second derivatives subtract terms in 1/sigma^3 that nearly cancel where a
        # channel's spread is small; tinygan writes BatchNorm's double backward in another
        # (equal) form than PyTorch's, so float32 agrees to rounding of the terms, 3e-5 of
        # the largest value (float64 holds the math to 1e-14 of it).
        ulps = (3e-5 if k in second else 1e-6) if float32 else 1e-14
        scale = float(np.abs(b).max()) if np.size(b) else 0.0
        np.testing.assert_allclose(a, b, err_msg=f"result {k}", rtol=rtol,
                                   atol=max(atol, ulps * scale))


def test_each_image_is_normalised_on_its_own():
    x = tinygan.tensor(np.random.default_rng(0).normal(size=(3, 2, 4, 4)) * 5 + 2)
    y = tinygan.nn.InstanceNorm2d(2)(x).numpy()
    np.testing.assert_allclose(y.mean(axis=(2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(2, 3)), 1, rtol=1e-4)
    alone = tinygan.nn.InstanceNorm2d(2)(x[1:2]).numpy()   # batch mates change nothing
    np.testing.assert_allclose(alone[0], y[1], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("affine", [False, True])
def test_instance_norm_passes_gradcheck(affine):
    rng = np.random.default_rng(1)
    x = tinygan.tensor(rng.normal(size=(2, 3, 3, 2)), requires_grad=True)
    w = tinygan.tensor(rng.normal(size=3), requires_grad=True)
    b = tinygan.tensor(rng.normal(size=3), requires_grad=True)
    f = (lambda x, w, b: TF.instance_norm(x, weight=w, bias=b)) if affine else \
        (lambda x, w, b: TF.instance_norm(x) * w.sum() + b.sum())
    assert tinygan.gradcheck(f, (x, w, b))
    assert tinygan.gradgradcheck(f, (x, w, b))


def test_instance_norm_errors_and_repr():
    m = tinygan.nn.InstanceNorm2d(3)
    assert repr(m) == ("InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, "
                       "track_running_stats=False)")
    assert list(m.parameters()) == []
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        m(tinygan.zeros(3, 4))
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        m(tinygan.zeros(2, 3, 1, 1))
    with pytest.raises(ValueError, match="match num_features"):
        tinygan.nn.InstanceNorm2d(4, affine=True)(tinygan.zeros(1, 3, 2, 2))
    with pytest.warns(UserWarning, match="does not match num_features"):
        tinygan.nn.InstanceNorm2d(4)(tinygan.zeros(1, 3, 2, 2))


def test_functional_batch_norm_as_pytorch(torch):
    x = np.random.default_rng(2).normal(size=(4, 3, 2, 2)).astype(np.float32)
    results = []
    for lib in (torch, tinygan):
        rm, rv = lib.zeros(3), lib.ones(3)
        y = lib.nn.functional.batch_norm(lib.tensor(x), rm, rv, training=True, momentum=0.5)
        y_eval = lib.nn.functional.batch_norm(lib.tensor(x), rm, rv, lib.ones(3) * 2,
                                              lib.zeros(3) + 1)
        results.append([y.numpy(), y_eval.numpy(), rm.numpy(), rv.numpy()])
        with pytest.raises(RuntimeError):
            lib.nn.functional.batch_norm(lib.tensor(x), None, None)
        with pytest.raises(ValueError, match="more than 1 value per channel"):
            lib.nn.functional.batch_norm(lib.tensor(x[:1, :, :1, :1]), None, None, training=True)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)


def test_batch_norm_without_bias_scales_only(torch):
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 2, 2)
    outs = []
    for lib in (torch, tinygan):
        m = lib.nn.BatchNorm2d(3, bias=False)
        assert [n for n, _ in m.named_parameters()] == ["weight"]
        xt = lib.tensor(x, requires_grad=True)
        m(xt).pow(2).sum().backward()
        outs.append((repr(m), xt.grad.numpy(), m.weight.grad.numpy()))
    assert outs[0][0] == outs[1][0]
    for a, b in zip(outs[0][1:], outs[1][1:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_instance_norm_of_an_empty_image_passes_through(torch):
    """Zero pixels are allowed (PyTorch refuses exactly one): found by the differential
    tester."""
    for lib in (torch, tinygan):
        m = lib.nn.InstanceNorm2d(2, track_running_stats=True)
        assert tuple(m(lib.zeros(1, 2, 0, 1)).shape) == (1, 2, 0, 1)
        assert m.running_mean.tolist() == [0.0, 0.0]
