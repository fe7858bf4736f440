"""Toy distributions, noise and batching (tinygan/data/toy.py, tinygan/data/batching.py)."""
import numpy as np
import pytest

import tinygan
from tinygan.data import batching, toy
from tests.helpers import to_np


def test_ring_modes_are_pacgans_unit_circle():
    modes = toy.ring_modes()
    assert modes.shape == (8, 2) and modes.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(modes, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(modes[0], [1.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(modes[2], [0.0, 1.0], atol=1e-7)


def test_grid_modes_are_the_25_even_points():
    modes = toy.grid_modes()
    assert modes.shape == (25, 2)
    assert {tuple(m) for m in modes.astype(int)} == {(i, j) for i in range(-4, 5, 2)
                                                    for j in range(-4, 5, 2)}


@pytest.mark.parametrize("sampler, modes, std", [(toy.sample_ring, toy.ring_modes(), toy.RING_STD),
                                                 (toy.sample_grid, toy.grid_modes(), toy.GRID_STD)])
def test_mixture_samples_sit_on_every_mode_with_the_right_spread(sampler, modes, std):
    x = to_np(sampler(20000, tinygan.Generator(0)))
    assert x.shape == (20000, 2) and x.dtype == np.float32
    d = np.linalg.norm(x[:, None] - modes[None], axis=2)
    nearest = d.argmin(1)
    counts = np.bincount(nearest, minlength=len(modes))
    assert counts.min() > 0.7 * 20000 / len(modes)      # every mode, roughly equally
    offsets = x - modes[nearest]
    np.testing.assert_allclose(offsets.std(axis=0), std, rtol=0.05)
    np.testing.assert_allclose(offsets.mean(axis=0), 0.0, atol=3 * std / np.sqrt(2000))


def test_gaussian_1d_and_seeding():
    a = to_np(toy.gaussian_1d(5000, tinygan.Generator(3), mu=4.0, sigma=0.5))
    b = to_np(toy.gaussian_1d(5000, tinygan.Generator(3), mu=4.0, sigma=0.5))
    assert a.shape == (5000, 1) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)                  # same seed, same numbers
    assert abs(a.mean() - 4.0) < 0.03 and abs(a.std() - 0.5) < 0.02


def test_noise_samplers():
    g = tinygan.Generator(0)
    z = to_np(toy.sample_noise(1000, 3, g, "normal"))
    u = to_np(toy.sample_noise(1000, 3, g, "uniform"))
    assert z.shape == u.shape == (1000, 3) and z.dtype == u.dtype == np.float32
    assert u.min() >= -1 and u.max() < 1 and abs(z.std() - 1) < 0.05
    with pytest.raises(ValueError, match="unknown noise 'cauchy'"):
        toy.sample_noise(3, 1, g, "cauchy")


def test_shuffled_batches_cover_each_index_once_per_epoch():
    batches = list(batching.shuffled_batches(10, 3, tinygan.Generator(0), epochs=2))
    assert len(batches) == 6 and all(len(b) == 3 for b in batches)   # drop_last: 3 per epoch
    first = np.concatenate([to_np(b) for b in batches[:3]])
    assert len(set(first.tolist())) == 9
    keep_last = list(batching.shuffled_batches(10, 3, tinygan.Generator(0), drop_last=False))
    assert sorted(np.concatenate([to_np(b) for b in keep_last]).tolist()) == list(range(10))


def test_dataloader_yields_tensor_batches_like_pytorch():
    images = np.arange(20, dtype=np.float32).reshape(10, 2)
    labels = np.arange(10)
    loader = batching.DataLoader(batching.TensorDataset(images, labels), batch_size=4,
                                 shuffle=True, generator=tinygan.Generator(0))
    seen = []
    for real, y in loader:
        assert isinstance(real, tinygan.Tensor) and real.shape[1:] == (2,)
        np.testing.assert_array_equal(to_np(real)[:, 0] / 2, to_np(y))  # rows stay aligned
        seen += to_np(y).tolist()
    assert len(loader) == 3 and sorted(seen) == list(range(10))
    again = [to_np(y).tolist() for _, y in loader]
    assert sum(again, []) != seen                     # a new order every epoch


def test_epoch_sampler_resumes_mid_epoch():
    a = batching.EpochSampler(7, tinygan.Generator(1))
    for _ in range(3):
        a.next_indices(2)
    state = a.state_dict()
    gen_state = a.generator.get_state()
    expected = [to_np(a.next_indices(2)).tolist() for _ in range(5)]
    b = batching.EpochSampler(7, tinygan.Generator(99))
    b.load_state_dict(state)
    b.generator.set_state(gen_state)
    assert [to_np(b.next_indices(2)).tolist() for _ in range(5)] == expected


def test_batching_errors_are_clear():
    with pytest.raises(ValueError, match="batch_size 11 is larger than the 10 examples"):
        next(batching.shuffled_batches(10, 11, tinygan.Generator(0)))
    with pytest.raises(ValueError, match="different first dimensions"):
        batching.TensorDataset(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="5 images but 4 labels"):
        batching.DatasetBatches(np.zeros((5, 2)), np.zeros(4), tinygan.Generator(0))


@pytest.mark.parametrize("name", sorted(toy.TOY_DATA))
def test_every_registered_toy_distribution_fits_its_window_and_covers_its_references(name):
    from tinygan.metrics.mode_coverage import mode_coverage
    data = toy.get_toy_data(name)
    x = to_np(data.sample(4000, tinygan.Generator(1)))
    assert x.shape == (4000, data.dim) and x.dtype == np.float32
    low, high = np.array(data.extent[0::2]), np.array(data.extent[1::2])
    inside = np.all((x >= low) & (x <= high), axis=1)
    assert inside.mean() > 0.999                               # the window shows it all
    if data.references is not None:                            # real data scores perfectly
        score = mode_coverage(x, data.references, data.reference_std)
        assert score.modes_captured == score.num_modes and score.high_quality_fraction > 0.97
        # and a point far from the data is not "high quality": the radius is tight
        far = data.references.mean(axis=0, keepdims=True) + np.array([[0.0, 10.0]])
        assert mode_coverage(far, data.references, data.reference_std).high_quality_fraction == 0


def test_unknown_toy_data_is_named_in_the_error():
    with pytest.raises(ValueError, match="unknown toy data 'rings'.*ring"):
        toy.get_toy_data("rings")
