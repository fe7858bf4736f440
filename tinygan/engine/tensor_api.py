"""What a PyTorch user expects of a tensor, on top of the engine in tensor.py.

``Tensor`` (tensor.py) holds the state and the backward pass; this base class gives it the
PyTorch vocabulary: facts (``shape``, ``size()``, ``dim()``), conversions (``numpy()``,
``item()``, ``to()``), ``.data``, operators, reductions, reshapes, and the in-place methods
(``add_``, ``clamp_``, ``x[i] = v`` ...). Every op here hands its work to
``tinygan.engine.functional``; nothing in this file computes a gradient.
"""
from __future__ import annotations

import weakref
from collections import namedtuple
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from tinygan.devices import backend

if TYPE_CHECKING:  # pragma: no cover
    from tinygan.engine.tensor import Tensor

# ``values, indices = t.max(dim=1)``: PyTorch returns a named pair
MaxMin = namedtuple("MaxMin", ["values", "indices"])


class TensorAPI:
    """The methods of ``Tensor`` that are conveniences, not engine."""

    array: Any
    requires_grad: bool
    grad: Any
    creator: Any
    _version: list

    # ---- basic facts -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def dtype(self):
        return self.array.dtype

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self.array)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def grad_fn(self) -> Any:
        """PyTorch's name for the Function that made this tensor (tinygan: ``creator``)."""
        return self.creator

    @property
    def data(self) -> "Tensor":
        """A Tensor sharing this one's memory, outside the graph (PyTorch's ``.data``):
        ``p.data.clamp_(-c, c)`` changes p without autograd knowing. Prefer ``detach()``,
        whose in-place changes autograd does see."""
        return _T()(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        if not isinstance(value, TensorAPI):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        self.array = value.array
        self._bump_version()  # a graph that saved the old values must not read the new

    def size(self, dim: int | None = None) -> Any:
        """The shape (PyTorch's name), or one dimension of it."""
        return self.shape if dim is None else self.shape[wrap_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.array.size)

    def element_size(self) -> int:
        return int(self.array.itemsize)

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_cuda(self) -> bool:
        return self.device != "cpu"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.array), precision=4, separator=", ",
                               prefix="tensor(")
        extras = ""
        if self.dtype != backend.DEFAULT_DTYPE and self.dtype != np.int64 \
                and self.dtype != np.bool_:
            extras += f", dtype={self.dtype}"
        if self.device != "cpu":
            extras += f", device='{self.device}'"
        if self.creator is not None:
            extras += f", grad_fn=<{type(self.creator).__name__}>"
        elif self.requires_grad:
            extras += ", requires_grad=True"
        return f"tensor({body}{extras})"

    # ---- conversions -------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """A NumPy array of the values (copied off the GPU when needed). PyTorch asks for
        ``.detach()`` first on a tensor that requires grad; tinygan does not insist."""
        return backend.to_numpy(self.array)

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """np.asarray(t) and matplotlib see the values (CPU tensors, as in PyTorch)."""
        if self.device != "cpu":
            raise TypeError(f"can't convert a {self.device} tensor to NumPy implicitly; "
                            f"use .cpu() or .numpy() first")
        return self.array if dtype is None else self.array.astype(dtype)

    def item(self) -> Any:
        if self.array.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return backend.to_numpy(self.array.reshape(-1)[:1])[0].item()  # waiting checks raise

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def tolist(self) -> Any:
        return backend.to_numpy(self.array).tolist()

    def detach(self) -> "Tensor":
        """The same values and memory, cut off from the graph: no gradient flows through
        it. It shares the version counter, so an in-place change to it is still caught."""
        out = _T()(self.array)
        out._version = self._version
        return out

    def clone(self) -> "Tensor":
        """A copy in new memory; differentiable (the gradient passes straight through)."""
        return _F().clone(self)

    def requires_grad_(self, mode: bool = True) -> "Tensor":
        if mode and self.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"got dtype {self.dtype}")
        self.requires_grad = mode
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """Move to a device ("cpu"/"cuda") and/or cast to a dtype; differentiable."""
        device, dtype = parse_to_args(args, kwargs)
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = _F().cast(out, dtype)
        if device is not None and backend.normalize_device(device) != out.device:
            out = _F().to_device(out, device)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    def long(self) -> "Tensor":
        return self.to(np.int64)

    def int(self) -> "Tensor":
        return self.to(np.int32)

    def bool(self) -> "Tensor":
        return self.to(np.bool_)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """No argument: the legacy type name ('torch.FloatTensor'); with one (a name, a legacy
        type or a dtype): a cast, as PyTorch's (see tinygan/compat/legacy_types.py)."""
        from tinygan.compat.legacy_types import tensor_type
        return tensor_type(self, dtype, non_blocking, **kwargs)

    def type_as(self, other: "Tensor") -> "Tensor":
        return self.to(other.dtype)

    # ---- operators (the ops themselves live in functional.py) ---------------------------
    def __add__(self, other): return _F().add(self, other)
    def __radd__(self, other): return _F().add(other, self)
    def __sub__(self, other): return _F().sub(self, other)
    def __rsub__(self, other): return _F().sub(other, self)
    def __mul__(self, other): return _F().mul(self, other)
    def __rmul__(self, other): return _F().mul(other, self)
    def __truediv__(self, other): return _F().div(self, other)
    def __rtruediv__(self, other): return _F().div(other, self)
    def __matmul__(self, other): return _F().matmul(self, other)
    def __rmatmul__(self, other): return _F().matmul(other, self)
    def __neg__(self): return _F().neg(self)
    def __pos__(self): return self
    def __abs__(self): return _F().abs(self)
    def __pow__(self, exponent): return _F().pow(self, exponent)
    def __rpow__(self, base): return _F().exp(_F().mul(self, float(np.log(base))))
    def __getitem__(self, index): return _F().getitem(self, index)

    # Comparisons give boolean tensors: not differentiable, but usable as masks and in
    # (D(x) > 0.5).float().mean().
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return _compare(np.not_equal, self, other)  # type: ignore[override]
    __hash__ = object.__hash__  # tensors are graph nodes: hash by identity

    def __bool__(self) -> bool:
        if self.array.size != 1:
            raise ValueError("the truth value of a tensor with more than one element is "
                             "ambiguous; use (t > 0).any() or .all() on the comparison")
        return bool(backend.to_numpy(self.array.reshape(-1)[:1])[0])

    def any(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        axis = None if dim is None else wrap_dim(dim, self.ndim, "any")
        return _T()(backend.get_array_module(self.array).asarray(
            self.array.any(axis=axis, keepdims=keepdim)))

    def all(self, dim: int | None = None, keepdim: bool = False) -> "Tensor":
        axis = None if dim is None else wrap_dim(dim, self.ndim, "all")
        return _T()(backend.get_array_module(self.array).asarray(
            self.array.all(axis=axis, keepdims=keepdim)))

    # ---- reductions (``dim``/``keepdim`` as PyTorch, ``axis``/``keepdims`` as NumPy) -----
    def sum(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _F().sum(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def mean(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _F().mean(self, _pick(dim, axis), _pick(keepdim, keepdims))

    def var(self, dim=None, unbiased=True, keepdim=False, *, axis=None, keepdims=None):
        """Variance; unbiased (divides by n - 1) by default, as torch.Tensor.var."""
        return _F().var(self, _pick(dim, axis), _pick(keepdim, keepdims), unbiased)

    def std(self, dim=None, unbiased=True, keepdim=False, *, axis=None, keepdims=None):
        return _F().std(self, _pick(dim, axis), _pick(keepdim, keepdims), unbiased)

    def amax(self, dim=None, keepdim=False):
        """The largest value over ``dim`` (ties share the gradient equally)."""
        return _F().amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False):
        return _F().amin(self, dim, keepdim)

    def max(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        """No dim: the largest element. A dim: ``(values, indices)`` along it, as PyTorch;
        the gradient goes to the element at each index."""
        return _max_or_min(self, _pick(dim, axis), _pick(keepdim, keepdims), largest=True)

    def min(self, dim=None, keepdim=False, *, axis=None, keepdims=None):
        return _max_or_min(self, _pick(dim, axis), _pick(keepdim, keepdims), largest=False)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return _arg(self, _pick(dim, axis), keepdim, "argmax")

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return _arg(self, _pick(dim, axis), keepdim, "argmin")

    def norm(self, p: float = 2, dim=None, keepdim: bool = False):
        return _F().norm(self, p, dim, keepdim)

    # ---- shapes ------------------------------------------------------------------------
    def reshape(self, *shape):
        return _F().reshape(self, _shape_args(shape))

    def view(self, *shape):
        return _F().reshape(self, _shape_args(shape))

    def view_as(self, other):
        return _F().reshape(self, other.shape)

    def expand(self, *shape):
        shape = _shape_args(shape)
        lead = len(shape) - self.ndim
        full = tuple(self.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
        return _F().broadcast_to(self, full)

    def flatten(self, start_dim: int = 0, end_dim: int = -1):
        if self.ndim == 0:
            return _F().reshape(self, (1,))
        start = wrap_dim(start_dim, self.ndim, "flatten")
        end = wrap_dim(end_dim, self.ndim, "flatten")
        if start > end:
            raise ValueError(f"flatten: start_dim ({start_dim}) cannot come after end_dim "
                             f"({end_dim}) for a tensor of shape {self.shape}")
        merged = int(np.prod(self.shape[start:end + 1]))
        return _F().reshape(self, self.shape[:start] + (merged,) + self.shape[end + 1:])

    def transpose(self, *dims):
        """Two dims: swap them (PyTorch). No dims: reverse all; a full order: NumPy's."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        if len(dims) == 2:
            order = list(range(self.ndim))
            a, b = (wrap_dim(d, self.ndim, "transpose") for d in dims)
            order[a], order[b] = order[b], order[a]
            dims = tuple(order)
        return _F().transpose(self, dims or None)

    def permute(self, *dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return _F().transpose(self, dims)

    @property
    def T(self):
        return _F().transpose(self, None)

    def squeeze(self, dim=None, *, axis=None):
        dim, shape = _pick(dim, axis), self.shape
        if dim is None:
            new = tuple(s for s in shape if s != 1)
        else:
            d = wrap_dim(dim, self.ndim, "squeeze") if self.ndim else 0
            new = shape[:d] + shape[d + 1:] if self.ndim and shape[d] == 1 else shape
        return _F().reshape(self, new)

    def unsqueeze(self, dim=None, *, axis=None):
        d = wrap_dim(_pick(dim, axis), self.ndim + 1, "unsqueeze")
        return _F().reshape(self, self.shape[:d] + (1,) + self.shape[d:])

    # ---- elementwise -------------------------------------------------------------------
    def exp(self): return _F().exp(self)
    def neg(self): return _F().neg(self)
    def log(self): return _F().log(self)
    def sqrt(self): return _F().sqrt(self)
    def abs(self): return _F().abs(self)
    def sigmoid(self): return _F().sigmoid(self)
    def tanh(self): return _F().tanh(self)
    def relu(self): return _F().relu(self)
    def clamp(self, min=None, max=None): return _F().clip(self, min, max)
    clip = clamp

    # ---- in place: each ends in _inplace, which writes and bumps the version -------------
    def _inplace(self, name: str, new_value: Callable[[Any], Any]) -> "Tensor":
        """Replace this tensor's values by ``new_value(old)``, in its own memory.

        Under autograd the graph is rewired as PyTorch does it: the old value keeps its place
        as a node of its own, and this tensor becomes the output of the new op.
        """
        from tinygan.engine.tensor import is_grad_enabled
        recording = is_grad_enabled()
        if recording and self.requires_grad and self.creator is None:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad (shape {self.shape}) is being used "
                f"in an in-place operation; do it inside tinygan.no_grad(), or on .data")
        old = _old_node(self) if recording and self.requires_grad else self
        out = _as_result(new_value(old), self)
        if out.shape != self.shape:
            raise RuntimeError(f"{name}: the result has shape {out.shape}, but the tensor "
                               f"written in place has shape {self.shape}")
        if out.dtype != self.dtype:
            if not np.can_cast(out.dtype, self.dtype, "same_kind"):
                raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the "
                                   f"in-place tensor's dtype {self.dtype}")
            out = out.to(self.dtype)
        if recording and self.requires_grad and out.creator is None:
            out = old * 0 + out       # a constant overwrite still passes a (zero) gradient
        self.array[...] = out.array  # the same memory: every view sees the new values
        self._bump_version()
        if out.creator is not None:  # this tensor now stands for the op's output
            fn = out.creator
            self.creator, self.requires_grad = fn, True
            fn._output, fn._output_version = weakref.ref(self), self._version[0]
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        self._inplace("setitem", lambda old: _F().index_put(old, index, value))

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    def add_(self, other, alpha: float = 1):
        return self._inplace("add_", lambda t: t + (other if alpha == 1 else other * alpha))

    def sub_(self, other, alpha: float = 1):
        return self._inplace("sub_", lambda t: t - (other if alpha == 1 else other * alpha))

    def mul_(self, other): return self._inplace("mul_", lambda t: t * other)
    def div_(self, other): return self._inplace("div_", lambda t: t / other)
    def pow_(self, exponent): return self._inplace("pow_", lambda t: t ** exponent)
    def neg_(self): return self._inplace("neg_", lambda t: -t)
    def exp_(self): return self._inplace("exp_", lambda t: t.exp())
    def sqrt_(self): return self._inplace("sqrt_", lambda t: t.sqrt())
    def abs_(self): return self._inplace("abs_", lambda t: t.abs())
    def tanh_(self): return self._inplace("tanh_", lambda t: t.tanh())
    def sigmoid_(self): return self._inplace("sigmoid_", lambda t: t.sigmoid())
    def relu_(self): return self._inplace("relu_", lambda t: t.relu())

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda t: t.clamp(min, max))
    clip_ = clamp_

    def addcmul_(self, a, b, value: float = 1):
        return self._inplace("addcmul_", lambda t: t + value * a * b)

    def addcdiv_(self, a, b, value: float = 1):
        return self._inplace("addcdiv_", lambda t: t + value * a / b)

    def lerp_(self, end, weight: float):
        return self._inplace("lerp_", lambda t: t + weight * (end - t))

    def copy_(self, src):
        src = src if isinstance(src, TensorAPI) else _T()(src)
        return self._inplace("copy_", lambda t: _F().broadcast_to(src.to(
            dtype=self.dtype, device=self.device), self.shape))

    def fill_(self, value):
        xp = backend.get_array_module(self.array)
        return self._inplace("fill_", lambda t: xp.full(self.shape, value, dtype=self.dtype))

    def zero_(self):
        return self.fill_(0)

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None):
        gen = _generator(generator)
        return self._inplace("normal_", lambda t: gen.normal(self.shape, mean, std,
                                                             dtype=self.dtype))

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None):
        gen = _generator(generator)
        return self._inplace("uniform_", lambda t: gen.uniform(self.shape, a, b,
                                                               dtype=self.dtype))

    # ---- issue 33 additions: kept together for the lead to move at merge time ------------
    def pow(self, exponent): return _F().pow(self, exponent)
    def log1p(self): return _F().log1p(self)
    def mm(self, mat2): return _F().mm(self, mat2)
    # the comparisons as methods (x.eq(y) is x == y): bool tensors, no gradient
    def eq(self, other): return self == other
    def ne(self, other): return self != other
    def lt(self, other): return self < other
    def le(self, other): return self <= other
    def gt(self, other): return self > other
    def ge(self, other): return self >= other

    def share_memory_(self):
        from tinygan.multiprocessing import share_tensor_
        return share_tensor_(self)

    def is_shared(self) -> bool:
        from tinygan.multiprocessing import is_shared
        return is_shared(self)

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    # PyTorch's other device and layout flags: tinygan holds dense arrays on the CPU or one
    # CUDA GPU, never on these (scripts test them, e.g. examples/dcgan's input.is_xpu)
    is_xpu = is_mps = is_meta = is_xla = is_ipu = is_vulkan = is_mtia = is_maia = \
        is_mkldnn = is_sparse = is_sparse_csr = is_quantized = is_nested = \
        property(lambda self: False)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
_tensor_module = None


def _T():
    """tinygan.engine.tensor.Tensor (imported on first use: that module imports this one)."""
    from tinygan.engine.tensor import Tensor
    return Tensor


def _F():
    """tinygan.engine.functional (imported on first use: it imports this module)."""
    global _tensor_module
    if _tensor_module is None:
        from tinygan.engine import functional
        _tensor_module = functional
    return _tensor_module


def wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """A dimension in [-ndim, ndim - 1] as a non-negative index; anything else raises as
    PyTorch does (NumPy would wrap 5 on a 2-D tensor silently)."""
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: a dimension must be an int, got {dim!r}")
    if not low <= dim <= high:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{low}, {high}], but got {dim})")
    return int(dim) % ndim if ndim else 0


def _pick(a: Any, b: Any) -> Any:
    return a if b is None else b


def _shape_args(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _raw(x: Any) -> Any:
    return x.array if isinstance(x, TensorAPI) else x


def _compare(ufunc: Any, a: TensorAPI, b: Any) -> "Tensor":
    xp = backend.get_array_module(a.array)
    return _T()(xp.asarray(getattr(xp, ufunc.__name__)(a.array, _raw(b))))


def _max_or_min(t: TensorAPI, dim: Any, keepdim: bool, largest: bool):
    if dim is None:
        return _F().amax(t) if largest else _F().amin(t)
    d = wrap_dim(dim, t.ndim, "max" if largest else "min")
    indices = _arg(t, d, True, "argmax" if largest else "argmin")
    values = _F().take_along_dim(t, indices, d)
    if not keepdim:
        values, indices = values.squeeze(d), indices.squeeze(d)
    return MaxMin(values, indices)


def _arg(t: TensorAPI, dim: Any, keepdim: bool, name: str) -> "Tensor":
    xp = backend.get_array_module(t.array)
    if dim is None:
        return _T()(xp.asarray(getattr(t.array, name)(), dtype=np.int64))
    d = wrap_dim(dim, t.ndim, name)
    out = xp.asarray(getattr(t.array, name)(axis=d), dtype=np.int64)
    return _T()(xp.expand_dims(out, d) if keepdim else out)


def _old_node(t: TensorAPI) -> "Tensor":
    """``t``'s value before an in-place write, as a graph node of its own: a copy of the
    values (the new op's backward may need them, as PyTorch saves the original self) that
    leads back to the op that made ``t``. That op's own saved output is still ``t``, so if
    its backward reads it, the version check refuses, as in PyTorch."""
    old = _T()(t.array.copy())
    old.requires_grad, old.creator = t.requires_grad, t.creator
    return old


def _as_result(value: Any, like: TensorAPI) -> "Tensor":
    if isinstance(value, TensorAPI):
        return value
    xp = backend.get_array_module(like.array)
    return _T()(xp.asarray(value))


def _generator(generator: Any) -> Any:
    from tinygan.devices.random import default_generator
    return generator or default_generator()


def parse_to_args(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """``to("cuda")``, ``to(float64)``, ``to(device, dtype)``, ``to(other_tensor)``."""
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, TensorAPI):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str):
            device = a
        elif isinstance(a, (np.dtype, type)):     # np.float32, x.dtype
            dtype = a
        elif hasattr(a, "type"):                  # tinygan.device("cuda")
            device = a
        else:
            dtype = a
    return device, dtype
