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
from tinygan.engine.arguments import flag, kind_name
from tinygan.engine.functional import keeps, refuse_gradient_of
from tinygan.engine.tensor import Parameter, Tensor, number_argument
from tinygan.nn.module import Module


def normalise_batch(x: Tensor, axes: tuple[int, ...], eps: float, weight: Tensor | None = None,
                    bias: Tensor | None = None) -> tuple[Tensor, Any, Any]:
    """Training mode, the plain form: x (N, C, ...) normalised with the statistics of the
    batch over ``axes`` (all but the channel axis), then scaled by weight (C,) and shifted by
    bias (C,) when given. Returns y (like x), and the batch mean and the sum of squared
    deviations as raw (C,) arrays, for the running statistics (float64 ones are averaged
    in float64: the fast form's, for a strided input, as PyTorch's generic loops)."""
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
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.has_bias = affine and bias   # (PyTorch 2.x: affine=True, bias=False scales only)
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        xp, dtype = backend.xp(), dtype or backend.DEFAULT_DTYPE
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype))   # gamma
            if bias:
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
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.array += 1
            self.num_batches_tracked._bump_version()
            if self.momentum is None:  # PyTorch: a cumulative (equal-weight) average
                factor = 1.0 / float(self.num_batches_tracked.array)
        tracked = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if tracked else None,
                          self.running_var if tracked else None,
                          getattr(self, "weight", None), getattr(self, "bias", None),
                          self.training or not self.track_running_stats, factor, self.eps,
                          who=type(self).__name__)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.has_bias}, "
                f"track_running_stats={self.track_running_stats}")


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,  # noqa: A002
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5, *, who: str = "batch_norm") -> Tensor:
    """torch.nn.functional.batch_norm: input (N, C, ...) normalised per channel C.

    training=True: with the batch's statistics (over N and the pixels), and, where running
    statistics are given, updated in place: running = (1 - momentum) running + momentum batch
    (the running variance unbiased). training=False: with the running statistics."""
    # the arguments' kinds, as PyTorch checks them: `if training:` (Python's truth value)
    # first, then its parser: tensors or None, training a bool, momentum and eps numbers
    bool(training)
    training = flag(who, "training", training)
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and not isinstance(t, Tensor):
            raise TypeError(f"{who}(): argument '{name}' must be Tensor, not {kind_name(t)}")
    momentum = number_argument(who, "momentum", momentum)
    eps = number_argument(who, "eps", eps)
    if who == "batch_norm" and (eps <= 0 if training else eps < 0):   # (F.batch_norm's check)
        need = "positive during training" if training else "non-negative"
        raise ValueError(f"batch_norm eps must be {need}, but got {eps}")
    if input.numel() == 0:   # PyTorch's early return, which keeps the graph: x * w[0] + b[0]
        out = input.clone()
        out = out if weight is None else out * weight[0]
        return out if bias is None else out + bias[0]
    if input.dtype.kind in "biu":   # (PyTorch's kernels are for floats)
        name = backend.TORCH_DTYPE_NAMES.get(input.dtype.name, input.dtype.name)
        raise NotImplementedError(f'"{who}" not implemented for \'{name}\' (an input of shape '
                                  f'{input.shape}); convert it with .float()')
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if isinstance(t, Tensor) and t.dtype.kind not in "fc":
            raise RuntimeError(f"{who}: expected scalar type {input.dtype} but found "
                               f"{t.dtype} ({name}); give it as floats")
    # PyTorch's CPU kernels: the parameters share one dtype, the input's, except that a
    # half input may have float32 parameters (normalised in float32, see below)
    given = {name: t for name, t in (("weight", weight), ("bias", bias), ("running_mean",
             running_mean), ("running_var", running_var)) if t is not None}
    kinds = {t.dtype for t in given.values()}
    if len(kinds) > 1 or (kinds and kinds != {input.dtype} and not (
            input.dtype == np.float16 and kinds == {np.dtype(np.float32)})):
        dtypes = ", ".join(f"{name} {t.dtype}" for name, t in given.items())
        raise RuntimeError(f"{who}: mixed dtype (CPU): the parameters must share the input's "
                           f"dtype {input.dtype} (or be float32 for a half input); got "
                           f"{dtypes}. Convert them, e.g. with module.to(x.dtype)")
    stats_dtype = next((t.dtype for t in (weight, bias, running_mean) if t is not None),
                       np.dtype(backend.DEFAULT_DTYPE))
    if input.dtype == np.float16 and stats_dtype != np.float16:
        # PyTorch normalises half inputs in float32 (its statistics too), returns half; its
        # one node keeps the half input itself (the float32 copy here is the engine's), so
        # writing that input in place before backward is refused, as there
        out = batch_norm(input.float(), running_mean, running_var, weight, bias, training,
                         momentum, eps, who=who)
        if hasattr(out.creator, "second_derivative_dtype"):   # the fused node: its second
            out.creator.second_derivative_dtype = np.dtype(np.float16)   # derivative in half
        out = out.half()
        return keeps(out, input, name="NativeBatchNormBackward0", one_node=False)
    for name, t in (("weight", weight), ("bias", bias), ("running_mean", running_mean),
                    ("running_var", running_var)):
        if t is not None and t.numel() != input.shape[1]:
            raise RuntimeError(f"{who}: {name} should contain {input.shape[1]} elements not "
                               f"{t.numel()} (input of shape {input.shape})")
    for name, t in (("running_mean", running_mean), ("running_var", running_var)):
        refuse_gradient_of("native_batch_norm", name, t)
    if weight is None and bias is not None:   # a shift without a scale: gamma = 1
        weight = Tensor(backend.get_array_module(bias.array).ones_like(bias.array))
    affine = weight is not None
    if affine and bias is None:   # a scale without a shift: beta = 0
        bias = Tensor(backend.get_array_module(weight.array).zeros_like(weight.array))
    if input.numel() == 0 and training:
        # PyTorch: an empty batch passes through (scaled by the first weight, to keep the
        # graph), its running statistics untouched
        return input * weight[0] + bias[0] if affine else input * 1.0
    if training:                                  # the batch's own statistics
        n = input.numel() // input.shape[1]
        if n <= 1:
            raise ValueError(f"{who}: Expected more than 1 value per channel when training, "
                             f"got input size {list(input.shape)}")
        axes = (0,) + tuple(range(2, input.ndim))   # everything except the channel axis
        y, mean, squares = fast.form(normalise_batch)(input, axes, eps, weight, bias)
        if running_mean is not None:
            _update_running_stats(running_mean, running_var, mean, squares, n, momentum)
        return y
    if running_mean is None or running_var is None:
        raise RuntimeError(f"{who}: running_mean and running_var must be given in evaluation "
                           f"mode (training=False); pass training=True to use the batch's "
                           f"statistics")
    stat_shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    x_hat = (input - running_mean.reshape(stat_shape)) / \
        (running_var.reshape(stat_shape) + eps).sqrt()
    y = x_hat if not affine else x_hat * weight.reshape(stat_shape) + bias.reshape(stat_shape)
    # PyTorch's backward is one node that reads the input and the weight: with create_graph
    # every gradient it gives requires grad when either does (even x's, which does not
    # depend on x here)
    return keeps(y, input, weight, name="NativeBatchNormBackward", reads_value=False)


def _update_running_stats(running_mean: Tensor, running_var: Tensor, mean: Any, squares: Any,
                          n: int, momentum: float) -> None:
    """running = momentum * batch + (1 - momentum) * running, in PyTorch's arithmetic:
    momentum in the statistics' dtype; the unbiased variance, squares / (n - 1), in float64,
    to which the running part (rounded once) is added there."""
    rm, rv = running_mean.array, running_var.array
    if mean.dtype == np.float64 and rm.dtype != np.float64:
        # statistics kept in float64 (PyTorch's generic loops, for a strided input): the
        # update in float64 too, rounded once
        m = float(momentum)
        rm[...] = (m * mean + (1 - m) * rm.astype(np.float64)).astype(rm.dtype)
        unbiased = squares.astype(np.float64) / (n - 1)
        rv[...] = (m * unbiased + (1 - m) * rv.astype(np.float64)).astype(rv.dtype)
    else:
        m = rm.dtype.type(momentum)
        rm[...] = (1 - m) * rm + m * mean.astype(rm.dtype)
        unbiased = (squares / rv.dtype.type(n - 1)).astype(np.float64)
        rv[...] = (m * unbiased + ((1 - m) * rv).astype(np.float64)).astype(rv.dtype)
    for buffer in (running_mean, running_var):
        buffer._bump_version()   # an eval-mode graph that read them must not run stale


class BatchNorm1d(_BatchNorm):
    """Normalises each feature of (N, C) inputs, or each channel of (N, C, L) inputs."""
    expected_ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Normalises each channel of (N, C, H, W) images over the batch and all pixels."""
    expected_ndims = (4,)
