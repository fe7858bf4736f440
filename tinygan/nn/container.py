"""Sequential: layers applied one after another; children are named "0", "1", ..."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator

from tinygan.nn.module import Module


class Sequential(Module):
    """``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``; also accepts an OrderedDict."""

    def __init__(self, *layers: Any) -> None:
        super().__init__()
        if len(layers) == 1 and isinstance(layers[0], OrderedDict):
            for name, layer in layers[0].items():
                self.add_module(name, layer)
        else:
            for i, layer in enumerate(layers):
                if not isinstance(layer, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(layer).__name__}, "
                                    f"not a Module")
                self.add_module(str(i), layer)

    def forward(self, x: Any) -> Any:
        for layer in self._modules.values():
            x = layer(x)
        return x

    def __getitem__(self, i: int) -> Module:
        layers = list(self._modules.values())
        if isinstance(i, slice):
            return Sequential(*layers[i])
        return layers[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, layer: Module) -> "Sequential":
        self.add_module(str(len(self)), layer)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered ("0.weight", "1.weight", ...)."""

    def __init__(self, modules: Any = ()) -> None:
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), module)
        return self

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())
