"""Making tensors: the factory functions a PyTorch user reaches for (tensor, zeros, randn...).

Random factories draw from a ``tinygan.Generator`` (``generator=``), or from the default one
that ``tinygan.manual_seed`` resets.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan import backend
from tinygan.random import Generator, default_generator
from tinygan.tensor import Tensor
from tinygan.tensor_api import _shape_args
from tinygan.functional import concatenate as cat, stack  # noqa: F401  (re-exported)

float32 = np.float32
float64 = np.float64


class device:
    """``tinygan.device("cuda" if tinygan.cuda.is_available() else "cpu")``, as in PyTorch."""

    def __init__(self, type: str) -> None:  # noqa: A002 - PyTorch's argument name
        self.type = backend.normalize_device(type)

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __eq__(self, other: Any) -> bool:
        return self.type == backend.normalize_device(other)

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type


def _xp(device_: Any = None):
    return backend.xp() if device_ is None else backend.module_for_device(device_)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           device: Any = None) -> Tensor:  # noqa: A002
    """A new tensor holding a copy of ``data`` (float32 for Python floats, unless dtype)."""
    raw = data.array if isinstance(data, Tensor) else data
    if device is not None:
        raw = backend.to_device(np.asarray(raw) if backend.device_of(raw) == "cpu" else raw,
                                device)
    t = Tensor(raw.copy() if hasattr(raw, "copy") else raw, dtype=dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a NumPy array (its dtype is kept)."""
    return Tensor(np.asarray(array))


def _factory(fill: str, shape: Sequence, dtype: Any, requires_grad: bool, device_: Any):
    xp = _xp(device_)
    data = getattr(xp, fill)(_shape_args(tuple(shape)), dtype=dtype or backend.DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("zeros", shape, dtype, requires_grad, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("ones", shape, dtype, requires_grad, device)


def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("zeros", shape, dtype, requires_grad, device)


def full(shape: Sequence[int], value: float, dtype: Any = None, device: Any = None) -> Tensor:
    xp = _xp(device)
    return Tensor(xp.full(tuple(shape), value, dtype=dtype or backend.DEFAULT_DTYPE))


def arange(*args: Any, dtype: Any = None, device: Any = None) -> Tensor:
    xp = _xp(device)
    return Tensor(xp.arange(*args, dtype=dtype))


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    xp = backend.get_array_module(t.array)
    return Tensor(xp.zeros(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    xp = backend.get_array_module(t.array)
    return Tensor(xp.ones(t.shape, dtype=dtype or t.dtype), requires_grad=requires_grad)


def _generator(generator: Generator | None, device_: Any) -> Generator:
    gen = generator or default_generator()
    if device_ is not None and gen.device != backend.normalize_device(device_):
        raise RuntimeError(f"generator on {gen.device} cannot draw a tensor for {device_}")
    return gen


def randn(*shape: Any, generator: Generator | None = None, dtype: Any = None,
          requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal samples of the given shape, e.g. ``randn(64, 100)`` for noise z."""
    gen = _generator(generator, device)
    return Tensor(gen.normal(_shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def randn_like(t: Tensor, generator: Generator | None = None) -> Tensor:
    return randn(*t.shape, generator=generator, dtype=t.dtype)


def rand(*shape: Any, generator: Generator | None = None, dtype: Any = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform samples on [0, 1)."""
    gen = _generator(generator, device)
    return Tensor(gen.random(_shape_args(shape), dtype=dtype), requires_grad=requires_grad)


def randint(low: int, high: int, size: Sequence[int], generator: Generator | None = None,
            device: Any = None) -> Tensor:
    gen = _generator(generator, device)
    return Tensor(gen.integers(low, high, tuple(size)))
