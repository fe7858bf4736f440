"""PyTorch's legacy tensor types: ``FloatTensor``, ``LongTensor``, ... and ``Tensor.type()``.

Old scripts (and many still copied today) make tensors with the type as constructor,

    Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor
    valid = Tensor(imgs.size(0), 1).fill_(1.0)          # a shape: (N, 1)
    z = Tensor(np.random.normal(0, 1, (N, latent_dim)))  # data, cast to float32

and test ``isinstance(t, torch.FloatTensor)``. Each type here is a dtype plus a device:
calling it with ints makes a tensor of that shape (PyTorch leaves it uninitialised; tinygan
fills zeros), calling it with data (a list, an array, a tensor) converts the data. A
metaclass answers ``isinstance`` by dtype and device, because tinygan has one Tensor class.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.arguments import flag
from tinygan.engine.tensor import Tensor, checked_integers


class LegacyTensorType(type):
    """The metaclass: ``isinstance(t, FloatTensor)`` is "t is a float32 tensor on the CPU"."""

    dtype: Any
    is_cuda: bool

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor) and instance.dtype == cls.dtype and \
            instance.is_cuda == cls.is_cuda

    def __repr__(cls) -> str:
        return f"<class '{type_name(cls.__name__, cls.is_cuda)}'>"


def type_name(name: str, cuda: bool) -> str:
    return f"torch.cuda.{name}" if cuda else f"torch.{name}"


class _LegacyTensor(metaclass=LegacyTensorType):
    dtype: Any = None
    is_cuda = False

    def __new__(cls, *args: Any) -> Tensor:
        if len(args) == 0:
            return _make(np.zeros(0, dtype=cls.dtype), cls.is_cuda)
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return _make(np.zeros(tuple(int(a) for a in args), dtype=cls.dtype), cls.is_cuda)
        if len(args) > 1:
            raise TypeError(f"{type_name(cls.__name__, cls.is_cuda)}(): give a shape as ints "
                            f"(e.g. (2, 3)) or one piece of data, got {args!r}")
        data = args[0]
        raw = backend.to_numpy(data.array) if isinstance(data, Tensor) else data
        if not isinstance(data, Tensor) and np.dtype(cls.dtype).kind in "iu":
            raw = checked_integers(raw, np.dtype(cls.dtype))   # PyTorch's overflow check
        return _make(np.array(raw, dtype=cls.dtype), cls.is_cuda)


def _make(array: np.ndarray, cuda: bool) -> Tensor:
    if cuda:
        if not backend.accelerator_available():   # the question tinygan.cuda.is_available() asks
            raise RuntimeError("tinygan.cuda tensor types need CuPy and a GPU "
                               "(tinygan.cuda.is_available() is False); use tinygan.FloatTensor")
        return Tensor(backend.to_device(array, "cuda"))
    return Tensor(array)


# name -> dtype, as torch.<name> (torch.HalfTensor is float16; BFloat16 has no NumPy dtype)
LEGACY_TYPES = {
    "FloatTensor": np.float32, "DoubleTensor": np.float64, "HalfTensor": np.float16,
    "ByteTensor": np.uint8, "CharTensor": np.int8, "ShortTensor": np.int16,
    "IntTensor": np.int32, "LongTensor": np.int64, "BoolTensor": np.bool_,
}


def _build(cuda: bool) -> dict[str, type]:
    return {name: LegacyTensorType(name, (_LegacyTensor,),
                                   {"dtype": np.dtype(dtype), "is_cuda": cuda,
                                    "__module__": "tinygan.cuda" if cuda else "tinygan",
                                    "__doc__": f"{'GPU' if cuda else 'CPU'} {np.dtype(dtype)} "
                                               f"tensors (legacy constructor)."})
            for name, dtype in LEGACY_TYPES.items()}


CPU_TYPES = _build(cuda=False)
CUDA_TYPES = _build(cuda=True)
_BY_DTYPE = {np.dtype(d): name for name, d in LEGACY_TYPES.items()}


def tensor_type(self: Tensor, dtype: Any = None, non_blocking: bool = False,
                **kwargs: Any) -> Any:
    """``t.type()``: the type's name, e.g. ``'torch.FloatTensor'`` (``'torch.cuda...'`` on
    the GPU). ``t.type(torch.LongTensor)``, ``t.type('torch.DoubleTensor')`` or
    ``t.type(torch.float64)``: a cast (and a move for a cuda type), differentiable."""
    flag("type", "non_blocking", non_blocking)
    if dtype is None:
        name = _BY_DTYPE.get(np.dtype(self.dtype))
        if name is None:
            raise TypeError(f"type(): no legacy type name for dtype {self.dtype}")
        return type_name(name, self.is_cuda)
    if isinstance(dtype, str):
        cuda = dtype.startswith("torch.cuda.")
        name = dtype.rsplit(".", 1)[-1]
        if name not in LEGACY_TYPES or not dtype.startswith("torch."):
            raise ValueError(f"type(): invalid type {dtype!r}; expected e.g. "
                             f"'torch.FloatTensor' or 'torch.cuda.LongTensor'")
        dtype = (CUDA_TYPES if cuda else CPU_TYPES)[name]
    if isinstance(dtype, LegacyTensorType):
        return self.to("cuda" if dtype.is_cuda else "cpu", dtype=dtype.dtype)
    if not isinstance(dtype, (type, np.dtype)):   # (not a tensor: to(t) would take its dtype)
        raise TypeError(f"type(): dtype must be a type, str, or dtype object, not "
                        f"{type(dtype).__name__}")
    return self.to(dtype=dtype)


