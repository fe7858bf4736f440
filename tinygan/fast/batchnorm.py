"""Fast form of BatchNorm in training mode: the normalisation as one node.

The plain form (``normalise_batch`` in tinygan/nn/batchnorm.py) is nine Tensor ops, and its
backward adds the gradient up through the batch mean and variance, op by op. One node with
the closed-form gradient does the same arithmetic in a few passes over memory.
tests/test_fast_paths.py checks the two agree: values, running statistics, first and second
derivatives.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.layout import laid_out_like
from tinygan.engine.tensor import Function, Tensor, is_grad_enabled
from tinygan.fast import batchnorm_kernel as kernel
from tinygan.fast import batchnorm_second_derivative as second
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
    mean = node.mean.reshape(-1)
    if node.statistics_in_float64:   # (PyTorch's generic loops: its running update too)
        mean = mean.astype(np.float64)
    return y, mean, node.squares


class BatchNormBatchStats(Function):
    """y = gamma * x_hat + beta with x_hat = (x - mu_B) / sqrt(var_B + eps), the
    statistics over ``axes`` (all but the channel axis), in one node instead of nine.
    (tests/test_fast_paths.py checks it against the plain form, derivatives included.)

    x: (N, C, ...), gamma, beta: (C,) or absent -> y like x. With n values per channel and
    g = dL/dy, the closed-form gradient (every term a per-channel sum or a broadcast):

        dL/dbeta  = sum g            dL/dgamma = sum g x_hat
        dL/dx     = gamma / (n sqrt(var_B + eps)) * (n g - sum g - x_hat * sum g x_hat)

    The last line is what the plain graph adds up through mu_B and var_B. With
    create_graph each of the three is a node of its own, whose backward is the second
    derivative in closed form (batchnorm_second_derivative.py).
    """
    backward_reads = (0, 1)   # PyTorch: native_batch_norm_backward reads x and gamma
    result_layout = "own"     # channels-last for a channels-last input, as PyTorch's
    # set for a half batch normalised here in float32: PyTorch's second derivative of it
    # works in half (batchnorm_second_derivative.Statistics)
    second_derivative_dtype: Any = None

    def __init__(self, axes: tuple[int, ...], eps: float) -> None:
        self.axes, self.eps = axes, eps

    def saves(self):  # x and gamma (the gradients' own nodes read them again)
        return range(min(2, len(self.inputs)))

    def _stat_shape(self, x) -> tuple[int, ...]:
        return tuple(1 if axis in self.axes else size for axis, size in enumerate(x.shape))

    def forward(self, x, gamma=None, beta=None):
        # on the CPU, float32 and float64 take PyTorch's kernels' order of arithmetic, so the
        # last bits agree (batchnorm_kernel.py), up to kernel.EXACT_MOST elements: beyond, the
        # emulation's extra passes cost more than the layer (a DCGAN step: 185 -> 220 ms),
        # and the formulas as written below run, equal but for the last bits
        self.as_pytorch = (isinstance(x, np.ndarray) and x.dtype in (np.float32, np.float64)
                           and x.size <= kernel.EXACT_MOST)
        self.statistics_in_float64 = False
        if self.as_pytorch:   # which of its kernels PyTorch runs depends on x's layout
            self.layout = kernel.memory_format(x)
            if self.layout is None:   # its generic loops
                mean, var_sum, inv_std = kernel.strided_statistics(x, self.eps)
                self.statistics_in_float64 = True
                y = kernel.strided_normalise(x, mean, inv_std, gamma, beta)
            else:
                x3 = self._as_kernel_reads(x)
                mean, var_sum = kernel.statistics(x3)
                y, inv_std = kernel.normalise(x3, mean, var_sum, self.eps, gamma, beta)
                y = self._as_input_shape(y, x)
            stat = self._stat_shape(x)
            self.mean, self.inv_std = mean.reshape(stat), inv_std.reshape(stat)
            self.squares = var_sum     # the sum of squared deviations, for the running variance
            return kernel.laid_out(y, x)   # channels-last or row-major, as PyTorch's
        self.mean = x.mean(axis=self.axes, keepdims=True)
        x_hat = x - self.mean
        self.squares = (x_hat * x_hat).sum(axis=self.axes, keepdims=True)
        self.var = self.squares / (x.size // x.shape[1])   # biased
        self.squares = self.squares.reshape(-1)
        self.inv_std = 1.0 / backend.get_array_module(x).sqrt(self.var + self.eps)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        if gamma is None:
            return laid_out_like(x_hat.copy(), x)
        stat = self._stat_shape(x)
        y = x_hat * gamma.reshape(stat)
        y += beta.reshape(stat)
        return laid_out_like(y, x)

    def _as_kernel_reads(self, a: Any) -> Any:
        """a (N, C, ...) as the kernel reads it: (N, C, pixels), or for a channels-last
        layout (N H W, C, 1), rows of C values (batchnorm_kernel.as_rows)."""
        if self.layout == "channels_last":
            return kernel.as_rows(a)
        return np.ascontiguousarray(a).reshape(a.shape[0], a.shape[1], -1)

    def _as_input_shape(self, a3: Any, x: Any) -> Any:
        """``_as_kernel_reads`` undone, for a result of the kernel."""
        if self.layout == "channels_last":
            return kernel.from_rows(a3, x)
        return a3.reshape(x.shape)

    def backward(self, gy):
        x = self.inputs[0]
        affine = len(self.inputs) == 3
        if self.as_pytorch:   # PyTorch's kernels, on arrays: the one for x's layout when
            # the incoming gradient has it too, else its generic loops
            gamma = self.inputs[1].array if affine else None
            mean, inv_std = self.mean.reshape(-1), self.inv_std.reshape(-1)
            if kernel.kernel_reads_both(x.array, gy.array):
                gx, g_gamma, g_beta = kernel.gradients(
                    self._as_kernel_reads(x.array), self._as_kernel_reads(gy.array), gamma,
                    mean, inv_std)
                gx = self._as_input_shape(gx, x.array)
            else:
                gx, g_gamma, g_beta = kernel.strided_gradients(x.array, gy.array, gamma, mean,
                                                               inv_std)
            gx = kernel.laid_out(gx, x.array)
        else:
            gx, g_gamma, g_beta = self._closed_form(gy.array)
        if not is_grad_enabled():   # the ordinary backward: arrays, no graph
            grads = [Tensor(gx) if self.needs_input_grad[0] else None]
            return tuple(grads + ([Tensor(g_gamma), Tensor(g_beta)] if affine else []))
        # create_graph: each gradient a node whose own derivative is the closed-form second
        # derivative (batchnorm_second_derivative.py); beta's, a sum of gy, differentiates
        # as the sum it is
        stats = second.Statistics(x.numel() // x.shape[1], self.eps, self.axes, self.mean,
                                  self.inv_std, self.second_derivative_dtype)
        grads = [second.InputGradient(gx, stats)(*self.inputs[:2], gy)
                 if self.needs_input_grad[0] else None]
        if affine:
            grads += [second.GammaGradient(g_gamma, stats)(x, gy),
                      second.KernelValue(g_beta)(gy.sum(axis=self.axes))]
        return tuple(grads)

    def _closed_form(self, g: Any) -> tuple[Any, Any, Any]:
        """dL/dx, dL/dgamma, dL/dbeta as arrays, by the formulas in the class text (the
        inputs too large for PyTorch's order, or on a device)."""
        x_hat, n = self.x_hat, self.inputs[0].numel() // self.inputs[0].shape[1]
        sum_g = g.sum(axis=self.axes, keepdims=True)
        sum_g_x_hat = (g * x_hat).sum(axis=self.axes, keepdims=True)
        gx = None
        if self.needs_input_grad[0]:   # not for a batch of data
            scale = self.inv_std / n
            if len(self.inputs) == 3:
                scale = scale * self.inputs[1].array.reshape(self._stat_shape(x_hat))
            gx = x_hat * sum_g_x_hat          # scale * (n g - sum g - x_hat sum g x_hat),
            gx += sum_g                       # in place on one new array
            gx -= n * g
            gx *= -scale
        return gx, sum_g_x_hat.reshape(-1), sum_g.reshape(-1)
