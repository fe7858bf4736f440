"""tinygan.multiprocessing: a model in shared memory, trained by other processes (Hogwild),
under both start methods; PyTorch's mnist_hogwild example with only its imports changed."""
import os
import subprocess
import sys
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

import numpy as np
import pytest

import tinygan
import tinygan.multiprocessing as mp
from tinygan import nn, optim

# tinygan.multiprocessing shares CPU memory between processes (PyTorch's CUDA IPC has no
# tinygan counterpart): on a device share_memory_ refuses with a clear error.
pytestmark = pytest.mark.cpu_only
from tests.script_runner import DOUBLES, SCRIPTS, rewrite_imports

ROOT = Path(__file__).resolve().parents[1]


def _one_sgd_step(model, queue):
    """In the child: one SGD step on the shared weights, then report its parameter's id."""
    opt = optim.SGD(model.parameters(), lr=1.0)
    model(tinygan.ones(1, 3)).sum().backward()
    opt.step()
    queue.put(tinygan.ones(2))                       # a plain tensor crosses as a copy


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_a_child_process_trains_the_parents_shared_model(method):
    model = nn.Linear(3, 2)
    before = model.weight.numpy().copy()
    assert model.share_memory() is model and model.weight.is_shared()
    ctx = mp.get_context(method)
    queue = ctx.Queue()
    child = ctx.Process(target=_one_sgd_step, args=(model, queue))
    child.start()
    received = queue.get(timeout=60)
    child.join(timeout=60)
    assert child.exitcode == 0
    # d/dW sum(W x + b) = 1 for every entry (x = ones): the child's step moved every weight
    np.testing.assert_allclose(model.weight.numpy(), before - 1.0, rtol=1e-6)
    assert received.tolist() == [1.0, 1.0] and not received.is_shared()


def test_unshared_models_are_copied_and_graphs_refused():
    model = nn.Linear(3, 2)
    before = model.weight.numpy().copy()
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    child = ctx.Process(target=_one_sgd_step, args=(model, queue))
    child.start()
    queue.get(timeout=60)
    child.join(timeout=60)
    np.testing.assert_array_equal(model.weight.numpy(), before)      # the child had a copy
    with pytest.raises(RuntimeError, match="part of a graph"):
        ForkingPickler.dumps(model.weight * 2)
    with pytest.raises(AttributeError, match="Process"):
        mp.spawn  # noqa: B018


def test_pytorch_hogwild_example_runs_with_only_its_imports_changed(tmp_path):
    for name in ("main.py", "train.py"):
        source = (SCRIPTS / "examples_mnist_hogwild" / name).read_text()
        (tmp_path / name).write_text(rewrite_imports(source))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(DOUBLES)]),
               TORCHVISION_DOUBLE_MNIST_SIZE="64", OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "main.py", "--epochs", "1", "--num-processes", "2",
                          "--batch-size", "16", "--test-batch-size", "16", "--log-interval",
                          "1", "--save_model"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    pids = {line.split("\t")[0] for line in out.stdout.splitlines() if "Train Epoch" in line}
    assert len(pids) == 2, out.stdout                    # two processes trained
    assert "Test set: Average loss" in out.stdout and "Traceback" not in out.stderr
    saved = tinygan.load(tmp_path / "MNIST_hogwild.pt")
    assert set(saved) == {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                          "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"}
