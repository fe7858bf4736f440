"""Small helpers shared by tests (importable, unlike conftest)."""
import numpy as np

import tinygan


def t64(array, requires_grad=True):
    """A float64 tensor on the active backend, for gradient checks."""
    data = tinygan.devices.backend.xp().asarray(np.asarray(array, dtype=np.float64))
    return tinygan.Tensor(data, requires_grad=requires_grad, dtype=np.float64)


def to_np(x):
    return tinygan.devices.backend.to_numpy(x.array if isinstance(x, tinygan.Tensor) else x)


def on_device(array, dtype=np.float64):
    """A raw array on the default device (what a test writes into ``.array``)."""
    return tinygan.devices.backend.xp().asarray(np.asarray(array, dtype=dtype))
