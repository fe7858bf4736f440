"""split / chunk / unbind / narrow (engine/pieces.py), repeat (engine/tiling.py), expand's
checks, contiguous, and F.pad with its layers (engine/padding.py, nn/padding.py).

Generators draw the calls a user could write - shapes with empty and size-1 dims, every
mode, negative and oversized pads, ints and floats, dims out of range - and run each in
tinygan and PyTorch: both raise, or both give the same values, dtype, shape, first and
second derivatives. The multi-view rule (a piece of split may not be written in place while
autograd records) is checked on a table of programs against PyTorch's outcome. gradcheck
and gradgradcheck run without PyTorch."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan
import tinygan.nn as tnn
import tinygan.nn.functional as TF

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True)


def _outcome(lib, build, array, dtype, differentiable):
    """Run ``build(lib, x)``: ('raise', exception type) or the values, dtype, and for float
    inputs the first derivative of sum(y * w) with a fixed w, whether it requires grad, and
    the second derivative through it."""
    kind = "float64" if dtype == "float64" else dtype
    x = lib.tensor(array.astype(kind), requires_grad=differentiable)
    try:
        y = build(lib, x)
    except (RuntimeError, ValueError, IndexError, TypeError, NotImplementedError) as e:
        return ("raise", type(e).__name__)
    out = [np.asarray(y.detach().numpy() if hasattr(y, "detach") else y.numpy()),
           str(y.dtype).replace("torch.", ""), tuple(y.shape)]
    if differentiable and y.requires_grad and y.numel():
        w = lib.tensor(np.linspace(-1.5, 2.0, y.numel()).reshape(tuple(y.shape)).astype(kind))
        # sum(y * w): linear in x, so whether its gradient requires grad is the link
        # PyTorch's backward node makes (reflect/replicate padding's reads x), not the math
        g, = lib.autograd.grad((y * w).sum(), [x], create_graph=True)
        out += [g.requires_grad, g.detach().numpy()]
        if g.requires_grad:
            out.append(lib.autograd.grad((g * g).sum(), [x])[0].numpy())
    return out


def _agree(theirs, ours, dtype):
    raised = [isinstance(r[0], str) for r in (theirs, ours)]
    if any(raised):
        assert all(raised), f"PyTorch: {theirs[:2]}, tinygan: {ours[:2]}"
        return
    assert ours[1:4] == theirs[1:4], f"dtype/shape/requires_grad of the gradient " \
                                     f"{ours[1:4]} vs PyTorch's {theirs[1:4]}"
    assert len(ours) == len(theirs), "one library gave gradients, the other none"
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == "float64" else dict(rtol=1e-5, atol=1e-6)
    for a, b in zip(ours[4:] + [ours[0]], theirs[4:] + [theirs[0]]):
        np.testing.assert_allclose(np.asarray(a, dtype=np.float64),
                                   np.asarray(b, dtype=np.float64), **tol)


@st.composite
def tensors(draw, min_dims=0, max_dims=4):
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=min_dims, max_size=max_dims)))
    dtype = draw(st.sampled_from(["float32", "float64", "float64", "int64", "bool"]))
    values = np.round(np.random.default_rng(draw(st.integers(0, 999))).normal(size=shape), 2)
    return (values > 0 if dtype == "bool" else values), dtype


# ---- F.pad --------------------------------------------------------------------------------
@st.composite
def pad_calls(draw):
    values, dtype = draw(tensors(0, 5))
    mode = draw(st.sampled_from(["constant", "constant", "reflect", "replicate", "circular"]))
    length = draw(st.sampled_from([0, 1, 2, 2, 4, 4, 6]))
    pads = tuple(draw(st.lists(st.integers(-3, 4), min_size=length, max_size=length)))
    value = draw(st.sampled_from([None, None, 1.5, -2.0])) if mode == "constant" else \
        draw(st.sampled_from([None, None, None, 1.0]))
    return values, dtype, mode, pads, value


@SETTINGS
@given(call=pad_calls())
def test_pad_matches_pytorch(torch, call):
    values, dtype, mode, pads, value = call

    def build(lib, x):
        F = tinygan.nn.functional if lib is tinygan else torch.nn.functional
        return F.pad(x, pads, mode=mode, value=value)
    differentiable = dtype.startswith("float")
    ours = _outcome(tinygan, build, values, dtype, differentiable)
    pairs = [(pads[k], pads[k + 1], values.shape[-1 - k // 2]) for k in range(0, len(pads), 2)
             if len(pads) % 2 == 0 and len(pads) <= 2 * values.ndim]
    if mode == "circular" and any(max(a, 0) > n + min(a, 0) + min(b, 0) or
                                  max(b, 0) > n + min(a, 0) + min(b, 0) for a, b, n in pairs):
        # wrapping past what the cuts leave: PyTorch 2.13 returns memory it never wrote
        # (or raises); tinygan refuses
        assert isinstance(ours[0], str), "circular padding past the cut input must raise"
        return
    _agree(_outcome(torch, build, values, dtype, differentiable), ours, dtype)


def test_circular_padding_past_the_cuts_is_refused():
    with pytest.raises(RuntimeError, match="wrapping around"):
        TF.pad(tinygan.tensor([[0.0, 1.0, 2.0]]), (2, -2), mode="circular")


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_passes_gradcheck(mode):
    x = tinygan.tensor(np.random.default_rng(1).normal(size=(2, 2, 3, 4)), requires_grad=True)
    pads = (2, 1, -1, 2) if mode != "reflect" else (2, 1, 0, 2)
    f = lambda t: TF.pad(t, pads, mode=mode)   # noqa: E731
    assert tinygan.gradcheck(f, (x,))
    assert tinygan.gradgradcheck(f, (x,))


def test_reflection_pad_adds_a_border_pixels_gradients():
    """[a b c] reflected by 1 is [b a b c b]: b's gradient is its own plus both mirrors'."""
    x = tinygan.tensor([[[1.0, 2.0, 3.0]]], requires_grad=True)
    y = TF.pad(x, (1, 1), mode="reflect")
    assert y.tolist() == [[[2.0, 1.0, 2.0, 3.0, 2.0]]]
    (y * tinygan.tensor([10.0, 1.0, 100.0, 1.0, 1000.0])).sum().backward()
    assert x.grad.tolist() == [[[1.0, 1110.0, 1.0]]]


def test_pad_result_is_a_copy_and_int_fill_is_cast():
    x = tinygan.tensor([1, 2])
    y = TF.pad(x, (0, 0))
    y.add_(5)
    assert x.tolist() == [1, 2]
    assert TF.pad(x, (1, 1), value=2.5).tolist() == [2, 1, 2, 2]


def test_padding_layers_match_pytorch(torch):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    for name, args in [("ZeroPad2d", ((1, 0, 2, 1),)), ("ZeroPad2d", (1,)),
                       ("ConstantPad2d", (2, 3.5)), ("ReflectionPad2d", (3,)),
                       ("ReplicationPad2d", ((1, 2, 0, 3),)), ("CircularPad2d", (2,)),
                       ("ReflectionPad1d", (2,)), ("ReplicationPad1d", ((0, 3),)),
                       ("ZeroPad1d", (2,)), ("ConstantPad1d", ((1, 2), -1.0))]:
        ours, theirs = getattr(tnn, name)(*args), getattr(torch.nn, name)(*args)
        assert repr(ours) == repr(theirs)
        inp = x if name.endswith("2d") else x[0]
        np.testing.assert_array_equal(ours(tinygan.tensor(inp)).numpy(),
                                      theirs(torch.tensor(inp)).numpy())


def test_cyclegan_residual_block_trains_through_reflection_padding(torch):
    """CycleGAN's residual block (ReflectionPad2d, Conv2d, InstanceNorm-free here), one
    step, against PyTorch with the same weights."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 6, 6)).astype(np.float32)
    w = rng.normal(size=(3, 3, 3, 3)).astype(np.float32) * 0.2

    def run(lib):
        block = lib.nn.Sequential(lib.nn.ReflectionPad2d(1), lib.nn.Conv2d(3, 3, 3), lib.nn.ReLU())
        with lib.no_grad():
            block[1].weight.copy_(lib.tensor(w))
            block[1].bias.zero_()
        xin = lib.tensor(x, requires_grad=True)
        out = (xin + block(xin)).pow(2).mean()
        out.backward()
        return out.item(), xin.grad.numpy(), block[1].weight.grad.numpy()

    for a, b in zip(run(tinygan), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ---- split, chunk, unbind, narrow ----------------------------------------------------------
@st.composite
def cut_calls(draw):
    values, dtype = draw(tensors(0, 3))
    op = draw(st.sampled_from(["split", "split_sizes", "chunk", "unbind", "narrow"]))
    dim = draw(st.integers(-4, 3))
    n = values.shape[dim] if -values.ndim <= dim < values.ndim else 2
    if op == "split":
        args = (draw(st.integers(-1, n + 1)), dim)
    elif op == "split_sizes":
        k = draw(st.integers(0, 3))
        sizes = draw(st.lists(st.integers(-1, n), min_size=k, max_size=k))
        if sizes and draw(st.booleans()):
            sizes[-1] = n - sum(sizes[:-1])   # usually a valid split
        args = (sizes, dim)
    elif op == "chunk":
        args = (draw(st.integers(-1, n + 2)), dim)
    elif op == "unbind":
        args = (dim,)
    else:
        args = (dim, draw(st.integers(-n - 1, n + 1)), draw(st.integers(-1, n + 1)))
    return values, dtype, op, args, draw(st.booleans())


@SETTINGS
@given(call=cut_calls())
def test_pieces_match_pytorch(torch, call):
    values, dtype, op, args, as_function = call

    def build(lib, x):
        name = "split" if op == "split_sizes" else op
        pieces = getattr(lib, name)(x, *args) if as_function else getattr(x, name)(*args)
        if op == "narrow":
            return pieces
        assert type(pieces) is tuple
        if not pieces:
            return lib.zeros(0)
        flat = [p.reshape(-1) * (k + 1) for k, p in enumerate(pieces)]   # order shows
        return lib.cat(flat + [lib.tensor([float(len(pieces))], dtype=flat[0].dtype)])
    differentiable = dtype.startswith("float")
    _agree(_outcome(torch, build, values, dtype, differentiable),
           _outcome(tinygan, build, values, dtype, differentiable), dtype)


def test_pieces_are_views_of_their_tensor():
    x = tinygan.arange(6.0).reshape(2, 3)
    a, b = x.split([1, 2], dim=1)
    b[0, 0] = 100.0                      # no autograd involved: allowed, and x sees it
    assert x[0, 1].item() == 100.0
    x.narrow(0, 1, 1).zero_()
    assert x.tolist() == [[0.0, 100.0, 2.0], [0.0, 0.0, 0.0]]
    assert a._base is x._base and b._base is x._base


# Programs around the multi-view rule; each is run in both libraries, which must agree on
# raising. (x requires grad; y = x * 1 is a non-leaf that does.)
MULTI_VIEW_PROGRAMS = {
    "in place on a piece": "p, q = y.chunk(2); p.mul_(2)",
    "setitem on a piece": "p, q = y.chunk(2); p[0] = 5.0",
    "in place on a view of a piece": "p, q = y.split(2); p[0:1].mul_(2)",
    "in place on an unbind piece": "p = y.unbind(0)[1]; p.mul_(2)",
    "split of one piece": "p, = y.split(4); p.add_(1)",
    "narrow is a plain view": "p = y.narrow(0, 1, 2); p.mul_(2); r = y * 1",
    "detached piece": "p, q = y.chunk(2); p.detach().mul_(2); r = y * 1",
    "piece used after the base changed": "p, q = y.chunk(2); y.mul_(2); r = p * 2",
    "sibling used after a no_grad write":
        "p, q = y.chunk(2)\nwith lib.no_grad():\n    p.mul_(2)\nr = q * 2",
    "base still usable after the base changed": "p, q = y.chunk(2); y.mul_(2); r = y * 2",
    "piece of a constant, written": "z = lib.ones(4); p, q = z.chunk(2); p.mul_(2); r = z * 1",
    "piece of a constant, given a gradient": "z = lib.ones(4); p, q = z.chunk(2); p.mul_(x[:2])",
    "piece of a constant after the base got one":
        "z = lib.ones(4); p, q = z.chunk(2); z.mul_(x); r = p * 2",
    "piece made under no_grad, written with grad":
        "with lib.no_grad():\n    p, q = y.chunk(2)\np.mul_(2)",
    "piece read after its base was detached and written": "p, q = y.chunk(2); r = p.sum()",
    "a view of a piece that was given requires_grad, written":   # (seed 2903961)
        "z = lib.ones(2, 1); p, q = lib.unbind(z, 0); p.requires_grad_(); p[None, ::2].fill_(4.0)",
}


@pytest.mark.parametrize("name", sorted(MULTI_VIEW_PROGRAMS))
def test_multi_view_rule_as_pytorch(torch, name):
    outcomes = []
    for lib in (torch, tinygan):
        ns = {"lib": lib, "x": lib.tensor([1.0, -2.0, 3.0, 0.5], requires_grad=True)}
        ns["y"] = ns["x"] * 1
        try:
            exec(MULTI_VIEW_PROGRAMS[name], ns)
            outcomes.append(("ok", ns["y"].detach().numpy().tolist()))
        except RuntimeError:
            outcomes.append(("raise",))
    assert outcomes[0] == outcomes[1]


def test_multi_view_error_says_what_to_write():
    y = tinygan.tensor([1.0, 2.0], requires_grad=True) * 1
    p, _ = y.chunk(2)
    with pytest.raises(RuntimeError, match=r"chunk.*\.clone\(\)"):
        p.mul_(2)


@pytest.mark.parametrize("f", [
    lambda t: tinygan.cat([p * (k + 2) for k, p in enumerate(t.chunk(3, 1))], 1),
    lambda t: t.split([1, 3], dim=1)[1].exp(),
    lambda t: tinygan.stack([p.sin() if hasattr(p, "sin") else p * p for p in t.unbind(0)]),
    lambda t: t.narrow(1, 1, 2) * t.narrow(1, 2, 2),
    lambda t: t.repeat(2, 1, 3) * t.repeat(2, 1, 3),
    lambda t: t.t().contiguous().view(-1) ** 2,
], ids=["chunk", "split", "unbind", "narrow", "repeat", "contiguous"])
def test_cuts_pass_gradcheck(f):
    x = tinygan.tensor(np.random.default_rng(2).normal(size=(2, 4)), requires_grad=True)
    assert tinygan.gradcheck(f, (x,))
    assert tinygan.gradgradcheck(f, (x,))


# ---- repeat, expand, contiguous ----------------------------------------------------------
@st.composite
def repeat_calls(draw):
    values, dtype = draw(tensors(0, 3))
    k = draw(st.integers(0, 5))
    return values, dtype, tuple(draw(st.lists(st.integers(-1, 3), min_size=k, max_size=k)))


@SETTINGS
@given(call=repeat_calls())
def test_repeat_matches_pytorch(torch, call):
    values, dtype, reps = call
    differentiable = dtype.startswith("float")
    _agree(_outcome(torch, lambda lib, x: x.repeat(*reps) if reps else x.repeat(()), values,
                    dtype, differentiable),
           _outcome(tinygan, lambda lib, x: x.repeat(*reps) if reps else x.repeat(()), values,
                    dtype, differentiable), dtype)


@st.composite
def expand_calls(draw):
    values, dtype = draw(tensors(0, 3))
    k = draw(st.integers(0, 4))
    sizes = draw(st.lists(st.integers(-2, 4), min_size=k, max_size=k))
    if draw(st.booleans()):   # often a valid target: the shape itself, with 1s stretched
        lead = draw(st.lists(st.integers(0, 3), max_size=2))
        sizes = lead + [draw(st.sampled_from([n, -1, 3])) if n == 1 else
                        draw(st.sampled_from([n, -1])) for n in values.shape]
    return values, dtype, tuple(sizes)


@SETTINGS
@given(call=expand_calls())
def test_expand_matches_pytorch(torch, call):
    values, dtype, sizes = call
    differentiable = dtype.startswith("float")
    _agree(_outcome(torch, lambda lib, x: x.expand(*sizes) * 1, values, dtype, differentiable),
           _outcome(tinygan, lambda lib, x: x.expand(*sizes) * 1, values, dtype,
                    differentiable), dtype)


def test_contiguous_is_itself_or_a_row_major_copy():
    x = tinygan.arange(6.0).reshape(2, 3)
    assert x.is_contiguous() and x.contiguous() is x
    t = x.t()
    assert not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.tolist() == t.tolist()
    c[0, 0] = 50.0
    assert x[0, 0].item() == 0.0     # a copy
    assert not x.expand(2, 2, 3).is_contiguous()


def test_empty_repeat_written_in_place_backpropagates():
    """An empty result is not an expanded tensor (found by the differential tester: the
    in-place write's backward refused it)."""
    x = tinygan.tensor([[[0.02]]], dtype=tinygan.float64, requires_grad=True)
    v = x.repeat(1, 2, 0).transpose(0, 1)
    v.clamp_(-1.6, -0.75)
    (v * tinygan.zeros(1, 1, 0, dtype=tinygan.float64)).sum().backward()
    assert x.grad.tolist() == [[[0.0]]]


def test_one_hot_of_a_large_label_allocates_only_its_result():
    """one_hot built an identity matrix of num_classes^2 (5 TB for a label of 823,543)."""
    y = TF.one_hot(tinygan.tensor([0, 823543]))
    assert y.shape == (2, 823544) and int(y.sum()) == 2 and y[1, 823543].item() == 1


def test_circular_padding_layers_check_their_input_dims():
    """CircularPad2d wants 3-D or 4-D input, as PyTorch's (the other padding layers leave the
    check to F.pad): found by the differential tester, seed 2607979."""
    with pytest.raises(ValueError, match="expected 3D or 4D input"):
        tnn.CircularPad2d((0, 1))(tinygan.zeros(1, 2))
    assert tnn.CircularPad1d(1)(tinygan.zeros(1, 2)).shape == (1, 4)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
@pytest.mark.parametrize("dims", [1, 2])
def test_writing_the_padded_tensor_before_backward_as_pytorch(torch, mode, dims):
    """Reflect and replicate padding keep their input for backward (PyTorch's one node reads
    it): writing it in place before backward is refused; circular and constant padding keep
    nothing, so the write is fine (seed 3202120 of issue 29's long run)."""
    outcomes = []
    for fw, F in ((tinygan, TF), (torch, torch.nn.functional)):
        leaf = fw.tensor(np.arange(1.0, 1.0 + 3 ** (dims + 1)).reshape((1, 3) + (3,) * dims),
                         requires_grad=True)
        x = leaf * 1.0
        y = F.pad(x, (1, 2) * dims, mode=mode)
        x.fill_(0.5)
        try:
            y.sum().backward()
            outcomes.append(("ran", leaf.grad.tolist()))
        except RuntimeError as error:
            outcomes.append(("raised", "modified by an inplace operation" in str(error)))
    assert outcomes[0] == outcomes[1]


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular", "constant"])
def test_padded_results_are_laid_out_as_pytorchs(torch, mode):
    """PyTorch pads a channels-last image into a channels-last result (constant, reflect,
    replicate), everything else into a row-major one: is_contiguous() tells them apart
    (seed 3215219 of issue 29's long run: a 1-D reflection pad of a (C, W) tensor)."""
    cases = [((2, 4, 5, 3), (0, 3, 1, 2)), ((2, 3, 4, 5), (0, 1, 2, 3)), ((2, 4, 3), (0, 2, 1)),
             ((4, 3), (1, 0)), ((2, 2), (0, 1)), ((3, 1, 1, 2), (0, 3, 1, 2)),
             ((1, 4, 5, 3), (0, 3, 1, 2)), ((2, 5, 4, 3), (0, 3, 2, 1))]
    for shape, order in cases:
        a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
        pad = (1, 1, 1, 1) if len(shape) == 4 else (1, 1)
        if mode == "reflect" and min(a.transpose(order).shape[-len(pad) // 2:]) < 2:
            continue    # (reflection needs 2 pixels a side)
        found = []
        for fw, F in ((tinygan, TF), (torch, torch.nn.functional)):
            y = F.pad(fw.tensor(a).permute(*order), pad, mode=mode)
            found.append((y.is_contiguous(), y.tolist()))
        assert found[0] == found[1], (shape, order)
