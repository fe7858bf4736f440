"""Datasets: anything with ``__len__`` and ``__getitem__`` (PyTorch's "map-style" dataset).

``dataset[i]`` is one example, e.g. an ``(image, label)`` pair. The DataLoader never needs
more than that, so a learner's own class works as soon as it defines those two methods;
subclassing ``Dataset`` is customary, not required.
"""
from __future__ import annotations

import bisect
import math
from typing import Any, Iterator, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Tensor


class Dataset:
    """The base class of map-style datasets: subclasses define ``__getitem__`` (and
    ``__len__``). ``a + b`` concatenates two datasets, as in PyTorch."""

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of examples (``__iter__``) instead of indexable ones; the DataLoader
    batches them in the order they come."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class TensorDataset(Dataset):
    """Examples stored row-aligned in tensors (or arrays): ``dataset[i]`` is the tuple of
    row ``i`` of each, e.g. ``TensorDataset(images, labels)[3] == (images[3], labels[3])``.

    Arrays (NumPy or CuPy) are wrapped as Tensors without copying; ``.tensors`` holds them.
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(t if isinstance(t, Tensor) else Tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors (different first "
                             f"dimensions {sizes}; each tensor holds one row per example)")

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(Tensor(t.array[_on_device(index, t.array)]) for t in self.tensors)


def _on_device(index: Any, array: Any) -> Any:
    """An index array on the same device as ``array`` (a CuPy array wants CuPy indices)."""
    if isinstance(index, Tensor):
        index = index.array
    if isinstance(index, (int, np.integer, slice)):
        return index
    xp = backend.get_array_module(array)
    return backend.to_numpy(index) if xp is np else xp.asarray(index)


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order: ``Subset(d, [4, 0])[1]``
    is ``d[0]``."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in (backend.to_numpy(indices.array) if
                                         isinstance(indices, Tensor) else indices)]

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after another: example ``i`` comes from the first dataset whose
    cumulative length exceeds ``i``."""

    def __init__(self, datasets: Sequence[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(np.cumsum([len(d) for d in self.datasets]))

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = 0 if which == 0 else int(self.cumulative_sizes[which - 1])
        return self.datasets[which][index - start]


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Generator | None = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given lengths, or of
    the given fractions of ``len(dataset)`` (floored, the remainder handed out one by one
    from the first split on, as PyTorch does)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = [int(math.floor(n * frac)) for frac in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths ({sum(lengths)}) does not equal "
                         f"the length of the input dataset ({n})")
    order = backend.to_numpy((generator or default_generator()).permutation(n)).tolist()
    splits, start = [], 0
    for length in lengths:
        splits.append(Subset(dataset, order[start:start + length]))
        start += length
    return splits
