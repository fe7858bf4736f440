"""Dropout (Srivastava et al. 2014), inverted: scale in training so eval is the identity.

``Dropout`` drops single elements; ``Dropout2d`` drops whole channels (Tompson et al. 2015,
"Efficient Object Localization Using Convolutional Networks", CVPR): neighbouring pixels of
a feature map are strongly correlated, so dropping pixels one by one hardly regularises a
convolutional layer, while dropping the whole map does.
"""
from __future__ import annotations

import warnings

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.nn.activation import check_inplace, torch_signature
from tinygan.nn.module import Module
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Tensor


def _check_p(layer: str, p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: p must be in [0, 1] (dropout probability has to be between 0 "
                         f"and 1), but got {p}")
    return p


class _DropoutNd(Module):
    """What the dropout layers share (PyTorch's _DropoutNd): p, inplace, a generator."""

    def __init__(self, p: float = 0.5, inplace: bool = False, *,
                 generator: Generator | None = None) -> None:
        super().__init__()
        self.p = _check_p(type(self).__name__, p)
        self.inplace = check_inplace(type(self).__name__, "(p=0.5, inplace=False)", inplace)
        self.generator = generator

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


@torch_signature
class Dropout(_DropoutNd):
    """In training, each element is zeroed with probability p and the rest are multiplied
    by 1/(1-p), so E[output] = input. In eval mode it returns its input unchanged.
    Draws come from ``generator`` (or the default generator) so runs are reproducible.
    ``inplace`` gives the same result (see tinygan/nn/activation.py)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)


def dropout_channels(x: Tensor, p: float, training: bool,
                     generator: Generator | None = None) -> Tensor:
    """Zero each channel x[n, c] (all of it) with probability p, scale the rest by 1/(1-p).

    x: (N, C, ...). The mask has shape (N, C, 1, ..., 1) and broadcasts over the spatial
    dimensions, so the gradient of a dropped channel is zero everywhere.
    """
    F.check_dropout_arguments(p, training)
    if not training or p == 0.0:
        return x
    if x.numel() == 0:   # (nothing to draw: PyTorch's kernel hands back an empty copy)
        return F.clone(x)
    if p == 1.0:   # x times a zero of its own dtype (a bool stays bool, a NaN NaN)
        return x * Tensor(backend.get_array_module(x.array).zeros((), dtype=x.dtype))
    if x.ndim < 2:
        raise RuntimeError(f"dropout2d: Feature dropout requires at least 2 dimensions in "
                           f"the input, got shape {x.shape}")
    if x.ndim == 2:                          # PyTorch drops single elements then, and warns
        warnings.warn("dropout2d: Received a 2-D input to dropout2d, which is deprecated and "
                      "will result in an error in a future release. To retain the behavior "
                      "and silence this warning, please use dropout instead.", UserWarning,
                      stacklevel=3)
    if x.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L).", UserWarning, stacklevel=3)
    mask_shape = x.shape[:2] + (1,) * (x.ndim - 2)
    keep = (generator or default_generator()).bernoulli(mask_shape, 1.0 - p, dtype=x.dtype,
                                                        device=x.device)
    return x * Tensor(keep * x.dtype.type(1.0 / (1.0 - p)))


@torch_signature
class Dropout2d(_DropoutNd):
    """Channel dropout for (N, C, H, W) feature maps (see the module docstring)."""

    def forward(self, x: Tensor) -> Tensor:
        return dropout_channels(x, self.p, self.training, self.generator)
