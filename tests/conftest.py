"""Shared test setup.

The whole suite runs on the backend named by TINYGAN_BACKEND: numpy by default; cupy on a
GPU machine; standin (tinygan/devices/standin.py) to run it with the CPU stand-in device as "cuda",
which CI does on every commit. Tests marked ``cpu_only`` are skipped when the default device
is not the CPU; so are those marked ``host_only`` (files, processes and grading, where the
device takes no part: they run in the CPU pass, and skipping them in the device pass keeps
CI short), and the ``each_backend`` fixture runs a test on the CPU and again on "cuda"
when there is one (CuPy, or the stand-in while it is active).
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

import tinygan
from tinygan import backend

os.environ.setdefault("MPLBACKEND", "Agg")

settings.register_profile("ci", max_examples=15, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

try:
    import torch as _torch_probe  # noqa: F401
    HAVE_TORCH = True
except Exception:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
ON_DEVICE = backend.default_device() != "cpu"   # the suite runs on CuPy or the stand-in
ON_CUPY = backend.backend_name() == "cupy"


def pytest_collection_modifyitems(config, items):
    if ON_DEVICE:
        skip = pytest.mark.skip(reason=f"CPU-only test (the suite runs on "
                                       f"{backend.backend_name()})")
        host = pytest.mark.skip(reason="host-only test (files, processes, grading: the "
                                       "device takes no part); it runs in the CPU pass")
        for item in items:
            if "cpu_only" in item.keywords:
                item.add_marker(skip)
            elif "host_only" in item.keywords:
                item.add_marker(host)


@pytest.fixture(params=["cpu", "cuda"])
def each_backend(request):
    """Run the test with the CPU as the default device, and again with "cuda": CuPy on a
    GPU machine, else the stand-in device (tinygan/devices/standin.py), so the second run happens on
    every machine. Yields the backend's name ("numpy", "cupy" or "standin")."""
    saved = backend._accelerator, backend._default_device
    if request.param == "cuda" and not backend.accelerator_available():
        tinygan.use("standin")
    tinygan.use(request.param)
    yield backend.backend_name()
    backend._accelerator, backend._default_device = saved


@pytest.fixture
def cuda_device():
    """"cuda" for this test: CuPy on a GPU machine, else the stand-in device; new tensors are
    still made on the CPU (a script written PyTorch's way moves them)."""
    saved = backend._accelerator, backend._default_device
    if not backend.accelerator_available():
        tinygan.use("standin")
    tinygan.use("cpu")
    yield "cuda"
    backend._accelerator, backend._default_device = saved


@pytest.fixture(autouse=True)
def _fresh_seed():
    tinygan.manual_seed(0)
    yield
    backend._waiting_checks.clear()   # a device check one test left unread is not the next's


@pytest.fixture(scope="module")
def torch():
    """PyTorch for a differential test, or the test skips (PyTorch is optional)."""
    return pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")
