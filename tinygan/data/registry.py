"""The datasets the ``tinygan`` command knows, in one table: a new one is one more entry.

Each entry says what one sample looks like and where real minibatches come from: either a
distribution we can sample exactly (the toy data: ``sampler(n, generator)``), or a finite
dataset loaded from disk (``load(split) -> (images, labels)``). The CLI's ``--data`` choices,
the models' input shapes and the trainer's real batches are all read from ``DATASETS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from tinygan.data import toy
from tinygan.data.batching import DatasetBatches, DistributionBatches
from tinygan.devices.random import Generator


def _load_mnist(split: str) -> tuple[np.ndarray, np.ndarray]:
    from tinygan.data.mnist import load_mnist
    return load_mnist(split)


@dataclass(frozen=True)
class Dataset:
    """One dataset: ``shape`` of a sample; exactly one of ``sampler`` and ``load``;
    for the 2-D mixtures, ``modes()`` (K, 2) and ``mode_std`` (the scoring protocol's)."""

    shape: tuple[int, ...]
    description: str
    sampler: Callable[[int, Generator], Any] | None = None
    load: Callable[[str], tuple[np.ndarray, np.ndarray]] | None = None
    modes: Callable[[], np.ndarray] | None = None
    mode_std: float | None = None

    def real_batches(self, generator: Generator) -> DistributionBatches | DatasetBatches:
        """Minibatches of real data for training, drawn with ``generator``."""
        if self.sampler is not None:
            return DistributionBatches(self.sampler, generator)
        images, labels = self.load("train")
        return DatasetBatches(images, labels, generator)


DATASETS: dict[str, Dataset] = {
    "gauss1d": Dataset((1,), "N(4, 0.5^2), Figure 1 of Goodfellow et al. 2014",
                       sampler=toy.gaussian_1d),
    "ring": Dataset((2,), "PacGAN's 8 Gaussians on the unit circle", sampler=toy.sample_ring,
                    modes=toy.ring_modes, mode_std=toy.RING_STD),
    "grid": Dataset((2,), "PacGAN's 25 Gaussians on a 5 x 5 grid", sampler=toy.sample_grid,
                    modes=toy.grid_modes, mode_std=toy.GRID_STD),
    "mnist": Dataset((1, 28, 28), "MNIST handwritten digits", load=_load_mnist),
}


def get_dataset(name: str) -> Dataset:
    """The entry for ``name``; a ValueError listing the known names otherwise."""
    if name not in DATASETS:
        raise ValueError(f"unknown data {name!r}: choose one of {', '.join(DATASETS)}")
    return DATASETS[name]
