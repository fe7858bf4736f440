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

# The width of the vectors PyTorch's CPU kernels use here: 64 bytes where the CPU has the
# AVX-512 subsets PyTorch requires for its AVX512 kernels, else 32 (AVX2).
def _vector_bytes() -> int:
    try:   # NumPy's own reading of the CPU's features (NumPy 2, then 1)
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return 32
    avx512 = ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")
    return 64 if all(features.get(f) for f in avx512) else 32


VECTOR_BYTES = _vector_bytes()


def _floats_only(op: str, kernel: str, x: Tensor) -> None:
    if x.dtype.kind != "f":
        name = backend.TORCH_DTYPE_NAMES.get(x.dtype.name, x.dtype.name)
        raise NotImplementedError(f'"{kernel}" not implemented for \'{name}\'; {op} needs '
                                  f"floats: x.float()")


class SiLU(Function):
    """y = x / (1 + e^-x). Backward: g s (1 + x (1 - s)), PyTorch's silu_backward."""
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


class ELU(Function):
    """y = x where x > 0, alpha (e^x - 1) elsewhere (e^x - 1 as expm1, rounded once)."""
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
    def __init__(self, alpha: float) -> None:
        self.alpha = alpha

    def saves(self): return (1,)

    def forward(self, gy, x):
        xp, work = xp_of(x), F.in_opmath(x)
        with np.errstate(over="ignore", invalid="ignore"):
            curve = F.in_opmath(gy) * work.dtype.type(self.alpha) * \
                F._rounded_once(xp.exp, work)
        on_curve = work <= 0
        if x.dtype.kind == "f" and x.flags.c_contiguous and gy.shape == x.shape:
            # At x = NaN PyTorch's two loops disagree: its vector loop (whole blocks of two
            # vectors: 32 float32s with AVX-512, 16 with AVX2) picks the curve where x > 0 is
            # false, its scalar loop (the rest) picks g where x <= 0 is false. So does this.
            block = 2 * VECTOR_BYTES // x.dtype.itemsize
            flat = on_curve.reshape(-1)
            whole = flat.size // block * block
            flat[:whole] |= xp.isnan(work.reshape(-1)[:whole])
        return xp.where(on_curve, curve, gy).astype(gy.dtype, copy=False)

    def backward(self, gg):
        gy, x = self.inputs
        below = Tensor((x.array < 0).astype(x.dtype))   # a mask: no gradient through it
        return ELUGrad(self.alpha)(gg, x), gg * gy * self.alpha * F.exp(x) * below


def elu(x: Tensor, alpha: float = 1.0) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise; shape and dtype of x (float)."""
    _floats_only("elu", "elu_cpu", x)
    return ELU(float(alpha))(x)


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
    """y = x where x > 0, w x elsewhere (w broadcast over x). One node, as PyTorch's
    _prelu_kernel: its backward reads x and w, so with create_graph both gradients require
    grad when either input does."""
    backward_reads, backward_reads_give_zeros = (0, 1), True
    backward_links_every_read = True   # gx through w alone would miss x's link

    def forward(self, x, w):
        return xp_of(x).where(x > 0, x, w * x)

    def backward(self, gy):
        x, w = self.inputs
        positive = Tensor(x.array > 0)
        gx = F.where(positive, gy, w * gy)
        # where x > 0 the weight's gradient is a 0, not gy * 0: a NaN or inf in gy stays out
        # (and the zero is +0.0), as in PyTorch's prelu_backward kernel
        zero = Tensor(xp_of(x.array).zeros((), dtype=gy.dtype))
        gw = F.sum_to(F.where(positive, zero, x * gy), w.shape)
        return gx, gw


def prelu_weight(num_parameters: int, init: float, dtype: Any) -> Any:
    """nn.PReLU's initial weight: ``init`` for each of the num_parameters channels."""
    return backend.xp().full((num_parameters,), init, dtype=dtype)
