"""Linear: the fully connected layer y = x W^T + b."""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.nn import init
from tinygan.nn.module import Module
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Parameter, Tensor


class Linear(Module):
    """y = x W^T + b.

    x: (N, in_features) -> y: (N, out_features); weight: (out_features, in_features), as in
    PyTorch, so state_dicts move between the two. Initialised like PyTorch's Linear.
    PyTorch's signature, ``Linear(in, out, bias, device, dtype)``; tinygan adds the keyword
    ``generator=`` for the initial draw.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None, *,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature counts must not be negative, got "
                             f"({in_features}, {out_features})")
        self.in_features, self.out_features = in_features, out_features
        xp, dtype = backend.xp(), dtype or backend.DEFAULT_DTYPE
        self.weight = Parameter(xp.empty((out_features, in_features), dtype=dtype))
        self.bias = Parameter(xp.empty(out_features, dtype=dtype)) if bias else None
        init.default_layer_init_(self.weight, self.bias, generator)
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):   # PyTorch: "argument 'input' must be Tensor, not list"
            raise TypeError(f"Linear({self.in_features}, {self.out_features}): the input must "
                            f"be a Tensor, not {type(x).__name__} (wrap it: tinygan.tensor(x))")
        if x.shape and x.shape[-1] != self.in_features:   # a 0-d input: F.linear names it
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got input of "
                             f"shape {x.shape}: expected last dimension {self.in_features}")
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")
