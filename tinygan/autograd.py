"""``tinygan.autograd`` is ``torch.autograd``: ``grad``, ``backward`` and the old ``Variable``.

    from tinygan.autograd import Variable, grad       # was: from torch.autograd import ...

``grad`` is the engine's (tinygan/engine/tensor.py); WGAN-GP scripts call it as
``autograd.grad(outputs=d, inputs=x, grad_outputs=ones, create_graph=True,
retain_graph=True, only_inputs=True)``, and every one of those arguments is accepted.
"""
from __future__ import annotations

from typing import Any, Sequence

from tinygan.engine.gradcheck import gradcheck, gradgradcheck
from tinygan.engine.tensor import (Tensor, enable_grad, grad, is_grad_enabled, no_grad,
                            set_grad_enabled)


class _VariableMeta(type):
    """Every Tensor counts as a Variable (``isinstance(t, Variable)``), as in PyTorch,
    where the two were merged in version 0.4."""

    def __instancecheck__(cls, instance: Any) -> bool:
        return isinstance(instance, Tensor)


class Variable(metaclass=_VariableMeta):
    """``Variable(t, requires_grad=False)``: PyTorch before 0.4 wrapped tensors in it to
    give them gradients. Today it returns a tensor sharing ``t``'s memory, outside any
    graph (a leaf), with ``requires_grad`` as given; old scripts run unchanged."""

    def __new__(cls, data: Any, requires_grad: bool = False, volatile: bool = False) -> Any:
        tensor = data if isinstance(data, Tensor) else Tensor(data)
        return tensor.detach().requires_grad_(requires_grad)


def backward(tensors: Tensor | Sequence[Tensor], grad_tensors: Any = None,
             retain_graph: bool | None = None, create_graph: bool = False,
             inputs: Any = None) -> None:
    """``autograd.backward([a, b], [ga, gb])`` is ``a.backward(ga); b.backward(gb)`` in
    one pass over the graph: gradients accumulate into every leaf's ``.grad``."""
    if inputs is not None:
        raise NotImplementedError("autograd.backward(inputs=...) is not supported; use "
                                  "autograd.grad(outputs, inputs) for chosen inputs")
    tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
    if grad_tensors is None or isinstance(grad_tensors, Tensor):
        grad_tensors = [grad_tensors] * len(tensors) if grad_tensors is None else [grad_tensors]
    total = None
    for t, g in zip(tensors, grad_tensors):      # sum of <g, t>: one backward for all
        part = t.sum() if g is None and t.numel() == 1 else (t * g.detach()).sum() \
            if g is not None else None
        if part is None:
            raise RuntimeError(f"autograd.backward: grad can be implicitly created only for "
                               f"scalar outputs, got shape {t.shape}")
        total = part if total is None else total + part
    total.backward(retain_graph=retain_graph, create_graph=create_graph)


__all__ = ["grad", "backward", "Variable", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "gradcheck", "gradgradcheck"]
