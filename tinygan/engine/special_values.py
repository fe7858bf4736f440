"""isnan, isinf, isfinite: which elements hold the special values of floating point.

A NaN is the one number unequal to itself (NaN != NaN), so ``x != x`` finds it too; inf
and -inf are what overflow leaves (a diverging discriminator's loss). The answers are bool
tensors with no gradient. Integer and bool tensors hold neither: all False, or all True
for isfinite.
"""
from __future__ import annotations

from tinygan.devices import backend
from tinygan.engine.tensor import Tensor

xp_of = backend.get_array_module


def isnan(x: Tensor) -> Tensor:
    """True where an element is NaN. Shape: x's; dtype bool."""
    return Tensor(xp_of(x.array).isnan(x.array))


def isinf(x: Tensor) -> Tensor:
    """True where an element is inf or -inf. Shape: x's; dtype bool."""
    return Tensor(xp_of(x.array).isinf(x.array))


def isfinite(x: Tensor) -> Tensor:
    """True where an element is neither NaN nor infinite. Shape: x's; dtype bool."""
    return Tensor(xp_of(x.array).isfinite(x.array))
