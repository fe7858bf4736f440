"""``from tinygan.utils.data import DataLoader, TensorDataset`` as from torch.utils.data.

The classes live in tinygan/data/batching.py; this module only gives them PyTorch's address.
"""
from tinygan.data.batching import DataLoader, TensorDataset

__all__ = ["DataLoader", "TensorDataset"]
