"""Activation layers: thin Modules around the functions in tinygan.engine.functional.

Each layer takes exactly PyTorch's arguments, positionally too (``nn.ReLU(True)``,
``nn.LeakyReLU(0.2, inplace=True)``), and a wrong one is answered with the layer's real
signature. ``inplace=True`` overwrites the input and returns it, as PyTorch does (a later
read of the input sees the activated values; on a leaf that requires grad it raises).
"""
from __future__ import annotations

import functools
import inspect
import warnings
from typing import Any

from tinygan.engine import functional as F
from tinygan.engine import smooth_activations as smooth
from tinygan.nn.module import Module
from tinygan.engine.tensor import Tensor


def torch_signature(cls: type) -> type:
    """Class decorator: arguments that do not fit ``cls.__init__`` raise a TypeError that
    shows the signature, e.g. ``nn.LeakyReLU(negative_slope=0.01, inplace=False): got an
    unexpected keyword argument 'slope'``."""
    init = cls.__init__
    signature = inspect.signature(init)
    shown = signature.replace(parameters=[
        p.replace(annotation=inspect.Parameter.empty)
        for p in list(signature.parameters.values())[1:]],
        return_annotation=inspect.Signature.empty)

    @functools.wraps(init)
    def checked_init(self: Any, *args: Any, **kwargs: Any) -> None:
        try:
            signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"nn.{cls.__name__}{shown}: {error}") from None
        init(self, *args, **kwargs)

    cls.__init__ = checked_init
    return cls


def check_inplace(layer: str, signature: str, inplace: Any) -> bool:
    """``inplace`` must be a bool (0 and 1 pass too); ``nn.ReLU(0.2)`` is a mistake for
    ``nn.LeakyReLU(0.2)`` that PyTorch would take silently as inplace=True."""
    if inplace not in (True, False) or isinstance(inplace, float):
        raise TypeError(f"nn.{layer}{signature}: inplace must be True or False, got "
                        f"{inplace!r}")
    return bool(inplace)


@torch_signature
class ReLU(Module):
    """max(x, 0). Units whose input stays negative get zero gradient ("dead" units)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = check_inplace("ReLU", "(inplace=False)", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return x.relu_() if self.inplace else F.relu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


@torch_signature
class LeakyReLU(Module):
    """x if x > 0 else negative_slope * x. With slope 0 it is ReLU; GAN discriminators use
    0.2 (Radford et al. 2015) so gradients reach the generator through every unit."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(negative_slope, bool) or not isinstance(negative_slope, (int, float)):
            raise TypeError(f"nn.LeakyReLU(negative_slope=0.01, inplace=False): "
                            f"negative_slope must be a number, got {negative_slope!r}")
        self.negative_slope = negative_slope
        self.inplace = check_inplace("LeakyReLU", "(negative_slope=0.01, inplace=False)",
                                     inplace)

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:   # overwrite x, tracked like any in-place op (written here, not
            # through nn.functional: a training step stays within the engine's files)
            return x._inplace("leaky_relu_", lambda t: F.leaky_relu(t, self.negative_slope,
                                                                    in_place=True))
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


@torch_signature
class Sigmoid(Module):
    """1 / (1 + e^-x), in (0, 1): a probability. Saturates (gradient ~ 0) for large |x|."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


@torch_signature
class Tanh(Module):
    """tanh(x), in (-1, 1): the generator's output layer, matching pixels scaled to [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


@torch_signature
class Softplus(Module):
    """log(1 + e^(beta x)) / beta, a smooth ReLU; where beta x > threshold it is x itself
    (the two agree there to float precision, and this avoids overflow), as in PyTorch."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Identity(Module):
    """Returns its input. Takes (and ignores) any arguments, as PyTorch's does, so it can
    stand in for a layer that is switched off: ``nn.BatchNorm2d(c) if bn else nn.Identity(c)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Tensor) -> Tensor:
        return x


def implicit_softmax_dim(name: str, ndim: int, stacklevel: int = 3) -> int:
    """PyTorch's old rule when ``dim`` is not given (with its deprecation warning): dim 0
    for 0-, 1- and 3-D inputs, else dim 1."""
    warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call "
                  f"to include dim=X as an argument.", UserWarning, stacklevel=stacklevel)
    return 0 if ndim in (0, 1, 3) else 1


@torch_signature
class Softmax(Module):
    """e^x_i / sum_j e^x_j along ``dim``: a probability vector (InfoGAN's categorical code,
    a classifier head). Leaving ``dim`` out warns, as in PyTorch."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim if self.dim is not None else implicit_softmax_dim("softmax", x.ndim, 4)
        return F.softmax(x, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@torch_signature
class LogSoftmax(Module):
    """log softmax(x) along ``dim``, computed stably as x - logsumexp(x)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        dim = self.dim if self.dim is not None else implicit_softmax_dim("log_softmax",
                                                                         x.ndim, 4)
        return F.log_softmax(x, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@torch_signature
class SiLU(Module):
    """x sigmoid(x) ("swish"): smooth, and negative just below 0 (tinygan/engine/
    smooth_activations.py has the formulas)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = check_inplace("SiLU", "(inplace=False)", inplace)

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return x._inplace("silu_", lambda t: smooth.silu(t))
        return smooth.silu(x)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


@torch_signature
class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise: saturates at -alpha for very negative x."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = alpha
        self.inplace = check_inplace("ELU", "(alpha=1.0, inplace=False)", inplace)

    def forward(self, x: Tensor) -> Tensor:
        if self.inplace:
            return smooth.elu_(x, self.alpha)
        return smooth.elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """LeakyReLU with a learned slope: x for x > 0, a x otherwise, one a for all channels
    (num_parameters=1) or one per channel of dim 1; starts at ``init`` (SRGAN's generator)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        from tinygan.devices import backend
        from tinygan.engine.tensor import Parameter
        self.num_parameters, self.init = num_parameters, init
        self.weight = Parameter(smooth.prelu_weight(num_parameters, init,
                                                    dtype or backend.DEFAULT_DTYPE))
        if device is not None:
            self.to(device)

    def forward(self, x: Tensor) -> Tensor:
        return smooth.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"
