"""Weight initialisation, in place, as ``torch.nn.init``: each function fills a Parameter.

Random values are drawn on the parameter's own device, from that device's stream of the
generator, so initialising a model that was moved with ``.to("cuda")`` never copies.

Fan-in is the number of inputs each output unit sums over (in_features for Linear,
in_channels * kh * kw for a convolution). Keeping Var[w] ~ 1/fan_in keeps activations from
shrinking or exploding layer after layer (Glorot & Bengio 2010; He et al. 2015).
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Tensor, no_grad


def _fans(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in/out needs a tensor with at least 2 dims, got shape {t.shape}")
    receptive = math.prod(t.shape[2:]) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive  # (fan_in, fan_out)


def _fill(t: Tensor, values: Any) -> Tensor:
    """Write ``values`` (a number, or an array drawn on t's own device) into t in place."""
    with no_grad():
        t.array[...] = values
    t._bump_version()
    return t


def _gen(generator: Generator | None) -> Generator:
    return generator or default_generator()


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0, generator: Generator | None = None):
    return _fill(t, _gen(generator).uniform(t.shape, a, b, dtype=t.dtype, device=t.device))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, generator: Generator | None = None):
    """N(mean, std^2); DCGAN initialises every weight with normal_(w, 0.0, 0.02)."""
    return _fill(t, _gen(generator).normal(t.shape, mean, std, dtype=t.dtype, device=t.device))


def constant_(t: Tensor, value: float) -> Tensor:
    return _fill(t, value)


def zeros_(t: Tensor) -> Tensor:
    return _fill(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return _fill(t, 1.0)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps variance steady through a nonlinearity (PyTorch's table)."""
    if nonlinearity in ("linear", "sigmoid", "conv2d", "conv_transpose2d"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    raise ValueError(f"unknown nonlinearity {nonlinearity!r}")


def xavier_uniform_(t: Tensor, gain: float = 1.0, generator: Generator | None = None):
    """Glorot & Bengio 2010: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(t)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a, generator)


def xavier_normal_(t: Tensor, gain: float = 1.0, generator: Generator | None = None):
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(t: Tensor, a: float = 0.0, nonlinearity: str = "leaky_relu",
                     mode: str = "fan_in", generator: Generator | None = None):
    """He et al. 2015: U(-b, b) with b = gain * sqrt(3 / fan)."""
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(t, -bound, bound, generator)


def kaiming_normal_(t: Tensor, a: float = 0.0, nonlinearity: str = "leaky_relu",
                    mode: str = "fan_in", generator: Generator | None = None):
    fan = _fans(t)[0 if mode == "fan_in" else 1]
    return normal_(t, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def default_layer_init_(weight: Tensor, bias: Tensor | None,
                        generator: Generator | None = None) -> None:
    """PyTorch's default for Linear and Conv: kaiming_uniform_(a=sqrt(5)) on the weight,
    i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias."""
    if weight.numel() == 0:   # a layer with 0 inputs or outputs: nothing to draw, and the
        warnings.warn("Initializing zero-element tensors is a no-op", UserWarning,   # bias is
                      stacklevel=3)                                        # 0, as PyTorch's
        if bias is not None:
            with no_grad():
                bias.zero_()
        return
    kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    if bias is not None:
        bound = 1.0 / math.sqrt(_fans(weight)[0])
        uniform_(bias, -bound, bound, generator)
