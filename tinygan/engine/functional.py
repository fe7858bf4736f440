"""The differentiable operations: each Function with its public function right under it.

Read any class top to bottom: ``forward`` computes y from raw arrays, ``backward`` turns
dL/dy (``gy``, a Tensor) into dL/dx for each input *using Tensor ops*, with the textbook
derivative beside it, so the backward pass is itself differentiable (second derivatives for
free). ``xp`` is NumPy or CuPy, whichever holds the data: nothing here needs to know which.

Two kinds of op live here:
- primitives: a Function with its own forward and backward (Add, MatMul, Exp, Sum, ...),
  then the function that applies it (``add``, ``matmul``, ``exp``, ``sum``);
- composites: plain functions made of other ops, whose gradient comes for free (mean, var,
  log_sigmoid, softmax, the losses built on softplus, norm for p != 2, ...).
Everything here is the plain form. A few ops have a fast form in tinygan/fast/ that computes
the same numbers in fewer passes (the activations' backward as one op, Linear as one node,
max along a short axis): where an op has one, it is picked by ``fast.form(...)``, and the
switch ``tinygan.fast.FUSED = False`` runs the plain forms below instead.

Types follow PyTorch: an elementwise op on two float dtypes gives the wider one (and each
gradient comes back in its input's dtype); a Python number takes the tensor's dtype;
matrix products and BCE refuse mixed dtypes, as PyTorch does.
"""
from __future__ import annotations

import builtins
import warnings
from typing import Any, Sequence

import numpy as np

from tinygan import fast
from tinygan.devices import backend
from tinygan.fast import softmax_kernel, sum_kernel
from tinygan.devices.random import default_generator
from tinygan.engine.fma import VECTOR_BYTES, fused
from tinygan.engine.arguments import flag, index, integer
from tinygan.engine.vector_loop import vector_loop_mask
from tinygan.engine.layout import as_advanced_index_result, as_elementwise_result, \
    copy_preserving, laid_out_like, row_major, suggests_channels_last
from tinygan.engine.tensor import (Function, KernelValue, Tensor, _as_tensor, check_operands,
                                   checked_scalar, is_grad_enabled, number_argument,
                                   result_type, result_type_of, wrap_dim)

__all__ = [
    # shapes
    "broadcast_to", "sum_to", "reshape", "transpose", "getitem", "index_put",
    "take_along_dim", "concatenate", "cat", "stack", "clone",
    # arithmetic and products
    "add", "sub", "mul", "div", "div_rounded", "floor_divide", "remainder", "bitwise_not",
    "maximum", "minimum",
    "neg", "pow", "matmul", "mm", "linear", "where", "lerp",
    # elementwise
    "exp", "log", "log1p", "sqrt", "reciprocal", "abs", "sigmoid", "tanh", "relu", "leaky_relu", "softplus",
    "log_sigmoid", "clip", "clamp",
    # reductions
    "sum", "mean", "var", "std", "amax", "amin", "max", "min", "norm",
    # types and devices
    "cast", "to_device",
    # losses and friends
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "log_softmax",
    "softmax", "one_hot", "cross_entropy", "dropout",
]

xp_of = backend.get_array_module


def _floating(x: Tensor) -> Tensor:
    """The input of a float-valued op (exp, log, sigmoid, true division ...): an int or bool
    tensor is read as the default float dtype first, as PyTorch does (exp of int64 is
    float32, not NumPy's float64; tanh of bool is float32, not float16)."""
    if x.dtype.kind in "fc":
        return x
    return cast(x, backend.DEFAULT_DTYPE)


def _need_float(op: str, x: Tensor) -> None:
    """Ops whose result is only defined for real numbers (mean, var, std, norm, softmax)
    refuse int and bool tensors, as PyTorch does, rather than guess a dtype."""
    if x.dtype.kind not in "fc":
        raise RuntimeError(f"{op}: expected a floating-point tensor, got {x.dtype} (shape "
                           f"{x.shape}); convert it first with .float()")


def refuse_kinds(op: str, x: Tensor, kinds: str) -> None:
    """PyTorch implements some kernels for floats only: leaky_relu, softplus, log_sigmoid
    and nearest resampling refuse int tensors ('iu' in ``kinds``), relu and pow refuse bool
    ('b'). tinygan refuses the same dtypes with PyTorch's message, rather than compute an
    answer PyTorch would not give."""
    if x.dtype.kind in kinds:
        name = backend.TORCH_DTYPE_NAMES.get(x.dtype.name, x.dtype.name)
        raise NotImplementedError(f'"{op}" not implemented for \'{name}\' (a tensor of shape '
                                  f'{x.shape}); convert it first with .float()')


class Keeps(Function):
    """The value itself, as a node that keeps what PyTorch's own (one-node) version of a
    composite op saves for backward: its inputs, and with ``output`` its result. A composite
    (log_softmax = x - log sum exp x) saves only its intermediates, so changing its input or
    result in place before backward would go unnoticed, where PyTorch raises."""
    def __init__(self, output: bool, one_node: bool, name: str, reads_value: bool = True,
                 refuse_later: tuple = (), gives_zeros: bool = False):
        self.saves_output, self.one_node, self.op_name = output, one_node, name
        self.reads_value = reads_value
        self.backward_reads_give_zeros = gives_zeros   # (see Function)
        # (function, argument, tensor): PyTorch's backward function reads the tensor but has
        # no derivative for it, so a backward with create_graph refuses it if it requires
        # grad by then (a class weight given requires_grad_() after the loss was computed)
        self.refuse_later = refuse_later

    efficient_zero_passes = (0,)   # (the value passes: the node is tinygan's, not PyTorch's)

    @property
    def name(self) -> str: return self.op_name   # errors and grad_fn name the composite

    def describe(self, t: Any) -> str:
        return f"{'its output' if t is self._output() else 'an input it keeps'} of {self.name}"

    def saves(self): return range(1, len(self.inputs))   # the watched tensors

    @property
    def backward_reads(self):   # PyTorch's op is one node reading these: with create_graph
        if not self.one_node:                                              # see Function
            return None
        return tuple(range(0 if self.reads_value else 1, len(self.inputs)))
    result_layout = "own"   # the composite's result is laid out as PyTorch's: y's layout
    def forward(self, y, *watched): return copy_preserving(y)   # (its own memory)
    def backward(self, gy):   # (its own memory: writing to it in place is safe)
        for function, argument, t in self.refuse_later:
            refuse_gradient_of(function, argument, t)
        return (gy,) + (None,) * (len(self.inputs) - 1)


def keeps(y: Tensor, *watched: Any, name: str, output: bool = False,
          one_node: bool = True, reads_value: bool = True,
          refuse_later: tuple = (), gives_zeros: bool = False) -> Tensor:
    """``y`` guarded by ``Keeps`` when it is in the graph (see there); else ``y`` itself.
    ``name``: the composite op's, for errors and ``grad_fn``. ``one_node``: PyTorch's op is a
    single node (its gradients require grad when the incoming one, ``y`` or a watched tensor
    does; without ``reads_value``, ``y`` does not count: its backward reads only those).
    ``refuse_later``: (function, argument, tensor) triples, see Keeps. ``gives_zeros``: that
    node's own derivative gives the inputs it reads zeros, not nothing (see Function)."""
    watched = tuple(w for w in watched if isinstance(w, Tensor))
    if not (is_grad_enabled() and y.requires_grad) or not (watched or output):
        return y   # nothing to keep (a BCE without weights: its own op keeps its inputs)
    refuse_later = tuple(r for r in refuse_later if isinstance(r[2], Tensor))
    return Keeps(output, one_node, name, reads_value, refuse_later, gives_zeros)(y, *watched)


def refuse_gradient_of(function: str, argument: str, value: Any) -> None:
    """PyTorch's rule for an argument its derivative formulas leave out (a loss's class
    weights, BatchNorm's running statistics): while autograd records, it may not require
    grad. ``function``: PyTorch's name for the op, which its error gives."""
    if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled():
        raise RuntimeError(f"The function '{function}' is not differentiable with respect to "
                           f"argument '{argument}'. This input cannot have requires_grad "
                           f"True (pass {argument}.detach())")


def in_opmath(x: Any) -> Any:
    """The array a PyTorch kernel computes on: float32 for half data (its "opmath" type: a
    half op is computed in float32 and rounded once), else ``x`` itself."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _same_dtype_const(like: Any, value: Any) -> Tensor:
    """A constant (non-differentiable) Tensor from a raw array, in ``like``'s dtype."""
    return Tensor(xp_of(like).asarray(value, dtype=like.dtype))


# =======================================================================================
# Shapes: broadcasting, reductions back to a shape, reshape, transpose, indexing
# =======================================================================================
class BroadcastTo(Function):
    is_view = True
    def __init__(self, shape): self.shape = tuple(shape)
    def saves(self): return ()
    def forward(self, x): return expanded_as_pytorch(x, self.shape)
    def backward(self, gy): return sum_to(gy, self.inputs[0].shape)  # copies' gradients add up


def expanded_as_pytorch(array: Any, shape: tuple[int, ...]) -> Any:
    """``broadcast_to(array, shape)``, a view whose strides are PyTorch's: a stretched dim
    steps by 0, but a size-1 dim that stays 1 keeps its stride (NumPy gives it 0) and a new
    leading dim of size 1 gets the span of the dim after it. The elements are the same;
    PyTorch's stride tests (view, matmul's fold, the overlap check) read all of them."""
    y = xp_of(array).broadcast_to(array, shape)
    steps, lead = [0] * len(shape), len(shape) - array.ndim
    for i in range(len(shape) - 1, -1, -1):
        if i >= lead and array.shape[i - lead] == shape[i]:
            steps[i] = array.strides[i - lead]
        elif i < lead and shape[i] == 1:
            steps[i] = shape[i + 1] * steps[i + 1] if i + 1 < len(shape) else array.itemsize
    if tuple(steps) == y.strides:
        return y
    return xp_of(array).lib.stride_tricks.as_strided(y, shape, tuple(steps))


def broadcast_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x if x.shape == tuple(shape) else BroadcastTo(shape)(x)


class SumTo(Function):
    """Sum over the axes that broadcasting added or stretched, so a gradient gets back the
    shape of the input it belongs to (e.g. a bias of shape (1, C) used on (N, C))."""
    def __init__(self, shape): self.shape = tuple(shape)
    def saves(self): return ()

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        axes = tuple(range(lead)) + tuple(
            i + lead for i, s in enumerate(self.shape) if s == 1 and x.shape[i + lead] != 1)
        if not axes:
            return x
        if sum_kernel.applies(x, axes):   # PyTorch's order (sum_to is a sum there too)
            y = sum_kernel.pytorch_sum(x, axes, keepdims=True)
        else:
            y = x.sum(axis=axes, keepdims=True)
        return y.reshape(self.shape) if lead else y

    def backward(self, gy): return broadcast_to(gy, self.inputs[0].shape)  # d(sum)/dx_i = 1


def sum_to(x: Tensor, shape: Sequence[int]) -> Tensor:
    return x if x.shape == tuple(shape) else SumTo(shape)(x)


def view_strides(shape: tuple, strides: tuple, new_shape: tuple) -> tuple:
    """The strides PyTorch's view gives ``new_shape`` of an array of ``shape`` and
    ``strides`` (its computeStride; size-1 dims get the span of what follows them), or
    row-major ones where no view exists (reshape copies then)."""
    row_major_steps = [1] * len(new_shape)
    for d in range(len(new_shape) - 2, -1, -1):
        row_major_steps[d] = row_major_steps[d + 1] * new_shape[d + 1]
    if not shape:
        return tuple(row_major_steps)
    out = [0] * len(new_shape)
    view_d, base, tensor_numel, view_numel = len(new_shape) - 1, strides[-1], 1, 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or shape[d - 1] != 1 and strides[d - 1] != tensor_numel * base:
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                out[view_d] = view_numel * base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return tuple(row_major_steps)
            if d > 0:
                base, tensor_numel, view_numel = strides[d - 1], 1, 1
    return tuple(out) if view_d == -1 else tuple(row_major_steps)


class Reshape(Function):
    efficient_zero_passes = (0,)   # (PyTorch: a view of grad: tensor._efficient_zeros)
    is_view = True  # a view whenever the memory allows it (conservatively: always)
    def __init__(self, shape): self.shape = tuple(shape)
    def saves(self): return ()

    def forward(self, x):
        try:
            y = x.reshape(self.shape)
        except ValueError:
            raise ValueError(f"reshape/view: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into {self.shape}") from None
        if y.size and not np.may_share_memory(x, y):
            self.is_view = False   # NumPy had to copy (a transposed input): not a view
        elif y.size and 1 in self.shape and (1 in x.shape or not x.flags.c_contiguous):
            # a size-1 dim's stride is never stepped along, so NumPy and PyTorch choose it
            # differently (from a row-major x with no size-1 dim, both take the row-major
            # one); PyTorch's layout rules read it (engine/layout.py): use its own
            steps = view_strides(x.shape, [st // x.itemsize for st in x.strides], y.shape)
            y = self.restrided(y, [st * x.itemsize for st in steps])
        return y

    @staticmethod
    def restrided(y: Any, strides: Any) -> Any:
        """The same elements of ``y`` (a view) described with other ``strides``."""
        if tuple(strides) == tuple(y.strides):
            return y
        return xp_of(y).lib.stride_tricks.as_strided(y, y.shape, tuple(strides))

    def backward(self, gy): return reshape(gy, self.inputs[0].shape)  # same numbers, old shape


class Unsqueeze(Reshape):
    """x with a new dim of size 1 at ``dim``, as a view. Its stride is PyTorch's choice:
    the span of the dim it is put before (1 element when it is put last)."""
    def __init__(self, shape, dim): self.shape, self.dim = tuple(shape), dim

    def forward(self, x):
        y = x.reshape(self.shape)
        if not y.size or not np.may_share_memory(x, y):
            return y
        d = self.dim
        span = x.shape[d] * x.strides[d] if d < x.ndim else x.itemsize
        return self.restrided(y, tuple(x.strides[:d]) + (span,) + tuple(x.strides[d:]))


class ResultReshape(Reshape):
    """A reshape of an op's own fresh result (PyTorch's ``_unsafe_view``): nobody else holds
    that memory, so the reshaped result is a tensor of its own, not a view. (Were it a view,
    an in-place write into matmul's result would be a write through a view, with that
    op's gradient rules.)"""
    is_view = False


def reshape(x: Tensor, shape: Sequence[int]) -> Tensor:
    shape = tuple(int(s) for s in shape)
    if any(s < -1 for s in shape) or shape.count(-1) > 1:
        raise ValueError(f"reshape/view: invalid shape {shape} for a tensor of shape "
                         f"{x.shape}: sizes must be >= 0, with at most one -1")
    return x if x.shape == shape else Reshape(shape)(x)


class Transpose(Function):
    efficient_zero_passes = (0,)   # (PyTorch: a view of grad: tensor._efficient_zeros)
    is_view = True
    def __init__(self, axes): self.axes = None if axes is None else tuple(axes)
    def saves(self): return ()
    def forward(self, x): return x.transpose(self.axes)  # a view: nothing is copied

    def backward(self, gy):
        if self.axes is None:
            return transpose(gy, None)
        return transpose(gy, tuple(np.argsort(self.axes)))  # the inverse permutation


def transpose(x: Tensor, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them when ``axes`` is None). Negative axes count from the
    end; they are made non-negative first, so the backward's inverse permutation is right."""
    if axes is not None:
        axes = tuple(wrap_dim(a, x.ndim, "permute") for a in axes)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"permute: {axes} is not an order of the {x.ndim} dims of a "
                             f"tensor of shape {x.shape}")
    return Transpose(axes)(x)


class GetItem(Function):
    result_layout = "own"   # (a gather index: see _laid_out_as_pytorch_index)

    def __init__(self, index):
        self.index = index
        self.is_view = _is_basic_index(index)  # slices and ints give views, arrays copies
        if self.is_view and not _has_ellipsis(index):
            # x[2] of a 1-D array is a NumPy scalar (a copy); x[2, ...] is a 0-d view
            self.view_index = (index if isinstance(index, tuple) else (index,)) + (Ellipsis,)
        else:
            self.view_index = index
    # index tensors come as extra inputs, kept (PyTorch's index keeps them: changing one in
    # place before backward is refused), with no gradient
    def saves(self): return range(1, len(self.inputs))
    def forward(self, x, *index_tensors):
        if self.is_view and isinstance(self.view_index, tuple):
            return cut_as_pytorch(x, self.view_index)   # (PyTorch's strides for new axes)
        if self.is_view or self.result_layout == "row-major":
            return x[self.view_index]
        return _laid_out_as_pytorch_index(x, self.view_index)

    def backward(self, gy):
        return (GetItemGrad(self.index, self.inputs[0].shape)(gy),) + \
            (None,) * (len(self.inputs) - 1)


class GetItemGrad(Function):
    """Scatter a gradient back into a zero array of the input's shape (repeated indices
    add up). Its own gradient is just indexing again."""
    def __init__(self, index, shape): self.index, self.shape = index, shape
    def saves(self): return ()

    def forward(self, gy):
        gx = xp_of(gy).zeros(self.shape, dtype=gy.dtype)
        backend.scatter_add(gx, self.index, gy)
        return gx

    def backward(self, ggx): return getitem(ggx, self.index)


def _laid_out_as_pytorch_index(x: Any, index: Any) -> Any:
    """x[index] for an index with arrays (a gather), laid out as PyTorch's result
    (engine/layout.py): the basic parts (ints, slices, None, ...) cut x first, a bool mask
    stands for its nonzero() columns, and each array keeps the dim it indexes."""
    items = index if isinstance(index, tuple) else (index,)
    result = x[index]
    if any(isinstance(i, bool) for i in items) or builtins.sum(i is Ellipsis for i in items) > 1:
        return result
    xp = xp_of(x)
    arrays = [None if i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
              else xp.asarray(i) for i in items]
    spelled = builtins.sum(0 if i is None or i is Ellipsis else
                           a.ndim if a is not None and a.dtype == np.bool_ else 1
                           for i, a in zip(items, arrays))
    basic, positions, indices = [], [], []
    for item, a in zip(items, arrays):
        if item is Ellipsis:
            basic += [slice(None)] * (x.ndim - spelled)
        elif a is None or a.ndim == 0 and a.dtype != np.bool_:   # (a 0-d array: an int)
            basic.append(item if a is None else int(a))
        elif a.dtype == np.bool_:   # as torch.nonzero's columns (strides: the mask's ndim)
            found = xp.stack(xp.nonzero(a), axis=1) if a.ndim else None
            if found is None:
                return result
            for j in range(a.ndim):
                positions.append(builtins.sum(1 for b in basic if b is None or
                                              isinstance(b, slice)))
                indices.append(found[:, j])
                basic.append(slice(None))
        else:
            positions.append(builtins.sum(1 for b in basic if b is None or isinstance(b, slice)))
            indices.append(a)
            basic.append(slice(None))
    if not indices:
        return result
    return as_advanced_index_result(result, cut_as_pytorch(x, tuple(basic)), positions,
                                    indices)


def cut_as_pytorch(array: Any, raw: tuple) -> Any:
    """``array[raw]`` for a basic index, as a view whose strides are PyTorch's: a new axis
    (None) gets the span of the dim it is put before (1 element when last), where NumPy
    gives 0. The elements are the same either way; the overlap check compares strides,
    size-1 dims included, as PyTorch does."""
    if not any(item is None for item in raw) or any(isinstance(item, bool) for item in raw):
        return array[raw if Ellipsis in raw else raw + (Ellipsis,)]
    spelled = len([item for item in raw if item is not None and item is not Ellipsis])
    if Ellipsis in raw:
        at = raw.index(Ellipsis)
        raw = raw[:at] + (slice(None),) * (array.ndim - spelled) + raw[at + 1:]
    cur, d = array, 0   # d: the dim of ``cur`` the next item applies to
    for item in raw:
        if item is None:
            span = cur.shape[d] * cur.strides[d] if d < cur.ndim else cur.itemsize
            cur = xp_of(cur).lib.stride_tricks.as_strided(
                cur, cur.shape[:d] + (1,) + cur.shape[d:],
                cur.strides[:d] + (span,) + cur.strides[d:])
            d += 1
        else:   # (with ... last, an int index down to 0-d stays a view, not a scalar)
            cur = cur[(slice(None),) * d + (item, Ellipsis)]
            d += 0 if isinstance(item, (int, np.integer)) else 1
    return cur


def _raw_index(index: Any) -> Any:
    if isinstance(index, Tensor):
        return index.array
    if isinstance(index, tuple):
        return tuple(i.array if isinstance(i, Tensor) else i for i in index)
    return index


def _has_ellipsis(index: Any) -> bool:
    return any(i is Ellipsis for i in (index if isinstance(index, tuple) else (index,)))


def _is_basic_index(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis
               for i in parts)


def _positive_steps(index: Any) -> None:
    """x[::-1] is refused, as in PyTorch (a tensor view cannot walk memory backwards):
    index with a reversed arange instead, x[tinygan.arange(n - 1, -1, -1)]."""
    for part in (index if isinstance(index, tuple) else (index,)):
        if isinstance(part, slice) and part.step is not None and part.step <= 0:
            raise ValueError("step must be greater than zero (x[::-1] is not supported, as "
                             "in PyTorch; index with tinygan.arange(n - 1, -1, -1) instead)")


def _index_tensors(index: Any) -> tuple:
    """The tensors of an index that an indexing node keeps (a 0-d integer tensor reads as
    an int)."""
    return tuple(p for p in (index if isinstance(index, tuple) else (index,))
                 if isinstance(p, Tensor) and not (p.ndim == 0 and p.dtype.kind in "iu"))


def getitem(x: Tensor, index: Any) -> Tensor:
    _positive_steps(index)
    return GetItem(_raw_index(index))(x, *_index_tensors(index))


class IndexPut(Function):
    """y = x with y[index] = v (what ``x[index] = v`` computes, out of place).
    dL/dx = gy with the overwritten places zeroed; dL/dv = gy[index], summed to v's shape."""
    def __init__(self, index): self.index = index
    # index tensors come as extra inputs, kept as GetItem keeps them (PyTorch's
    # IndexPutBackward0 saves them: changing one in place before backward is refused)
    def saves(self): return range(2, len(self.inputs))

    def forward(self, x, v, *index_tensors):
        y = x.copy()
        try:
            y[self.index] = v
        except (ValueError, TypeError):   # NumPy's broadcast errors (TypeError: a mask as
            # wide as x, a value of 2+ dims), as PyTorch's RuntimeError
            raise RuntimeError(f"setitem: shape mismatch: value tensor of shape {v.shape} "
                               f"cannot be broadcast to indexing result of shape "
                               f"{y[self.index].shape}") from None
        return y

    def backward(self, gy):
        x, v = self.inputs[:2]
        kept = xp_of(gy.array).ones(x.shape, dtype=bool)
        kept[self.index] = False     # chosen, not multiplied: a NaN there stays out of dL/dx
        return (where(kept, gy, 0.0), sum_to(getitem(gy, self.index), v.shape)) + \
            (None,) * (len(self.inputs) - 2)


def _index_put_casts(index: Any, value: Tensor) -> bool:
    """Whether PyTorch's ``x[index] = value`` casts a Tensor value to x's dtype. A basic
    index (ints, slices, None, ..., a 0-d integer tensor, which PyTorch reads as an int)
    copies the value in, casting it. Any other part (a list, an integer tensor, a bool mask)
    sends it to index_put_, which requires the dtypes to match, except in its one fast
    path: a single bool mask (1-d or more) and a one-element value become masked_fill_."""
    def as_int(part: Any) -> bool:
        return isinstance(part, Tensor) and part.ndim == 0 and part.dtype.kind in "iu"

    def is_mask(part: Any) -> bool:
        if isinstance(part, Tensor):
            return part.dtype == np.bool_ and part.ndim > 0
        return isinstance(part, list) and bool(part) and all(isinstance(b, bool) for b in part)

    parts = index if isinstance(index, tuple) else (index,)
    advanced = [p for p in parts if not (_is_basic_index(p) or as_int(p))]
    return not advanced or (len(advanced) == 1 and is_mask(advanced[0]) and value.numel() == 1)


def index_put(x: Tensor, index: Any, value: Any) -> Tensor:
    """A copy of x with ``value`` written at ``index`` (composite-free: one primitive)."""
    _positive_steps(index)
    if isinstance(value, Tensor) and value.dtype != x.dtype and not _index_put_casts(index,
                                                                                     value):
        raise RuntimeError(f"index_put: Index put requires the source and destination dtypes "
                           f"match, got {x.dtype} for the destination and {value.dtype} for "
                           f"the source; convert the value with .to({x.dtype})")
    value = _as_tensor(value, like=(x,))
    if value.dtype != x.dtype:
        value = cast(value, x.dtype)
    return IndexPut(_raw_index(index))(x, value, *_index_tensors(index))


def take_along_dim(x: Tensor, indices: Tensor, dim: int) -> Tensor:
    """x's elements at ``indices`` along ``dim`` (indices of x's ndim), as
    numpy.take_along_axis. Composite: indexing with open grids, so its gradient is
    GetItem's scatter."""
    idx = indices.array if isinstance(indices, Tensor) else indices
    xp = xp_of(idx)
    grids = list(xp.ix_(*[xp.arange(s) for s in idx.shape]))
    grids[wrap_dim(dim, x.ndim, "take_along_dim")] = idx
    gather = GetItem(tuple(grids))
    gather.result_layout = "row-major"   # (PyTorch's take_along_dim is a gather: row-major)
    return gather(x)


class Clone(Function):
    """A copy in new memory, laid out as PyTorch's clone lays it out (a transposed tensor's
    clone is transposed too: engine/layout.py), or row-major (``contiguous()``); the
    gradient passes through unchanged."""
    efficient_zero_passes = (0,)   # (PyTorch: grad itself: tensor._efficient_zeros)
    result_layout = "own"

    def __init__(self, row_major: bool = False, like: Any = None):
        self.row_major, self.like = row_major, like   # like: an image op's source array
    def saves(self): return ()

    def forward(self, x):
        if self.like is not None:   # as PyTorch lays out an image op's result (layout.py)
            return laid_out_like(x.copy(order="C"), self.like)
        return x.copy(order="C") if self.row_major else copy_preserving(x)
    def backward(self, gy): return gy                       # d copy(x)/dx = 1


def clone(x: Tensor, memory_format: Any = None) -> Tensor:
    """A copy (``memory_format=tinygan.contiguous_format``: a row-major one)."""
    return Clone(row_major=memory_format == "contiguous_format")(x)


class Concatenate(Function):
    result_layout = "own"
    def __init__(self, axis): self.axis = axis
    @property
    def efficient_zero_passes(self): return range(len(self.inputs))   # (views of grad)
    def saves(self): return ()
    def forward(self, *xs):
        # PyTorch's cat: channels-last when every input suggests it, else row-major
        xp = xp_of(xs[0])
        if not all(suggests_channels_last(x) for x in xs):
            return row_major(xp.concatenate(xs, axis=self.axis))
        shape = list(xs[0].shape)
        shape[self.axis] = builtins.sum(x.shape[self.axis] for x in xs)
        stored = [0] + list(range(2, len(shape))) + [1]    # (N, H, W, C) or (N, D, H, W, C)
        out = xp.empty([shape[d] for d in stored], xs[0].dtype)
        return xp.concatenate(xs, axis=self.axis,
                              out=out.transpose([stored.index(d) for d in range(len(shape))]))

    def backward(self, gy):  # each input gets its own slice of gy back
        grads, start = [], 0
        for x in self.inputs:
            index = [slice(None)] * gy.ndim
            index[self.axis] = slice(start, start + x.shape[self.axis])
            grads.append(getitem(gy, tuple(index)))
            start += x.shape[self.axis]
        return tuple(grads)


def _tensor_sequence(op: str, tensors: Any) -> None:
    """cat and stack take a tuple or list of tensors, as PyTorch's (a tensor alone, or a
    number among them, is a TypeError there)."""
    if not isinstance(tensors, (tuple, list)):
        raise TypeError(f"{op}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not {type(tensors).__name__}; write {op}([x, y])")
    for k, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}(): expected Tensor as element {k} in argument 0, but got "
                            f"{type(t).__name__}")


def concatenate(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    _tensor_sequence("cat", tensors)
    if any(t.ndim != 1 or t.shape[0] for t in tensors if isinstance(t, Tensor)):
        # PyTorch skips 1-D empty tensors (shape (0,)) among others: cat([x, tensor([])]);
        # their dtypes still count in the result's (cat([int64 [1], float32 []]) is float32)
        wide = _cat_dtype([_as_tensor(t, like=tensors) for t in tensors])
        kept = [t for t in tensors if not (isinstance(t, Tensor) and t.shape == (0,))] \
            or list(tensors)[:1]
        skipped = [t for t in tensors if isinstance(t, Tensor) and t.requires_grad and
                   all(t is not k for k in kept)]
        out = _concatenate([cast(_as_tensor(t, like=tensors), wide) for t in kept], dim,
                           axis=axis)
        # ... and so does their requires_grad: the result leads back to them (an empty
        # gradient each)
        return SkippedEmpties()(out, *skipped) if skipped and is_grad_enabled() else out
    return _concatenate(tensors, dim, axis=axis)


class SkippedEmpties(Function):
    """cat's result, also leading back to the 1-D empty tensors it skipped (each gets an
    empty gradient), so it requires grad when one of them does, as in PyTorch."""
    def saves(self): return ()
    def forward(self, y, *empties): return y.copy()

    def backward(self, gy):
        xp = xp_of(gy.array)
        return (gy,) + tuple(Tensor(xp.zeros(t.shape, t.dtype)) for t in self.inputs[1:])


def _cat_dtype(tensors: Sequence[Tensor]) -> Any:
    """PyTorch's promotion of cat's inputs, pairwise (each as a dimensioned tensor)."""
    wide = tensors[0].dtype
    for t in tensors[1:]:
        wide = result_type(Tensor(np.empty((1,) * builtins.max(t.ndim, 1), wide)), t)
    return wide


def _concatenate(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    axis = dim if axis is None else axis
    tensors = [_as_tensor(t, like=tensors) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ndim = tensors[0].ndim
    wrap_dim(axis, ndim, "cat")
    if len({t.dtype for t in tensors}) > 1:             # PyTorch's promotion, pairwise
        wide = _cat_dtype(tensors)
        tensors = [cast(t, wide) for t in tensors]
    for t in tensors[1:]:
        rest = [s for i, s in enumerate(t.shape) if i != axis % ndim]
        first = [s for i, s in enumerate(tensors[0].shape) if i != axis % ndim]
        if t.ndim != ndim or rest != first:
            raise ValueError(f"concatenate: shapes {[x.shape for x in tensors]} differ "
                             f"outside axis {axis}")
    return Concatenate(axis % ndim)(*tensors)


cat = concatenate


def stack(tensors: Sequence[Tensor], dim: int = 0, *, axis: int | None = None) -> Tensor:
    """Join same-shaped tensors along a new dim, as PyTorch's: before the last dim, cat
    along ``dim`` and split it in two (in cat's memory, so the result is laid out as cat
    lays it out: channels-last inputs give a channels-last-like result); at the end,
    unsqueeze each and cat."""
    _tensor_sequence("stack", tensors)
    axis = dim if axis is None else axis
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    axis = wrap_dim(axis, tensors[0].ndim + 1, "stack")
    shape = tensors[0].shape
    if axis == len(shape) or builtins.any(t.shape != shape for t in tensors):
        return concatenate([t.unsqueeze(axis) for t in tensors], axis)   # (it names shapes)
    joined = concatenate(tensors, axis)
    return _Stacked(shape[:axis] + (len(tensors),) + shape[axis:])(joined)


class _Stacked(Function):
    """cat's result with its dim split in two, for stack: cat's memory, not copied, but not
    a view of it in the graph. PyTorch's stack is one op (StackBackward0), so an in-place
    write into its result is an ordinary in-place write, not one through a view."""
    result_layout = "own"
    def __init__(self, shape: tuple) -> None: self.shape = shape
    def saves(self): return ()
    def forward(self, joined): return joined.reshape(self.shape)
    def backward(self, gy): return gy.reshape(self.inputs[0].shape)


# =======================================================================================
# Arithmetic (with broadcasting: each gradient is summed back to its input's shape)
# =======================================================================================
def _binary(op: Any, a: Any, b: Any, name: str = "") -> Tensor:
    check_operands(name or op.__name__.lower(), a, b)   # (Add: add)
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.dtype == b.dtype:
        return op()(a, b)
    wide = result_type(a, b)
    fn = op()
    out = fn(cast(a, wide), cast(b, wide))   # Cast's backward returns each input's dtype
    if out.creator is not fn:
        return out
    # the op keeps the cast copies; PyTorch keeps the tensors it was given, so an in-place
    # change to one of them before backward is caught there: watch those too
    return keeps(out, *(t for i, t in enumerate((a, b)) if i in fn.saves()), name=fn.name,
                 one_node=False)


def _same_dtype(op: str, *tensors: Tensor) -> None:
    """Matrix products and BCE refuse mixed dtypes, as PyTorch does."""
    dtypes = [t.dtype for t in tensors]
    if len(set(dtypes)) > 1:
        raise RuntimeError(f"{op}: expected all inputs to have the same dtype, got "
                           f"{', '.join(str(d) for d in dtypes)} (shapes "
                           f"{', '.join(str(t.shape) for t in tensors)}); convert one with "
                           f".float() or .double()")


class Add(Function):
    efficient_zero_passes = (0, 1)   # (PyTorch: grad, grad: tensor._efficient_zeros)
    elementwise = True
    def saves(self): return ()  # the gradient of a sum needs no values, only shapes
    def forward(self, a, b): return a + b

    def backward(self, gy):  # d(a + b)/da = d(a + b)/db = 1
        a, b = self.inputs      # (b's first, as PyTorch's generated backward: see Mul)
        gb = sum_to(gy, b.shape)
        return sum_to(gy, a.shape), gb


def add(a: Any, b: Any) -> Tensor: return _binary(Add, a, b)


class Sub(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad; b's -grad is computed: _efficient_zeros)
    elementwise = True
    def saves(self): return ()
    def forward(self, a, b): return a - b

    def backward(self, gy):  # d(a - b)/da = 1,  d(a - b)/db = -1
        a, b = self.inputs      # (b's first, as PyTorch's generated backward: see Mul)
        gb = sum_to(-gy, b.shape)
        return sum_to(gy, a.shape), gb


def sub(a: Any, b: Any) -> Tensor:
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        a, b = Tensor(a) if not isinstance(a, Tensor) else a, Tensor(b) if not isinstance(
            b, Tensor) else b
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise RuntimeError(f"sub: subtraction with a bool tensor is not supported (shapes "
                           f"{a.shape}, {b.shape}); to invert a mask use ~mask or "
                           f"logical_not(), to compare masks use ^ (xor)")
    return _binary(Sub, a, b)


class ScaledAdd(Function):
    """y = a + alpha b (``add(a, b, alpha=)``; ``sub`` passes -alpha), the product and the
    sum rounded once, as PyTorch's kernel computes it (a fused multiply-add: engine/fma.py),
    alpha in the result's dtype. dy/da = 1, dy/db = alpha."""
    efficient_zero_passes = (0, 1)   # (PyTorch: grad, grad * alpha: tensor._efficient_zeros)
    result_layout = "elementwise"   # (built row-major: see Function)
    def __init__(self, alpha: Any, negated: bool = False):
        self.alpha, self.negated = alpha, negated
    def saves(self): return ()

    def forward(self, a, b):
        work_a, work_b = in_opmath(a), in_opmath(b)
        alpha = -self.alpha if self.negated else self.alpha
        if a.dtype.kind not in "fc":   # integers wrap around, as C's (-2 as a uint8 is 254)
            return a + b * xp_of(b).asarray(alpha).astype(b.dtype)
        # (alpha is rounded to the tensors' dtype first: a half's alpha is a half)
        scale = work_b.dtype.type(b.dtype.type(alpha))
        y = fused(work_b, scale, work_a).astype(a.dtype, copy=False)
        if a.dtype != np.float16:
            return y
        # half: PyTorch's vector loop (whole vectors of a row) works in float32 as above, its
        # scalar loop (the rest) in half arithmetic, rounding the product first
        # (which elements each loop takes: engine/vector_loop.py; a turn of its vector loop
        # takes one vector of halves, measured)
        scalar = xp_of(y).broadcast_to(a + b.dtype.type(alpha) * b, y.shape)
        if not y.ndim:
            return scalar.copy()
        vector = vector_loop_mask(y.shape, [a, b], a.itemsize, VECTOR_BYTES // a.itemsize)
        return xp_of(y).where(vector, y, scalar)

    def backward(self, gy):  # PyTorch's: grad for a; grad * alpha (or -grad * alpha) for b
        a, b = self.inputs
        gb = sum_to((-gy if self.negated else gy) * self.alpha, b.shape) \
            if self.needs_input_grad[1] else None
        return sum_to(gy, a.shape), gb


def scaled_add(a: Tensor, b: Tensor, alpha: Any, negated: bool = False) -> Tensor:
    """a + alpha b (or a - alpha b) in one rounding; a and b of one dtype."""
    return ScaledAdd(alpha, negated)(a, b)


class Mul(Function):
    efficient_zero_passes = (0, 1)   # (PyTorch: grad * b, grad * a: tensor._efficient_zeros)
    elementwise = True
    def saves(self):  # a's gradient reads b, b's reads a
        need_a, need_b = self.needs_input_grad
        return (1,) * need_a + (0,) * need_b

    def forward(self, a, b): return a * b

    def backward(self, gy):  # d(ab)/da = b,  d(ab)/db = a; only the gradients needed
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        # b's gradient is made first, as in PyTorch's generated backward. The values are the
        # same either way, but with create_graph the order the new nodes are made in is the
        # order a second backward runs them (newest first), and so the order in which it
        # adds up the contributions to a tensor: float32 sums round differently by order
        gb = sum_to(gy * a, b.shape) if need_b else None
        return (sum_to(gy * b, a.shape) if need_a else None), gb


def mul(a: Any, b: Any) -> Tensor:
    if not isinstance(a, Tensor) and _half_and_number(b, a):   # 0.3 * x: x.__rmul__(0.3),
        return _half_by(b, a, divide=False)   # the number second (a 0-d tensor first is
        # made half first in PyTorch: its kernel reads only a second operand as a scalar)
    if _half_and_number(a, b):
        return _half_by(a, b, divide=False)
    if isinstance(a, Tensor) and _half_and_number(b, a):
        return ScalarFirstByHalf()(a, b)
    return _binary(Mul, a, b)


class ScalarFirstByHalf(Function):
    """s * x for a 0-d tensor s (not half) first and a half x: PyTorch's kernel reads only a
    second operand as a float32 scalar, so the forward rounds s to half and multiplies in
    half; but x's gradient, g * s, has s second: float32 there (HalfByNumber's rule).
    s's gradient sum(g x), in half, then s's dtype."""
    elementwise = True
    def forward(self, s, x):
        return (x.astype(np.float32) * np.float32(x.dtype.type(s))).astype(x.dtype)

    def backward(self, gy):
        s, x = self.inputs
        need_s, need_x = self.needs_input_grad
        gx = _half_by(gy, s, divide=False) if need_x else None
        gs = cast(sum(gy * x), s.dtype) if need_s else None
        return gs, gx


def _half_by(x: Tensor, s: Any, divide: bool) -> Tensor:
    """x * s or x / s, x half and s a number or a 0-d tensor of another dtype: HalfByNumber,
    or HalfByScalar where s is a tensor that requires grad (it then needs its gradient)."""
    if isinstance(s, Tensor) and s.requires_grad and is_grad_enabled():
        return HalfByScalar(divide)(x, s)
    return HalfByNumber(_number_of(s), divide)(x)


class HalfByScalar(Function):
    """HalfByNumber's arithmetic where s is a 0-d tensor that requires grad (PyTorch reads
    such a tensor as a float32 too: measured, 914 of 4,000 half products differed when it
    was rounded to half first). Gradients as PyTorch's: x's by the same kernel, g * s (or
    g / s); s's sum(g x) (or -sum(g x / s^2)), the products in half, then s's dtype."""
    elementwise = True
    def __init__(self, divide: bool) -> None:
        self.divide = divide

    def forward(self, x, s):
        work, scalar = x.astype(np.float32), np.float32(s)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return (work / scalar if self.divide else work * scalar).astype(x.dtype)

    def backward(self, gy):
        x, s = self.inputs
        need_x, need_s = self.needs_input_grad
        gx = HalfByScalar(self.divide)(gy, s) if need_x else None
        gs = None
        if need_s:
            products = gy * x
            if self.divide:   # d(x / s)/ds = -x / s^2: (-g x) / (s s), s s a float32 scalar
                products = HalfByScalar(True)(-products, s * s)
            gs = cast(sum(products), s.dtype)
        return gx, gs


class HalfByNumber(Function):
    """x * s or x / s for a half tensor x and a number s (a Python number, or a 0-d tensor
    of another dtype): PyTorch's CPU kernel keeps s as a float32 (its arithmetic type for
    half) rather than rounding it to half first, and rounds the float32 result to half
    once; its gradient, g * s or g / s, is the same kernel. (0.3 is 0.2998 in half, and
    the product of a half and that differs in the last bit about one time in five.)"""
    elementwise = True
    def __init__(self, number: float, divide: bool) -> None:
        self.number, self.divide = number, divide

    def saves(self): return ()

    def forward(self, x):
        s, work = np.float32(self.number), x.astype(np.float32)
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            return (work / s if self.divide else work * s).astype(x.dtype)

    def backward(self, gy): return HalfByNumber(self.number, self.divide)(gy)


def _half_and_number(x: Any, number: Any) -> bool:
    """Whether PyTorch computes x * number (or x / number, x // number) by HalfByNumber's
    rule: x a half tensor with dims, the number second, a Python int or float or a 0-d
    tensor of another dtype, one that requires grad too (PyTorch's kernel reads it as a
    float32 all the same: measured, 4,000 values); else it is made half first, as any
    operand."""
    if not isinstance(x, Tensor) or x.dtype != np.float16:
        return False
    if isinstance(number, Tensor):
        return number.ndim == 0 and x.ndim > 0 and number.dtype != np.float16 and \
            number.dtype.kind in "iuf"
    return isinstance(number, (int, float, np.integer, np.floating)) and \
        not isinstance(number, (bool, np.bool_))


def _number_of(number: Any) -> float:
    return float(number.item()) if isinstance(number, Tensor) else float(number)


class Div(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad / b; b's is computed: _efficient_zeros)
    elementwise = True
    def saves(self): return (0, 1) if self.needs_input_grad[1] else (1,)
    def forward(self, a, b): return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b ; d(a/b)/db = -a/b^2
        a, b = self.inputs      # (written as PyTorch does, -gy ((a / b) / b): the order
        gb = None               # decides the rounding, and the NaN or inf at b = 0; b's
        if self.needs_input_grad[1]:    # first, and its quotient before -gy, as PyTorch's
            quotient = (a / b) / b      # compiled backward makes them: see Mul)
            gb = sum_to(-gy * quotient, b.shape)
        ga = gy / b
        return sum_to(ga, a.shape), gb


class Reciprocal(Function):
    """1 / x. It keeps its result, not x: d(1/x)/dx = -1/x^2 = -y^2. Python's ``2 / t`` is
    2 * reciprocal(t) (PyTorch's ``__rtruediv__``), so changing t in place before backward
    is fine there, as in PyTorch, where ``a / t`` would refuse."""
    elementwise = True
    saves_output = True
    def saves(self): return ()
    def forward(self, x): return 1 / x
    def backward(self, gy): return -gy * (self.output * self.output)


def reciprocal(x: Tensor) -> Tensor:
    """1 / x elementwise; ints and bools give the default float dtype, as PyTorch."""
    return Reciprocal()(_floating(x))


def div(a: Any, b: Any) -> Tensor:
    """True division: two int/bool operands give the default float dtype (7 / 2 = 3.5)."""
    if all(v.dtype.kind not in "fc" if isinstance(v, Tensor) else
           isinstance(v, (bool, int, np.integer)) for v in (a, b)):
        # both integers: the tensors become floats first, so a Python number becomes that
        # float as itself (a uint8 tensor / -2 is -0.5, as PyTorch's, not 1 / 254)
        a, b = (_floating(v) if isinstance(v, Tensor) else v for v in (a, b))
    if _half_and_number(a, b):
        return _half_by(a, b, divide=True)
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.dtype.kind not in "fc" and b.dtype.kind not in "fc":
        a, b = _floating(a), _floating(b)
    return _binary(Div, a, b)


class DivRounded(Function):
    """a / b rounded toward zero ("trunc") or down ("floor"). The result is a step function
    of a and b, so both gradients are 0, as in PyTorch's ``div(rounding_mode=)``; its
    ``//`` (floor_divide) has no derivative at all in PyTorch, so ``differentiable=False``
    makes backward refuse, as PyTorch's does."""
    elementwise = True
    def __init__(self, mode, differentiable=True):
        self.mode, self.differentiable = mode, differentiable

    def saves(self):
        # What PyTorch's div(rounding_mode=) keeps, though its gradients are zeros: b for
        # a's formula, a and b for b's (so changing them in place before backward is
        # refused there, and here). A Python number for b is no tensor anyone can change.
        # floor_divide's backward refuses at once and keeps nothing.
        if not self.differentiable:
            return ()
        return (0, 1) if self.needs_input_grad[1] else (1,)

    def forward(self, a, b):
        xp = xp_of(a)
        if a.dtype.kind not in "fc" and a.size and b.size and not bool((b != 0).all()):
            # (PyTorch raises as it computes an element: an empty result computes none)
            raise RuntimeError("ZeroDivisionError: div, an integer division by zero")
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.mode == "floor":   # Python's floor division: exact, from fmod (7.0 // 0.1)
                return xp.floor_divide(a, b)
            if a.dtype.kind in "fc":
                return xp.trunc(xp.true_divide(a, b))
            q = xp.floor_divide(a, b)  # ints: floor, then one step up where it rounded down
            return (q + ((q < 0) & (q * b != a))).astype(a.dtype)

    def backward(self, gy):
        if not self.differentiable:
            raise RuntimeError("the derivative of floor_divide (a // b) is not implemented, as "
                               "in PyTorch; use torch.div(a, b, rounding_mode='floor'), whose "
                               "gradient is 0")
        a, b = self.inputs
        xp = xp_of(gy.array)
        return Tensor(xp.zeros(a.shape, a.dtype)), Tensor(xp.zeros(b.shape, b.dtype))


def div_rounded(a: Any, b: Any, rounding_mode: str) -> Tensor:
    """PyTorch's ``div(a, b, rounding_mode=)``: ints stay ints (7 // 2 = 3, -7 // 2 = -4)."""
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                         f"but found {rounding_mode!r}")
    return _rounded(DivRounded(rounding_mode), "div", a, b)


def floor_divide(a: Any, b: Any) -> Tensor:
    """a // b: rounded down, as Python's floats and ints (no derivative, as in PyTorch)."""
    return _rounded(DivRounded("floor", differentiable=False), "div_floor", a, b)


def _rounded(op: Function, name: str, a: Any, b: Any) -> Tensor:
    if isinstance(op, DivRounded) and _half_and_number(a, b):
        # a half tensor divided by a number or a 0-d tensor (one that requires grad too):
        # PyTorch's kernel works in float32 (the number kept a float32, not rounded to
        # half) and rounds the result to half once (its remainder rounds the number to
        # half first: measured, 2,000 values each)
        divisor = cast(b, np.float32) if isinstance(b, Tensor) else \
            _as_tensor(np.float32(_number_of(b)))
        return cast(_rounded(op, name, cast(a, np.float32), divisor), np.float16)
    given = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    wide = result_type(*given)
    a, b = cast(given[0], wide), cast(given[1], wide)
    refuse_kinds(name, a, "b")
    out = op(a, b)
    # the op keeps its cast copies; PyTorch keeps the tensors it was given, so changing one
    # of those in place before backward is refused there: watch them (as _binary does)
    watched = [t for i, (t, used) in enumerate(zip(given, (a, b)))
               if t is not used and out.creator is op and i in op.saves()]
    return keeps(out, *watched, name=op.name, one_node=False) if watched else out


class Remainder(Function):
    """a % b with the sign of b (Python's and PyTorch's ``remainder``): a - floor(a / b) b.
    d/da = 1; d/db = -floor(a / b).

    ``given_b``: b as the caller gave it, before its cast to the result's dtype. PyTorch's
    backward divides a by that one: a float32 0-d b beside a half a then divides in
    float32 (HalfByNumber's rule), not in half as the forward's cast copy would."""
    elementwise = True
    def __init__(self, given_b: Tensor | None = None) -> None:
        self.given_b = given_b

    def saves(self):   # only b's gradient reads them: PyTorch keeps a and b for it alone
        return (0, 1) if self.needs_input_grad[1] else ()

    def forward(self, a, b):
        if a.dtype.kind not in "fc" and a.size and b.size and not bool((b != 0).all()):
            # (PyTorch raises as it computes an element: an empty result computes none)
            raise RuntimeError("ZeroDivisionError: remainder, an integer division by zero")
        xp = xp_of(a)
        with np.errstate(divide="ignore", invalid="ignore"):
            if a.dtype.kind != "f":
                return xp.remainder(a, b)
            # PyTorch's kernel: fmod, then b added where the signs differ; a zero keeps a's
            # sign (remainder(0, -0.31) is +0.0, NumPy's is -0.0, and 1 / it tells them apart)
            mod = xp.fmod(a, b)
            return xp.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        ga = sum_to(gy, a.shape) if need_a else None
        if need_b:
            divisor = b if self.given_b is None else self.given_b
            gb = sum_to(-gy * div_rounded(a, divisor, "floor"), b.shape)
        else:
            gb = None
        return ga, gb


def remainder(a: Any, b: Any) -> Tensor:
    return _rounded(Remainder(b if isinstance(b, Tensor) else None), "remainder", a, b)


def bitwise_not(x: Tensor) -> Tensor:
    """~x: logical not of a bool tensor, bitwise not of an int one (no gradient)."""
    if x.dtype.kind not in "biu":
        raise TypeError(f"~ (operator.invert) is only implemented on integer and Boolean-type "
                        f"tensors, got {x.dtype} (shape {x.shape}); for a float mask use 1 - x")
    return Tensor(xp_of(x.array).invert(x.array))


class Neg(Function):
    elementwise = True
    def saves(self): return ()
    def forward(self, x): return -x
    def backward(self, gy): return -gy                      # (-x)' = -1


def neg(x: Tensor) -> Tensor:
    if x.dtype == np.bool_:
        raise RuntimeError(f"neg: negation of a bool tensor (shape {x.shape}) is not "
                           f"supported; to invert a mask use ~mask or logical_not()")
    return Neg()(x)


# PyTorch computes a float x ** c by another op for these c (its pow kernel's shortcuts), and
# they differ from pow itself at the edges: sqrt(-inf) is NaN where pow(-inf, 0.5) is +inf,
# and x * x * x rounds differently from pow(x, 3)
_POW_SHORTCUTS = {
    0.5: lambda xp, x: xp.sqrt(x),
    -0.5: lambda xp, x: 1 / xp.sqrt(x),
    -1.0: lambda xp, x: 1 / x,
    2.0: lambda xp, x: x * x,
    3.0: lambda xp, x: x * x * x,
    -2.0: lambda xp, x: 1 / (x * x),
}


def _full(xp: Any, a: Any, shape: tuple) -> Any:
    """``a`` as an array of ``shape`` with its own memory. NumPy's power takes its own
    shortcuts (sqrt for ** 0.5, ...) when an operand repeats one value (a scalar, or a
    stride of 0), where PyTorch computes pow itself; a full array keeps NumPy to pow."""
    if isinstance(a, np.generic):   # a number (x ** c)
        return xp.full(shape, a, dtype=a.dtype)
    if a.shape != shape or 0 in a.strides:
        return xp.ascontiguousarray(xp.broadcast_to(a, shape))
    return a


class Pow(Function):
    """x ** c for a constant exponent c: d/dx = c x^(c-1)."""
    efficient_zero_passes = (0,)   # (PyTorch: grad * c x^(c-1): tensor._efficient_zeros)
    elementwise = True
    def __init__(self, c): self.c = c
    def forward(self, x):
        if x.dtype == np.bool_:            # bool ** True is x, bool ** False is all True
            return x.copy() if self.c else xp_of(x).ones_like(x)   # a new tensor, not x
        if x.dtype.kind != "f":
            return x ** self.c
        shortcut = _POW_SHORTCUTS.get(self.c) if not isinstance(self.c, bool) else None
        if x.dtype == np.float16:
            shortcut = None   # (PyTorch's half pow computes in float32 and rounds once: no
            # shortcut's two roundings, no sqrt's -0.0; measured, 4,000 values x 14 powers)
        with np.errstate(divide="ignore", invalid="ignore"):
            if shortcut is not None:
                return shortcut(xp_of(x), x).astype(x.dtype, copy=False)
            exponent = _full(xp_of(x), x.dtype.type(self.c), x.shape)
            if x.dtype == np.float32:   # rounded once, as PyTorch's (SLEEF) nearly always
                return _rounded_once(lambda v: xp_of(v).power(v, exponent.astype(v.dtype)), x)
            if x.dtype == np.float16:
                # PyTorch's half pow: the exponent rounded to half, the power taken wide (C's
                # pow: an array exponent keeps NumPy off its sqrt path, so pow(-0.0, 0.5) is
                # +0.0 and pow(-inf, 0.5) inf) and rounded to half once; measured
                c = np.float64(np.float16(self.c))
                wide = x.astype(np.float64)
                return xp_of(x).power(wide, xp_of(x).full(x.shape, c)).astype(x.dtype)
            return xp_of(x).power(x, exponent)

    def backward(self, gy):
        x = self.inputs[0]
        if self.c == 0 and not isinstance(self.c, (bool, np.bool_)):
            # x^0 = 1 is flat: zeros, even at x = 0 where 0 * 0^-1 is NaN (PyTorch's rule;
            # its test is a number's equality to 0.0, which an exponent of False fails, so
            # x ** False takes the formula below: -0, NaN at 0, and it requires grad)
            return Tensor(xp_of(x.array).zeros_like(x.array))
        return gy * (self.c * x ** (self.c - 1))             # (x^c)' = c x^(c-1)


class PowTensor(Function):
    """a ** b, both tensors: d/da = b a^(b-1);  d/db = a^b log a, taken as 0 where a = 0 and
    b >= 0 (PyTorch's choice: 0^b is flat in b there for b > 0)."""
    # (PyTorch: a where() over grad * b a^(b-1) for a: zeros; grad * a^b log a for b)
    efficient_zero_passes, efficient_zero_as_zeros = (1,), (0,)   # (tensor._efficient_zeros)
    elementwise = True
    def __init__(self, exponent_dtype: Any = None, base_was_a_number: bool = False):
        # PyTorch's backward computes b - 1 in b's own dtype (a uint8 0 - 1 wraps to 255, so
        # a^255 can overflow where the gradient is chosen 0: NaN in the second derivative,
        # long run 4955749), and refuses it for bools
        self.exponent_dtype = None if exponent_dtype is None else np.dtype(exponent_dtype)
        if base_was_a_number:   # pow(Scalar, Tensor) allocates its result row-major
            self.result_layout = "row-major"

    # b's gradient reads a^b, the output; PyTorch keeps it whichever side needs a gradient,
    # so changing a ** b in place before backward is refused even when b needs none
    saves_output = True

    def forward(self, a, b):
        if a.dtype.kind in "biu" and (b < 0).any():   # ints to negative powers, truncated:
            xp = xp_of(a)                              # 1 for 1, +-1 for -1, else 0 (2 ** -3)
            whole = a ** xp.where(b < 0, 0, b)         # the rest as ints (overflow wraps)
            odd = (b % 2).astype(bool)
            tiny = xp.where(a == 1, 1, xp.where(a == -1, xp.where(odd, -1, 1), 0))
            return xp.where(b < 0, tiny, whole).astype(a.dtype)
        xp = xp_of(a)   # (pow itself throughout: see _full)
        shape = np.broadcast_shapes(a.shape, b.shape)
        base, exponent = _full(xp, a, shape), _full(xp, b, shape)
        if base.dtype == np.float32 and exponent.dtype == np.float32:   # rounded once
            return _rounded_once(lambda v: xp.power(v, exponent.astype(v.dtype)), base)
        return xp.power(base, exponent)

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        if need_a and self.exponent_dtype == np.bool_:
            raise RuntimeError("pow backward: Subtraction, the `-` operator, with a bool tensor "
                               "is not supported (the exponent is a bool tensor, as PyTorch "
                               "refuses it here); give the exponent as floats: b.float()")
        # b a^(b-1), chosen as 0 where b = 0 (PyTorch's rule: a^0 is flat in a, even at a = 0
        # where 0 * 0^-1 is NaN)
        ga = None
        if need_a:
            if self.exponent_dtype is not None and self.exponent_dtype.kind in "iu":
                with np.errstate(over="ignore"):   # (an integer b needs no gradient itself)
                    below = Tensor((b.array.astype(self.exponent_dtype)
                                    - self.exponent_dtype.type(1)).astype(b.dtype))
            elif self.exponent_dtype is not None and self.exponent_dtype != b.dtype:
                # a float32 b beside a float64 a: b - 1 rounded in float32, as PyTorch's
                below = cast(cast(b, self.exponent_dtype) - 1, b.dtype)
            else:
                below = b - 1
            ga = sum_to(where(b.array == 0, 0.0, gy * (b * pow(a, below))), a.shape)
        gb = None
        if need_b:   # 0 where flat, chosen *after* log 0 = -inf, as PyTorch: so a second
            flat = (a.array == 0) & (b.array >= 0)   # derivative there is NaN in both
            gb = sum_to(gy * where(flat, 0.0, self.output * log(a)), b.shape)
        return ga, gb


def _no_negative_int_power(base: Tensor, exponent: Any) -> None:
    if base.dtype.kind in "biu" and isinstance(exponent, (int, np.integer)) and exponent < 0:
        raise RuntimeError(f"pow: integers to negative integer powers are not allowed "
                           f"(an int tensor of shape {base.shape}); use .float() first")


class RefusedBackward(Function):
    """The value itself, whose backward refuses with ``message``: for the few programs whose
    forward PyTorch computes but whose backward it cannot (tinygan raises there too)."""
    def __init__(self, message: str): self.message = message
    def saves(self): return ()
    def forward(self, x): return x.copy()
    def backward(self, gy): raise RuntimeError(self.message)


def pow_of_a_python_bool(base: Any, exponent: Tensor) -> Tensor:
    """True ** x (or torch.pow(True, x)): the value is PyTorch's, and so is the failure of its
    gradient (PyTorch 2.13's backward stops at an internal assert on a bool Scalar base)."""
    out = pow(base, exponent)
    if not (is_grad_enabled() and out.requires_grad):
        return out
    return RefusedBackward(f"pow backward: the base is the Python bool {base!r}, whose "
                           f"gradient PyTorch cannot take (an internal assert); write "
                           f"{float(base)!r} ** x instead")(out)


def pow(x: Any, c: Any) -> Tensor:
    """x ** c. The result's dtype is PyTorch's promotion of the two (int ** int stays int,
    bool ** 2 is int64, int ** 0.5 is float32). A negative base with a whole exponent works
    (-2 ** 3 = -8); a tensor exponent is differentiable too (PowTensor)."""
    if not isinstance(c, Tensor):           # a constant exponent: the common case
        c = c.item() if isinstance(c, np.generic) else c
        wide = result_type(x, _as_tensor(c, like=(x,)))
        x = cast(x, wide)
        _no_negative_int_power(x, c)
        return Pow(c)(x)
    a, b = _as_tensor(x, like=(x, c)), c
    wide = result_type(a, b)
    refuse_kinds("pow", cast(a, wide), "b")           # bool ** bool tensor: PyTorch refuses
    wide_a, wide_b = cast(a, wide), cast(b, wide)
    out = PowTensor(b.dtype, base_was_a_number=not isinstance(x, Tensor))(wide_a, wide_b)
    if wide_a is a and wide_b is b:
        return out
    # PyTorch keeps the operands as given (a float64 0-d exponent of a float32 base), not
    # the casts: changing one in place before backward is refused there, so here too
    return keeps(out, a, b, name="Pow", output=True)


# =======================================================================================
# Matrix products
# =======================================================================================
class MatMul(Function):
    """y = a @ b. For a loss L: dL/da = gy @ b^T and dL/db = a^T @ gy (batch dims broadcast).
    A vector multiplies as a (1, k) row on the left and a (k, 1) column on the right, and
    the axis that adds is dropped from y, as in NumPy and PyTorch.

    ``one_term``: the product has one inner term (k = 1) and PyTorch runs it as one mm
    wider than a row and a column (``one_term_product``); each element is then the single
    product a_i1 b_1j, written as it is, so -0.0 stays -0.0 (BLAS adds the products to
    +0.0, and 1 / y would show +inf for PyTorch's -inf).

    ``folded``: "a" or "b" where PyTorch folded that operand's batch into the rows of one
    matrix (``_matmul_keeps``); the other operand, used once per batch, then gets its
    gradient from one product whose inner sum runs over the batch and the rows together,
    as PyTorch's mm backward adds them, not from one product per batch summed afterwards.
    The sum is the same; its order is not (in float32, an overflowing product after a -inf
    is absorbed by a fused multiply-add in one product, and gives NaN beside it)."""
    result_layout = "row-major"
    def __init__(self, one_term: bool = False, folded: str | None = None):
        self.one_term, self.folded = one_term, folded

    def saves(self):
        need_a, need_b = self.needs_input_grad
        return (1,) * need_a + (0,) * need_b

    def forward(self, a, b): return a * b if self.one_term else a @ b

    def backward(self, gy):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        if a.ndim == b.ndim == 2:   # two matrices, the common case: no axes to restore
            return (matmul(gy, b.transpose(-1, -2)) if need_a else None,
                    matmul(a.transpose(-1, -2), gy) if need_b else None)
        rows = a if a.ndim > 1 else reshape(a, (1, -1))
        cols = b if b.ndim > 1 else reshape(b, (-1, 1))
        batch = np.broadcast_shapes(rows.shape[:-2], cols.shape[:-2])
        gy = reshape(gy, batch + (rows.shape[-2], cols.shape[-1]))   # the dropped axes back
        if self.folded == "a" and need_b:
            # a's batch was folded into rows, y_rows = a_rows @ b: dL/db = a_rows^T @ gy_rows
            # (an mv where b is a vector, as PyTorch's; every size written out: a batch may
            # be empty, and -1 is ambiguous then)
            count = int(np.prod(a.shape[:-1]))
            a_rows = reshape(a, (count, a.shape[-1]))
            gy_rows = reshape(gy, (count,) if b.ndim == 1 else (count, b.shape[-1]))
            gb = reshape(matmul(a_rows.transpose(-1, -2), gy_rows), b.shape)
        else:
            gb = reshape(sum_to(matmul(rows.transpose(-1, -2), gy), cols.shape), b.shape) \
                if need_b else None
        if self.folded == "b" and need_a:
            # y^T = b^T @ a^T with b^T's batch folded into rows: (b^T)_rows @ a^T, so
            # dL/da = (gy^T)_rows^T @ (b^T)_rows
            count = int(np.prod(b.shape[:-2])) * b.shape[-1]
            bt_rows = reshape(b.transpose(-1, -2), (count, b.shape[-2]))
            if a.ndim == 1:   # y = b^T-rows @ a, an mv: dL/da = (b^T)_rows^T @ gy
                ga = matmul(bt_rows.transpose(-1, -2), reshape(gy, (count,)))
            else:
                gyt_rows = reshape(gy.transpose(-1, -2), (count, a.shape[-2]))
                ga = reshape(matmul(gyt_rows.transpose(-1, -2), bt_rows), a.shape)
        else:
            ga = reshape(sum_to(matmul(gy, cols.transpose(-1, -2)), rows.shape), a.shape) \
                if need_a else None
        return ga, gb


# PyTorch's names of the integer dtypes, in its errors
_TORCH_NAMES = {np.dtype(np.int64): "Long", np.dtype(np.int32): "Int", np.dtype(np.int16): "Short",
                np.dtype(np.int8): "Char", np.dtype(np.uint8): "Byte", np.dtype(np.bool_): "Bool",
                np.dtype(np.float32): "Float", np.dtype(np.float64): "Double",
                np.dtype(np.float16): "Half"}


def refuse_integer_output(dtype: Any) -> None:
    """PyTorch's error when a differentiable op, with an input that requires grad, would
    give an integer or bool result (one that cannot carry a gradient)."""
    raise RuntimeError(f"Autograd not support dtype: {_TORCH_NAMES[np.dtype(dtype)]}")


def matmul(a: Any, b: Any) -> Tensor:
    check_operands("matmul", a, b)
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.dtype != b.dtype and _empty_batched_product(a, b):
        # PyTorch's batched kernel returns before its dtype check when there is nothing to
        # add up (an empty result, or no inner terms): zeros of b's dtype, which b's cast
        # copy of a gives here (its gradient is cast back to a's dtype)
        if b.dtype.kind in "biu" and is_grad_enabled() and (a.requires_grad or
                                                            b.requires_grad):
            refuse_integer_output(b.dtype)
        a = cast(a, b.dtype)
    _same_dtype("matmul", a, b)
    if a.dtype == np.bool_ and (a.ndim == b.ndim == 1 or (a.numel() and b.numel())):
        # (PyTorch's kernels refuse bools; with an empty operand it returns before them)
        raise RuntimeError(f"matmul: not implemented for bool tensors (shapes {a.shape}, "
                           f"{b.shape}); convert them with .long() or .float()")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least one dimension, got shapes "
                         f"{a.shape} and {b.shape}")
    if a.shape[-1] != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not line up "
                         f"({a.shape[-1]} != {b.shape[-2] if b.ndim > 1 else b.shape[0]})")
    kept_a, kept_b, path = _matmul_keeps(a, b)
    if kept_a != "itself" or kept_b != "itself":
        a, b = as_multiplied(a, kept_a, b), as_multiplied(b, kept_b, a)
    fn = MatMul(one_term_product(a.shape, path), path[3] if path else None)
    # PyTorch's dot gives grad * b and grad * a, its mv grad outer b for the matrix: an
    # efficient zero passes there (tensor._efficient_zeros); mm computes
    fn.efficient_zero_passes = (0, 1) if a.ndim == b.ndim == 1 else (0,) if b.ndim == 1 else ()
    return fn(a, b)


def _empty_batched_product(a: Tensor, b: Tensor) -> bool:
    """Whether PyTorch's matmul goes to its batched kernel (bmm: neither a single mm, mv nor
    dot, ``_matmul_keeps``) with an empty result or no inner terms."""
    if a.ndim == 0 or b.ndim == 0 or (a.ndim <= 2 and b.ndim <= 2):
        return False
    inner = a.shape[-1]
    if inner != (b.shape[-2] if b.ndim > 1 else b.shape[0]):
        return False
    try:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
    except ValueError:
        return False
    rows = a.shape[-2] if a.ndim > 1 else 1
    cols = b.shape[-1] if b.ndim > 1 else 1
    if not (inner == 0 or 0 in batch or rows == 0 or cols == 0):
        return False
    return _matmul_keeps(a, b)[2] is None and builtins.min(a.ndim, b.ndim) > 1


def one_term_product(a_shape: tuple, path: tuple | None) -> bool:
    """Whether PyTorch's matmul, on this ``path`` (``_matmul_keeps``: ("mm", rows, cols, _) for
    a single mm, None for dot, mv and bmm), runs an mm with one inner term and more than
    one row and column: its kernel then writes each product as it is (MatMul)."""
    return path is not None and a_shape[-1] == 1 and path[1] > 1 and path[2] > 1


def as_multiplied(x: Tensor, kept: str, other: Tensor) -> Tensor:
    """x as PyTorch's product kept it for backward (kept: "itself", "view" or "copy").
    A copy is a node of the graph with the values x had here. A view matters in one case
    only: x did not require grad and is made to later, before a create_graph backward.
    A view made now stays a leaf of its own then (tinygan's views, as PyTorch's, keep the
    graph they were made in), so the second derivative does not reach x, as in PyTorch;
    x itself would pass it on."""
    if kept == "copy":
        return clone(x)
    if kept == "view" and not x.requires_grad and other.requires_grad and is_grad_enabled():
        return Reshape(x.shape)(x)
    return x


def _matmul_keeps(a: Tensor, b: Tensor) -> tuple[str, str, tuple | None]:
    """What PyTorch's matmul multiplies, and keeps for backward, of each operand: "itself",
    a "view" of it made on the way (changing the operand in place is still refused), or a
    "copy" (then changing the operand is allowed: backward reads the old values); and the
    kernel it ends in: ("mm", rows, cols, folded) for one matrix product, ("mv", rows, 1,
    folded) for a folded batch times a vector, None for dot, an unfolded mv, or bmm;
    ``folded`` names the operand, "a" or "b", whose batch became rows (None: no fold).
    The decision follows PyTorch 2.13's ``_matmul_impl`` step by step, on shapes and strides:

    - matrices and vectors go to dot, mv or mm as they are; a vector on the left is
      unsqueezed first (a view);
    - a batch beside a matrix or vector is folded into one matrix, x.reshape(-1, k) (a
      view or a copy), when the smaller operand requires grad or, the left one not being
      a matrix, the batch dims follow one another in memory (a stride test that counts
      size-1 dims too); the smaller goes in as it is, a matrix on the left transposed;
    - two 3-D operands whose batches differ, one of them a batch of 1 that requires grad:
      that one is squeezed to a matrix (a view) and the steps start again;
    - otherwise both are expanded to the common batch and their batch dims merged (a view
      where the strides allow it, else a copy).
    Checked against PyTorch over random shapes, layouts and requires_grad patterns
    (tests/test_saved_tensors.py)."""
    if a.ndim <= 2 and b.ndim <= 2:          # dot, mv, mm: the common case, decided early
        return _small_product(a.shape, b.shape)
    steps = lambda x: tuple(st // x.array.itemsize for st in x.array.strides)   # noqa: E731
    return _matmul_keeps_of((a.shape, steps(a), a.requires_grad),
                            (b.shape, steps(b), b.requires_grad))


def _small_product(shape_a: tuple, shape_b: tuple) -> tuple[str, str, tuple | None]:
    """Two operands of at most 2 dims: dot, mv, or mm (a vector on the left as a row)."""
    da, db = len(shape_a), len(shape_b)
    path = ("mm", shape_a[0] if da == 2 else 1, shape_b[1], None) if db == 2 else None
    return ("view" if da == 1 and db == 2 else "itself"), "itself", path


def _matmul_keeps_of(a: tuple, b: tuple) -> tuple[str, str, tuple | None]:
    """``_matmul_keeps`` on (shape, strides in elements, requires_grad) triples."""
    (shape_a, steps_a, grad_a), (shape_b, steps_b, grad_b) = a, b
    da, db = len(shape_a), len(shape_b)
    if da <= 2 and db <= 2:
        return _small_product(shape_a, shape_b)

    def merges(shape: Sequence[int], steps: Sequence[int]) -> bool:
        """Whether these dims merge into one without a copy (size-1 dims aside)."""
        if 0 in shape:
            return True
        dims = [(n, st) for n, st in zip(shape, steps) if n != 1]
        return all(dims[i][1] == dims[i + 1][1] * dims[i + 1][0] for i in range(len(dims) - 1))

    # the fold: t1 is the larger operand, b transposed when b is the larger one
    transpose = db > da
    t1_shape = shape_b[:-2] + (shape_b[-1], shape_b[-2]) if transpose else shape_a
    t1_steps = steps_b[:-2] + (steps_b[-1], steps_b[-2]) if transpose else steps_a
    if len(t1_shape) >= 3 and builtins.min(da, db) <= 2:
        smaller_requires_grad = grad_a if transpose else grad_b
        folds = smaller_requires_grad or (da != 2 and (
            0 in t1_shape or all(t1_steps[i] == t1_steps[i + 1] * t1_shape[i + 1]
                                 for i in range(len(t1_shape) - 2))))
        if folds:
            folded = "view" if merges(t1_shape[:-1], t1_steps[:-1]) else "copy"
            # one mm of the folded rows (an mv where the smaller operand is a vector)
            rows_folded = int(np.prod(t1_shape[:-1]))
            path = ("mv", rows_folded, 1, "b" if transpose else "a") if builtins.min(da, db) == 1 \
                else ("mm", rows_folded, shape_a[-2] if transpose else shape_b[-1],
                      "b" if transpose else "a")
            if transpose:
                return ("view" if da == 2 else "itself"), folded, path
            return folded, "itself", path
    if da == 3 and db == 3 and shape_a[0] != shape_b[0]:
        def as_squeezed(kept: str) -> str:
            return "view" if kept == "itself" else kept
        if shape_a[0] == 1 and grad_a:
            kept_a, kept_b, path = _matmul_keeps_of((shape_a[1:], steps_a[1:], grad_a), b)
            return as_squeezed(kept_a), kept_b, path
        if shape_b[0] == 1 and grad_b:
            kept_a, kept_b, path = _matmul_keeps_of(a, (shape_b[1:], steps_b[1:], grad_b))
            return kept_a, as_squeezed(kept_b), path
    batch = np.broadcast_shapes(shape_a[:-2], shape_b[:-2] if db >= 2 else ())

    def expanded_and_merged(shape: Sequence[int], steps: Sequence[int]) -> str:
        """x expanded to the batch (a stretched dim steps by 0), its batch dims merged."""
        own, own_steps = (shape[:-2], steps[:-2]) if len(shape) >= 2 else ((), ())
        pad = len(batch) - len(own)
        batch_steps = [0 if (k < pad or own[k - pad] != n) else own_steps[k - pad]
                       for k, n in enumerate(batch)]
        return "view" if merges(batch, batch_steps) else "copy"

    return expanded_and_merged(shape_a, steps_a), expanded_and_merged(shape_b, steps_b), None


def mm(a: Tensor, b: Tensor) -> Tensor:
    """torch.mm: the product of two matrices, (n, k) @ (k, m) -> (n, m), nothing else (no
    broadcasting, no vectors: matmul does those). Same gradient as matmul; the errors are
    PyTorch's RuntimeErrors."""
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.ndim != 2:
        raise RuntimeError(f"mm: self must be a matrix, got shape {a.shape}")
    if b.ndim != 2:
        raise RuntimeError(f"mm: mat2 must be a matrix, got shape {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied "
                         f"({a.shape[0]}x{a.shape[1]} and {b.shape[0]}x{b.shape[1]})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"mm: expected m1 and m2 to have the same dtype, but got: {a.dtype} "
                        f"!= {b.dtype}")
    if a.dtype == np.bool_ and a.numel() and b.numel():   # (as matmul: PyTorch's kernel)
        raise RuntimeError(f"mm: not implemented for bool tensors (shapes {a.shape}, "
                           f"{b.shape}); convert them with .long() or .float()")
    return MatMul(one_term_product(a.shape, ("mm", a.shape[0], b.shape[1], None)))(a, b)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x: (..., in_features), weight: (out_features, in_features), bias: (out_features,)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"linear: the input must be a Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError(f"linear: the input must have at least 1 dimension, got a 0-d "
                         f"tensor; the weight has shape {weight.shape}")
    _same_dtype("linear", *((x, weight) if bias is None else (x, weight, bias)))
    refuse_kinds("addmm_impl_cpu_", x, "b")
    if weight.ndim != 2:   # PyTorch's: a vector weight is a dot or an mv (x @ w), no bias
        if weight.ndim != 1:   # beside a batch (its addmm wants a matrix); 0-d or 3-D, none
            raise RuntimeError(f"linear: t() expects a tensor with <= 2 dimensions, but "
                               f"the weight has shape {weight.shape}")
        contiguous = x.array.flags.c_contiguous
        if bias is not None and (x.ndim == 2 or (contiguous and (bias.ndim == 1 or
                                                                 x.ndim == 3))):
            # (PyTorch's fused addmm paths, whose second matrix is this vector)
            raise RuntimeError(f"linear: mat2 must be a matrix, got 1-D tensor (weight of "
                               f"shape {weight.shape}, with a bias of shape {bias.shape}, "
                               f"input {x.shape})")
        y = matmul(x, weight)
        if bias is not None and np.broadcast_shapes(y.shape, bias.shape) != y.shape:
            raise RuntimeError(f"linear: output with shape {list(y.shape)} doesn't match the "
                               f"broadcast shape of the bias {list(bias.shape)}")
        return y if bias is None else y + bias
    if x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1]} features, but the "
                         f"weight of shape {weight.shape} expects {weight.shape[1]}")
    if bias is not None and x.ndim != 2 and bias.ndim == 1 and x.array.flags.c_contiguous:
        # PyTorch's _flatten_nd_linear: the input's rows (a view), one addmm, and a view of
        # its result in the input's shape, so an in-place write into the output is a write
        # through a view (and its gradient a CopySlices', engine/tensor.py)
        rows = reshape(x, (int(np.prod(x.shape[:-1])), x.shape[-1]))   # (not -1: 0 features)
        y = fast.form(linear_plain)(rows, weight, bias)
        return y.view(x.shape[:-1] + (weight.shape[0],))
    return fast.form(linear_plain)(x, weight, bias)        # fast form: one node (fast/linear.py)


def linear_plain(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """The plain form of ``linear``, two ops: y = x W^T (+ b). W^T is a transposed view, so
    nothing is copied; the gradients come from MatMul's and Add's rules."""
    y = matmul(x, weight.transpose(-1, -2))
    return y if bias is None else y + bias


# =======================================================================================
# Elementwise functions
# =======================================================================================
def _rounded_once(fn: Any, x: Any) -> Any:
    """fn(x), for float32 NumPy arrays computed in float64 and rounded once: the correctly
    rounded result, which PyTorch's vectorised CPU kernels (SLEEF, within 1 ulp) give for
    nearly every input. NumPy's own float32 exp and tanh differ from PyTorch's in the last bit
    for 39% and 22% of normal-sized inputs, through float64 for 1% and 0.09% (measured in
    tests/test_pytorch_rounding.py); a last bit shows where a result is used to cancel."""
    if x.dtype == np.float32 and type(x) is np.ndarray:
        return fn(x.astype(np.float64)).astype(np.float32)
    return fn(x)


class Exp(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad * e^x: tensor._efficient_zeros)
    elementwise = True
    saves_output = True
    def saves(self): return ()
    def forward(self, x): return _rounded_once(xp_of(x).exp, x)
    def backward(self, gy): return gy * self.output          # (e^x)' = e^x


def exp(x: Tensor) -> Tensor: return Exp()(_floating(x))


class Log(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad / x: tensor._efficient_zeros)
    elementwise = True
    def forward(self, x): return _rounded_once(xp_of(x).log, x)
    def backward(self, gy): return gy / self.inputs[0]       # (log x)' = 1/x


def log(x: Tensor) -> Tensor: return Log()(_floating(x))


class Log1p(Function):
    """y = log(1 + x), accurate where x is tiny (1 + x would round x away).
    (log(1 + x))' = 1 / (1 + x)."""
    elementwise = True
    def forward(self, x): return _rounded_once(xp_of(x).log1p, x)
    def backward(self, gy): return gy / (self.inputs[0] + 1)


def log1p(x: Tensor) -> Tensor:
    """torch.log1p: an integer tensor gives the default float dtype, as in PyTorch."""
    x = _as_tensor(x, like=(x,))
    if x.dtype.kind not in "fc":
        x = cast(x, backend.DEFAULT_DTYPE)
    return Log1p()(x)


class Sqrt(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad / (2 sqrt x): tensor._efficient_zeros)
    elementwise = True
    saves_output = True
    def saves(self): return ()
    def forward(self, x): return xp_of(x).sqrt(x)
    def backward(self, gy): return gy / (2 * self.output)    # (sqrt x)' = 1 / (2 sqrt x)


def sqrt(x: Tensor) -> Tensor: return Sqrt()(_floating(x))


class Abs(Function):
    elementwise = True
    backward_reads, backward_reads_give_zeros = (0,), True   # PyTorch: grad * sgn(x), sgn a node of x
    backward_zeros_are_efficient = True   # (sgn's derivative: an efficient zero)
    efficient_zero_passes = (0,)          # (grad * sgn(x))
    def forward(self, x): return xp_of(x).abs(x)
    def backward(self, gy):
        x = self.inputs[0].array
        sign = (x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)   # |x|' = sign(x): 0 at 0
        return gy * _same_dtype_const(x, sign)                  # and at NaN, as PyTorch's sgn


def abs(x: Tensor) -> Tensor:  # noqa: A001 - mirrors torch.abs
    if x.dtype == np.bool_:
        raise RuntimeError(f"abs: not defined for a bool tensor (shape {x.shape})")
    return Abs()(x)


# The four activations below have a fast form (tinygan/fast/activations.py): the same
# forward, and a backward that is one op writing into one fresh array.
class Sigmoid(Function):
    """sigma(x) = 1 / (1 + e^-x), computed just so, as PyTorch does. For x < -88.7 (float32)
    e^-x overflows to inf and 1 / inf = 0, the right limit: no special form is needed, and
    the tails agree with PyTorch's to the last bit (sigma(-97) is 0 in both, where a
    two-branch e / (1 + e) would give 7.5e-43). Half precision is computed in float32 and
    rounded once, as PyTorch's half kernels do."""
    elementwise = True
    saves_output = True
    def saves(self): return ()

    def forward(self, x):
        xp = xp_of(x)
        with np.errstate(over="ignore"):   # (e^-x rounded once, then float32 arithmetic)
            return (1 / (1 + _rounded_once(xp.exp, -in_opmath(x)))).astype(x.dtype, copy=False)

    def backward(self, gy):
        y = self.output
        return gy * y * (1 - y)                              # sigma' = sigma (1 - sigma)


def sigmoid(input: Tensor) -> Tensor: return fast.form(Sigmoid)()(_floating(input))  # noqa: A002


class Tanh(Function):
    elementwise = True
    saves_output = True
    def saves(self): return ()
    def forward(self, x): return _rounded_once(xp_of(x).tanh, x)
    def backward(self, gy):
        y = self.output
        return gy * (1 - y * y)                              # tanh' = 1 - tanh^2


def tanh(input: Tensor) -> Tensor: return fast.form(Tanh)()(_floating(input))  # noqa: A002


class ReLU(Function):
    elementwise = True
    backward_reads, backward_reads_give_zeros = (0,), True   # PyTorch: threshold_backward(grad, y)
    saves_output = True    # y > 0 exactly where x > 0: backward reads y, as PyTorch's does
    def saves(self): return ()
    def forward(self, x): return _keeping_zeros(xp_of(x).maximum(x, 0), x, 0)
    def backward(self, gy):
        # relu' = [x > 0], as a choice (an inf or NaN gy where x <= 0 gives 0). PyTorch's
        # threshold_backward tests "y <= 0 gives 0", so where y is NaN (relu of a NaN) the
        # gradient passes: the test is written that way round here too
        y = self.output.array
        return where(y <= 0, 0.0, gy)


def relu(x: Tensor) -> Tensor:
    if x.dtype == np.bool_:
        raise RuntimeError(f"Boolean inputs not supported for relu (shape {x.shape}); "
                           f"convert it first with .float() or .long()")
    return fast.form(ReLU)()(x)


class LeakyReLU(Function):
    """x for x > 0, slope * x otherwise: a small gradient keeps 'dead' units alive.

    For the usual 0 <= slope <= 1 the forward is a maximum, which NumPy runs several times
    faster than ``where`` on data of mixed signs (no branch to mispredict): y = max(x, slope x).
    """
    elementwise = True
    backward_reads, backward_reads_give_zeros = (0,), True   # PyTorch: leaky_relu_backward(grad, x)

    def __init__(self, slope, in_place: bool = False):
        # in place (leaky_relu_), PyTorch keeps the result instead of x (the same signs for
        # a slope >= 0), so writing to it again before backward is refused there, and here
        self.slope, self.in_place = slope, in_place
        self.saves_output = in_place

    def saves(self): return () if self.in_place else (0,)

    def mask_source(self) -> Tensor:
        """What the backward's x > 0 reads: x, or the result when in place (whose signs are
        x's only for a slope >= 0: PyTorch's backward refuses the others, and so does this)."""
        if self.in_place and self.slope < 0:
            raise RuntimeError(f"In-place leakyReLu backward calculation is triggered with a "
                               f"negative slope ({self.slope}), which is not supported; use "
                               f"inplace=False")
        return self.output if self.in_place else self.inputs[0]

    def forward(self, x):
        xp, slope = xp_of(x), x.dtype.type(self.slope)
        if x.dtype == np.float16:   # PyTorch: the slope a float32, the product rounded once
            work = x.astype(np.float32)
            return xp.where(work > 0, work, work * np.float32(self.slope)).astype(x.dtype)
        y = xp.multiply(x, slope, out=xp.empty_like(x))
        if 0 < self.slope <= 1:   # (not 0: there inf * 0 is NaN, and max(NaN, inf) NaN)
            return xp.maximum(y, x, out=y)                   # in place: no second array
        return xp.where(x > 0, x, y)

    def backward(self, gy):
        x = self.mask_source().array                         # 1 where x > 0, slope elsewhere
        if x.dtype == np.float16:   # (as forward: g * slope rounded once from float32)
            return where(Tensor(x > 0), gy, HalfByNumber(self.slope, divide=False)(gy))
        return gy * _same_dtype_const(x, xp_of(x).where(x > 0, 1, self.slope))


def leaky_relu(x: Tensor, negative_slope: float = 0.01, in_place: bool = False) -> Tensor:
    """``in_place``: the op behind ``leaky_relu_`` (see LeakyReLU); the write itself is the
    caller's (Tensor._inplace)."""
    negative_slope = number_argument("leaky_relu", "negative_slope", negative_slope)
    refuse_kinds("leaky_relu", x, "biu")
    return fast.form(LeakyReLU)(negative_slope, in_place)(x)


class Softplus(Function):
    """y = log(1 + e^(beta x)) / beta, a smooth ReLU; where beta x > threshold, y = x itself
    (the two agree there to float precision, and e^(beta x) would overflow), as PyTorch
    computes it: e^z and log1p each rounded once (z = beta x). The derivative is
    sigmoid(beta x), or 1 past the threshold (``SoftplusGrad``)."""
    elementwise = True
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        xp, work = xp_of(x), in_opmath(x)
        z = work * work.dtype.type(self.beta)
        with np.errstate(over="ignore"):
            soft = _rounded_once(xp.log1p, _rounded_once(xp.exp, z)) / work.dtype.type(self.beta)
        return xp.where(z > self.threshold, work, soft).astype(x.dtype, copy=False)

    def backward(self, gy):
        return SoftplusGrad(self.beta, self.threshold)(gy, self.inputs[0])


class SoftplusGrad(Function):
    """PyTorch's softplus_backward: g e^z / (e^z + 1) = g sigmoid(z), or g where z >
    threshold. Its own derivatives, as PyTorch's: to g, the same function; to x,
    g' g sigmoid'(z) beta where z < threshold (strictly: at z = threshold the forward is
    still the curve, but PyTorch's second derivative is already 0 there, and so is this)."""
    elementwise = True
    def __init__(self, beta: float, threshold: float) -> None:
        self.beta, self.threshold = beta, threshold

    def saves(self): return (1,)

    def forward(self, gy, x):
        xp, work = xp_of(x), in_opmath(x)
        z = work * work.dtype.type(self.beta)
        with np.errstate(over="ignore", invalid="ignore"):
            e = _rounded_once(xp.exp, z)
            curve = in_opmath(gy) * e / (e + 1)
        return xp.where(z > self.threshold, gy, curve).astype(gy.dtype, copy=False)

    def backward(self, gg):
        gy, x = self.inputs
        d_gy = SoftplusGrad(self.beta, self.threshold)(gg, x)
        z = x * self.beta
        s = sigmoid(z)
        below = Tensor((z.array < self.threshold).astype(z.dtype))   # a mask, no gradient
        d_x = (gg * gy) * (1 - s) * s * below * self.beta
        return d_gy, d_x


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + e^(beta x)) / beta, and x where beta x > threshold, as PyTorch."""
    beta = number_argument("softplus", "beta", beta)
    threshold = number_argument("softplus", "threshold", threshold)
    refuse_kinds("softplus", x, "biu")
    return Softplus(beta, threshold)(x)


class LogSigmoid(Function):
    """log sigma(x) = min(x, 0) - log(1 + z), z = e^-|x|: stable for large |x| (no e^x
    overflows), and written as PyTorch's kernel writes it, so its zeros are +0.0 where z
    underflows (4928077: 1 / logsigmoid(inf) was -inf against PyTorch's inf when this was
    -softplus(-x)). z is kept for backward, as PyTorch keeps it (its "buffer")."""
    result_layout = "row-major"   # (PyTorch's kernel allocates it so, whatever x's layout)

    def forward(self, x):
        xp, work = xp_of(x), in_opmath(x)
        with np.errstate(over="ignore", invalid="ignore"):
            z = _rounded_once(xp.exp, -xp.abs(work))
            y = xp.minimum(work, 0) - _rounded_once(xp.log1p, z)
        self.buffer = z.astype(x.dtype, copy=False)
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        return LogSigmoidGrad()(gy, self.inputs[0], Tensor(self.buffer))


class LogSigmoidGrad(Function):
    """PyTorch's log_sigmoid_backward: g (m - s z / (1 + z)) with m, s = 1, 1 where x < 0
    and 0, -1 elsewhere (that is g sigma(-x)). Its own derivatives, as PyTorch's: to g,
    the same function; to x, gg g (sigma(x) - 1) sigma(x) (log_sigmoid_double_backward)."""
    elementwise = True
    def saves(self): return (1, 2)

    def forward(self, gy, x, z):
        xp, work, zw = xp_of(x), in_opmath(x), in_opmath(z)
        negative = work < 0
        m, s = xp.where(negative, 1, 0).astype(work.dtype), xp.where(negative, 1, -1).astype(
            work.dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            return ((m - s * (zw / (1 + zw))) * in_opmath(gy)).astype(gy.dtype, copy=False)

    def backward(self, gg):
        gy, x, z = self.inputs
        sig = sigmoid(x)
        return LogSigmoidGrad()(gg, x, z), gg * gy * (sig - 1) * sig, None


def log_sigmoid(x: Tensor) -> Tensor:
    """log sigma(x), elementwise (LogSigmoid); shape and dtype of x (float)."""
    refuse_kinds("log_sigmoid", x, "biu")
    return LogSigmoid()(x)


def _keeping_zeros(y: Any, x: Any, bound: Any) -> Any:
    """y = a clamp of x at ``bound`` (maximum or minimum), with x itself where x equals the
    bound: PyTorch keeps x unless it lies beyond, so relu(-0.0) and clamp(-0.0, min=0) are
    -0.0, where NumPy's maximum gives +0.0. (Only a zero can equal the bound and differ.)"""
    tie = x == bound
    if not isinstance(tie, np.ndarray):   # a device (no host sync to ask whether any tie),
        return xp_of(x).where(tie, x, y)  # or a 0-d comparison, a NumPy scalar
    if tie.any():
        y = y.copy() if y is x else y
        y[tie] = np.broadcast_to(x, tie.shape)[tie]
    return y


class Clip(Function):
    elementwise = True
    def __init__(self, low, high): self.low, self.high = low, high

    def forward(self, x):
        # min(max(x, low), high), one bound after the other as PyTorch's clamp, so a low
        # above high gives high everywhere; x itself where it equals a bound (-0.0 stays)
        xp, y = xp_of(x), x
        if self.low is not None:
            y = _keeping_zeros(xp.maximum(y, self.low), y, self.low)
        if self.high is not None:
            y = _keeping_zeros(xp.minimum(y, self.high), y, self.high)
        return y

    def backward(self, gy):  # 1 inside the interval, 0 where the value was clipped
        x = self.inputs[0].array
        inside = xp_of(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return where(inside, gy, 0.0)   # selected, not multiplied: a NaN gy stays out


def clip(x: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        # PyTorch's two overloads: clamp(Tensor? min, Tensor? max) and clamp(Scalar? min,
        # Scalar? max), where a 0-d tensor that does not require grad reads as a number
        if all(isinstance(v, Tensor) or v is None for v in (min, max)):
            return _clip_by_tensors(x, min, max)
        if not all(v.ndim == 0 and not v.requires_grad for v in (min, max)
                   if isinstance(v, Tensor)):
            raise TypeError(f"clamp() received an invalid combination of arguments: min "
                            f"{type(min).__name__}, max {type(max).__name__}; give both as "
                            f"tensors or both as numbers")
        min, max = (v.item() if isinstance(v, Tensor) else v for v in (min, max))
    # a number bound: PyTorch's Scalar (a list or a string is refused)
    min, max = (v if v is None else number_argument("clamp", name, v)
                for name, v in (("min", min), ("max", max)))
    if x.dtype == np.bool_ and all(v is None or isinstance(v, (bool, np.bool_))
                                   for v in (min, max)):   # a bool result: no such kernel
        kernel = "clamp" if min is not None and max is not None else \
            "clamp_min" if min is not None else "clamp_max"
        raise NotImplementedError(f'"{kernel}_scalar_cpu" not implemented for \'Bool\' (a '
                                  f"bool tensor clamped by bools, as in PyTorch); for masks "
                                  f"write x & max or x | min")
    if x.dtype.kind not in "fc" and any(isinstance(v, float) for v in (min, max)):
        x = _floating(x)   # an int tensor clamped at 1.57 is float32, as in PyTorch
    elif x.dtype == np.bool_ and any(isinstance(v, (int, np.integer)) and not isinstance(
            v, (bool, np.bool_)) for v in (min, max)):
        x = cast(x, np.int64)   # a bool tensor clamped at 2 is int64
    # the bounds are read in x's dtype with PyTorch's overflow check (-1 is 255 for uint8,
    # 300 raises there; 1e5 raises for half)
    min, max = (v if v is None else checked_scalar(v, x.dtype) for v in (min, max))
    min, max = (v.item() if isinstance(v, np.generic) else v for v in (min, max))
    return Clip(min, max)(x)


class ClampByTensors(Function):
    """clamp(x, low, high) with tensor bounds (either may be absent): min(max(x, low), high),
    a NaN in x staying NaN. The gradient goes where the value came from, by PyTorch's masks:
    with one bound, x where x >= low (x <= high), the bound where x < low (x > high); with
    both, x where low <= x <= high, low where x < low < high, high where x > high or
    high < low (then high is the value everywhere); a NaN in x sends its gradient nowhere."""
    elementwise = True
    def __init__(self, has_low: bool, has_high: bool):
        self.has_low, self.has_high = has_low, has_high

    def forward(self, x, *bounds):
        # x itself unless it lies beyond a bound (so -0.0 against a bound of 0 stays -0.0,
        # as PyTorch's); a NaN bound gives NaN
        xp, y = xp_of(x), x
        bounds = list(bounds)
        if self.has_low:
            low = bounds.pop(0)
            y = _keeping_zeros(xp.maximum(y, low), x, low)
        if self.has_high:
            high = bounds.pop(0)
            y = _keeping_zeros(xp.minimum(y, high), x, high)
        return y

    def backward(self, gy):
        x, *bounds = self.inputs
        low = bounds.pop(0) if self.has_low else None
        high = bounds.pop(0) if self.has_high else None
        xa = x.array
        ge = xa >= low.array if low is not None else None
        le = xa <= high.array if high is not None else None
        if low is not None and high is not None:
            below_beneath = (xa < low.array) & (low.array < high.array)
            above_or_crossed = (xa > high.array) | (high.array < low.array)
            grads = [where(ge & le, gy, 0.0), where(below_beneath, gy, 0.0),
                     where(above_or_crossed, gy, 0.0)]
        elif low is not None:
            grads = [where(ge, gy, 0.0), where(xa < low.array, gy, 0.0)]
        else:
            grads = [where(le, gy, 0.0), where(xa > high.array, gy, 0.0)]
        return tuple(sum_to(g, t.shape) for g, t in zip(grads, self.inputs))


def _clip_by_tensors(x: Tensor, low: Any, high: Any) -> Tensor:
    """clamp with tensor bounds (broadcast against x): see ClampByTensors."""
    if all(t.dtype == np.bool_ for t in (x, low, high) if isinstance(t, Tensor)) \
            and low is not None and high is not None:
        refuse_kinds("clamp_cpu", x, "b")
    bounds = [_as_tensor(b, like=(x,)) for b in (low, high) if b is not None]
    x = cast(x, result_type_of(x, *bounds))    # PyTorch's promotion over all three
    shape = np.broadcast_shapes(x.shape, *(b.shape for b in bounds))
    wide = x.dtype
    x = broadcast_to(x, shape)                 # the result has the broadcast shape
    return ClampByTensors(low is not None, high is not None)(
        x, *(cast(b, wide) for b in bounds))


clamp = clip


class Extreme(Function):
    """max(a, b) (or min) elementwise; a NaN on either side wins, as in PyTorch. The gradient
    goes to the side that was chosen and is halved at a tie (PyTorch's rule: the
    subgradient in the middle); at a NaN both sides get it."""
    elementwise = True
    def __init__(self, largest): self.largest = largest
    def saves(self): return (0, 1)

    def forward(self, a, b):
        xp = xp_of(a)
        y = xp.maximum(a, b) if self.largest else xp.minimum(a, b)
        if y.dtype.kind == "f":   # a tie keeps a, as PyTorch's kernel: max(-0.0, 0.0) is -0.0
            y = xp.where(a == b, a, y)
        return y

    def backward(self, gy):
        a, b = self.inputs
        tie = a.array == b.array
        a_lost = a.array < b.array if self.largest else a.array > b.array
        b_lost = a.array > b.array if self.largest else a.array < b.array
        shared = where(tie, gy / 2, gy)
        return (sum_to(where(a_lost, 0.0, shared), a.shape),
                sum_to(where(b_lost, 0.0, shared), b.shape))


def maximum(a: Tensor, b: Tensor) -> Tensor:
    return _binary(lambda: Extreme(True), a, b, "maximum")


def minimum(a: Tensor, b: Tensor) -> Tensor:
    return _binary(lambda: Extreme(False), a, b, "minimum")


class Where(Function):
    """condition ? a : b, elementwise; the gradient goes to the side that was chosen. A
    condition given as a Tensor comes as a third input that backward keeps (PyTorch's where
    saves it: changing it in place before backward is refused), with no gradient."""
    result_layout = "own"   # PyTorch's operands: the condition first, then a and b
    def __init__(self, condition): self.condition = condition
    def saves(self): return (2,) if len(self.inputs) == 3 else ()

    def forward(self, a, b, *condition):
        return as_elementwise_result(xp_of(a).where(self.condition, a, b), [self.condition, a, b])

    def backward(self, gy):
        a, b = self.inputs[:2]   # chosen, not multiplied by 0/1: an inf in gy stays on its side
        return (sum_to(where(self.condition, gy, 0.0), a.shape),
                sum_to(where(self.condition, 0.0, gy), b.shape), None)[:len(self.inputs)]


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """torch.where(condition, a, b): a where the (bool) condition holds, b elsewhere."""
    if isinstance(condition, Tensor) and condition.dtype not in (np.bool_, np.uint8):
        # (uint8 still passes in PyTorch 2.13, with a deprecation warning)
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                           f"tensor with dtype {condition.dtype} (shape {condition.shape}); "
                           f"write where(condition != 0, ...)")
    cond = condition.array if isinstance(condition, Tensor) else condition
    numbers = [v for v in (a, b) if not isinstance(v, Tensor)]
    a, b = _as_tensor(a, like=(a, b)), _as_tensor(b, like=(a, b))
    if a.dtype != b.dtype:
        wide = result_type(a, b)
        a, b = cast(a, wide), cast(b, wide)
    for v in numbers:   # a number, in the result's dtype, with PyTorch's overflow check
        # (measured: not for half, where it rounds to inf; an int must still unpack)
        checked_scalar(v, a.dtype if a.dtype != np.float16 else np.float64)
    kept = (condition,) if isinstance(condition, Tensor) else ()   # see Where
    return Where(xp_of(a.array).asarray(cond, dtype=bool))(a, b, *kept)


def lerp(x: Tensor, end: Tensor, weight: Any) -> Tensor:
    """torch.lerp: x + w (end - x), shapes broadcast. ``end``, and a ``weight`` tensor of one
    or more dims, must have x's dtype (PyTorch promotes nothing here), a floating one.
    PyTorch's kernel takes the form that rounds least on each side of w = 1/2:
    x + w (end - x) for |w| < 1/2, end - (end - x)(1 - w) otherwise; both have the gradients
    (1 - w) to x, w to end and (end - x) to w."""
    weight_tensor = isinstance(weight, Tensor)
    for name, other in (("end", end), ("weight", weight)):
        if isinstance(other, Tensor) and other.dtype != x.dtype and (name == "end" or
                                                                     other.ndim):
            raise RuntimeError(f"lerp: expected dtype {x.dtype} for `{name}` but got dtype "
                               f"{other.dtype}; convert it with .to({x.dtype})")
    if x.dtype.kind not in "f":
        kernel = "lerp_kernel_tensor" if weight_tensor else "lerp_kernel_scalar"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{backend.TORCH_DTYPE_NAMES.get(x.dtype.name, x.dtype.name)}'"
                                  f"; lerp needs floats: x.float()")
    return Lerp()(x, end, weight) if weight_tensor else Lerp(weight)(x, end)


class Lerp(Function):
    """torch.lerp as one node, with PyTorch's arithmetic. Forward, as its vectorised CPU
    kernel: one fused multiply-add, x + w (end - x) where |w| < 1/2 and end + (w - 1)(end - x)
    elsewhere (each form rounds least on its side of 1/2; half floats computed in float32).
    Backward, PyTorch's formulas: dx = g (1 - w), dend = g w, dw = g (end - x), each read
    from the inputs when backward runs (a weight that is given requires_grad_() afterwards
    still reaches a second derivative, as in PyTorch)."""
    efficient_zero_passes = (0, 1, 2)   # (PyTorch: products of grad: tensor._efficient_zeros)
    result_layout = "elementwise"   # (built row-major: see Function)
    def __init__(self, weight: Any = None) -> None:
        self.weight = weight   # a Python number, or None: the weight is the third input

    def saves(self):
        """PyTorch keeps the weight (two gradients read it), x and end only when the
        weight's gradient, which alone reads them, is wanted."""
        if self.weight is not None:
            return ()
        return (0, 1, 2) if self.needs_input_grad[2] else (2,)

    def forward(self, x, end, w=None):
        xp, dtype = xp_of(x), x.dtype
        work = np.dtype(np.float32 if dtype == np.float16 else dtype).type
        w = xp.asarray(self.weight if w is None else w).astype(work, copy=False)
        x, end = x.astype(work, copy=False), end.astype(work, copy=False)
        shape = np.broadcast_shapes(x.shape, end.shape, w.shape)
        small = xp.abs(w) < 0.5
        coeff = xp.broadcast_to(xp.where(small, w, w - work(1)), shape)
        base = xp.broadcast_to(xp.where(small, x, end), shape)
        return fused(coeff, end - x, base).astype(dtype, copy=False)

    def backward(self, gy):
        x, end = self.inputs[0], self.inputs[1]
        if self.weight is not None:
            return sum_to(gy * (1 - self.weight), x.shape), sum_to(gy * self.weight, end.shape)
        w = self.inputs[2]
        gw = sum_to(gy * (end - x), w.shape)
        if gw.dtype != w.dtype:   # a 0-d float64 weight of a float32 lerp: its own dtype
            gw = cast(gw, w.dtype)
        return sum_to(gy * (1 - w), x.shape), sum_to(gy * w, end.shape), gw


class _Typed:
    """What ``result_type`` reads of a tensor: its dtype and whether it has dims."""
    def __init__(self, dtype: Any, ndim: int) -> None:
        self.dtype, self.ndim = np.dtype(dtype), ndim


class _Addc(Function):
    """x + value * a * b (``mul=True``, torch.addcmul) or x + value * a / b (addcdiv), for
    floating results, as one node with PyTorch's arithmetic: forward (value * a) then * b or
    / b, in the result's dtype (float32 math for half); backward PyTorch's formulas, whose
    factors are computed in their own dtypes (a bool ``a`` times 2.17 is float32 there):
        addcmul: dx = g,  da = g (b value),  db = g (a value)
        addcdiv: dx = g,  da = g (value / b),  db = -g ((a value) / (b b))"""
    result_layout = "elementwise"   # (built row-major: see Function)
    def __init__(self, value: Any, mul: bool, dtype: Any) -> None:
        self.value, self.mul, self.dtype = value, mul, dtype

    def saves(self):
        """What PyTorch keeps: a's gradient reads b, b's reads a (and b, for addcdiv); an
        input whose gradient nobody wants keeps nothing, so ``x.addcdiv_(x, c)`` with a
        constant c may change x."""
        _, need_a, need_b = self.needs_input_grad
        kept = ({2} if need_a else set()) | ({1} if need_b else set())
        if need_b and not self.mul:
            kept.add(2)
        return tuple(sorted(kept))

    def forward(self, x, a, b):
        work = np.float32 if self.dtype == np.float16 else self.dtype
        v = np.dtype(work).type(self.value)
        x, a, b = (t.astype(work, copy=False) for t in (x, a, b))
        scaled = v * a
        if not self.mul:
            return (x + scaled / b).astype(self.dtype)
        # PyTorch's kernel is compiled with fused multiply-adds: (value a) b + x, one rounding
        y = fused(xp_of(x).broadcast_to(scaled, np.broadcast_shapes(x.shape, a.shape, b.shape)),
                  b, x)
        return y.astype(self.dtype)

    def backward(self, gy):
        x, a, b = self.inputs
        if self.mul:
            ga, gb = gy * (b * self.value), gy * (a * self.value)
        else:   # (value / b: a true division in PyTorch's C++ formula, not 1/b times value)
            ga = gy * div(self.value, b)
            gb = -gy * ((a * self.value) / (b * b))
        # each gradient in its input's shape and dtype (a float32 factor of a float64 sum
        # gets a float32 gradient, as PyTorch's engine casts it)
        return tuple(g if t.dtype.kind != "f" or g.dtype == t.dtype else cast(g, t.dtype)
                     for g, t in ((sum_to(gy, x.shape), x), (sum_to(ga, a.shape), a),
                                  (sum_to(gb, b.shape), b)))


def addc(x: Tensor, a: Tensor, b: Tensor, value: Any, mul: bool) -> Tensor | None:
    """x + value * a * b (or / b) for a floating result, as PyTorch computes it; None for
    an integer or bool result (the caller's plain composite handles those)."""
    first = result_type(x, a)   # the three tensors' promotion, two at a time
    dtype = result_type(_Typed(first, builtins.max(x.ndim, a.ndim)), b)
    if dtype.kind != "f":
        return None
    return _Addc(value, mul, dtype)(x, a, b)


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


def _numpy_names(op: str, dim: Any, keepdim: bool, axis: Any, keepdims: Any
                 ) -> tuple[Any, bool]:
    """Reductions take PyTorch's dim/keepdim (keepdim a bool, as PyTorch's parser checks)
    or NumPy's axis/keepdims."""
    if keepdims is not None:
        keepdim = bool(keepdims)
    elif keepdim.__class__ is not bool:   # (a bool, the usual case, needs no check)
        keepdim = flag(op, "keepdim", keepdim)
    return (dim if axis is None else axis), keepdim


def _normalise_axes(axis: Any, ndim: int, op: str) -> Any:
    """dim as PyTorch's reductions take it (an int, a tuple or list of them, or a
    one-element integer tensor), each wrapped into [0, ndim); None for every dim."""
    if axis is None or (isinstance(axis, (tuple, list)) and not axis):   # dim=(): every dim
        return None
    if isinstance(axis, Tensor):   # (a list of dims may be one tensor of one element)
        axis = index(op, "dim", axis, bools=True)
    if isinstance(axis, (tuple, list)):
        axes = tuple(wrap_dim(index(op, "dim", a, bools=True), ndim, op) for a in axis)
        for k, a in enumerate(axes):
            if a in axes[:k]:
                raise RuntimeError(f"{op}: dim {a} appears multiple times in the list of "
                                   f"dims {tuple(axis)}")
    else:
        axes = wrap_dim(axis, ndim, op)
    # a 0-d tensor accepts dim 0 and -1 (PyTorch): reducing it over "all" of its no axes
    return axes if ndim else None


class Sum(Function):
    efficient_zero_passes = (0,)   # (PyTorch: grad expanded: tensor._efficient_zeros)
    result_layout = "row-major"
    def __init__(self, axis, keepdims): self.axis, self.keepdims = axis, keepdims
    def saves(self): return ()
    def forward(self, x):   # ints and bools sum to int64 (PyTorch; NumPy gives uint64 for uint8)
        if x.dtype == np.float16:   # half precision: accumulated in float32, rounded once
            y = x.sum(axis=self.axis, keepdims=self.keepdims, dtype=np.float32).astype(
                np.float16)
        elif sum_kernel.applies(x, axes := None if self.axis is None else
                                _axes(self.axis, x.ndim)):
            # PyTorch's order of additions (see tinygan/fast/sum_kernel.py): the same sum,
            # the same last bits, so a sum that cancels prints PyTorch's rounding noise
            y = sum_kernel.pytorch_sum(x, axes, self.keepdims)
        else:
            y = x.sum(axis=self.axis, keepdims=self.keepdims,
                      dtype=np.int64 if x.dtype.kind in "biu" else None)
        # a fresh, contiguous result, as PyTorch's (NumPy's follows a transposed input's
        # layout, and a later flatten() would copy where PyTorch's is a view)
        return y.copy() if getattr(y, "ndim", 0) > 1 and not y.flags.c_contiguous else y

    def backward(self, gy):  # every input element contributed once: copy gy back out
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        return broadcast_to(reshape(gy, kept), x.shape)


def sum(x: Tensor, dim: Any = None, keepdim: bool = False, *,
        axis: Any = None, keepdims: bool | None = None) -> Tensor:  # noqa: A001
    dim, keepdim = _numpy_names("sum", dim, keepdim, axis, keepdims)
    return Sum(_normalise_axes(dim, x.ndim, "sum"), keepdim)(x)


class AMax(Function):
    """The largest (or smallest) value over ``axis``. The gradient goes to the extreme
    element(s); ties share it equally (as torch.amax)."""
    result_layout = "row-major"
    saves_output = True

    def __init__(self, axis, keepdims, largest):
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    def forward(self, x):
        if self.largest:
            return x.max(axis=self.axis, keepdims=self.keepdims)
        return x.min(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        winners = x.array == self.output.array.reshape(kept)
        ties = winners.sum(axis=self.axis, keepdims=True).astype(x.dtype)
        share = _same_dtype_const(x.array, winners / ties)
        return broadcast_to(reshape(gy, kept), x.shape) * share


class ExtremeOfAll(Function):
    """max() or min() with no dim: the one largest (smallest) element. The gradient is
    shared evenly by the elements equal to it (by the NaNs, when it is NaN) and is exactly 0
    elsewhere: chosen, not multiplied, so a NaN or inf gradient stays on the winners
    (PyTorch's evenly_distribute_backward). amax multiplies by the share instead, so there
    a NaN gradient reaches every element, in both libraries."""
    result_layout = "row-major"
    saves_output = True
    def __init__(self, largest): self.largest = largest

    def forward(self, x):
        return xp_of(x).asarray(x.max() if self.largest else x.min())

    def backward(self, gy):
        x, value = self.inputs[0].array, self.output.array
        xp = xp_of(x)
        winners = (x == value) | (xp.isnan(x) & xp.isnan(value))
        return where(winners, gy / _same_dtype_const(x, winners.sum()), 0.0)


def amax(x: Tensor, dim: Any = None, keepdim: bool = False, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    dim, keepdim = _numpy_names("amax", dim, keepdim, axis, keepdims)
    return fast.form(AMax)(_normalise_axes(dim, x.ndim, "amax"), keepdim, True)(x)


def amin(x: Tensor, dim: Any = None, keepdim: bool = False, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    dim, keepdim = _numpy_names("amin", dim, keepdim, axis, keepdims)
    return fast.form(AMax)(_normalise_axes(dim, x.ndim, "amin"), keepdim, False)(x)


def max(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """torch.max: the largest element, or ``(values, indices)`` along ``dim``."""
    return x.max(dim, keepdim)


def min(x: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    return x.min(dim, keepdim)


def mean(x: Tensor, dim: Any = None, keepdim: bool = False, *,
         axis: Any = None, keepdims: bool | None = None) -> Tensor:
    """Composite: the sum over the count (divided, not times 1/count: PyTorch divides, and
    the two round differently, 1.26 / 3 = 0.42 but 1.26 * (1/3) = 0.42000002 in float32)."""
    dim, keepdim = _numpy_names("mean", dim, keepdim, axis, keepdims)
    _need_float("mean", x)
    if x.dtype == np.float16:   # PyTorch works in float32 for half and rounds once
        return cast(mean(cast(x, np.float32), dim, keepdim), np.float16)
    axis = _normalise_axes(dim, x.ndim, "mean")
    count = int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))
    total = sum(x, axis, keepdim)
    if not count:
        return total * float("nan")   # empty: NaN
    out = total / count
    if out.creator is not None:   # PyTorch's mean backward computes: an efficient zero
        out.creator.efficient_zero_passes = ()   # comes out as plain zeros (_efficient_zeros)
    return out


def _divisor(x: Tensor, axis: Any, unbiased: bool, correction: Any) -> tuple[int, float]:
    """(n, n - correction): correction 1 = unbiased, PyTorch's default; 0 = the population
    variance. The forward divides by n - correction clamped at 0: a divisor of 0 gives inf
    (0/0 = NaN for one sample), as PyTorch, not a silent 0; the backward uses it as it is."""
    count = int(np.prod([x.shape[a] for a in _axes(axis, x.ndim)]))
    if correction is None:
        correction = 1 if unbiased else 0
    if count == 0:   # no samples: the mean is NaN, and so is the spread (PyTorch's 0 / 0)
        return count, 0
    return count, count - correction


def _spread(x: Any, axis: Any, keepdims: bool, dof: float, root: bool = False) -> Any:
    """The variance of a raw array (its root with ``root``): squared deviations from the
    mean, summed, over dof (clamped at 0, so too few samples give inf, or NaN for a
    constant x). Summed as PyTorch's CPU kernels do, so that the last bits agree (a second
    derivative of std that is 0 in exact arithmetic is rounding noise in both libraries,
    and a constant row gives exactly 0 in one way of summing and 1e-16 in another):
    - float32 or float64 data reduced to one number: the mean as ``mean`` gives it, then
      (x - mean)^2 summed in float64 one element after the other, in memory order;
    - float64 rows: Welford's one-pass update (``_welford``);
    - float32 and half rows: in float64, rounded once at the end (the root taken before)."""
    xp = xp_of(x)
    axes = _axes(axis, x.ndim)
    count = int(np.prod([x.shape[a] for a in axes]))
    with np.errstate(divide="ignore", invalid="ignore"):
        if x.dtype.itemsize >= 4 and 0 < count == x.size:
            total = sum_kernel.pytorch_sum(x, axes, False) if sum_kernel.applies(x, axes) \
                else x.sum(dtype=x.dtype)   # (the sum in PyTorch's order, as mean's)
            centre = (total / x.dtype.type(count)).astype(np.float64)
            squares = (_in_memory_order(x, axes).astype(np.float64) - centre) ** 2
            total = xp.cumsum(squares, axis=-1)[..., -1]   # (cumsum adds in order)
            if keepdims:
                total = total.reshape(_keepdims_shape(x.shape, axes))
        elif x.dtype.itemsize == 8 and 0 < count <= _WELFORD_MOST:
            total = _welford(x, axes, keepdims)
        else:
            wide = x.astype(np.float64) if x.dtype.itemsize < 8 else x
            centred = wide - wide.sum(axis=axis, keepdims=True) / count
            total = (centred * centred).sum(axis=axis, keepdims=keepdims)
        spread = total / builtins.max(dof, 0)
        spread = xp.sqrt(spread) if root else spread
    return xp.asarray(spread).astype(x.dtype, copy=False)


_WELFORD_MOST = 32768   # PyTorch's grain size: longer rows are split among threads


def _in_memory_order(x: Any, axes: tuple[int, ...]) -> Any:
    """x with the kept dims first and ``axes`` flattened into the last one, walked in the
    order PyTorch's reduction visits them: the dim with the largest stride outermost."""
    kept = [a for a in range(x.ndim) if a not in axes]
    walked = sorted(axes, key=lambda a: -builtins.abs(x.strides[a]))
    count = int(np.prod([x.shape[a] for a in walked]))
    return xp_of(x).transpose(x, kept + walked).reshape(tuple(x.shape[a] for a in kept) +
                                                         (count,))


def _welford(x: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    """The sum of squared deviations over ``axes`` by Welford's update, one element at a
    time in memory order (PyTorch's reduction order): with n seen so far,
        d = x - mean,  mean += d / n,  m2 += d (x - mean).
    A constant row gives exactly 0, where the two-pass sum of (x - mean)^2 may not."""
    rows = _in_memory_order(x, axes)
    mean = xp_of(x).zeros(rows.shape[:-1], dtype=x.dtype)
    m2 = xp_of(x).zeros(rows.shape[:-1], dtype=x.dtype)
    for n in range(rows.shape[-1]):
        value = rows[..., n]
        delta = value - mean
        mean = mean + delta / (n + 1)
        m2 = m2 + delta * (value - mean)
    if keepdims:
        m2 = m2.reshape(_keepdims_shape(x.shape, axes))
    return m2


def _var_backward(g: Tensor, x: Tensor, axis: Any, keepdims: bool, dof: float,
                  whole: bool) -> Tensor:
    """PyTorch's var_backward, op for op (its NaNs and infs, and so its second derivatives,
    follow from the order): (2 / (n - correction)) g (x - mean x), with g put back over the
    reduced dims. Over all of x (no dim given) with n - correction <= 0 it is g times NaN
    where x equals its mean and +inf elsewhere: a factor that does not depend on x."""
    if whole and dof <= 0:
        xa = x.array
        factor = xp_of(xa).where(xa == xa.mean(), np.nan, np.inf).astype(xa.dtype)
        return Tensor(factor) * reshape(g, ())
    if not keepdims:
        g = reshape(g, _keepdims_shape(x.shape, _axes(axis, x.ndim)))
    two_over_dof = 2.0 / dof if dof else float("inf")
    return two_over_dof * g * (x - mean(x, axis, keepdim=True))


class Var(Function):
    """The variance over ``axis``: sum (x - mean)^2 / (n - correction)."""
    result_layout = "row-major"
    def __init__(self, axis, keepdims, dof, whole):
        self.axis, self.keepdims, self.dof, self.whole = axis, keepdims, dof, whole

    def forward(self, x): return _spread(x, self.axis, self.keepdims, self.dof)

    def backward(self, gy):
        return _var_backward(gy, self.inputs[0], self.axis, self.keepdims, self.dof, self.whole)


class Std(Function):
    """The standard deviation, sqrt(var). Its gradient is PyTorch's std_backward: the
    variance's gradient fed with g / (2 std), that taken as 0 where std = 0, so a constant x
    gets a zero gradient, not sqrt's infinite slope at 0. PyTorch keeps x and the result."""
    result_layout = "row-major"
    saves_output = True
    def __init__(self, axis, keepdims, dof, whole):
        self.axis, self.keepdims, self.dof, self.whole = axis, keepdims, dof, whole

    def forward(self, x): return _spread(x, self.axis, self.keepdims, self.dof, root=True)

    def backward(self, gy):
        result = self.output
        grad_var = where(result.array == 0, 0.0, gy / (result * 2))
        return _var_backward(grad_var, self.inputs[0], self.axis, self.keepdims, self.dof,
                             self.whole)


def var(x: Tensor, dim: Any = None, keepdim: bool = False, unbiased: bool = True, *,
        correction: Any = None) -> Tensor:
    """The variance: sum of squared deviations / (n - correction)."""
    return _var_or_std(Var, "var", x, dim, keepdim, unbiased, correction)


def std(x: Tensor, dim: Any = None, keepdim: bool = False, unbiased: bool = True, *,
        correction: Any = None) -> Tensor:
    """The standard deviation: the root of the variance."""
    return _var_or_std(Std, "std", x, dim, keepdim, unbiased, correction)


def _var_or_std(op: type, name: str, x: Tensor, dim: Any, keepdim: bool, unbiased: bool,
                correction: Any) -> Tensor:
    keepdim, unbiased = flag(name, "keepdim", keepdim), flag(name, "unbiased", unbiased)
    _need_float(name, x)   # (half: the value in float32, rounded once; its gradient in
    axis = _normalise_axes(dim, x.ndim, name)   # half, as PyTorch's backward formula runs)
    _, dof = _divisor(x, axis, unbiased, correction)
    # PyTorch reads a 0-d tensor's dim 0 or -1 as "all of it" (its backward takes that path)
    return op(axis, keepdim, dof, dim is None or x.ndim == 0)(x)


def _one_element_each(x: Any, axis: Any) -> bool:
    """Whether every norm is of a single element (the reduced dims all have size 1)."""
    return builtins.all(x.shape[a] == 1 for a in _axes(axis, x.ndim))


def _abs_as_reduced(x: Any, axis: Any, keepdims: bool) -> Any:
    """|x| in the reduced shape: PyTorch's norm of one element is the element's absolute
    value, so 2.3e29 does not overflow through its square in float32. (Its gradient stays
    the norm's formula, which may still overflow there, as PyTorch's does.)"""
    y = xp_of(x).abs(x)
    return y if keepdims else y.reshape(tuple(n for i, n in enumerate(x.shape)
                                              if i not in _axes(axis, x.ndim)))


class Norm2(Function):
    """The Euclidean norm ||x|| over ``axis``: d||x||/dx = x / ||x||, taken as 0 where the
    norm is 0 (as PyTorch), so a zero vector gives a zero gradient, not NaN. As in PyTorch,
    x / ||x|| is computed and then masked, so the second derivative there is NaN (the mask
    stops the gradient, but 1 / ||x|| = inf still multiplies the zero it lets through)."""
    efficient_zero_passes = (0,)   # (PyTorch: grad * x / ||x||: tensor._efficient_zeros)
    result_layout = "row-major"
    saves_output = True
    def __init__(self, axis, keepdims): self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        if _one_element_each(x, self.axis):
            return _abs_as_reduced(x, self.axis, self.keepdims)
        return xp_of(x).sqrt((x * x).sum(axis=self.axis, keepdims=self.keepdims))

    def backward(self, gy):
        x = self.inputs[0]
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        norm = reshape(self.output, kept)
        zero = xp_of(x.array).broadcast_to(norm.array == 0, x.shape)
        with np.errstate(divide="ignore", invalid="ignore"):   # 0 / 0 where masked
            direction = where(zero, 0.0, x / norm)
        return reshape(gy, kept) * direction   # (x's shape: direction has it)


class NormP(Function):
    """(sum |x|^p)^(1/p) for the other p (3, 0.5, -2 ...): d/dx = sgn(x) |x|^(p-1) / ||x||^(p-1).

    Written in PyTorch's three forms, whose zeros and NaNs differ (and a program can tell):
    p < 1      sgn(x) |x|^(p-1) (0 where x = 0) * g * ||x||^(1-p)  (no mask on the norm)
    1 < p < 2  sgn(x) |x|^(p-1) * [g / ||x||^(p-1), 0 where the norm is 0]
    p > 2      x |x|^(p-2)      * [g / ||x||^(p-1), 0 where the norm is 0]"""
    result_layout = "row-major"
    saves_output = True
    def __init__(self, p, axis, keepdims): self.p, self.axis, self.keepdims = p, axis, keepdims

    def forward(self, x):
        if _one_element_each(x, self.axis):
            return _abs_as_reduced(x, self.axis, self.keepdims)
        xp = xp_of(x)
        with np.errstate(divide="ignore"):
            return (xp.abs(x) ** self.p).sum(axis=self.axis, keepdims=self.keepdims) ** (
                1.0 / self.p)


    def backward(self, gy):
        x, p = self.inputs[0], self.p
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        norm, g = reshape(self.output, kept), reshape(gy, kept)
        sign = _same_dtype_const(x.array, xp_of(x.array).sign(x.array))   # a constant: sgn' = 0
        if p < 1:
            scaled = where(x.array == 0, 0.0, sign * abs(x) ** (p - 1))
            return broadcast_to(scaled * g * norm ** (1 - p), x.shape)
        scaled = sign * abs(x) ** (p - 1) if p < 2 else x * abs(x) ** (p - 2)
        scale = where(norm.array == 0, 0.0, g / norm ** (p - 1))
        return broadcast_to(scaled * scale, x.shape)


class CountNonzero(Function):
    """The "0-norm": how many entries are not 0. It is in the graph (requires grad when x
    does), but, as in PyTorch, its backward gives x no gradient at all (None, not zeros)."""
    result_layout = "row-major"
    saves_output = True   # PyTorch's norm keeps x and the result, even for ord 0
    def __init__(self, axis, keepdims): self.axis, self.keepdims = axis, keepdims
    def forward(self, x):
        return (x != 0).sum(axis=self.axis, keepdims=self.keepdims).astype(x.dtype)
    def backward(self, gy): return None


class NormInf(Function):
    """The inf-norm, max |x| over ``axis`` (the -inf-norm: min |x|). Backward, PyTorch's
    formula: the gradient is shared evenly by the elements whose |x| is the norm, and by
    the NaNs, times sgn(x) (0 for a NaN):  g sgn(x) mask / sum(mask). So a NaN in a row
    makes the norm NaN but its gradient 0, not NaN (amax's share would give NaN)."""
    result_layout = "row-major"
    saves_output = True
    backward_reads = (0,)             # PyTorch's backward reads x (through sgn, whose own
    backward_reads_give_zeros = True  # derivative is 0)

    def __init__(self, axis, keepdims, largest):
        self.axis, self.keepdims, self.largest = axis, keepdims, largest

    def forward(self, x):
        size = xp_of(x).abs(x)
        if self.largest:
            return size.max(axis=self.axis, keepdims=self.keepdims)
        return size.min(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        xa, xp = x.array, xp_of(x.array)
        kept = _keepdims_shape(x.shape, _axes(self.axis, x.ndim))
        mask = (xp.abs(xa) == self.output.array.reshape(kept)) | xp.isnan(xa)
        count = _same_dtype_const(xa, mask.sum(axis=self.axis, keepdims=True))
        sgn = _same_dtype_const(xa, (xa > 0).astype(xa.dtype) - (xa < 0).astype(xa.dtype))
        return sgn * ((reshape(gy, kept) / count) * _same_dtype_const(xa, mask))


def norm(x: Tensor, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
    """The p-norm over ``dim`` (all elements when None): p = 2 (default, "fro"), 1, inf, or
    any p > 0 (a composite: (sum |x|^p)^(1/p)). p=None is 2, a bool p its 0 or 1, as
    PyTorch reads them."""
    keepdim = flag("norm", "keepdim", keepdim)
    _need_float("norm", x)
    p = 2 if p is None else int(p) if isinstance(p, (bool, np.bool_)) else \
        number_argument("norm", "p", p) if isinstance(p, Tensor) else p
    if x.dtype == np.float16:   # PyTorch works in float32 for half and rounds once (|x|^p
        return cast(norm(cast(x, np.float32), p, dim, keepdim), np.float16)   # overflows)
    axis = _normalise_axes(dim, x.ndim, "norm")
    reduced = range(x.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    if isinstance(p, (int, float)) and not isinstance(p, bool) and (
            p < 0 or p == float("inf")) and (x.numel() == 0 if axis is None else any(
            x.shape[a] == 0 for a in reduced)):   # a max, min or 1 / sum |x|^p of nothing
        raise RuntimeError(f"linalg.vector_norm cannot compute the {p:g} norm on an empty "
                           f"tensor because the operation does not have an identity")
    if p in (2, "fro"):
        return Norm2(axis, keepdim)(x)
    if p == 0:   # the number of non-zero entries (NaN counts): a step function
        return CountNonzero(axis, keepdim)(x)
    if not isinstance(p, (int, float)) or isinstance(p, bool):
        raise ValueError(f"norm: p must be a number, 'fro', inf or -inf, got {p!r}")
    if p in (float("inf"), float("-inf")):
        return NormInf(axis, keepdim, p > 0)(x)
    if p == 1:
        y = sum(abs(x), axis, keepdim)
    else:
        return NormP(p, axis, keepdim)(x)
    # PyTorch keeps x and the result; its backward (sgn(x) times the gradient, or a mask)
    # gives x a zero second derivative, which abs and amax here give already
    return keeps(y, x, name="Norm", output=True, one_node=False)


# =======================================================================================
# Type and device moves
# =======================================================================================
class Cast(Function):
    """A change of dtype. Only float-to-float casts are differentiable: a cast to an integer
    or bool dtype rounds the values away, so (as in PyTorch) its result leaves the graph."""
    result_layout = "own"   # (as x's: PyTorch's to(dtype) preserves the layout)
    def __init__(self, dtype): self.dtype = np.dtype(dtype)
    def saves(self): return ()
    def forward(self, x): return copy_preserving(x, self.dtype)
    def backward(self, gy): return cast(gy, self.inputs[0].dtype)   # the identity, cast back


def cast(x: Tensor, dtype: Any) -> Tensor:
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind not in "fc":                 # x.long(), x.bool(): a constant, no gradient
        return Tensor(copy_preserving(x.array, dtype))
    return Cast(dtype)(x)


class ToDevice(Function):
    def __init__(self, device): self.device = device
    def saves(self): return ()
    def forward(self, x): return backend.to_device(x, self.device)
    def backward(self, gy): return to_device(gy, self.inputs[0].device)   # the identity, moved back


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
    elementwise = True
    def forward(self, p, t):
        xp = xp_of(p)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped: expected
            log_p = xp.maximum(xp.log(p), -100)
            log_1mp = xp.maximum(xp.log1p(-p), -100)
        return -(t * log_p + (1 - t) * log_1mp)

    def backward(self, gy):
        p, t = self.inputs
        g_p = BinaryCrossEntropyGrad()(gy, p, t)
        g_t = gy * (clip(log(1 - p), -100, None) - clip(log(p), -100, None)) \
            if t.requires_grad else None
        return g_p, g_t


class BinaryCrossEntropyGrad(Function):
    """BCE's gradient as one op (PyTorch's ``binary_cross_entropy_backward``):

        g = gy (p - t) / max(p (1 - p), 1e-12)

    Its own derivatives (the second derivative of BCE) are PyTorch's formulas, which put the
    epsilon elsewhere, on p and on 1 - p:

        dg/dgy = (p - t) / ((p + e)(1 - p + e))
        dg/dp  = gy (p^2 - 2 p t + t) / ((p + e)^2 (1 - p + e)^2)
        dg/dt  = -gy / max(p (1 - p), 1e-12)

    Differentiating the first line op by op gives the same values save for where e sits: a
    relative 2e / p, 2e-9 for p = 1e-3, which a float64 comparison sees."""
    elementwise = True
    EPS = 1e-12

    @staticmethod
    def denominator(p: Any) -> Any:
        """max(p (1 - p), 1e-12) on a raw array (the first derivative's epsilon)."""
        return xp_of(p).maximum(p * (1 - p), p.dtype.type(_BCE_EPS))

    def forward(self, gy, p, t):
        return gy * (p - t) / self.denominator(p)

    def backward(self, gg):
        gy, p, t = self.inputs
        need_gy, need_p, need_t = self.needs_input_grad
        e = self.EPS
        g_gy = g_p = g_t = None
        if need_gy:
            g_gy = sum_to((p - t) / ((p + e) * (1 - p + e)) * gg, gy.shape)
        if need_p:
            curvature = (p * p - 2 * p * t + t) / ((p + e) ** 2 * (1 - p + e) ** 2)
            g_p = sum_to(curvature * (gg * gy), p.shape)
        if need_t:
            g_t = sum_to(-gg * gy / Tensor(self.denominator(p.array)), t.shape)
        return g_gy, g_p, g_t


def _weighted(loss: Tensor, weight: Any) -> Tensor:
    """Each element's loss times its weight (broadcast to the loss's shape, as PyTorch)."""
    if weight is None:
        return loss
    weight = _as_tensor(weight, like=(loss,))
    if np.broadcast_shapes(weight.shape, loss.shape) != loss.shape:
        raise RuntimeError(f"weight of shape {weight.shape} does not broadcast to the loss's "
                           f"shape {loss.shape}")
    return loss * weight


def legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """PyTorch's old loss flags, still accepted there (with a deprecation warning), read
    by their truth value as PyTorch reads them (0 is false; a tensor of many values is
    ambiguous): a false reduce means 'none'; otherwise a false size_average means 'sum',
    else 'mean'. Either one given overrides ``reduction``."""
    if size_average is None and reduce is None:
        if not isinstance(reduction, str) or reduction not in ("mean", "sum", "none"):
            raise ValueError(f"{reduction} is not a valid value for reduction: give 'mean', "
                             f"'sum' or 'none'")
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _loss_tensors(op: str, **arguments: Any) -> None:
    """A loss's target (and weights) must be tensors: PyTorch reads their .size() (a
    number there is an AttributeError; here a TypeError that says what to write)."""
    for name, value in arguments.items():
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"{op}(): {name} must be a Tensor, not {type(value).__name__}; "
                            f"write tinygan.full_like(input, {value!r})")


def binary_cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                         size_average: Any = None, reduce: Any = None,
                         reduction: str = "mean") -> Tensor:
    """BCE on probabilities p = ``input`` in [0, 1] (after a Sigmoid), each element's loss
    times ``weight`` when given. Prefer the logits version."""
    p = input
    reduction = legacy_reduction(size_average, reduce, reduction)
    _loss_tensors("binary_cross_entropy", target=target, weight=weight)
    refuse_gradient_of("binary_cross_entropy", "weight", weight)
    _check_same_shape("binary_cross_entropy", p, target)
    _same_dtype("binary_cross_entropy", p, target)
    refuse_kinds("binary_cross_entropy", p, "biu")
    # checked on p's device without a host sync; NaN fails it too, as in PyTorch
    backend.check((p.array >= 0) & (p.array <= 1),
                  "binary_cross_entropy: input must be probabilities in [0, 1]; "
                  "for raw scores use binary_cross_entropy_with_logits")
    backend.check((target.array >= 0) & (target.array <= 1),
                  "binary_cross_entropy: all elements of target should be between 0 and 1")
    return keeps(_reduce(_weighted(BinaryCrossEntropy()(p, target), weight), reduction),
                 weight, name="BinaryCrossEntropy",   # PyTorch keeps the weight too
                 refuse_later=(("binary_cross_entropy_backward", "weight", weight),))


class BCEWithLogits(Function):
    """-[t log sigma(x) + (1 - t) log(1 - sigma(x))] from the logit x, written as PyTorch
    writes it: (1 - t) x - log sigma(x), with log sigma(x) = min(x, 0) - log(1 + e^-|x|):
    finite for any x, and exact in the tails (x = 20, t = 1 gives 2.06e-9, where
    softplus(x) - t x rounds to 0); where log sigma(x) rounds to x itself (x = -184, t = 0)
    the loss is 0, as PyTorch's (long run 9506892: 9.3e-81 against 0 in float64).
    dL/dx = sigma(x) - t;  dL/dt = -x.

    With ``pos_weight`` pw (a third input, never differentiated) the positive term counts
    pw times: (1 - t) x - (1 + (pw - 1) t) log sigma(x), and, as PyTorch writes them,
        dL/dx = ((pw t + 1 - t) sigma(x) - pw t) g,   dL/dt = (log sigma(-x) - pw log sigma(x)) g
    (g multiplied last: an infinite g gives an infinite gradient, not inf - inf = NaN)."""
    # laid out as PyTorch's, which starts from (1 - t) and writes the rest into it in place
    result_layout = "own"

    def saves(self): return (0, 1) if len(self.inputs) == 2 else (0, 1, 2)

    def forward(self, x, t, pw=None):
        xp = xp_of(x)
        log_sigmoid_x = xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))
        if pw is None:
            loss = (1 - t) * x - log_sigmoid_x
        else:
            loss = (1 - t) * x - ((pw - 1) * t + 1) * log_sigmoid_x
        return as_elementwise_result(loss, [t])

    def backward(self, gy):
        x, t = self.inputs[:2]
        need_x, need_t = self.needs_input_grad[:2]
        if len(self.inputs) == 2:
            return (gy * (sigmoid(x) - t) if need_x else None), (-gy * x if need_t else None)
        pw = self.inputs[2]
        pw_t = pw * t
        gt = (log_sigmoid(-x) - log_sigmoid(x) * pw) * gy if need_t else None
        gx = ((pw_t + 1 - t) * sigmoid(x) - pw_t) * gy if need_x else None
        return gx, gt, None


def binary_cross_entropy_with_logits(input: Tensor, target: Any,  # noqa: A002
                                     weight: Any = None, size_average: Any = None,
                                     reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Any = None) -> Tensor:
    """BCE from logits x = ``input``: the stable form of BCE(sigmoid(x), t); prefer it to
    the two steps. ``pos_weight`` (one per class, last dim) scales the positive term:
    -[pw t log sigma(x) + (1 - t) log(1 - sigma(x))] = (1 - t) x + (1 + (pw - 1) t) softplus(-x)."""
    logits = input
    reduction = legacy_reduction(size_average, reduce, reduction)
    _loss_tensors("binary_cross_entropy_with_logits", target=target, weight=weight,
                  pos_weight=pos_weight)
    if isinstance(pos_weight, Tensor) and pos_weight.dtype == np.bool_:   # (pos_weight - 1)
        raise RuntimeError("binary_cross_entropy_with_logits: Subtraction, the `-` operator, "
                           "with a bool tensor is not supported (pos_weight - 1 of a bool "
                           "pos_weight); give it as floats")
    for name, value in (("weight", weight), ("pos_weight", pos_weight)):
        refuse_gradient_of("binary_cross_entropy_with_logits", name, value)
    _check_same_shape("binary_cross_entropy_with_logits", logits, target)
    refuse_kinds("log_sigmoid", logits, "biu")
    if target.dtype.kind not in "fc":
        raise RuntimeError(f"binary_cross_entropy_with_logits: result type {logits.dtype} "
                           f"can't be cast to the target's dtype {target.dtype} (shape "
                           f"{target.shape}); pass a float target: target.float()")
    # PyTorch's result has the target's dtype, computed in the wider of the two
    out_dtype = target.dtype
    wide = result_type(logits, target)
    logits, target = cast(logits, wide), cast(target, wide)
    if pos_weight is None:
        loss = BCEWithLogits()(logits, target)
    else:
        pw = _as_tensor(pos_weight, like=(logits,))
        if np.broadcast_shapes(pw.shape, logits.shape) != logits.shape:
            raise RuntimeError(f"binary_cross_entropy_with_logits: pos_weight of shape "
                               f"{pw.shape} does not broadcast to the input's {logits.shape}")
        if pw.dtype.kind in "iu":
            # PyTorch takes pos_weight - 1 in pos_weight's own dtype: a uint8 0 wraps to
            # 255 there (exact as a float, as any int here, so + 1 and BCEWithLogits's - 1
            # give it back)
            pw = cast(pw - 1, wide) + 1
        loss = BCEWithLogits()(logits, target, cast(pw, wide))
    return keeps(cast(_reduce(_weighted(loss, weight), reduction), out_dtype), logits, target,
                 weight, pos_weight, name="BinaryCrossEntropyWithLogits")   # PyTorch's keeps all


def mse_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
             reduce: Any = None, reduction: str = "mean", weight: Any = None) -> Tensor:
    """Mean squared error. Shapes that differ are broadcast, with PyTorch's warning (it is
    almost always a bug: (N, 1) against (N,) gives an (N, N) loss). ``weight`` (input's
    shape) scales each squared error; "mean" then divides by the weights' sum."""
    x = input
    reduction = legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return weighted_loss("mse_loss", x, target, weight, reduction,
                             lambda d: pow(d, 2))
    target = _regression_target("mse_loss", x, target)
    wide = _broadcast_result_type(x, target)   # a bool or int side is read as the float one's
    if wide.kind not in "fc":
        refuse_kinds("mse", cast(x, wide), "biu")
    loss = _reduce(SquaredError()(cast(x, wide), cast(target, wide)), reduction)
    if x.dtype == target.dtype:
        return loss    # SquaredError keeps x and target itself
    # PyTorch's mse_loss is one op that promotes inside: it keeps the tensors it was given
    return keeps(loss, x, target, name="MSELoss", one_node=False)


def weighted_loss(op: str, input: Tensor, target: Any, weight: Tensor, reduction: str,  # noqa: A002
                  error: Any) -> Tensor:
    """mse_loss and l1_loss with ``weight``, PyTorch's composite: error(input - target) *
    weight, then summed, or summed and divided by sum(weight) for "mean"."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(f"{op}: Weights and input must have the same size (weight "
                         f"{tuple(weight.shape)}, input {tuple(input.shape)})")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', "
                         f"'mean', 'sum'.")
    target = _regression_target(op, input, target)
    shape = np.broadcast_shapes(input.shape, target.shape)
    weighted = error(broadcast_to(input, shape) - broadcast_to(target, shape)) * weight
    if reduction == "none":
        return weighted
    total = sum(weighted)
    return total if reduction == "sum" else total / sum(weight)


class SquaredError(Function):
    """(x - t)^2 elementwise: d/dx = 2 (x - t), d/dt = -2 (x - t). One node that keeps x
    and t, as PyTorch's mse_loss does: changing either in place before backward is caught."""
    elementwise = True
    def forward(self, x, t):
        d = x - t
        return d * d

    def backward(self, gy):
        x, t = self.inputs
        need_x, need_t = self.needs_input_grad
        g = 2 * (x - t) * gy if need_x or need_t else None
        return (sum_to(g, x.shape) if need_x else None), (sum_to(-g, t.shape) if need_t else None)


def _broadcast_result_type(x: Tensor, target: Tensor) -> Any:
    """The dtype of a loss of x and target: PyTorch broadcasts the two first, so a 0-d
    float64 target against a float32 vector makes float64 (result_type alone: float32)."""
    if _KIND_RANK[x.dtype.kind] == _KIND_RANK[target.dtype.kind] and (x.ndim or target.ndim):
        return np.promote_types(x.dtype, target.dtype)   # (int64 with uint8: both "int")
    return result_type(x, target)


_KIND_RANK = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}   # PyTorch's categories


def _regression_target(op: str, x: Tensor, target: Any) -> Tensor:
    """The target of an elementwise loss (mse_loss, l1_loss) as a Tensor. Shapes that differ
    are broadcast, with PyTorch's warning (it is almost always a bug: (N, 1) against (N,)
    gives an (N, N) loss); shapes that do not broadcast raise."""
    if not isinstance(target, Tensor):   # (PyTorch reads target.size(): a tensor only)
        raise TypeError(f"{op}(): the target must be a Tensor, not {type(target).__name__}; "
                        f"write tinygan.full_like(input, {target!r})")
    if x.shape != target.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({x.shape}). This will likely lead to incorrect results due to "
                      f"broadcasting. Please ensure they have the same size.", UserWarning,
                      stacklevel=3)
        try:
            np.broadcast_shapes(x.shape, target.shape)
        except ValueError:
            raise RuntimeError(f"{op}: input of shape {x.shape} and target of shape "
                               f"{target.shape} do not broadcast") from None
    return target


class _AlongAxis(Function):
    """softmax and log_softmax: one row-wise op along ``axis``, keeping its result (both
    backward formulas read it). An empty input gives an empty result; the values are
    computed in ``along`` on the raw arrays (half data in float32, rounded once)."""
    result_layout = "row-major"
    saves_output = True
    def __init__(self, axis): self.axis = axis
    def saves(self): return ()

    def forward(self, x):
        if x.size == 0:   # nothing to normalise
            return x.copy()
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            return self.along(xp_of(x), in_opmath(x), x).astype(x.dtype, copy=False)


class LogSoftmax(_AlongAxis):
    """y = log softmax(x) = x - log sum_j exp(x_j) along ``axis``, computed as PyTorch's
    kernel does: z = x - max x (the max cancels exactly, and exp(z) <= 1 cannot overflow),
    then y = z - log sum exp z. Half data in float32, rounded once (but over the last dim
    PyTorch's kernel keeps the sum and its log in half: ``_half_sums``).

    Backward, PyTorch's formula on the result y (softmax = exp y):
        dL/dx = g - exp(y) sum_j g_j
    (each x_j moves every y_i by -softmax_j, and its own y_j by 1 more)."""
    def along(self, xp, wide, x):
        half_sums = _half_sums(x, self.axis)
        z = wide - wide.max(axis=self.axis, keepdims=True)
        if x is wide and softmax_kernel.applies(z, self.axis):   # (float32, float64)
            return softmax_kernel.log_softmax(z, self.axis)      # in PyTorch's order
        total = _through_half(xp.exp(z).sum(axis=self.axis, keepdims=True), half_sums)
        return z - _through_half(xp.log(total), half_sums)

    def backward(self, g):
        y, g = _softmax_opmath(self.output, g)
        if y is self.output and softmax_kernel.applies(y.array, self.axis) and \
                type(g.array) is np.ndarray:   # (float32 and float64; half: the formula)
            # the value in PyTorch's order of arithmetic (fast/softmax_kernel.py); with
            # create_graph, the formula's graph carries it, for the second derivative
            value = softmax_kernel.log_softmax_backward(y.array, g.array, self.axis)
            if not is_grad_enabled():
                return Tensor(value)
            return KernelValue(value)(g - exp(y) * sum(g, self.axis, keepdim=True))
        return cast(g - exp(y) * sum(g, self.axis, keepdim=True), self.output.dtype)


class Softmax(_AlongAxis):
    """y = softmax(x) = exp(x_i) / sum_j exp(x_j) along ``axis``, as PyTorch's kernel:
    e = exp(x - max x), then y = e * (1 / sum e). Half data in float32, rounded once.

    Backward, PyTorch's formula on the result y:
        dL/dx = y (g - sum_j g_j y_j)
    (the Jacobian diag(y) - y y^T applied to g)."""
    def along(self, xp, wide, x):
        z = wide - wide.max(axis=self.axis, keepdims=True)
        if x is wide and softmax_kernel.applies(z, self.axis):   # (float32, float64)
            return softmax_kernel.softmax(z, self.axis)          # in PyTorch's order
        e = xp.exp(z)
        return e * (1 / e.sum(axis=self.axis, keepdims=True))

    def backward(self, g):
        y, g = _softmax_opmath(self.output, g)
        return cast((g - sum(g * y, self.axis, keepdim=True)) * y, self.output.dtype)


def _half_sums(x: Any, axis: int | None) -> bool:
    """Whether PyTorch's log_softmax kernel keeps its row sums in half: for half data over
    the last dim, where it stores them in a buffer of the data's own type."""
    return x.dtype == np.float16 and (axis is None or axis == x.ndim - 1)


def _through_half(a: Any, to_half: bool) -> Any:
    """``a`` rounded to half and back (a float32 value stored in a half buffer)."""
    return a.astype(np.float16).astype(a.dtype) if to_half else a


def _softmax_opmath(y: Tensor, g: Tensor) -> tuple[Tensor, Tensor]:
    """The result and the gradient as the backward kernels compute on them: float32 for
    half (rounded once at the end), else as they are."""
    if y.dtype != np.float16:
        return y, g
    return cast(y, np.float32), cast(g, np.float32)


def log_softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """The log of softmax, one op (LogSoftmax)."""
    return _log_softmax(x, dim, axis)


def _log_softmax(x: Tensor, dim: int = -1, axis: int | None = None) -> Tensor:
    axis = wrap_dim(dim if axis is None else axis, x.ndim, "log_softmax")
    if x.numel() == 0 and x.dtype.kind not in "fc":
        return clone(x)   # (PyTorch's kernel returns before its dtype check: nothing to do)
    _need_float("log_softmax", x)
    axis = axis if x.ndim else None   # a 0-d tensor: dim 0 or -1 means its one element
    return LogSoftmax(axis)(x)


def softmax(x: Tensor, dim: int = -1, *, axis: int | None = None) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``, one op (Softmax)."""
    axis = wrap_dim(dim if axis is None else axis, x.ndim, "softmax")
    if x.numel() == 0 and x.dtype.kind not in "fc":
        return clone(x)   # (PyTorch's kernel returns before its dtype check: nothing to do)
    _need_float("softmax", x)
    axis = axis if x.ndim else None
    return Softmax(axis)(x)


def one_hot(tensor: Any, num_classes: int = -1) -> Tensor:
    """labels (N,) ints -> (N, num_classes) int64 tensor of 0s and 1s, as PyTorch's (to feed
    it to a layer, .float() it). ``num_classes=-1`` (the default): the largest label + 1."""
    labels, num_classes = tensor, integer("one_hot", "num_classes", num_classes)
    raw = backend.asarray(labels.array if isinstance(labels, Tensor) else labels)
    if isinstance(labels, Tensor) and raw.dtype != np.int64:
        raise RuntimeError(f"one_hot is only applicable to index tensor of dtype int64, got "
                           f"{raw.dtype}; use labels.long()")
    if raw.size == 0 and num_classes <= 0:   # (0 too, as PyTorch's check reads)
        raise RuntimeError("one_hot: can not infer the number of classes from an empty "
                           "tensor; pass num_classes=")
    if num_classes == -1:
        num_classes = int(raw.max()) + 1
    if raw.size:   # checked on the labels' device, without a host sync
        backend.check((raw >= 0) & (raw < num_classes),
                      lambda: f"one_hot: labels must lie in [0, {num_classes}), got "
                              f"[{int(raw.min())}, {int(raw.max())}]")
    # zeros with a 1 at each label: memory for the result only (an identity matrix to index
    # would be num_classes^2, 5 TB for a label of 800,000)
    xp = xp_of(raw)
    return Tensor(row_major((raw[..., None] == xp.arange(num_classes)).astype(np.int64)))


def cross_entropy(input: Tensor, target: Any, weight: Any = None,  # noqa: A002
                  size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
                  reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Multiclass cross-entropy from logits, PyTorch's arguments and defaults.

    logits: (N, C), (C,) for one sample, or (N, C, d1, ...) (a class score per position).
    target: class indices (int64, the logits' shape without C), or class probabilities
    (the logits' shape). ``weight`` (C,) scales each class; targets equal to ``ignore_index``
    count for nothing; ``label_smoothing`` e mixes the target with the uniform distribution:
    (1 - e) target + e / C. "mean" divides by the summed weights of the counted targets
    (by N for probability targets), as PyTorch.
    """
    logits = input
    reduction = legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
    label_smoothing = number_argument("cross_entropy", "label_smoothing", label_smoothing)
    if label_smoothing > 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    if not label_smoothing > 0.0:   # negative or NaN: no smoothing (PyTorch's kernel smooths
        label_smoothing = 0.0       # only where label_smoothing > 0)
    if not isinstance(logits, Tensor) or logits.ndim == 0:
        raise ValueError("cross_entropy: logits must have a class dimension, (N, C) or (C,)")
    target = target if isinstance(target, Tensor) else Tensor(target)
    probabilities = target.dtype.kind == "f"
    if logits.numel() or not probabilities:   # (PyTorch's log_softmax returns before its
        _need_float("cross_entropy", logits)  # dtype check when there is nothing to do)
    # to rows: (N, C) with the class scores last, and the target to match
    rows_shape = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()
    x = logits if logits.ndim > 1 else reshape(logits, (1, -1))
    if x.ndim > 2:
        x = reshape(transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,)), (-1, x.shape[1]))
    n_classes = x.shape[1]
    w = None if weight is None else _as_tensor(weight, like=(logits,))
    if w is not None and w.shape != (n_classes,):
        raise RuntimeError(f"cross_entropy: weight must have one value per class "
                           f"({n_classes}), got shape {w.shape}")
    if probabilities and ignore_index != -100:
        raise RuntimeError(f"cross_entropy: ignore_index is not supported for floating point "
                           f"(probability) targets, got ignore_index={ignore_index}")
    if not probabilities and w is not None and w.dtype != logits.dtype:
        raise RuntimeError(f"cross_entropy: expected the weight's dtype {w.dtype} to be the "
                           f"logits' {logits.dtype}; convert it with weight.to(logits.dtype)")
    if probabilities:
        if target.shape != logits.shape:
            raise RuntimeError(f"cross_entropy: probability targets must have the logits' "
                               f"shape {logits.shape}, got {target.shape}")
        # PyTorch's cross_entropy_loss_prob_target, in the logits' own layout: the target is
        # used as it is (no reshape), so a node that keeps it keeps the caller's tensor, as
        # PyTorch does (a later target.requires_grad_() then reaches a second derivative)
        class_dim = 1 if logits.ndim > 1 else 0
        logp = _log_softmax(logits, class_dim)
        t = target
        if label_smoothing and n_classes:   # (no classes: nothing to smooth, nothing summed)
            t = t * (1 - label_smoothing) + label_smoothing / n_classes
        if w is not None and logits.ndim > 1:
            w = reshape(w, (1, n_classes) + (1,) * (logits.ndim - 2))
        terms = logp * t if w is None else logp * t * w   # float64 targets: a float64 loss
        # PyTorch's reductions of these: minus the sum over classes ("none"), or over
        # everything ("sum"), that over the number of rows ("mean"; NaN when empty)
        if reduction == "none":
            return -sum(terms, class_dim)
        whole = -sum(terms)
        if reduction == "sum":
            return whole
        return whole / (logits.numel() / n_classes) if logits.numel() else whole * float("nan")
    refuse_gradient_of(nll_name(logits), "weight", w)   # class indices: nll_loss's weight
    logp = _log_softmax(x, 1)
    if target.dtype != np.int64:
        raise RuntimeError(f"cross_entropy: expected class indices of dtype int64 (Long),"
                           f" got {target.dtype}; use target.long()")
    if target.shape != rows_shape:
        raise ValueError(f"cross_entropy: target of shape {target.shape} does not match "
                         f"logits of shape {logits.shape} (expected {rows_shape})")
    labels = target.array.reshape(-1)
    counted = labels != ignore_index
    bad = counted & ((labels < 0) | (labels >= n_classes))
    if bool(bad.any()):
        raise IndexError(f"cross_entropy: target {int(labels[bad][0])} is out of bounds "
                         f"for {n_classes} classes")
    xp = xp_of(labels)
    safe = xp.where(counted, labels, 0)
    # each row's log-probability of its class, taken (not a sum against one-hot rows,
    # where a -inf elsewhere in the row would make 0 * -inf = NaN)
    picked = take_along_dim(logp, Tensor(xp.expand_dims(safe, 1)), 1).squeeze(1) \
        if n_classes else sum(logp, 1) * 0.0   # (no classes: every target was ignored)
    # each counted row's class weight; an ignored row's weight chosen out as 0 (not
    # multiplied by 0: an inf or NaN class weight would make it NaN, and the mean with it)
    w_rows = Tensor(counted.astype(x.dtype)) if w is None else \
        where(Tensor(counted), getitem(w, Tensor(safe)), 0.0)
    # ignored rows chosen out (not multiplied by 0): when every row is ignored the mean
    # is 0/0 = NaN, and its gradient must still be 0, as PyTorch's
    per = where(counted, -picked * w_rows, 0.0)
    total = sum(w_rows)
    if reduction == "none" and (label_smoothing or logits.ndim > 1):
        loss = reshape(per, rows_shape)
    else:   # PyTorch's nll_loss accumulates from 0 by subtraction (a 0 loss is +0.0), for
        loss = 0.0 - sum(-per)   # one sample too; it negates each term only for "none"
        loss = loss if reduction != "mean" else loss / total
    if label_smoothing:
        # the uniform part, every class's log-probability (weighted), reduced on its own
        # and added as PyTorch does: (1 - e) nll + e / C smooth, each already divided by
        # the counted weight (so a zero total gives NaN from 0 / 0, as there)
        spread = where(Tensor(counted), -sum(logp if w is None else logp * w, 1), 0.0)
        if reduction == "none":
            smooth = reshape(spread, rows_shape)
        elif reduction == "sum":
            smooth = sum(spread)
        else:
            smooth = sum(spread) / (total if w is not None else
                                    Tensor(xp.asarray(counted.sum(), dtype=x.dtype)))
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / n_classes)
    # what PyTorch's nll_loss keeps besides its own input
    return keeps(loss, target, w, name="CrossEntropyLoss",
                 refuse_later=((nll_name(logits).replace("forward", "backward"), "weight", w),))


def nll_name(logits: Tensor) -> str:
    """PyTorch's name for its negative log likelihood kernel on these logits: nll_loss for
    (C,) and (N, C), nll_loss2d (on a reshaped view) for every other shape."""
    return "nll_loss_forward" if logits.ndim <= 2 else "nll_loss2d_forward"


# =======================================================================================
# Dropout
# =======================================================================================
def check_dropout_arguments(p: Any, training: Any) -> None:
    """PyTorch's checks, before anything else (in eval mode too): p in [0, 1] (a NaN gets
    past its Python test and is refused by its kernel, a RuntimeError), training a bool."""
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"dropout(): argument 'train' (position 3) must be bool, not "
                        f"{type(training).__name__}")
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if p != p:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(x: Tensor, p: float = 0.5, training: bool = True, generator: Any = None) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the
    survivors by 1/(1 - p), so the expected value is unchanged and eval needs no rescaling.
    In evaluation it is the identity."""
    check_dropout_arguments(p, training)
    if not training or p == 0.0:
        return x
    if p == 1.0:   # x times a zero of its own dtype (a bool stays bool, a NaN NaN)
        return x * Tensor(xp_of(x.array).zeros((), dtype=x.dtype))
    gen = generator or default_generator()
    keep = gen.bernoulli(x.shape, 1.0 - p, dtype=x.dtype, device=x.device)
    return x * _same_dtype_const(x.array, keep * (1.0 / (1.0 - p)))
