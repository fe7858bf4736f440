"""The NumPy/CuPy switch: errors that say how to get CuPy, device mixing, and the same
numbers on both devices ("cuda" is CuPy on a GPU machine, else the stand-in device)."""
import numpy as np
import pytest

import tinygan
from tinygan import backend
from tinygan import functional as F
from tests.helpers import to_np

needs_no_gpu = pytest.mark.skipif(backend.accelerator_available(),
                                  reason="'cuda' is available (CuPy with a GPU, or the stand-in)")


@needs_no_gpu
def test_asking_for_cupy_without_it_says_how_to_install():
    with pytest.raises(backend.BackendError, match=r'pip install "tinygan\[gpu\]"'):
        tinygan.use("cupy")
    with pytest.raises(backend.BackendError, match="CuPy"):
        tinygan.tensor([1.0]).to("cuda")
    with pytest.raises(backend.BackendError, match="CuPy"):
        tinygan.nn.Linear(2, 2).to("cuda")
    assert not tinygan.cuda.is_available()
    assert backend.backend_name() == "numpy"  # a failed switch leaves the backend alone


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="numpy.*cupy"):
        tinygan.use("tensorflow")


def test_array_module_and_device_of_numpy_data():
    x = tinygan.tensor([1.0], device="cpu")
    assert backend.get_array_module(x.array) is np
    assert x.device == "cpu" and x.to("cpu") is x
    assert tinygan.device("cpu") == "cpu" and str(tinygan.device("cuda:0")) == "cuda"


def test_mixing_cpu_and_gpu_tensors_names_both_devices(cuda_device):
    a = tinygan.tensor([1.0, 2.0], device="cpu")
    b = tinygan.tensor([1.0, 2.0]).to("cuda")
    with pytest.raises(RuntimeError, match="cpu.*cuda|cuda.*cpu"):
        a + b


def test_gpu_and_cpu_agree_on_a_small_network(cuda_device):
    layer = tinygan.nn.Sequential(tinygan.nn.Linear(5, 4), tinygan.nn.LeakyReLU(0.2),
                                  tinygan.nn.Linear(4, 1))
    x = tinygan.randn(8, 5)
    y_cpu = layer(x)
    F.binary_cross_entropy_with_logits(y_cpu, tinygan.ones_like(y_cpu)).backward()
    g_cpu = to_np(layer[0].weight.grad)
    layer.zero_grad()
    layer.to("cuda")
    y_gpu = layer(x.to("cuda"))
    assert y_gpu.device == "cuda"
    F.binary_cross_entropy_with_logits(y_gpu, tinygan.ones_like(y_gpu)).backward()
    np.testing.assert_allclose(to_np(y_gpu), to_np(y_cpu), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_np(layer[0].weight.grad), g_cpu, rtol=1e-4, atol=1e-6)


def test_ops_run_on_each_backend(each_backend):
    x = tinygan.tensor([[0.5, -1.0], [2.0, 0.0]], requires_grad=True)
    assert x.device == ("cpu" if each_backend == "numpy" else "cuda")
    loss = F.binary_cross_entropy_with_logits(x @ x.T, tinygan.ones(2, 2))
    loss.backward()
    assert x.grad.shape == (2, 2) and np.isfinite(to_np(x.grad)).all()
