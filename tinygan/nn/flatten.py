"""Flatten and Unflatten: reshapes between image tensors and vectors."""
from __future__ import annotations

from typing import Sequence

from tinygan.nn.module import Module
from tinygan.tensor import Tensor


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): dimensions from start_dim to the end become one."""

    def __init__(self, start_dim: int = 1) -> None:
        super().__init__()
        self.start_dim = start_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim)


class Unflatten(Module):
    """(N, C*H*W) -> (N, C, H, W): dimension ``dim`` is split into ``sizes``."""

    def __init__(self, dim: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.sizes = dim, tuple(sizes)

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim % x.ndim
        return x.reshape(x.shape[:dim] + self.sizes + x.shape[dim + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, sizes={self.sizes}"
