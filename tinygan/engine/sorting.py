"""sort and topk: a permutation found without gradients, then a differentiable gather.

Sorting x along a dimension has two parts. Finding the order (which element goes where) is
a comparison, not arithmetic: it has no derivative, and the indices it returns are integers.
Applying the order is a gather,

    values[..., j, ...] = x[..., indices[..., j, ...], ...]        (along ``dim``)

which is linear in x: each output element is one input element. Its gradient sends every
output gradient back to the place its value came from,

    dL/dx[..., indices[j], ...] += dL/dvalues[..., j, ...]

and ``take_along_dim`` (engine/functional.py) is exactly that gather, with exactly that
gradient (a scatter-add), second derivatives included. So both ops below are composites: the
order from the array library, the values through take_along_dim.

Order of ties and NaN, as PyTorch: NaN counts as larger than every number (last when
ascending, first when descending), and ``stable=True`` keeps equal elements in their
original order. Without it PyTorch sorts and selects with the C++ library's unstable
algorithms, and tinygan replays them where the order shows (rows with ties, topk's
``sorted=False``; engine/tie_order.py).
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any

from tinygan.devices import backend
from tinygan.engine.arguments import flag, index
from tinygan.engine import functional as F
from tinygan.engine.layout import empty_preserving
from tinygan.engine.tensor import NOT_GIVEN, Tensor, wrap_dim
from tinygan.engine.tie_order import LONGEST, pytorch_sort_order, pytorch_topk_order

# torch.return_types.sort / topk: a named pair, so ``values, indices = x.sort()`` and
# ``x.sort().values`` both work
SortResult = namedtuple("sort", ["values", "indices"])
TopkResult = namedtuple("topk", ["values", "indices"])


def _order(array: Any, axis: int, descending: bool) -> Any:
    """The stable sorting permutation of ``array`` along ``axis`` (int64 indices)."""
    xp = backend.get_array_module(array)
    if not descending:
        return xp.argsort(array, axis=axis, kind="stable").astype(xp.int64)
    # Descending and still stable (equal elements in their original order): sort the
    # reversed array ascending, read that order backwards, and map the positions back.
    # (Negating the values would not do: it fails for bool and unsigned, and NaN stays last.)
    n = array.shape[axis]
    reversed_order = xp.argsort(xp.flip(array, axis=axis), axis=axis, kind="stable")
    return (n - 1 - xp.flip(reversed_order, axis=axis)).astype(xp.int64)


def _check(op: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")




def sort(x: Tensor, *positional: Any, dim: Any = NOT_GIVEN, descending: Any = NOT_GIVEN,
         stable: Any = NOT_GIVEN) -> SortResult:
    """x sorted along ``dim``: ``(values, indices)``, both of x's shape, with
    ``values = x.take_along_dim(indices, dim)`` (gradients flow to x through the values).
    PyTorch's two signatures: sort(x, dim=-1, descending=False), and with ``stable`` given,
    sort(x, *, stable, dim=-1, descending=False), where dim and descending go by name."""
    _check("sort", x)
    if positional:
        if stable is not NOT_GIVEN or len(positional) > 2:
            raise TypeError(f"sort() received an invalid combination of arguments: with "
                            f"stable= given, dim and descending go by name too (got "
                            f"{len(positional)} more positional); write "
                            f"sort(x, dim=..., descending=..., stable=...)")
        if dim is not NOT_GIVEN or (len(positional) == 2 and descending is not NOT_GIVEN):
            raise TypeError("sort() got dim or descending both by position and by name")
        dim = positional[0]
        descending = positional[1] if len(positional) > 1 else descending
    dim = -1 if dim is NOT_GIVEN else dim
    descending = False if descending is NOT_GIVEN else flag("sort", "descending", descending)
    if dim is None:
        raise TypeError("sort(): argument 'dim' must be int, not NoneType")
    stable = False if stable is NOT_GIVEN or stable is None else flag("sort", "stable", stable)
    d = wrap_dim(dim, x.ndim, "sort")
    if x.ndim == 0:            # one element: nothing to move, but the index is kept as
        xp = backend.get_array_module(x.array)   # for any other shape (seed 4214308)
        index_tensor = Tensor(xp.zeros((), dtype=xp.int64))
        return SortResult(F.keeps(F.clone(x), index_tensor, name="SortBackward0",
                                  one_node=False), index_tensor)
    indices = _order(x.array, d, bool(descending))
    if not stable:
        indices = _replayed(x, d, indices, indices, every_row=False,
                            order=lambda row: pytorch_sort_order(row, bool(descending)))
    return _with_indices(SortResult, x, indices, d, "SortBackward0", laid_out_like_x=True)


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True,
         sorted: bool = True) -> TopkResult:  # noqa: A002 - PyTorch's name
    """The k largest (``largest=False``: smallest) elements along ``dim``: ``(values,
    indices)`` with size k along ``dim``, sorted (largest first, or smallest first). Where
    elements tie, and for ``sorted=False``, in PyTorch's order (engine/tie_order.py)."""
    _check("topk", x)
    k, largest = index("topk", "k", k), flag("topk", "largest", largest)
    sorted = flag("topk", "sorted", sorted)
    d = wrap_dim(dim, x.ndim, "topk")
    if x.dtype == bool:
        raise RuntimeError("topk: bool tensors are not supported (as in PyTorch); "
                           "convert first, e.g. x.int().topk(k)")
    size = x.shape[d] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError(f"topk: k={k!r} out of range for dimension {dim} of size {size} "
                           f"(input shape {x.shape})")
    if x.ndim == 0:
        return sort(x, dim=d, descending=bool(largest), stable=True)
    order = _order(x.array, d, bool(largest))
    indices = order[(slice(None),) * d + (slice(0, k),)]
    if k and x.numel():
        indices = _replayed(x, d, indices, order, every_row=not sorted,
                            order=lambda row: pytorch_topk_order(row, k, bool(largest),
                                                                 bool(sorted)))
    return _with_indices(TopkResult, x, indices, d, "TopkBackward0")


def _replayed(x: Tensor, d: int, indices: Any, full_order: Any, every_row: bool,
              order: Any) -> Any:
    """``indices`` (along ``d``) with the rows that hold ties (or every row) replaced by
    ``order(row values)``, PyTorch's own order (engine/tie_order.py); rows longer than
    ``LONGEST`` keep the stable order. ``full_order``: the whole row's sorting order, which
    puts equal values side by side (no second sort to find the ties)."""
    xp = backend.get_array_module(x.array)
    size = x.shape[d]
    if size > LONGEST or x.numel() == 0:
        return xp.ascontiguousarray(indices)
    rows = xp.moveaxis(x.array, d, -1).reshape(-1, size)
    ranked = xp.take_along_axis(rows, xp.moveaxis(full_order, d, -1).reshape(-1, size), -1)
    tied = ranked[:, 1:] == ranked[:, :-1]
    if x.dtype.kind == "f":
        tied |= xp.isnan(ranked[:, 1:]) & xp.isnan(ranked[:, :-1])
    redo = backend.to_numpy(tied.any(axis=-1) | every_row)
    if redo.any():
        host_rows = backend.to_numpy(rows)
        moved = xp.moveaxis(indices, d, -1)
        fixed = backend.to_numpy(moved).reshape(-1, moved.shape[-1]).copy()
        for r in redo.nonzero()[0]:
            fixed[r] = order(host_rows[r].tolist())
        indices = xp.moveaxis(xp.asarray(fixed.reshape(moved.shape)), -1, d)
    return xp.ascontiguousarray(indices)


def _with_indices(result: Any, x: Tensor, indices: Any, d: int, name: str,
                  laid_out_like_x: bool = False) -> Any:
    """(values, indices): the values gathered through the indices, which their gradient
    reads. PyTorch keeps the indices it returns for that: writing into them before backward
    is refused there (the gradient would go to the wrong places), and so it is here.
    ``laid_out_like_x``: both results in x's memory order (PyTorch's sort allocates them
    with empty_like(x): a transposed x gives transposed results); else row-major (topk)."""
    if laid_out_like_x:
        indices = copy_like(indices, x.array)
    index_tensor = Tensor(indices)
    values = F.take_along_dim(x, indices, d)
    if laid_out_like_x:   # (a new array nothing else holds: its layout is ours to choose)
        values.array = copy_like(values.array, x.array)
    return result(F.keeps(values, index_tensor, name=name, one_node=False), index_tensor)


def copy_like(array: Any, like: Any) -> Any:
    """``array``'s values in the layout PyTorch's empty_like(like) gives (engine/layout.py)."""
    out = empty_preserving(like, dtype=array.dtype)
    out[...] = array
    return out
