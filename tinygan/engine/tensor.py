"""Tensor and Function: reverse-mode automatic differentiation, the core of tinygan.

A ``Tensor`` wraps a raw array (``.array``: NumPy or CuPy). Every differentiable operation is
a ``Function`` whose ``forward`` works on raw arrays and whose ``backward`` is written with
Tensor operations. Because backward is made of Tensor ops, running it with the graph switched
on records a *new* graph for the gradient itself: that is how ``grad(..., create_graph=True)``
gives second derivatives (the WGAN-GP penalty needs them).

The chain rule, for a scalar loss L and y = f(x):  dL/dx = (dL/dy) * (dy/dx).
``backward`` visits the graph in reverse topological order (found without recursion, so a
10,000-op chain is fine) and sums the contributions that reach each node.

This file is the engine, top to bottom: the switch that turns recording on and off, the
Tensor's state, Function, the backward pass, ``grad``. The conveniences a PyTorch user
expects (``shape``, ``view``, ``sum``, operators, in-place methods, ``.data``) live in
``tensor_api.py``, Tensor's base class.
"""
from __future__ import annotations

import contextlib
import weakref
from typing import Any, Iterator, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor_api import TensorAPI

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
# Tensor: an array that remembers how it was computed
# ---------------------------------------------------------------------------------------
class Tensor(TensorAPI):
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

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.array = _to_array(data, dtype)
        if requires_grad and self.array.dtype.kind != "f":
            raise TypeError(f"only floating-point tensors can require gradients, "
                            f"got dtype {self.array.dtype}")
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self._version = [0]  # a one-element list, so views can share one counter

    def _bump_version(self) -> None:
        """Every in-place change of this tensor's values ends here (optimizer steps,
        BatchNorm's running statistics, ``init.*_``, every ``*_`` method)."""
        self._version[0] += 1

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

    def saves(self) -> Sequence[int]:
        return range(len(self.inputs))

    def __call__(self, *inputs: Any) -> Tensor:
        tensors = tuple(x if isinstance(x, Tensor) else _as_tensor(x, like=inputs)
                        for x in inputs)
        if len(tensors) > 1:
            _check_same_device(self, tensors)
        out = Tensor(self.forward(*(t.array for t in tensors)))
        if self.is_view:
            out._version = tensors[0]._version      # one memory, one counter
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
            self._saved_versions = [(tensors[i], tensors[i]._version[0]) for i in self.saves()]
            self._output_version = out._version[0]
        return out

    @property
    def output(self) -> Tensor:
        """The Tensor this Function produced (for rules like sigmoid' = y (1 - y))."""
        out = self._output()
        if out is None:  # pragma: no cover - only if someone keeps a Function alone
            raise RuntimeError(f"{type(self).__name__}: its output was freed")
        return out

    def check_saved_versions(self) -> None:
        """Refuse to run backward on values changed in place since the forward pass."""
        saved = list(self._saved_versions)
        if self.saves_output:
            saved.append((self.output, self._output_version))
        for t, version in saved:
            if t._version[0] != version:
                role = "its output" if t is self._output() else \
                    f"input {next(i for i, x in enumerate(self.inputs) if x is t)}"
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{t.dtype} tensor of shape {t.shape}], {role} "
                    f"of {type(self).__name__}, is at version {t._version[0]}; expected "
                    f"version {version} instead. Hint: recompute the forward pass after the "
                    f"in-place change (an optimizer step is one), or use .clone()")

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
    has run. (PyTorch also frees a node's saved tensors then; tinygan keeps them until the
    graph is dropped, which spares the allocator a round trip to the operating system.)"""
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
            fn.check_saved_versions()
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
    return backend.asarray(data, dtype)  # Python lists and numbers: the default device


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
        return Tensor(xp.asarray(x, dtype=_scalar_dtype(x, ref.dtype)))
    if isinstance(x, (list, tuple)):  # Python data joins the tensor on its device
        return Tensor(xp.asarray(x, dtype=ref.dtype if ref.dtype.kind == "f" else None))
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
            raise RuntimeError(f"{type(fn).__name__}: tensors on different devices ({shapes}); "
                               f"move them to one device with .to('cpu') or .to('cuda')")


def _as_grad(g: Any, like: Tensor) -> Tensor:
    g = g if isinstance(g, Tensor) else Tensor(backend.get_array_module(like.array).asarray(
        g, dtype=like.dtype))
    if g.shape != like.shape:
        raise RuntimeError(f"gradient of shape {g.shape} given for a tensor of shape "
                           f"{like.shape}; they must match")
    return g
