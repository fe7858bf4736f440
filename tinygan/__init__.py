"""tinygan: Generative Adversarial Networks from scratch, on NumPy (or CuPy).

The names a PyTorch user looks for are here: ``tinygan.tensor``, ``tinygan.randn``,
``tinygan.no_grad``, ``tinygan.nn``, ``tinygan.optim``, ``tinygan.manual_seed``.
"""
from tinygan import backend
from tinygan.backend import use
from tinygan.creation import (arange, cat, device, empty, float32, float64, from_numpy, full,
                              ones, ones_like, rand, randint, randn, randn_like, stack, tensor,
                              zeros, zeros_like)
from tinygan.random import Generator, default_generator, manual_seed
from tinygan.tensor import (Parameter, Tensor, enable_grad, grad, is_grad_enabled, no_grad,
                            set_grad_enabled)
from tinygan import functional, cuda  # noqa: E402
from tinygan.gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from tinygan import nn, optim  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Parameter", "tensor", "from_numpy", "zeros", "ones", "full", "empty", "arange",
    "zeros_like", "ones_like", "randn", "randn_like", "rand", "randint", "cat", "stack",
    "float32", "float64", "device", "no_grad", "enable_grad", "set_grad_enabled",
    "is_grad_enabled", "grad", "Generator", "manual_seed", "default_generator", "use",
    "backend", "functional", "nn", "optim", "cuda", "gradcheck", "gradgradcheck",
    "GradcheckError",
]
