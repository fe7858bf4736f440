"""Backward formulas written as PyTorch writes them, checked where the writing shows.

Two formulas for one derivative agree on ordinary inputs and part at the boundaries: where a
norm, a standard deviation or a base is 0, where an input is NaN or -inf, and in the last
bits of float64. PyTorch's answer there (a NaN, a 0, a masked gradient) is the one a user
compares against, so tinygan writes the same formula in the same order. The generators
below draw inputs from a pool of boundary values and compare values, first and second
derivatives against PyTorch (issue 29's long runs found each of these classes).

The rest: views that PyTorch refuses (``view`` across a gap), and single behaviours the
differential tester found, each with the test that failed before its fix.
"""
from __future__ import annotations

import warnings

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygan

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")

BOUNDARY = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-3, 3.0, float("nan"), -float("inf")]


def values(shape: tuple) -> st.SearchStrategy:
    return st.lists(st.sampled_from(BOUNDARY), min_size=int(np.prod(shape)),
                    max_size=int(np.prod(shape))).map(
        lambda v: np.array(v, dtype=np.float64).reshape(shape))


def _run(lib, fn, x: np.ndarray, second: bool):
    """value, gradient and (with ``second``) the gradient of the squared gradient."""
    t = lib.tensor(x.tolist(), dtype=lib.float64, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(lib, t)
        g, = lib.autograd.grad((y * 1.5).sum(), [t], create_graph=second, allow_unused=True)
        out = [y.detach().numpy() if lib is torch else y.array, None if g is None else
               (g.detach().numpy() if lib is torch else g.array)]
        if second and g is not None and g.requires_grad:
            h, = lib.autograd.grad((g * g).sum(), [t], allow_unused=True)
            out.append(None if h is None else (h.numpy() if lib is torch else h.array))
    return out


def same_as_pytorch(fn, x: np.ndarray, second: bool = True) -> None:
    ours, theirs = _run(tinygan, fn, x, second), _run(torch, fn, x, second)
    assert len(ours) == len(theirs), (ours, theirs)
    for what, a, b in zip(("value", "gradient", "second derivative"), ours, theirs):
        assert (a is None) == (b is None), (what, a, b)
        if a is not None:
            np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                       rtol=1e-9, atol=1e-12, err_msg=f"{what} for {x!r}")


UNARY = {
    "relu": lambda L, t: L.relu(t),
    "reciprocal": lambda L, t: L.reciprocal(t),
    "2 / t": lambda L, t: 2 / t,
    "t / t": lambda L, t: t / (t * 1),
    "max()": lambda L, t: t.max(),
    "min()": lambda L, t: t.min(),
    "sqrt(max())": lambda L, t: L.sqrt(t.abs().max()),
    "sigmoid": lambda L, t: L.sigmoid(t),
    # PyTorch's pow shortcuts (sqrt, rsqrt, reciprocal, x*x, x*x*x, 1/(x*x)) against pow
    # itself, and pow with a tensor exponent of one repeated value, which NumPy shortcuts
    **{f"t ** {c}": (lambda L, t, c=c: t ** c) for c in (0.5, -0.5, -1.0, 2.0, 3.0, -2.0,
                                                          0.78, -0.31)},
    "t ** tensor(0.5)": lambda L, t: t ** L.tensor([0.5], dtype=L.float64),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(x=values((2, 2)))
@settings(max_examples=30, deadline=None)
def test_elementwise_and_extremes_at_the_boundaries(name, x):
    same_as_pytorch(UNARY[name], x)


@pytest.mark.parametrize("p", [-1, -2.5, 0.5, 1.5, 2, 3, 4.5])
@pytest.mark.parametrize("dim", [None, -1, 0])
@given(x=values((2, 3)).map(lambda a: np.where(np.isnan(a) | np.isinf(a) | (a == 1e-3), 0.0,
                                                a)))
@settings(max_examples=15, deadline=None)
def test_p_norms_and_their_masks(p, dim, x):
    """norm's backward has three forms (p < 1, 1 < p < 2, p > 2, and p = 2's own), each
    masking other zeros; sqrt after it turns a 0 norm into inf times that mask. (1e-3 is
    left out of the pool here: for p = -2.5 its second derivative sums terms of size
    |x|^(p-2) = 3e13 that cancel, and the two libraries' roundings part at 4e-8, relative.)"""
    same_as_pytorch(lambda L, t: L.sqrt(t.norm(p, dim=dim)), x)
    same_as_pytorch(lambda L, t: t.norm(p, dim=dim), x)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": 0}, {"dim": 1, "keepdim": True},
                                    {"dim": -1, "correction": 0}, {"correction": 5},
                                    {"dim": (0, 1), "correction": 2}])
@given(x=values((2, 2)).map(lambda a: np.where(np.isnan(a) | np.isinf(a), 0.5, a)),
       shape=st.sampled_from([(2, 2), (1, 2), (1, 1)]))
@settings(max_examples=15, deadline=None)
def test_var_and_std_backward_as_pytorch(op, kwargs, x, shape):
    """PyTorch's var_backward and std_backward (the latter masks std = 0 after dividing by
    it), so constant rows, single samples and too-large corrections give its NaNs and 0s."""
    x = x.reshape(-1)[:int(np.prod(shape))].reshape(shape)
    same_as_pytorch(lambda L, t: getattr(t, op)(**kwargs), x)


@pytest.mark.parametrize("op", ["var", "std"])
@pytest.mark.parametrize("kwargs", [{}, {"dim": -1}, {"dim": 0, "keepdim": True},
                                    {"dim": -1, "correction": 0}])
@pytest.mark.parametrize("x", [-1.09, 0.0])
def test_var_and_std_of_a_0d_tensor(op, kwargs, x):
    """A 0-d tensor's dim 0 or -1 is "all of it" to PyTorch's backward: with no degrees of
    freedom the gradient is a NaN factor that does not depend on x (so, under create_graph,
    it requires grad only when the incoming gradient does)."""
    same_as_pytorch(lambda L, t: getattr(t, op)(**kwargs), np.array(x))


@given(x=values((3,)), e=st.sampled_from([0.0, 1.0, 2.0, -1.0, 0.5]))
@settings(max_examples=40, deadline=None)
def test_pow_with_a_tensor_exponent(x, e):
    """d(a^b)/da is chosen as 0 where b = 0 (PyTorch's where), even at a = 0."""
    same_as_pytorch(lambda L, t: t ** L.tensor([e, 0.0, e], dtype=L.float64), x)


@given(p=st.lists(st.sampled_from([1e-3, 0.2, 0.5, 0.9, 0.999, 1e-7]), min_size=4,
                  max_size=4),
       t=st.lists(st.sampled_from([0.0, 1.0, 0.3, 0.75]), min_size=4, max_size=4),
       reduction=st.sampled_from(["mean", "sum", "none"]))
@settings(max_examples=40, deadline=None)
def test_binary_cross_entropy_second_derivative_puts_the_epsilon_where_pytorch_does(
        p, t, reduction):
    """PyTorch's double backward of BCE adds 1e-12 to p and 1 - p: for p = 1e-3 that moves the
    second derivative by 2e-9, relative, which float64 shows."""
    target = np.array(t)
    same_as_pytorch(lambda L, x: L.nn.functional.binary_cross_entropy(
        x, L.tensor(target, dtype=L.float64), reduction=reduction), np.array(p))


@given(x=values((2, 3)), label_smoothing=st.sampled_from([0.0, 0.1]))
@settings(max_examples=40, deadline=None)
def test_cross_entropy_takes_the_class_score_with_minus_inf_elsewhere(x, label_smoothing):
    """-inf logits (log of a 0 probability) elsewhere in a row must not make the loss NaN."""
    x = np.where(np.isnan(x), 0.0, x)
    same_as_pytorch(lambda L, t: L.nn.functional.cross_entropy(
        t, L.tensor([1, 0]), label_smoothing=label_smoothing, reduction="none"), x,
        second=False)


# ---- where PyTorch either answers or raises ------------------------------------------------
def _outcome(run, message: str):
    """run()'s result as an array, or "raises" when it raises a RuntimeError saying
    ``message``."""
    try:
        return np.asarray(run())
    except RuntimeError as error:
        assert message in str(error)
        return "raises"


def _same_outcome(ours, theirs, context) -> None:
    """Both raised, or both answered the same."""
    assert isinstance(ours, str) == isinstance(theirs, str), (context, ours, theirs)
    if not isinstance(ours, str):
        np.testing.assert_array_equal(ours, theirs)


# ---- view(): PyTorch gives a view or raises ---------------------------------------------
VIEW_STEPS = st.lists(st.sampled_from(["T", "permute", "slice", "step", "unsqueeze",
                                       "expand", "index"]), max_size=3)


def _cut(lib, t, steps):
    for step in steps:
        if step == "T" and t.ndim == 2:
            t = t.T
        elif step == "permute" and t.ndim >= 2:
            t = t.permute(*reversed(range(t.ndim)))
        elif step == "slice" and t.ndim and t.shape[0] > 1:
            t = t[1:]
        elif step == "step" and t.ndim and t.shape[-1] > 1:
            t = t[..., ::2]
        elif step == "unsqueeze":
            t = t.unsqueeze(1 if t.ndim else 0)
        elif step == "expand":
            t = t.unsqueeze(0).expand(2, *t.shape)
        elif step == "index" and t.ndim > 1:
            t = t[0]
    return t


@given(shape=st.sampled_from([(2, 3), (4,), (2, 2, 2), (3, 1, 2)]), steps=VIEW_STEPS,
       target=st.sampled_from(["flat", "split-last", "merge-first", "add-one"]))
@settings(max_examples=150, deadline=None)
def test_view_raises_exactly_where_pytorch_does(shape, steps, target):
    """reshape copies when it must; view promises the same memory, and PyTorch refuses it
    where the strides make that impossible (merging across a gap or an expanded dim)."""
    results = []
    for lib in (tinygan, torch):
        t = _cut(lib, lib.arange(float(np.prod(shape))).reshape(*shape), steps)
        dims = tuple(t.shape)
        new = {"flat": (-1,), "split-last": dims[:-1] + (1, dims[-1]) if dims else (1,),
               "merge-first": (-1,) + dims[2:] if len(dims) >= 2 else (-1,),
               "add-one": (1,) + dims}[target]
        results.append(_outcome(lambda: t.view(*new).tolist(), "view size is not compatible"))
    _same_outcome(*results, context=(steps, target))


# ---- single behaviours, each a test that failed before its fix ---------------------------
def test_fill_with_a_tensor_sends_the_gradient_to_it():
    for lib in (tinygan, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        w = lib.tensor(0.5, requires_grad=True)
        y = x * 1
        y.fill_(w)
        (y * lib.tensor([2.0, 3.0])).sum().backward()
        assert float(w.grad) == 5.0


def test_a_gradient_written_into_an_int_tensor_is_refused_with_what_to_write():
    """PyTorch marks the int tensor as requiring grad (its fill_ path) and its backward then
    stops at an internal assert; tinygan refuses up front."""
    v = tinygan.tensor([0, 1])
    w = tinygan.tensor(0.5, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        v[:] = w
    with pytest.raises(RuntimeError, match="detach"):
        v.fill_(w)
    with tinygan.no_grad():
        v[:] = w                    # no gradient recorded: just the value, as PyTorch
    assert v.tolist() == [0, 0] and not v.requires_grad


def test_cat_requires_grad_when_a_skipped_empty_tensor_does():
    empty = tinygan.tensor([], dtype=tinygan.float64, requires_grad=True)
    a = tinygan.tensor([[1.0, 2.0]], dtype=tinygan.float64, requires_grad=True)
    out = tinygan.cat([tinygan.zeros(0, 2, dtype=tinygan.float64), empty])
    assert out.requires_grad and out.shape == (0, 2)
    ga, ge = tinygan.autograd.grad(tinygan.cat([a, empty]).sum(), [a, empty])
    assert ga.tolist() == [[1.0, 1.0]] and ge.shape == (0,)


def test_matmul_result_is_not_a_view():
    """PyTorch's matmul reshapes its own result (_unsafe_view): writing into it later is a
    plain in-place write, whose overwritten values send their gradient nowhere."""
    x = tinygan.tensor([[0.3, 1.4], [-0.9, 0.2]], dtype=tinygan.float64)
    w = tinygan.tensor([0.3, 0.4], dtype=tinygan.float64, requires_grad=True)
    y = tinygan.matmul(x, w)
    assert y._base is None
    y.copy_(tinygan.tensor([1.0, 2.0], dtype=tinygan.float64))
    g, = tinygan.autograd.grad((1 / y).sum(), [w], create_graph=True)
    assert g.tolist() == [0.0, 0.0] and not g.requires_grad


def test_number_over_tensor_keeps_the_reciprocal_not_the_tensor():
    x = tinygan.tensor([0.74], dtype=tinygan.float64)
    y = tinygan.tensor([-0.58], dtype=tinygan.float64, requires_grad=True)
    v = x * y
    q = 3 / v
    v.pow_(2)                       # q's backward reads 1/v, kept before: no error
    q.sum().backward()
    assert y.grad.item() == pytest.approx(-3 / (0.74 * 0.58 ** 2))


def test_pow_keeps_its_result_and_its_operands_as_given():
    x = tinygan.tensor([1.5, 2.0], requires_grad=True)
    y = x ** tinygan.tensor([2.0, 3.0])
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    z = x.exp() * 1
    exponent = tinygan.tensor(2.0, dtype=tinygan.float64)
    z.pow_(exponent)
    exponent.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_backward_reads_what_a_node_kept_even_when_no_gradient_reaches_it():
    """PyTorch runs every node backward reaches (norm(0) sends no gradient, but addcmul's
    node still runs, and finds its kept operand changed)."""
    for call in ("backward", "grad"):
        v2 = tinygan.tensor([1.46])
        v4 = tinygan.tensor([0.57], requires_grad=True)
        v2.addcmul_(v2, v4, value=-1.01)
        loss = (v2.norm(0, keepdim=True) * -0.08).sum()
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            loss.backward() if call == "backward" else tinygan.autograd.grad(
                loss, [v4], allow_unused=True)


def test_a_view_written_in_place_before_its_base_required_grad_leads_back_to_it():
    v4 = tinygan.tensor([[-0.39]])
    v5 = v4[-1:, :, None]
    v5.clamp_(-0.93, 1.09)
    v4.requires_grad_()
    assert not v5.is_leaf and v5.requires_grad
    (v5 * 2).sum().backward()
    assert v4.grad.tolist() == [[2.0]]
    v7 = tinygan.tensor(0.0)
    v8 = v7[()]
    v7.requires_grad_()
    with tinygan.no_grad():
        v7.exp_()
    assert not v8.is_leaf          # asked for after the write: cut again, as PyTorch


def test_requires_grad_on_a_view_made_under_no_grad_makes_it_a_leaf_that_keeps_grad():
    v2 = tinygan.tensor([[1.4]], requires_grad=True)
    with tinygan.no_grad():
        v3 = v2[0]
    v3.requires_grad_()
    (v3 * 2).sum().backward()
    assert v3.grad.tolist() == [2.0] and v2.grad is None


def test_setitem_of_a_tensor_into_itself_with_new_axes_is_the_same_memory():
    for values, index in [([[-0.73, 0.65]], (None, slice(None))),
                          ([[[-0.1, 0.33]]], (slice(0, 1), None))]:
        for lib in (tinygan, torch):
            v = lib.tensor(values, dtype=lib.float64)
            v[index] = v            # PyTorch: the same memory, strides and all: allowed
            assert v.tolist() == values


def test_transposed_convolution_with_an_empty_output_as_pytorch_2_13():
    """An output of no rows or columns: PyTorch returns it empty where oneDNN runs the op
    (conv_padding_skip.pytorch_runs_onednn: float32 batches, groups, float16 on AVX512-FP16
    CPUs) and raises where its own kernel does. Every geometry below, in three dtypes, with
    and without the batch axis: the same shape or the same error, and a tensor of its own
    (not a view of the uncropped image) where PyTorch's is."""
    from tinygan.fast import batchnorm_kernel
    before = torch.get_num_threads()
    torch.set_num_threads(batchnorm_kernel.threads())   # (its rule counts the threads)
    rng = np.random.default_rng(0)
    differ = []
    try:
        for dtype, n, c, h, k, p, g, s, d, one in itertools.product(
                ("float32", "float64", "float16"), (0, 1, 2), (2, 4), (1, 2), (1, 2, 4),
                (0, 1, 2), (1, 2), (1, 2), (1, 2), (False, True)):
            x, w = rng.normal(size=(n, c, h, h + 1)), rng.normal(size=(c, 2, k, k))
            if one and n != 1:
                continue
            answers = []
            for lib, functional in ((tinygan, tinygan.nn.functional),
                                    (torch, torch.nn.functional)):
                try:
                    y = functional.conv_transpose2d(
                        lib.tensor(x[0] if one else x, dtype=getattr(lib, dtype)),
                        lib.tensor(w, dtype=getattr(lib, dtype)), padding=p, groups=g,
                        stride=s, dilation=d)
                except (RuntimeError, ValueError):   # (tinygan's conv checks raise ValueError)
                    answers.append("raises")
                    continue
                view = y._is_view() if lib is torch else y._base is not None
                answers.append((tuple(y.shape), view))
            if answers[0] != answers[1]:
                differ.append(((dtype, n, c, h, k, p, g, s, d, one), answers))
    finally:
        torch.set_num_threads(before)
    assert not differ, f"{len(differ)} differ, e.g. {differ[:3]}"


def test_random_like_an_empty_int_tensor_is_empty():
    out = tinygan.randn_like(tinygan.tensor([], dtype=tinygan.int64))
    assert out.shape == (0,) and out.dtype == np.int64


def test_grad_runs_only_the_nodes_behind_the_wanted_tensors():
    """grad() runs the nodes on a path to a wanted tensor: one behind a view made under
    no_grad (which gets no gradient) is not run, so what it kept may have changed."""
    for lib in (tinygan, torch):
        v3 = lib.tensor([[1.31, -0.44]], requires_grad=True)
        with lib.no_grad():
            v5 = v3[0]
        v6 = lib.tensor([-0.75])
        v7 = v6 * v5
        lib.nn.functional.leaky_relu(v6, 0.2, inplace=True)
        assert lib.autograd.grad((v7 * 2).sum(), [v3, v5], allow_unused=True) == (None, None)


def test_a_new_axis_has_pytorch_strides_so_a_tensor_written_into_itself_is_full_overlap():
    for lib in (tinygan, torch):
        v5 = lib.tensor(0.69)
        v5[None] = v5[None]        # the same memory, strides and all: allowed
        x = lib.tensor([1.0, 2.0, 3.0])
        v = x[1, None]
        v.mul_(10)                 # still a view after the new axis
        assert x.tolist() == [1.0, 20.0, 3.0]


def test_a_masked_fill_of_a_gradient_into_a_bool_tensor_is_refused():
    v = tinygan.tensor([True, True])
    with pytest.raises(RuntimeError, match="detach"):
        v[tinygan.tensor([False, True])] = tinygan.tensor([[-0.25]], requires_grad=True)


def test_resampling_an_empty_channel_raises_an_empty_batch_does_not():
    F = tinygan.nn.functional
    with pytest.raises(RuntimeError, match="Non-empty 4D data tensor expected"):
        F.interpolate(tinygan.zeros(1, 0, 1, 1), scale_factor=2, mode="nearest")
    assert F.interpolate(tinygan.zeros(0, 2, 3), scale_factor=2).shape == (0, 2, 6)


def test_batchnorm_gradient_through_a_permute_keeps_the_math_where_pytorch_2_13_does_not():
    """PyTorch 2.13's CPU BatchNorm backward misreads a gradient whose size-1 dims make its
    layout ambiguous: here bias.grad should be the per-channel sum of the incoming
    gradient, 2 * w = [4.1, -1.04, -0.42, -3.78], and PyTorch gives [1.53, -2.1, 1.53,
    -2.1] (its own v.grad is right). tinygan keeps the sum; the differential tester
    reports the program, and this test says which side is right."""
    w = tinygan.tensor([2.05, -0.52, -0.21, -1.89], dtype=tinygan.float64)
    x = tinygan.tensor([[[[-1.29, 1.63]], [[2.96, 1.69]], [[-1.51, -0.86]],
                         [[-1.63, -0.02]]]], dtype=tinygan.float64)
    bn = tinygan.nn.BatchNorm2d(4, dtype=tinygan.float64)
    (bn(x).permute(3, 0, 2, 1) * w).sum().backward()
    np.testing.assert_allclose(bn.bias.grad.array, 2 * w.array, rtol=1e-12)


@pytest.mark.parametrize("p", [-4, -1, 0.5, 1, 2, 3, float("inf")])
def test_half_precision_norms_are_computed_in_float32(p):
    """|x|^p overflows float16 (0.02^-4 = 6e6 > 65504); PyTorch works in float32 and rounds
    the norm once."""
    for x in ([[-0.02]], [[300.0, 400.0]], [[0.3, -0.2, 1e-3]]):
        ours = tinygan.tensor(x, dtype=tinygan.float16).norm(p)
        theirs = torch.tensor(x, dtype=torch.float16).norm(p)
        assert ours.dtype == np.float16 and float(ours) == float(theirs), (x, p)


def test_in_place_leaky_relu_keeps_its_result():
    """PyTorch's leaky_relu_ keeps its result for backward (not the input's old values):
    writing to it again before backward is refused, and a negative slope refuses there."""
    for lib in (tinygan, torch):
        v = lib.tensor([[-0.28]], requires_grad=True).clone()
        y = lib.nn.LeakyReLU(0.1, True)(v)
        y.pow_(lib.tensor(-0.62, requires_grad=True))
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
        w = lib.tensor([[-0.28, 0.5]], requires_grad=True) * 1
        out = lib.nn.functional.leaky_relu(w, -0.2, inplace=True)   # forward: fine
        with pytest.raises(RuntimeError, match="negative slope"):
            out.sum().backward()


@given(shape=st.sampled_from([(2, 3, 4), (3, 1, 4), (2, 2, 3, 4), (1, 4), (4,)]),
       order=st.permutations(range(4)), bias=st.booleans(), needs_grad=st.booleans())
@settings(max_examples=40, deadline=None)
def test_linear_keeps_its_input_or_a_copy_as_pytorch(shape, order, bias, needs_grad):
    """PyTorch's linear multiplies a 3-D or larger input through matmul, which keeps a copy
    when the input's rows cannot be a view (a transposed input): changing the input in place
    before backward is then fine. Elsewhere it keeps the input itself and refuses."""
    order = [d for d in order if d < len(shape)]
    results = []
    for lib in (tinygan, torch):
        base = lib.arange(float(np.prod(shape))).reshape(*shape)
        x = base.permute(*order) if len(order) > 1 else base
        x.requires_grad_(needs_grad)
        w = lib.ones(3, x.shape[-1], requires_grad=True)
        y = lib.nn.functional.linear(x, w, lib.zeros(3) if bias else None)
        with lib.no_grad():
            base.mul_(2)
        results.append(_outcome(lambda: (y.sum().backward(), w.grad.tolist())[1],
                                "modified by an inplace operation"))
    _same_outcome(*results, context=(shape, order))


def test_division_gradient_rounds_as_pytorch():
    """d(a/b)/db is -g ((a / b) / b) in PyTorch, bit for bit (-g a / (b b) rounds apart in
    half the cases), so a sum of gradients that cancels cancels alike."""
    rng = np.random.default_rng(0)
    a, b, g = (rng.normal(size=500).astype(np.float32) for _ in range(3))
    grads = []
    for lib in (tinygan, torch):
        ta, tb = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        grads.append([np.asarray(t.tolist()) for t in
                      lib.autograd.grad((ta / tb * lib.tensor(g)).sum(), [ta, tb])])
    for ours, theirs in zip(*grads):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("op", ["var", "std"])
@given(seed=st.integers(0, 10_000), dim=st.sampled_from([None, 0, 1]))
@settings(max_examples=20, deadline=None)
def test_half_var_and_std_differentiate_in_half_as_pytorch(op, seed, dim):
    """The value is computed in float32 and rounded once; the gradient's formula runs in
    half, as PyTorch's backward does (a float32 backward differs by 7% for close values)."""
    x = (0.5 + 0.01 * np.random.default_rng(seed).normal(size=(2, 3))).astype(np.float16)
    results = []
    for lib in (tinygan, torch):
        t = lib.tensor(x.tolist(), dtype=lib.float16, requires_grad=True)
        y = getattr(t, op)() if dim is None else getattr(t, op)(dim=dim)
        y.sum().backward()
        results.append((np.asarray(y.tolist(), np.float64), np.asarray(t.grad.tolist())))
    (y1, g1), (y2, g2) = results
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_allclose(g1, g2, rtol=2e-3, atol=2e-3)


NORM_SHAPES = [((1,), None), ((1, 3), 0), ((2, 1, 3), 1), ((1, 1), (0, 1)), ((1, 1), None),
               ((3, 1), None), ((1, 1, 2), (0, 1)), ((1, 2), 1), ((), None), ((0, 1), 1),
               ((2, 2), 1)]


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), 0.5, 0, "fro", -1.5, 1.5])
def test_norms_of_single_elements_and_special_values_as_pytorch(p):
    """A norm over dims of size 1 is PyTorch's |x| (no square: 2.3e29 does not overflow in
    float32, issue 29 with special values), while its derivatives stay the norm's (which
    may overflow there, as PyTorch's do). Values, first and second derivatives for 0, -0,
    NaN, inf, huge, tiny and ordinary values, every shape and keepdim."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    from tests.differential.execute import _values
    for value in (2.3e29, 0.0, -0.0, float("nan"), -3.0, 1e-30, float("inf")):
        for (shape, dim), keepdim, dtype in itertools.product(NORM_SHAPES, (False, True),
                                                              ("float32", "float64")):
            found = []
            for L in (torch, tinygan):
                x = L.full(shape, value, dtype=getattr(L, dtype), requires_grad=True)
                y = L.norm(x, p=p) if dim is None else L.norm(x, p=p, dim=dim,
                                                              keepdim=keepdim)
                (g,) = L.autograd.grad(y.sum(), [x], create_graph=True, allow_unused=True)
                (h,) = L.autograd.grad((g * g).sum(), [x], allow_unused=True) \
                    if g is not None and g.requires_grad else (None,)
                found.append([None if t is None else
                              np.nan_to_num(np.asarray(_values(t), dtype=float), nan=7.0)
                              for t in (y, g, h)])
            for ours, theirs in zip(*found):
                assert (ours is None) == (theirs is None)
                if ours is not None:
                    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7,
                                               err_msg=f"{value} {shape} {dim} {dtype}")


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "bool",
                                   "float16", "float32", "float64"])
def test_pow_by_a_tensor_differentiated_twice_as_pytorch(dtype):
    """x ** b with b a tensor of every dtype, both derivatives: PyTorch's backward takes
    b - 1 in b's own dtype (a uint8 0 - 1 is 255, and x^255 overflows where the gradient is
    chosen 0: NaN in the second derivative, long run 4955749), and refuses a bool b."""
    base = [[-0.82, 3.12, 0.0], [1.5, -2.0, 0.5]]
    exponents = {"bool": [True, False, True]}.get(dtype, [0, 1, 2] if dtype[0] == "u"
                                                   else [0, -1, 2])
    answers = []
    for lib in (tinygan, torch):
        x = lib.tensor(base, dtype=lib.float32, requires_grad=True)
        b = lib.tensor(exponents, dtype=getattr(lib, dtype))
        try:
            y = lib.pow(x * 2, b)
            g, = lib.autograd.grad((y * lib.tensor([0.01, -0.05, 0.3])).sum(), x,
                                   create_graph=True)
            h, = lib.autograd.grad((g * g).sum(), x)
        except RuntimeError:
            answers.append("raises")
            continue
        answers.append([t.detach().numpy() if lib is torch else t.numpy() for t in (y, g, h)])
    if "raises" in answers:
        assert answers[0] == answers[1]
        return
    for ours, theirs in zip(*answers):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_bce_with_logits_is_pytorchs_formula_in_the_tails(dtype):
    """binary_cross_entropy_with_logits as PyTorch writes it, (1 - t) x - log sigma(x):
    where log sigma(x) rounds to x (x = -184.28, t = 0) the loss is 0 in both (long run
    9506892: tinygan's other association gave 9.3e-81). 20,000 drawn logits of spread 30,
    a quarter with 0/1 targets: exactly the same zeros, the rest within the dtype's last
    bits (float64), or of the terms that cancel, (1 - t) x and log sigma(x) (float32, whose
    exp and log1p are SLEEF's in PyTorch)."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 30, 20000), [-184.28, 20.0, -20.0, 0.0, -745.0, 800.0]])
    t = np.concatenate([rng.uniform(0, 1, 20000), [0.0, 1.0, 0.0, 0.5, 0.0, 0.0]])
    t[:5000] = np.round(t[:5000])
    ours = tinygan.nn.functional.binary_cross_entropy_with_logits(
        tinygan.tensor(x, dtype=getattr(tinygan, dtype)),
        tinygan.tensor(t, dtype=getattr(tinygan, dtype)), reduction="none").numpy()
    theirs = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.tensor(x, dtype=getattr(torch, dtype)),
        torch.tensor(t, dtype=getattr(torch, dtype)), reduction="none").numpy()
    assert ((ours == 0) == (theirs == 0)).all()
    if dtype == "float64":
        np.testing.assert_allclose(ours, theirs, rtol=2e-15, atol=0)
    if dtype == "float32":   # 4 units in the last place of the larger term
        bound = 4 * np.finfo(np.float32).eps * (np.abs(x) + 1)
        assert (np.abs(ours.astype(np.float64) - theirs) <= bound).all()


def test_a_batched_products_small_operand_sums_its_gradient_in_one_product_as_pytorch():
    """Long run 5045861: v3 (2, 2) @ v1 (4, 2, 2, 2), v1 holding -inf and -1e30, and an
    upstream gradient near 1e30. PyTorch folds v1's batch into one matrix, so v3's gradient
    is one product over all 16 rows: sum_i g_i @ v1_i^T = [g_0 g_1 ...] @ [v1_0^T; v1_1^T ...].
    tinygan summed one product per batch and then the batch, inf + -inf: NaN. Now one
    product, as PyTorch's. Where an overflowing 1e30 * 1e30 meets the -inf, the BLAS decides
    the element (MKL on an Intel Xeon: -inf, absorbed by a fused multiply-add; on an AMD EPYC:
    NaN; OpenBLAS here: inf), so the finite elements are compared with PyTorch's (to the two
    last bits its BLAS's order decides) and all of them with that one product, computed
    directly."""
    big = np.array([[[[-0.72, 0.57], [0.26, 1.68]], [[-1.98, -np.inf], [-0.21, -0.45]]],
                    [[[-0.19, -0.68], [-1.22, -0.43]], [[-0.09, -0.71], [-0.61, 0.32]]],
                    [[[1.64, -0.99], [-0.57, -0.81]], [[0.97, -1e30], [-1.68, -1.36]]],
                    [[[1.1, 0.4], [0.92, -0.46]], [[1.08, -0.79], [0.62, 0.65]]]])
    small = np.array([[-0.37, -0.46], [1.01, 0.6]])
    upstream = np.array([[-0.48], [0.0], [1e30]])           # a column times each result
    weights = np.random.default_rng(5045861).uniform(-1, 1, (4, 2, 2, 3, 2)).round(2)
    grads = []
    for lib in (tinygan, torch):
        a = lib.tensor(small.tolist(), dtype=lib.float32, requires_grad=True)
        b = lib.tensor(big.tolist(), dtype=lib.float32, requires_grad=True)
        with np.errstate(all="ignore"):
            product = a @ b
            product.retain_grad()
            y = lib.matmul(lib.tensor(upstream.tolist(), dtype=lib.float32),
                           lib.unsqueeze(product, 3))
            (y * lib.tensor(weights.tolist(), dtype=lib.float32)).sum().backward()
        grads.append(np.array(a.grad.tolist()))
        if lib is tinygan:   # the one product, from tinygan's gradient of a @ b
            g = np.array(product.grad.tolist(), dtype=np.float32).reshape(-1, 2, 2)
            folded_g = np.concatenate(list(g), axis=1)                        # (2, 32)
            folded_b = np.concatenate([m.T for m in big.astype(np.float32).reshape(-1, 2, 2)])
            with np.errstate(all="ignore"):
                one_product = folded_g @ folded_b                             # (2, 2)
    np.testing.assert_array_equal(grads[0], one_product)
    finite = np.isfinite(grads[1])   # (to the last bits, which the BLAS's order decides)
    np.testing.assert_array_max_ulp(grads[0][finite].astype(np.float32),
                                    grads[1][finite].astype(np.float32), maxulp=2)
