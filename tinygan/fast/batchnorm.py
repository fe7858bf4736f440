"""Fast form of BatchNorm in training mode: the normalisation as one node.

The plain form (``normalise_batch`` in tinygan/nn/batchnorm.py) is nine Tensor ops, and its
backward adds the gradient up through the batch mean and variance, op by op. One node with
the closed-form gradient does the same arithmetic in a few passes over memory.
tests/test_fast_paths.py checks the two agree: values, running statistics, first and second
derivatives.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.engine.tensor import Function, Tensor, is_grad_enabled
from tinygan.fast import replaces
from tinygan.nn.batchnorm import normalise_batch as plain


@replaces(plain)
def normalise_batch(x: Tensor, axes: tuple[int, ...], eps: float, weight: Tensor | None = None,
                    bias: Tensor | None = None) -> tuple[Tensor, Any, Any]:
    """``normalise_batch`` as one BatchNormBatchStats node; the same y, mean and variance."""
    if weight is not None and weight.dtype != x.dtype:   # mixed dtypes: the plain form's
        return plain(x, axes, eps, weight, bias)         # promotion, as PyTorch's
    node = BatchNormBatchStats(axes, eps)
    y = node(x) if weight is None else node(x, weight, bias)
    return y, node.mean, node.var


class BatchNormBatchStats(Function):
    """y = gamma * x_hat + beta with x_hat = (x - mu_B) / sqrt(var_B + eps), the
    statistics over ``axes`` (all but the channel axis), in one node instead of nine.
    (tests/test_fast_paths.py checks it against the plain form, derivatives included.)

    x: (N, C, ...), gamma, beta: (C,) or absent -> y like x. With n values per channel and
    g = dL/dy, the closed-form gradient (every term a per-channel sum or a broadcast):

        dL/dbeta  = sum g            dL/dgamma = sum g x_hat
        dL/dx     = gamma / (n sqrt(var_B + eps)) * (n g - sum g - x_hat * sum g x_hat)

    The last line is what the plain graph adds up through mu_B and var_B. An ordinary
    backward computes it from the saved x_hat; with create_graph it recomputes x_hat from x
    in Tensor ops, so the gradient has a graph of its own (second derivatives).
    """
    backward_reads = (0, 1)   # PyTorch: native_batch_norm_backward reads x and gamma

    def __init__(self, axes: tuple[int, ...], eps: float) -> None:
        self.axes, self.eps = axes, eps

    def saves(self):  # x (x_hat is recomputed from it for second derivatives) and gamma
        return range(min(2, len(self.inputs)))

    def _stat_shape(self, x) -> tuple[int, ...]:
        return tuple(1 if axis in self.axes else size for axis, size in enumerate(x.shape))

    def forward(self, x, gamma=None, beta=None):
        self.mean = x.mean(axis=self.axes, keepdims=True)
        x_hat = x - self.mean
        self.var = (x_hat * x_hat).mean(axis=self.axes, keepdims=True)   # biased
        self.inv_std = 1.0 / backend.get_array_module(x).sqrt(self.var + self.eps)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        if gamma is None:
            return x_hat.copy()
        stat = self._stat_shape(x)
        y = x_hat * gamma.reshape(stat)
        y += beta.reshape(stat)
        return y

    def backward(self, gy):
        x = self.inputs[0]
        n = x.numel() // x.shape[1]
        stat = self._stat_shape(x)
        affine = len(self.inputs) == 3
        if not is_grad_enabled():   # the ordinary backward: arrays, no graph
            g, x_hat = gy.array, self.x_hat
            sum_g = g.sum(axis=self.axes, keepdims=True)
            sum_g_x_hat = (g * x_hat).sum(axis=self.axes, keepdims=True)
            gx = None
            if self.needs_input_grad[0]:   # not for a batch of data
                scale = self.inv_std / n
                if affine:
                    scale = scale * self.inputs[1].array.reshape(stat)
                gx = x_hat * sum_g_x_hat          # scale * (n g - sum g - x_hat sum g x_hat),
                gx += sum_g                       # in place on one new array
                gx -= n * g
                gx *= -scale
                gx = Tensor(gx)
            if not affine:
                return (gx,)
            return gx, Tensor(sum_g_x_hat.reshape(-1)), Tensor(sum_g.reshape(-1))
        # create_graph: the same formula, on an x_hat recomputed from x with Tensor ops
        mean = x.mean(axis=self.axes, keepdims=True)
        centred = x - mean
        inv_std = ((centred * centred).mean(axis=self.axes, keepdims=True) + self.eps) ** -0.5
        x_hat = centred * inv_std
        sum_g = gy.sum(axis=self.axes, keepdims=True)
        sum_g_x_hat = (gy * x_hat).sum(axis=self.axes, keepdims=True)
        scale = inv_std / n
        if affine:
            scale = scale * self.inputs[1].reshape(stat)
        gx = scale * (n * gy - sum_g - x_hat * sum_g_x_hat)
        if not affine:
            return (gx,)
        return gx, sum_g_x_hat.reshape(-1), sum_g.reshape(-1)
