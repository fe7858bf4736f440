"""tinygan.utils.data: datasets, samplers, default collation and the DataLoader, as PyTorch."""
from collections import namedtuple

import numpy as np
import pytest

import tinygan
from tinygan.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                IterableDataset, RandomSampler, SequentialSampler, Subset,
                                TensorDataset, default_collate, get_worker_info, random_split)
from tests.helpers import to_np


class Squares(Dataset):
    """A map-style dataset as a learner writes one: (array, int label, float, str) examples."""

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return np.full((2, 3), i, np.float32), i, float(i) / 2, f"item{i}"


def test_a_dataloader_over_a_custom_dataset_collates_as_pytorch():
    batches = list(DataLoader(Squares(), batch_size=4))
    assert len(batches) == 3
    x, y, f, s = batches[0]
    assert isinstance(x, tinygan.Tensor) and x.shape == (4, 2, 3) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 2, 3]
    assert f.dtype == np.float64 and f.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert s == ("item0", "item1", "item2", "item3")     # as PyTorch: the zipped tuple
    assert batches[-1][0].shape == (2, 2, 3)          # the short last batch is kept


def test_default_collate_dicts_namedtuples_lists_and_tensors():
    Pair = namedtuple("Pair", "image label")
    batch = default_collate([{"x": tinygan.ones(2), "y": Pair(np.zeros(3), 1)},
                             {"x": tinygan.zeros(2), "y": Pair(np.ones(3), 2)}])
    assert set(batch) == {"x", "y"} and batch["x"].tolist() == [[1, 1], [0, 0]]
    assert isinstance(batch["y"], Pair) and batch["y"].image.shape == (2, 3)
    assert batch["y"].label.tolist() == [1, 2]
    assert default_collate([[1, 2], [3, 4]])[1].tolist() == [2, 4]
    assert default_collate([True, False]).dtype == np.bool_
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        default_collate([object(), object()])


def test_shuffle_drop_last_and_generator():
    ds = TensorDataset(tinygan.arange(10), tinygan.arange(10) * 2)
    loader = DataLoader(ds, batch_size=3, shuffle=True, drop_last=True,
                        generator=tinygan.Generator(5))
    assert len(loader) == 3
    first = [b[0].tolist() for b in loader]
    assert all(len(b) == 3 for b in first) and len(set(sum(first, []))) == 9
    again = [b[0].tolist() for b in DataLoader(ds, batch_size=3, shuffle=True, drop_last=True,
                                               generator=tinygan.Generator(5))]
    assert again == first                              # same seed, same batches
    for x, y in loader:
        assert to_np(y).tolist() == (to_np(x) * 2).tolist()   # rows stay aligned


def test_the_tensordataset_fast_path_equals_the_plain_collation():
    images = tinygan.randn(7, 1, 2, 2)
    ds = TensorDataset(images, tinygan.arange(7))
    fast = list(DataLoader(ds, batch_size=3))
    plain = list(DataLoader(ds, batch_size=3, collate_fn=lambda b: default_collate(b)))
    for (a, la), (b, lb) in zip(fast, plain):
        np.testing.assert_array_equal(to_np(a), to_np(b))
        np.testing.assert_array_equal(to_np(la), to_np(lb))


def test_sampler_batch_sampler_and_batch_size_none():
    ds = Squares()
    picked = [b[1].tolist() for b in DataLoader(ds, batch_size=2, sampler=[9, 0, 4])]
    assert picked == [[9, 0], [4]]
    custom = [b[1].tolist() for b in DataLoader(ds, batch_sampler=[[1, 2], [3]])]
    assert custom == [[1, 2], [3]]
    one = next(iter(DataLoader(ds, batch_size=None)))
    assert isinstance(one[0], tinygan.Tensor) and one[0].shape == (2, 3) and one[1] == 0
    assert list(BatchSampler(SequentialSampler(range(5)), 2, True)) == [[0, 1], [2, 3]]
    assert sorted(RandomSampler(range(6), generator=tinygan.Generator(1))) == list(range(6))
    assert len(list(RandomSampler(range(6), replacement=True, num_samples=20))) == 20


def test_pytorch_argument_checks():
    ds = Squares()
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=4)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(ds, batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="must define __len__ and __getitem__"):
        DataLoader(42)


def test_num_workers_run_in_process_and_call_worker_init_fn():
    calls = []

    def init(worker_id):
        calls.append((worker_id, get_worker_info().num_workers))

    loader = DataLoader(Squares(), batch_size=5, num_workers=2, worker_init_fn=init,
                        pin_memory=True, persistent_workers=True, prefetch_factor=4)
    plain = DataLoader(Squares(), batch_size=5)
    for (a, *_), (b, *_) in zip(loader, plain):
        np.testing.assert_array_equal(to_np(a), to_np(b))
    list(loader)
    assert calls == [(0, 2), (1, 2)]                 # persistent: started once
    assert get_worker_info() is None


def test_subset_concat_random_split_and_iterable_dataset():
    ds = Squares()
    sub = Subset(ds, [4, 0])
    assert len(sub) == 2 and sub[1][1] == 0
    both = ConcatDataset([sub, ds])
    assert len(both) == 12 and both[2][1] == 0 and (sub + ds)[-1][1] == 9
    a, b = random_split(ds, [7, 3], generator=tinygan.Generator(0))
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    parts = random_split(ds, [0.5, 0.3, 0.2])
    assert [len(p) for p in parts] == [5, 3, 2]
    with pytest.raises(ValueError, match="does not equal the length of the input dataset"):
        random_split(ds, [3, 3])

    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(5))

    assert [b.tolist() for b in DataLoader(Stream(), batch_size=2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Stream(), shuffle=True)


def test_collation_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    examples = [Squares()[i] for i in range(3)]
    ours, theirs = default_collate(examples), torch_collate(examples)
    assert type(ours) is type(theirs) is list
    for o, t in zip(ours[:3], theirs[:3]):
        assert str(o.dtype) == str(t.dtype).replace("torch.", "")
        np.testing.assert_array_equal(to_np(o), t.numpy())
    assert ours[3] == theirs[3]
    ds = Squares()
    for (a, *_), (b, *_) in zip(DataLoader(ds, batch_size=4), torch.utils.data.DataLoader(
            ds, batch_size=4)):
        np.testing.assert_array_equal(to_np(a), b.numpy())
