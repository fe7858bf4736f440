"""Each op's result laid out in memory as PyTorch lays it out, on random layouts.

The values never depend on the layout, but a program can see it: ``is_contiguous()``
answers, and ``view()`` works on one layout and raises on another. PyTorch's rules
(engine/layout.py): reductions, softmax, topk and matrix products give row-major results;
elementwise ops follow their operands (TensorIterator's order, broadcast dims passed
over); clone and sort keep a dense input's strides (empty_like), and order a sliced or
expanded one's by its strides; cat is channels-last when every input is, else row-major;
stack is cat and a split; a gather index (x[[0, 2]], x[mask]) orders the result by
TensorIterator over x and the index tensors; a view gives a size-1 dim PyTorch's stride
(never read by the view itself, but read by these rules). The strategy draws a tensor of 2-4 dims (sizes 1-3, float32 or
float64), permuted, sliced with steps, sometimes made channels-last or expanded, and runs
every op below on it in both libraries: the strides must agree on every dim longer than 1
(a size-1 dim's stride is never read). Found, before the fix: 29 of these ops differed.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan
import tinygan.nn.functional as GF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _lib(x):
    return (tinygan, GF) if isinstance(x, tinygan.Tensor) else (torch, TF)


OPS = {
    # reductions (row-major in PyTorch, whatever the input's strides)
    "sum": lambda x, d, k: x.sum(d, keepdim=k),
    "sum over two dims": lambda x, d, k: x.sum((0, d), keepdim=k),
    "mean": lambda x, d, k: x.mean(d, keepdim=k),
    "amax": lambda x, d, k: x.amax(d, keepdim=k),
    "amin over two dims": lambda x, d, k: x.amin((0, d), keepdim=k),
    "max values": lambda x, d, k: x.max(d, keepdim=k)[0],
    "max indices": lambda x, d, k: x.max(d, keepdim=k)[1],
    "argmin": lambda x, d, k: x.argmin(d, keepdim=k),
    "std": lambda x, d, k: x.std(d, keepdim=k),
    "var": lambda x, d, k: x.var(d, keepdim=k),
    "norm": lambda x, d, k: x.norm(dim=d, keepdim=k),
    "norm p=1": lambda x, d, k: x.norm(1, d, keepdim=k),
    "norm p=3": lambda x, d, k: x.norm(3, d, keepdim=k),
    "norm p=inf": lambda x, d, k: x.norm(float("inf"), d, keepdim=k),
    "all": lambda x, d, k: (x > 0).all(d, keepdim=k),
    "any": lambda x, d, k: (x > 0).any(d, keepdim=k),
    # along a dim
    "softmax": lambda x, d, k: x.softmax(d),
    "log_softmax": lambda x, d, k: _lib(x)[1].log_softmax(x, d),
    "sort values": lambda x, d, k: x.sort(d)[0],
    "sort indices": lambda x, d, k: x.sort(d, descending=True)[1],
    "topk values": lambda x, d, k: x.topk(1, d)[0],
    "topk indices": lambda x, d, k: x.topk(1, d)[1],
    "flip": lambda x, d, k: x.flip(d),
    # matrix products
    "matmul": lambda x, d, k: x @ x.transpose(-1, -2),
    "linear": lambda x, d, k: _lib(x)[1].linear(x, _lib(x)[0].ones(3, x.shape[-1])),
    # joins
    "cat": lambda x, d, k: _lib(x)[0].cat([x, x], d),
    "stack": lambda x, d, k: _lib(x)[0].stack([x, x], d),
    # elementwise, built by NumPy or by tinygan itself
    "exp": lambda x, d, k: x.exp(),
    "add a scalar": lambda x, d, k: 1 - x,
    "add with alpha": lambda x, d, k: _lib(x)[0].add(x, x * 2, alpha=0.5),
    "lerp": lambda x, d, k: _lib(x)[0].lerp(x, x * 2, 0.3),
    "addcmul": lambda x, d, k: x.clone().addcmul_(x, x, value=0.5),
    "where": lambda x, d, k: _lib(x)[0].where(x > 0, x, 0.0),
    "clamp by a tensor": lambda x, d, k: x.clamp(min=x * 0.5),
    "cast": lambda x, d, k: x.long(),
    "leaky_relu": lambda x, d, k: _lib(x)[1].leaky_relu(x, 0.2),
    "mse_loss, no reduction": lambda x, d, k: _lib(x)[1].mse_loss(x, x * 0.5, reduction="none"),
    "pad": lambda x, d, k: _lib(x)[1].pad(x, (1, 0)),
    # padding that only cuts, or does nothing, is a clone of the cut input (long run
    # 5083063: (0, 0) of a transposed matrix came out row-major)
    "pad by nothing": lambda x, d, k: _lib(x)[1].pad(x, (0, 0), value=1.5),
    "pad that cuts": lambda x, d, k: _lib(x)[1].pad(x, (0, -1, -1, 0)),
    "pad that cuts and pads": lambda x, d, k: _lib(x)[1].pad(x, (1, -1)),
    # views with size-1 dims (their strides feed the rules above), and gathers: PyTorch's
    # index kernel lays its result out by TensorIterator over x, restrided, and the indices
    "unsqueeze, then clone": lambda x, d, k: x.unsqueeze(d).clone(),
    "unsqueeze last, then cat": lambda x, d, k: _lib(x)[0].cat([x.unsqueeze(-1)] * 2, 1),
    "reshape with a 1, then sort": lambda x, d, k: x.reshape(-1, 1, x.shape[-1]).sort(0)[0],
    "index with a list": lambda x, d, k: x[[0, 0]],
    "index with a list, after a slice": lambda x, d, k: x[:, [0, -1]],
    "index with two lists": lambda x, d, k: x[[0, -1], :, [0, 0]] if x.dim() > 2 else x[[0], [0]],
    "index with a mask": lambda x, d, k: x[x.sum(-1) > 0],
    "index with an int tensor and a slice": lambda x, d, k: x[..., _lib(x)[0].tensor([[0], [0]])],
    # the eighth session's names
    "cumsum": lambda x, d, k: x.cumsum(d),
    "logsumexp": lambda x, d, k: x.logsumexp(d, keepdim=k),
    "tril": lambda x, d, k: x.tril(),
    "triu, above the diagonal": lambda x, d, k: _lib(x)[0].triu(x, 1),
    "masked_fill": lambda x, d, k: x.masked_fill(x > 0, 0.5),
    "masked_fill with a broadcast mask": lambda x, d, k: x.masked_fill(x[:1] > 0, 0.5),
    "square": lambda x, d, k: x.square(),
    "clamp_min": lambda x, d, k: x.clamp_min(0.0),
    "bitwise and of masks": lambda x, d, k: (x > 0) & (x < 1),
    "logical_not": lambda x, d, k: x.logical_not(),
    # the eleventh session's: kernels that allocate row-major (repeat, embedding, one_hot,
    # logsigmoid, a number to a tensor's power), pixel_unshuffle (row-major or channels-last)
    "repeat": lambda x, d, k: x.repeat(*([1] * x.dim())),
    "repeat, a new dim": lambda x, d, k: x.repeat(*([2] + [1] * x.dim())),
    "embedding": lambda x, d, k: _lib(x)[1].embedding(
        (x.abs() * 10).long() % 3, _lib(x)[0].ones(3, 2)),
    "one_hot": lambda x, d, k: _lib(x)[1].one_hot((x.abs() * 10).long() % 3, 3),
    "logsigmoid": lambda x, d, k: _lib(x)[1].logsigmoid(x),
    "a number to its power": lambda x, d, k: 2 ** x,
    "pixel_unshuffle by 1": lambda x, d, k: _lib(x)[1].pixel_unshuffle(x, 1),
    "x < 0": lambda x, d, k: x < 0,
    # image ops whose input can broadcast to their result (size-1 pixels: long run
    # 5017673): not elementwise, laid out as the input suggests
    "adaptive_avg_pool2d to (2, 1)": lambda x, d, k: _lib(x)[1].adaptive_avg_pool2d(x, (2, 1)),
    "interpolate, nearest": lambda x, d, k: _lib(x)[1].interpolate(x, scale_factor=2),
    "avg_pool2d by 1": lambda x, d, k: _lib(x)[1].avg_pool2d(x, 1),
    # empty_like's rule
    "clone": lambda x, d, k: x.clone(),
    "zeros_like": lambda x, d, k: _lib(x)[0].zeros_like(x),
    "expanded, exp": lambda x, d, k: x[:1].expand(2, *x.shape[1:]).exp(),
    "expanded, clone": lambda x, d, k: x[:1].expand(2, *x.shape[1:]).clone(),
    "expanded, sum": lambda x, d, k: x[:1].expand(2, *x.shape[1:]).sum(d, keepdim=k),
    "expanded, sort": lambda x, d, k: x[:1].expand(2, *x.shape[1:]).sort(d)[0],
}


@st.composite
def layouts(draw):
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    perm = tuple(draw(st.permutations(range(ndim))))
    steps = tuple(draw(st.lists(st.sampled_from((1, 1, 2)), min_size=ndim, max_size=ndim)))
    dim = draw(st.integers(-ndim, ndim - 1))
    return (shape, perm, steps, dim, draw(st.booleans()), draw(st.sampled_from(("float32", "float64"))),
            ndim == 4 and draw(st.booleans()))


def _strides(x):
    if isinstance(x, torch.Tensor):
        return x.stride()
    return tuple(s // x.array.itemsize for s in x.array.strides)


def _read(shape, strides):   # the strides a program can tell apart
    return tuple(s for n, s in zip(shape, strides) if n > 1)


@settings(max_examples=60)
@given(layouts())
def test_every_op_lays_out_its_result_as_pytorch(case):
    shape, perm, steps, dim, keepdim, dtype, channels_last = case
    values = np.round(np.random.default_rng(len(shape)).standard_normal(shape), 2).astype(dtype)
    cut = tuple(slice(None, None, s) for s in steps)
    theirs = torch.tensor(values).permute(*perm)[cut]
    ours = tinygan.tensor(values).permute(*perm)[cut]
    if channels_last:
        theirs = theirs.contiguous(memory_format=torch.channels_last)
        ours = ours.contiguous(memory_format="channels_last")
    assert _read(ours.shape, _strides(ours)) == _read(theirs.shape, theirs.stride())
    for name, op in OPS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                expected = op(theirs, dim, keepdim)
            except (RuntimeError, IndexError, ValueError):
                continue   # (the shape does not suit this op: the oracle tests the errors)
            got = op(ours, dim, keepdim)
        assert tuple(got.shape) == tuple(expected.shape), name
        assert got.is_contiguous() == expected.is_contiguous(), (name, case)
        if expected.numel() == 0:
            continue   # (no element to place: the strides mean nothing)
        assert _read(got.shape, _strides(got)) == _read(expected.shape, expected.stride()), \
            (name, case, _strides(got), expected.stride())


def test_the_layout_rules_on_named_cases():
    """A transposed tensor's reduction, softmax and cat come out row-major; its sort and
    clone transposed; an expanded tensor's clone is ordered by its other strides."""
    x = tinygan.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4)).permute(2, 0, 1)
    assert x.amax(-1, keepdim=True).is_contiguous()
    assert x.softmax(0).is_contiguous() and tinygan.cat([x, x]).is_contiguous()
    assert not x.sort(0)[0].is_contiguous() and not x.clone().is_contiguous()
    assert x.amax(-1, keepdim=True).view(-1).shape == (4 * 2,)
    e = tinygan.tensor(np.zeros((1, 3, 2), np.float32)).transpose(1, 2).expand(2, 2, 3)
    assert _strides(e.clone()) == (6, 1, 2)   # PyTorch: infer_dense_strides


# Ops of two operands laid out differently: PyTorch's TensorIterator orders the result's
# dims by the first operand whose strides tell two dims apart (the condition first for
# where; the target for BCE with logits, whose kernel writes into 1 - target); NumPy
# picks row-major when its operands disagree. Long run 4942313: x - y with x transposed,
# then view(8, 1), raised in PyTorch and not in tinygan.
PAIR_OPS = {
    "add": lambda lib, x, y: x + y,
    "sub": lambda lib, x, y: lib.sub(x, y),
    "mul by the other first": lambda lib, x, y: y * x,
    "sub with alpha": lambda lib, x, y: lib.sub(x, y, alpha=2),
    "pow": lambda lib, x, y: x.abs() ** y,
    "less than": lambda lib, x, y: x < y,
    "equal": lambda lib, x, y: x == y,
    "logical_or": lambda lib, x, y: lib.logical_or(x, y),
    "bitwise_xor of masks": lambda lib, x, y: (x > 0) ^ (y > 0),
    "where": lambda lib, x, y: lib.where(y > 0, x, -2.0),
    "where, condition row-major": lambda lib, x, y: lib.where(lib.ones_like(y).bool(), x, y),
    "maximum": lambda lib, x, y: lib.maximum(x, y),
    "bce with logits": lambda lib, x, y: lib.nn.functional.binary_cross_entropy_with_logits(
        x, y.sigmoid(), reduction="none"),
    "bce with logits, pos_weight": lambda lib, x, y:
        lib.nn.functional.binary_cross_entropy_with_logits(
            x, y.sigmoid(), pos_weight=lib.ones(x.shape[-1]), reduction="none"),
    "mse_loss": lambda lib, x, y: lib.nn.functional.mse_loss(x, y, reduction="none"),
    "pixel_unshuffle by 1": lambda lib, x, y: lib.nn.functional.pixel_unshuffle(x, 1),
}


@st.composite
def two_layouts(draw):
    ndim = draw(st.integers(2, 4))
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=ndim, max_size=ndim)))
    one = lambda: (tuple(draw(st.permutations(range(ndim)))),   # noqa: E731
                   tuple(draw(st.lists(st.sampled_from((1, 1, 2)), min_size=ndim,
                                       max_size=ndim))),
                   tuple(draw(st.lists(st.booleans(), min_size=ndim, max_size=ndim))))
    return shape, one(), one(), draw(st.sampled_from(("float32", "float64")))


def _laid(lib, values, perm, steps, squeezed):
    """values permuted, sliced with steps, and some dims cut to one (a broadcast)."""
    t = lib.tensor(values).permute(*perm)[tuple(slice(None, None, s) for s in steps)]
    return t[tuple(slice(0, 1) if cut else slice(None) for cut in squeezed)]


@settings(max_examples=80, deadline=None)
@given(two_layouts())
def test_ops_of_two_layouts_lay_out_their_result_as_pytorch(case):
    shape, (p1, s1, c1), (p2, s2, c2), dtype = case
    rng = np.random.default_rng(len(shape))
    values = [np.round(rng.standard_normal(tuple(shape[d] * 2 for d in range(len(shape)))),
                       2).astype(dtype) for _ in range(2)]
    for name, op in PAIR_OPS.items():
        answers = []
        for lib in (tinygan, torch):
            x, y = _laid(lib, values[0], p1, s1, c1), _laid(lib, values[1], p2, s2, c2)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    out = op(lib, x, y)
                except (RuntimeError, ValueError):
                    answers.append("raises")
                    continue
            try:
                out.view(-1)
                flat = "views flat"
            except RuntimeError:
                flat = "refuses view(-1)"
            answers.append((tuple(out.shape), out.is_contiguous(), flat,
                            _read(out.shape, _strides(out)) if out.numel() else ()))
        assert answers[0] == answers[1], (name, case, answers)


@settings(max_examples=300, deadline=None)
@given(two_layouts())
def test_the_row_major_shortcut_agrees_with_the_general_rule(case):
    """engine/tensor.py's ``_kept_row_major`` skips engine/layout.py where TensorIterator
    keeps a result row-major in any case: wherever it says so, the general rule
    (``as_elementwise_result``) lays the same result out row-major too, size-1 strides and
    all (its fast form, tested equal to the plain one)."""
    from tinygan.engine import layout
    from tinygan.engine.tensor import _kept_row_major, _with_row_major_steps
    shape, (p1, s1, c1), (p2, s2, c2), dtype = case
    values = np.zeros(tuple(n * 2 for n in shape), dtype)
    x, y = _laid(tinygan, values, p1, s1, c1), _laid(tinygan, values, p2, s2, c2)
    try:
        out_shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        return   # (the permutations made shapes that do not broadcast)
    for inputs in ((x, y), (y, x), (x,), (x, tinygan.tensor(2.0, dtype=getattr(tinygan, dtype)))):
        if not _kept_row_major(out_shape, inputs):
            continue
        result = _with_row_major_steps(np.zeros(out_shape, dtype))
        general = layout.as_elementwise_result(result, [t.array for t in inputs])
        assert general.strides == result.strides, (case, [t.array.strides for t in inputs])
