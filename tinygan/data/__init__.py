"""Data for GANs: toy distributions (1-D Gaussian, PacGAN's ring and grid), MNIST, batching."""
from tinygan.data import batching, toy
from tinygan.data.batching import (DataLoader, DatasetBatches, DistributionBatches, EpochSampler,
                                   TensorDataset, shuffled_batches)
from tinygan.data.mnist import load_mnist
from tinygan.data.registry import DATASETS, get_dataset
from tinygan.data.toy import (GRID_STD, RING_STD, gaussian_1d, grid_modes, ring_modes,
                              sample_grid, sample_noise, sample_ring)

__all__ = ["toy", "batching", "load_mnist", "DATASETS", "get_dataset", "DataLoader", "TensorDataset", "EpochSampler",
           "DistributionBatches", "DatasetBatches",
           "shuffled_batches", "gaussian_1d", "ring_modes", "grid_modes", "sample_ring",
           "sample_grid", "sample_noise", "RING_STD", "GRID_STD"]
