"""tril and triu: the lower (or upper) triangle of the last two dims, the rest zeroed.

Element (i, j) of each matrix is kept where j - i <= k (tril) or j - i >= k (triu), k the
``diagonal`` offset (0: the main diagonal, 1: one above it, -1: one below). Keeping or
zeroing is multiplying by a fixed 0/1 mask, so the gradient is the incoming gradient with
the same entries zeroed: tril's gradient is tril of the gradient.
"""
from __future__ import annotations

from tinygan.devices import backend
from tinygan.engine.arguments import index
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module


class Triangle(Function):
    """y = x with the entries outside the triangle set to 0 (chosen, not multiplied: an inf
    outside gives 0, not NaN); dx = the same triangle of gy."""
    result_layout = "row-major"   # (PyTorch's tril/triu write a row-major result)

    def __init__(self, upper: bool, diagonal: int) -> None:
        self.upper, self.diagonal = upper, diagonal

    def saves(self): return ()

    def forward(self, x):
        xp = xp_of(x)
        return (xp.triu if self.upper else xp.tril)(x, self.diagonal)

    def backward(self, gy): return Triangle(self.upper, self.diagonal)(gy)


def _triangle(name: str, x: Tensor, diagonal: int) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions (got shape "
                           f"{x.shape})")
    return Triangle(name == "triu", index(name, "diagonal", diagonal))(x)


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of each matrix in x's last two dims (j - i <= diagonal kept)."""
    return _triangle("tril", x, diagonal)


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of each matrix in x's last two dims (j - i >= diagonal kept)."""
    return _triangle("triu", x, diagonal)
