"""Collation: a list of examples becomes one batch, by PyTorch's ``default_collate`` rules.

For examples of one kind (the rules apply field by field, recursively):
  tensors, arrays   stacked on a new first dimension:  B tensors of (C, H, W) -> (B, C, H, W)
  Python ints       one int64 tensor of shape (B,)      (bools: a bool tensor)
  Python floats     one float64 tensor of shape (B,)    (PyTorch makes float64 here too)
  strings, bytes    left as they come (a tuple of the B strings, inside a tuple example)
  dicts             {key: collate of that key's values}
  tuples, lists     collated position by position: [(x0, y0), (x1, y1)] -> [X, Y]
                    (a tuple of fields comes back as a list, as in PyTorch; named tuples
                    and other sequence types keep their type)
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor import Tensor

_HELP = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
         "lists; found {}")


def default_collate(batch: Sequence[Any]) -> Any:
    """Merge ``batch`` (a list of examples) into one batch; see the module docstring."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack([t.array for t in batch])
    if type(elem).__module__ in ("numpy", "cupy") and not isinstance(elem, (str, bytes)):
        if getattr(elem, "dtype", None) is not None and elem.dtype.kind in "OUS":
            raise TypeError(_HELP.format(elem.dtype))
        if getattr(elem, "shape", ()) == ():           # NumPy scalars: a 1-D tensor
            return Tensor(np.asarray(batch))
        return _stack(list(batch))
    if isinstance(elem, bool):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(elem, int):
        return Tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, Mapping):
        fields = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(fields)
        except TypeError:   # a mapping type that cannot be built from a dict
            return fields
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):   # a namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, Sequence):
        if any(len(e) != len(elem) for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(_HELP.format(type(elem)))


def _stack(arrays: list[Any]) -> Tensor:
    shapes = {tuple(a.shape) for a in arrays}
    if len(shapes) > 1:
        raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                           f"{sorted(shapes)} in the batch (default_collate stacks examples;"
                           f" give examples of one shape or pass your own collate_fn)")
    return Tensor(backend.get_array_module(arrays[0]).stack(arrays))


def default_convert(data: Any) -> Any:
    """What the DataLoader does to each example when batching is off (``batch_size=None``):
    arrays become Tensors, containers are converted field by field, the rest is kept."""
    if isinstance(data, Tensor):
        return data
    if type(data).__module__ in ("numpy", "cupy") and getattr(data, "dtype", None) is not None \
            and data.dtype.kind not in "OUS":
        return Tensor(data)
    if isinstance(data, Mapping):
        return type(data)({k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return [default_convert(d) for d in data]
    return data
