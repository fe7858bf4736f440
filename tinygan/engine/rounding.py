"""floor, ceil, trunc, round and sign: step functions.

Each is constant between its steps, so its derivative is 0 wherever it exists (and
undefined on a step, where PyTorch also says 0). The gradient is therefore zeros that
depend on nothing: as in PyTorch, it does not require grad even under create_graph=True,
and a second derivative through it is none.

As PyTorch: an integer tensor comes back as a copy of itself (it holds whole numbers
already) except for round with decimals, which PyTorch refuses for integers; a bool tensor
is refused, but by sign (its sign is itself). round is to the nearest integer, halves to
the even one (2.5 -> 2, -0.5 -> -0), and with ``decimals`` it scales first:
round(x * 10^d) / 10^d, in float32 for float16 and float32 tensors, as PyTorch's kernel.
sign(NaN) and sign(-0.0) are 0 (PyTorch's (0 < x) - (x < 0)).
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np

from tinygan.devices import backend
from tinygan.engine.arguments import integer
from tinygan.engine.tensor import NOT_GIVEN, Function, Tensor

xp_of = backend.get_array_module


class StepFunction(Function):
    """y = rule(x) for a piecewise-constant rule; dy/dx = 0 (a constant: no graph)."""
    elementwise = True
    def __init__(self, rule: Callable[[Any], Any]) -> None: self.rule = rule
    def saves(self): return ()
    def forward(self, x): return self.rule(x)
    def backward(self, gy): return Tensor(xp_of(gy.array).zeros_like(gy.array))


def _whole_numbers(name: str, x: Tensor, rule: Callable[[Any], Any]) -> Tensor:
    if x.dtype == np.bool_:
        raise NotImplementedError(f'"{name}_vml_cpu" not implemented for \'Bool\'; make the '
                                  f'tensor a float or an int first')
    if x.dtype.kind in "iu":                       # already whole: a copy
        return StepFunction(lambda a: a.copy())(x)
    return StepFunction(rule)(x)


def floor(x: Tensor) -> Tensor:
    """The largest whole number <= each element (-0.5 -> -1). Shape and dtype: x's."""
    return _whole_numbers("floor", x, lambda a: xp_of(a).floor(a))


def ceil(x: Tensor) -> Tensor:
    """The smallest whole number >= each element (0.5 -> 1). Shape and dtype: x's."""
    return _whole_numbers("ceil", x, lambda a: xp_of(a).ceil(a))


def trunc(x: Tensor) -> Tensor:
    """Each element with its fraction cut off, toward 0 (-1.7 -> -1). Shape and dtype: x's."""
    return _whole_numbers("trunc", x, lambda a: xp_of(a).trunc(a))


def round(x: Tensor, decimals: Any = NOT_GIVEN) -> Tensor:  # noqa: A001 - torch.round
    """Each element to the nearest whole number, halves to the even one (or to ``decimals``
    places: negative ones round to tens, hundreds ...). Shape and dtype: x's. An integer
    tensor is its own rounding, but PyTorch has no kernel for one when decimals is given
    (even 0), so that raises."""
    decimals = None if decimals is NOT_GIVEN else integer("round", "decimals", decimals)
    if decimals is not None and x.dtype.kind in "biu":
        kernel = "round_vml_cpu" if decimals == 0 else "round_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{x.dtype}\' (round with '
                                  f'decimals={decimals}); round a float tensor')
    decimals = 0 if decimals is None else decimals
    if decimals == 0:
        return _whole_numbers("round", x, lambda a: xp_of(a).rint(a))
    if x.dtype.kind in "biu":
        raise NotImplementedError(f"round(decimals={decimals}): PyTorch's kernel is not "
                                  f"implemented for {x.dtype} tensors; round a float one")

    def scaled(a: Any) -> Any:
        xp = xp_of(a)
        working = np.float64 if a.dtype == np.float64 else np.float32
        scale = working(10.0 ** abs(decimals))
        b = a.astype(working)
        b = xp.rint(b / scale) * scale if decimals < 0 else xp.rint(b * scale) / scale
        return b.astype(a.dtype)
    return StepFunction(scaled)(x)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by each element's sign (0 for 0, -0 and NaN). Shape and dtype: x's."""
    def rule(a: Any) -> Any:
        if a.dtype == np.bool_:
            return a.copy()
        return (a > 0).astype(a.dtype) - (a < 0).astype(a.dtype)
    return StepFunction(rule)(x)
