"""The fast forms: fused kernels, each computing what a plain op of the engine computes, in
fewer passes over memory, and the choice of convolution kernel.

Read the engine first (tinygan/engine/): its ops are the plain forms, the ones the formulas
describe. A few of them have a fast form here:

    activations.py   Sigmoid, Tanh, ReLU, LeakyReLU with their backward as one op each
                     (SigmoidGrad, TanhGrad, LeakyReLUGrad: PyTorch's *_backward kernels)
    linear.py        nn.Linear's affine map x W^T + b as one node (plain: matmul, then add)
    reductions.py    max/min along one short axis (Maxout's pieces) as elementwise passes
    batchnorm.py     BatchNorm's training-mode normalisation as one node, closed-form gradient
                     (on the CPU in PyTorch's kernels' order of arithmetic: batchnorm_kernel.py)
    upsample.py      nearest upsampling by integer factors as ``repeat`` and block sums
    convolution.py   the convolution kernels: batched columns (im2col) or one image at a time
                     (conv_by_image.py), chosen in one place

Two files hold no fast form but PyTorch's order of adding, which the engine follows so that
a sum that cancels prints PyTorch's last bits: sum_kernel.py (Sum) and softmax_kernel.py
(softmax, log_softmax and its gradient).

Each is tested equal to its plain form: values, first and second derivatives
(tests/test_fast_paths.py, tests/test_conv.py, tests/test_upsample_embedding.py).

How a fast form is chosen: the engine asks ``fast.form(plain)`` where an op has one, and gets
the fast form that registered for ``plain`` (``@replaces(plain)``) while the switch ``FUSED``
is on, else ``plain`` itself. The fast forms register when tinygan is imported
(tinygan/__init__.py imports them). This file imports nothing from tinygan, so the engine can
import it without a cycle; the files beside it import the engine.
"""
from __future__ import annotations

from typing import Any, Callable

# The one switch: True (the default) runs the fast forms; False runs every op in its plain form.
FUSED = True

_FORMS: dict[Any, Any] = {}     # plain op (a Function class or a function) -> its fast form


def replaces(plain: Any) -> Callable[[Any], Any]:
    """Class or function decorator: register the decorated object as the fast form of ``plain``."""
    def register(fast_form: Any) -> Any:
        _FORMS[plain] = fast_form
        return fast_form
    return register


def form(plain: Any) -> Any:
    """The fast form registered for ``plain`` while ``FUSED`` is on, else ``plain``."""
    return _FORMS.get(plain, plain) if FUSED else plain
