"""Gradient clipping, under torch.nn.utils's names: after ``loss.backward()`` and before
``optimizer.step()``, shrink the gradients so one bad batch cannot throw the weights far.

``clip_grad_norm_`` rescales all gradients together: with N the p-norm of the vector of
every gradient's p-norm (the p-norm of all entries at once), each gradient is multiplied by
min(1, max_norm / (N + 1e-6)), so the direction is kept and the length is at most max_norm
(Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural networks",
ICML, section 3.2). ``clip_grad_value_`` clamps each entry to [-clip_value, clip_value].
Both change ``p.grad`` in place and record nothing in the graph.
"""
from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from tinygan.engine import functional as F
from tinygan.engine.tensor import Tensor, no_grad


def _grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """The p-norm of the p-norms of ``tensors`` (the norm of all their entries together):
    a 0-d tensor, of the widest float dtype among them."""
    tensors = [tensors] if isinstance(tensors, Tensor) else [t for t in tensors if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return Tensor(np.asarray(0.0, dtype=np.float32))
    with no_grad():
        total = F.stack([t.norm(norm_type) for t in tensors]).norm(norm_type)
    if error_if_nonfinite and not math.isfinite(float(total.item())):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from "
                           f"`parameters` is non-finite, so it cannot be clipped. To disable "
                           f"this error and scale the gradients by the non-finite norm "
                           f"anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                          total_norm: Tensor, foreach: bool | None = None) -> None:
    """Multiply every gradient by min(1, max_norm / (total_norm + 1e-6)), in place."""
    grads = _grads(parameters)
    if not grads:
        return
    with no_grad():
        scale = (float(max_norm) / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(scale)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients of ``parameters`` so that their total ``norm_type``-norm is
    at most ``max_norm``; returns the total norm they had (a 0-d tensor)."""
    parameters = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = _grads(parameters)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    clip_grads_with_norm_(parameters, max_norm, total)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient entry of ``parameters`` to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    with no_grad():
        for g in _grads(parameters):
            g.clamp_(min=-clip_value, max=clip_value)


__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_"]
