"""``import tinygan.nn.functional as F`` works as ``torch.nn.functional`` does.

Most names come straight from tinygan.engine.functional. The few below add the arguments that
torch.nn.functional's versions take (``inplace=``, softmax's optional ``dim``) and the ops
that live with their layers (interpolate, dropout2d, embedding).
"""
from __future__ import annotations

from typing import Any

from tinygan.engine import functional as _core
from tinygan.engine.functional import *  # noqa: F401,F403
from tinygan.engine.functional import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa
                                cross_entropy, linear, log_sigmoid, mse_loss, one_hot,
                                sigmoid, softplus, tanh)
from tinygan.engine.convolution import conv2d, conv_transpose2d  # noqa: F401,E402
from tinygan.engine.tensor import Tensor
from tinygan.engine.tensor import number_argument as _number_argument
from tinygan.engine.resample import interpolate  # noqa: F401,E402
from tinygan.nn.embedding import embedding  # noqa: F401,E402
from tinygan.engine.pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d  # noqa: F401,E402
from tinygan.engine.losses import l1_loss, nll_loss  # noqa: F401,E402
from tinygan.engine.padding import pad  # noqa: F401,E402
from tinygan.nn.batchnorm import batch_norm  # noqa: F401,E402
from tinygan.nn.instancenorm import instance_norm  # noqa: F401,E402
from tinygan.engine.pixel_shuffle import pixel_shuffle, pixel_unshuffle  # noqa: F401,E402
from tinygan.engine import smooth_activations as _smooth  # noqa: E402
from tinygan.engine.arguments import dtype_or_none as _dtype_or_none  # noqa: E402
from tinygan.engine.smooth_activations import prelu  # noqa: F401,E402


def _inplace_flag(op: str, inplace: Any) -> None:
    if inplace not in (True, False) or isinstance(inplace, float):
        raise TypeError(f"F.{op}: inplace must be True or False, got {inplace!r}")


def relu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(x, 0). ``inplace=True`` overwrites ``input`` and returns it (as PyTorch; an
    in-place change is tracked like any other: see Tensor._inplace)."""
    _inplace_flag("relu", inplace)
    return input.relu_() if inplace else _core.relu(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01,  # noqa: A002
               inplace: bool = False) -> Tensor:
    _inplace_flag("leaky_relu", inplace)
    if inplace:
        return input._inplace("leaky_relu_",
                              lambda t: _core.leaky_relu(t, negative_slope, in_place=True))
    return _core.leaky_relu(input, negative_slope)


def silu(input: Tensor, inplace: bool = False) -> Tensor:  # noqa: A002
    """x sigmoid(x); ``inplace=True`` overwrites input (tinygan/engine/smooth_activations.py)."""
    _inplace_flag("silu", inplace)
    return input._inplace("silu_", _smooth.silu) if inplace else _smooth.silu(input)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:  # noqa: A002
    """x for x > 0, alpha (e^x - 1) otherwise; ``inplace=True`` overwrites input."""
    _inplace_flag("elu", inplace)
    alpha = _number_argument("elu", "alpha", alpha)
    if inplace:
        return _smooth.elu_(input, alpha)
    return _smooth.elu(input, alpha)


def dropout(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
            inplace: bool = False, generator: Any = None) -> Tensor:
    _inplace_flag("dropout", inplace)
    if inplace and training and p != 0 and input.numel():   # (as dropout2d)
        _core.check_dropout_arguments(p, training)
        return input._inplace("dropout_", lambda t: _core.dropout(t, p, training, generator))
    return _core.dropout(input, p, training, generator)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,  # noqa: A002
              inplace: bool = False, generator: Any = None) -> Tensor:
    from tinygan.nn.dropout import dropout_channels
    _inplace_flag("dropout2d", inplace)
    if inplace and training and p != 0 and input.numel():   # (Tensor._inplace: a leaf that
        # requires grad refuses it; with nothing to drop PyTorch leaves the input alone)
        _core.check_dropout_arguments(p, training)
        return input._inplace("dropout2d_", lambda t: dropout_channels(t, p, training,
                                                                         generator))
    return dropout_channels(input, p, training, generator)


def _along_dim(name: str, core: Any, input: Tensor, dim: int | None,  # noqa: A002
               stacklevel: int, dtype: Any) -> Tensor:
    from tinygan.nn.activation import implicit_softmax_dim
    if dtype is not None and _dtype_or_none(name, "dtype", dtype) is not None:
        input = input.to(dtype=dtype)
    if dim is None:
        dim = implicit_softmax_dim(name, input.ndim, stacklevel + 2)
    return core(input, dim)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
            dtype: Any = None) -> Tensor:
    """Softmax along ``dim``; without it, PyTorch's implicit choice and its warning."""
    return _along_dim("softmax", _core.softmax, input, dim, _stacklevel, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,  # noqa: A002
                dtype: Any = None) -> Tensor:
    return _along_dim("log_softmax", _core.log_softmax, input, dim, _stacklevel, dtype)


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None,  # noqa: A002
             mode: str = "nearest", align_corners: bool | None = None) -> Tensor:
    """The old name of ``interpolate``."""
    return interpolate(input, size, scale_factor, mode, align_corners)

logsigmoid = log_sigmoid   # PyTorch's name in torch.nn.functional
