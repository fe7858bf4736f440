"""The differentiable operations, one small Function each.

Read any class top to bottom: ``forward`` computes y from raw arrays, ``backward`` turns
dL/dy (``gy``, a Tensor) into dL/dx for each input *using Tensor ops*, so the backward pass
is itself differentiable (second derivatives for free). ``xp`` is NumPy or CuPy, whichever
holds the data: nothing here needs to know which.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan import backend
from tinygan.tensor import Function, Tensor, _as_tensor

xp_of = backend.get_array_module


def _same_dtype_const(like: Any, value: Any) -> Tensor:
    """A constant (non-differentiable) Tensor from a raw array, in ``like``'s dtype."""
    return Tensor(xp_of(like).asarray(value, dtype=like.dtype))


# =======================================================================================
# Shapes: broadcasting, reductions back to a shape, reshape, transpose, indexing
# =======================================================================================
class BroadcastTo(Function):
    def __init__(self, shape): self.shape = tuple(shape)
    def forward(self, x): return xp_of(x).broadcast_to(x, self.shape)
    def backward(self, gy): return sum_to(gy, self.inputs[0].shape)


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched, so a gradient gets back the
    shape of the input it belongs to (e.g. a bias of shape (1, C) used on (N, C))."""
    def __init__(self, shape): self.shape = tuple(shape)

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(self.shape) if s == 1 and x.shape[i + lead] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(self.shape) if lead else y

    def backward(self, gy): return broadcast_to(gy, self.inputs[0].shape)


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x if x.shape == tuple(shape) else BroadcastTo(shape)(x)


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x if x.shape == tuple(shape) else SumTo(shape)(x)


class Reshape(Function):
    def __init__(self, shape): self.shape = tuple(shape)

    def forward(self, x):
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape/view: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {self.shape}") from None

    def backward(self, gy): return reshape(gy, self.inputs[0].shape)


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x if x.shape == tuple(shape) else Reshape(shape)(x)


class Transpose(Function):
    def __init__(self, axes): self.axes = None if axes is None else tuple(axes)
    def forward(self, x): return x.transpose(self.axes)  # a view: nothing is copied

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy, None)
        return transpose(gy, tuple(np.argsort(self.axes)))  # the inverse permutation


def transpose(x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    return Transpose(axes)(x)


class GetItem(Function):
    def __init__(self, index): self.index = index
    def forward(self, x): return x[self.index]
    def backward(self, gy): return GetItemGrad(self.index, self.inputs[0].shape)(gy)


class GetItemGrad(Function):
    """Scatter a gradient back into a zero array of the input's shape (repeated indices
    add up). Its own gradient is just indexing again."""
    def __init__(self, index, shape): self.index, self.shape = index, shape

    def forward(self, gy):
        gx = xp_of(gy).zeros(self.shape, dtype=gy.dtype)
        backend.scatter_add(gx, self.index, gy)
        return gx

    def backward(self, ggx): return getitem(ggx, self.index)


def getitem(x: Tensor, index: Any) -> Tensor:
    if isinstance(index, Tensor):
        index = index.data
    if isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return GetItem(index)(x)


class Concatenate(Function):
    def __init__(self, axis): self.axis = axis
    def forward(self, *xs): return xp_of(xs[0]).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        grads, start = [], 0
        for x in self.inputs:
            index = [slice(None)] * gy.ndim
            index[self.axis] = slice(start, start + x.shape[self.axis])
            grads.append(getitem(gy, tuple(index)))
            start += x.shape[self.axis]
        return tuple(grads)


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, dim: int | None = None) -> Tensor:
    axis = axis if dim is None else dim
    tensors = [_as_tensor(t, like=tensors) for t in tensors]
    ndim = tensors[0].ndim
    for t in tensors[1:]:
        rest = [s for i, s in enumerate(t.shape) if i != axis % ndim]
        first = [s for i, s in enumerate(tensors[0].shape) if i != axis % ndim]
        if t.ndim != ndim or rest != first:
            raise ValueError(f"concatenate: shapes {[x.shape for x in tensors]} differ "
                             f"outside axis {axis}")
    return Concatenate(axis % ndim)(*tensors)


cat = concatenate


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return concatenate([t.unsqueeze(axis) for t in tensors], axis)


# =======================================================================================
# Arithmetic (with broadcasting: each gradient is summed back to its input's shape)
# =======================================================================================
class Add(Function):
    def forward(self, a, b): return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


class Sub(Function):
    def forward(self, a, b): return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


class Mul(Function):
    def forward(self, a, b): return a * b

    def backward(self, gy):  # only the gradients someone needs (not a constant's)
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (sum_to(gy * b, a.shape) if need_a else None,
                sum_to(gy * a, b.shape) if need_b else None)


class Div(Function):
    def forward(self, a, b): return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2
        a, b = self.inputs
        ga = gy / b
        gb = sum_to(-ga * a / b, b.shape) if self.needs_input_grad[1] else None
        return sum_to(ga, a.shape), gb


class Neg(Function):
    def forward(self, x): return -x
    def backward(self, gy): return -gy


class Pow(Function):
    """x ** c for a constant exponent c: d/dx = c x^(c-1)."""
    def __init__(self, c): self.c = c
    def forward(self, x): return x ** x.dtype.type(self.c) if x.dtype.kind == "f" else x ** self.c

    def backward(self, gy):
        x = self.inputs[0]
        return gy * (self.c * x ** (self.c - 1))


def _binary(op: type, a: Any, b: Any) -> Tensor:
    return op()(_as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b)))


def add(a: Any, b: Any) -> Tensor: return _binary(Add, a, b)
def sub(a: Any, b: Any) -> Tensor: return _binary(Sub, a, b)
def mul(a: Any, b: Any) -> Tensor: return _binary(Mul, a, b)
def div(a: Any, b: Any) -> Tensor: return _binary(Div, a, b)
def neg(x: Tensor) -> Tensor: return Neg()(x)


def pow(x: Tensor, c: Any) -> Tensor:
    if isinstance(c, Tensor):  # x ** t = exp(t log x), differentiable in both
        return exp(c * log(x))
    return Pow(float(c) if not isinstance(c, (int, float)) else c)(x)


# =======================================================================================
# Matrix products
# =======================================================================================
class MatMul(Function):
    """y = a @ b. For a loss L: dL/da = gy @ b^T and dL/db = a^T @ gy (batch dims broadcast)."""
    def forward(self, a, b): return a @ b

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        ga = sum_to(matmul(gy, b.transpose(-1, -2)), a.shape) if need_a else None
        gb = sum_to(matmul(a.transpose(-1, -2), gy), b.shape) if need_b else None
        return ga, gb


def matmul(a: Any, b: Any) -> Tensor:
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                         f"({a.shape[-1]} != {b.shape[-2] if b.ndim > 1 else b.shape[0]})")
    if a.ndim == 1:  # (k,) @ (k, n): treat the vector as a (1, k) row
        return reshape(matmul(reshape(a, (1, -1)), b), b.shape[:-2] + b.shape[-1:])
    if b.ndim == 1:  # (m, k) @ (k,): treat the vector as a (k, 1) column
        return reshape(matmul(a, reshape(b, (-1, 1))), a.shape[:-1])
    return MatMul()(a, b)


class Linear(Function):
    """y = x W^T + b, the affine map of nn.Linear, in one node.

    x: (N, in), W: (out, in), b: (out,) -> y: (N, out)
    dL/dx = gy W,   dL/dW = gy^T x,   dL/db = sum over the batch of gy = 1^T gy.
    x W^T uses W's transposed *view*: BLAS reads it in place, nothing is copied (gy^T too).
    A gradient nobody needs is not computed: for the first layer, fed with data, that
    skips the matmul gy W, as large as the forward product.
    """
    def forward(self, x, W, b=None):
        y = x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = matmul(gy, W) if need[0] else None
        gy_rows, x_rows = gy.reshape(-1, gy.shape[-1]), x.reshape(-1, x.shape[-1])
        gW = matmul(gy_rows.T, x_rows) if need[1] else None
        if len(self.inputs) == 2:
            return gx, gW
        gb = None
        if need[2]:  # the batch sum as the product 1^T gy: BLAS is 1.3-2.5x faster than sum(0)
            ones = Tensor(xp_of(gy.data).ones(gy_rows.shape[0], dtype=gy.dtype))
            gb = matmul(ones, gy_rows)
        return gx, gW, gb


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x: (..., in_features), weight: (out_features, in_features), bias: (out_features,)."""
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, but the "
                         f"weight of shape {weight.shape} expects {weight.shape[1]}")
    return Linear()(x, weight) if bias is None else Linear()(x, weight, bias)


# =======================================================================================
# Elementwise functions
# =======================================================================================
class Exp(Function):
    def forward(self, x): return xp_of(x).exp(x)
    def backward(self, gy): return gy * self.output          # (e^x)' = e^x


class Log(Function):
    def forward(self, x): return xp_of(x).log(x)
    def backward(self, gy): return gy / self.inputs[0]       # (log x)' = 1/x


class Sqrt(Function):
    def forward(self, x): return xp_of(x).sqrt(x)
    def backward(self, gy): return gy / (2 * self.output)    # (sqrt x)' = 1 / (2 sqrt x)


class Abs(Function):
    def forward(self, x): return xp_of(x).abs(x)
    def backward(self, gy):
        x = self.inputs[0].data
        return gy * _same_dtype_const(x, xp_of(x).sign(x))


# The four activations below hand their backward to an op of its own ("TanhGrad" is
# PyTorch's tanh_backward). Its forward works on raw arrays, so it can write every pass into
# one fresh array instead of allocating one per Tensor operation (at batch 1024 that is
# about half of an activation's backward time); its backward, in Tensor ops, keeps second
# derivatives exact.
class Sigmoid(Function):
    """sigma(x) = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2, which never overflows."""
    def forward(self, x):
        return (xp_of(x).tanh(x * x.dtype.type(0.5)) + 1) * x.dtype.type(0.5)

    def backward(self, gy): return SigmoidGrad()(gy, self.output)


class SigmoidGrad(Function):
    """dL/dx = gy y (1 - y) for y = sigma(x)  (sigma' = sigma (1 - sigma))."""
    def forward(self, gy, y):
        d = 1 - y                                            # one array, three passes
        d *= y
        d *= gy
        return d

    def backward(self, gg):  # d/dgy = y (1 - y),  d/dy = gy (1 - 2y)
        gy, y = self.inputs
        return gg * y * (1 - y), gg * gy * (1 - 2 * y)


class Tanh(Function):
    def forward(self, x): return xp_of(x).tanh(x)
    def backward(self, gy): return TanhGrad()(gy, self.output)


class TanhGrad(Function):
    """dL/dx = gy (1 - y^2) for y = tanh(x)  (tanh' = 1 - tanh^2)."""
    def forward(self, gy, y):
        d = y * y                                            # one array, three passes
        xp_of(y).subtract(1, d, out=d)
        d *= gy
        return d

    def backward(self, gg):  # d/dgy = 1 - y^2,  d/dy = -2 y gy
        gy, y = self.inputs
        return gg * (1 - y * y), gg * gy * (-2 * y)


class ReLU(Function):
    def forward(self, x): return xp_of(x).maximum(x, 0)
    def backward(self, gy): return LeakyReLUGrad(0.0)(gy, self.inputs[0])


class LeakyReLU(Function):
    """x for x > 0, slope * x otherwise: a small gradient keeps 'dead' units alive.

    For the usual 0 <= slope <= 1 the forward is a maximum, which NumPy runs several times
    faster than ``where`` on data of mixed signs (no branch to mispredict): y = max(x, slope x).
    """
    def __init__(self, slope): self.slope = slope

    def forward(self, x):
        xp, slope = xp_of(x), x.dtype.type(self.slope)
        y = x * slope
        if 0 <= self.slope <= 1:
            return xp.maximum(y, x, out=y)                   # in place: no second array
        return xp.where(x > 0, x, y)

    def backward(self, gy): return LeakyReLUGrad(self.slope)(gy, self.inputs[0])


class LeakyReLUGrad(Function):
    """dL/dx = gy * (1 if x > 0 else slope); ReLU is slope 0.

    The factor is written as a float array, then multiplied in place: [x > 0] as 0.0 / 1.0
    straight into a float array (one pass, where ``(x > 0).astype(...)`` takes two, and
    float * float runs faster than float * bool), then max([x > 0], slope) turns the zeros
    into the slope when 0 < slope <= 1. The factor does not depend on gy and is piecewise
    constant in x, so the second derivative is the same op applied to gg, and 0 for x.
    """
    def __init__(self, slope): self.slope = slope

    def forward(self, gy, x):
        xp, slope = xp_of(x), x.dtype.type(self.slope)
        if 0 <= self.slope <= 1:
            d = xp.greater(x, 0, out=xp.empty_like(x))
            if self.slope > 0:
                xp.maximum(d, slope, out=d)
        else:
            d = xp.where(x > 0, x.dtype.type(1), slope)
        d *= gy                                              # gy's dtype is x's (float)
        return d

    def backward(self, gg): return LeakyReLUGrad(self.slope)(gg, self.inputs[1]), None


class Softplus(Function):
    """log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): finite for any x."""
    def forward(self, x):
        xp = xp_of(x)
        return xp.maximum(x, 0) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy): return gy * sigmoid(self.inputs[0])   # softplus' = sigmoid


class Clip(Function):
    def __init__(self, low, high): self.low, self.high = low, high
    def forward(self, x): return xp_of(x).clip(x, self.low, self.high)

    def backward(self, gy):  # 1 inside the interval, 0 where the value was clipped
        x = self.inputs[0].data
        inside = xp_of(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * _same_dtype_const(x, inside)


def exp(x: Tensor) -> Tensor: return Exp()(x)
def log(x: Tensor) -> Tensor: return Log()(x)
def sqrt(x: Tensor) -> Tensor: return Sqrt()(x)
def abs(x: Tensor) -> Tensor: return Abs()(x)  # noqa: A001 - mirrors torch.abs
def sigmoid(x: Tensor) -> Tensor: return Sigmoid()(x)
def tanh(x: Tensor) -> Tensor: return Tanh()(x)
def relu(x: Tensor) -> Tensor: return ReLU()(x)
def softplus(x: Tensor) -> Tensor: return Softplus()(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    return LeakyReLU(negative_slope)(x)


def log_sigmoid(x: Tensor) -> Tensor:
    """log sigma(x) = -softplus(-x), stable for large |x|."""
    return -softplus(-x)


def clip(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    return Clip(min, max)(x)


clamp = clip


# =======================================================================================
# Reductions
# =======================================================================================
def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axis = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axis)


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


class Sum(Function):
    def __init__(self, axis, keepdims): self.axis, self.keepdims = axis, keepdims
    def forward(self, x): return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):  # every input element contributed once: copy gy back out
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        return broadcast_to(reshape(gy, kept), x.shape)


def _reduce_axis(ufunc, x, axis, keepdims):
    """``ufunc.reduce(x, axis)``, but along one short axis (Maxout's k pieces) as k - 1
    elementwise calls on strided slices: NumPy's reduce over a short inner axis runs a
    tiny loop per output element and is several times slower."""
    if isinstance(axis, int) and x.ndim > 1 and 1 < x.shape[axis] <= 16:
        lead = (slice(None),) * (axis % x.ndim)
        pieces = [x[lead + (i,)] for i in range(x.shape[axis])]      # views, no copies
        out = ufunc(pieces[0], pieces[1])
        for piece in pieces[2:]:
            ufunc(out, piece, out=out)
        return xp_of(x).expand_dims(out, axis) if keepdims else out
    return ufunc.reduce(x, axis=axis, keepdims=keepdims)


class Max(Function):
    """The gradient goes to the maximal element(s); ties share it equally (like torch.amax)."""
    def __init__(self, axis, keepdims, sign): self.axis, self.keepdims, self.sign = axis, keepdims, sign

    def forward(self, x):
        xp = xp_of(x)
        ufunc = xp.maximum if self.sign > 0 else xp.minimum
        return _reduce_axis(ufunc, x, self.axis, self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        winners = x.data == self.output.data.reshape(kept)
        ties = _reduce_axis(xp_of(x.data).add, winners.astype(x.dtype), self.axis, True)
        return broadcast_to(reshape(gy, kept), x.shape) * _same_dtype_const(x.data, winners / ties)


def sum(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Sum(axis, keepdims)(x)


def mean(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
    count = int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))
    return sum(x, axis, keepdims) * (1.0 / count)


def var(x: Tensor, axis: Any = None, keepdims: bool = False, unbiased: bool = True) -> Tensor:
    """Mean squared deviation; divides by n - 1 when ``unbiased`` (torch's default)."""
    count = int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))
    centred = x - mean(x, axis, keepdims=True)
    divisor = count - 1 if unbiased else count
    return sum(centred * centred, axis, keepdims) * (1.0 / builtin_max(divisor, 1))


def max(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max(axis, keepdims, 1)(x)


def min(x: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return Max(axis, keepdims, -1)(x)


import builtins as _builtins  # noqa: E402  (max/min/sum above shadow the builtins)

builtin_max = _builtins.max


# =======================================================================================
# Type and device moves
# =======================================================================================
class Cast(Function):
    def __init__(self, dtype): self.dtype = np.dtype(dtype)
    def forward(self, x): return x.astype(self.dtype)
    def backward(self, gy): return cast(gy, self.inputs[0].dtype)


class ToDevice(Function):
    def __init__(self, device): self.device = device
    def forward(self, x): return backend.to_device(x, self.device)
    def backward(self, gy): return to_device(gy, self.inputs[0].device)


def cast(x: Tensor, dtype: Any) -> Tensor:
    return x if x.dtype == np.dtype(dtype) else Cast(dtype)(x)


def to_device(x: Tensor, device: str) -> Tensor:
    return x if x.device == backend.normalize_device(device) else ToDevice(device)(x)


# =======================================================================================
# Losses (``reduction`` is "mean", "sum" or "none", as in PyTorch)
# =======================================================================================
def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(op: str, x: Tensor, target: Tensor) -> None:
    if x.shape != target.shape:
        raise ValueError(f"{op}: input shape {x.shape} and target shape {target.shape} differ")


_BCE_EPS = float(np.float32(1e-12))  # PyTorch keeps this epsilon as a float32 constant


class BinaryCrossEntropy(Function):
    """-[t log p + (1 - t) log(1 - p)] per element, each log clamped at -100 (as PyTorch),
    so p = 0 or 1 gives a large finite loss instead of inf.

    d/dp = (p - t) / (p (1 - p)), with the denominator kept >= 1e-12 (PyTorch's epsilon).
    """
    def forward(self, p, t):
        xp = xp_of(p)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped: expected
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    def backward(self, gy):
        p, t = self.inputs
        g_p = gy * (p - t) / clip(p * (1 - p), _BCE_EPS, None)
        g_t = gy * (clip(log(1 - p), -100, None) - clip(log(p), -100, None)) \
            if t.requires_grad else None
        return g_p, g_t


def binary_cross_entropy(p: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    """BCE on probabilities p in [0, 1] (after a Sigmoid). Prefer the logits version."""
    target = _as_tensor(target, like=(p,))
    _check_same_shape("binary_cross_entropy", p, target)
    xp = xp_of(p.data)
    if bool(xp.any((p.data < 0) | (p.data > 1))):
        raise ValueError("binary_cross_entropy: input must be probabilities in [0, 1]; "
                         "for raw scores use binary_cross_entropy_with_logits")
    return _reduce(BinaryCrossEntropy()(p, target), reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target: Any,
                                     reduction: str = "mean") -> Tensor:
    """BCE computed from logits x: softplus(x) - t x, which equals
    -[t log sigma(x) + (1 - t) log(1 - sigma(x))] but is finite for any x (1e4 included).
    Its gradient is sigma(x) - t."""
    target = _as_tensor(target, like=(logits,))
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    return _reduce(softplus(logits) - logits * target, reduction)


def mse_loss(x: Tensor, target: Any, reduction: str = "mean") -> Tensor:
    target = _as_tensor(target, like=(x,))
    _check_same_shape("mse_loss", x, target)
    diff = x - target
    return _reduce(diff * diff, reduction)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - log sum exp x, with the max subtracted first (a constant: it cancels exactly)."""
    shift = Tensor(x.data.max(axis=axis, keepdims=True))
    z = x - shift
    return z - log(sum(exp(z), axis, keepdims=True))


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    return exp(log_softmax(x, axis))


def one_hot(labels: Any, num_classes: int, dtype: Any = None) -> Tensor:
    """labels: (N,) ints -> (N, num_classes) float tensor of 0s and 1s."""
    raw = labels.data if isinstance(labels, Tensor) else labels
    xp = xp_of(raw) if hasattr(raw, "shape") else backend.xp()
    raw = xp.asarray(raw)
    if raw.size and (int(raw.min()) < 0 or int(raw.max()) >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got "
                         f"[{int(raw.min())}, {int(raw.max())}]")
    eye = xp.eye(num_classes, dtype=dtype or backend.DEFAULT_DTYPE)
    return Tensor(eye[raw])


def cross_entropy(logits: Tensor, labels: Any, reduction: str = "mean") -> Tensor:
    """Multiclass cross-entropy from logits (N, C) and integer labels (N,)."""
    if logits.ndim != 2:
        raise ValueError(f"cross_entropy: logits must be (N, C), got {logits.shape}")
    target = one_hot(labels, logits.shape[1], logits.dtype)
    return _reduce(-sum(target * log_softmax(logits, 1), 1), reduction)


# =======================================================================================
# Dropout
# =======================================================================================
def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the
    survivors by 1/(1 - p), so the expected value is unchanged and eval needs no rescaling.
    In evaluation it is the identity."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability must be in [0, 1], got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    from tinygan.random import default_generator
    gen = generator or default_generator()
    keep = gen.bernoulli(x.shape, 1.0 - p, dtype=x.dtype)
    return x * _same_dtype_const(x.data, keep * (1.0 / (1.0 - p)))
