"""Module: the base class of every layer and model, with PyTorch's interface.

Assigning a Parameter, a Module or a buffer (``register_buffer``) as an attribute registers
it, so ``parameters()``, ``state_dict()``, ``to()`` and ``train()/eval()`` find it by walking
the tree of children. A state_dict maps dotted names ("net.0.weight") to plain arrays, which
is what makes weights portable between tinygan and a PyTorch model of the same shape.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Iterator, Mapping, NamedTuple

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

    def register_buffer(self, name: str, value: Tensor | None, persistent: bool = True) -> None:
        """A tensor that is state but not a parameter (BatchNorm's running mean, say):
        saved in state_dict (unless ``persistent=False``: a cache rebuilt from the rest)
        and moved by to(), never touched by an optimizer."""
        self.__dict__.setdefault("_buffer_names", set()).add(name)
        transient = self.__dict__.setdefault("_non_persistent", set())
        (transient.discard if persistent else transient.add)(name)
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
        """The direct children, each once (one held under two names: its first name)."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:   # (None: model.fc = None)
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo: set | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, "Module"]]:
        """This module and every one below it, depth first, each once (a module shared
        by two parents is listed under its first name, unless ``remove_duplicate=False``)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name,
                                               remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def _named_members(self, table: str, prefix: str, recurse: bool,
                       remove_duplicate: bool) -> Iterator[tuple[str, Any]]:
        """(dotted name, tensor) from each module's ``table`` (_parameters or _buffers);
        a tensor shared by two modules is listed once unless ``remove_duplicate=False``."""
        seen: set[int] = set()
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_name, module in modules:
            for name, t in getattr(module, table).items():
                if t is None or (remove_duplicate and id(t) in seen):
                    continue
                seen.add(id(t))
                yield (f"{mod_name}.{name}" if mod_name else name), t

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The registered buffers (BatchNorm's running statistics ...), as named_buffers."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> "Module":
        """The module at a dotted path ("head.1"); "" is this module."""
        module: Module = self
        for part in target.split(".") if target else []:
            child = module._modules.get(part)
            if child is None:
                raise AttributeError(f"{type(module).__name__} has no attribute `{part}`")
            module = child
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at a dotted path ("head.1.weight")."""
        path, _, name = target.rpartition(".")
        module = self.get_submodule(path)
        if name not in module._parameters:
            raise AttributeError(f"{type(module).__name__} has no parameter `{name}`")
        return module._parameters[name]

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
    def _saved_tensors(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """What state_dict holds, in PyTorch's order (per module, parameters then persistent
        buffers; a module or weight shared by two parents under each of its names)."""
        for name, t in self._parameters.items():
            if t is not None:
                yield prefix + name, t
        transient = self.__dict__.get("_non_persistent", ())
        for name, t in self._buffers.items():
            if t is not None and name not in transient:
                yield prefix + name, t
        for name, child in self._modules.items():
            if child is not None:
                yield from child._saved_tensors(f"{prefix}{name}.")

    def state_dict(self, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Any]":
        """{dotted name: array copy} for every parameter and persistent buffer (into
        ``destination`` when given; ``keep_vars``: the tensors themselves)."""
        state: Any = OrderedDict() if destination is None else destination
        for name, t in self._saved_tensors(prefix):
            state[name] = t if keep_vars else t.array.copy()
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> "IncompatibleKeys":
        """Copy arrays into this module's parameters and buffers, checking names and shapes.
        Accepts NumPy arrays, tinygan Tensors, or anything with .numpy() (torch tensors).
        Returns (missing_keys, unexpected_keys); with ``strict`` either one is an error."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got "
                            f"{type(state_dict).__name__}.")
        own = dict(self._saved_tensors())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        for name, target in own.items():
            if name not in state_dict:
                continue
            value = _to_array(state_dict[name])
            if not (hasattr(value, "shape") and hasattr(value, "dtype")):
                raise TypeError(f"{type(self).__name__}.load_state_dict: '{name}' is a "
                                f"{type(value).__name__}, expected an array or a Tensor")
            if tuple(value.shape) != target.shape:
                errors.append(f"size mismatch for {name}: copying a param with shape "
                              f"{tuple(value.shape)} from checkpoint, the shape in current "
                              f"model is {target.shape}.")
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " +
                              ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:   # PyTorch's message, and nothing copied
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t"
                               + "\n\t".join(errors))
        for name, target in own.items():
            if name in state_dict:
                xp = backend.get_array_module(target.array)
                target.array[...] = xp.asarray(_to_array(state_dict[name]), dtype=target.dtype)
                target._bump_version()   # (in place, as PyTorch's copy_)
        return IncompatibleKeys(missing, unexpected)

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


class IncompatibleKeys(NamedTuple):
    """What load_state_dict returns: the model's keys the dict lacked, and the dict's keys
    the model lacks (``missing, unexpected = model.load_state_dict(sd, strict=False)``)."""
    missing_keys: list
    unexpected_keys: list

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
                f"unexpected_keys={self.unexpected_keys})")


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
