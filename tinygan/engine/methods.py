"""Tensor's methods that are ops, bound onto Tensor once, here (DeZero's ``setup_variable``).

tensor.py defines Tensor without them, because the ops need Tensor first: functional.py
builds every op on it. Once both exist, this file gives Tensor its operators and op methods
in one table, ``Tensor.__add__ = add`` and the like, so ``a + b`` is ``functional.add(a, b)``
and nothing in the engine imports anything lazily. tinygan/engine/__init__.py imports this
file, so the binding is done as soon as any part of the engine is imported.

The small functions below adapt PyTorch's method signatures (``t.sum(dim=1)``,
``t.view(2, 3)``, ``t.max(dim=0)`` giving ``(values, indices)``) to the ops'; the ops
themselves, and their gradients, are all in functional.py.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.compat.legacy_types import tensor_type
from tinygan.compat import function_forms
from tinygan.devices import backend
from tinygan.engine.arguments import dtype_or_none, flag
from tinygan.engine import functional as F
from tinygan.engine import flip as flipping, pieces, rounding, sorting, special_values, \
    tiling, trigonometric
from tinygan.engine import cumulative, logic, logsumexp as log_sum_exp, triangular
from tinygan.multiprocessing import is_shared, share_tensor_
from tinygan.engine.tensor import MaxMin, Tensor, _arg, _compare, _pick, _shape_args, as_result, \
    check_no_overlap, checked_scalar, number_argument, NOT_GIVEN, result_type_of, \
    check_gather_write_order, \
    _address, _is_expanded, _same_walk, _tensors, _writable, is_grad_enabled, parse_to_args, \
    refuse_a_gradient_into_ints, wrap_dim

# ---- operators with the tensor on the right (2 - t, 2 * t, ...) ---------------------------
def _radd(self: Tensor, other: Any) -> Tensor: return F.add(other, self)
def _rsub(self: Tensor, other: Any) -> Tensor: return F.sub(other, self)
def _rmul(self: Tensor, other: Any) -> Tensor: return F.mul(other, self)
def _rtruediv(self: Tensor, other: Any) -> Tensor:
    """number / t is reciprocal(t) * number, as PyTorch's ``__rtruediv__`` (which keeps
    1/t, not t, for backward)."""
    return F.mul(F.reciprocal(self), other)
def _rmatmul(self: Tensor, other: Any) -> Tensor: return F.matmul(other, self)
def _rfloordiv(self: Tensor, other: Any) -> Tensor: return F.floor_divide(other, self)
def _rmod(self: Tensor, other: Any) -> Tensor: return F.remainder(other, self)
def _pos(self: Tensor) -> Tensor: return self


def _rpow(self: Tensor, base: Any) -> Tensor:
    """base ** t: the number becomes a constant tensor (2 ** int tensor stays int64)."""
    if isinstance(base, (bool, np.bool_)):
        return F.pow_of_a_python_bool(base, self)
    return F.pow(base, self)   # (a number base: PyTorch's pow(Scalar, Tensor))


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``t[index] = value``: in place, through the differentiable ``index_put``."""
    if isinstance(value, (list, tuple, np.ndarray)):   # PyTorch takes numbers and tensors
        raise TypeError(f"can't assign a {type(value).__name__} to a tensor (shape "
                        f"{self.shape}): write t[index] = tinygan.tensor(value)")
    given = value
    if isinstance(value, Tensor) and value.ndim and value.shape[0] == 1:
        # PyTorch drops the value's leading size-1 dims first: x[0] = t of shape (1, 1) works
        value = F.reshape(value, _without_leading_ones(value.shape))
    basic = F._is_basic_index(index)   # a slice writes a region; a gather index, anywhere
    region = None
    if basic:   # the region written (with ... appended, an int index stays an array view)
        raw = F._raw_index(index)
        raw = raw if isinstance(raw, tuple) else (raw,)
        region = F.cut_as_pytorch(self.array, raw)
    if not isinstance(given, Tensor):
        # a number: PyTorch makes a tensor of self's dtype from it, with Scalar::to's
        # overflow check (not for half, measured: there it rounds, to inf if need be)
        checked = checked_scalar(given, self.dtype if self.dtype != np.float16 else
                                 np.float64, ints_below=2 ** 63)
        value = given = checked if self.dtype != np.float16 else given
    mask_fill = (isinstance(index, Tensor) and index.dtype == np.bool_
                 and isinstance(value, Tensor) and value.ndim == 0)   # PyTorch's masked_fill_
    if mask_fill:
        checked_scalar(value, self.dtype)   # (it fills with value.item(), checked)
    if mask_fill or (basic and region.shape != () and isinstance(given, Tensor)
                     and given.ndim == 0):   # PyTorch fills these: see the refusal
        refuse_a_gradient_into_ints("setitem", self, value)
    if not mask_fill:   # a gather index may write into an expanded tensor (index_put_)
        source = _copied_from(given, region) if basic else value
        if (basic and _is_expanded(self.array) and source is not None
                and given.dtype == self.dtype and _same_walk(region, source)):
            # x[:] = x, x[None] = x: PyTorch's copy_ sees the very same elements (the value
            # expanded as PyTorch expands it: a _MemoryWalk) and stops there
            if not (is_grad_enabled() and self.requires_grad):
                return
            # ... but records the copy, whose backward then sums over the shared elements
            # (long run 4996399: twice the gradient); as copy_ does, tinygan refuses
            raise RuntimeError(f"setitem: tinygan does not write through an expanded tensor "
                               f"(shape {self.shape}) where a gradient is recorded; write "
                               f"into a .clone() of it")
        check_no_overlap("setitem", self, (source,), internal_ok=not basic, region=region,
                         same_ok=basic)
        if not basic:
            check_gather_write_order("setitem", self, F._raw_index(index), value)
    if _is_expanded(self.array):
        _index_put_into_expanded(self, index, value)   # (the region alone is written)
        return
    if basic and _whole(self, raw):
        # x[...] = v, x[:] = v, x[0:, :] = v: PyTorch's indexing hands back x itself, not a
        # view, and writes it as x.fill_(v) (a number or a 0-d tensor) or x.copy_(v). The
        # old values then get zeros that lead nowhere (zeros_like), where a write into a
        # region passes the gradient on around it: a grad(create_graph=True) can tell
        if not isinstance(given, Tensor) or given.ndim == 0 and self.ndim:
            self.fill_(given)
        elif given.shape == self.shape:   # PyTorch's copy_to: the same sizes, as they are
            self.copy_(given)             # (x[:] = x copies nothing)
        else:   # (expanded first, as PyTorch's copy_to: its overlap check sees that)
            self.copy_(value if value.shape == self.shape else value.expand(self.shape))
        return
    self._inplace("setitem", lambda old: F.index_put(old, index, value), reads=(value,),
                  overlap_checked=True)


def _whole(t: Tensor, raw: tuple) -> bool:
    """Whether a basic index selects all of ``t`` the way PyTorch's indexing recognises it
    (and then skips making a view): only ``...`` and slices that start at 0 (or None),
    stop at or past the end (or None) with step 1 (or None). x[-2:] of a length-2 dim
    is all of it too, but PyTorch makes a view there, so it does not count."""
    if raw.count(Ellipsis) > 1 or any(isinstance(i, bool) for i in raw):
        return False
    at = raw.index(Ellipsis) if Ellipsis in raw else len(raw)
    dims = list(range(at)) + list(range(t.ndim - (len(raw) - at - 1), t.ndim))
    items = raw[:at] + raw[at + 1:]
    if len(items) > t.ndim:
        return False
    for d, item in zip(dims, items):
        if not (isinstance(item, slice) and item.start in (None, 0) and item.step in (None, 1)
                and (item.stop is None or item.stop >= t.shape[d])):
            return False
    return True


def _without_leading_ones(shape: tuple) -> tuple:
    lead = next((k for k, n in enumerate(shape) if n != 1), len(shape))
    return shape[lead:]


class _MemoryWalk:
    """Where an array's elements lie (address, shape, byte strides), without the array: what
    the overlap check reads of a view PyTorch would make."""
    def __init__(self, address: int, shape: tuple, strides: tuple, itemsize: int) -> None:
        self.shape, self.strides, self.itemsize = shape, strides, itemsize
        self.size = int(np.prod(shape))
        self.__array_interface__ = {"data": (address, False)}


def _copied_from(value: Any, region: Any) -> Any:
    """What PyTorch's x[basic index] = value copies from, for its overlap check: the value
    itself when the shapes match; nothing for a 0-d value (a fill); else the value without
    its leading size-1 dims, expanded to the region by PyTorch's rule for the strides: a
    stretched or new dim of size > 1 gets 0, a new dim of size 1 the span of the dim after
    it (0 when last). None too where the shapes do not broadcast (index_put says so)."""
    if not isinstance(value, Tensor):
        return None
    if value.shape == region.shape:
        return value.array
    if value.ndim == 0:
        return None
    a = value.array
    shape = _without_leading_ones(value.shape)
    steps = tuple(a.strides)[value.ndim - len(shape):]
    target, out = tuple(region.shape), []
    if len(shape) > len(target):
        return None
    for i in reversed(range(len(target))):
        j = i - (len(target) - len(shape))
        if j >= 0:
            if shape[j] not in (1, target[i]):
                return None
            out.append(steps[j] if shape[j] == target[i] else 0)
        elif target[i] == 1:
            out.append(out[-1] * target[i + 1] if out else 0)
        else:
            out.append(0)
    return _MemoryWalk(_address(a), target, tuple(reversed(out)), a.itemsize)


def _index_put_into_expanded(self: Tensor, index: Any, value: Any) -> None:
    """``x[idx] = v`` where x is expanded (several elements share one memory location):
    PyTorch writes only the indexed elements (a region of its own memory, for a basic index),
    in order, so the last write to a shared location wins. Writing the whole result back, as
    other writes do, would also write the old values of the elements not indexed over the
    new ones. No autograd here."""
    if F.is_grad_enabled() and (self.requires_grad or
                                (isinstance(value, Tensor) and value.requires_grad)):
        raise RuntimeError(f"setitem: tinygan does not write through an expanded tensor "
                           f"(shape {self.shape}) where a gradient is recorded; write into a "
                           f".clone() of it")
    F.index_put(Tensor(self.array), index, value)   # raises where PyTorch's index_put_ does
    new = value.array.astype(self.dtype, copy=False) if isinstance(value, Tensor) else value
    _writable(self.array, "setitem")[F._raw_index(index)] = new
    self._bump_version()


# ---- conversions ------------------------------------------------------------------------
def add_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return self._inplace("add_", lambda t: function_forms.add(t, other, alpha=alpha),
                         reads=(other,))


def sub_(self: Tensor, other: Any, *, alpha: Any = 1) -> Tensor:
    return self._inplace("sub_", lambda t: function_forms.sub(t, other, alpha=alpha),
                         reads=(other,))


def lerp(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    _tensors("lerp", end=end)
    return F.lerp(self, end, weight)


def lerp_(self: Tensor, end: Tensor, weight: Any) -> Tensor:
    _tensors("lerp_", end=end)
    return self._inplace("lerp_", lambda t: F.lerp(t, end, weight),
                         reads=(end,) + ((weight,) if isinstance(weight, Tensor) else ()))


def to(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """Move to a device ("cpu"/"cuda") and/or cast to a dtype; differentiable."""
    device, dtype = parse_to_args(args, kwargs)
    out = self
    if dtype is not None and np.dtype(dtype) != self.dtype:
        out = F.cast(out, dtype)
    if device is not None and backend.normalize_device(device) != out.device:
        out = F.to_device(out, device)
    return out


# ---- reductions (``dim``/``keepdim`` as PyTorch, ``axis``/``keepdims`` as NumPy) ---------


def _keepdim_needs_dim(op: str, dim: Any, axis: Any, keepdim: Any) -> tuple[Any, bool]:
    """(dim, keepdim) with the defaults filled in. PyTorch's overloads of sum, mean, max
    and min are sum() and sum(dim, keepdim=False): keepdim without a dim matches neither
    (a TypeError); dim=None, given, is every dim."""
    if keepdim is not NOT_GIVEN and dim is NOT_GIVEN and axis is None:
        raise TypeError(f"{op}() received an invalid combination of arguments - got "
                        f"(keepdim={keepdim}): keepdim needs a dim, e.g. "
                        f"x.{op}(dim=0, keepdim={keepdim}), or dim=None for all of them")
    if keepdim is NOT_GIVEN:
        keepdim = False
    elif keepdim.__class__ is not bool:   # (a bool, the usual case, needs no check)
        keepdim = flag(op, "keepdim", keepdim)
    return (None if dim is NOT_GIVEN else dim), keepdim


def sum(self, dim=NOT_GIVEN, keepdim=NOT_GIVEN, *, dtype=None, axis=None,  # noqa: A001
        keepdims=None):
    """``dtype``: the input is cast to it first (x.sum(dtype=float64) adds in float64),
    and the result has it."""
    dim, keepdim = _keepdim_needs_dim("sum", dim, axis, keepdim)
    dtype = dtype if dtype is None else dtype_or_none("sum", "dtype", dtype)
    if dtype is not None and np.dtype(dtype).kind in "biu" and self.requires_grad and \
            is_grad_enabled():   # one node of PyTorch's: its output would need a gradient
        F.refuse_integer_output(dtype)
    x = self if dtype is None else self.to(dtype=dtype)
    total = F.sum(x, _pick(dim, axis), _pick(keepdim, keepdims))
    # an integer sum is int64 unless a dtype is asked for: then that one (wrapping)
    return total if dtype is None or total.dtype == dtype else total.to(dtype=dtype)


def mean(self, dim=NOT_GIVEN, keepdim=NOT_GIVEN, *, dtype=None, axis=None, keepdims=None):
    """``dtype``: the input is cast to it first (an int tensor's mean needs a float one);
    a half one is summed from a float32 copy instead and rounded at the end, as PyTorch
    (a half copy of float64 data could overflow: -1e30 is -inf in half)."""
    dim, keepdim = _keepdim_needs_dim("mean", dim, axis, keepdim)
    dtype = dtype if dtype is None else dtype_or_none("mean", "dtype", dtype)
    if dtype is not None and np.dtype(dtype) == np.float16 and self.dtype != np.float16:
        return mean(self, dim, keepdim, dtype=np.float32, axis=axis,
                    keepdims=keepdims).to(dtype=dtype)
    x = self if dtype is None else self.to(dtype=dtype)
    return F.mean(x, _pick(dim, axis), _pick(keepdim, keepdims))


def _spread_arguments(op: str, dim: Any, unbiased: Any, keepdim: Any,
                      correction: Any) -> tuple[Any, bool, bool]:
    """(dim, unbiased, keepdim) by PyTorch's three signatures of var and std:
    x.var(unbiased), x.var(dim, unbiased, keepdim), x.var(dim=None, *, correction, keepdim).
    So x.var(False) is the biased variance of everything; unbiased with keepdim needs a
    dim, and unbiased with correction is refused (PyTorch: TypeError, no such signature)."""
    if isinstance(dim, (bool, np.bool_)):          # x.var(False): the flag, not a dim
        if unbiased is not NOT_GIVEN or keepdim is not NOT_GIVEN:
            raise TypeError(f"{op}(): a bool first argument is `unbiased`; give the dim as "
                            f"an int: x.{op}(dim, unbiased, keepdim)")
        dim, unbiased = NOT_GIVEN, dim
    if correction is not NOT_GIVEN and correction is not None:   # a number (PyTorch's
        number_argument(op, "correction", correction)   # Scalar), not a tensor of any dtype
    if unbiased is not NOT_GIVEN and correction is not NOT_GIVEN:   # (even correction=None)
        raise TypeError(f"{op}() received an invalid combination of arguments: unbiased and "
                        f"correction together; give one (correction=0 is unbiased=False)")
    if dim is NOT_GIVEN and unbiased is not NOT_GIVEN and keepdim is not NOT_GIVEN:
        raise TypeError(f"{op}() received an invalid combination of arguments - got "
                        f"(unbiased=bool, keepdim=bool): with keepdim, give the dim too: "
                        f"x.{op}(dim=None, unbiased={unbiased}, keepdim={keepdim})")
    return (None if dim is NOT_GIVEN else dim,
            True if unbiased is NOT_GIVEN else flag(op, "unbiased", unbiased),
            False if keepdim is NOT_GIVEN else flag(op, "keepdim", keepdim))


def var(self, dim=NOT_GIVEN, unbiased=NOT_GIVEN, keepdim=NOT_GIVEN, *, correction=NOT_GIVEN,
        axis=None, keepdims=None):
    """Variance; unbiased (divides by n - 1) by default, as torch.Tensor.var;
    ``correction=c`` divides by n - c."""
    dim, unbiased, keepdim = _spread_arguments("var", dim, unbiased, keepdim, correction)
    correction = None if correction is NOT_GIVEN or correction is None else \
        number_argument("var", "correction", correction)
    return F.var(self, _pick(dim, axis), _pick(keepdim, keepdims), unbiased,
                 correction=correction)


def std(self, dim=NOT_GIVEN, unbiased=NOT_GIVEN, keepdim=NOT_GIVEN, *, correction=NOT_GIVEN,
        axis=None, keepdims=None):
    dim, unbiased, keepdim = _spread_arguments("std", dim, unbiased, keepdim, correction)
    correction = None if correction is NOT_GIVEN or correction is None else \
        number_argument("std", "correction", correction)
    return F.std(self, _pick(dim, axis), _pick(keepdim, keepdims), unbiased,
                 correction=correction)


def amax(self, dim=None, keepdim=False):
    """The largest value over ``dim`` (ties share the gradient equally)."""
    return F.amax(self, dim, keepdim)


def amin(self, dim=None, keepdim=False):
    return F.amin(self, dim, keepdim)


def max(self, other_or_dim=NOT_GIVEN, /, keepdim=NOT_GIVEN, *, dim=NOT_GIVEN,  # noqa: A001
        other=NOT_GIVEN, axis=None, keepdims=None):
    """x.max(): the largest element. x.max(dim, keepdim=False): ``(values, indices)`` along
    dim; the gradient goes to the element at each index. x.max(other): the elementwise
    maximum (torch.maximum). See ``_overload`` for how PyTorch tells the forms apart."""
    return _max_or_min_form(self, "max", other_or_dim, keepdim, dim, other, axis, keepdims)


def min(self, other_or_dim=NOT_GIVEN, /, keepdim=NOT_GIVEN, *, dim=NOT_GIVEN,  # noqa: A001
        other=NOT_GIVEN, axis=None, keepdims=None):
    return _max_or_min_form(self, "min", other_or_dim, keepdim, dim, other, axis, keepdims)


def _max_or_min_form(t: Tensor, op: str, other_or_dim: Any, keepdim: Any, dim: Any,
                     other: Any, axis: Any, keepdims: Any) -> Any:
    """PyTorch's overloads max(), max(Tensor other) and max(int dim, bool keepdim=False)
    are chosen by the second argument: by keyword, dim= or other= says which; by position,
    a tensor is ``other`` unless a keepdim follows it (then it is the dim, as an integer
    tensor of one element may be: x.max(torch.tensor(1), True))."""
    if other_or_dim is not NOT_GIVEN:
        if dim is not NOT_GIVEN or other is not NOT_GIVEN:
            raise TypeError(f"{op}() got multiple values for the dim (or other) argument")
        if isinstance(other_or_dim, Tensor) and keepdim is NOT_GIVEN:
            other = other_or_dim
        else:
            dim = other_or_dim
    if other is not NOT_GIVEN:
        if dim is not NOT_GIVEN or keepdim is not NOT_GIVEN or not isinstance(other, Tensor):
            raise TypeError(f"{op}() received an invalid combination of arguments: the "
                            f"elementwise form takes one tensor, x.{op}(other), with no dim "
                            f"or keepdim (got other={type(other).__name__})")
        return (F.maximum if op == "max" else F.minimum)(t, other)
    dim, keepdim = _int_dim_or_none(op, dim, axis, keepdim)
    return _max_or_min(t, _pick(dim, axis), _pick(keepdim, keepdims), largest=op == "max")


def _int_dim_or_none(op: str, dim: Any, axis: Any, keepdim: Any) -> tuple[Any, bool]:
    """max() and max(dim: int, keepdim=False): dim=None, given, is refused as PyTorch's."""
    if dim is None:
        raise TypeError(f"{op}(): argument 'dim' must be int, not NoneType (for the "
                        f"{op} of every element write x.{op}())")
    return _keepdim_needs_dim(op, dim, axis, keepdim)


def _max_or_min(t: Tensor, dim: Any, keepdim: bool, largest: bool):
    if dim is None:
        if t.numel() == 0:
            return F.amax(t) if largest else F.amin(t)   # (which raises, naming the op)
        return F.ExtremeOfAll(largest)(t)
    d = wrap_dim(dim, t.ndim, "max" if largest else "min")
    if t.ndim == 0:   # dim 0 or -1 of a 0-d tensor: the element itself, at index 0
        return MaxMin(F.clone(t), _arg(t, d, keepdim, "argmax", bool_ok=True))
    indices = _arg(t, d, True, "argmax" if largest else "argmin", bool_ok=True)
    values = F.take_along_dim(t, indices, d)
    if not keepdim:
        values, indices = as_result(values.squeeze(d)), as_result(indices.squeeze(d))
    return MaxMin(values, indices)


def norm(self, p: float = 2, dim=None, keepdim: bool = False):
    return F.norm(self, p, dim, keepdim)


# ---- shapes -----------------------------------------------------------------------------
def _new_view(self: Tensor, out: Tensor) -> Tensor:
    """``x.view(x.shape)`` is a new tensor (a view of x, not x itself), as in PyTorch: the
    ops skip a reshape to the same shape, so it is made here, where a user asked for it."""
    return F.Reshape(self.shape)(self) if out is self else out


def reshape(self, *shape):
    _size_given("reshape", shape, "shape")
    return _new_view(self, F.reshape(self, _shape_args(shape)))


def view(self, *shape):
    """reshape, where PyTorch promises a view of the same memory: where the tensor's strides
    make that impossible (a transposed or expanded tensor, merged across its gaps), PyTorch
    raises, and so does tinygan, saying to use reshape (which copies). x.view(dtype) of
    x's own dtype is x as a view; of another dtype (PyTorch reads the same bits as that
    type) tinygan refuses."""
    _size_given("view", shape, "shape")
    if len(shape) == 1 and (isinstance(shape[0], np.dtype) or (
            isinstance(shape[0], type) and issubclass(shape[0], np.generic))):
        if np.dtype(shape[0]) != self.dtype:
            raise NotImplementedError(
                f"view(dtype): tinygan does not reinterpret a {self.dtype} tensor's bits as "
                f"{np.dtype(shape[0])}; to convert the values, write .to({np.dtype(shape[0])})")
        shape = (self.shape,)
    out = F.reshape(self, _shape_args(shape))
    if not _viewable(self, out.shape):
        raise RuntimeError(f"view size is not compatible with input tensor's size and stride "
                           f"(at least one dimension spans across two contiguous subspaces): "
                           f"shape {self.shape} to {out.shape}. Use .reshape(...) instead.")
    return _new_view(self, out)


def _viewable(t: Tensor, new_shape: tuple) -> bool:
    """Whether ``t`` (shape and strides) can be seen as ``new_shape`` without a copy:
    PyTorch's rule. The old dims fall into chunks, each contiguous in memory (a dim's
    stride is the next one's stride times its size); the new dims must split every chunk
    exactly, none spanning two. Size-1 dims never matter, so they are dropped first.
    An op's result is laid out as PyTorch lays it out (engine/layout.py: a transposed
    input's sum is transposed too, so viewing it flat raises in both); one whose strides
    no PyTorch result has (a NumPy broadcast's 0, a flip's negative step: tinygan's own
    shortcuts) is taken as viewable, as its PyTorch twin would be."""
    if t.numel() == 0:
        return True
    old = [(n, st // t.array.itemsize) for n, st in zip(t.shape, t.array.strides) if n != 1]
    if t._base is None and any(st <= 0 for _, st in old):
        return True
    new = [n for n in new_shape if n != 1]
    while old:   # take the last chunk of old dims: each stride = next stride * next size
        chunk, numel = 1, 1
        while chunk < len(old) and old[-chunk - 1][1] == old[-chunk][1] * old[-chunk][0]:
            chunk += 1
        for n, _ in old[-chunk:]:
            numel *= n
        del old[-chunk:]
        product = 1   # the trailing new dims must multiply to exactly that chunk's size
        while new and product < numel:
            product *= new.pop()
        if product != numel:
            return False
    return not new


def view_as(self, other):
    return _new_view(self, F.reshape(self, other.shape))


def expand(self, *shape):
    """A view of self with size-1 dims (and new leading dims) stretched to ``shape`` without
    copying (stride 0); -1 keeps a dim's size. Checked as PyTorch checks it."""
    if not shape:
        raise TypeError('expand() missing 1 required positional arguments: "size"')
    shape = _shape_args(shape)
    lead = len(shape) - self.ndim
    if lead < 0:
        raise RuntimeError(f"expand: the number of sizes provided ({len(shape)}) must be "
                           f"greater or equal to the number of dimensions in the tensor "
                           f"({self.ndim}); sizes {list(shape)}, tensor sizes {list(self.shape)}")
    full = []
    for i in reversed(range(len(shape))):   # (from the last dim, as PyTorch's check)
        s = shape[i]
        if i < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a "
                                   f"leading, non-existing dimension {i}")
            full.append(s)
            continue
        have = self.shape[i - lead]
        if s == -1:
            s = have
        elif have != 1 and s != have:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing "
                               f"size ({have}) at non-singleton dimension {i}.  Target sizes: "
                               f"{list(shape)}.  Tensor sizes: {list(self.shape)}")
        elif s < 0:
            raise RuntimeError(f"expand: the size {s} at dimension {i} is negative; target "
                               f"sizes {list(shape)}")
        full.append(s)
    return _new_view(self, F.broadcast_to(self, tuple(reversed(full))))


def flatten(self, start_dim: int = 0, end_dim: int = -1):
    if self.ndim == 0:   # dims 0 and -1 only (nn.Flatten's start_dim=1 raises, as PyTorch)
        wrap_dim(start_dim, 0, "flatten"), wrap_dim(end_dim, 0, "flatten")
        return F.reshape(self, (1,))
    start = wrap_dim(start_dim, self.ndim, "flatten")
    end = wrap_dim(end_dim, self.ndim, "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                         f"({end_dim}) for a tensor of shape {self.shape}")
    merged = int(np.prod(self.shape[start:end + 1]))
    return F.reshape(self, self.shape[:start] + (merged,) + self.shape[end + 1:])


def unflatten(self, dim: int, sizes: Any):
    """Split dim ``dim`` into ``sizes`` (one of them may be -1, worked out from the rest):
    (N, C*H*W).unflatten(1, (C, H, W)) -> (N, C, H, W). Splitting a dim never needs a copy,
    so the result is a view, as PyTorch's. (The method refuses empty sizes before it looks
    at dim; the function form ``unflatten(x, dim, sizes)`` checks dim first, as PyTorch's.)"""
    if not isinstance(sizes, Tensor) and not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    return split_dim(self, dim, sizes)


def split_dim(x: Tensor, dim: int, sizes: Any) -> Tensor:
    """unflatten's work, its checks in PyTorch's order: the sizes' type, the dim, then
    the sizes' values."""
    if isinstance(sizes, (bool, int, np.integer)) or not isinstance(sizes, (tuple, list)) \
            or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                       for n in sizes):
        raise TypeError(f"unflatten(): argument 'sizes' must be a tuple of ints, got "
                        f"{sizes!r}")
    sizes = [int(n) for n in sizes]
    d = wrap_dim(dim, x.ndim, "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    if x.ndim == 0:   # (PyTorch's message; a RuntimeError there)
        raise RuntimeError(f"unflatten: Dimension specified as {dim} but tensor has no "
                           f"dimensions")
    length = x.shape[d]
    for i, n in enumerate(sizes):
        if n < -1:
            raise RuntimeError(f"unflatten: invalid shape dimension {n} at index {i} of "
                               f"shape {sizes}")
    if sizes.count(-1) > 1:
        raise RuntimeError(f"unflatten: only one dimension can be inferred, got sizes {sizes}")
    known = int(np.prod([n for n in sizes if n != -1]))
    if -1 in sizes and known == 0 and length == 0:
        raise RuntimeError(f"unflatten: cannot split a dim of 0 elements into {sizes}: the "
                           f"-1 could be any size; write it out")
    fits = (known != 0 and length % known == 0) if -1 in sizes else known == length
    if not fits:
        raise RuntimeError(f"unflatten: Provided sizes {sizes} don't multiply up to the size "
                           f"of dim {dim} ({length}) in the input tensor")
    if -1 in sizes:
        sizes[sizes.index(-1)] = length // known
    return F.reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def transpose(self, *dims):
    """Swap two dims: x.transpose(dim0, dim1), a view (x.T and x.permute for more)."""
    if len(dims) != 2:
        raise TypeError(f"transpose() takes the two dims to swap, got {len(dims)} "
                        f"argument(s); for another order of all the dims write "
                        f"x.permute(...)")
    if len(dims) == 2 and self.ndim == 0:   # dims 0/-1 of a 0-d tensor: itself, as a view
        for d in dims:
            wrap_dim(d, 0, "transpose")
        return F.Reshape(())(self)
    if len(dims) == 2:
        order = list(range(self.ndim))
        a, b = (wrap_dim(d, self.ndim, "transpose") for d in dims)
        order[a], order[b] = order[b], order[a]
        dims = tuple(order)
    return F.transpose(self, dims or None)


def permute(self, *dims):
    if not dims:
        raise TypeError("permute(): missing the order of the dims, e.g. x.permute(1, 0)")
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return F.transpose(self, dims)


def _T(self):
    return F.transpose(self, None)


def t(self):
    """The transpose of a matrix; a vector or a 0-d tensor comes back as itself (a view)."""
    if self.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                           f"{self.ndim}D (shape {self.shape}); use .transpose(0, 1) or .mT")
    return F.transpose(self, None) if self.ndim == 2 else F.Reshape(self.shape)(self)


def squeeze(self, dim=NOT_GIVEN, *, axis=None):
    """Drop dims of size 1: all of them, the one ``dim`` names, or those of a tuple of
    dims (a named dim longer than 1 stays). A view."""
    if dim is None:   # (PyTorch has squeeze() and squeeze(dim), no squeeze(None))
        raise TypeError("squeeze(): argument 'dim' must be an int or a tuple of ints, not "
                        "None; for every size-1 dim write x.squeeze()")
    dim, shape = _pick(None if dim is NOT_GIVEN else dim, axis), self.shape
    if dim is None:
        new = tuple(s for s in shape if s != 1)
    else:
        # the reductions' dims (wrapped, a repeat refused); () names none here, not all
        axes = () if isinstance(dim, (tuple, list)) and not dim else \
            F._normalise_axes(dim, self.ndim, "squeeze")
        dims = range(self.ndim) if axes is None else \
            (axes if isinstance(axes, tuple) else (axes,))
        new = tuple(n for k, n in enumerate(shape) if not (k in dims and n == 1))
    return _new_view(self, F.reshape(self, new))


def unsqueeze(self, dim=None, *, axis=None):
    d = wrap_dim(_pick(dim, axis), self.ndim + 1, "unsqueeze")
    return F.Unsqueeze(self.shape[:d] + (1,) + self.shape[d:], d)(self)


def contiguous(self, memory_format: Any = None):
    """self when its elements already lie in row-major order in memory, else a row-major
    copy (the gradient passes through). A transposed or expanded tensor is not contiguous;
    ``view`` needs one that is. ``memory_format=tinygan.channels_last``: an (N, C, H, W)
    tensor stored as (N, H, W, C) instead."""
    if memory_format == "channels_last":
        if self.ndim != 4:
            raise RuntimeError(f"required rank 4 tensor to use channels_last format, got "
                               f"shape {self.shape}")
        if self.is_contiguous(memory_format):
            return self
        return permute(permute(self, 0, 2, 3, 1).contiguous(), 0, 3, 1, 2)
    return self if self.is_contiguous() else F.clone(self, memory_format="contiguous_format")


def is_contiguous(self, memory_format: Any = None) -> bool:
    if memory_format == "channels_last":
        return self.ndim == 4 and bool(self.array.transpose(0, 2, 3, 1).flags.c_contiguous)
    return bool(self.array.flags.c_contiguous)


def expand_as(self, other):
    return expand(self, other.shape)


def addcmul_(self, tensor1, tensor2, *, value: float = 1):
    """self += value * a * b: for a floating result one node with PyTorch's arithmetic
    (functional.addc); for an integer one the plain composite, in the dtype the three
    tensors promote to together (an int32 0-d a times a uint8 b beside int64 self is an
    int64 product, not a uint8 one that wraps)."""
    a, b = tensor1, tensor2
    _tensors("addcmul_", tensor1=a, tensor2=b)
    value = number_argument("addcmul_", "value", value)
    common = np.dtype(result_type_of(self, a, b))   # PyTorch reads value in the dtype the
    if self.dtype.kind in "biu" and common.kind in "biu":   # three compute in: -0.03 is 0,
        value = int(checked_scalar(value, common))   # -1.5 overflows uint8 (but not int64)

    def new(t):
        y = F.addc(t, a, b, value, True)
        if y is not None:
            return y
        wide = result_type_of(t, a, b)
        return t + value * (F.cast(a, wide) * F.cast(b, wide))
    return self._inplace("addcmul_", new, reads=(a, b))


def addcdiv_(self, tensor1, tensor2, *, value: float = 1):
    """self += value * a / b (floating: functional.addc); integer division is refused."""
    a, b = tensor1, tensor2
    _tensors("addcdiv_", tensor1=a, tensor2=b)
    value = number_argument("addcdiv_", "value", value)
    if a.dtype.kind in "biu" and b.dtype.kind in "biu":
        raise RuntimeError(f"addcdiv_: integer division is not supported (tensor1 "
                           f"{a.dtype}, tensor2 {b.dtype}), as in PyTorch; for a true "
                           f"division write tensor1.float(), for a floor division "
                           f"t.add_(value * tensor1.div(tensor2, rounding_mode='floor'))")

    if b.dtype.kind in "biu" and a.requires_grad and is_grad_enabled():
        # PyTorch computes tensor1's gradient, value / tensor2, into tensor2's integer dtype
        # and fails there; the forward runs, so the refusal waits for a backward
        a = F.RefusedBackward(f"addcdiv_ backward: result type {a.dtype} can't be cast to "
                              f"the desired output type {b.dtype} (tensor1's gradient, "
                              f"value / tensor2, of an integer tensor2); give tensor2 as "
                              f"floats")(a)

    def new(t):
        y = F.addc(t, a, b, value, False)
        return t + value * (a / b) if y is None else y
    return self._inplace("addcdiv_", new, reads=(a, b))


def _eq(self, other):
    """x.eq(y): x == y elementwise, except that Python data is refused (x.eq(None) raises
    where x == None is False, as in PyTorch)."""
    return _compare(np.equal, self, other)


def _ne(self, other):
    return _compare(np.not_equal, self, other)


def clamp(self, min=None, max=None):  # noqa: A002
    return F.clip(self, min, max)


# =======================================================================================
# The table: every Tensor method and operator that is an op, bound once
# =======================================================================================
Tensor.__add__, Tensor.__radd__ = F.add, _radd
Tensor.__sub__, Tensor.__rsub__ = F.sub, _rsub
Tensor.__mul__, Tensor.__rmul__ = F.mul, _rmul
Tensor.__truediv__, Tensor.__rtruediv__ = F.div, _rtruediv
Tensor.__matmul__, Tensor.__rmatmul__ = F.matmul, _rmatmul
Tensor.__pow__, Tensor.__rpow__ = F.pow, _rpow
Tensor.__floordiv__, Tensor.__rfloordiv__ = F.floor_divide, _rfloordiv
Tensor.__mod__, Tensor.__rmod__ = F.remainder, _rmod
Tensor.__neg__, Tensor.__pos__, Tensor.__abs__ = F.neg, _pos, F.abs
Tensor.__invert__ = F.bitwise_not
Tensor.__getitem__, Tensor.__setitem__ = F.getitem, _setitem

# the named forms of the operators: x.add(y, alpha=2), x.div(y, rounding_mode="floor")
Tensor.add, Tensor.sub = function_forms.add, function_forms.sub
Tensor.mul, Tensor.div = function_forms.mul, function_forms.div
Tensor.add_, Tensor.sub_ = add_, sub_           # in place, with alpha as add/sub
def softmax(self, dim=None, dtype=None, *, axis=None):
    """Softmax along ``dim`` (required, as in PyTorch); ``dtype``: the input is cast to it
    first."""
    _dim_required("softmax", dim, axis)
    dtype = dtype if dtype is None else dtype_or_none("softmax", "dtype", dtype)
    return F.softmax(self if dtype is None else self.to(dtype=dtype), dim, axis=axis)


def log_softmax(self, dim=None, dtype=None, *, axis=None):
    """log(softmax) along ``dim`` (required); ``dtype``: the input is cast to it first."""
    _dim_required("log_softmax", dim, axis)
    dtype = dtype if dtype is None else dtype_or_none("log_softmax", "dtype", dtype)
    return F.log_softmax(self if dtype is None else self.to(dtype=dtype), dim, axis=axis)


def _dim_required(op: str, dim: Any, axis: Any) -> None:
    if dim is None and axis is None:
        raise TypeError(f'{op}() missing 1 required positional arguments: "dim" (the dim '
                        f'that sums to 1: x.{op}(dim=-1) for the last)')


Tensor.softmax, Tensor.log_softmax = softmax, log_softmax
Tensor.remainder, Tensor.floor_divide = F.remainder, F.floor_divide
Tensor.bitwise_not = F.bitwise_not
Tensor.lerp, Tensor.lerp_ = lerp, lerp_
Tensor.addcmul_, Tensor.addcdiv_ = addcmul_, addcdiv_

# elementwise
Tensor.exp, Tensor.log, Tensor.sqrt, Tensor.abs, Tensor.neg = F.exp, F.log, F.sqrt, F.abs, F.neg
Tensor.reciprocal = F.reciprocal
Tensor.sigmoid, Tensor.tanh, Tensor.relu = F.sigmoid, F.tanh, F.relu
Tensor.pow, Tensor.log1p, Tensor.mm = F.pow, F.log1p, F.mm
# the comparisons as methods (x.eq(y) is x == y): bool tensors, no gradient
Tensor.eq, Tensor.ne = _eq, _ne
Tensor.lt, Tensor.le, Tensor.gt, Tensor.ge = Tensor.__lt__, Tensor.__le__, Tensor.__gt__, Tensor.__ge__
Tensor.clamp = Tensor.clip = clamp

# reductions
Tensor.sum, Tensor.mean, Tensor.var, Tensor.std = sum, mean, var, std
Tensor.amax, Tensor.amin, Tensor.max, Tensor.min, Tensor.norm = amax, amin, max, min, norm

# sorting (engine/sorting.py): named (values, indices) pairs
Tensor.sort, Tensor.topk = sorting.sort, sorting.topk

# shapes
Tensor.reshape, Tensor.view = reshape, view
Tensor.view_as, Tensor.expand, Tensor.flatten = view_as, expand, flatten
Tensor.unflatten = unflatten
Tensor.transpose, Tensor.permute, Tensor.T, Tensor.t = transpose, permute, property(_T), t
Tensor.squeeze, Tensor.unsqueeze = squeeze, unsqueeze
Tensor.expand_as, Tensor.repeat = expand_as, tiling.repeat
Tensor.contiguous, Tensor.is_contiguous = contiguous, is_contiguous
# pieces (engine/pieces.py): views, as PyTorch's
Tensor.split, Tensor.chunk, Tensor.unbind, Tensor.narrow = \
    pieces.split, pieces.chunk, pieces.unbind, pieces.narrow
Tensor.split_with_sizes = pieces.split_with_sizes

# copies, types and devices
Tensor.clone, Tensor.to = F.clone, to
Tensor.type = tensor_type      # PyTorch's legacy type names: tinygan/compat/legacy_types.py
Tensor.share_memory_, Tensor.is_shared = share_tensor_, is_shared   # tinygan/multiprocessing.py


# ---- sin/cos, the step functions, the special-value tests, flip ---------------------------
def flip(self, *dims):
    """x reversed along ``dims``: x.flip(0), x.flip(0, 1) or x.flip((0, 1))."""
    if not dims:
        raise TypeError('flip() missing 1 required positional arguments: "dims"')
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return flipping.flip(self, dims)


def round(self, *, decimals=NOT_GIVEN):  # noqa: A001 - PyTorch's method name
    """Each element to the nearest whole number (halves to even), or to ``decimals``."""
    return rounding.round(self, decimals=decimals)


Tensor.sin, Tensor.cos = trigonometric.sin, trigonometric.cos
Tensor.floor, Tensor.ceil, Tensor.trunc = rounding.floor, rounding.ceil, rounding.trunc
Tensor.round, Tensor.sign, Tensor.flip = round, rounding.sign, flip
Tensor.isnan, Tensor.isinf = special_values.isnan, special_values.isinf
Tensor.isfinite = special_values.isfinite


# ---- new tensors like this one: x.new_ones(n) makes labels of x's dtype and device ---------
def _size_given(op: str, size: tuple, name: str = "size") -> None:
    """PyTorch's reshape, view, new_zeros/new_ones/new_empty need a size (x.new_ones(())
    is a 0-d one, x.reshape(()) too)."""
    if not size:
        raise TypeError(f'{op}() missing 1 required positional arguments: "{name}"')


def _new_filled(self, shape, fill, dtype, device, requires_grad, op):
    xp = backend.module_for_device(self.device if device is None else device)
    dtype = self.dtype if dtype is None else np.dtype(dtype_or_none(op, "dtype", dtype))
    data = xp.empty(tuple(int(n) for n in shape), dtype=dtype)
    if fill is not None:
        data[...] = checked_scalar(fill, dtype)
    return Tensor(data, requires_grad=requires_grad)


def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    _size_given("new_zeros", size)
    return _new_filled(self, _shape_args(size), 0, dtype, device, requires_grad,
                       "new_zeros")


def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    """Ones of ``size`` with this tensor's dtype and device (unless given)."""
    _size_given("new_ones", size)
    return _new_filled(self, _shape_args(size), 1, dtype, device, requires_grad,
                       "new_ones")


def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """An uninitialised tensor of ``size`` with this tensor's dtype and device."""
    _size_given("new_empty", size)
    return _new_filled(self, _shape_args(size), None, dtype, device, requires_grad,
                       "new_empty")


def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    """``fill_value`` everywhere in ``size`` (a tuple or list), this tensor's dtype and
    device unless given."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"new_full(): argument 'size' must be tuple of ints, not "
                        f"{type(size).__name__}")
    fill_value = number_argument("new_full", "fill_value", fill_value)
    return _new_filled(self, size, fill_value, dtype, device, requires_grad, "new_full")


def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` (a list, number, array or tensor) with this tensor's dtype and
    device unless given: x.new_tensor([1, 2]) of a float32 x is float32, not int64."""
    from tinygan.compat.creation import tensor   # (creation imports the engine)
    dtype = dtype_or_none("new_tensor", "dtype", dtype)
    values = data.detach() if isinstance(data, Tensor) else data
    return tensor(values, dtype=self.dtype if dtype is None else dtype,
                  device=self.device if device is None else device,
                  requires_grad=requires_grad)


Tensor.new_zeros, Tensor.new_ones, Tensor.new_empty = new_zeros, new_ones, new_empty
Tensor.new_full, Tensor.new_tensor = new_full, new_tensor


# ---- issue 29, the eighth session: names PyTorch code reaches for ---------------------------
# (running sums, log-sum-exp, triangles: engine/cumulative.py, logsumexp.py, triangular.py;
# the bitwise and logical ops: engine/logic.py)
def cumsum(self, dim=None, *, dtype=None):
    if dim is None:
        raise TypeError('cumsum() missing 1 required positional arguments: "dim"')
    return cumulative.cumsum(self, dim, dtype=dtype)


def logsumexp(self, dim=None, keepdim=False):
    if dim is None:
        raise TypeError('logsumexp() missing 1 required positional arguments: "dim"')
    return log_sum_exp.logsumexp(self, dim, keepdim)


def masked_fill_(self, mask, value):
    """self[mask] = value, in place: ``mask`` a bool tensor that broadcasts to self's shape,
    ``value`` a number or a 0-d tensor (which then gets the sum of the gradient where the
    mask is set). As PyTorch's, self's gradient is zero where the mask is set."""
    _check_mask_fill("masked_fill_", mask, value)
    try:
        target = np.broadcast_shapes(mask.shape, self.shape)
    except ValueError:
        target = None
    if target != self.shape:
        raise RuntimeError(f"masked_fill_: output with shape {list(self.shape)} doesn't match "
                           f"the broadcast shape of the mask {list(mask.shape)}")
    if isinstance(value, Tensor) and value.ndim == 0 or not isinstance(value, Tensor):
        checked = checked_scalar(value, self.dtype)   # (PyTorch fills with value.item())
        value = value if isinstance(value, Tensor) else checked
    if isinstance(value, Tensor) and value.dtype != self.dtype:
        refuse_a_gradient_into_ints("masked_fill_", self, value)   # (as fill_: see there)
        value = F.cast(value, self.dtype)            # (a float64 value's gradient: float64)
    _setitem(self, mask if mask.shape == self.shape else mask.expand(self.shape), value)
    return self


def masked_fill(self, mask, value):
    """A copy of self with ``value`` where ``mask`` is set (both broadcast: the result has
    their common shape, laid out row-major as PyTorch's)."""
    _check_mask_fill("masked_fill", mask, value)
    if isinstance(value, Tensor) and value.requires_grad and is_grad_enabled() and \
            self.dtype.kind in "biu":
        F.refuse_integer_output(self.dtype)   # (PyTorch's one node: an integer result)
    shape = tuple(np.broadcast_shapes(mask.shape, self.shape))
    out = F.clone(self.expand(shape), memory_format="contiguous_format")
    return masked_fill_(out, mask, value)


def _check_mask_fill(op, mask, value):
    if not isinstance(mask, Tensor) or mask.dtype != np.bool_:
        raise RuntimeError(f"{op} only supports boolean masks, but got mask with dtype "
                           f"{getattr(mask, 'dtype', type(mask).__name__)}; write mask.bool() "
                           f"or a comparison (x > 0)")
    if isinstance(value, Tensor) and value.ndim:
        raise RuntimeError(f"{op} only supports a 0-dimensional value tensor, but got tensor "
                           f"with {value.ndim} dimension(s) (shape {value.shape})")


def clamp_min(self, min):  # noqa: A002 - PyTorch's name
    return F.clip(self, min, None)


def clamp_max(self, max):  # noqa: A002
    return F.clip(self, None, max)


def square(self):
    """x * x, as PyTorch's (pow(x, 2): an int or bool tensor gives int64)."""
    return F.pow(self, 2)


def retain_grad(self):
    """Keep this non-leaf tensor's gradient in ``.grad`` when a backward pass (or
    autograd.grad) goes through it, summed over passes as a leaf's. A leaf keeps its own
    anyway; a tensor that does not require grad has none to keep."""
    if not self.requires_grad:
        raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
    if self.creator is not None:
        self.retains_grad = True


def stride(self, dim=None):
    """Refused: tinygan lays every result out in memory as PyTorch does along the dims that
    are longer than 1 (tests/test_result_layout.py), but a size-1 dim's stride, which
    nothing ever steps along, is often NumPy's choice, not PyTorch's; a number that is
    sometimes wrong would be worse than none."""
    raise NotImplementedError(
        "Tensor.stride(): tinygan does not report strides (a size-1 dim's can differ from "
        "PyTorch's); to ask whether a view() will work, use is_contiguous(), or reshape()")


Tensor.stride = stride
Tensor.cumsum, Tensor.logsumexp = cumsum, logsumexp
Tensor.tril, Tensor.triu = triangular.tril, triangular.triu
Tensor.masked_fill, Tensor.masked_fill_ = masked_fill, masked_fill_
Tensor.clamp_min, Tensor.clamp_max, Tensor.square = clamp_min, clamp_max, square
Tensor.matmul, Tensor.bmm = F.matmul, function_forms.bmm
Tensor.maximum, Tensor.minimum = function_forms.maximum, function_forms.minimum
Tensor.__and__, Tensor.__or__, Tensor.__xor__ = logic.bitwise_and, logic.bitwise_or, \
    logic.bitwise_xor
Tensor.__rand__, Tensor.__ror__, Tensor.__rxor__ = logic.bitwise_and, logic.bitwise_or, \
    logic.bitwise_xor
Tensor.bitwise_and, Tensor.bitwise_or, Tensor.bitwise_xor = logic.bitwise_and, \
    logic.bitwise_or, logic.bitwise_xor
Tensor.logical_and, Tensor.logical_or = logic.logical_and, logic.logical_or
Tensor.logical_xor, Tensor.logical_not = logic.logical_xor, logic.logical_not
Tensor.__iand__ = lambda self, other: self._inplace(
    "bitwise_and_", lambda t: logic.bitwise_and(t, other), reads=(other,))
Tensor.__ior__ = lambda self, other: self._inplace(
    "bitwise_or_", lambda t: logic.bitwise_or(t, other), reads=(other,))
Tensor.__ixor__ = lambda self, other: self._inplace(
    "bitwise_xor_", lambda t: logic.bitwise_xor(t, other), reads=(other,))
Tensor.retain_grad = retain_grad
