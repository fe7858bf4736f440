"""``F.pad``: add (or, with negative sizes, cut) elements at the ends of the last dims.

``pad = (left, right)`` pads the last dim, ``(left, right, top, bottom)`` the last two, and so
on: pairs from the last dim backwards, as PyTorch orders them. Four modes:

    constant   the new elements hold ``value`` (0 by default): image-to-image GANs' ZeroPad2d
    reflect    mirror at the edge without repeating it:  [a b c d] -> b | a b c d | c
    replicate  repeat the edge element:                  [a b c d] -> a | a b c d | d
    circular   wrap around:                              [a b c d] -> d | a b c d | a

Gradients. Constant padding copies x into a larger array, so its gradient is gy with the
padding cut off - which is constant padding by the negated sizes (and that is also the
gradient of cutting, so the op's backward is the op itself, second derivatives included).
The other modes read every output element from one input element: a gather
``x[..., rows, cols]`` whose gradient adds each output's gradient onto its source (an edge
element of a reflected image gets its own gradient plus its mirror image's). The gather is
one advanced index over the output in row-major order, the order PyTorch's padding
backward kernels add in.

The non-constant modes work on the last 1, 2 or 3 dims of a tensor with one or two more
(batched or not), as PyTorch's; an int tensor pads with ``value`` cast to its dtype.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.engine.functional import GetItem
from tinygan.engine.layout import copy_preserving, laid_out_like
from tinygan.engine.tensor import Function, Tensor

MODES = ("constant", "reflect", "replicate", "circular")


def source_index(size: int, before: int, after: int, mode: str, xp: Any) -> Any:
    """For each output position along one dim (``before + size + after`` of them), the input
    position it reads in a non-constant mode (before/after may be negative: a cut)."""
    i = xp.arange(-before, size + after)
    if mode == "replicate":
        return xp.clip(i, 0, size - 1)
    if mode == "circular":   # PyTorch cuts first, then wraps around what is left
        start, kept = max(-before, 0), size + min(before, 0) + min(after, 0)
        return start + (xp.arange(-max(before, 0), kept + max(after, 0)) % max(kept, 1))
    i = xp.abs(i)                                       # reflect: mirror the low side,
    return xp.where(i > size - 1, 2 * (size - 1) - i, i)  # then the high side


class ConstantPad(Function):
    """y = x with ``pads`` (before, after) per dim, first dim first, filled with ``value``;
    negative sizes cut. Backward: the same op with the sizes negated (and 0 as the fill)."""
    result_layout = "own"   # (as x: see forward)

    def __init__(self, pads: tuple[tuple[int, int], ...], value: Any) -> None:
        self.pads, self.value = pads, value

    def saves(self): return ()

    def forward(self, x):
        xp = backend.get_array_module(x)
        shape = tuple(n + a + b for n, (a, b) in zip(x.shape, self.pads))
        y = xp.full(shape, self.value, dtype=x.dtype)
        source = tuple(slice(max(-a, 0), n - max(-b, 0)) for n, (a, b) in zip(x.shape, self.pads))
        if all(a <= 0 and b <= 0 for a, b in self.pads):
            # only cuts (or nothing): PyTorch clones the cut input, keeping its layout
            return copy_preserving(x[source])
        target = tuple(slice(max(a, 0), m - max(b, 0)) for m, (a, b) in zip(shape, self.pads))
        y[target] = x[source]
        return laid_out_like(y, x)   # channels-last in, channels-last out (engine/layout.py)

    def backward(self, gy: Tensor) -> Tensor:
        return ConstantPad(tuple((-a, -b) for a, b in self.pads), 0)(gy)


def _pairs(pad: Sequence[int], ndim: int) -> tuple[tuple[int, int], ...]:
    """PyTorch's flat (last dim first) pad list as (before, after) per dim, first dim first."""
    per_dim = [(0, 0)] * ndim
    for k in range(len(pad) // 2):
        per_dim[ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return tuple(per_dim)


def _check_pad(pad: Any, ndim: int) -> tuple[int, ...]:
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' must be tuple of ints, not {type(pad).__name__}")
    for k, p in enumerate(pad):
        if not isinstance(p, (int, np.integer)) or isinstance(p, (bool, np.bool_)):
            raise TypeError(f"pad(): argument 'pad' must be tuple of ints, but found element "
                            f"of type {type(p).__name__} at pos {k}")
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) > 2 * ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {ndim}")
    return tuple(int(p) for p in pad)


def _check_mode_sizes(mode: str, x: Tensor, pairs: tuple[tuple[int, int], ...],
                      padded: int) -> None:
    """PyTorch's checks for the reflect / replicate / circular kernels."""
    if not padded or x.ndim not in (padded + 1, padded + 2):
        raise NotImplementedError(f"Padding size {2 * padded} is not supported for {x.ndim}D "
                                  f"input tensor.")
    dims = range(x.ndim - padded, x.ndim)
    first = 1 if x.ndim == padded + 2 else 0   # a batch dim may be empty, no other
    if mode != "circular" and any(x.shape[d] == 0 for d in range(first, x.ndim)):
        raise RuntimeError(f"pad (mode '{mode}'): expected a tensor with possibly 0 batch size "
                           f"and other non-zero dimensions, but got: {list(x.shape)}")
    for d in dims:
        n, (a, b) = x.shape[d], pairs[d]
        if mode == "reflect" and not (a < n and b < n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({a}, {b}) "
                               f"at dimension {d} of input {list(x.shape)}")
        kept = n + min(a, 0) + min(b, 0)     # what is left after the cuts
        if mode == "circular" and (a > n or b > n or max(a, 0) > kept or max(b, 0) > kept):
            # (where the cuts leave less than the padding, PyTorch 2.13 raises or returns
            # memory it never wrote; tinygan raises)
            raise RuntimeError(f"Padding value causes wrapping around more than once: padding "
                               f"({a}, {b}) of a dim of size {n} ({max(kept, 0)} left after "
                               f"the cuts)")
        if n + a + b < 0:
            raise RuntimeError(f"pad (mode '{mode}'): negative output size {n + a + b} at dim "
                               f"{d} (input size {n}, padding ({a}, {b}))")
    out = [x.shape[d] + sum(pairs[d]) for d in dims]
    if mode != "circular" and max(out) < 1:   # (PyTorch: one empty padded dim is allowed)
        raise RuntimeError(f"input {[x.shape[d] for d in dims]} is too small. Calculated "
                           f"output {out}")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",  # noqa: A002
        value: float | None = None) -> Tensor:
    """input padded at the ends of its last ``len(pad) // 2`` dims (see the module text).
    Shape: each padded dim grows by its (before + after); a new tensor, never a view."""
    if not isinstance(input, Tensor):
        raise TypeError(f"pad(): argument 'input' must be Tensor, not {type(input).__name__}")
    sizes = _check_pad(pad, input.ndim)
    if mode not in MODES:
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = _pairs(sizes, input.ndim)
    if mode == "constant":
        for d, (n, (a, b)) in enumerate(zip(input.shape, pairs)):
            if n + min(a, 0) < 0 or n + min(a, 0) + min(b, 0) < 0:   # (PyTorch cuts first)
                raise RuntimeError(f"The input size {n}, plus negative padding {a} and {b} "
                                   f"resulted in a negative output size, which is invalid. "
                                   f"Check dimension {d} of your input.")
        fill = 0 if value is None else value
        if input.dtype.kind in "iub":   # PyTorch casts the fill to the tensor's dtype
            fill = input.dtype.type(int(fill) if input.dtype.kind != "b" else bool(fill))
        return ConstantPad(pairs, fill)(input)
    if value is not None and value != 0:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    padded = len(sizes) // 2
    _check_mode_sizes(mode, input, pairs, padded)
    if input.dtype == np.bool_ and mode != "circular":   # (PyTorch has no bool kernels)
        kernel = "reflection" if mode == "reflect" else "replication"
        raise NotImplementedError(f'"{kernel}_pad{padded}d" not implemented for \'Bool\'')
    xp = backend.get_array_module(input.array)
    index = [source_index(input.shape[d], *pairs[d], mode, xp)
             for d in range(input.ndim - padded, input.ndim)]
    # one gather over the output grid: index k varies along padded axis k
    grid = tuple(i.reshape((1,) * k + (-1,) + (1,) * (padded - k - 1))
                 for k, i in enumerate(index))
    if mode == "circular":   # (PyTorch's circular padding: a composite of copies, row-major)
        return CircularGather((Ellipsis,) + grid)(input)
    return PadGather((Ellipsis,) + grid)(input)


class CircularGather(GetItem):
    """The gather of circular padding, its result row-major as PyTorch's (a gather of
    NumPy's lays the result out in the order of its index arrays)."""
    def forward(self, x, *index_tensors):
        y = super().forward(x, *index_tensors)
        return y if y.flags.c_contiguous else y.copy(order="C")


class PadGather(GetItem):
    """The gather of reflect and replicate padding. PyTorch's backward for these modes is
    one node that reads x (for its shape), so with create_graph the gradient requires grad
    whenever x does, and a second grad() of it runs (to zeros, in x's direction) rather
    than raise; ``backward_reads`` gives tinygan's the same link (engine/tensor.py). That
    node keeps x, so writing x in place before backward is refused, as in PyTorch."""
    result_layout = "own"
    backward_reads, backward_reads_give_zeros = (0,), True

    def saves(self): return (0,)

    def forward(self, x, *index_tensors):   # PyTorch's layout (engine/layout.py)
        return laid_out_like(super().forward(x, *index_tensors), x)
