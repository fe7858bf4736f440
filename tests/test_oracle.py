"""The oracle: every public op against PyTorch on the same inputs.

One table row per op of ``tinygan.engine.functional.__all__`` and per Tensor method that wraps
an op. Each row draws its inputs (shapes from hypothesis, broadcasting, negative and tuple
dims, keepdim) and runs the same call in tinygan and in PyTorch; ``check`` compares:
  forward values,
  first derivatives   (a random cotangent v:  v^T J, through grad(create_graph=True)),
  second derivatives  (the gradient of <w, v^T J> for a random w),
in float32 and float64. A test (which needs no PyTorch) fails when an op has no row.
The comparison tests skip cleanly when PyTorch is not installed.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import tinygan
from tinygan import functional as F



class _NoTorch:
    """Stands in for ``torch`` when PyTorch is not installed: the table below names torch
    functions when the module is imported, so they must resolve; calling one skips."""

    def __getattr__(self, name: str) -> "_NoTorch":
        return self

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        pytest.skip("PyTorch is not installed")


try:
    import torch  # noqa: F811
    import torch.nn.functional as TF
    HAVE_TORCH = True
except ImportError:  # pragma: no cover - the table tests below still run
    torch = TF = _NoTorch()
    HAVE_TORCH = False

needs_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOL = {np.float32: dict(rtol=2e-4, atol=2e-5), np.float64: dict(rtol=1e-9, atol=1e-11)}


@dataclass
class Row:
    """inputs(draw) -> (list of arrays, dict of options); ours/theirs(*tensors, **options).
    ``grad`` lists which inputs are differentiable (default: every float input); ``second``
    whether second derivatives are compared."""
    inputs: Callable[[Any], tuple[list, dict]]
    ours: Callable
    theirs: Callable
    second: bool = True
    grad: tuple | None = None
    dtypes: tuple = (np.float32, np.float64)
    notes: str = ""
    extra: dict = field(default_factory=dict)


# ---- input strategies ---------------------------------------------------------------------------
def _floats(draw, shape, low=-3.0, high=3.0, away_from=None):
    a = draw(hnp.arrays(np.float64, shape, elements=st.floats(
        float(np.float32(low)), float(np.float32(high)), allow_nan=False, width=32)))
    if away_from is not None:                      # keep clear of kinks (relu at 0, clip edges)
        for k in away_from:
            near = np.abs(a - k) < 0.05
            a[near] = k + 0.1
    return a


def _shape(draw, min_dims=1, max_dims=3):
    return draw(hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=4))


def unary(low=-3.0, high=3.0, away_from=None, min_dims=0, **options):
    def draw_inputs(draw):
        return [_floats(draw, _shape(draw, min_dims), low, high, away_from)], dict(options)
    return draw_inputs


def binary(low=-3.0, high=3.0, second_low=None, second_high=None):
    def draw_inputs(draw):
        shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                        max_side=4)).input_shapes
        b_low = low if second_low is None else second_low
        b_high = high if second_high is None else second_high
        return [_floats(draw, shapes[0], low, high), _floats(draw, shapes[1], b_low, b_high)], {}
    return draw_inputs


def lerp_inputs(draw):
    """x, end and a weight tensor, broadcasting; weights on both sides of 1/2 (where
    PyTorch's kernel changes form) and outside [0, 1]."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3,
                                                    max_side=4)).input_shapes
    return [_floats(draw, shapes[0]), _floats(draw, shapes[1]),
            _floats(draw, shapes[2], -0.5, 1.5)], {}


def lerp_scalar_inputs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=4)).input_shapes
    weight = draw(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, -0.3, 1.7]))
    return [_floats(draw, shapes[0]), _floats(draw, shapes[1])], dict(weight=weight)


def reduction(with_tuple=True):
    """x and a dim: None, an int (maybe negative) or a tuple; keepdim either way."""
    def draw_inputs(draw):
        shape = _shape(draw, 1, 3)
        n = len(shape)
        choice = draw(st.sampled_from(["none", "int", "tuple"] if with_tuple else ["int"]))
        if choice == "none":
            dim = None
        elif choice == "int":
            dim = draw(st.integers(-n, n - 1))
        else:
            dim = tuple(draw(st.sets(st.integers(0, n - 1), min_size=1, max_size=n)))
            dim = tuple(d - n if draw(st.booleans()) else d for d in dim)
        return [_floats(draw, shape)], dict(dim=dim, keepdim=draw(st.booleans()))
    return draw_inputs


def _kw_dim(options):
    """PyTorch's reductions want dim=() (not None) for 'all dims' in amax; sum takes None."""
    return {k: v for k, v in options.items() if not (k == "dim" and v is None)}


def fixed(*arrays, **options):
    return lambda draw: ([np.asarray(a, dtype=np.float64) for a in arrays], options)


def matmul_inputs(draw):
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    return [_floats(draw, batch.input_shapes[0] + (m, k)),
            _floats(draw, batch.input_shapes[1] + (k, n))], {}


def matmul_inputs_2d(draw):
    m, k, n = (draw(st.integers(1, 4)) for _ in range(3))
    return [_floats(draw, (m, k)), _floats(draw, (k, n))], {}


def linear_inputs(draw):
    lead = _shape(draw, 1, 2)
    k, n = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    bias = draw(st.booleans())
    arrays = [_floats(draw, lead + (k,)), _floats(draw, (n, k))]
    if bias:
        arrays.append(_floats(draw, (n,)))
    return arrays, {}


def probabilities_and_targets(draw):
    shape = _shape(draw, 1, 2)
    return [_floats(draw, shape, 0.02, 0.98), _floats(draw, shape, 0.0, 1.0)], \
        dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])))


def logits_and_targets(draw):
    shape = _shape(draw, 1, 2)
    return [_floats(draw, shape, -8, 8), _floats(draw, shape, 0.0, 1.0)], \
        dict(reduction=draw(st.sampled_from(["mean", "sum", "none"])))


def weighted_probabilities(draw):
    """BCE's inputs plus a weight per element of the last dim (PyTorch's third argument)."""
    arrays, options = probabilities_and_targets(draw)
    return arrays + [_floats(draw, arrays[0].shape[-1:], 0.1, 2.0)], options


def weighted_logits(draw):
    """BCE-with-logits inputs plus a weight and a pos_weight per class (the last dim)."""
    arrays, options = logits_and_targets(draw)
    last = arrays[0].shape[-1:]
    return arrays + [_floats(draw, last, 0.1, 2.0), _floats(draw, last, 0.1, 4.0)], options


def softplus_inputs(draw):
    beta = draw(st.sampled_from([1.0, 2.0, 0.5]))
    threshold = draw(st.sampled_from([20.0, 1.0]))
    x = _floats(draw, _shape(draw, 0), -4, 4)
    x[np.abs(beta * x - threshold) < 0.1] = threshold / beta + 0.2   # off the switch point
    return [x], dict(beta=beta, threshold=threshold)


def corrected_reduction(draw):
    """reduction()'s draws with a correction small enough to leave a positive divisor."""
    arrays, options = spread(draw)
    dim = options["dim"]
    axes = range(arrays[0].ndim) if dim is None else (dim if isinstance(dim, tuple) else [dim])
    n = int(np.prod([arrays[0].shape[a] for a in axes])) if arrays[0].ndim else 1
    options["correction"] = draw(st.integers(0, builtins_max(n - 1, 0)))
    return arrays, options


builtins_max = max


def along_dim(draw):
    shape = _shape(draw, 1, 3)
    return [_floats(draw, shape)], dict(dim=draw(st.integers(-len(shape), len(shape) - 1)))


def distinct_along_dim(draw):
    """Like along_dim, with no two values equal (the order of ties is each library's own)."""
    shape = _shape(draw, 1, 3)
    n = int(np.prod(shape))
    values = np.array(draw(st.permutations(range(n))), dtype=np.float64) * 0.25 - n / 8
    return [values.reshape(shape)], dict(dim=draw(st.integers(-len(shape), len(shape) - 1)))


def classes(draw):
    n, c = draw(st.integers(1, 5)), draw(st.integers(2, 5))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return [_floats(draw, (n, c))], dict(labels=labels,
                                          reduction=draw(st.sampled_from(["mean", "sum"])))


def weighted_classes(draw):
    """classes() plus cross_entropy's class weights, label_smoothing and ignore_index."""
    arrays, options = classes(draw)
    c = arrays[0].shape[1]
    options.update(label_smoothing=draw(st.sampled_from([0.0, 0.2])),
                   ignore_index=draw(st.sampled_from([-100, 0])))
    return arrays + [_floats(draw, (c,), 0.1, 2.0)], options


def joined(draw):
    shape = _shape(draw, 1, 3)
    count = draw(st.integers(1, 3))
    return [_floats(draw, shape) for _ in range(count)], \
        dict(dim=draw(st.integers(-len(shape), len(shape) - 1)))


def stacked(draw):
    arrays, options = joined(draw)
    options["dim"] = draw(st.integers(-arrays[0].ndim - 1, arrays[0].ndim))
    return arrays, options


def index_inputs(draw):
    shape = _shape(draw, 2, 3)
    kind = draw(st.sampled_from(["int", "slice", "negative", "array", "mask", "tuple"]))
    if kind == "int":
        index = draw(st.integers(0, shape[0] - 1))
    elif kind == "negative":
        index = (slice(None), -1)
    elif kind == "slice":
        index = slice(draw(st.integers(0, shape[0] - 1)), None, draw(st.integers(1, 2)))
    elif kind == "array":                          # repeated indices: gradients add up
        index = np.array(draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=5)))
    elif kind == "mask":
        index = np.arange(shape[0]) % 2 == 0
    else:
        index = (slice(None), np.array([0, shape[1] - 1, 0]))
    return [_floats(draw, shape)], dict(index=index)


def index_put_inputs(draw):
    shape = _shape(draw, 2, 3)
    index = (slice(None), draw(st.integers(0, shape[1] - 1)))
    value_shape = (shape[0],) + shape[2:]
    return [_floats(draw, shape), _floats(draw, value_shape)], dict(index=index)


def take_inputs(draw):
    shape = _shape(draw, 1, 3)
    dim = draw(st.integers(-len(shape), len(shape) - 1))
    idx_shape = list(shape)
    idx_shape[dim] = draw(st.integers(1, 4))
    idx = draw(hnp.arrays(np.int64, tuple(idx_shape), elements=st.integers(0, shape[dim] - 1)))
    return [_floats(draw, shape)], dict(indices=idx, dim=dim)


def where_inputs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    cond = draw(hnp.arrays(np.bool_, shapes.input_shapes[0]))
    return [_floats(draw, shapes.input_shapes[1]), _floats(draw, shapes.input_shapes[2])], \
        dict(condition=cond)


def reshape_inputs(draw):
    shape = _shape(draw, 1, 3)
    size = int(np.prod(shape))
    new = draw(st.sampled_from([(size,), (-1,), (1, size), (size, 1), (-1, 1)]))
    return [_floats(draw, shape)], dict(shape=new)


def transpose_inputs(draw):
    shape = _shape(draw, 1, 3)
    order = draw(st.permutations(range(len(shape))))
    order = [d - len(shape) if draw(st.booleans()) else d for d in order]  # negative axes too
    return [_floats(draw, shape)], dict(axes=tuple(order))


def broadcast_inputs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=3))
    return [_floats(draw, shapes.input_shapes[0])], dict(shape=shapes.result_shape)


def sum_to_inputs(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=3))
    return [_floats(draw, shapes.result_shape)], dict(shape=shapes.input_shapes[0])


def spread(draw):
    """reduction()'s draws, made non-constant along every axis: std's second derivative does
    not exist where all values are equal (test_std_of_a_constant_has_a_zero_gradient checks
    the first)."""
    arrays, options = reduction()(draw)
    arrays[0] = arrays[0] + np.arange(arrays[0].size).reshape(arrays[0].shape) * 0.37
    return arrays, options


def norm_inputs(draw):
    arrays, options = reduction()(draw)
    options["p"] = draw(st.sampled_from([2, 1, 3, float("inf")]))
    arrays[0][np.abs(arrays[0]) < 0.05] = 0.5      # |x| is not differentiable at 0
    return arrays, options


def pow_inputs(draw):
    return [_floats(draw, _shape(draw, 0), 0.2, 3.0)], \
        dict(c=draw(st.sampled_from([2, 3, 0.5, -1.5, 1])))


def _torch_var(x, dim=None, keepdim=False, unbiased=True):
    return torch.var(x, dim=dim, keepdim=keepdim, correction=1 if unbiased else 0)


def _index_put_torch(x, v, index):
    y = x.clone()
    y[index] = v
    return y


def _torch_index(index):
    if isinstance(index, tuple):
        return tuple(torch.as_tensor(i) if isinstance(i, np.ndarray) else i for i in index)
    return torch.as_tensor(index) if isinstance(index, np.ndarray) else index


def _tg(a):
    return tinygan.Tensor(a)


# ---- the table: tinygan.engine.functional ---------------------------------------------------------------
FUNCTIONAL: dict[str, Row] = {
    "broadcast_to": Row(broadcast_inputs, lambda x, shape: F.broadcast_to(x, shape),
                        lambda x, shape: torch.broadcast_to(x, shape)),
    "sum_to": Row(sum_to_inputs, lambda x, shape: F.sum_to(x, shape),
                  lambda x, shape: x.sum_to_size(shape) if shape else x.sum()),
    "reshape": Row(reshape_inputs, lambda x, shape: F.reshape(x, shape),
                   lambda x, shape: torch.reshape(x, shape)),
    "transpose": Row(transpose_inputs, lambda x, axes: F.transpose(x, axes),
                     lambda x, axes: torch.permute(x, axes)),
    "getitem": Row(index_inputs, lambda x, index: F.getitem(x, index),
                   lambda x, index: x[_torch_index(index)]),
    "index_put": Row(index_put_inputs, lambda x, v, index: F.index_put(x, index, v),
                     _index_put_torch),
    "take_along_dim": Row(take_inputs,
                          lambda x, indices, dim: F.take_along_dim(x, _tg(indices), dim),
                          lambda x, indices, dim: torch.take_along_dim(
                              x, torch.as_tensor(indices), dim)),
    "concatenate": Row(joined, lambda *xs, dim: F.concatenate(list(xs), dim),
                       lambda *xs, dim: torch.cat(xs, dim)),
    "cat": Row(joined, lambda *xs, dim: F.cat(list(xs), dim=dim),
               lambda *xs, dim: torch.cat(xs, dim=dim)),
    "stack": Row(stacked, lambda *xs, dim: F.stack(list(xs), dim=dim),
                 lambda *xs, dim: torch.stack(xs, dim=dim)),
    "clone": Row(unary(), F.clone, torch.clone),
    "add": Row(binary(), F.add, torch.add),
    "sub": Row(binary(), F.sub, torch.sub),
    "mul": Row(binary(), F.mul, torch.mul),
    "div": Row(binary(second_low=0.3, second_high=3.0), F.div, torch.div),
    "div_rounded": Row(binary(second_low=0.3, second_high=3.0),
                       lambda a, b: F.div_rounded(a, b, "floor"),
                       lambda a, b: torch.div(a, b, rounding_mode="floor"),
                       notes="a step function: both gradients are 0"),
    "floor_divide": Row(binary(second_low=0.3, second_high=3.0), F.floor_divide,
                        lambda a, b: torch.floor_divide(a, b), grad=(), second=False,
                        notes="no derivative in PyTorch; values only"),
    "remainder": Row(binary(second_low=0.3, second_high=3.0), F.remainder, torch.remainder),
    "bitwise_not": Row(unary(), lambda x: F.bitwise_not(F.cast(x, np.int64)),
                       lambda x: torch.bitwise_not(x.to(torch.int64)), grad=(), second=False,
                       notes="ints (a float is refused); no gradient"),
    "maximum": Row(binary(), F.maximum, torch.maximum, notes="ties split the gradient"),
    "minimum": Row(binary(), F.minimum, torch.minimum),
    "neg": Row(unary(), F.neg, torch.neg),
    "pow": Row(pow_inputs, lambda x, c: F.pow(x, c), lambda x, c: torch.pow(x, c)),
    "matmul": Row(matmul_inputs, F.matmul, torch.matmul),
    "linear": Row(linear_inputs, F.linear, TF.linear if TF else None),
    "where": Row(where_inputs, lambda a, b, condition: F.where(_tg(condition), a, b),
                 lambda a, b, condition: torch.where(torch.as_tensor(condition), a, b)),
    "lerp": Row(lerp_inputs, F.lerp, torch.lerp),
    "exp": Row(unary(), F.exp, torch.exp),
    "log": Row(unary(0.1, 5.0), F.log, torch.log),
    "sqrt": Row(unary(0.1, 5.0), F.sqrt, torch.sqrt),
    "reciprocal": Row(unary(0.3, 3.0), F.reciprocal, torch.reciprocal),
    "abs": Row(unary(away_from=[0.0]), F.abs, torch.abs),
    "sigmoid": Row(unary(-8, 8), F.sigmoid, torch.sigmoid),
    "tanh": Row(unary(), F.tanh, torch.tanh),
    "relu": Row(unary(away_from=[0.0]), F.relu, torch.relu),
    "leaky_relu": Row(unary(away_from=[0.0], negative_slope=0.2), F.leaky_relu,
                      TF.leaky_relu if TF else None),
    "softplus": Row(softplus_inputs, F.softplus, TF.softplus if TF else None,
                    notes="beta and threshold drawn"),
    "log_sigmoid": Row(unary(-8, 8), F.log_sigmoid, TF.logsigmoid if TF else None),
    "clip": Row(unary(away_from=[-1.0, 0.5]), lambda x: F.clip(x, -1.0, 0.5),
                lambda x: torch.clamp(x, -1.0, 0.5)),
    "clamp": Row(unary(away_from=[0.0]), lambda x: F.clamp(x, min=0.0),
                 lambda x: torch.clamp(x, min=0.0)),
    "sum": Row(reduction(), F.sum, lambda x, **o: torch.sum(x, **o) if o["dim"] is not None
               else (torch.sum(x).reshape((1,) * x.ndim) if o["keepdim"] else torch.sum(x))),
    "mean": Row(reduction(), F.mean, lambda x, **o: torch.mean(x, **o) if o["dim"] is not None
                else (torch.mean(x).reshape((1,) * x.ndim) if o["keepdim"] else torch.mean(x))),
    "var": Row(reduction(), F.var, _torch_var, notes="unbiased, as torch's default"),
    "std": Row(spread, F.std, lambda x, dim=None, keepdim=False: torch.std(
        x, dim=dim, keepdim=keepdim)),
    "amax": Row(reduction(), F.amax, lambda x, **o: torch.amax(x, **_kw_dim(o))),
    "amin": Row(reduction(), F.amin, lambda x, **o: torch.amin(x, **_kw_dim(o))),
    "max": Row(along_dim, lambda x, dim: F.max(x, dim).values,
               lambda x, dim: torch.max(x, dim).values),
    "min": Row(along_dim, lambda x, dim: F.min(x, dim).values,
               lambda x, dim: torch.min(x, dim).values),
    "norm": Row(norm_inputs, lambda x, p, dim, keepdim: F.norm(x, p, dim, keepdim),
                lambda x, p, dim, keepdim: torch.linalg.vector_norm(x, p, dim, keepdim)),
    "cast": Row(unary(), lambda x: F.cast(x, np.float64), lambda x: x.to(torch.float64)),
    "to_device": Row(unary(), lambda x: F.to_device(x, "cpu"), lambda x: x.to("cpu")),
    "binary_cross_entropy": Row(weighted_probabilities, F.binary_cross_entropy,
                                TF.binary_cross_entropy if TF else None,
                                grad=(0, 1), notes="with weight= (torch's third argument, "
                                "not differentiable there)"),
    "binary_cross_entropy_with_logits": Row(
        weighted_logits,
        lambda x, t, w, pw, reduction: F.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=pw),
        lambda x, t, w, pw, reduction: TF.binary_cross_entropy_with_logits(
            x, t, w, reduction=reduction, pos_weight=pw), grad=(0, 1),
        notes="with weight= and pos_weight= (not differentiable there in torch)"),
    "mse_loss": Row(logits_and_targets, F.mse_loss, TF.mse_loss if TF else None),
    "log_softmax": Row(along_dim, F.log_softmax, lambda x, dim: TF.log_softmax(x, dim)),
    "softmax": Row(along_dim, F.softmax, lambda x, dim: TF.softmax(x, dim)),
    "cross_entropy": Row(
        weighted_classes, lambda x, w, labels, **o: F.cross_entropy(x, _tg(labels), w, **o),
        lambda x, w, labels, **o: TF.cross_entropy(x, torch.as_tensor(labels), w, **o),
        grad=(0,), notes="class weights, label_smoothing and ignore_index drawn"),
    "log1p": Row(unary(-0.9, 4.0), F.log1p, torch.log1p),
    "mm": Row(lambda draw: matmul_inputs_2d(draw), F.mm, torch.mm),
    # not differentiable or random: checked by their own rows below, forward only
    "one_hot": Row(classes, lambda x, labels, reduction: F.one_hot(_tg(labels), x.shape[1]),
                   lambda x, labels, reduction: TF.one_hot(torch.as_tensor(labels),
                                                           x.shape[1]),
                   second=False, grad=()),
    "dropout": Row(unary(), lambda x: F.dropout(x, 0.3, training=False),
                   lambda x: TF.dropout(x, 0.3, training=False),
                   notes="training=True draws a mask: see test_dropout_matches_its_mask"),
}

# ---- the table: Tensor methods that wrap an op (one call, run on both libraries) -----------------
METHODS: dict[str, Row] = {}


def _method(name, inputs, call, **kw):
    METHODS[name] = Row(inputs, call, call, **kw)


for _name in ["exp", "sigmoid", "tanh", "neg", "clone", "__neg__", "__abs__", "__pos__"]:
    _method(_name, unary(-3, 3, away_from=[0.0]), lambda x, _n=_name: getattr(x, _n)())
_method("lerp", lerp_scalar_inputs, lambda x, end, weight: x.lerp(end, weight))   # a number
for _name in ["log", "sqrt", "reciprocal"]:
    _method(_name, unary(0.1, 5.0), lambda x, _n=_name: getattr(x, _n)())
for _name in ["abs", "relu"]:
    _method(_name, unary(away_from=[0.0]), lambda x, _n=_name: getattr(x, _n)())
for _name in ["__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__"]:
    _method(_name, binary(), lambda a, b, _n=_name: getattr(a, _n)(b))
for _name in ["__truediv__", "__rtruediv__"]:
    _method(_name, binary(0.3, 3.0), lambda a, b, _n=_name: getattr(a, _n)(b))
for _name in ["add", "sub"]:   # alpha scales the other operand
    _method(_name, binary(), lambda a, b, _n=_name: getattr(a, _n)(b, alpha=2.5))
_method("mul", binary(), lambda a, b: a.mul(b))
for _name in ["remainder", "__mod__", "__rmod__"]:   # d/db = -floor(a / b)
    _method(_name, binary(0.3, 3.0), lambda a, b, _n=_name: getattr(a, _n)(b))
for _name in ["floor_divide", "__floordiv__", "__rfloordiv__"]:   # no derivative (PyTorch)
    _method(_name, binary(0.3, 3.0), lambda a, b, _n=_name: getattr(a, _n)(b), grad=(),
            second=False)
for _name in ["bitwise_not", "__invert__"]:
    _method(_name, unary(), lambda x, _n=_name: getattr(x.long(), _n)(), grad=(), second=False)
_method("t", unary(), lambda x: x.reshape(x.shape[0] if x.ndim else 1, -1).t())
_method("div", binary(0.3, 3.0), lambda a, b: a.div(b))
for _name in ["softmax", "log_softmax"]:
    _method(_name, along_dim, lambda x, dim, _n=_name: getattr(x, _n)(dim))
_method("__matmul__", matmul_inputs, lambda a, b: a @ b)
_method("__rmatmul__", matmul_inputs, lambda a, b: b.__rmatmul__(a))
_method("__pow__", pow_inputs, lambda x, c: x ** c)
_method("__rpow__", unary(-2, 2), lambda x: 2.5 ** x)
_method("__getitem__", index_inputs, lambda x, index: x[index])
_method("clamp", unary(away_from=[-0.5, 1.0]), lambda x: x.clamp(-0.5, 1.0))
_method("clip", unary(away_from=[-0.5, 1.0]), lambda x: x.clip(-0.5, 1.0))
for _name in ["sum", "mean"]:
    _method(_name, reduction(), lambda x, dim, keepdim, _n=_name: getattr(x, _n)(
        dim=dim, keepdim=keepdim) if dim is not None else getattr(x, _n)())
_method("var(correction)", corrected_reduction, lambda x, dim, keepdim, correction: x.var(
    dim, keepdim=keepdim, correction=correction))
_method("std(correction)", corrected_reduction, lambda x, dim, keepdim, correction: x.std(
    dim, keepdim=keepdim, correction=correction))
_method("var", reduction(), lambda x, dim, keepdim: x.var(dim, keepdim=keepdim)
        if dim is not None else x.var())
_method("std", spread, lambda x, dim, keepdim: x.std(dim, keepdim=keepdim)
        if dim is not None else x.std())
for _name in ["amax", "amin"]:
    _method(_name, reduction(), lambda x, dim, keepdim, _n=_name: getattr(x, _n)(
        dim if dim is not None else (), keepdim))
for _name in ["max", "min"]:
    _method(_name, along_dim, lambda x, dim, _n=_name: getattr(x, _n)(dim)[0])
_method("sort", distinct_along_dim, lambda x, dim: x.sort(dim, descending=True).values)
_method("topk", distinct_along_dim, lambda x, dim: x.topk(1, dim, largest=False).values)
_method("norm", norm_inputs, lambda x, p, dim, keepdim: x.norm(p, dim, keepdim))
_method("reshape", reshape_inputs, lambda x, shape: x.reshape(*shape))
_method("view", reshape_inputs, lambda x, shape: x.view(*shape))
_method("view_as", unary(min_dims=1), lambda x: x.view_as(x.reshape(-1)))
_method("expand", unary(min_dims=1), lambda x: x.unsqueeze(0).expand(2, *x.shape))
_method("flatten", unary(min_dims=1), lambda x: x.flatten(0, -1))
_method("unflatten", unary(min_dims=1), lambda x: x.unflatten(-1, (1, -1)).unflatten(0, (-1,)))
_method("transpose", transpose_inputs,
        lambda x, axes: x.transpose(axes[0], axes[-1]) if len(axes) > 1 else x)
_method("permute", transpose_inputs, lambda x, axes: x.permute(*axes))
_method("T", unary(min_dims=2), lambda x: x.T if x.ndim == 2 else x.permute(
    *reversed(range(x.ndim))))
_method("squeeze", unary(min_dims=1), lambda x: x.unsqueeze(1).squeeze(1))
_method("unsqueeze", unary(min_dims=1), lambda x: x.unsqueeze(-1))
_method("to", unary(), lambda x: x.to(x.dtype))
_method("float", unary(), lambda x: x.float() * 1, dtypes=(np.float32,))
_method("double", unary(), lambda x: x.double())
_method("half", unary(-2, 2), lambda x: x.half().float(), second=False,
        notes="rounded to float16 and back; the gradient passes through both casts")
_method("type_as", unary(), lambda x: x.type_as(x))
_method("type", unary(), lambda x: x.type(x.type()) * 1)
_method("detach", unary(), lambda x: x.detach() * 1 + x, notes="no gradient through detach")
_method("cpu", unary(), lambda x: x.cpu())
_method("pow", pow_inputs, lambda x, c: x.pow(c))                          # issue 33
_method("log1p", unary(-0.9, 4.0), lambda x: x.log1p())
_method("mm", matmul_inputs_2d, lambda a, b: a.mm(b))


def _joined(pieces, dim):
    """The pieces weighted by their place (so a swapped piece shows), then put back."""
    cat = torch.cat if isinstance(pieces[0], torch.Tensor) else tinygan.cat
    return cat([p * (k + 1) for k, p in enumerate(pieces)], dim)


def cut_inputs(draw):
    """A tensor of 1-3 dims, a dim, a piece size and a piece count for split/chunk/narrow."""
    arrays, _ = unary(min_dims=1)(draw)
    x = arrays[0]
    dim = draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[dim]
    return arrays, dict(dim=dim, size=draw(st.integers(1, n + 1)),
                        count=draw(st.integers(1, n + 2)),
                        start=draw(st.integers(-n, n)))


def repeat_inputs(draw):
    arrays, _ = unary()(draw)
    extra = draw(st.integers(0 if arrays[0].ndim else 1, 2))   # (repeat() wants one size)
    return arrays, dict(reps=tuple(draw(st.lists(st.integers(1, 3), min_size=arrays[0].ndim
                                                 + extra, max_size=arrays[0].ndim + extra))))


# issue 29, this session: the pieces (views), tiling and layout
_method("split", cut_inputs, lambda x, dim, size, count, start: _joined(x.split(size, dim), dim))
_method("split_with_sizes", cut_inputs, lambda x, dim, size, count, start: _joined(
    x.split_with_sizes([min(size, x.shape[dim]), x.shape[dim] - min(size, x.shape[dim])], dim),
    dim))
_method("chunk", cut_inputs, lambda x, dim, size, count, start: _joined(x.chunk(count, dim), dim))
_method("unbind", cut_inputs, lambda x, dim, size, count, start: _joined(
    [p.unsqueeze(dim) for p in x.unbind(dim)], dim))
_method("narrow", cut_inputs, lambda x, dim, size, count, start: x.narrow(
    dim, start, min(size, x.shape[dim] - (start % x.shape[dim] if start < 0 else start))))
_method("repeat", repeat_inputs, lambda x, reps: x.repeat(*reps))
_method("expand_as", unary(min_dims=1), lambda x: x.expand_as(x.unsqueeze(0).expand(
    3, *x.shape)))
_method("contiguous", unary(min_dims=2), lambda x: x.transpose(0, 1).contiguous().view(-1))

# issue 29, the seventh session: sin/cos, the step functions, special values, flip
def flip_inputs(draw):
    """A tensor of 1-3 dims and 1 or 2 distinct dims to reverse (negative ones too)."""
    arrays, _ = unary(min_dims=1)(draw)
    n = arrays[0].ndim
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=2,
                         unique_by=lambda d: d % n))
    return arrays, dict(dims=tuple(dims))


for _name in ["sin", "cos"]:
    _method(_name, unary(-7.0, 7.0), lambda x, _n=_name: getattr(x, _n)())
for _name in ["floor", "ceil", "trunc", "round", "sign"]:   # steps: gradient 0
    _method(_name, unary(-3.0, 3.0), lambda x, _n=_name: getattr(x, _n)())
_method("round:decimals", unary(-3.0, 3.0), lambda x: x.round(decimals=1) * 1,
        notes="round(x * 10) / 10 in float32 for float32, as PyTorch's kernel")
for _name in ["isnan", "isinf", "isfinite"]:   # bool results
    _method(_name, unary(), lambda x, _n=_name: getattr(x, _n)(), grad=())
_method("flip", flip_inputs, lambda x, dims: x.flip(dims))
_method("flip:function", flip_inputs, lambda x, dims: (
    torch if isinstance(x, torch.Tensor) else tinygan).flip(x, dims))

# issue 29, the eighth session: running sums, log-sum-exp, triangles, masks, bits and logic
def dim_inputs(draw):
    """A tensor of 0-3 dims and one of its dims (negative ones too)."""
    arrays, _ = unary(min_dims=0)(draw)
    n = max(arrays[0].ndim, 1)
    return arrays, dict(dim=draw(st.integers(-n, n - 1)), keepdim=draw(st.booleans()))


def matrix_inputs(draw):
    """A tensor of 2-4 dims and a diagonal offset for tril/triu."""
    arrays, _ = unary(min_dims=2)(draw)
    return arrays, dict(diagonal=draw(st.integers(-3, 3)))


def mask_inputs(draw):
    """A tensor, a bool mask that broadcasts with it, and a number to fill with."""
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                    max_side=4)).input_shapes
    mask = draw(hnp.arrays(np.bool_, shapes[1]))
    return [_floats(draw, shapes[0])], dict(mask=mask, value=draw(st.sampled_from(
        [0.0, -1.5, 2, float("inf")])))


def batch_inputs(draw):
    b, n, m, p = (draw(st.integers(1, 3)) for _ in range(4))
    return [_floats(draw, (b, n, m)), _floats(draw, (b, m, p))], {}


def _lib(x):
    return torch if isinstance(x, torch.Tensor) else tinygan


_method("cumsum", dim_inputs, lambda x, dim, keepdim: x.cumsum(dim))
_method("logsumexp", dim_inputs, lambda x, dim, keepdim: x.logsumexp(dim, keepdim))
_method("logsumexp:function", dim_inputs, lambda x, dim, keepdim: _lib(x).logsumexp(
    x, (dim,), keepdim))
_method("tril", matrix_inputs, lambda x, diagonal: x.tril(diagonal))
_method("triu", matrix_inputs, lambda x, diagonal: _lib(x).triu(x, diagonal))
_method("masked_fill", mask_inputs, lambda x, mask, value: x.masked_fill(
    _lib(x).tensor(mask), value))
_method("masked_fill:tensor value", mask_inputs, lambda x, mask, value: (x * 1).masked_fill_(
    _lib(x).tensor(mask).expand(x.shape) if np.broadcast_shapes(mask.shape, x.shape) == x.shape
    else _lib(x).tensor(True), x.sum() * value))
_method("clamp_min", unary(away_from=[0.5]), lambda x: x.clamp_min(0.5))
_method("clamp_max", binary(), lambda a, b: a.clamp_max(b))
_method("square", unary(), lambda x: x.square())
_method("matmul", binary(), lambda a, b: a.reshape(-1).matmul(b.reshape(-1)[:1].expand(
    a.numel())))
_method("bmm", batch_inputs, lambda a, b: a.bmm(b))
_method("maximum", binary(), lambda a, b: a.maximum(b))
_method("minimum", binary(), lambda a, b: a.minimum(b))
for _name in ["bitwise_and", "bitwise_or", "bitwise_xor"]:   # integers and masks: no gradient
    _method(_name, binary(), lambda a, b, _n=_name: getattr((a > 0), _n)(b < 1) * 1 + getattr(
        (a * 4).long(), _n)((b * 4).long()), grad=(), second=False)
for _name in ["logical_and", "logical_or", "logical_xor"]:
    _method(_name, binary(), lambda a, b, _n=_name: getattr(a.round(), _n)(b.round()), grad=(),
            second=False)
_method("logical_not", unary(), lambda x: x.round().logical_not(), grad=(), second=False)

# Public Tensor methods that wrap no differentiable op (facts, conversions, in place)
NOT_OPS = {"new_zeros", "new_ones", "new_full", "new_empty", "new_tensor",   # factories
           "shape", "dtype", "ndim", "device", "is_leaf", "grad_fn", "data", "size", "dim",
           "numel", "element_size", "is_floating_point", "is_cuda", "numpy", "item", "tolist",
           "requires_grad_", "cuda", "long", "int", "bool", "short", "byte", "char", "any",
           "all", "argmax", "argmin",
           "backward",
           # issue 33: comparisons (bool results, tested in test_vocabulary_issue33.py) and
           # device flags
           "eq", "ne", "lt", "le", "gt", "ge", "is_cpu", "is_xpu", "is_mps", "is_meta",
           "is_xla", "is_ipu", "is_vulkan", "is_mtia", "is_maia", "is_mkldnn", "is_sparse",
           "is_sparse_csr", "is_quantized", "is_nested", "is_shared",
           "is_contiguous",   # (a fact: tested in test_pieces_and_padding.py)
           "retain_grad", "retains_grad",   # (autograd bookkeeping: test_torch_vocabulary.py)
           "stride"}   # (refused: see methods.stride)


OPERATORS = {"__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__",
             "__truediv__", "__rtruediv__", "__matmul__", "__rmatmul__", "__neg__", "__pos__",
             "__abs__", "__pow__", "__rpow__", "__getitem__"}


def _public_methods() -> set[str]:
    """Tensor's public methods and properties (in-place ``*_`` ones excluded), and the
    operators it defines."""
    names = {n for n in vars(tinygan.Tensor) if not n.startswith("_") and not n.endswith("_")}
    return names | (OPERATORS & set(vars(tinygan.Tensor)))


def test_every_public_op_has_a_row():
    """Adding an op to tinygan.engine.functional.__all__ or a method to Tensor needs a row here."""
    missing = set(F.__all__) - set(FUNCTIONAL)
    assert not missing, f"functional ops without an oracle row: {sorted(missing)}"
    stale = set(FUNCTIONAL) - set(F.__all__)
    assert not stale, f"rows for ops that are not in functional.__all__: {sorted(stale)}"
    methods = _public_methods() - NOT_OPS - set(METHODS)
    assert not methods, f"Tensor methods without an oracle row (or a NOT_OPS entry): " \
                        f"{sorted(methods)}"


def test_functional_star_import_gives_ops_only():
    namespace: dict = {}
    exec("from tinygan.engine.functional import *", namespace)
    exported = {k for k in namespace if not k.startswith("__")}
    assert exported == set(F.__all__)
    assert "np" not in exported and "Tensor" not in exported and "backend" not in exported


# ---- the check ------------------------------------------------------------------------------------
def _to_torch_options(options):
    return {k: (_torch_index(v) if k == "index" else v) for k, v in options.items()}


def check(row: Row, arrays: list, options: dict, dtype: Any) -> None:
    differentiable = row.grad if row.grad is not None else tuple(range(len(arrays)))
    ours_in = [tinygan.Tensor(a.astype(dtype), requires_grad=i in differentiable)
               for i, a in enumerate(arrays)]
    theirs_in = [torch.tensor(a.astype(dtype), requires_grad=i in differentiable)
                 for i, a in enumerate(arrays)]
    ours = row.ours(*ours_in, **options)
    theirs = row.theirs(*theirs_in, **_to_torch_options(options))
    tol = TOL[dtype]
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), **tol,
                               err_msg="forward values differ")
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), \
        f"dtype {ours.dtype} vs PyTorch's {theirs.dtype}"
    if not differentiable or not theirs.requires_grad:
        return
    rng = np.random.default_rng(0)
    v = rng.normal(size=ours.shape).astype(dtype)
    wanted_ours = [ours_in[i] for i in differentiable]
    wanted_theirs = [theirs_in[i] for i in differentiable]
    g_ours = tinygan.grad(ours, wanted_ours, tinygan.Tensor(v), create_graph=True,
                          allow_unused=True)
    g_theirs = torch.autograd.grad(theirs, wanted_theirs, torch.tensor(v), create_graph=True,
                                   allow_unused=True)
    for k, (a, b) in enumerate(zip(g_ours, g_theirs)):
        a_np = np.zeros(wanted_ours[k].shape) if a is None else a.numpy()
        b_np = np.zeros(wanted_theirs[k].shape) if b is None else b.detach().numpy()
        np.testing.assert_allclose(a_np, b_np, **tol, err_msg=f"first derivative, input {k}")
    if not row.second:
        return
    live = [(a, b, k) for k, (a, b) in enumerate(zip(g_ours, g_theirs))
            if a is not None and b is not None and a.requires_grad and b.requires_grad]
    if not live:
        return
    ws = [rng.normal(size=a.shape).astype(dtype) for a, _, _ in live]
    s_ours = sum((a * tinygan.Tensor(w)).sum() for (a, _, _), w in zip(live, ws))
    s_theirs = sum((b * torch.tensor(w)).sum() for (_, b, _), w in zip(live, ws))
    h_ours = tinygan.grad(s_ours, wanted_ours, allow_unused=True)
    h_theirs = torch.autograd.grad(s_theirs, wanted_theirs, allow_unused=True)
    for k, (a, b) in enumerate(zip(h_ours, h_theirs)):
        a_np = np.zeros(wanted_ours[k].shape) if a is None else a.numpy()
        b_np = np.zeros(wanted_theirs[k].shape) if b is None or torch._is_zerotensor(b) \
            else b.detach().numpy()   # a ZeroTensor (sgn's 2nd derivative) is all zeros
        np.testing.assert_allclose(a_np, b_np, **tol, err_msg=f"second derivative, input {k}")


@needs_torch
@pytest.mark.torch
@pytest.mark.parametrize("table, name", [("functional", n) for n in sorted(FUNCTIONAL)]
                         + [("method", n) for n in sorted(METHODS)])
@SETTINGS
@given(data=st.data())
def test_op_matches_pytorch(table, name, data):
    """One row of either table (``functional.__all__``, or a Tensor method)."""
    row = (FUNCTIONAL if table == "functional" else METHODS)[name]
    arrays, options = data.draw(st.composite(lambda draw: row.inputs(draw))())
    for dtype in row.dtypes:
        check(row, arrays, options, dtype)


# ---- extreme values --------------------------------------------------------------------------------
EXTREMES = np.array([-1e4, -100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0, 1e4])
DEFINED_EVERYWHERE = {
    "sigmoid": (F.sigmoid, lambda x: torch.sigmoid(x)),
    "tanh": (F.tanh, lambda x: torch.tanh(x)),
    "softplus": (F.softplus, lambda x: TF.softplus(x)),
    "log_sigmoid": (F.log_sigmoid, lambda x: TF.logsigmoid(x)),
    "relu": (F.relu, lambda x: torch.relu(x)),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: TF.leaky_relu(x, 0.2)),
    "abs": (F.abs, lambda x: torch.abs(x)),
    "bce_with_logits": (lambda x: F.binary_cross_entropy_with_logits(
        x, tinygan.ones_like(x), reduction="none"),
        lambda x: TF.binary_cross_entropy_with_logits(x, torch.ones_like(x), reduction="none")),
}


@needs_torch
@pytest.mark.torch
@pytest.mark.parametrize("name", sorted(DEFINED_EVERYWHERE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_values_match_pytorch(name, dtype):
    ours_fn, theirs_fn = DEFINED_EVERYWHERE[name]
    x = tinygan.Tensor(EXTREMES.astype(dtype), requires_grad=True)
    xt = torch.tensor(EXTREMES.astype(dtype), requires_grad=True)
    y, yt = ours_fn(x), theirs_fn(xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-6, atol=1e-30)
    y.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-6, atol=1e-30)


def test_dropout_matches_its_mask():
    x = tinygan.Tensor(np.linspace(1, 2, 1000), requires_grad=True)
    y = F.dropout(x, 0.3, training=True, generator=tinygan.Generator(3))
    kept = y.numpy() != 0
    np.testing.assert_allclose(y.numpy()[kept], x.numpy()[kept] / 0.7)
    assert 0.6 < kept.mean() < 0.8
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), kept / 0.7)


def test_the_table_covers_the_signatures_it_claims():
    """Each functional row calls the op it is named after (a rename would leave it stale)."""
    for name, row in FUNCTIONAL.items():
        source = inspect.getsource(row.ours) if not hasattr(F, name) or row.ours is not getattr(
            F, name) else name
        assert name in source or f"F.{name}" in source, name


@needs_torch
@pytest.mark.torch
def test_std_of_a_constant_has_a_zero_gradient():
    x = tinygan.tensor([2.0, 2.0, 2.0], requires_grad=True)
    xt = torch.tensor([2.0, 2.0, 2.0], requires_grad=True)
    x.std().backward()
    xt.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
