"""Fast form of ``linear``: nn.Linear's affine map x W^T + b as one node.

The plain form (tinygan/engine/functional.py, ``linear_plain``) is two ops, a matmul and a
broadcast add, whose backward sums the bias gradient over the batch with ``sum_to``. One node
saves the intermediate array and lets the bias gradient run as a matrix product.
tests/test_fast_paths.py checks the two agree, derivatives included.
"""
from __future__ import annotations

import numpy as np

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.engine.fma import fused
from tinygan.engine.tensor import Function, Tensor
from tinygan.fast import replaces, sum_kernel

xp_of = backend.get_array_module


class Linear(Function):
    """y = x W^T + b, in one node.

    x: (N, in), W: (out, in), b: (out,) -> y: (N, out)
    dL/dx = gy W,   dL/dW = gy^T x,   dL/db = sum over the batch of gy = 1^T gy.
    x W^T uses W's transposed *view*: BLAS reads it in place, nothing is copied (gy^T too).
    A gradient nobody needs is not computed: for the first layer, fed with data, that
    skips the matmul gy W, as large as the forward product.
    """
    result_layout = "row-major"

    def __init__(self, one_term: bool = False):
        self.one_term = one_term   # one input feature: the products as they are (MatMul)

    def saves(self):  # x for W's gradient, W for x's; the bias is never read
        need = self.needs_input_grad
        return (1,) * need[0] + (0,) * need[1]

    def forward(self, x, W, b=None):
        if b is not None and x.ndim == 2 and x.shape[1] == 1 and type(x) is np.ndarray:
            # addmm with one input feature, as PyTorch's MKL computes it. On an Intel CPU,
            # with several rows and outputs, out = b then out += x W^T, the multiply and add
            # fused into one rounding; otherwise a kernel whose float32 form adds x_i1 W_j1 to
            # b_j as it is (-0 + -0 stays -0), and whose float64 one starts the product from
            # +0 (-0 becomes +0). On an AMD CPU always x_i1 W_j1 rounded, then b added
            # (measured on an EPYC: 600 of 600 drawn layers, signs of zero included).
            if backend.cpu_vendor() == "amd" or (x.dtype == np.float32 and not self.one_term):
                return x * W.T + b
            if self.one_term:
                return fused(x, W.T, b)
        y = x * W.T if self.one_term else x @ W.T
        if b is not None:
            y += b
        return y

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = F.matmul(gy, W) if need[0] else None
        rows = int(np.prod(gy.shape[:-1]))       # not -1: a layer may have 0 features
        gy_rows, x_rows = gy.reshape(rows, gy.shape[-1]), x.reshape(rows, x.shape[-1])
        gW = F.matmul(gy_rows.T, x_rows) if need[1] else None
        if len(self.inputs) == 2:
            return gx, gW
        gb = None
        if need[2]:  # the batch sum: in PyTorch's order where tinygan knows it (a smaller
            # batch: fast/sum_kernel.py), else as the product 1^T gy, which BLAS runs faster
            if sum_kernel.applies(gy_rows.array, (0,)):
                gb = F.sum(gy_rows, 0)
            else:
                ones = Tensor(xp_of(gy.array).ones(gy_rows.shape[0], dtype=gy.dtype))
                gb = F.matmul(ones, gy_rows)
        return gx, gW, gb


@replaces(F.linear_plain)
def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``linear_plain``'s fast form (the checks are done by ``functional.linear``)."""
    if x.ndim == 2:   # the common case: one mm of (N, in) and (in, out)
        path = ("mm", x.shape[0], weight.shape[0], None)
    else:             # PyTorch multiplies (and keeps) a view or a copy of x, as the plain form
        kept_x, _, path = F._matmul_keeps(x, weight.transpose(-1, -2))
        x = F.as_multiplied(x, kept_x, weight)
    # and W^T, a view of the weight made here
    weight = F.as_multiplied(weight, "view", x)
    node = Linear(F.one_term_product(x.shape, path))
    return node(x, weight) if bias is None else node(x, weight, bias)
