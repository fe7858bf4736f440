"""nn.Upsample / F.interpolate and nn.Embedding: gradients checked, and against PyTorch."""
import math

import numpy as np
from hypothesis import given, settings, strategies as st
import pytest

import tinygan
from tinygan import nn
import tinygan.nn.functional as F
from tinygan.engine.resample import Resample, nearest_taps
from tinygan.fast.upsample import NearestRepeat, RepeatSum
from tests.helpers import t64, to_np

CASES = [  # (input shape, keyword arguments of interpolate)
    ((2, 3, 4, 5), dict(scale_factor=2)),
    ((2, 3, 4, 5), dict(scale_factor=2, mode="nearest")),
    ((1, 2, 4, 5), dict(size=(7, 3))),
    ((1, 2, 5, 4), dict(scale_factor=1.5)),
    ((1, 2, 3, 3), dict(scale_factor=(2, 3))),
    ((1, 2, 4, 3), dict(size=(9, 5), mode="nearest-exact")),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=False)),
    ((2, 2, 4, 5), dict(scale_factor=2, mode="bilinear", align_corners=True)),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=False)),
    ((1, 2, 4, 5), dict(size=(7, 3), mode="bilinear", align_corners=True)),
    ((1, 2, 5, 4), dict(scale_factor=1.7, mode="bilinear")),
    ((1, 2, 5, 4), dict(scale_factor=1.7, mode="bilinear", recompute_scale_factor=True)),
    ((2, 3, 6), dict(scale_factor=2.5, mode="linear", align_corners=False)),
    ((2, 3, 6), dict(size=4, mode="nearest")),
]
IDS = [f"{shape}-{kw}" for shape, kw in CASES]


@pytest.mark.parametrize("shape,kw", CASES, ids=IDS)
def test_interpolate_gradcheck_and_gradgradcheck(shape, kw):
    x = t64(np.random.default_rng(0).normal(size=shape))
    assert tinygan.gradcheck(lambda x: F.interpolate(x, **kw), [x])
    assert tinygan.gradgradcheck(lambda x: F.interpolate(x, **kw) ** 2, [x])


@pytest.mark.parametrize("shape,kw", CASES, ids=IDS)
def test_interpolate_matches_torch(shape, kw):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).normal(size=shape)
    xt = torch.tensor(x, requires_grad=True)
    xg = t64(x)
    yt = torch.nn.functional.interpolate(xt, **kw)
    yg = F.interpolate(xg, **kw)
    assert yg.shape == tuple(yt.shape)
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    w = np.random.default_rng(2).normal(size=yt.shape)
    (yt * torch.tensor(w)).sum().backward()
    (gx,) = tinygan.grad((yg * t64(w, False)).sum(), xg)
    np.testing.assert_allclose(to_np(gx), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_upsample_layer_in_float32_matches_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).normal(size=(2, 4, 8, 8)).astype(np.float32)
    for kw in (dict(scale_factor=2), dict(scale_factor=2, mode="bilinear"),
               dict(size=(11, 13), mode="bilinear", align_corners=True)):
        y = nn.Upsample(**kw)(tinygan.tensor(x))
        assert y.dtype == np.float32
        np.testing.assert_allclose(to_np(y), torch.nn.Upsample(**kw)(torch.tensor(x)).numpy(),
                                   rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        to_np(nn.UpsamplingBilinear2d(scale_factor=2)(tinygan.tensor(x))),
        torch.nn.UpsamplingBilinear2d(scale_factor=2)(torch.tensor(x)).numpy(), rtol=1e-5,
        atol=1e-6)


def test_the_fast_nearest_form_equals_the_plain_form():
    x = t64(np.random.default_rng(4).normal(size=(2, 3, 4, 5)))
    fast = NearestRepeat((2, 3))(x)
    plain = Resample([nearest_taps(8, 4, 2.0), nearest_taps(15, 5, 3.0)])(x)
    np.testing.assert_array_equal(to_np(fast), to_np(plain))
    g = t64(np.random.default_rng(5).normal(size=fast.shape), False)
    (a,) = tinygan.grad((fast * g).sum(), x)
    (b,) = tinygan.grad((plain * g).sum(), x)
    np.testing.assert_allclose(to_np(a), to_np(b), rtol=1e-12)
    # the adjoint sums: each input pixel has 6 copies, so a gradient of ones gives 6
    (ones,) = tinygan.grad(NearestRepeat((2, 3))(x).sum(), x)
    assert set(np.unique(to_np(ones)).tolist()) == {6.0}


def test_interpolate_errors_as_pytorch():
    x = tinygan.ones(1, 1, 2, 2)
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError, match="either size or scale_factor"):
        F.interpolate(x)
    with pytest.raises(ValueError, match="align_corners option can only be set"):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError, match="Got 3D input, but bilinear mode needs 4D"):
        F.interpolate(tinygan.ones(1, 1, 2), scale_factor=2, mode="bilinear")
    with pytest.raises(NotImplementedError, match="mode 'bicubic' is not supported"):
        F.interpolate(x, scale_factor=2, mode="bicubic")


# ---- Embedding ------------------------------------------------------------------------
def test_embedding_init_lookup_and_gradients_added_into_rows():
    tinygan.manual_seed(0)
    emb = nn.Embedding(10, 4)
    w = to_np(emb.weight)
    assert abs(w.mean()) < 0.5 and 0.6 < w.std() < 1.4          # N(0, 1)
    labels = tinygan.tensor([3, 1, 3, 7])
    out = emb(labels)
    assert out.shape == (4, 4)
    np.testing.assert_array_equal(to_np(out), w[[3, 1, 3, 7]])
    upstream = np.arange(16, dtype=np.float32).reshape(4, 4)
    (out * tinygan.tensor(upstream)).sum().backward()
    g = to_np(emb.weight.grad)
    np.testing.assert_array_equal(g[3], upstream[0] + upstream[2])    # used twice: summed
    np.testing.assert_array_equal(g[1], upstream[1])
    assert not g[[0, 2, 4, 5, 6, 8, 9]].any()
    assert emb(tinygan.tensor([[1, 2], [3, 4]])).shape == (2, 2, 4)


def test_embedding_gradcheck_padding_idx_and_errors():
    emb = nn.Embedding(5, 3, padding_idx=0).double()
    assert not to_np(emb.weight)[0].any()
    idx = tinygan.tensor([0, 2, 2, 4])
    assert tinygan.gradcheck(lambda w: F.embedding(idx, w) ** 2, [emb.weight])
    emb(idx).sum().backward()
    assert not to_np(emb.weight.grad)[0].any() and to_np(emb.weight.grad)[2].tolist() == [2] * 3
    with pytest.raises(RuntimeError, match="Expected tensor for argument #1 'indices'"):
        emb(tinygan.tensor([1.0]))
    with pytest.raises(IndexError, match="index out of range in self"):
        emb(tinygan.tensor([5]))
    frozen = nn.Embedding.from_pretrained(tinygan.ones(3, 2))
    assert not frozen.weight.requires_grad and frozen(tinygan.tensor([1])).tolist() == [[1, 1]]


def test_embedding_matches_torch_on_the_same_weights():
    torch = pytest.importorskip("torch")
    theirs = torch.nn.Embedding(6, 3, padding_idx=2, max_norm=1.0)
    ours = nn.Embedding(6, 3, padding_idx=2, max_norm=1.0)
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == ["weight"]
    idx = np.array([[0, 2, 5], [5, 1, 2]])
    yt = theirs(torch.tensor(idx))
    yg = ours(tinygan.tensor(idx))
    np.testing.assert_allclose(to_np(yg), yt.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-6,
                               atol=1e-7)                          # max_norm renormalised
    w = np.random.default_rng(0).normal(size=yt.shape).astype(np.float32)
    (yt * torch.tensor(w)).sum().backward()
    (yg * tinygan.tensor(w)).sum().backward()
    np.testing.assert_allclose(to_np(ours.weight.grad), theirs.weight.grad.numpy(), rtol=1e-6)


def test_flatten_unflatten_and_identity_match_torch():
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=(2, 12, 3)).astype(np.float32)
    for ours, theirs in ((nn.Unflatten(1, (3, 4)), torch.nn.Unflatten(1, (3, 4))),
                         (nn.Unflatten(-1, (3, -1)), torch.nn.Unflatten(-1, (3, -1))),
                         (nn.Flatten(), torch.nn.Flatten()), (nn.Flatten(0, 1),
                                                              torch.nn.Flatten(0, 1)),
                         (nn.Identity(3), torch.nn.Identity(3))):
        np.testing.assert_array_equal(to_np(ours(tinygan.tensor(x))),
                                      theirs(torch.tensor(x)).numpy())
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints"):
        nn.Unflatten(1, 12)


@pytest.mark.parametrize("factors", [(1, 2), (3, 1), (1, 1)])
def test_the_block_sum_with_a_factor_of_one_equals_the_plain_form(factors):
    x = t64(np.random.default_rng(6).normal(size=(2, 1, 3, 4)))
    g = np.random.default_rng(7).normal(size=(2, 1, 3 * factors[0], 4 * factors[1]))
    (fast,) = tinygan.grad((NearestRepeat(factors)(x) * t64(g, False)).sum(), x)
    plain = Resample([nearest_taps(3 * factors[0], 3, float(factors[0])),
                      nearest_taps(4 * factors[1], 4, float(factors[1]))])
    (slow,) = tinygan.grad((plain(x) * t64(g, False)).sum(), x)
    np.testing.assert_allclose(to_np(fast), to_np(slow), rtol=1e-12)
    gy = t64(g, False)
    summed = RepeatSum(factors)(gy)
    assert not np.shares_memory(to_np(summed), to_np(gy)) or factors != (1, 1)


def test_interpolate_takes_the_fast_nearest_form_only_while_the_switch_is_on(monkeypatch):
    x = t64(np.random.default_rng(6).normal(size=(2, 3, 4, 5)))
    fast_y = F.interpolate(x, scale_factor=2, mode="nearest")
    assert isinstance(fast_y.creator, NearestRepeat)
    monkeypatch.setattr(tinygan.fast, "FUSED", False)
    plain_y = F.interpolate(x, scale_factor=2, mode="nearest")
    assert isinstance(plain_y.creator, Resample)
    np.testing.assert_array_equal(to_np(fast_y), to_np(plain_y))
    # a non-integer factor has no fast form: the plain form either way
    monkeypatch.setattr(tinygan.fast, "FUSED", True)
    assert isinstance(F.interpolate(x, scale_factor=1.5).creator, Resample)


@settings(max_examples=30, deadline=None)
@given(h=st.integers(1, 5), w=st.integers(1, 5), oh=st.integers(1, 9), ow=st.integers(1, 9),
       align=st.booleans(), linear=st.booleans())
def test_the_taps_compute_the_matrix_map(h, w, oh, ow, align, linear):
    """On finite pixels the taps form is y = A_h x A_w^T with the module docstring's
    matrices, and its gradient A_h^T g A_w."""
    from tinygan.engine.resample import linear_taps, taps_matrix
    rng = np.random.default_rng(h * 100 + w * 10 + oh)
    x = t64(rng.normal(size=(2, 1, h, w)))
    taps = ([linear_taps(oh, h, align, None), linear_taps(ow, w, align, None)] if linear else
            [nearest_taps(oh, h, None), nearest_taps(ow, w, None)])
    a_h, a_w = taps_matrix(taps[0], h), taps_matrix(taps[1], w)
    y = Resample(taps)(x)
    np.testing.assert_allclose(to_np(y), a_h @ to_np(x) @ a_w.T, rtol=1e-12, atol=1e-12)
    g = rng.normal(size=y.shape)
    (gx,) = tinygan.grad((y * t64(g, False)).sum(), x)
    np.testing.assert_allclose(to_np(gx), a_h.T @ g @ a_w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode,size,row,expected", [
    # PyTorch 2.13's answers: an inf or NaN pixel reaches only the outputs whose taps read
    # it, even with weight 0 (0 * inf is NaN: the height taps of a 1-pixel-high image are
    # that pixel twice, weights 1 and 0)
    ("bilinear", (1, 6), [math.nan, math.nan, -1.0216512680053711],
     [math.nan, math.nan, math.nan, math.nan, math.nan, -1.0216512680053711]),
    ("bilinear", (1, 4), [math.inf, 1.0], [math.nan, math.nan, math.nan, 1.0]),
    ("nearest", (1, 3), [math.nan, 2.0], [math.nan, math.nan, 2.0]),
])
def test_an_inf_or_nan_pixel_stays_local_as_pytorch(mode, size, row, expected):
    x = tinygan.tensor([[row]], dtype=tinygan.float32).unsqueeze(0)
    y = F.interpolate(x, size=size, mode=mode)
    np.testing.assert_array_equal(to_np(y)[0, 0, 0], np.array(expected, dtype=np.float32))


@settings(max_examples=60, deadline=None)
@given(shape=st.sampled_from([(2, 1, 3, 4), (1, 5, 2, 2), (2, 11, 3, 1), (1, 9, 4, 5),
                              (1, 2, 40, 35), (2, 3, 7), (1, 9, 1)]),
       scale=st.sampled_from([2.0, 3.0, 1.5, 2.5, 0.7, 1.3, 1.1, None]), align=st.booleans(),
       seed=st.integers(0, 10_000))
def test_linear_resampling_is_pytorch_bit_for_bit_in_float32(shape, scale, align, seed):
    """(Bi)linear resampling sums as PyTorch 2.13's CPU kernels do (their fused multiply-adds,
    their channel split, their coordinates in float32): bit for bit, so a value that is 0
    in exact arithmetic has PyTorch's sign, and a relu or clamp after it masks the same
    pixels (a differential-test finding). The plain taps form is the lesson; this is the
    arithmetic under it."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=shape), 2).astype(np.float32)
    size = None if scale else tuple(int(s) for s in rng.integers(1, 9, len(shape) - 2))
    mode = "bilinear" if len(shape) == 4 else "linear"
    kwargs = dict(size=size, scale_factor=scale, mode=mode, align_corners=align)
    try:
        theirs = torch.nn.functional.interpolate(torch.tensor(x), **kwargs).numpy()
    except RuntimeError:   # an output size of 0 (0.7 of one pixel): both refuse
        with pytest.raises((RuntimeError, ValueError), match="greater than 0|positive"):
            F.interpolate(tinygan.tensor(x), **kwargs)
        return
    ours = F.interpolate(tinygan.tensor(x), **kwargs).array
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("size", [(3, 5), (3, 3), (6, 2)])
def test_a_nan_gradient_stays_at_the_pixels_that_read_it(size):
    """A NaN output gradient (sqrt of a negative output) reaches only the input pixels its
    taps read: where a size does not change, PyTorch copies, both taps on the same pixel
    (weights 1 and 0), so the other rows stay finite (the differential tester, seed
    2806608: a 3-row image resized to 3 rows)."""
    x = tinygan.tensor([[[[0.4], [-0.83], [0.79]]]], requires_grad=True)
    y = tinygan.nn.functional.interpolate(x, size=size, mode="bilinear")
    with np.errstate(invalid="ignore"):
        (tinygan.sqrt(y) * 1.21).sum().backward()
    g = to_np(x.grad).ravel()
    assert np.isnan(g[1]) and np.isfinite(g[0]) == (size[0] == 3)
    if size[0] == 3:   # rows map one to one: row 2 reads only itself
        assert np.isfinite(g[2])


@st.composite
def _resampling_with_nonfinite(draw):
    mode = draw(st.sampled_from(["bilinear", "linear", "nearest"]))
    dims = 1 if mode == "linear" else 2
    shape = tuple(draw(st.integers(1, 2)) for _ in range(2)) + \
        tuple(draw(st.integers(1, 4)) for _ in range(dims))
    kw: dict = {"mode": mode}
    if mode != "nearest":
        kw["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        kw["size"] = tuple(draw(st.integers(1, 7)) for _ in range(dims))
    else:
        kw["scale_factor"] = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0]))
    dtype = "float32"   # (float64: see the test's docstring)
    where = draw(st.sampled_from(["x", "gy"]))
    bad = draw(st.sampled_from([np.inf, -np.inf, np.nan]))   # one kind: sums need no order
    return shape, kw, dtype, where, bad, draw(st.integers(0, 2 ** 31 - 1))


@settings(max_examples=200, deadline=None)
@given(_resampling_with_nonfinite())
def test_an_inf_or_nan_meets_the_zero_weights_as_in_pytorch(case):
    """PyTorch's linear kernels compute every tap, a weight of 0 included (w0 x0 + w1 x1, with
    the second tap on the next pixel, on the same one at the last pixel, and on the same one
    everywhere when the size does not change), so 0 * inf = NaN shows which pixels each
    reads, in the output and in the gradient. Whether a weight is exactly 0 depends on how
    the source coordinate s (o + 1/2) - 1/2 is rounded: float32 coordinates are rounded once
    (a fused multiply-add), as PyTorch's kernels do; for float64 data PyTorch mostly rounds
    twice, and tinygan does so, but 15 of 1,928 probes of its linear kernel (an inf at one
    pixel) show a once-rounded coordinate: float64 is left out here for that reason."""
    torch = pytest.importorskip("torch")
    shape, kw, dtype, where, bad, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    if where == "x":
        x[rng.random(shape) < 0.3] = bad
    found = []
    gy = None
    for fw in (torch, tinygan):
        xt = fw.tensor(x, requires_grad=True)
        try:
            y = fw.nn.functional.interpolate(xt, **kw)
        except (RuntimeError, ValueError):   # an empty output: both refuse it
            found.append("raised")
            continue
        if gy is None:
            gy = rng.standard_normal(tuple(y.shape)).astype(dtype)
            if where == "gy":
                gy[rng.random(gy.shape) < 0.3] = bad
        y.backward(fw.tensor(gy))
        found.append((y.detach().numpy(), xt.grad.numpy()))
    theirs_all, ours_all = found
    assert (ours_all == "raised") == (theirs_all == "raised")
    if ours_all == "raised":
        return
    for ours, theirs in zip(ours_all, theirs_all):
        assert np.array_equal(np.isnan(ours), np.isnan(theirs)), (ours, theirs)
        np.testing.assert_allclose(np.nan_to_num(ours), np.nan_to_num(theirs), rtol=1e-5,
                                   atol=1e-6)
