"""Loss modules with PyTorch's names; the math lives in tinygan.engine.functional."""
from __future__ import annotations

from typing import Any

from tinygan.engine import functional as F
from tinygan.engine.losses import l1_loss, legacy_reduction, nll_loss
from tinygan.nn.module import Module
from tinygan.engine.tensor import Tensor


class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (after a Sigmoid); logs clamped at -100."""
    def forward(self, p: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(p, target, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits: Sigmoid + BCELoss in one numerically stable step."""
    def forward(self, logits: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(logits, target, self.reduction)


class MSELoss(_Loss):
    def forward(self, x: Tensor, target: Any) -> Tensor:
        return F.mse_loss(x, target, self.reduction)


class CrossEntropyLoss(_Loss):
    def forward(self, logits: Tensor, labels: Any) -> Tensor:
        return F.cross_entropy(logits, labels, self.reduction)


# ---- issue 33: L1 and NLL (the math in tinygan/engine/losses.py) -------------------------
class L1Loss(_Loss):
    """Mean absolute error |x - target|."""
    def __init__(self, size_average: Any = None, reduce: Any = None,
                 reduction: str = "mean") -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))

    def forward(self, x: Tensor, target: Any) -> Tensor:
        return l1_loss(x, target, reduction=self.reduction)


class NLLLoss(_Loss):
    """Negative log likelihood of the target class, on log-probabilities (after
    LogSoftmax); LogSoftmax + NLLLoss is CrossEntropyLoss."""
    def __init__(self, weight: Tensor | None = None, size_average: Any = None,
                 ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> None:
        super().__init__(legacy_reduction(size_average, reduce, reduction))
        self.ignore_index = ignore_index
        self.register_buffer("weight", weight)

    def forward(self, log_probabilities: Tensor, target: Any) -> Tensor:
        return nll_loss(log_probabilities, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)
