"""An exponential moving average of the generator's weights.

    theta_ema <- decay * theta_ema + (1 - decay) * theta      after every G step

The generator's own weights keep moving along the cycles of the game (chapter 14), and any
single iterate can sit anywhere on such a cycle; the average sits near its centre, and its
samples are usually better than those of the latest G. Karras, Aila, Laine & Lehtinen 2018
("Progressive Growing of GANs for Improved Quality, Stability, and Variation", ICLR) sample
from such an average (decay 0.999); Yazici, Foo, Winkler, Yap, Piliouras & Chandrasekhar
2019 ("The Unusual Effectiveness of Averaging in GAN Training", ICLR) measure the gain.
With decay beta, the average forgets a step's weights after about 1 / (1 - beta) steps.

Only parameters are averaged. Buffers (BatchNorm's running statistics) are copied from G,
as the averaged net has no batches of its own to measure them on. The averaged copy is
never trained: it is what ``GANTrainer.sample`` draws from when the trainer keeps one.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

from tinygan.nn import Module
from tinygan.engine.tensor import no_grad


class EMA:
    """``EMA(G, decay)`` copies G; ``ema.update(G)`` folds G's current weights in;
    ``ema.module`` is the averaged generator (same class and state_dict names as G)."""

    def __init__(self, model: Module, decay: float = 0.999) -> None:
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA: decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)   # averaged, never trained
        self.module.eval()

    def update(self, model: Module) -> None:
        """theta_ema <- decay theta_ema + (1 - decay) theta, in place; buffers copied."""
        with no_grad():
            for avg, new in zip(self.module.parameters(), model.parameters()):
                avg.mul_(self.decay).add_(new.detach(), alpha=1.0 - self.decay)
            for (_, avg), (_, new) in zip(self.module.named_buffers(), model.named_buffers()):
                avg.copy_(new.detach())

    def state_dict(self) -> "dict[str, Any]":
        return self.module.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.module.load_state_dict(state)

    def __repr__(self) -> str:
        return f"EMA(decay={self.decay}, module={type(self.module).__name__})"
