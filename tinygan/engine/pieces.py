"""Cutting a tensor into pieces along one dim: split, chunk, unbind, narrow.

Each piece is a view: a basic index of the tensor (``x[:, 2:4]``, ``x[:, 3]``), sharing its
memory and version counter, with GetItem's gradient (the piece's gradient put back in its
place, zeros elsewhere). So the ops below are composites of ``getitem``, and the gradient of
x, summed over the pieces, is the pieces' gradients laid side by side - what PyTorch's
SplitBackward computes with a cat.

One rule is new, PyTorch's for views made by an op that returns *several* views at once
(split, chunk, unbind): such a piece may not be written in place while autograd records,
where its base requires grad (or the write would make it so), and once its base or a sibling
has been written in place, the piece can no longer be used where autograd needs its place in
the graph. The reason: rewriting the graph after an in-place write through one view means
replaying how that view was cut from its base (see CopySlices in engine/tensor.py), and
PyTorch's multi-output nodes cannot be replayed one output at a time. tinygan could replay
them, but then a program would work here and fail in PyTorch; it raises where PyTorch does,
and says what to write instead: ``x[:, 2:4]`` (a single view) or ``.clone()`` of the piece.

Sizes, as PyTorch: ``split(x, s)`` gives pieces of s (the last may be shorter; one empty
piece for an empty dim); ``split(x, [a, b, c])`` pieces of exactly those sizes, which must
add up to the dim; ``chunk(x, k)`` is ``split(x, ceil(n / k))``, so it may give fewer than k
pieces; ``unbind(x, d)`` removes dim d, one piece per index; ``narrow(x, d, start, length)``
is the single view ``x[..., start:start + length, ...]`` (an ordinary view: writable).
"""
from __future__ import annotations

from typing import Any, Sequence

from tinygan.engine import functional as F
from tinygan.engine.arguments import index, integer
from tinygan.engine.tensor import Tensor, wrap_dim




def _cut(x: Tensor, dim: int, start: int, stop: int) -> Tensor:
    """x[..., start:stop, ...] along ``dim``: a view."""
    return F.getitem(x, (slice(None),) * dim + (slice(start, stop),))


def _pieces(x: Tensor, dim: int, sizes: Sequence[int]) -> tuple[Tensor, ...]:
    """Views of x of the given sizes along ``dim``, marked as outputs of one multi-view op."""
    out, start = [], 0
    for size in sizes:
        piece = _cut(x, dim, start, start + size)
        piece._multi_output = True
        out.append(piece)
        start += size
    return tuple(out)


def _check_split_input(op: str, x: Any, dim: Any) -> int:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}(): argument 'input' must be Tensor, not {type(x).__name__}")
    if x.ndim == 0:
        raise RuntimeError(f"{op} expects at least a 1-dimensional tensor, got shape "
                           f"{x.shape}")
    return wrap_dim(dim, x.ndim, op)


def split(tensor: Tensor, split_size_or_sections: int | Sequence[int],
          dim: int = 0) -> tuple[Tensor, ...]:
    """Views of ``tensor`` along ``dim``: pieces of ``split_size_or_sections`` elements each
    (an int; the last piece may be shorter), or of the listed sizes (which must add up to
    the dim's size). Shapes: the input's, with ``dim`` replaced by each piece's size."""
    if isinstance(split_size_or_sections, Tensor) and split_size_or_sections.numel() == 1:
        # (PyTorch's Tensor.split reads a one-element tensor by int(), of any dtype)
        split_size_or_sections = int(split_size_or_sections)
    if isinstance(split_size_or_sections, (list, tuple, Tensor)):
        return split_with_sizes(tensor, split_size_or_sections, dim)
    d = _check_split_input("split", tensor, dim)
    size = index("split", "split_size", split_size_or_sections)
    n = tensor.shape[d]
    if size < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got "
                           f"split_size={size}")
    if size == 0 and n != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                           f"dimension size of {n}")
    count = max(-(-n // size), 1) if size else 1
    last = size - (size * count - n)
    return _pieces(tensor, d, [size] * (count - 1) + [last])


def split_with_sizes(tensor: Tensor, split_sizes: Sequence[int],
                     dim: int = 0) -> tuple[Tensor, ...]:
    d = _check_split_input("split_with_sizes", tensor, dim)
    if not isinstance(split_sizes, (tuple, list)):
        raise TypeError(f"split_with_sizes(): argument 'split_sizes' (position 1) must be "
                        f"tuple of ints, not {type(split_sizes).__name__}")
    sizes = [index("split_with_sizes", "split_sizes", s) for s in split_sizes]
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                           f"entries, but got split_sizes={sizes}")
    if sum(sizes) != tensor.shape[d]:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to "
                           f"{tensor.shape[d]} (input tensor's size at dimension {d}), but "
                           f"got split_sizes={sizes}")
    return _pieces(tensor, d, sizes)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """``split(input, ceil(n / chunks), dim)``: at most ``chunks`` views along ``dim``
    (fewer where the sizes do not come out even: 6 in 4 chunks is 3 pieces of 2)."""
    d = _check_split_input("chunk", input, dim)
    k = integer("chunk", "chunks", chunks)
    if k <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {k}")
    n = input.shape[d]
    size = -(-n // k)
    if size == 0:   # an empty dim: ``chunks`` empty pieces
        return _pieces(input, d, [0] * k)
    return split(input, size, d)


def unbind(input: Tensor, dim: int = 0) -> tuple[Tensor, ...]:  # noqa: A002
    """The slices of ``input`` along ``dim``, that dim removed: n views of shape
    input.shape without dim."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unbind(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim == 0:
        raise IndexError(f"unbind: Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, input.ndim, "unbind")
    out = []
    for i in range(input.shape[d]):
        piece = F.getitem(input, (slice(None),) * d + (i,))
        piece._multi_output = True
        out.append(piece)
    return tuple(out)


def narrow(input: Tensor, dim: int, start: int | Tensor, length: int) -> Tensor:  # noqa: A002
    """The view ``input[..., start:start + length, ...]`` along ``dim`` (a negative start
    counts from the end), checked as PyTorch checks it."""
    if not isinstance(input, Tensor):
        raise TypeError(f"narrow(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if input.ndim == 0:
        raise RuntimeError(f"narrow() cannot be applied to a 0-dim tensor (shape "
                           f"{input.shape}); unsqueeze it first")
    d = wrap_dim(dim, input.ndim, "narrow")
    start, length = integer("narrow", "start", start), index("narrow", "length", length)
    n = input.shape[d]
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -n <= start <= n:
        raise IndexError(f"start out of range (expected to be in range of [{-n}, {n}], but "
                         f"got {start})")
    if start < 0:
        start += n
    if start + length > n:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({n}).")
    return _cut(input, d, start, start + length)
