"""``eval_mode(*modules)``: the modules in evaluation mode for a block, then as they were.

Looking at a network (sampling, drawing, measuring) must not change its training: in
training mode a forward can (Dropout draws masks, BatchNorm updates its running averages, a
spectrally normalised layer runs a power-iteration round and updates its u and v).
tinygan's addition; in PyTorch one writes ``was = m.training; m.eval(); ...; m.train(was)``.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from tinygan.nn.module import Module


@contextlib.contextmanager
def eval_mode(*modules: Module) -> Iterator[None]:
    """Every module in eval mode inside the block; each back in its own mode after it, even
    when the block raises."""
    modes = [(m, m.training) for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, was_training in modes:
            m.train(was_training)
