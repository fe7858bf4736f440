"""One device model: the data decides where every op, draw and in-place write runs.

These tests make "cuda" the stand-in device (tinygan/devices/standin.py) for their duration, with
the CPU as the default device, so a script written PyTorch's way (build on the CPU, then
``.to("cuda")``) is checked on every run of the suite, GPU or not. The stand-in is a guard
(it catches data on the wrong device, implicit copies to NumPy, the NumPy features CuPy
lacks, and host synchronisations), not a GPU result: CuPy's kernels, numerics and speed are
only checked by ``TINYGAN_BACKEND=cupy python -m pytest -q`` on a GPU.
"""
import json
import re
from pathlib import Path

import numpy as np
import pytest

import tinygan
from tinygan import backend, nn, optim
from tinygan.devices import standin
from tinygan import functional as F
from tinygan.data.batching import DataLoader, DatasetBatches, TensorDataset
from tinygan.gan.losses import get_loss
from tinygan.gan.models import toy_mlp
from tinygan.gan.trainer import GANTrainer, grad_norm


@pytest.fixture
def cuda():
    """"cuda" is the stand-in device; new tensors are still made on the CPU."""
    saved = backend._accelerator, backend._default_device
    tinygan.use("standin")
    tinygan.use("cpu")
    yield "cuda"
    backend._accelerator, backend._default_device = saved


def _on_device(t):
    return isinstance(t.array, standin.StandinArray) and t.device == "cuda"


# ---- draws on the device they serve ------------------------------------------------------
def test_randn_rand_randint_draw_on_the_device_asked_for(cuda):
    for t in (tinygan.randn(3, 4, device="cuda"), tinygan.rand(2, device="cuda"),
              tinygan.randint(0, 5, (4,), device="cuda")):
        assert _on_device(t)
    assert tinygan.randn(3).device == "cpu"        # the default device is still the CPU


def test_randn_like_follows_its_tensor(cuda):
    x = tinygan.zeros(2, 3).to("cuda")
    z = tinygan.randn_like(x)
    assert _on_device(z) and z.shape == (2, 3) and z.dtype == x.dtype


def test_init_of_a_moved_model_draws_on_its_device(cuda):
    layer = nn.Linear(4, 3).to("cuda")
    gen = tinygan.Generator(5)
    nn.init.normal_(layer.weight, 0.0, 0.02, generator=gen)
    nn.init.kaiming_uniform_(layer.weight, generator=gen)
    nn.init.uniform_(layer.bias, -1, 1, generator=gen)
    assert _on_device(layer.weight) and _on_device(layer.bias)
    assert list(gen.get_state()["streams"]) == ["cuda"]   # nothing drawn on the CPU


def test_dropout_masks_are_drawn_on_the_tensors_device(cuda):
    gen = tinygan.Generator(1)
    y = nn.Dropout(0.5, generator=gen)(tinygan.ones(8, 8).to("cuda"))
    assert _on_device(y)
    assert list(gen.get_state()["streams"]) == ["cuda"]   # not drawn on the CPU and copied


def test_a_pytorch_style_script_runs_on_the_device(cuda):
    """Build on the CPU, move with .to(device), draw with device= and *_like: no use()."""
    device = tinygan.device("cuda" if tinygan.cuda.is_available() else "cpu")
    model = nn.Sequential(nn.Linear(3, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)).to(device)
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x = tinygan.randn(16, 3, device=device)
    noise = tinygan.randn_like(x)
    loss = F.binary_cross_entropy_with_logits(model(x + noise), tinygan.ones(16, 1,
                                                                            device=device))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert all(_on_device(p) for p in model.parameters())
    assert np.isfinite(loss.item())


# ---- one generator, one stream per device, all of it saved ---------------------------------
def test_generator_state_holds_every_device_stream_and_restores_them(cuda):
    gen = tinygan.Generator(7)
    gen.normal((5,), device="cpu")
    gen.normal((5,), device="cuda")
    gen.permutation(9, device="cuda")
    state = json.loads(json.dumps(gen.get_state()))     # plain values: a checkpoint holds it
    assert set(state["streams"]) == {"cpu", "cuda"}
    after = [backend.to_numpy(gen.normal((4,), device=d)) for d in ("cpu", "cuda")]
    again = tinygan.Generator(0)
    again.set_state(state)
    for d, expected in zip(("cpu", "cuda"), after):
        np.testing.assert_array_equal(backend.to_numpy(again.normal((4,), device=d)), expected)


def test_streams_are_seeded_from_the_one_seed_and_differ_by_device(cuda):
    a, b = tinygan.Generator(3), tinygan.Generator(3)
    np.testing.assert_array_equal(backend.to_numpy(a.normal((6,), device="cuda")),
                                  backend.to_numpy(b.normal((6,), device="cuda")))
    assert not np.array_equal(backend.to_numpy(a.normal((6,), device="cuda")),
                              backend.to_numpy(tinygan.Generator(4).normal((6,), device="cuda")))
    # the CPU stream is NumPy's PCG64 from the seed, as it always was
    np.testing.assert_array_equal(tinygan.Generator(3).normal((6,), device="cpu"),
                                  np.random.default_rng(3).standard_normal(6, dtype=np.float32))


def test_old_checkpoints_generator_state_still_loads():
    old = np.random.default_rng(11)
    state = old.bit_generator.state          # what checkpoints held before one stream per device
    expected = old.standard_normal(3, dtype=np.float32)
    gen = tinygan.Generator(11)
    gen.set_state(state)
    np.testing.assert_array_equal(gen.normal((3,), device="cpu"), expected)


def test_manual_seed_survives_a_change_of_default_device(cuda):
    tinygan.manual_seed(42)
    tinygan.use("cuda")
    try:
        drawn = tinygan.randn(5)
        assert _on_device(drawn)
        assert tinygan.default_generator().seed == 42
        expected = tinygan.Generator(42).normal((5,), device="cuda")
        np.testing.assert_array_equal(backend.to_numpy(drawn.array), backend.to_numpy(expected))
    finally:
        tinygan.use("cpu")


# ---- data loaders put batches on the model's device ------------------------------------------
def _tiny_trainer(real_data, gen, num_classes=0):
    G, D = toy_mlp((2,), 2, num_classes, gen, hidden_g=(8,), hidden_d=(8,))
    G.to("cuda"), D.to("cuda")
    return GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), 1e-3),
                      optim.Adam(D.parameters(), 1e-3), real_data, gen, z_dim=2,
                      batch_size=16, num_classes=num_classes)


def test_dataset_batches_from_host_memory_reach_a_model_on_the_device(cuda):
    """MNIST's arrays live in host memory; a model on the GPU must still get its batches."""
    gen = tinygan.Generator(0)
    images = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    labels = np.arange(64) % 3
    trainer = _tiny_trainer(DatasetBatches(images, labels, gen), gen, num_classes=3)
    real, batch_labels = trainer.real_batch()
    assert _on_device(real) and isinstance(batch_labels, standin.StandinArray)
    trainer.train(3, progress=False)
    assert trainer.step == 3 and all(np.isfinite(trainer.history["d_loss"]))
    moved = DatasetBatches(images, labels, gen, device="cuda").next(8)
    assert _on_device(moved[0]) and isinstance(moved[1], standin.StandinArray)


def test_dataloader_shuffles_beside_its_data_and_moves_batches_when_asked(cuda):
    data = TensorDataset(np.arange(10, dtype=np.float32).reshape(5, 2))
    batches = list(DataLoader(data, batch_size=2, shuffle=True, device="cuda",
                              generator=tinygan.Generator(0)))
    assert len(batches) == 3 and all(_on_device(b[0]) for b in batches)
    on_device = TensorDataset(tinygan.ones(6, 2).to("cuda"))
    assert all(_on_device(b[0]) for b in DataLoader(on_device, batch_size=4, shuffle=True))


# ---- host synchronisations ------------------------------------------------------------------
def test_a_training_step_reads_its_numbers_back_in_one_transfer(cuda):
    from tinygan.data.batching import DistributionBatches
    from tinygan.data.toy import sample_ring
    gen = tinygan.Generator(0)
    trainer = _tiny_trainer(DistributionBatches(sample_ring, gen, device="cuda"), gen)
    trainer.d_steps = 2
    trainer.train_step()                          # warm up (lazy state, first draws)
    standin.reset_host_syncs()
    record = trainer.train_step()
    assert standin.host_syncs() == 1
    assert all(isinstance(record[k], float) for k in record)
    assert grad_norm(trainer.G) == pytest.approx(record["grad_norm_g"])


def test_a_conditional_step_reads_its_numbers_back_in_one_transfer(cuda):
    gen = tinygan.Generator(0)
    images = np.random.default_rng(0).standard_normal((64, 2)).astype(np.float32)
    trainer = _tiny_trainer(DatasetBatches(images, np.arange(64) % 3, gen, device="cuda"),
                            gen, num_classes=3)
    trainer.train_step()
    standin.reset_host_syncs()
    trainer.train_step()
    assert standin.host_syncs() == 1


def test_a_nan_is_still_caught_and_named_after_the_one_transfer(cuda):
    from tinygan.data.batching import DistributionBatches
    from tinygan.data.toy import sample_ring
    from tinygan.gan.trainer import TrainingDiverged
    gen = tinygan.Generator(0)
    trainer = _tiny_trainer(DistributionBatches(sample_ring, gen), gen)
    for p in trainer.D.parameters():
        p.array[...] = float("nan")
    with pytest.raises(TrainingDiverged, match="step 1: d_loss is nan"):
        trainer.train_step()


# ---- the stand-in itself refuses what CuPy refuses ----------------------------------------------
def test_standin_refuses_to_mix_with_numpy_and_to_convert_implicitly(cuda):
    x = tinygan.ones(3).to("cuda").array
    with pytest.raises(TypeError, match="stand-in"):
        x + np.ones(3)
    with pytest.raises(TypeError, match="stand-in"):
        np.concatenate([x, np.ones(3)])
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.ones(3)[x.astype(np.int64)]
    with pytest.raises(RuntimeError, match="different devices"):
        tinygan.ones(3) + tinygan.ones(3).to("cuda")
    np.testing.assert_array_equal(backend.to_numpy(x), np.ones(3, np.float32))
    standin.reset_host_syncs()
    x[np.array([0, 1])] = np.zeros(2, np.float32)      # CuPy copies these over: so do we,
    assert standin.host_uploads() == 2                  # counting each copy
    assert backend.to_numpy(x).tolist() == [0.0, 0.0, 1.0]


def test_standin_refuses_the_numpy_features_cupy_lacks(cuda):
    x = tinygan.ones(2, 3).to("cuda").array
    with pytest.raises(TypeError, match="maximum.reduce"):
        np.maximum.reduce(x, axis=0)
    assert float(x.max()) == 1.0                   # x.max() is what CuPy has
    target = backend.module_for_device("cuda").zeros(3, dtype=np.float64)
    with pytest.raises(TypeError, match="float64"):
        standin.xp.scatter_add(target, standin.asarray(np.array([0, 0])), 1.0)


def test_float64_gradients_of_repeated_indices_run_on_the_device(cuda):
    """Indexing's backward scatters with add.at (CuPy has it for float64; cupyx's
    scatter_add, float32-only, would break gradgradcheck in float64)."""
    x = tinygan.tensor(np.random.default_rng(0).standard_normal((4, 3)), dtype=np.float64,
                       device="cuda", requires_grad=True)
    index = standin.asarray(np.array([0, 2, 0, 3]))
    assert tinygan.gradcheck(lambda t: t[index] * t[index], (x,))
    assert tinygan.gradgradcheck(lambda t: t[index] * t[index], (x,))


def test_cuda_is_available_and_names_the_standin(cuda):
    assert tinygan.cuda.is_available() and tinygan.cuda.device_count() == 1
    assert backend.backend_name() == "numpy"          # the default device is the CPU
    assert tinygan.tensor([1.0], device="cuda").device == "cuda"


# ---- backend.py is the only file that asks "numpy or cupy?" --------------------------------------
ASKS_WHICH_MODULE = re.compile(r"\bis (not )?np\b|\bxp is\b|cupy")


@pytest.mark.parametrize("path", ["tinygan/devices/random.py", "tinygan/compat/creation.py",
                                  "tinygan/data/batching.py", "tinygan/nn/init.py",
                                  "tinygan/gan/trainer.py", "tinygan/data/toy.py"])
def test_outside_backend_no_file_asks_numpy_or_cupy(path):
    source = (Path(__file__).parent.parent / path).read_text()
    code = "\n".join(line for line in source.splitlines()
                     if not line.lstrip().startswith("#"))
    code = re.sub(r'"""(.|\n)*?"""', "", code)       # docstrings may name CuPy
    assert not ASKS_WHICH_MODULE.findall(code)


def test_writing_values_into_a_device_tensor(cuda):
    """``t[:] = [[3.0, 4.0]]`` is refused, as PyTorch refuses it ("can't assign a list");
    a tensor made from the list is written on the tensor's device."""
    layer = nn.Linear(2, 1).to("cuda")
    with pytest.raises(TypeError, match="can't assign a list"):
        layer.weight.data[:] = [[3.0, 4.0]]
    layer.weight.data[:] = tinygan.tensor([[3.0, 4.0]], device="cuda")
    assert backend.to_numpy(layer.weight.array).tolist() == [[3.0, 4.0]]


def test_a_check_on_the_device_waits_for_the_next_transfer_and_rides_in_it(cuda):
    """backend.check: what BCE's [0, 1] test and one_hot's label range need on a GPU."""
    with pytest.raises(ValueError, match="labels out of range"):
        backend.check(np.array([True, False]), "labels out of range")   # the CPU: at once
    x = tinygan.tensor([0.5, 2.0], device="cuda").array
    backend.check(x <= 1, "probabilities above 1")
    backend.check(x >= 0, "never raised: this one holds")
    standin.reset_host_syncs()
    with pytest.raises(ValueError, match="probabilities above 1"):
        backend.to_numpy(x.sum())
    assert standin.host_syncs() == 1                 # the flags came with the value
    backend.check(x >= 0, "holds")
    assert backend.to_numpy(x).tolist() == [0.5, 2.0] and not backend._waiting_checks


def test_gradient_penalty_draws_its_interpolation_weights_on_the_datas_device(cuda):
    from tinygan.gan.losses import gradient_penalty
    critic = nn.Linear(2, 1).to("cuda")
    gen = tinygan.Generator(2)
    real, fake = tinygan.randn(8, 2, device="cuda"), tinygan.randn(8, 2, device="cuda")
    penalty = gradient_penalty(critic, real, fake, gen)
    penalty.backward()
    assert _on_device(penalty) and list(gen.get_state()["streams"]) == ["cuda"]


def test_a_dcgan_step_on_host_mnist_makes_one_sync_and_no_hidden_copies(cuda):
    """The issue counted ~25 host synchronisations per DCGAN step; now: the batch moves in
    one explicit copy, and the step's numbers come back in one transfer."""
    from tinygan.gan.dcgan import build_dcgan
    gen = tinygan.Generator(0)
    G, D = build_dcgan("mnist", 16, generator=gen, base_channels=8)
    G.to("cuda"), D.to("cuda")
    images = np.random.default_rng(0).uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
    trainer = GANTrainer(G, D, get_loss("ns"), optim.Adam(G.parameters(), 2e-4),
                         optim.Adam(D.parameters(), 2e-4), DatasetBatches(images, None, gen),
                         gen, z_dim=16, batch_size=16)
    trainer.train_step()
    standin.reset_host_syncs()
    trainer.train_step()
    assert standin.host_syncs() == 1 and standin.host_uploads() == 0
