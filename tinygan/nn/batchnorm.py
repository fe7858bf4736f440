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
That plain form is what ``forward`` shows first; in training, ``BatchNormBatchStats`` below
(FUSED) computes the same in one node with the closed-form gradient, and is the default.
"""
from __future__ import annotations

from tinygan.devices import backend
from tinygan.engine import functional as F
from tinygan.nn.module import Module
from tinygan.engine.tensor import Function, Parameter, Tensor, is_grad_enabled


class _BatchNorm(Module):
    expected_ndims: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True, track_running_stats: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        xp, dtype = backend.xp(), backend.DEFAULT_DTYPE
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype))   # gamma
            self.bias = Parameter(xp.zeros(num_features, dtype=dtype))    # beta
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype="int64")))

    def _check(self, x: Tensor) -> None:
        if x.ndim not in self.expected_ndims or x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}) expects input of "
                             f"{' or '.join(f'{n}-D' for n in self.expected_ndims)} shape "
                             f"(N, {self.num_features}, ...), got {x.shape}")

    def forward(self, x: Tensor) -> Tensor:
        self._check(x)
        axes = (0,) + tuple(range(2, x.ndim))        # everything except the channel axis
        stat_shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            n = x.numel() // self.num_features
            if n <= 1:
                raise ValueError(f"{type(self).__name__}: need more than 1 value per channel "
                                 f"in training, got input of shape {x.shape}")
            if F.FUSED and (not self.affine or self.weight.dtype == x.dtype):
                return self._fused(x, axes, n)
            mean = x.mean(axis=axes, keepdims=True)
            centred = x - mean
            var = (centred * centred).mean(axis=axes, keepdims=True)   # biased, for x_hat
            if self.training and self.track_running_stats:
                self._update_running_stats(mean.array, var.array, n)
        else:
            mean = self.running_mean.reshape(stat_shape)
            var = self.running_var.reshape(stat_shape)
            centred = x - mean
        x_hat = centred / (var + self.eps).sqrt()
        if not self.affine:
            return x_hat
        return x_hat * self.weight.reshape(stat_shape) + self.bias.reshape(stat_shape)

    def _fused(self, x: Tensor, axes: tuple[int, ...], n: int) -> Tensor:
        """The same training-mode normalisation as one BatchNormBatchStats node."""
        node = BatchNormBatchStats(axes, self.eps)
        y = node(x, self.weight, self.bias) if self.affine else node(x)
        if self.training and self.track_running_stats:
            self._update_running_stats(node.mean, node.var, n)
        return y

    def _update_running_stats(self, mean, var, n: int) -> None:
        m = self.momentum
        self.num_batches_tracked.array += 1
        if m is None:  # PyTorch: momentum=None means a cumulative (equal-weight) average
            m = 1.0 / float(self.num_batches_tracked.array)
        unbiased = var.reshape(-1) * (n / (n - 1))
        rm, rv = self.running_mean.array, self.running_var.array
        rm *= 1 - m
        rm += m * mean.reshape(-1)
        rv *= 1 - m
        rv += m * unbiased
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


class BatchNormBatchStats(Function):
    """FUSED: y = gamma * x_hat + beta with x_hat = (x - mu_B) / sqrt(var_B + eps), the
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
