"""Embedding: a lookup table of learned vectors, one row per class (or word).

A conditional GAN feeds the label y to G and D as ``embedding(y)``: row y of a
(num_embeddings, embedding_dim) weight matrix. Looking up row y is indexing, so its gradient
is the upstream gradient *added into* row y (rows used twice in a batch get both
contributions; rows not used get zero). That is exactly what indexing's backward (a
scatter-add) computes, so the layer is ``weight[indices]``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.arguments import flag, integer
from tinygan.nn.module import Module
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.tensor import Parameter, Tensor, no_grad


def _check_indices(indices: Any, num_embeddings: int) -> Tensor:
    idx = indices if isinstance(indices, Tensor) else Tensor(indices)
    if idx.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {idx.dtype} instead "
                           f"(embedding: pass class labels as integers, e.g. labels.long())")
    if idx.numel() and (int(idx.array.min()) < 0 or   # no wrap-around: -1 is an error
                        int(idx.array.max()) >= num_embeddings):
        raise IndexError(f"embedding: index out of range in self (indices in "
                         f"[{int(idx.array.min())}, {int(idx.array.max())}], table has "
                         f"{num_embeddings} rows)")
    return idx


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None,  # noqa: A002
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (V, D) at integer ``input`` (any shape S) -> (S..., D).
    ``padding_idx``: that row's lookups pass no gradient. ``max_norm``: rows looked up are
    first rescaled in place to norm at most max_norm (as PyTorch)."""
    if flag("embedding", "scale_grad_by_freq", scale_grad_by_freq):
        raise NotImplementedError("embedding: scale_grad_by_freq is not supported by tinygan")
    flag("embedding", "sparse", sparse)   # (True: the same gradient, kept dense)
    if weight.ndim != 2:
        raise RuntimeError(f"embedding: 'weight' must be 2-D, got shape {weight.shape}")
    if padding_idx is not None:   # a row of weight: -V..V-1 (NumPy's % would wrap anything)
        padding_idx = integer("embedding", "padding_idx", padding_idx)
        if not -weight.shape[0] <= padding_idx < weight.shape[0]:
            raise ValueError(f"embedding: Padding_idx must be within num_embeddings: "
                             f"{padding_idx} for a weight of {weight.shape[0]} rows")
    idx = _check_indices(input, weight.shape[0])
    if max_norm is not None:
        _renorm_rows(weight, idx, max_norm, norm_type)
    rows = weight[idx]
    if padding_idx is not None:
        padding_idx = padding_idx % weight.shape[0]
        used = Tensor(backend.get_array_module(idx.array).asarray(idx.array != padding_idx))
        rows = F.where(used.unsqueeze(-1), rows, rows.detach())   # same values, no gradient
    if not rows.array.flags.c_contiguous:   # PyTorch's embedding allocates it row-major,
        rows = F.clone(rows, memory_format="contiguous_format")   # whatever input's layout
    # PyTorch's embedding keeps the indices for backward: changing them in place before
    # backward raises there (the gradient would land in the wrong rows)
    return F.keeps(rows, input if isinstance(input, Tensor) else None, name="Embedding",
                   one_node=False)


def _renorm_rows(weight: Tensor, idx: Tensor, max_norm: float, norm_type: float) -> None:
    xp = backend.get_array_module(weight.array)
    with no_grad():
        used = xp.unique(idx.array % weight.shape[0])
        rows = weight.array[used]
        norms = (xp.abs(rows) ** norm_type).sum(1, keepdims=True) ** (1.0 / norm_type)
        scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.array[used] = (rows * scale).astype(weight.dtype)
        weight._bump_version()


class Embedding(Module):
    """``nn.Embedding(n_classes, dim)``: weight (n_classes, dim) drawn from N(0, 1), as in
    PyTorch; ``padding_idx``'s row starts at zero and gets no gradient. ``sparse=True`` is
    accepted and gives the same (dense) gradient."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Any = None, _freeze: bool = False, device: Any = None,
                 dtype: Any = None, *, generator: Generator | None = None) -> None:
        super().__init__()
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise AssertionError("Padding_idx must be within num_embeddings")
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            xp = backend.module_for_device(device) if device is not None else backend.xp()
            gen = generator or default_generator()
            values = gen.normal((num_embeddings, embedding_dim), dtype=dtype or
                                backend.DEFAULT_DTYPE)
            values = xp.asarray(values)
            if padding_idx is not None:
                values[padding_idx] = 0
        else:
            values = _weight.array if isinstance(_weight, Tensor) else backend.asarray(_weight)
            if tuple(values.shape) != (num_embeddings, embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {tuple(values.shape)}, "
                                 f"expected {(num_embeddings, embedding_dim)}")
        self.weight = Parameter(values, requires_grad=not _freeze)

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> "Embedding":
        rows, dim = embeddings.shape
        return cls(rows, dim, padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=embeddings.array.copy(), _freeze=freeze)

    def forward(self, indices: Any) -> Tensor:
        return embedding(indices, self.weight, self.padding_idx, self.max_norm,
                         self.norm_type, self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        extra = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            extra += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            extra += f", max_norm={self.max_norm}"
        return extra
