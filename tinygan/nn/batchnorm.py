"""Batch normalisation (Ioffe & Szegedy 2015, "Batch Normalization: Accelerating Deep
Network Training by Reducing Internal Covariate Shift").

Training:   x_hat = (x - mu_B) / sqrt(var_B + eps),  y = gamma * x_hat + beta,
            with mu_B and the *biased* var_B taken over the batch (and pixels, for images);
            running_mean <- (1 - momentum) running_mean + momentum mu_B,
            running_var  <- (1 - momentum) running_var  + momentum var_B * n / (n - 1)
            (the running variance is unbiased, as in PyTorch).
Evaluation: the running statistics replace the batch ones, so one sample at a time gives
            the same answer as a batch - remember model.eval() before sampling.
The normalisation is written with Tensor ops, so gradients flow through mu_B and var_B and
second derivatives work (a gradient penalty through a BatchNorm layer is differentiable).
That plain form is ``normalise_batch`` below. Its fast form, the default in training, is one
node with the closed-form gradient (``BatchNormBatchStats``, tinygan/fast/batchnorm.py).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from tinygan import fast
from tinygan.devices import backend
from tinygan.engine.tensor import Parameter, Tensor
from tinygan.nn.module import Module


def normalise_batch(x: Tensor, axes: tuple[int, ...], eps: float, weight: Tensor | None = None,
                    bias: Tensor | None = None) -> tuple[Tensor, Any, Any]:
    """Training mode, the plain form: x (N, C, ...) normalised with the statistics of the
    batch over ``axes`` (all but the channel axis), then scaled by weight (C,) and shifted by
    bias (C,) when given. Returns y (like x), and the batch mean and the sum of squared
    deviations as raw (C,) arrays, for the running statistics."""
    stat_shape = tuple(1 if axis in axes else size for axis, size in enumerate(x.shape))
    mean = x.mean(axis=axes, keepdims=True)
    centred = x - mean
    squares = (centred * centred).sum(axis=axes, keepdims=True)
    var = squares / (x.numel() // x.shape[1])       # biased, for x_hat
    x_hat = centred / (var + eps).sqrt()
    stats = mean.array.reshape(-1), squares.array.reshape(-1)
    if weight is None:
        return (x_hat,) + stats
    return (x_hat * weight.reshape(stat_shape) + bias.reshape(stat_shape),) + stats


class _BatchNorm(Module):
    expected_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        xp, dtype = backend.xp(), dtype or backend.DEFAULT_DTYPE
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype))   # gamma
            self.bias = Parameter(xp.zeros(num_features, dtype=dtype))    # beta
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype="int64")))
        if device is not None:
            self.to(device)

    def running_mean_dtype(self) -> Any:
        """The dtype the layer works in (its parameters', else its statistics')."""
        for t in (getattr(self, "weight", None), getattr(self, "running_mean", None)):
            if t is not None:
                return t.dtype
        return np.dtype(backend.DEFAULT_DTYPE)

    def _check(self, x: Tensor) -> None:
        if x.ndim not in self.expected_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of "
                             f"{' or '.join(f'{n}-D' for n in self.expected_ndims)} shape "
                             f"(N, {self.num_features}, ...), got {x.shape}")

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        if x.dtype == np.float16 and self.running_mean_dtype() != np.float16:
            # PyTorch normalises half inputs in float32 (its statistics too), returns half
            return self.forward(x.float()).half()
        if x.numel() == 0 and (self.training or not self.track_running_stats):
            # PyTorch: an empty batch passes through (scaled by the first weight, to keep
            # the graph), its running statistics untouched, the batch counted
            if self.training and self.track_running_stats:
                self.num_batches_tracked.array += 1
            return x * self.weight[0] + self.bias[0] if self.affine else x * 1.0
        if self.training or not self.track_running_stats:      # the batch's own statistics
            n = x.numel() // self.num_features
            if n <= 1:
                raise ValueError(f"{type(self).__name__}: need more than 1 value per channel "
                                 f"in training, got input of shape {x.shape}")
            axes = (0,) + tuple(range(2, x.ndim))        # everything except the channel axis
            weight, bias = (self.weight, self.bias) if self.affine else (None, None)
            y, mean, squares = fast.form(normalise_batch)(x, axes, self.eps, weight, bias)
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, squares, n)
            return y
        stat_shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        mean = self.running_mean.reshape(stat_shape)
        var = self.running_var.reshape(stat_shape)
        x_hat = (x - mean) / (var + self.eps).sqrt()
        if not self.affine:
            return x_hat
        return x_hat * self.weight.reshape(stat_shape) + self.bias.reshape(stat_shape)

    def _update_running_stats(self, mean, squares, n: int) -> None:
        """running = momentum * batch + (1 - momentum) * running, in PyTorch's arithmetic:
        momentum in the statistics' dtype; the unbiased variance, squares / (n - 1), in
        float64, to which the running part (rounded once) is added there."""
        m = self.momentum
        self.num_batches_tracked.array += 1
        if m is None:  # PyTorch: momentum=None means a cumulative (equal-weight) average
            m = 1.0 / float(self.num_batches_tracked.array)
        rm, rv = self.running_mean.array, self.running_var.array
        m = rm.dtype.type(m)
        rm[...] = (1 - m) * rm + m * mean.astype(rm.dtype)
        unbiased = (squares / rv.dtype.type(n - 1)).astype(np.float64)
        rv[...] = (m * unbiased + ((1 - m) * rv).astype(np.float64)).astype(rv.dtype)
        for buffer in (self.num_batches_tracked, self.running_mean, self.running_var):
            buffer._bump_version()   # an eval-mode graph that read them must not run stale

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Normalises each feature of (N, C) inputs, or each channel of (N, C, L) inputs."""
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of (N, C, H, W) images over the batch and all pixels."""
    expected_ndims = (4,)
