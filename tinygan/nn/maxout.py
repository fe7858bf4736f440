"""Maxout (Goodfellow et al. 2013, "Maxout Networks"): the original GAN's discriminator unit."""
from __future__ import annotations

from tinygan.nn.linear import Linear
from tinygan.nn.module import Module
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Tensor


class Maxout(Module):
    """Each output is the max of k affine pieces: y_j = max_i (x W_ij^T + b_ij).

    x: (N, in_features) -> y: (N, out_features). Internally one Linear to out*k features,
    viewed as (N, out, k), then a max over the k pieces.
    """

    def __init__(self, in_features: int, out_features: int, pieces: int = 2,
                 generator: Generator | None = None) -> None:
        super().__init__()
        if pieces < 1:
            raise ValueError(f"Maxout: pieces must be >= 1, got {pieces}")
        self.out_features, self.pieces = out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, generator=generator)

    def forward(self, x: Tensor) -> Tensor:
        z = self.linear(x)
        return z.reshape(x.shape[0], self.out_features, self.pieces).amax(2)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}"
