"""``tinygan.utils.data`` is ``torch.utils.data``: datasets, samplers, collation, DataLoader.

    from tinygan.utils.data import DataLoader, Dataset, TensorDataset, random_split

One concept per file: ``dataset.py`` (what an example is), ``sampler.py`` (in which order
examples are visited), ``collate.py`` (how examples become one batch), ``dataloader.py``
(the loop that ties the three together).
"""
from tinygan.utils.data.collate import default_collate, default_convert
from tinygan.utils.data.dataloader import DataLoader, get_worker_info
from tinygan.utils.data.dataset import (ConcatDataset, Dataset, IterableDataset, Subset,
                                        TensorDataset, random_split)
from tinygan.utils.data.sampler import (BatchSampler, RandomSampler, Sampler,
                                        SequentialSampler, SubsetRandomSampler)

__all__ = ["DataLoader", "get_worker_info", "Dataset", "IterableDataset", "TensorDataset",
           "Subset", "ConcatDataset", "random_split", "Sampler", "SequentialSampler",
           "RandomSampler", "SubsetRandomSampler", "BatchSampler", "default_collate",
           "default_convert"]
