"""SiLU, ELU and PReLU: activations of later GANs, written as PyTorch's CPU kernels compute them.

    silu(x)  = x sigmoid(x) = x / (1 + e^-x)           (Elfwing et al. 2018; "swish")
    elu(x)   = x for x > 0, alpha (e^x - 1) otherwise   (Clevert et al. 2016)
    prelu(x) = x for x > 0, a x otherwise, a learned per channel (He et al. 2015; SRGAN's G)

Their derivatives, which the backward nodes below compute in PyTorch's grouping:

    silu'(x) = s (1 + x (1 - s)),  s = sigmoid(x)
    elu'(x)  = 1 for x > 0, alpha e^x otherwise (the mask is x <= 0, as PyTorch's; its
               own derivative uses x < 0, so at 0 the second derivative is 0)
    prelu:     d/dx = 1 or a,  d/da = x where x <= 0, summed over everything but the channel

The backward formulas are Tensor ops, so second derivatives come from autograd. e^x and
e^x - 1 of float32 are computed in float64 and rounded once (engine/functional.py's
``_rounded_once``), as PyTorch's kernels round them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.tensor import Function, Tensor

xp_of = backend.get_array_module

from tinygan.engine.vector_loop import vector_loop_mask  # noqa: E402


def _floats_only(op: str, kernel: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        name = backend.TORCH_DTYPE_NAMES.get(x.dtype.name, x.dtype.name)
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'; {op} needs '
                                  f"floats: x.float()")


class SiLU(Function):
    """y = x / (1 + e^-x). Backward: g s (1 + x (1 - s)), PyTorch's silu_backward."""
    elementwise = True
    def forward(self, x):
        work = F.in_opmath(x)
        with np.errstate(over="ignore"):
            e = F._rounded_once(xp_of(x).exp, -work)
        return (work / (1 + e)).astype(x.dtype, copy=False)

    def backward(self, gy):
        x = self.inputs[0]
        s = F.sigmoid(x)
        return gy * s * (1 + x * (1 - s))


def silu(x: Tensor) -> Tensor:
    """x sigmoid(x), elementwise; shape and dtype of x (float)."""
    _floats_only("silu", "silu_cpu", x)
    return SiLU()(x)


def _curve_side(on_curve: Any, gy: Any, x: Any) -> Any:
    """Where PyTorch's elu_backward takes the curve: x <= 0 (``on_curve``), and at x = NaN
    wherever its vector loop computes the element. Its two loops disagree there: the vector
    loop picks the curve where x > 0 is false, the scalar loop picks g where x <= 0 is
    false; which loop takes an element depends on its place and the operands' strides
    (engine/vector_loop.py). Both backward forms (from x, and from the result y of elu_)
    share the rule."""
    if x.dtype.kind != "f":
        return on_curve
    nan = xp_of(x).isnan(x)
    if not nan.any():
        return on_curve
    shape = np.broadcast_shapes(gy.shape, x.shape)
    return on_curve | (nan & vector_loop_mask(shape, [gy, x], x.dtype.itemsize))


class ELU(Function):
    """y = x where x > 0, alpha (e^x - 1) elsewhere (e^x - 1 as expm1, rounded once)."""
    elementwise = True
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def forward(self, x):
        work = F.in_opmath(x)
        with np.errstate(over="ignore"):
            curve = F._rounded_once(xp_of(x).expm1, work) * work.dtype.type(self.alpha)
        return xp_of(x).where(work <= 0, curve, work).astype(x.dtype, copy=False)

    def backward(self, gy):
        return ELUGrad(self.alpha)(gy, self.inputs[0])


class ELUGrad(Function):
    """PyTorch's elu_backward: g alpha e^x where x <= 0, g elsewhere. Its derivatives, as
    PyTorch's: to g, the same function; to x, g' g alpha e^x where x < 0 (strictly: at
    x = 0 the first derivative takes the curve's side, the second is already 0)."""
    elementwise = True
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def saves(self): return (1,)

    def forward(self, gy, x):
        xp, work = xp_of(x), F.in_opmath(x)
        with np.errstate(over="ignore", invalid="ignore"):
            curve = F.in_opmath(gy) * work.dtype.type(self.alpha) * \
                F._rounded_once(xp.exp, work)
        on_curve = _curve_side(work <= 0, gy, x)
        return xp.where(on_curve, curve, gy).astype(gy.dtype, copy=False)

    def backward(self, gg):
        gy, x = self.inputs
        below = Tensor((x.array < 0).astype(x.dtype))   # a mask: no gradient through it
        # PyTorch's elu_double_backward: elu_backward(gg gy, x) masked by x < 0, so where x
        # is NaN the mask's 0 meets elu_backward's own choice there (gg gy, or NaN)
        return ELUGrad(self.alpha)(gg, x), ELUGrad(self.alpha)(gg * gy, x) * below


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise; shape and dtype of x (float)."""
    _floats_only("elu", "elu_cpu", x)
    return ELU(float(alpha))(x)


class ELUOfResult(ELU):
    """elu_ (in place, ``inplace=True``): the input is overwritten, so backward reads the
    result y instead, as PyTorch's elu_ does: dy/dx = 1 where y > 0, and alpha e^x =
    y + alpha elsewhere. Changing y in place before backward is then refused."""
    elementwise = True
    saves_output = True
    def saves(self): return ()

    def backward(self, gy):
        # y and x share their signs only for alpha >= 0: PyTorch's backward refuses the rest
        if self.alpha < 0:
            raise RuntimeError(f"In-place elu backward calculation is triggered with a "
                               f"negative slope (alpha={self.alpha}), which is not "
                               f"supported; use inplace=False")
        return ELUResultGrad(self.alpha)(gy, self.output)


class ELUResultGrad(Function):
    """PyTorch's elu_backward from the result: g (y + alpha) where y <= 0, g elsewhere. Its
    derivatives: to g, the same function; to y, gg g where y < 0."""
    elementwise = True
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def saves(self): return (1,)

    def forward(self, gy, y):
        work = F.in_opmath(y)
        curve = F.in_opmath(gy) * (work + work.dtype.type(self.alpha))
        on_curve = _curve_side(work <= 0, gy, y)
        return xp_of(y).where(on_curve, curve, gy).astype(gy.dtype, copy=False)

    def backward(self, gg):
        gy, y = self.inputs
        below = Tensor((y.array < 0).astype(y.dtype))   # a mask: no gradient through it
        return ELUResultGrad(self.alpha)(gg, y), gg * gy * below


def elu_(x: Tensor, alpha: float = 1.0) -> Tensor:
    """elu written into x (``F.elu(x, inplace=True)``, ``nn.ELU(inplace=True)``)."""
    _floats_only("elu_", "elu_cpu", x)
    return x._inplace("elu_", lambda t: ELUOfResult(float(alpha))(t))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight x elsewhere; weight (1,) for all channels or (C,) for the C
    channels of dim 1 (a 0-d or 1-D input has one channel). The weight's gradient sums over
    the dims it is broadcast along."""
    if not isinstance(x, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("prelu(): input and weight must be Tensors")
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight.ndim}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.numel() not in (1, channels):
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                           f"parameter numbers = {weight.numel()} and channel size = "
                           f"{channels}.")
    if weight.dtype != x.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {x.dtype} and "
                           f"{weight.dtype}; convert the weight with .to(x.dtype)")
    _floats_only("prelu", "prelu_cpu", x)
    w = weight.reshape((1, weight.numel()) + (1,) * (x.ndim - 2)) if x.ndim >= 2 else \
        weight.reshape(())            # (one channel: the weight broadcasts as a number)
    return PReLU()(x, w)


class PReLU(Function):
    """y = x where x > 0, w x elsewhere (w broadcast over x), PyTorch's _prelu_kernel.
    Its backward is PReLUGrad, once for each gradient: both read gy, x and w, so with
    create_graph each requires grad when any of them does, as PyTorch's one node."""

    def forward(self, x, w):
        return xp_of(x).where(x > 0, x, w * x)

    def backward(self, gy):
        x, w = self.inputs
        gx = PReLUGrad(for_input=True)(gy, x, w)
        gw = F.sum_to(PReLUGrad(for_input=False)(gy, x, w), w.shape)
        return gx, gw


class PReLUGrad(Function):
    """PyTorch's _prelu_kernel_backward, one output at a time (x's shape both):
        for_input:      gx = gy where x > 0, w gy elsewhere
        for the weight: gw = 0 where x > 0 (a 0, not gy * 0: a NaN in gy stays out), x gy
                        elsewhere (summed to w's shape by the caller).
    Its own derivatives are PyTorch's formulas, which split at x >= 0, not at x > 0: at
    x = 0 the second derivatives take the positive side (zeros) while the first derivative
    took the negative one. Those for an input the output does not read are zeros."""

    def __init__(self, for_input: bool) -> None:
        self.for_input = for_input

    def forward(self, gy, x, w):
        xp = xp_of(x)
        if self.for_input:
            return xp.where(x > 0, gy, w * gy)
        return xp.where(x > 0, xp.zeros((), dtype=gy.dtype), x * gy)

    def backward(self, gg):
        gy, x, w = self.inputs
        xp = xp_of(x.array)
        at_least_zero = Tensor(x.array >= 0)
        zero = Tensor(xp.zeros((), dtype=gg.dtype))
        if self.for_input:   # PyTorch's grads[0] terms
            return (F.where(at_least_zero, gg, gg * w),
                    Tensor(xp.zeros(x.shape, dtype=x.dtype)),
                    F.sum_to(F.where(at_least_zero, zero, gy * gg), w.shape))
        return (F.where(at_least_zero, zero, gg * x),         # PyTorch's grads[1] terms
                F.where(at_least_zero, zero, gy * gg),
                Tensor(xp.zeros(w.shape, dtype=w.dtype)))


def prelu_weight(num_parameters: int, init: float, dtype: Any) -> Any:
    """nn.PReLU's initial weight: ``init`` for each of the num_parameters channels."""
    return backend.xp().full((num_parameters,), init, dtype=dtype)
