"""DataLoader: the loop ``for real, labels in loader:`` that turns a dataset into batches.

One epoch (one ``for`` loop) does, for each batch:
  1. the batch sampler names the indices, e.g. [17, 3, 42, ...]  (shuffled: a fresh
     permutation each epoch, from ``generator`` or the default generator);
  2. the dataset gives each example, ``dataset[17], dataset[3], ...``;
  3. ``collate_fn`` merges them into one batch (``default_collate``: stacked Tensors).

Workers. PyTorch's ``num_workers > 0`` forks processes that prepare batches in parallel.
tinygan runs everything **in this process**: the batches are the same, in the same order,
and ``worker_init_fn(worker_id)`` is called once per (simulated) worker at the start of an
epoch (once in all with ``persistent_workers=True``), but nothing runs in parallel.
``pin_memory``, ``timeout``, ``prefetch_factor`` and ``multiprocessing_context`` are
checked as PyTorch checks them and otherwise have no effect.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

from tinygan.engine.tensor import Tensor
from tinygan.devices.random import Generator
from tinygan.utils.data.collate import default_collate, default_convert
from tinygan.utils.data.dataset import IterableDataset, TensorDataset
from tinygan.utils.data.sampler import BatchSampler, RandomSampler, SequentialSampler


@dataclass
class WorkerInfo:
    """What ``get_worker_info()`` returns inside ``worker_init_fn``."""
    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """Inside ``worker_init_fn``: which simulated worker this is; elsewhere None (as in
    PyTorch's main process)."""
    return _worker_info


class DataLoader:
    """Batches of a dataset, with ``torch.utils.data.DataLoader``'s signature.

        loader = DataLoader(dataset, batch_size=64, shuffle=True, drop_last=True)
        for real, labels in loader:       # one epoch
            ...

    ``dataset`` is any object with ``__len__`` and ``__getitem__`` (or an
    ``IterableDataset``). ``batch_size=None`` turns batching off: examples come one by
    one, converted by ``default_convert``. See the module docstring for ``num_workers``.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable | None = None, multiprocessing_context: Any = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "",
                 in_order: bool = True, device: Any = None) -> None:
        if not hasattr(dataset, "__getitem__") and not isinstance(dataset, IterableDataset):
            raise TypeError(f"DataLoader: the dataset must define __len__ and __getitem__ "
                            f"(or be an IterableDataset), got {type(dataset).__name__}")
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 "
                             "to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        self.dataset, self.num_workers = dataset, num_workers
        self.pin_memory, self.timeout, self.worker_init_fn = pin_memory, timeout, worker_init_fn
        self.prefetch_factor = 2 if prefetch_factor is None and num_workers else prefetch_factor
        self.persistent_workers, self.generator = persistent_workers, generator
        self.multiprocessing_context, self.in_order = multiprocessing_context, in_order
        self.pin_memory_device = pin_memory_device
        self.device = device   # tinygan's addition: move each batch there (one transfer)
        self._workers_started = False

        if isinstance(dataset, IterableDataset):
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None or batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler and batch_sampler options")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        if sampler is None and not isinstance(dataset, IterableDataset):
            sampler = RandomSampler(dataset, generator=generator) if shuffle else \
                SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        elif batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self.collate_fn = collate_fn or (default_collate if self._auto_batching
                                         else default_convert)

    @property
    def _auto_batching(self) -> bool:
        return self.batch_sampler is not None or (
            isinstance(self.dataset, IterableDataset) and self.batch_size is not None)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)   # a TypeError if the stream has no length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __iter__(self) -> Iterator[Any]:
        batches = self._batches()
        if self.device is None:
            yield from batches
        else:
            for batch in batches:
                yield _moved(batch, self.device)

    def _batches(self) -> Iterator[Any]:
        self._start_workers()
        if isinstance(self.dataset, IterableDataset):
            yield from self._iterate_stream()
            return
        if self.batch_sampler is None:                # batching off: one example at a time
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            yield self._fetch(list(indices))

    def _fetch(self, indices: list[int]) -> Any:
        """Steps 2 and 3 for one batch."""
        if type(self.dataset) is TensorDataset and self.collate_fn is default_collate:
            # Fast path, same result: a TensorDataset's rows are gathered with one
            # indexing per tensor instead of B lookups and a stack (what
            # default_collate([dataset[i] for i in indices]) gives, as a list).
            return list(self.dataset[indices])
        if hasattr(self.dataset, "__getitems__") and self.dataset.__getitems__:
            return self.collate_fn(self.dataset.__getitems__(indices))
        return self.collate_fn([self.dataset[i] for i in indices])

    def _iterate_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for example in self.dataset:
                yield self.collate_fn(example)
            return
        batch: list[Any] = []
        for example in self.dataset:
            batch.append(example)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def _start_workers(self) -> None:
        """In-process stand-in for starting the worker processes: call worker_init_fn."""
        global _worker_info
        if self.num_workers == 0 or self.worker_init_fn is None:
            return
        if self.persistent_workers and self._workers_started:
            return
        self._workers_started = True
        for worker_id in range(self.num_workers):
            _worker_info = WorkerInfo(worker_id, self.num_workers, worker_id, self.dataset)
            try:
                self.worker_init_fn(worker_id)
            finally:
                _worker_info = None


def _moved(batch: Any, device: Any) -> Any:
    """The batch with every Tensor in it moved to ``device`` (``DataLoader(device=...)``)."""
    if isinstance(batch, Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return {k: _moved(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        moved = [_moved(v, device) for v in batch]
        return moved if isinstance(batch, list) else type(batch)(moved) \
            if not hasattr(batch, "_fields") else type(batch)(*moved)
    return batch
