"""Bitwise and logical ops: &, |, ^ on masks and integers, and logical_and/or/xor/not.

``a & b`` is bitwise: bool & bool is a bool (a mask of both conditions), an integer & an
integer works bit by bit, in the dtype PyTorch's promotion gives (a Python number on either
side counts as a scalar: ``b & 1`` of a bool mask is int64, ``b & True`` stays bool).
Floats have no bits to combine, and PyTorch refuses them; so does tinygan.

The logical forms read any tensor as a truth value (nonzero, and NaN, count as True) and
always give bools; PyTorch requires both of their arguments to be tensors.

None of these has a gradient: the results are integers or bools, which carry none.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.layout import as_elementwise_result
from tinygan.engine.tensor import Tensor

xp_of = backend.get_array_module


def _bitwise(op: str, a: Any, b: Any) -> Tensor:
    a, b = F._as_tensor(a, like=(a, b)), F._as_tensor(b, like=(a, b))
    wide = F.result_type(a, b)
    if wide.kind not in "biu":
        raise NotImplementedError(f'"{op}_cpu" not implemented for '
                                  f"'{F._TORCH_NAMES.get(wide, str(wide))}' (dtypes "
                                  f"{a.dtype}, {b.dtype}, shapes {a.shape}, {b.shape}); "
                                  f"for masks of floats compare first, e.g. (x > 0) & (y > 0)")
    xp = xp_of(a.array)
    result = getattr(xp, op)(a.array.astype(wide, copy=False), b.array.astype(wide, copy=False))
    return Tensor(as_elementwise_result(result, [a.array, b.array]))   # (PyTorch's layout)


def bitwise_and(input: Any, other: Any) -> Tensor:  # noqa: A002 - PyTorch's names
    """input & other, bit by bit (bools: both true)."""
    return _bitwise("bitwise_and", input, other)


def bitwise_or(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input | other, bit by bit (bools: either true)."""
    return _bitwise("bitwise_or", input, other)


def bitwise_xor(input: Any, other: Any) -> Tensor:  # noqa: A002
    """input ^ other, bit by bit (bools: exactly one true)."""
    return _bitwise("bitwise_xor", input, other)


def _truth(op: str, name: str, x: Any) -> Any:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument '{name}' must be Tensor, not {type(x).__name__}; "
                        f"wrap it: tinygan.tensor({x!r})")
    return x.array != 0


def _logical(op: str, combine: str, input: Any, other: Any) -> Tensor:  # noqa: A002
    a, b = _truth(op, "input", input), _truth(op, "other", other)
    try:
        result = getattr(xp_of(a), combine)(a, b)
        return Tensor(as_elementwise_result(result, [input.array, other.array]))
    except ValueError:
        raise RuntimeError(f"{op}: the shapes {input.shape} and {other.shape} do not "
                           f"broadcast") from None


def logical_and(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Where both are nonzero (a bool tensor)."""
    return _logical("logical_and", "logical_and", input, other)


def logical_or(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Where either is nonzero (a bool tensor)."""
    return _logical("logical_or", "logical_or", input, other)


def logical_xor(input: Tensor, other: Tensor) -> Tensor:  # noqa: A002
    """Where exactly one is nonzero (a bool tensor)."""
    return _logical("logical_xor", "logical_xor", input, other)


def logical_not(input: Tensor) -> Tensor:  # noqa: A002
    """Where input is zero (a bool tensor; NaN counts as nonzero)."""
    truth = _truth("logical_not", "input", input)
    return Tensor(xp_of(truth).logical_not(truth))
