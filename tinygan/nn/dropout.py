"""Dropout (Srivastava et al. 2014), inverted: scale in training so eval is the identity."""
from __future__ import annotations

from tinygan import functional as F
from tinygan.nn.module import Module
from tinygan.random import Generator
from tinygan.tensor import Tensor


class Dropout(Module):
    """In training, each element is zeroed with probability p and the rest are multiplied
    by 1/(1-p), so E[output] = input. In eval mode it returns its input unchanged.
    Draws come from ``generator`` (or the default generator) so runs are reproducible."""

    def __init__(self, p: float = 0.5, generator: Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"
