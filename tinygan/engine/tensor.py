"""Tensor and Function: reverse-mode automatic differentiation, the core of tinygan.

A ``Tensor`` wraps a raw array (``.array``: NumPy or CuPy). Every differentiable operation is
a ``Function`` whose ``forward`` works on raw arrays and whose ``backward`` is written with
Tensor operations. Because backward is made of Tensor ops, running it with the graph switched
on records a *new* graph for the gradient itself: that is how ``grad(..., create_graph=True)``
gives second derivatives (the WGAN-GP penalty needs them).

The chain rule, for a scalar loss L and y = f(x):  dL/dx = (dL/dy) * (dy/dx).
``backward`` visits the graph in reverse topological order (found without recursion, so a
10,000-op chain is fine) and sums the contributions that reach each node. Among the nodes
ready to run it picks the newest first, as PyTorch's engine does: the contributions to a
tensor then arrive, and are added, in PyTorch's order, so float rounding agrees too.

This file is the engine, top to bottom: the switch that turns recording on and off; the
Tensor (its state, facts such as ``shape``, conversions such as ``numpy()`` and ``.data``, the
version counter and the in-place mechanism, ``backward``); Function; the backward pass;
``grad``. The methods that *are* ops (``+``, ``@``, ``sum``, ``view``, ``exp`` ...) are not
written here: the ops are defined in functional.py, which needs Tensor first, and
methods.py binds them onto Tensor once, after both exist (``Tensor.__add__ = add``).
"""
from __future__ import annotations

import contextlib
import copy
import heapq
import itertools
import weakref
from collections import namedtuple
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import default_generator
from tinygan.engine.arguments import flag, integer
from tinygan.engine.layout import as_elementwise_result, row_major

# ---------------------------------------------------------------------------------------
# Switching graph recording on and off
# ---------------------------------------------------------------------------------------
_grad_enabled = True
_sequence = itertools.count()   # numbers the recorded Functions in the order they were made


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def set_grad_enabled(mode: bool) -> Iterator[None]:
    """Record graphs (True) or not (False) inside the ``with`` block."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, bool(mode)
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad() -> contextlib.AbstractContextManager:
    """``with tinygan.no_grad():`` builds no graph (sampling, optimizer updates, eval)."""
    return set_grad_enabled(False)


def enable_grad() -> contextlib.AbstractContextManager:
    return set_grad_enabled(True)


# ---------------------------------------------------------------------------------------
# Tensor: an array that remembers how it was computed
# ---------------------------------------------------------------------------------------
# ``values, indices = t.max(dim=1)``: PyTorch returns a named pair
MaxMin = namedtuple("MaxMin", ["values", "indices"])


class Tensor:
    """array          the raw values (numpy.ndarray or cupy.ndarray)
    requires_grad  whether gradients should flow to this tensor
    grad           after ``loss.backward()``: dloss/dself, a Tensor of the same shape
    creator        the Function that produced it (None for leaves: inputs and parameters;
                   PyTorch calls it ``grad_fn``)
    _version       a counter every in-place write bumps; shared by views of the same
                   memory. A Function notes the versions of what it saved, so a backward
                   through values changed since then raises instead of using them stale.
    """

    __array_priority__ = 1000  # so ndarray (op) Tensor defers to Tensor's reflected op
    # A view (x.T, x[0], x.view(...)) shares its base's memory and version counter, and
    # remembers how it was cut from it: ``_base`` the tensor that owns the memory,
    # ``_view_src``/``_view_op`` the tensor and op it was made from, ``_graph_version`` the
    # counter's value when its place in the graph was last set. Class defaults: a tensor
    # that is not a view pays nothing for them.
    _base: "Tensor | None" = None
    _view_src: "Tensor | None" = None
    _view_op: "Function | None" = None
    _graph_version = 0
    _views: "list | None" = None   # on a base: weak references to its views
    retains_grad = False           # a non-leaf whose gradient is kept (retain_grad())
    _made_without_grad = False     # a view taken under no_grad() of a tensor requiring grad
    _view_made_in_no_grad = False  # any view taken under no_grad() (PyTorch's CreationMeta)
    _multi_output = False          # a piece of split/chunk/unbind, or a view of one
    _efficient_zero = False        # a gradient that is PyTorch's ZeroTensor (_run_backward)

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.array = _to_array(data, dtype)
        if requires_grad and self.array.dtype.kind != "f":   # (PyTorch's RuntimeError)
            raise RuntimeError(f"Only Tensors of floating point dtype can require "
                               f"gradients, got dtype {self.array.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self._version = [0]  # a one-element list, so views can share one counter

    def _bump_version(self) -> None:
        """Every in-place change of this tensor's values ends here (optimizer steps,
        BatchNorm's running statistics, ``init.*_``, every ``*_`` method)."""
        self._version[0] += 1

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
        return self._current_creator() is None

    @property
    def grad_fn(self) -> Any:
        """PyTorch's name for the Function that made this tensor (tinygan: ``creator``)."""
        return self._current_creator()

    def _current_creator(self) -> Any:
        """``creator``, after a view whose memory was written in place since it was cut (and
        whose base requires grad) has caught up: PyTorch regenerates a view's grad_fn when
        it is asked for, so ``v = x[0]; x.requires_grad_(); x.exp_()`` under no_grad leaves
        v a non-leaf."""
        if self._base is not None and self._graph_version != self._version[0] \
                and self._base.requires_grad:
            _refresh_view(self)
        return self.creator

    @property
    def data(self) -> Tensor:
        """A Tensor sharing this one's memory, outside the graph (PyTorch's ``.data``):
        ``p.data.clamp_(-c, c)`` changes p without autograd knowing. Prefer ``detach()``,
        whose in-place changes autograd does see."""
        return Tensor(self.array)

    @data.setter
    def data(self, value: Any) -> None:
        if not isinstance(value, Tensor):
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

    @property
    def is_cpu(self) -> bool:
        return self.device == "cpu"

    # PyTorch's other device and layout flags: tinygan holds dense arrays on the CPU or one
    # CUDA GPU, never on these (scripts test them, e.g. examples/dcgan's input.is_xpu)
    is_xpu = is_mps = is_meta = is_xla = is_ipu = is_vulkan = is_mtia = is_maia = \
        is_mkldnn = is_sparse = is_sparse_csr = is_quantized = is_nested = \
        property(lambda self: False)

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
            extras += f", grad_fn=<{self.creator.name}>"
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

    def __index__(self) -> int:
        """An integer or bool tensor of one element used where Python wants an index
        (``[10, 20][t]``, ``range(t)``, a dim or a k of an op), as PyTorch's."""
        if self.dtype.kind not in "biu" or self.array.size != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index (this one: {self.dtype}, shape {self.shape})")
        return int(self.item())

    def tolist(self) -> Any:
        return backend.to_numpy(self.array).tolist()

    def detach(self) -> Tensor:
        """The same values and memory, cut off from the graph: no gradient flows through
        it. It shares the version counter, so an in-place change to it is still caught."""
        out = Tensor(self.array)
        out._version = self._version
        return out

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not isinstance(requires_grad, (bool, np.bool_)):
            raise TypeError(f"requires_grad_(): argument 'requires_grad' (position 1) must be "
                            f"bool, not {type(requires_grad).__name__}")
        mode = bool(requires_grad)
        if mode and self.dtype.kind != "f":
            raise RuntimeError(f"Only Tensors of floating point dtype can require "
                               f"gradients, got dtype {self.dtype}")
        self.requires_grad = mode
        if mode:   # asked for in so many words: a leaf whose gradient is kept, even if it is
            self._made_without_grad = False   # a view made under no_grad (as PyTorch)
        for ref in (self._views or ()) if mode else ():
            view = ref()
            if view is None or view.creator is not None:
                continue
            if view._graph_version != view._version[0]:
                if view._multi_output or view._view_made_in_no_grad:
                    # a piece of split/chunk/unbind, or a view made under no_grad: PyTorch
                    # refuses it when it is next used, not here
                    view.requires_grad = True
                    continue
                _refresh_view(view)   # written in place since it was cut: PyTorch cuts it
                continue              # again from the base, so it leads back to it now
            # PyTorch: a view taken before says it requires grad now, but it stays a leaf
            view.requires_grad, view._made_without_grad = True, True   # no gradient reaches
        return self

    # ``to`` moves and casts through differentiable ops, so it is bound in methods.py
    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self) -> Tensor:
        return self.to("cuda")

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def half(self) -> Tensor:
        return self.to(np.float16)

    def short(self) -> Tensor:
        return self.to(np.int16)

    def byte(self) -> Tensor:
        return self.to(np.uint8)

    def char(self) -> Tensor:
        return self.to(np.int8)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # Comparisons give boolean tensors: not differentiable, but usable as masks and in
    # (D(x) > 0.5).float().mean().
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    # x == None, x == [1.0]: False, and != True, as PyTorch's (Python's own answer: not the
    # same object); x.eq(None) raises (see _compare)
    def __eq__(self, other):  # type: ignore[override]
        return NotImplemented if isinstance(other, _PYTHON_DATA) else _compare(np.equal, self,
                                                                               other)

    def __ne__(self, other):  # type: ignore[override]
        return NotImplemented if isinstance(other, _PYTHON_DATA) else _compare(
            np.not_equal, self, other)
    __hash__ = object.__hash__  # tensors are graph nodes: hash by identity

    def __bool__(self) -> bool:
        if self.array.size != 1:   # (a RuntimeError, as PyTorch's)
            raise RuntimeError(f"Boolean value of Tensor with "
                               f"{'no values' if self.array.size == 0 else 'more than one value'}"
                               f" is ambiguous (shape {self.shape}); use (t > 0).any() or "
                               f".all() on the comparison")
        return bool(backend.to_numpy(self.array.reshape(-1)[:1])[0])

    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether any element is nonzero, over ``dim`` (an int, a tuple of them, or None
        for all; () reduces nothing, as PyTorch's). uint8 in, uint8 out; else bool."""
        return self._any_or_all("any", dim, keepdim)

    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        """Whether every element is nonzero, over ``dim`` (as ``any``)."""
        return self._any_or_all("all", dim, keepdim)

    def _any_or_all(self, op: str, dim: Any, keepdim: bool) -> Tensor:
        from tinygan.engine.functional import _normalise_axes
        keepdim = flag(op, "keepdim", keepdim)
        if isinstance(dim, Tensor):   # (PyTorch's any(int dim) overload: a 0-d int tensor)
            dim = integer(op, "dim", dim)
        if isinstance(dim, (tuple, list)) and not dim:   # (): nothing reduced
            axis: Any = ()
        else:
            axis = None if dim is None else _normalise_axes(dim, self.ndim, op)
        found = getattr(self.array, op)(axis=axis, keepdims=keepdim)
        return Tensor(row_major(backend.get_array_module(self.array).asarray(
            found, dtype=np.uint8 if self.dtype == np.uint8 else bool)))

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        return _arg(self, _pick(dim, axis), keepdim, "argmax")

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        return _arg(self, _pick(dim, axis), keepdim, "argmin")

    # ---- in place: each ends in _inplace, which writes and bumps the version -------------
    def _inplace(self, name: str, new_value: Callable[[Any], Any],
                 overwrite: bool = False, reads: Sequence[Any] = (),
                 overlap_checked: bool = False) -> Tensor:
        """Replace this tensor's values by ``new_value(old)``, in its own memory.

        Under autograd the graph is rewired as PyTorch does it: the old value keeps its place
        as a node of its own (ops that read it earlier still point at that node), and this
        tensor becomes the output of the new op. A write through a view changes its base
        too: see ``_write_through_view``. ``reads``: the other tensors the op reads;
        ``overlap_checked``: their memory was checked against the region written already
        (x[index] = v: the region, not all of x).
        """
        if not overlap_checked:
            check_no_overlap(name, self, reads, name == "fill_")
        recording = is_grad_enabled()
        base = self._base
        # PyTorch refuses an in-place op under autograd on a view made under no_grad() when
        # the view or what the op reads requires grad (the graph it would need is ambiguous);
        # an int or bool view records nothing, whatever it reads (long run 4942723)
        reads_grad = self.dtype.kind in "fc" and any(
            isinstance(r, Tensor) and r.requires_grad for r in reads)
        if recording and (self._made_without_grad or self._view_made_in_no_grad and (
                self.requires_grad or reads_grad)):
            raise RuntimeError(
                f"{name}: a view was created in no_grad mode and is being modified in place "
                f"with grad mode enabled (shape {self.shape}); do both inside no_grad(), or "
                f"both outside it")
        if recording and self._multi_output and (base.requires_grad or self.requires_grad):
            _refuse_multi_output(name, self, "is being modified in place")
        if recording and base is not None:
            if base.requires_grad and base.creator is None:
                raise RuntimeError(
                    f"{name}: a view of a leaf tensor that requires grad (view shape "
                    f"{self.shape}, leaf shape {base.shape}) is being used in an in-place "
                    f"operation; do it inside tinygan.no_grad(), or on a .clone() of the leaf")
            if self._graph_version != self._version[0]:
                _refresh_view(self)     # the base changed since: read its current values
        if recording and self.requires_grad and self.creator is None:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad (shape {self.shape}) is being used "
                f"in an in-place operation; do it inside tinygan.no_grad(), or on .data")
        if recording and self.requires_grad:
            old = _old_node(self)
        elif recording:   # the op may join the graph through its other operand and read the
            old = Tensor(self.array.copy())   # old values then: keep them (PyTorch does too)
        else:
            old = self
        out = _as_result(new_value(old), self)
        if out.shape != self.shape:
            raise RuntimeError(f"{name}: the result has shape {out.shape}, but the tensor "
                               f"written in place has shape {self.shape}")
        if out.dtype != self.dtype:
            # PyTorch's rule: no float into an int tensor, nothing but bool into a bool one;
            # ints of any width and sign are written (wrapping), unlike NumPy's "same_kind"
            if _KINDS[out.dtype.kind] > _KINDS[self.dtype.kind]:
                raise RuntimeError(f"{name}: result type {out.dtype} can't be cast to the "
                                   f"in-place tensor's dtype {self.dtype}")
            out = out.to(self.dtype)
        if self.dtype.kind not in "fc" and out.creator is not None:
            out = Tensor(out.array)   # an int or bool tensor never joins the graph
        if recording and self._multi_output and out.requires_grad:
            _refuse_multi_output(name, self, "is being modified in place")
        if recording and base is not None and (base.requires_grad or out.requires_grad):
            return _write_through_view(self, out)
        if recording and self.requires_grad and (overwrite or out.creator is None):
            out = Overwrite()(old, out)   # the old values get a zero gradient, as in PyTorch
        if self.array.size:   # the same memory: every view sees the new values
            _writable(self.array, name)[...] = out.array
        self._bump_version()
        if out.creator is not None:  # this tensor now stands for the op's output
            fn = out.creator
            self.creator, self.requires_grad = fn, True
            fn._output, fn._output_version = weakref.ref(self), self._version[0]
            _refresh_views_of(self)  # its views now lead back through the new op
        return self

    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)

    def mul_(self, other): return self._inplace("mul_", lambda t: t * other, reads=(other,))
    def div_(self, other): return self._inplace("div_", lambda t: t / other, reads=(other,))
    def pow_(self, exponent):
        return self._inplace("pow_", lambda t: t ** exponent, reads=(exponent,))
    def neg_(self): return self._inplace("neg_", lambda t: -t)
    def exp_(self): return self._inplace("exp_", lambda t: t.exp())
    def sqrt_(self): return self._inplace("sqrt_", lambda t: t.sqrt())
    def reciprocal_(self): return self._inplace("reciprocal_", lambda t: t.reciprocal())
    def abs_(self): return self._inplace("abs_", lambda t: t.abs())
    def tanh_(self): return self._inplace("tanh_", lambda t: t.tanh())
    def sigmoid_(self): return self._inplace("sigmoid_", lambda t: t.sigmoid())
    def relu_(self): return self._inplace("relu_", lambda t: t.relu())

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda t: t.clamp(min, max))
    clip_ = clamp_

    def copy_(self, src):
        if isinstance(src, _PYTHON_DATA):   # (a number is copied, as PyTorch's)
            raise TypeError(f"copy_(): argument 'other' must be Tensor, not "
                            f"{type(src).__name__}")
        src = src if isinstance(src, Tensor) else Tensor(src)
        a, b = self.array, src.array
        same_data = (b.dtype == a.dtype and a.size and _address(a) == _address(b) and
                     a.shape == b.shape and tuple(a.strides) == tuple(b.strides))
        if same_data and not (is_grad_enabled() and (self.requires_grad or src.requires_grad)):
            self._bump_version()   # PyTorch: the very same data, nothing to copy (even into
            return self            # an expanded tensor, which it would refuse otherwise)
        if same_data and _is_expanded(a):   # ... and its graph then sums over the overlap
            raise RuntimeError(f"copy_: tinygan does not write through an expanded tensor "
                               f"(shape {self.shape}) where a gradient is recorded; write "
                               f"into a .clone() of it")
        return self._inplace("copy_", lambda t: src.to(
            dtype=self.dtype, device=self.device).expand(self.shape), overwrite=True,
            reads=(src,))

    def fill_(self, value):
        if isinstance(value, _PYTHON_DATA):
            raise TypeError(f"fill_(): value must be a number or a 0-d tensor, not "
                            f"{type(value).__name__}")
        if isinstance(value, Tensor):   # a 0-d tensor: the filled values lead back to it
            if value.ndim:
                raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got "
                                   f"tensor with {value.ndim} dimensions (shape {value.shape})")
            refuse_a_gradient_into_ints("fill_", self, value)
            if is_grad_enabled() and value.requires_grad:   # its gradient: the sum of them
                if backend.get_array_module(self.array).may_share_memory(self.array,
                                                                         value.array):
                    value = value.clone()   # PyTorch too: a value in the memory it fills
                return self._inplace("fill_", lambda t: value.to(
                    dtype=self.dtype, device=self.device).expand(self.shape),
                    overwrite=True, reads=(value,))
            # (PyTorch converts it unchecked, as C casts: -1.0 or -1 is 255 in uint8)
            with np.errstate(invalid="ignore", over="ignore"):
                value = backend.to_numpy(value.array).astype(self.dtype)[()]
        else:   # a number is checked (engine/tensor.py's checked_scalar)
            value = checked_scalar(value, self.dtype)
        xp = backend.get_array_module(self.array)
        return self._inplace("fill_", lambda t: xp.full(self.shape, value, dtype=self.dtype),
                             overwrite=True)

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


    # ---- the backward pass, from this tensor -------------------------------------------
    def backward(self, grad: "Tensor | Any | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        Afterwards the graph counts as used (as in PyTorch), so a second ``backward``
        through it is an error instead of silently doubling the gradients; pass
        ``retain_graph=True`` to allow another (``create_graph=True`` implies it).
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() called on a tensor that does not require grad: none of its inputs "
                "had requires_grad=True, or it was computed under no_grad()")
        if grad is None:
            if self.array.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape "
                    f"{self.shape}; pass grad= (same shape) or reduce it first, e.g. .sum()")
            grad = backend.get_array_module(self.array).ones_like(self.array)
        seed = _as_grad(grad, self)
        grads = _run_backward([self], [seed], None, create_graph, retain_graph)
        # A gradient array may be shared (Add hands one array to both inputs; the caller's
        # ``grad`` may come straight back): a leaf takes over only an array nobody else holds.
        claimed = {id(seed.array)}
        for leaf, g in grads.items():
            if leaf._made_without_grad:                 # see Function.__call__: no gradient
                continue
            if leaf.grad is not None:                   # accumulate: a fresh sum
                leaf.grad = leaf.grad + g if create_graph or leaf.grad.creator else \
                    _accumulate_in_place(leaf.grad, g)
                continue
            shared = id(g.array) in claimed or g.array.base is not None
            claimed.add(id(g.array))
            leaf.grad = (g.clone() if create_graph else Tensor(g.array.copy())) if shared else g


def _accumulate_in_place(total: Tensor, g: Tensor) -> Tensor:
    total.array += g.array
    total._bump_version()
    return total


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (requires_grad by default)."""

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = backend.xp().empty(0, dtype=backend.DEFAULT_DTYPE)
        super().__init__(data.array if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# ---------------------------------------------------------------------------------------
# Function: one node of the graph
# ---------------------------------------------------------------------------------------
def _with_row_major_steps(array: Any) -> Any:
    """A row-major ``array`` described with the strides PyTorch gives a new row-major
    tensor: a size-1 dim steps over everything after it. NumPy marks an array row-major
    whatever its size-1 dims' strides are (they are never stepped along), and a kernel's
    reshapes and transposes leave other values there; PyTorch's overlap check compares
    them (x[:, None] = x is refused or not by them)."""
    steps, step = [0] * array.ndim, array.itemsize
    for d in range(array.ndim - 1, -1, -1):
        steps[d] = step
        step *= array.shape[d]
    if tuple(steps) == tuple(array.strides) or array.size == 0:
        return array
    return backend.get_array_module(array).lib.stride_tricks.as_strided(
        array, array.shape, tuple(steps))


def _kept_row_major(shape: tuple, inputs: Sequence[Tensor]) -> bool:
    """Whether PyTorch's TensorIterator leaves an elementwise result of ``shape`` row-major
    whatever the rest of its rule says (engine/layout.py): every input steps, along the dims
    it steps at all, no faster along an earlier dim than along a later one (a tie: the
    later dim no longer). Then no input ever asks its sort of the dims for a swap. The
    common case in training, told here without the general rule. An op whose result is
    not its inputs broadcast together is not elementwise (a pool, a convolution): its
    result stays as its own kernel made it."""
    odd = [t for t in inputs if not (t.array.flags.c_contiguous and 1 not in t.shape)]
    if not odd:   # (row-major with no size-1 dim: the plainest case, told first)
        return True
    try:
        if np.broadcast_shapes(*(t.shape for t in inputs)) != tuple(shape):
            return True
    except ValueError:
        return True
    for t in odd:
        a, lead = t.array, len(shape) - t.ndim
        last_step = last_size = None
        for size, step, n in zip(a.shape, a.strides, shape[lead:]):
            if step == 0 or (size == 1 and n != 1):
                continue   # a broadcast dim: TensorIterator passes over it
            if last_step is not None and (step > last_step or step == last_step
                                          and n > last_size):
                return False
            last_step, last_size = step, n
    return True


def _laid_out(rule: str, result: Any, inputs: tuple, elementwise: bool = False) -> Any:
    """A Function's new ``result`` in the layout PyTorch gives it (see
    Function.result_layout and .elementwise); a row-major result is left alone where its
    inputs are laid out row-major (or as good as: ``_kept_row_major``), the common case and
    cheap to tell, or where the op is not elementwise."""
    if rule == "own":
        return result
    if result.flags.c_contiguous and (
            rule == "row-major" or not (elementwise or rule == "elementwise")
            or _kept_row_major(result.shape, inputs)):
        return _with_row_major_steps(result) if 1 in result.shape else result
    if rule == "row-major":
        return row_major(result)
    return as_elementwise_result(result, [t.array for t in inputs])


class Function:
    """One differentiable operation.

    Subclasses write ``forward(*arrays) -> array`` and ``backward(grad_output) -> grads``,
    the latter in Tensor ops, returning one gradient (or None) per input. Inputs that are
    not Tensors (Python numbers, arrays) become constant Tensors.

    What backward reads (PyTorch's ``save_for_backward``) is declared, so that an in-place
    change to it is caught: ``saves()`` lists the inputs whose *values* backward uses (all of
    them unless a subclass says fewer), ``saves_output`` whether it uses the output's.
    """

    inputs: tuple[Tensor, ...]
    used = False            # set by a backward without retain_graph: a second one is refused
    saves_output = False    # e.g. exp: (e^x)' = e^x reads the output
    is_view = False         # the output shares the first input's memory (reshape, transpose)
    # the layout PyTorch gives the result (engine/layout.py): "numpy" (NumPy's, fixed where
    # it differs from TensorIterator's), "row-major" (reductions, softmax, matrix products),
    # "elementwise" (an elementwise op whose forward builds its result row-major: laid out
    # by TensorIterator's rule from its operands), "own" (forward lays it out itself: cat)
    result_layout = "numpy"
    # an elementwise op (its operands broadcast together, one value from each): with the
    # "numpy" rule, its result is laid out by TensorIterator's rule also where NumPy's is
    # row-major but its operands are not (x.T - y follows x.T in PyTorch)
    elementwise = False
    # PyTorch computes the backward of some ops as one node that reads the gradient and
    # these inputs (convolution_backward reads x and W; abs reads x through sgn(x)): with
    # create_graph, each gradient it returns requires grad when any of them does, even one
    # that does not depend on them. None: the gradient's graph is what it really reads.
    backward_reads: tuple[int, ...] | None = None
    # ... and what that node's own derivative gives those inputs where the gradient does not
    # depend on them: zeros (relu, abs, max pooling) or nothing, None (convolution, batch norm)
    backward_reads_give_zeros = False
    backward_links_every_read = False   # link gradients that already require grad as well
    # ... and whether those zeros are PyTorch's efficient ZeroTensor (abs reads x through
    # sgn(x), whose derivative is one), see _run_backward
    backward_zeros_are_efficient = False
    # the inputs whose gradient PyTorch computes from an efficient zero as one (grad * y,
    # grad / y, a view of grad): zeros, without computing 0 * inf = NaN (_run_backward);
    # and those it gives plain zeros (an efficient zero times y, then a where() or a sum)
    efficient_zero_passes: tuple[int, ...] = ()
    efficient_zero_as_zeros: tuple[int, ...] = ()

    @property
    def name(self) -> str:
        """What errors and ``grad_fn`` call this node: its class's name, unless the node
        stands for a composite op (functional.Keeps gives the composite's name)."""
        return type(self).__name__

    def describe(self, t: "Tensor") -> str:
        """Which of this node's saved tensors ``t`` is, for the in-place error."""
        if t is self._output():
            return f"its output of {self.name}"
        return f"input {next(i for i, x in enumerate(self.inputs) if x is t)} of {self.name}"

    def saves(self) -> Sequence[int]:
        return range(len(self.inputs))

    def __call__(self, *inputs: Any) -> Tensor:
        tensors = tuple(x if isinstance(x, Tensor) else _as_tensor(x, like=inputs)
                        for x in inputs)
        if len(tensors) > 1:
            _check_same_device(self, tensors)
        if _grad_enabled:
            for t in tensors:   # a view whose base was written in place since: catch up
                if t._base is not None and t._graph_version != t._version[0]:
                    _refresh_view(t)
        result = self.forward(*(t.array for t in tensors))
        rule = self.result_layout   # (engine/layout.py; most results need no look)
        if not self.is_view and rule != "own" and getattr(result, "flags", None) is not None \
                and (rule == "elementwise" or 1 in result.shape
                     or not result.flags.c_contiguous
                     or self.elementwise and not _kept_row_major(result.shape, tensors)):
            result = _laid_out(rule, result, tensors, self.elementwise)
        out = Tensor(result)
        if self.is_view:
            src = tensors[0]
            out._version = src._version             # one memory, one counter
            out._base = src if src._base is None else src._base
            out._view_src, out._view_op, out._graph_version = src, self, src._version[0]
            _remember_view(out._base, out)
            out._multi_output = src._multi_output   # (engine/pieces.py: PyTorch's rule)
            # (a view of such a view is one too, as PyTorch's CreationMeta passes on)
            out._view_made_in_no_grad = not _grad_enabled or src._view_made_in_no_grad
            if not _grad_enabled and out._base.requires_grad:
                # PyTorch: a view taken under no_grad() of a tensor that requires grad says it
                # requires grad too, but no gradient ever reaches it or through it. What
                # counts is the first base (a view of a view: the tensor under both), so a
                # view that was given requires_grad_() of its own passes on nothing
                out.requires_grad, out._made_without_grad = True, True
        if _grad_enabled and any(t.requires_grad for t in tensors):
            out.requires_grad = True
            out.creator = self
            self.sequence_nr = next(_sequence)
            self.inputs = tensors
            # the nodes the inputs stood for *now*: a later in-place write gives an input a
            # new creator, but this op read the old value, so its gradient goes there
            self.parents = tuple(t.creator for t in tensors)
            # which inputs want a gradient (PyTorch's ctx.needs_input_grad): backward can
            # skip the others, e.g. the input gradient of a first layer fed with data
            self.needs_input_grad = tuple(t.requires_grad for t in tensors)
            # a weak reference: the output owns its creator, not the other way round,
            # so graphs are freed by reference counting as soon as the loss is dropped
            self._output = weakref.ref(out)
            self._saved_versions = [(tensors[i], tensors[i]._version[0]) for i in self.saves()]
            self._output_version = out._version[0]
        return out

    @property
    def output(self) -> Tensor:
        """The Tensor this Function produced (for rules like sigmoid' = y (1 - y))."""
        out = self._output()
        if out is None:  # pragma: no cover - only if someone keeps a Function alone
            raise RuntimeError(f"{self.name}: its output was freed")
        return out

    def check_saved_versions(self) -> None:
        """Refuse to run backward on values changed in place since the forward pass."""
        saved = list(self._saved_versions)
        if self.saves_output:
            saved.append((self.output, self._output_version))
        for t, version in saved:
            if t._version[0] != version:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype} tensor of shape {t.shape}], "
                    f"{self.describe(t)}, is at version {t._version[0]}; expected "
                    f"version {version} instead. Hint: recompute the forward pass after the "
                    f"in-place change (an optimizer step is one), or use .clone()")

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> Any:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------------------
def _topological_order(roots: Sequence[Function]) -> list[Function]:
    """Every Function reachable from ``roots``, each after all Functions that use its output.

    The graph's nodes are Functions, linked through ``parents`` (the creators of the inputs
    at the time each op ran). An iterative depth-first search (an explicit stack instead of
    recursion), so a chain of any length works. Returned in the order backward visits them.
    """
    order: list[Function] = []
    visited: set[int] = set()
    stack: list[tuple[Function, bool]] = [(r, False) for r in roots]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        if fn.used:
            raise RuntimeError(
                f"backward through a graph a second time ({fn.name} "
                f"node): the first backward already used it. Recompute the forward pass, or "
                f"pass retain_graph=True to the first backward")
        for parent in fn.parents:
            if parent is not None and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()  # outputs first, then what they were made from
    return order


def _on_a_path_to(order: Sequence[Function], wanted_at: dict) -> set[int]:
    """The ids of the nodes in ``order`` (outputs first) whose inputs lead to a wanted
    tensor: the nodes grad() must run (a wanted tensor's own creator need not)."""
    found: set[int] = set()
    for fn in reversed(order):   # inputs first: a node's parents are decided before it
        if any(id(parent) in found or id(parent) in wanted_at if parent is not None else
               id(t) in wanted_at and not t._made_without_grad   # (a view made under
               for t, parent in zip(fn.inputs, fn.parents)):      # no_grad gets nothing)
            found.add(id(fn))
    return found


def _pytorch_order(order: Sequence[Function], roots: Sequence[Function]) -> Iterator[Function]:
    """The nodes of ``order`` in the order PyTorch's engine runs them: a node is ready once
    every node that uses its output has run, and of the ready ones the newest (the highest
    sequence number) goes first. Any topological order gives the same gradients in exact
    arithmetic; this one adds the contributions to each tensor in PyTorch's order, so that
    where they nearly cancel (a second derivative that is 0 in exact arithmetic) the
    rounding agrees too. (``_waiting``: how many users of a node have not run yet.)"""
    for fn in order:
        fn._waiting = 0
    for fn in order:
        for parent in fn.parents:
            if parent is not None:
                parent._waiting += 1
    ready = [(-fn.sequence_nr, fn) for fn in {id(r): r for r in roots}.values()
             if fn._waiting == 0]
    heapq.heapify(ready)
    pop, push = heapq.heappop, heapq.heappush
    while ready:
        fn = pop(ready)[1]
        yield fn
        for parent in fn.parents:
            if parent is not None:
                parent._waiting -= 1
                if parent._waiting == 0:
                    push(ready, (-parent.sequence_nr, parent))


def _node(t: Tensor) -> Any:
    """A tensor's node in the graph: its creator, or the tensor itself for a leaf."""
    return t if t.creator is None else t.creator


def _run_backward(outputs: Sequence[Tensor], grad_outputs: Sequence[Tensor],
                  wanted: Sequence[Tensor] | None, create_graph: bool,
                  retain_graph: bool | None = None) -> dict[Tensor, Tensor]:
    """Propagate ``grad_outputs`` back; return {tensor: gradient} for ``wanted`` tensors
    (or for every leaf that requires grad when ``wanted`` is None). Gradients are summed
    per node (a Function's output, or a leaf). Without ``retain_graph`` (default:
    ``create_graph``) each node is marked used once its backward has run. (PyTorch also
    frees a node's saved tensors then; tinygan keeps them until the graph is dropped,
    which spares the allocator a round trip to the operating system.)"""
    if retain_graph is None:
        retain_graph = create_graph
    grads: dict[int, Tensor] = {}
    for out, g in zip(outputs, grad_outputs):
        key = id(_node(out))
        grads[key] = grads[key] + g if key in grads else g
    wanted_at = None if wanted is None else {id(_node(t)): t for t in wanted}
    found: dict[Tensor, Tensor] = {}

    with set_grad_enabled(create_graph):
        roots = [out.creator for out in outputs if out.creator is not None]
        order = _topological_order(roots)
        # PyTorch runs every node it reaches (for grad(): every node on a path to a wanted
        # tensor) even when no gradient arrives, and so reads what it kept: a tensor
        # changed in place since is refused there too
        runs = None if wanted_at is None else _on_a_path_to(order, wanted_at)
        for fn in _pytorch_order(order, roots):
            g_out = grads.pop(id(fn), None)
            if g_out is not None and wanted_at is not None and id(fn) in wanted_at:
                found[wanted_at[id(fn)]] = g_out
            if runs is not None and id(fn) not in runs:
                continue   # grad(): nothing wanted lies behind this node
            if g_out is not None:
                _keep_if_retained(fn, g_out)
            if g_out is None:
                fn.check_saved_versions()
                if not retain_graph:
                    fn.used = True
                continue
            fn.check_saved_versions()
            input_grads = fn.backward(g_out)
            if not retain_graph:
                fn.used = True
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if create_graph and fn.backward_reads is not None:
                input_grads = _as_one_node(fn, g_out, input_grads)
            if g_out._efficient_zero:
                input_grads = _efficient_zeros(fn, g_out, input_grads)
            for parent, node, needed, g in zip(fn.inputs, fn.parents, fn.needs_input_grad,
                                                input_grads):
                if g is None or not needed:
                    continue
                leaf = node is None
                key = id(parent) if leaf else id(node)
                grads[key] = _added(grads[key], g) if key in grads else g
                if leaf and (wanted_at is None or key in wanted_at):
                    found[parent] = grads[key]
        # outputs that are themselves wanted leaves
        for out in outputs:
            if out.creator is None and id(out) in grads and (
                    wanted_at is None or id(out) in wanted_at):
                found[out] = grads[id(out)]
    return found


def _keep_if_retained(fn: Function, g: Tensor) -> None:
    """x.retain_grad(): the whole gradient of x's node, once it is summed, goes to x.grad too
    (added to what an earlier pass left there). Only the node x is the output of *now*: after
    an in-place write, that is the write's node, as in PyTorch."""
    out = fn._output() if getattr(fn, "_output", None) is not None else None
    if out is None or not out.retains_grad or out.creator is not fn:
        return
    out.grad = g.clone(memory_format="contiguous_format") if out.grad is None else out.grad + g


def _address(array: Any) -> int:
    face = getattr(array, "__array_interface__", None) or array.__cuda_array_interface__
    return face["data"][0]


def _writable(a: Any, name: str) -> Any:
    """The array ``a``, to write into. An expanded tensor's array is NumPy's read-only
    broadcast_to view (several elements, one memory location); PyTorch writes through it
    where the result cannot depend on the order of the writes (fill_, zero_) and in its
    index_put_ (x[idx] = v: the last write to a location wins). check_no_overlap refuses
    every other write, so here such an array gets a writable alias of the same memory."""
    if getattr(a.flags, "writeable", True):
        return a
    alias = backend.writable_alias(a) if isinstance(a, np.ndarray) else None
    if alias is None:
        raise RuntimeError(f"{name}: the tensor's memory (shape {a.shape}) is read-only; "
                           f"write to a .clone()")
    return alias


def _is_expanded(a: Any) -> bool:
    """Whether several elements of ``a`` share one memory location (a stride of 0; an empty
    array has no elements to share one)."""
    return a.size > 0 and any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape))


def _dense(a: Any) -> bool:
    """Whether the elements of ``a`` fill one block of memory, each once, in some order of
    its dims (PyTorch's is_non_overlapping_and_dense)."""
    steps = sorted((st // a.itemsize, n) for st, n in zip(a.strides, a.shape) if n != 1)
    expected = 1
    for step, n in steps:
        if step != expected:
            return False
        expected *= n
    return True


def _overlap(a: Any, b: Any) -> str:
    """How the memory of two arrays overlaps, by PyTorch's rule: "too hard" to say unless
    both are dense blocks (PyTorch then does not check), "full" for the same block walked
    with the same strides, "partial" for any other shared memory, else "no"."""
    if not (_dense(a) and _dense(b)):
        return "too hard"
    a0, b0 = _address(a), _address(b)
    a1, b1 = a0 + a.size * a.itemsize, b0 + b.size * b.itemsize
    if a0 == b0 and a1 == b1:
        return "full" if tuple(a.strides) == tuple(b.strides) else "partial"
    return "partial" if a0 < b1 and b0 < a1 else "no"


def _shares_elements(a: Any, b: Any) -> bool:
    """Whether two arrays have an element in common (NumPy solves it exactly; where that is
    too much work, or for other arrays, the spans of memory they cover decide)."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        try:
            return bool(np.shares_memory(a, b, max_work=100_000))
        except np.exceptions.TooHardError:
            pass
    def span(x: Any) -> tuple[int, int]:
        start = _address(x) + sum(st * (n - 1) for st, n in zip(x.strides, x.shape) if st < 0)
        end = _address(x) + sum(st * (n - 1) for st, n in zip(x.strides, x.shape) if st > 0)
        return start, end + x.itemsize
    (a0, a1), (b0, b1) = span(a), span(b)
    return a0 < b1 and b0 < a1


def _reads_a_written_element(written: Any, read: Any, copy: bool = False) -> bool:
    """Whether some element is read (at one index of the result) from a memory location that
    another index writes: then the order of the writes decides the answer. An element that
    reads only its own location (x += x, a column plus the row through its first element)
    is fine in any order."""
    if int(np.prod(read.shape)) > int(np.prod(written.shape)):
        return True
    def places(a: Any, shape: tuple) -> np.ndarray:
        lead = len(shape) - len(a.shape)
        steps = [0] * lead + [st if n != 1 or m == 1 else 0
                              for st, n, m in zip(a.strides, a.shape, shape[lead:])]
        at = np.full(shape, _address(a), dtype=np.int64)
        for d, (n, st) in enumerate(zip(shape, steps)):
            at += (np.arange(n, dtype=np.int64) * st).reshape((-1,) + (1,) * (len(shape) - d - 1))
        return at.reshape(-1)
    shape = tuple(written.shape)
    try:
        np.broadcast_shapes(tuple(read.shape), shape)
    except ValueError:
        return True
    w, r = places(written, shape), places(read, shape)
    # every written location changes (x += ...), but for a copy only where its element
    # reads another location: x[:] = x[0:1] copies x[0] onto itself first, and the others
    # read it unchanged, in any order
    changed = w[r != w] if copy else w
    return bool((np.isin(r, changed) & (r != w)).any())


def _same_walk(a: Any, b: Any) -> bool:
    """Whether two arrays are the very same elements in the same order (each element is
    then read before it is written, whatever the order)."""
    return (_address(a) == _address(b) and tuple(a.shape) == tuple(b.shape)
            and tuple(a.strides) == tuple(b.strides))


def refuse_a_gradient_into_ints(name: str, target: Tensor, value: Tensor) -> None:
    """PyTorch's fill_ with a 0-d tensor that requires grad (also what ``x[1:] = t`` runs
    for a 0-d t) marks even an int or bool ``x`` as requiring grad, and a backward through it
    then stops at an internal assert. tinygan does not copy that: it refuses, saying what
    to write instead."""
    if value.requires_grad and is_grad_enabled() and target.dtype.kind not in "fc":
        raise RuntimeError(
            f"{name}: writing a {value.dtype} tensor that requires grad into a {target.dtype} "
            f"tensor (shape {target.shape}): PyTorch marks the {target.dtype} tensor as "
            f"requiring grad, though no gradient can flow through it; write value.detach() "
            f"(or value.item()) instead")


def check_no_overlap(name: str, target: Tensor, sources: Sequence[Any],
                     internal_ok: bool = False, region: Any = None,
                     same_ok: bool = True) -> None:
    """PyTorch refuses an in-place write whose result would depend on the order elements are
    written in: into an expanded tensor (one memory location for several elements; fill_
    excepted), or from an input that shares part of the memory written to (``x += x[0]``,
    ``m *= m.T``; the very same view, strides and all, is fine: ``x += x``), as far as it can
    tell (``_overlap``). ``region``: the array actually written (a basic-index slice), when it
    is not all of ``target``; ``same_ok`` False: even the very same memory is refused (a
    gather index: ``x[idx] = x``)."""
    a = target.array
    if a.size == 0:
        return
    written = a if region is None else region
    if written.size == 0:
        return
    if not internal_ok and _is_expanded(written):
        raise RuntimeError(f"{name}: unsupported operation: more than one element of the "
                           f"written-to tensor refers to a single memory location (an "
                           f"expanded tensor of shape {target.shape}); write to a .clone()")
    for source in sources:   # Tensors, or raw arrays (what a setitem copies from)
        array = source.array if isinstance(source, Tensor) else source
        if not hasattr(array, "strides") or array.size == 0:
            continue
        # the very same tensor is a full overlap whatever its strides (PyTorch compares the
        # tensors themselves before it looks at their memory: x[idx] = x with x a strided
        # view is refused too)
        overlap = "full" if source is target else _overlap(written, array)
        if overlap == "partial" or (overlap == "full" and not same_ok):
            raise RuntimeError(f"{name}: unsupported operation: some elements of the input "
                               f"tensor (shape {array.shape}) and the written-to tensor (shape "
                               f"{target.shape}) refer to a single memory location; pass a "
                               f".clone() of the input")
        if overlap == "too hard" and (name != "setitem" or region is not None) \
                and _shares_elements(written, array) \
                and _reads_a_written_element(written, array, name in ("setitem", "copy_")):
            # PyTorch does not check these, and writes element by element in its own order:
            # an element read after it was written gives a value tinygan cannot reproduce.
            # (An advanced-index write, x[idx] = v, is left alone: tinygan has always read
            # all of v first there, and the tester found no program where PyTorch differs.)
            raise RuntimeError(f"{name}: the input (shape {array.shape}) reads memory that the "
                               f"written-to tensor (shape {written.shape}) writes, and neither "
                               f"is one dense block: PyTorch's result then depends on the "
                               f"order it writes the elements, which tinygan does not copy; "
                               f"pass a .clone() of the input")


def _element_addresses(a: Any) -> np.ndarray:
    """The memory address of each element of ``a``: an int64 array of its shape."""
    at = np.full(tuple(a.shape), _address(a), dtype=np.int64)
    for d, (n, step) in enumerate(zip(a.shape, a.strides)):
        at += (np.arange(n, dtype=np.int64) * step).reshape((-1,) + (1,) * (a.ndim - d - 1))
    return at


def check_gather_write_order(name: str, target: Tensor, raw_index: Any, value: Any) -> None:
    """``x[idx] = v`` where v reads memory that the write changes (v a view of x's base;
    neither a dense block, or PyTorch's overlap check would have spoken): PyTorch's
    index_put_ reads v element by element as it writes, so an element of v read after
    another position wrote it gives the new value, in an order tinygan does not copy.
    Refused there, saying to clone; where each element of v reads only memory no other
    position writes (or its own), any order gives one answer, and the write runs.
    ``raw_index``: the index with arrays for tensors (NumPy's rules pick the positions)."""
    if not isinstance(value, Tensor) or value.array.size == 0 or target.array.size == 0:
        return
    if not _shares_elements(target.array, value.array):
        return
    try:
        index = raw_index if isinstance(raw_index, tuple) else (raw_index,)
        index = tuple(backend.to_numpy(i) if hasattr(i, "shape") else i for i in index)
        written = _element_addresses(target.array)[index]
        read = np.broadcast_to(_element_addresses(value.array), written.shape)
    except (IndexError, ValueError):   # index_put itself says what is wrong
        return
    if bool((np.isin(read, written) & (read != written)).any()):
        raise RuntimeError(f"{name}: the value (shape {tuple(value.shape)}) reads memory that "
                           f"the indexed write into a tensor of shape {target.shape} changes: "
                           f"PyTorch's result then depends on the order it writes the "
                           f"elements, which tinygan does not copy; pass a .clone() of the "
                           f"value")


class Overwrite(Function):
    """The new values of ``t.copy_(src)`` or ``t.fill_(v)``, as a node of the graph: the old
    values are gone, so their gradient is 0 (PyTorch's CopyBackwards), and the new values
    get the incoming one. (Written as old * 0 + new, a NaN or inf among the old values
    would survive into the new ones: 0 * inf is NaN.)"""
    def saves(self): return ()
    def forward(self, old, new): return new.copy()

    def backward(self, gy):
        old = self.inputs[0]
        return Tensor(backend.get_array_module(gy.array).zeros(old.shape, old.dtype)), gy


class _ZeroLink(Function):
    """A copy of its first input that is also a function of the others, with derivative 0
    (zeros, or None: no gradient at all) with respect to them: how a gradient joins the
    inputs of a one-node backward."""
    efficient_zero_passes = (0,)
    def __init__(self, zeros: bool, efficient: bool = False):
        self.zeros, self.efficient = zeros, efficient
    def saves(self): return ()
    def forward(self, value, *sources): return value.copy()

    def backward(self, gy):
        xp = backend.get_array_module(gy.array)
        return (gy,) + tuple(_zeros(s.shape, s.dtype, xp, self.efficient) if self.zeros
                             else None for s in self.inputs[1:])


class KernelValue(Function):
    """A Tensor op's result with its values replaced by ``value`` (equal but for the last
    bits, e.g. a kernel's in PyTorch's order of arithmetic): the values are PyTorch's, the
    graph is the op's, so derivatives of it still follow."""
    efficient_zero_passes = (0,)
    def __init__(self, value: Any) -> None: self.value = value
    def saves(self): return ()
    def forward(self, t): return self.value
    def backward(self, gy): return gy


def _zeros(shape: tuple, dtype: Any, xp: Any, efficient: bool) -> Tensor:
    zeros = Tensor(xp.zeros(shape, dtype))
    zeros._efficient_zero = efficient
    return zeros


def _efficient_zeros(fn: Function, g_out: Tensor, input_grads: tuple) -> tuple:
    """The gradients ``fn`` gives its inputs when the one it receives is an efficient zero.

    PyTorch's derivative of sgn(x) is not a tensor of zeros but a ZeroTensor: a zero that
    its mul, div and views pass on as a ZeroTensor without computing, so 0 * inf stays 0
    (a second derivative through abs(x / 0) is 0 there, where plain zeros give NaN). Other
    ops (mm, mean, tanh's and sigmoid's backward) make it a tensor of zeros first and
    compute. Here the
    backward has run on zeros; for the inputs ``fn.efficient_zero_passes`` names, its
    result is replaced by zeros: efficient ones again, or plain ones where an elementwise
    op's input was broadcast (PyTorch sums the gradient back to its shape: a computed sum)."""
    out = list(input_grads)
    for i in (*fn.efficient_zero_passes, *fn.efficient_zero_as_zeros):
        if i < len(out) and out[i] is not None:
            efficient = i in fn.efficient_zero_passes and not (
                fn.elementwise and fn.inputs[i].shape != g_out.shape)
            out[i] = _zeros(out[i].shape, out[i].dtype,
                            backend.get_array_module(out[i].array), efficient)
    return tuple(out)


def _added(a: Tensor, b: Tensor) -> Tensor:
    """Two gradients of one node, summed; two efficient zeros stay one (PyTorch's add)."""
    return a if a._efficient_zero and b._efficient_zero else a + b


def _as_one_node(fn: Function, g_out: Tensor, input_grads: tuple) -> tuple:
    """The gradients of ``fn`` as PyTorch's one-node backward gives them: each one requires
    grad when the incoming gradient or an input the node reads does (a weight's gradient for
    a constant image does, in PyTorch), so requires_grad and a later grad() of it agree."""
    sources = [t for t in (g_out, *(fn.inputs[i] for i in fn.backward_reads
                                    if i < len(fn.inputs))) if t.requires_grad]
    if not sources:
        return input_grads
    zeros = fn.backward_reads_give_zeros   # a Function is one node: a new link for each
    efficient = fn.backward_zeros_are_efficient
    if fn.backward_links_every_read:        # (a gradient already in a graph gets linked too)
        return tuple(g if g is None else _ZeroLink(zeros, efficient)(g, *sources)
                     for g in input_grads)
    return tuple(g if g is None or g.requires_grad else
                 _ZeroLink(zeros, efficient)(g, *sources) for g in input_grads)


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False,
         only_inputs: bool = True) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not stored in .grad).

    With ``create_graph=True`` the gradients carry a graph of their own, so a function of
    them (a gradient penalty, say) can itself be differentiated. The graph counts as used
    afterwards unless ``retain_graph`` (default: ``create_graph``) is True.
    ``only_inputs`` is accepted for old PyTorch scripts and has no effect (as in PyTorch).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad(): input {i} (shape {t.shape}) does not require grad; "
                               f"create it with requires_grad=True or call "
                               f".requires_grad_() on it before the forward pass")
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    gs = []
    for out, g in zip(outputs, grad_outputs):
        if not out.requires_grad:
            raise RuntimeError("grad(): an output does not require grad (no input of it had "
                               "requires_grad=True, or it was computed under no_grad())")
        if g is None:
            if out.array.size != 1:
                raise RuntimeError(f"grad(): output of shape {out.shape} is not a scalar; "
                                   f"pass grad_outputs of the same shape")
            g = backend.get_array_module(out.array).ones_like(out.array)
        gs.append(_as_grad(g, out))
    found = _run_backward(outputs, gs, inputs, create_graph, retain_graph)
    result = []
    for i, t in enumerate(inputs):
        g = None if t._made_without_grad else found.get(t)   # see Function.__call__
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {t.shape}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------
def _to_array(data: Any, dtype: Any) -> Any:
    """The raw array a new Tensor holds: an op's result as it is, anything else converted
    (Python floats and lists become float32, the default; Python ints int64; bools bool)."""
    if isinstance(data, Tensor):
        data = data.array
    if type(data) is np.ndarray and dtype is None:
        return data  # the common case (an op's result): kept as it is, no checks
    _refuse_non_numbers(data)
    if dtype is None and not hasattr(data, "dtype"):
        kind = _python_kind(data)
        dtype = {"b": np.bool_, "i": np.int64}.get(kind, backend.DEFAULT_DTYPE)
    elif not hasattr(data, "dtype") and np.dtype(dtype).kind in "iu":
        data = checked_integers(data, np.dtype(dtype))
    return backend.asarray(data, dtype)  # Python lists and numbers: the default device


class _NotGiven:
    """The default of an argument whose absence PyTorch tells apart from None: sum() and
    sum(dim=None, keepdim=True) are two of its overloads, sort(dim=None) is refused."""
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


def number_argument(op: str, name: str, value: Any) -> Any:
    """An argument PyTorch types as a number (a Scalar: alpha, a fill value, correction):
    a Python number as it is, a 0-d tensor that does not require grad as its ``.item()``
    (PyTorch's parser reads one so), anything else refused with PyTorch's TypeError."""
    if isinstance(value, Tensor):
        if value.ndim or value.requires_grad:
            raise TypeError(f"{op}(): argument '{name}' must be Number, not Tensor (shape "
                            f"{tuple(value.shape)}, requires_grad={value.requires_grad}): "
                            f"pass a Python number, e.g. t.item()")
        return value.item()
    if isinstance(value, np.generic):
        return value.item()
    if not isinstance(value, (bool, int, float, complex)):
        raise TypeError(f"{op}(): argument '{name}' must be Number, not "
                        f"{type(value).__name__}")
    return value


def checked_scalar(value: Any, dtype: Any, ints_below: int = 2 ** 64) -> Any:
    """One number bound for ``dtype`` by a fill (``fill_``, ``masked_fill_``, ``full``,
    ``x[i] = number``; a 0-d tensor by its ``.item()`` where PyTorch reads it so: not in
    ``fill_``), converted as PyTorch's
    Scalar::to does it, with its overflow check: a float must lie within an integer dtype's
    range (NaN never does, -0.9 is below uint8's 0) and is then cut toward zero; an int must
    fit, except that a negative int wraps into an unsigned dtype down to -max (-1 is 255 in
    uint8); a finite float beyond float16's or float32's largest number overflows (inf and
    NaN do not); bool takes anything. A Python int PyTorch cannot unpack (below -2^63, or
    not below ``ints_below``: 2^64 for a Scalar argument, 2^63 for x[i] = n) raises first.
    Returns the value for NumPy to write (a NumPy scalar of ``dtype`` for the integer
    dtypes), or raises PyTorch's error."""
    dtype = np.dtype(dtype)
    if not isinstance(value, (Tensor, int, float, np.number, np.bool_)):
        return value   # (lists and arrays: the caller's own conversion)
    if isinstance(value, Tensor):
        if value.ndim:
            raise TypeError(f"a fill value must be a number or a 0-d tensor, not a tensor of "
                            f"shape {tuple(value.shape)}: write t.item() or t[0]")
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool) and \
            not -2 ** 63 <= value < ints_below:
        raise RuntimeError(f"Overflow when unpacking long: {value} does not fit a 64-bit "
                           f"integer")
    if dtype.kind == "b":
        return bool(value)   # nonzero (NaN too) is True, however small or large
    if isinstance(value, (bool, np.bool_)):
        return value
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        if isinstance(value, (int, np.integer)):   # compared exactly, as integers
            v = int(value)
            fits = (-info.max <= v <= info.max) if info.min == 0 else info.min <= v <= info.max
            converted = (lambda: np.array(v, dtype=np.int64).astype(dtype)[()])
        else:   # compared as doubles: C++ turns the limits into doubles
            v = float(value)
            fits = v == v and float(info.min) <= v <= float(info.max)
            converted = (lambda: np.array(v).astype(dtype)[()])
        if fits:
            with np.errstate(invalid="ignore", over="ignore"):
                return converted()
    elif dtype.kind == "f" and dtype.itemsize < 8:
        try:
            v = float(value)
        except OverflowError:   # an int too large even for a double
            v = None
        if v is not None and (v != v or abs(v) <= float(np.finfo(dtype).max)
                              or abs(v) == float("inf")):
            return v
    else:
        return float(value) if isinstance(value, int) else value   # (2^63 is a float64 too)
    raise RuntimeError(f"value cannot be converted to type {dtype} without overflow: "
                       f"{value!r}")


def checked_integers(data: Any, dtype: np.dtype) -> Any:
    """Python numbers bound for an integer dtype, converted as PyTorch's checked_convert
    does, each by its own type: a float is cut toward zero but must lie within the dtype's
    range (NaN and inf never do), an int must fit, except that a negative int wraps into an
    unsigned dtype down to -max (-1 is 255 in uint8). Anything else raises PyTorch's
    overflow error. Returns an array of ``dtype`` (or ``data`` itself if it is not a
    rectangular nest of numbers: the caller's conversion then says what is wrong)."""
    kind = _python_kind(data)
    if kind == "b":
        return data
    info = np.iinfo(dtype)
    try:
        values = np.asarray(data, dtype=np.float64 if kind == "f" else np.int64)
        floats = np.asarray(_leaves_are_floats(data), dtype=bool) if kind == "f" else \
            np.zeros(values.shape, dtype=bool)
    except (ValueError, TypeError, OverflowError):
        return data
    with np.errstate(invalid="ignore"):
        fits = (values >= info.min) & (values <= info.max)
        if info.min == 0:   # a negative int wraps, down to -max
            fits |= ~floats & (values < 0) & (values >= -float(info.max))
    if not fits.all():
        raise RuntimeError(f"value cannot be converted to type {dtype} without overflow: "
                           f"{values[~fits].reshape(-1)[0]!r}")
    ints = np.asarray(data, dtype=object) if kind == "f" else values
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "f":   # whole numbers exactly (a float64 holds an int64 only to 2^53)
            exact = np.where(floats, 0, ints).astype(np.int64)
            return np.where(floats, values.astype(np.int64), exact).astype(dtype)
        return values.astype(dtype)


def _leaves_are_floats(data: Any) -> Any:
    """The nest of ``data`` with True where a leaf is a Python (or NumPy) float."""
    if isinstance(data, (list, tuple)):
        return [_leaves_are_floats(d) for d in data]
    return isinstance(data, (float, np.floating))


def _python_kind(data: Any) -> str:
    """'b' if every leaf of a nested list is a bool, 'i' if all are ints, else 'f'."""
    if isinstance(data, (bool, np.bool_)):
        return "b"
    if isinstance(data, (int, np.integer)):
        return "i"
    if isinstance(data, (list, tuple)) and data:
        kinds = {_python_kind(d) for d in data}
        return kinds.pop() if len(kinds) == 1 else ("f" if "f" in kinds else "i")
    return "f"


def _refuse_non_numbers(data: Any) -> None:
    """tensor(None) or tensor("1.5") is a mistake, not NaN or 1.5 (PyTorch refuses both)."""
    if data is None or isinstance(data, (str, bytes)):
        raise TypeError(f"tensor(): cannot make a tensor from {data!r} ({type(data).__name__});"
                        f" give numbers, nested lists of numbers, or an array")
    if isinstance(data, (list, tuple)):
        for d in data:
            _refuse_non_numbers(d)
    elif getattr(data, "dtype", None) is not None and data.dtype.kind in "OUS":
        raise TypeError(f"tensor(): cannot make a tensor from an array of dtype {data.dtype}")


_PYTHON_DATA = (list, tuple, str, bytes, dict, set, type(None))


def check_operands(op: str, a: Any, b: Any) -> None:
    """PyTorch's binary ops take tensors and numbers; Python data (a list, a tuple), None
    or a string is refused, as there: ``x.add([1.0])`` is a TypeError, not a broadcast."""
    for name, value in (("input", a), ("other", b)):
        if isinstance(value, _PYTHON_DATA):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor or a number, not "
                            f"{type(value).__name__}; make it a tensor first: "
                            f"tinygan.tensor(...)")


def _as_tensor(x: Any, like: Sequence[Any] = ()) -> Tensor:
    """Turn a Python number or array into a constant Tensor matching its Tensor siblings
    (same array module and float dtype, so 2.0 * float32 stays float32)."""
    if isinstance(x, Tensor):
        return x
    ref = next((t for t in like if isinstance(t, Tensor)), None)
    if ref is None:
        return Tensor(x)
    xp = backend.get_array_module(ref.array)
    if isinstance(x, (int, float, bool, np.number)):
        dtype = np.dtype(_scalar_dtype(x, ref.dtype))
        if dtype.kind in "iu" and not isinstance(x, (bool, np.bool_)):
            # an int wraps into a narrow int dtype as in PyTorch (-2 is 254 for uint8);
            # NumPy refuses it
            return Tensor(xp.asarray(np.array(int(x), dtype=np.int64).astype(dtype)))
        return Tensor(xp.asarray(x, dtype=dtype))
    if isinstance(x, _PYTHON_DATA):   # (PyTorch makes no tensor from a list beside one)
        raise TypeError(f"expected a Tensor or a number, not {type(x).__name__}; make it a "
                        f"tensor first: tinygan.tensor(...)")
    if backend.get_array_module(x) is not xp:
        raise RuntimeError(f"cannot mix an array on {backend.device_of(x)} with a tensor on "
                           f"{ref.device}; move one with .to(...)")
    return Tensor(xp.asarray(x))


_KINDS = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def _scalar_dtype(x: Any, dtype: Any) -> Any:
    """A Python number takes the tensor's dtype unless it is of a higher kind (bool < int <
    float): 2 * float32 is float32, 0.5 * int64 is float32, 1 + bool is int64 (PyTorch)."""
    kind = "b" if isinstance(x, (bool, np.bool_)) else \
        "i" if isinstance(x, (int, np.integer)) else "f"
    if _KINDS[kind] <= _KINDS[np.dtype(dtype).kind]:
        return dtype
    return np.int64 if kind == "i" else backend.DEFAULT_DTYPE


def _check_same_device(fn: Function, tensors: Sequence[Tensor]) -> None:
    if len({type(t.array) for t in tensors}) > 1:  # one array type = one device (cheap test)
        devices = {t.device for t in tensors}
        if len(devices) > 1:
            shapes = ", ".join(f"{t.shape} on {t.device}" for t in tensors)
            raise RuntimeError(f"{fn.name}: tensors on different devices ({shapes}); "
                               f"move them to one device with .to('cpu') or .to('cuda')")


def _as_grad(g: Any, like: Tensor) -> Tensor:
    g = g if isinstance(g, Tensor) else Tensor(backend.get_array_module(like.array).asarray(
        g, dtype=like.dtype))
    if g.shape != like.shape:
        raise RuntimeError(f"gradient of shape {g.shape} given for a tensor of shape "
                           f"{like.shape}; they must match")
    return g


# ---------------------------------------------------------------------------------------
# Helpers of the Tensor's methods
# ---------------------------------------------------------------------------------------
def wrap_dim(dim: int, ndim: int, op: str = "") -> int:
    """A dimension in [-ndim, ndim - 1] as a non-negative index; anything else raises as
    PyTorch does (NumPy would wrap 5 on a 2-D tensor silently)."""
    low, high = (-ndim, ndim - 1) if ndim else (-1, 0)
    if dim.__class__ is not int:   # (an int, or a 0-d integer tensor, as PyTorch's)
        dim = integer(op, "dim", dim)
    if not low <= dim <= high:
        raise IndexError(f"{op}: Dimension out of range (expected to be in range of "
                         f"[{low}, {high}], but got {dim})")
    return int(dim) % ndim if ndim else 0


def _pick(a: Any, b: Any) -> Any:
    return a if b is None else b


def _shape_args(shape: tuple) -> tuple[int, ...]:
    """A size given as f(2, 3) or f((2, 3)); an integer tensor of one element counts as
    its number, as PyTorch reads it (any other tensor is refused)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(_size_entry(n) for n in shape)


def _size_entry(n: Any) -> Any:
    if isinstance(n, Tensor):
        if n.dtype.kind in "iu" and n.numel() == 1:
            return int(n.item())
        raise TypeError(f"a size must be a tuple of ints, not a {n.dtype} Tensor of shape "
                        f"{n.shape}; write its number (t.item())")
    if isinstance(n, (bool, np.bool_, float, np.floating)):   # (NumPy would take 2.0)
        raise TypeError(f"argument 'size' must be tuple of ints, not {type(n).__name__}")
    return n


def _raw(x: Any) -> Any:
    return x.array if isinstance(x, Tensor) else x


_KIND_ORDER = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_type(a: Tensor, b: Tensor) -> Any:
    """PyTorch's promotion for two tensors: the higher kind wins (bool < int < float); of
    one kind, a tensor with dimensions outranks a 0-d one, else the wider dtype wins."""
    ka, kb = _KIND_ORDER[a.dtype.kind], _KIND_ORDER[b.dtype.kind]
    if ka != kb:
        return a.dtype if ka > kb else b.dtype
    if (a.ndim == 0) != (b.ndim == 0):
        return b.dtype if a.ndim == 0 else a.dtype
    return np.promote_types(a.dtype, b.dtype)


def _promote(a: Any, b: Any) -> Any:
    """PyTorch's promote_types: of two categories (bool < int < float) the higher's dtype
    (int64 with float16 is float16, where NumPy says float64); of one, the wider."""
    if a is None or b is None:
        return b if a is None else a
    ka, kb = _KIND_ORDER[np.dtype(a).kind], _KIND_ORDER[np.dtype(b).kind]
    if ka != kb:
        return np.dtype(a if ka > kb else b)
    return np.promote_types(a, b)


def result_type_of(*tensors: Tensor) -> Any:
    """PyTorch's result type of several tensors (clamp's x and its two bounds): the
    dimensioned ones promoted together, the 0-d ones together, then the 0-d result counts
    only where it is of a higher category (a float32 0-d bound makes a uint8 x float32; a
    float64 one leaves a float16 x float16)."""
    dimensioned = zero_d = None
    for t in tensors:
        if t.ndim:
            dimensioned = _promote(dimensioned, t.dtype)
        else:
            zero_d = _promote(zero_d, t.dtype)
    if dimensioned is None or zero_d is None:
        return dimensioned if zero_d is None else zero_d
    if dimensioned.kind in "fc":
        return dimensioned
    if dimensioned.kind == "b" or zero_d.kind in "fc":
        return _promote(dimensioned, zero_d)
    return dimensioned


_COMPARISON_NAMES = {"less": "lt", "less_equal": "le", "greater": "gt", "greater_equal": "ge",
                     "equal": "eq", "not_equal": "ne"}


def _compare(ufunc: Any, a: Tensor, b: Any) -> Tensor:
    """a < b and the like, computed where PyTorch computes them: in the promoted dtype. A
    Python number is converted to it first, as C++ converts: an int into an integer tensor's
    dtype wraps around (-2 is 254 beside uint8), a float beside an integer tensor makes both
    float32 (the default dtype)."""
    check_operands(_COMPARISON_NAMES[ufunc.__name__], a, b)
    xp = backend.get_array_module(a.array)
    left, right = a.array, _raw(b)
    if isinstance(b, Tensor) and a.dtype != b.dtype:   # (a float32 tensor beside a 0-d
        common = result_type(a, b)                     # float64 one compares in float32)
        left, right = left.astype(common, copy=False), right.astype(common, copy=False)
    if isinstance(b, (int, float)) and not isinstance(b, bool) and left.dtype.kind in "biu":
        if isinstance(b, float):
            left, right = left.astype(np.float32), np.float32(b)
        elif left.dtype.kind != "b":
            with np.errstate(over="ignore"):   # (a scalar, not a 0-d array: a NumPy array
                right = np.array(b).astype(left.dtype)[()]   # beside a device one is refused)
    result = xp.asarray(getattr(xp, ufunc.__name__)(left, right))
    # laid out as PyTorch's, whose operands are a and b (a number as a 0-d tensor)
    operands = [t.array if isinstance(t, Tensor) else np.empty(()) for t in (a, b)]
    return Tensor(as_elementwise_result(result, operands))


def _arg(t: Tensor, dim: Any, keepdim: bool, name: str, bool_ok: bool = False) -> Tensor:
    keepdim = flag(name, "keepdim", keepdim)
    xp = backend.get_array_module(t.array)
    if t.dtype == np.bool_ and not bool_ok:   # max(dim)/min(dim) of a bool tensor are fine
        raise RuntimeError(f"{name}(): does not support bool input (shape {t.shape}); "
                           f"convert it first, e.g. .long()")
    if dim is None:
        if keepdim:   # no dim, keepdim: every dimension kept as 1 (PyTorch)
            return Tensor(xp.asarray(getattr(t.array, name)(), dtype=np.int64).reshape(
                (1,) * t.ndim))
        return Tensor(xp.asarray(getattr(t.array, name)(), dtype=np.int64))
    d = wrap_dim(dim, t.ndim, name)
    if t.ndim == 0:   # a 0-d tensor: its one element is at index 0, and it stays 0-d
        return Tensor(xp.zeros((), dtype=np.int64))
    out = row_major(xp.asarray(getattr(t.array, name)(axis=d), dtype=np.int64))
    return Tensor(xp.expand_dims(out, d) if keepdim else out)


def _tensors(op: str, **arguments: Any) -> None:
    """Arguments PyTorch requires to be tensors (a number there is refused, not broadcast)."""
    for name, value in arguments.items():
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' must be Tensor, not "
                            f"{type(value).__name__}; wrap it: tinygan.tensor({value!r})")


def _old_node(t: Tensor) -> Tensor:
    """``t``'s value before an in-place write, as a graph node of its own: a copy of the
    values (the new op's backward may need them, as PyTorch saves the original self) that
    leads back to the op that made ``t``. That op's own saved output is still ``t``, so if
    its backward reads it, the version check refuses, as in PyTorch."""
    old = Tensor(t.array.copy())
    old.requires_grad, old.creator = t.requires_grad, t.creator
    return old


# ---- writes through views: PyTorch's CopySlices, in plain words --------------------------
# y = x.T; y[0] = v writes into x's memory. For autograd, x is now a new value: "the old x,
# with the part that y covers replaced by the new values". So the write makes x the output
# of one op, CopySlices(old x, new values): its gradient sends the incoming gradient to the
# old x everywhere except the covered part (those old values were overwritten), and the
# covered part of it to the new values. Then y, like every view of x, is cut again from
# the new x (``_refresh_view``), so reading y later leads back through CopySlices too.
def _view_chain(t: Tensor) -> list[Function]:
    """The view ops that cut ``t`` from its base, base first (e.g. [Transpose, GetItem])."""
    chain = []
    while t._view_src is not None and t is not t._base:
        chain.append(t._view_op)
        t = t._view_src
    chain.reverse()
    return chain


def _region(chain: Sequence[Function], array: Any) -> Any:
    """The part of ``array`` (base-shaped) that the chain of views covers, as a NumPy view."""
    for op in chain:
        array = op.forward(array)
    return array


def _replay(chain: Sequence[Function], x: Tensor) -> Tensor:
    """The chain of view ops applied again to ``x``, as graph ops (fresh copies of each)."""
    for op in chain:
        x = copy.copy(op)(x)
    return x


class _Outside(Function):
    """g where ``kept`` holds, 0 in the overwritten region: chosen, not multiplied by 0/1,
    so an inf or NaN gradient reaching the region stays out of the old values' gradient."""
    def __init__(self, kept): self.kept = kept
    def saves(self): return ()
    def forward(self, g): return backend.get_array_module(g).where(self.kept, g, 0)
    def backward(self, gg): return _Outside(self.kept)(gg)


class CopySlices(Function):
    """base' = base with the region a view covers replaced by ``new``."""
    def __init__(self, chain: Sequence[Function]): self.chain = list(chain)
    def saves(self): return ()

    def forward(self, base, new):
        whole = base.copy()
        region = _region(self.chain, whole)
        self.expanded = _is_expanded(region)   # fill_ through an expanded view
        _writable(region, "copy slices")[...] = new
        return whole

    def backward(self, gy):
        if self.expanded:   # which element's gradient would the shared location get?
            raise RuntimeError("CopySlices backward: unsupported operation: more than one "
                               "element of the written-to tensor refers to a single memory "
                               "location (an in-place write through an expanded view); "
                               "clone() the view before writing to it")
        need_base, need_new = self.needs_input_grad
        g_base = g_new = None
        if need_base:   # the old values survive everywhere outside the region
            kept = backend.get_array_module(gy.array).ones(gy.shape, dtype=bool)
            # (through an expand, the region is NumPy's read-only broadcast view; only an
            # empty one gets here, and writing nothing into it must not fail)
            _writable(_region(self.chain, kept), "copy slices")[...] = False
            g_base = _Outside(kept)(gy)
        if need_new:    # the new values are the region: its part of the gradient
            g_new = _replay(self.chain, gy)
        return g_base, g_new


def _write_through_view(view: Tensor, new: Tensor) -> Tensor:
    """``view``'s values become ``new``'s, in the base's memory, and the base becomes the
    output of CopySlices(old base, new) in the graph."""
    base, chain = view._base, _view_chain(view)
    whole = CopySlices(chain)(_old_node(base), new)
    base.array[...] = whole.array   # the view shares this memory: it sees the new values
    view._bump_version()            # one counter for the base and all its views
    if new.creator is not None:     # the op that computed the values (tanh_ through a
        new._version = view._version    # view) keeps them in the view's memory, as
        new.creator._output_version = view._version[0]   # PyTorch: one version counter
    fn = whole.creator
    base.creator, base.requires_grad = fn, True
    fn._output, fn._output_version = weakref.ref(base), base._version[0]
    _refresh_views_of(base)         # this view and every other live view of the base
    return view


def as_result(t: Tensor) -> Tensor:
    """``t`` as an op's own result, where a composite op's last step cut it as a view of an
    intermediate the caller never sees (a batch of one dropped by ``squeeze(0)``, the kept
    dim of max(dim) squeezed out). PyTorch's op returns a tensor of its own: its later views
    are views of it, and ``requires_grad_()``, ``_base`` and in-place writes concern it
    alone. The memory and the version counter stay shared with the intermediate, which
    nothing else can reach now (and whose saved uses must still see a write into ``t``)."""
    if t._base is not None:
        for name in ("_base", "_view_src", "_view_op", "_graph_version", "_multi_output",
                     "_view_made_in_no_grad"):
            t.__dict__.pop(name, None)   # back to the class defaults: not a view
    return t


def _remember_view(base: Tensor, view: Tensor) -> None:
    """Note a new view of ``base`` (weakly: a view nobody holds is freed as usual)."""
    if base._views is None:
        base._views = []
    views = base._views
    if len(views) >= 8:   # drop the dead ones now and then, so the list stays short
        views[:] = [r for r in views if r() is not None]
    views.append(weakref.ref(view))


def _refresh_views_of(base: Tensor) -> None:
    """After an in-place write changed ``base``'s place in the graph, every live view of it
    is cut again from it, so ``view.requires_grad`` and ``view.grad_fn`` are right at once."""
    for ref in base._views or ():
        view = ref()
        if view is not None and not view._multi_output and not (
                view._view_made_in_no_grad and base.requires_grad):   # (those raise when
            _refresh_view(view)                                         # next used)


def _refresh_view(view: Tensor) -> None:
    """Give a view its current place in the graph: cut again from its base as it is now
    (PyTorch regenerates a view's grad_fn the same way after its base changed)."""
    base = view._base
    if not base.requires_grad and view.creator is None:
        return   # nothing to cut yet; PyTorch keeps the view's old version until it is
    if view._multi_output and base.requires_grad:
        _refuse_multi_output("using it", view, "is used after its base or another view of "
                             "its base was modified in place")
    if view._view_made_in_no_grad and base.requires_grad:
        raise RuntimeError(
            f"A view was created in no_grad mode and its base or another view of its base "
            f"has been modified inplace (view shape {view.shape}); its place in the graph is "
            f"then ambiguous, as in PyTorch: make the view and the in-place change both "
            f"inside no_grad() (and do not use the view for gradients), or both outside it")
    view._graph_version = view._version[0]   # (it is cut again once the base requires grad)
    if not base.requires_grad:
        return
    with enable_grad():   # (also when asked for under no_grad: the graph is the base's)
        fresh = _EmptyCut(view.shape)(base) if view.numel() == 0 else \
            _replay(_view_chain(view), base)
    view.creator, view.requires_grad = fresh.creator, fresh.requires_grad
    if fresh.creator is not None:
        fresh.creator._output = weakref.ref(view)
        fresh.creator._output_version = view._version[0]


class _EmptyCut(Function):
    """An empty view cut again from its base. PyTorch regenerates a view as as_strided,
    whose backward gives the base of an empty view plain zeros: a gradient with no graph
    (and with create_graph, one that does not require grad)."""
    def __init__(self, shape: tuple) -> None: self.shape = shape
    def saves(self): return ()
    def forward(self, base): return backend.get_array_module(base).empty(self.shape, base.dtype)
    def backward(self, gy):
        base = self.inputs[0].array
        return Tensor(backend.get_array_module(base).zeros(base.shape, base.dtype))


def _refuse_multi_output(name: str, view: Tensor, what: str) -> None:
    """PyTorch's rule for the pieces of split, chunk and unbind (see engine/pieces.py)."""
    raise RuntimeError(
        f"{name}: a piece of split/chunk/unbind (shape {view.shape}) {what}; the "
        f"output views of a function that returns multiple views cannot be modified in place "
        f"(as in PyTorch). Write the piece as one view (x[a:b]) or .clone() it first")


def _as_result(value: Any, like: Tensor) -> Tensor:
    if isinstance(value, Tensor):
        return value
    xp = backend.get_array_module(like.array)
    return Tensor(xp.asarray(value))


def _generator(generator: Any) -> Any:
    return generator or default_generator()


def parse_to_args(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    """``to("cuda")``, ``to(float64)``, ``to(device, dtype)``, ``to(other_tensor)``."""
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str):
            device = a
        elif isinstance(a, (np.dtype, type)):     # np.float32, x.dtype
            dtype = a
        elif hasattr(a, "type"):                  # tinygan.device("cuda")
            device = a
        elif isinstance(a, (bool, float, complex)):   # PyTorch reads a number as to(other),
            # the number made a 0-d tensor: a float a float64 one, as its C++ makes it
            dtype = {bool: np.bool_, float: np.float64, complex: np.complex128}[type(a)]
        else:
            dtype = a
    return device, dtype
