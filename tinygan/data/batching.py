"""Minibatches: shuffled index batches (TensorDataset / DataLoader live in tinygan.utils.data).

One epoch is one pass over a random permutation of the N examples, cut into batches of B.
The permutation is drawn from a seeded ``tinygan.Generator``, so the order (and a training
run built on it) repeats exactly for the same seed. With ``drop_last`` the final short batch
is skipped, which keeps every batch the same size (BatchNorm and GAN losses like that).

``EpochSampler`` is the same idea with its position written down (``state_dict``), so a
training run can stop mid-epoch and resume on exactly the batch it would have seen next.

Devices: indices are drawn on the device of the data they index (no copy to gather a batch),
and a loader given ``device=`` (the model's) moves each batch there: one transfer per batch.
"""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Tensor
from tinygan.utils.data import DataLoader, TensorDataset  # noqa: F401  (re-exported)


def _num_batches(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def _check_batch_size(where: str, n: int, batch_size: int, drop_last: bool) -> None:
    if batch_size < 1:
        raise ValueError(f"{where}: batch_size must be >= 1, got {batch_size}")
    if drop_last and batch_size > n:
        raise ValueError(f"{where}: batch_size {batch_size} is larger than the {n} examples "
                         f"and drop_last=True would leave no batch at all")


def shuffled_batches(n: int, batch_size: int, generator: Generator, epochs: int | None = 1,
                     drop_last: bool = True) -> Iterator[Any]:
    """Yield index arrays of length ``batch_size`` covering range(n) in a fresh random
    order each epoch; ``epochs=None`` goes on for ever."""
    _check_batch_size("shuffled_batches", n, batch_size, drop_last)
    epoch = 0
    while epochs is None or epoch < epochs:
        order = generator.permutation(n)
        for b in range(_num_batches(n, batch_size, drop_last)):
            yield order[b * batch_size:(b + 1) * batch_size]
        epoch += 1


class EpochSampler:
    """Endless shuffled batches of indices into N examples, with a resumable position.

    >>> s = EpochSampler(10, Generator(0)); s.next_indices(4).shape
    (4,)
    """

    def __init__(self, n: int, generator: Generator, device: Any = None) -> None:
        if n < 1:
            raise ValueError(f"EpochSampler: need at least one example, got n={n}")
        self.n, self.generator = n, generator
        self.device = device     # where the permutations live (None: the generator's device)
        self.order: Any = None   # the current epoch's permutation (drawn lazily)
        self.position = 0        # how many entries of ``order`` are used up
        self.epoch = 0

    def next_indices(self, batch_size: int) -> Any:
        """The next ``batch_size`` indices; a new epoch (new permutation) starts when fewer
        than ``batch_size`` remain (the leftover is dropped, as drop_last=True)."""
        _check_batch_size("EpochSampler", self.n, batch_size, True)
        if self.order is None or self.position + batch_size > self.n:
            if self.order is not None:
                self.epoch += 1
            self.order = self.generator.permutation(self.n, device=self.device)
            self.position = 0
        idx = self.order[self.position:self.position + batch_size]
        self.position += batch_size
        return idx

    def state_dict(self) -> dict[str, Any]:
        order = np.zeros(0, np.int64) if self.order is None else backend.to_numpy(self.order)
        return {"order": order.astype(np.int64), "position": self.position,
                "epoch": self.epoch, "has_order": self.order is not None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        has_order = bool(state["has_order"])
        order = np.asarray(state["order"], dtype=np.int64)
        if has_order and len(order) != self.n:
            raise ValueError(f"EpochSampler.load_state_dict: saved order covers {len(order)} "
                             f"examples, this sampler has {self.n}")
        self.order = backend.asarray(order, device=self.device or self.generator.device) \
            if has_order else None
        self.position, self.epoch = int(state["position"]), int(state["epoch"])


# ---- where a GAN trainer gets its real minibatches ---------------------------------------
class DistributionBatches:
    """Fresh samples from a distribution we can sample exactly (the toy data): each call
    draws ``batch_size`` new points, as step 1 of Algorithm 1 asks. No labels.

    ``sampler(n, generator, device=None) -> array (n, ...)``, e.g.
    ``tinygan.data.toy.sample_ring``; the draws are made on ``device`` (None: the
    generator's device).
    """

    def __init__(self, sampler: Any, generator: Generator, device: Any = None) -> None:
        self.sampler, self.generator, self.device = sampler, generator, device

    def next(self, batch_size: int) -> tuple[Tensor, None]:
        if self.device is None:   # samplers written without a device= argument work too
            return Tensor(self.sampler(batch_size, self.generator)), None
        return Tensor(self.sampler(batch_size, self.generator, device=self.device)), None

    def state_dict(self) -> dict[str, Any]:
        return {}   # all randomness lives in the shared generator

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


class DatasetBatches:
    """Shuffled minibatches (and labels) of a finite dataset such as MNIST, epoch after
    epoch, with a resumable position (see ``EpochSampler``).

    The indices are drawn where the images are (MNIST: in host memory), the batch is
    gathered there, and then moved to ``device`` (the model's; None: left where it is):
    one transfer per batch, and labels with it."""

    def __init__(self, images: Any, labels: Any, generator: Generator,
                 device: Any = None) -> None:
        if labels is not None and len(labels) != len(images):
            raise ValueError(f"DatasetBatches: {len(images)} images but {len(labels)} labels")
        self.images, self.labels, self.device = images, labels, device
        self.sampler = EpochSampler(len(images), generator, device=backend.device_of(images))

    def next(self, batch_size: int) -> tuple[Tensor, Any]:
        idx = self.sampler.next_indices(batch_size)
        images = self.images[idx]
        labels = None if self.labels is None else self.labels[idx]
        if self.device is not None:
            images = backend.to_device(images, self.device)
            labels = None if labels is None else backend.to_device(labels, self.device)
        return Tensor(images), labels

    def state_dict(self) -> dict[str, Any]:
        return self.sampler.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.sampler.load_state_dict(state)
