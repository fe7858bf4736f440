"""Two more losses with PyTorch's names: L1 (mean absolute error) and the negative log
likelihood of classes (``nll_loss``, what a classifier ending in log_softmax trains with).

Both are composites of ops in tinygan.engine.functional, so their first and second
derivatives come from those ops.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.tensor import Tensor


def l1_loss(input: Tensor, target: Any, size_average: Any = None,  # noqa: A002
            reduce: Any = None, reduction: str = "mean", weight: Any = None) -> Tensor:
    """|input - target|, averaged (or summed, or kept per element). Its gradient is
    sign(input - target), 0 where they are equal, as PyTorch's. ``weight`` (input's shape)
    scales each error; "mean" then divides by the weights' sum."""
    if weight is not None:
        return F.weighted_loss("l1_loss", input, target, weight,
                               F.legacy_reduction(size_average, reduce, reduction), F.abs)
    target = F._regression_target("l1_loss", input, target)   # broadcast, warning, as mse_loss
    if np.bool_ in (input.dtype, target.dtype):
        F.sub(input, target)                  # refuses, as PyTorch's l1_loss does for bools
    wide = F._broadcast_result_type(input, target)
    diff = F.cast(input, wide) - F.cast(target, wide)
    # PyTorch's l1_loss is this composite too (abs of the difference, then the reduction):
    # it keeps neither input nor target, so changing them in place before backward is fine
    return F._reduce(F.abs(diff), F.legacy_reduction(size_average, reduce, reduction))


def nll_loss(input: Tensor, target: Any, weight: Tensor | None = None,  # noqa: A002
             size_average: Any = None, ignore_index: int = -100, reduce: Any = None,
             reduction: str = "mean") -> Tensor:
    """The negative log likelihood of the right class: -input[n, target[n]].

    input: (N, C) log-probabilities (log_softmax's output), or (C,), or (N, C, d1, ...);
    target: (N,) class indices (int64), or (), or (N, d1, ...). ``weight`` (C,) scales
    each class; targets equal to ``ignore_index`` count for nothing. 'mean' divides by the
    total weight of the targets counted (so with no weight, by their number):

        loss = sum_n w[t_n] (-x[n, t_n]) / sum_n w[t_n]
    """
    F._loss_tensors(F.nll_name(input), target=target, weight=weight)
    F.refuse_gradient_of(F.nll_name(input), "weight", weight)
    if isinstance(weight, Tensor) and isinstance(input, Tensor) and weight.dtype != input.dtype:
        raise RuntimeError(f"nll_loss: expected the weight's dtype {weight.dtype} to be the "
                           f"input's {input.dtype} (PyTorch: expected scalar type ... but "
                           f"found ...); convert it with weight.to(input.dtype)")
    return F.keeps(_nll(input, target, weight, ignore_index,   # PyTorch keeps all three
                        F.legacy_reduction(size_average, reduce, reduction)),
                   input, target, weight, name="NLLLoss",
                   refuse_later=((F.nll_name(input).replace("forward", "backward"), "weight",
                                  weight),),
                   gives_zeros=True,   # nll_loss_backward's derivative: zeros for the input
                   reads_value=False)  # (it reads the input, not the loss: zeros sent back
    # through the loss's own composite graph would meet an inf class weight as 0 * inf)


def _nll(input: Tensor, target: Any, weight: Any, ignore_index: int,  # noqa: A002
         reduction: str) -> Tensor:
    xp = backend.get_array_module(input.array)          # the data's device decides
    labels = target.array if isinstance(target, Tensor) else xp.asarray(target)
    if labels.dtype not in (np.int64, np.uint8):
        raise RuntimeError(f"nll_loss: expected target dtype to be Long or Byte, but got "
                           f"{labels.dtype} (make it with .long())")
    if input.ndim == 1:                         # one sample: (C,) and a 0-d target
        input, labels = input.reshape(1, -1), labels.reshape(1)
        if reduction == "none":
            reduction = "none-single"
    if input.ndim < 2 or labels.shape != (input.shape[0],) + input.shape[2:]:
        if labels.ndim >= 1 and labels.shape[0] != input.shape[0]:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({labels.shape[0]}).")
        raise ValueError(f"nll_loss: input of shape {input.shape} needs a target of shape "
                         f"{(input.shape[0],) + input.shape[2:]}, got {labels.shape}")
    classes = input.shape[1]
    counted = labels != ignore_index
    wrong = (labels < 0) | (labels >= classes)
    if (wrong & counted).any():
        raise IndexError(f"Target {int(backend.to_numpy(labels[wrong & counted])[0])} is out "
                         f"of bounds.")
    safe = xp.where(counted, labels, 0).astype(xp.int64)
    # -x[n, t_n]: take along the class dimension, then drop it (no classes: every target
    # was ignored, or the check above raised; a zero that keeps the graph stands in)
    picked = F.take_along_dim(input, Tensor(xp.expand_dims(safe, 1)), 1).squeeze(1) \
        if classes else F.sum(input, 1) * 0.0
    w = xp.ones(classes) if weight is None else xp.asarray(
        weight.array if isinstance(weight, Tensor) else weight)
    scale = F._same_dtype_const(input.array, xp.where(counted, w[safe], 0) if classes
                                else xp.zeros(safe.shape))
    # ignored rows chosen out (not multiplied by 0): with every target ignored the mean is
    # 0/0 = NaN, and the gradient must still be 0, as PyTorch's
    # PyTorch negates each term for reduction="none" (-0.0 for a 0), but accumulates the
    # others from 0 by subtraction (0 - 0 = +0.0); one sample counts as accumulated
    likelihoods = F.where(counted, picked * scale, 0.0)
    if reduction == "none":   # (an ignored target's loss is written as +0.0)
        return F.where(counted, -(picked * scale), 0.0)
    total = 0.0 - (likelihoods.reshape(()) if reduction == "none-single" else
                   F.sum(likelihoods))
    if reduction == "mean":
        with np.errstate(invalid="ignore"):     # 0/0 = nan when every target is ignored
            return total / F.sum(scale)
    return total
