"""Activation layers: thin Modules around the functions in tinygan.functional."""
from __future__ import annotations

from tinygan import functional as F
from tinygan.nn.module import Module
from tinygan.tensor import Tensor


class ReLU(Module):
    """max(x, 0). Units whose input stays negative get zero gradient ("dead" units)."""
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x. With slope 0 it is ReLU; GAN discriminators use
    0.2 (Radford et al. 2015) so gradients reach the generator through every unit."""
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x), in (0, 1): a probability. Saturates (gradient ~ 0) for large |x|."""
    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """tanh(x), in (-1, 1): the generator's output layer, matching pixels scaled to [-1, 1]."""
    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Softplus(Module):
    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x)


class Identity(Module):
    def forward(self, x: Tensor) -> Tensor:
        return x
