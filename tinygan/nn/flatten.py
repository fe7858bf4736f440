"""Flatten and Unflatten: reshapes between image tensors and vectors."""
from __future__ import annotations

from typing import Sequence

from tinygan.nn.module import Module
from tinygan.engine.tensor import Tensor


class Flatten(Module):
    """(N, C, H, W) -> (N, C*H*W): dimensions start_dim..end_dim become one."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """(N, C*H*W) -> (N, C, H, W): dimension ``dim`` is split into ``unflattened_size``
    (one entry may be -1, as in view)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        if not isinstance(unflattened_size, (tuple, list)) or not all(
                isinstance(s, int) for s in unflattened_size):
            raise TypeError(f"nn.Unflatten(dim, unflattened_size): unflattened_size must be "
                            f"a tuple of ints, got {unflattened_size!r}")
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.unflattened_size

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
