"""Tensor and Function: reverse-mode automatic differentiation in one file.

A ``Tensor`` wraps an array (NumPy or CuPy). Every differentiable operation is a ``Function``
whose ``forward`` works on raw arrays and whose ``backward`` is written with Tensor
operations. Because backward is made of Tensor ops, running it with the graph switched on
records a *new* graph for the gradient itself: that is how ``grad(..., create_graph=True)``
gives second derivatives (the WGAN-GP penalty needs them).

The chain rule, for a scalar loss L and y = f(x):  dL/dx = (dL/dy) * (dy/dx).
``backward`` visits the graph in reverse topological order (found without recursion, so a
10,000-op chain is fine) and sums the contributions that reach each node.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

from tinygan import backend

# ---------------------------------------------------------------------------------------
# Switching graph recording on and off
# ---------------------------------------------------------------------------------------
_grad_enabled = True


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
# Tensor
# ---------------------------------------------------------------------------------------
class Tensor:
    """An n-dimensional array that remembers how it was computed.

    data           the raw array (numpy.ndarray or cupy.ndarray)
    requires_grad  whether gradients should flow to this tensor
    grad           after ``loss.backward()``: dloss/dself, a Tensor of the same shape
    creator        the Function that produced it (None for leaves: inputs and parameters)
    """

    __array_priority__ = 1000  # so ndarray (op) Tensor defers to Tensor's reflected op

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if isinstance(data, Tensor):
            data = data.data
        if type(data) is np.ndarray and dtype is None:
            self.data = data  # the common case (an op's result): kept as it is, no checks
        else:
            xp = backend.get_array_module(data)
            if xp is np and not isinstance(data, np.ndarray):
                xp = backend.xp()  # Python lists and scalars go to the active backend
            if dtype is None and not hasattr(data, "dtype"):
                dtype = backend.DEFAULT_DTYPE  # Python floats/lists: float32, not float64
                if _all_ints(data):
                    dtype = np.int64
            self.data = xp.asarray(data, dtype=dtype)
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"got dtype {self.data.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self.name: str | None = None

    # ---- basic facts -------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self) -> str:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    def size(self, dim: int | None = None) -> Any:
        """The shape (PyTorch's name), or one dimension of it."""
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        body = np.array2string(backend.to_numpy(self.data), precision=4, separator=", ",
                               prefix="tensor(")
        extras = ""
        if self.dtype != backend.DEFAULT_DTYPE:
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
        """A NumPy array of the values (copied off the GPU when needed)."""
        return backend.to_numpy(self.data)

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.data.reshape(-1)[0].item()

    def tolist(self) -> Any:
        return self.numpy().tolist()

    def detach(self) -> "Tensor":
        """The same values, cut off from the graph: no gradient flows through it."""
        return Tensor(self.data)

    def requires_grad_(self, mode: bool = True) -> "Tensor":
        self.requires_grad = mode
        return self

    def to(self, *args: Any, **kwargs: Any) -> "Tensor":
        """Move to a device ("cpu"/"cuda") and/or cast to a dtype; differentiable."""
        from tinygan import functional as F
        device, dtype = _parse_to_args(args, kwargs)
        out = self
        if dtype is not None and np.dtype(dtype) != self.dtype:
            out = F.cast(out, dtype)
        if device is not None and backend.normalize_device(device) != out.device:
            out = F.to_device(out, device)
        return out

    def cpu(self) -> "Tensor":
        return self.to("cpu")

    def cuda(self) -> "Tensor":
        return self.to("cuda")

    def float(self) -> "Tensor":
        return self.to(np.float32)

    def double(self) -> "Tensor":
        return self.to(np.float64)

    # ---- autograd ----------------------------------------------------------------------
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
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a scalar output, got shape "
                    f"{self.shape}; pass grad= (same shape) or reduce it first, e.g. .sum()")
            grad = Tensor(backend.get_array_module(self.data).ones_like(self.data))
        grads = _run_backward([self], [_as_grad(grad, self)], None, create_graph, retain_graph)
        for leaf, g in grads.items():
            leaf.grad = g if leaf.grad is None else leaf.grad + g

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

    def __pow__(self, exponent):
        return _F().pow(self, exponent)

    def __rpow__(self, base):
        return _F().exp(_F().mul(self, float(np.log(base))))

    def __getitem__(self, index): return _F().getitem(self, index)

    # Comparisons give plain boolean arrays: they are not differentiable.
    def __lt__(self, other): return self.data < _raw(other)
    def __le__(self, other): return self.data <= _raw(other)
    def __gt__(self, other): return self.data > _raw(other)
    def __ge__(self, other): return self.data >= _raw(other)
    def __eq__(self, other): return self.data == _raw(other)  # type: ignore[override]
    def __ne__(self, other): return self.data != _raw(other)  # type: ignore[override]
    __hash__ = object.__hash__  # tensors are graph nodes: hash by identity

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError("the truth value of a tensor with more than one element is "
                             "ambiguous; use (t > 0).any() or .all() on the comparison")
        return bool(self.data)

    # ---- methods mirroring PyTorch -------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _F().sum(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _F().mean(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def var(self, axis=None, keepdims=False, unbiased=True, *, dim=None, keepdim=None):
        """Variance; unbiased (divides by n - 1) by default, as torch.Tensor.var."""
        return _F().var(self, _pick(axis, dim), _pick(keepdims, keepdim), unbiased)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _F().max(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return _F().min(self, _pick(axis, dim), _pick(keepdims, keepdim))

    def reshape(self, *shape):
        return _F().reshape(self, _shape_args(shape))

    def view(self, *shape):
        return _F().reshape(self, _shape_args(shape))

    def flatten(self, start_dim: int = 0):
        lead = self.shape[:start_dim]
        return _F().reshape(self, lead + (-1,))

    def transpose(self, *axes):
        """No axes: reverse them. Two ints: swap those two (PyTorch). A full order: NumPy."""
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if len(axes) == 2:
            order = list(range(self.ndim))
            a, b = (ax % self.ndim for ax in axes)
            order[a], order[b] = order[b], order[a]
            axes = tuple(order)
        return _F().transpose(self, axes or None)

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _F().transpose(self, axes)

    @property
    def T(self):
        return _F().transpose(self, None)

    def exp(self): return _F().exp(self)
    def log(self): return _F().log(self)
    def sqrt(self): return _F().sqrt(self)
    def abs(self): return _F().abs(self)
    def sigmoid(self): return _F().sigmoid(self)
    def tanh(self): return _F().tanh(self)
    def relu(self): return _F().relu(self)
    def clamp(self, min=None, max=None): return _F().clip(self, min, max)
    clip = clamp

    def squeeze(self, axis=None):
        shape = self.shape
        if axis is None:
            new = tuple(s for s in shape if s != 1)
        else:
            axis %= self.ndim
            new = shape[:axis] + shape[axis + 1:] if shape[axis] == 1 else shape
        return _F().reshape(self, new)

    def unsqueeze(self, axis: int):
        axis = axis % (self.ndim + 1)
        return _F().reshape(self, self.shape[:axis] + (1,) + self.shape[axis:])


class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (requires_grad by default)."""

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


# ---------------------------------------------------------------------------------------
# Function: one node of the graph
# ---------------------------------------------------------------------------------------
class Function:
    """One differentiable operation.

    Subclasses write ``forward(*arrays) -> array`` and ``backward(grad_output) -> grads``,
    the latter in Tensor ops, returning one gradient (or None) per input. Inputs that are
    not Tensors (Python numbers, arrays) become constant Tensors.
    """

    inputs: tuple[Tensor, ...]
    used = False    # set by a backward without retain_graph: a second one is refused

    def __call__(self, *inputs: Any) -> Tensor:
        tensors = tuple(x if isinstance(x, Tensor) else _as_tensor(x, like=inputs)
                        for x in inputs)
        if len(tensors) > 1:
            _check_same_device(self, tensors)
        out = Tensor(self.forward(*(t.data for t in tensors)))
        if _grad_enabled and any(t.requires_grad for t in tensors):
            out.requires_grad = True
            out.creator = self
            self.inputs = tensors
            # which inputs want a gradient (PyTorch's ctx.needs_input_grad): backward can
            # skip the others, e.g. the input gradient of a first layer fed with data
            self.needs_input_grad = tuple(t.requires_grad for t in tensors)
            # a weak reference: the output owns its creator, not the other way round,
            # so graphs are freed by reference counting as soon as the loss is dropped
            self._output = weakref.ref(out)
        return out

    @property
    def output(self) -> Tensor:
        """The Tensor this Function produced (for rules like sigmoid' = y (1 - y))."""
        out = self._output()
        if out is None:  # pragma: no cover - only if someone keeps a Function alone
            raise RuntimeError(f"{type(self).__name__}: its output was freed")
        return out

    def forward(self, *arrays: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> Any:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------
# The backward pass
# ---------------------------------------------------------------------------------------
def _topological_order(roots: Sequence[Tensor]) -> list[Tensor]:
    """Every non-leaf tensor reachable from ``roots``, each after all tensors that use it.

    An iterative depth-first search (an explicit stack instead of recursion), so a chain of
    any length works. Returned in the order backward must visit them.
    """
    order: list[Tensor] = []
    visited: set[int] = set()
    stack: list[tuple[Tensor, bool]] = [(r, False) for r in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        if id(node) in visited or node.creator is None:
            continue
        visited.add(id(node))
        stack.append((node, True))
        if node.creator.used:
            raise RuntimeError(
                f"backward through a graph a second time ({type(node.creator).__name__} "
                f"node): the first backward already used it. Recompute the forward pass, or "
                f"pass retain_graph=True to the first backward")
        for parent in node.creator.inputs:
            if parent.creator is not None and id(parent) not in visited:
                stack.append((parent, False))
    order.reverse()  # outputs first, then what they were made from
    return order


def _run_backward(outputs: Sequence[Tensor], grad_outputs: Sequence[Tensor],
                  wanted: Sequence[Tensor] | None, create_graph: bool,
                  retain_graph: bool | None = None) -> dict[Tensor, Tensor]:
    """Propagate ``grad_outputs`` back; return {tensor: gradient} for ``wanted`` tensors
    (or for every leaf that requires grad when ``wanted`` is None). Without
    ``retain_graph`` (default: ``create_graph``) each node is marked used once its backward
    has run.

    PyTorch also frees a node's saved tensors at that point. tinygan keeps them until the
    graph itself is dropped: freed in the middle of a backward pass, NumPy's memory went
    back to the operating system and was faulted in again by the next step (a DCGAN step
    took 19,000 page faults and 20% longer)."""
    if retain_graph is None:
        retain_graph = create_graph
    grads: dict[int, Tensor] = {}
    for out, g in zip(outputs, grad_outputs):
        grads[id(out)] = grads[id(out)] + g if id(out) in grads else g
    wanted_ids = None if wanted is None else {id(t) for t in wanted}
    found: dict[Tensor, Tensor] = {}

    with set_grad_enabled(create_graph):
        for node in _topological_order(outputs):
            g_out = grads.pop(id(node), None)
            if g_out is None:
                continue
            if wanted_ids is not None and id(node) in wanted_ids:
                found[node] = g_out
            fn = node.creator
            input_grads = fn.backward(g_out)
            if not retain_graph:
                fn.used = True
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for parent, g in zip(fn.inputs, input_grads):
                if g is None or not parent.requires_grad:
                    continue
                key = id(parent)
                grads[key] = grads[key] + g if key in grads else g
                if parent.creator is None:  # a leaf: nothing further up
                    if wanted_ids is None or key in wanted_ids:
                        found[parent] = grads[key]
        # outputs that are themselves wanted leaves
        for out in outputs:
            if out.creator is None and id(out) in grads and (
                    wanted_ids is None or id(out) in wanted_ids):
                found[out] = grads[id(out)]
    return found


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned (not stored in .grad).

    With ``create_graph=True`` the gradients carry a graph of their own, so a function of
    them (a gradient penalty, say) can itself be differentiated. The graph counts as used
    afterwards unless ``retain_graph`` (default: ``create_graph``) is True.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
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
            if out.data.size != 1:
                raise RuntimeError(f"grad(): output of shape {out.shape} is not a scalar; "
                                   f"pass grad_outputs of the same shape")
            g = Tensor(backend.get_array_module(out.data).ones_like(out.data))
        gs.append(_as_grad(g, out))
    found = _run_backward(outputs, gs, inputs, create_graph, retain_graph)
    result = []
    for i, t in enumerate(inputs):
        g = found.get(t)
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
_functional = None


def _F():
    """tinygan.functional (imported on first use: it imports this module)."""
    global _functional
    if _functional is None:
        from tinygan import functional
        _functional = functional
    return _functional


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _pick(a: Any, b: Any) -> Any:
    return a if b is None else b


def _all_ints(data: Any) -> bool:
    if isinstance(data, bool):
        return False
    if isinstance(data, (int, np.integer)):
        return True
    if isinstance(data, (list, tuple)) and data:
        return all(_all_ints(d) for d in data)
    return False


def _shape_args(shape: tuple) -> tuple[int, ...]:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _as_tensor(x: Any, like: Sequence[Any] = ()) -> Tensor:
    """Turn a Python number or array into a constant Tensor matching its Tensor siblings
    (same array module and float dtype, so 2.0 * float32 stays float32)."""
    if isinstance(x, Tensor):
        return x
    ref = next((t for t in like if isinstance(t, Tensor)), None)
    if ref is None:
        return Tensor(x)
    xp = backend.get_array_module(ref.data)
    if isinstance(x, (int, float, bool, np.number)):
        return Tensor(xp.asarray(x, dtype=ref.dtype))
    if backend.get_array_module(x) is not xp:
        raise RuntimeError(f"cannot mix an array on {backend.device_of(x)} with a tensor on "
                           f"{ref.device}; move one with .to(...)")
    return Tensor(xp.asarray(x))


def _check_same_device(fn: Function, tensors: Sequence[Tensor]) -> None:
    if len({type(t.data) for t in tensors}) > 1:  # one array type = one device (cheap test)
        devices = {t.device for t in tensors}
        if len(devices) > 1:
            shapes = ", ".join(f"{t.shape} on {t.device}" for t in tensors)
            raise RuntimeError(f"{type(fn).__name__}: tensors on different devices ({shapes}); "
                               f"move them to one device with .to('cpu') or .to('cuda')")


def _as_grad(g: Any, like: Tensor) -> Tensor:
    g = g if isinstance(g, Tensor) else Tensor(backend.get_array_module(like.data).asarray(
        g, dtype=like.dtype))
    if g.shape != like.shape:
        raise RuntimeError(f"gradient of shape {g.shape} given for a tensor of shape "
                           f"{like.shape}; they must match")
    return g


def _parse_to_args(args: tuple, kwargs: dict) -> tuple[Any, Any]:
    device = kwargs.get("device")
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, str) or hasattr(a, "type"):
            device = a
        else:
            dtype = a
    return device, dtype


def tensors_of(items: Iterable[Any]) -> list[Tensor]:
    return [t for t in items if isinstance(t, Tensor)]
