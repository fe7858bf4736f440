"""Shared test setup.

The whole suite runs on the backend named by TINYGAN_BACKEND (numpy by default; set it to
cupy on a GPU machine). Tests marked ``cpu_only`` are skipped on CuPy, and the ``backend``
fixture runs a test once per available backend.
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
    import torch  # noqa: F401
    HAVE_TORCH = True
except Exception:  # pragma: no cover - depends on the machine
    HAVE_TORCH = False

requires_torch = pytest.mark.skipif(not HAVE_TORCH, reason="PyTorch is not installed")
ON_CUPY = backend.backend_name() == "cupy"


def pytest_collection_modifyitems(config, items):
    if ON_CUPY:
        skip = pytest.mark.skip(reason="CPU-only test (the suite runs on the CuPy backend)")
        for item in items:
            if "cpu_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(params=["numpy", "cupy"])
def each_backend(request):
    """Run the test on NumPy, and again on CuPy when CuPy and a GPU are present."""
    if request.param == "cupy" and not backend.cupy_available():
        pytest.skip("CuPy with a GPU is not available")
    previous = backend.backend_name()
    tinygan.use(request.param)
    yield request.param
    tinygan.use(previous)


@pytest.fixture(autouse=True)
def _fresh_seed():
    tinygan.manual_seed(0)
    yield

