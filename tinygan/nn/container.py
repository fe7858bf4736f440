"""Containers: Sequential (layers applied one after another), ModuleList and ModuleDict
(modules held in a list or a dict, their parameters registered under their index or key:
"0.weight", "encoder.weight"). Each behaves as PyTorch's, the list and dict operations
included, so model code that builds its layers in loops runs unchanged."""
from __future__ import annotations

import operator
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Mapping

from tinygan.nn.module import Module


def _module(owner: str, value: Any, where: Any) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{owner}: {where} is a {type(value).__name__}, not a Module")
    return value


def _position(owner: str, i: Any, size: int) -> int:
    """An index into ``size`` items, negative ones counted from the end."""
    i = operator.index(i)
    if not -size <= i < size:
        raise IndexError(f"index {i} is out of range ({owner} of {size} modules)")
    return i % size


def _renumber(owner: Module, modules: list[Module]) -> None:
    """The children become ``modules``, named "0", "1", ... in order."""
    owner._modules.clear()
    owner._modules.update((str(k), m) for k, m in enumerate(modules))


def _shift_up(owner: Module, index: int, module: Module) -> None:
    """PyTorch's insert: each child from the last down to ``index`` moves to the next
    number ("2" -> "3"), then ``module`` takes number ``index``. A child without a number
    on the way (a named layer, or a negative index) is a KeyError, as there."""
    table = owner._modules
    for i in range(len(table), index, -1):
        if str(i - 1) not in table:
            raise KeyError(str(i - 1))
        table[str(i)] = table[str(i - 1)]
    table[str(index)] = module


class Sequential(Module):
    """``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``; also accepts an OrderedDict of
    named layers. Indexing gives a layer, slicing a Sequential of the same layers (names
    kept)."""

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for name, layer in layers[0].items():
                self.add_module(name, layer)
        else:
            for i, layer in enumerate(layers):
                self.add_module(str(i), _module("Sequential", layer, f"argument {i}"))

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, i: int | slice) -> Module:
        if isinstance(i, slice):
            return Sequential(OrderedDict(list(self._modules.items())[i]))
        return list(self._modules.values())[_position("Sequential", i, len(self))]

    def __setitem__(self, i: int, layer: Module) -> None:
        key = list(self._modules)[_position("Sequential", i, len(self))]
        self.add_module(key, _module("Sequential", layer, "the value"))

    def __delitem__(self, i: int | slice) -> None:
        keys = list(self._modules)
        for key in (keys[i] if isinstance(i, slice) else
                    [keys[_position("Sequential", i, len(self))]]):
            del self._modules[key]
        _renumber(self, list(self._modules.values()))   # PyTorch: "0", "1", ... again

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, layer: Module) -> "Sequential":
        self.add_module(str(len(self)), _module("Sequential", layer, "the value"))
        return self

    def __add__(self, other: "Sequential") -> "Sequential":
        return Sequential(*self).__iadd__(other)

    def __iadd__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise ValueError(f"add operator supports only objects of Sequential class, but "
                             f"{type(other).__name__} is given.")
        for layer in list(other):
            self.append(layer)
        return self

    def extend(self, layers: Iterable[Module]) -> "Sequential":
        for layer in layers:
            self.append(layer)
        return self

    def insert(self, index: int, layer: Module) -> "Sequential":
        """Put ``layer`` before position ``index`` (negative: from the end), moving the
        numbered layers after it up by one, as PyTorch does."""
        _module("Sequential", layer, "the value")
        n = len(self)
        if not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        _shift_up(self, index + n if index < 0 else index, layer)
        return self

    def pop(self, index: int | slice) -> Module:
        layer = self[index]
        del self[index]
        return layer

class ModuleList(Module):
    """A list of modules whose parameters are registered ("0.weight", "1.weight", ...).
    It has no forward: the model that holds it decides how the modules are used."""

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), _module("ModuleList", module, "the value"))
        return self

    def extend(self, modules: Iterable[Module]) -> "ModuleList":
        if isinstance(modules, Module) and not isinstance(modules, (ModuleList, Sequential)):
            raise TypeError(f"ModuleList.extend should be called with an iterable, but got "
                            f"{type(modules).__name__}")
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Put ``module`` before position ``index`` (0 <= index; PyTorch's own steps, so a
        negative index fails there as here)."""
        _shift_up(self, index, _module("ModuleList", module, "the value"))

    def pop(self, index: int | slice = -1) -> Module:
        item = self[index]
        del self[index]
        return item

    # PyTorch's ModuleList finds a child by the number its index names ("2" for index 2 or
    # -1 of 3), not by position: after an insert past the end the two can differ, and a
    # missing number is its KeyError (get) or AttributeError (delete) here too
    def _key(self, i: int) -> str:
        return str(_position("ModuleList", i, len(self)))

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return ModuleList(list(self._modules.values())[i])
        return self._modules[self._key(i)]

    def __setitem__(self, i: int, module: Module) -> None:
        self.add_module(self._key(i), _module("ModuleList", module, "the value"))

    def __delitem__(self, i: int | slice) -> None:
        keys = [str(k) for k in range(len(self))[i]] if isinstance(i, slice) else [self._key(i)]
        for key in keys:
            if key not in self._modules:
                raise AttributeError(f"'ModuleList' has no child {key!r}")
            del self._modules[key]
        _renumber(self, list(self._modules.values()))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> "ModuleList":
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> "ModuleList":
        return ModuleList(list(self) + list(other))


class ModuleDict(Module):
    """A dict of modules whose parameters are registered under their keys
    ("encoder.weight"); keys keep the order they were added in."""

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None
                 = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str):
            raise TypeError(f"ModuleDict: module name should be a string, got "
                            f"{type(key).__name__}")
        self.add_module(key, _module("ModuleDict", module, f"the value for {key!r}"))

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> Iterable[str]:
        return self._modules.keys()

    def values(self) -> Iterable[Module]:
        return self._modules.values()

    def items(self) -> Iterable[tuple[str, Module]]:
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for k, pair in enumerate(pairs):
            if isinstance(modules, Mapping):
                key, module = pair
            else:
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    raise ValueError(f"ModuleDict update sequence element #{k} should be a "
                                     f"(name, module) pair, got {pair!r}")
                key, module = pair
            self[key] = module
