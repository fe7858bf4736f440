"""Loss modules with PyTorch's names; the math lives in tinygan.engine.functional."""
from __future__ import annotations

from typing import Any

from tinygan.engine import functional as F
from tinygan.engine.losses import l1_loss, nll_loss
from tinygan.nn.module import Module
from tinygan.engine.tensor import Tensor


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (after a Sigmoid); logs clamped at -100;
    ``weight`` scales each element's loss (PyTorch's arguments, in PyTorch's order)."""
    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(F.legacy_reduction(size_average, reduce, reduction))
        self.weight = weight

    def forward(self, p: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(p, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits: Sigmoid + BCELoss in one numerically stable step;
    ``pos_weight`` scales the positive term, ``weight`` each element's loss."""
    def __init__(self, weight: Any = None, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(F.legacy_reduction(size_average, reduce, reduction))
        self.weight, self.pos_weight = weight, pos_weight

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.weight,
                                                  reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.mse_loss(x, target, reduction=self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood in one stable step; PyTorch's arguments (weight per
    class, ignore_index, label_smoothing) in PyTorch's order."""
    def __init__(self, weight: Any = None, size_average: Any = None, ignore_index: int = -100,
                 reduce: Any = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(F.legacy_reduction(size_average, reduce, reduction))
        self.weight, self.ignore_index = weight, ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(logits, target, self.weight, ignore_index=self.ignore_index,
                               reduction=self.reduction, label_smoothing=self.label_smoothing)


# ---- L1 and NLL (the math in tinygan/engine/losses.py) ----------------------------------
class L1Loss(_Loss):
    """Mean absolute error |x - target|."""
    def __init__(self, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(F.legacy_reduction(size_average, reduce, reduction))

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return l1_loss(x, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log likelihood of the target class, on log-probabilities (after
    LogSoftmax); LogSoftmax + NLLLoss is CrossEntropyLoss."""
    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(F.legacy_reduction(size_average, reduce, reduction))
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)

    def forward(self, log_probabilities: Tensor, target: Any) -> Tensor:
        return nll_loss(log_probabilities, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)
