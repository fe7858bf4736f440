"""Module: the base class of every layer and model, with PyTorch's interface.

Assigning a Parameter, a Module or a buffer (``register_buffer``) as an attribute registers
it, so ``parameters()``, ``state_dict()``, ``to()`` and ``train()/eval()`` find it by walking
the tree of children. A state_dict maps dotted names ("net.0.weight") to plain arrays, which
is what makes weights portable between tinygan and a PyTorch model of the same shape.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor import Parameter, Tensor, parse_to_args


class Module:
    """Subclass it, create layers in ``__init__``, compute in ``forward``; call the module."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # ---- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value: Any) -> None:
        """Register Parameters, Modules and buffers, as PyTorch does. Reassigning a name
        keeps its slot (``model.conv1 = Conv2d(...)`` stays first in children(), so
        ``Sequential(*list(model.children())[:-1])`` still drops the last layer), and None
        into a parameter or child slot empties the slot without moving it."""
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 f"assigning attributes")
        params, modules, buffers = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            table = params
        elif isinstance(value, Module):
            table = modules
        elif name in params or name in modules:
            kind = "parameter" if name in params else "child module"
            if value is not None:
                wanted = "nn.Parameter" if name in params else "nn.Module"
                raise TypeError(f"cannot assign '{type(value).__name__}' as {kind} '{name}' "
                                f"({wanted} or None expected)")
            table = params if name in params else modules
        elif name in buffers or name in self.__dict__.get("_buffer_names", ()):
            table = buffers
        else:
            object.__setattr__(self, name, value)
            return
        for other in (params, buffers, modules):
            if other is not table:
                other.pop(name, None)
        table[name] = value                  # an existing key keeps its place in the dict
        self.__dict__.pop(name, None)

    def __getattr__(self, name: str) -> Any:  # only called when normal lookup fails
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value: Tensor | None) -> None:
        """A tensor that is state but not a parameter (BatchNorm's running mean, say):
        saved in state_dict and moved by to(), never touched by an optimizer."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        self._buffers[name] = value

    def register_parameter(self, name: str, value: Parameter | None) -> None:
        self._parameters[name] = value

    def add_module(self, name: str, module: "Module") -> None:
        self._modules[name] = module

    # ---- the call -----------------------------------------------------------------------
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for hook in list(self.__dict__.get("_forward_pre_hooks", {}).values()):
            result = hook(self, args)        # PyTorch's contract: None, or the new inputs
            if result is not None:
                args = result if isinstance(result, tuple) else (result,)
        return self.forward(*args, **kwargs)

    def register_forward_pre_hook(self, hook: Callable[["Module", tuple], Any]
                                  ) -> "RemovableHandle":
        """Call ``hook(module, args)`` before every forward (spectral_norm recomputes the
        weight there). Returns a handle whose ``remove()`` unregisters the hook."""
        hooks = self.__dict__.setdefault("_forward_pre_hooks", OrderedDict())
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    # ---- walking the tree ---------------------------------------------------------------
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        for name, child in self._modules.items():
            if child is not None:              # an emptied slot (model.fc = None)
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, "Module"]]:
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for mod_name, module in self.named_modules(prefix):
            for name, p in module._parameters.items():
                if p is not None and id(p) not in seen:  # shared weights listed once
                    seen.add(id(p))
                    yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        for mod_name, module in self.named_modules():
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self) -> Iterator[Tensor]:
        """The registered buffers (BatchNorm's running statistics ...), as named_buffers."""
        for _, b in self.named_buffers():
            yield b

    def apply(self, fn: Callable[["Module"], None]) -> "Module":
        """Call fn on every submodule (children first), then on self; e.g. weight init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Training mode: BatchNorm uses batch statistics, Dropout drops."""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: BatchNorm uses running statistics, Dropout is the identity."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        from tinygan.optim import zero_grad_of
        for p in self.parameters():
            zero_grad_of(p, set_to_none)

    def requires_grad_(self, mode: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad = mode
        return self

    # ---- devices and dtypes -------------------------------------------------------------
    def to(self, *args: Any, **kwargs: Any) -> "Module":
        """Move every parameter and buffer to a device and/or dtype, in place."""
        device, dtype = parse_to_args(args, kwargs)
        def moved(data: Any) -> Any:
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            return backend.to_device(data, device) if device is not None else data

        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            t.array = moved(t.array)
            t._bump_version()
            if t.grad is not None:  # gradients follow their parameter, as in PyTorch
                t.grad = Tensor(moved(t.grad.array))
        return self

    def share_memory(self) -> "Module":
        """Put every parameter and buffer in shared memory, so processes started with
        tinygan.multiprocessing train one set of weights (Hogwild). CPU only."""
        from tinygan.multiprocessing import share_tensor_
        for t in list(self.parameters()) + [b for _, b in self.named_buffers()]:
            share_tensor_(t)
        return self

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    def float(self) -> "Module":
        return self.to(np.float32)

    def double(self) -> "Module":
        return self.to(np.float64)

    # ---- saving and loading -------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, Any]":
        """{dotted name: array copy} for every parameter and buffer."""
        state: OrderedDict[str, Any] = OrderedDict()
        for mod_name, module in self.named_modules():  # PyTorch's order: per module,
            prefix = f"{mod_name}." if mod_name else ""  # parameters then buffers
            for table in (module._parameters, module._buffers):
                for name, t in table.items():
                    if t is not None:
                        state[prefix + name] = t.array.copy()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> None:
        """Copy arrays into this module's parameters and buffers, checking names and shapes.
        Accepts NumPy arrays, tinygan Tensors, or anything with .numpy() (torch tensors)."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{type(self).__name__}.load_state_dict: expected a dict of "
                            f"{{name: array}}, got {type(state_dict).__name__}")
        own = dict(self.named_parameters())
        own.update(dict(self.named_buffers()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(f"{type(self).__name__}.load_state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = _to_array(state_dict[name])
            if not (hasattr(value, "shape") and hasattr(value, "dtype")):
                raise TypeError(f"{type(self).__name__}.load_state_dict: '{name}' is a "
                                f"{type(value).__name__}, expected an array or a Tensor")
            if tuple(value.shape) != target.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: '{name}' has shape "
                                 f"{tuple(value.shape)} in the state_dict but {target.shape} in "
                                 f"the model")
            xp = backend.get_array_module(target.array)
            target.array[...] = xp.asarray(value, dtype=target.dtype)   # in place, as copy_
            target._bump_version()

    # ---- printing -----------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ")
                 for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


class RemovableHandle:
    """What ``register_forward_pre_hook`` returns: ``handle.remove()`` takes the hook out."""

    _next_id = 0

    def __init__(self, hooks: "OrderedDict[int, Any]") -> None:
        self.hooks, self.id = hooks, RemovableHandle._next_id
        RemovableHandle._next_id += 1

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


def _to_array(value: Any) -> Any:
    if isinstance(value, Tensor):
        return value.array
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch.Tensor
        return value.detach().cpu().numpy()
    return value
