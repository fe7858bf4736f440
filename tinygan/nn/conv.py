"""Conv2d and ConvTranspose2d layers: the math lives in tinygan/engine/convolution.py.

Weights have PyTorch's shapes - (out, in / groups, kh, kw) for Conv2d and
(in, out / groups, kh, kw) for ConvTranspose2d - so a state_dict moves between tinygan and
torch unchanged. Both are initialised as PyTorch does: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
with fan_in computed from weight.shape[1] * kh * kw. For ConvTranspose2d that is
(out_channels / groups) * kh * kw; PyTorch does the same, because the transposed layer
reuses its parent class's initialisation.
"""
from __future__ import annotations

from typing import Any

from tinygan.devices import backend
from tinygan.engine import convolution as C
from tinygan.nn import init
from tinygan.nn.module import Module
from tinygan.devices.random import Generator
from tinygan.engine.tensor import Parameter, Tensor


class _ConvNd(Module):
    """What both layers share: sizes, parameters, initialisation and the printed form."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | C.Pair,
                 stride: int | C.Pair, padding: int | C.Pair | str, dilation: int | C.Pair,
                 groups: int, bias: bool, padding_mode: str, transposed: bool,
                 generator: Generator | None, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        who = type(self).__name__
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = C.pair(kernel_size, "kernel_size")
        self.stride = C.pair(stride, "stride")
        self.dilation = C.pair(dilation, "dilation")
        self.groups, self.padding_mode = groups, padding_mode
        if in_channels <= 0 or out_channels <= 0 or min(self.kernel_size) <= 0:
            raise ValueError(f"{who}: channels and kernel_size must be positive, "
                             f"got in_channels={in_channels}, out_channels={out_channels}, "
                             f"kernel_size={self.kernel_size}")
        if not isinstance(groups, int) or isinstance(groups, bool) or groups < 1:
            raise ValueError(f"{who}: groups must be a positive integer, got groups={groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{who}: in_channels={in_channels} and out_channels="
                             f"{out_channels} must both be divisible by groups={groups}")
        if padding_mode not in C.PADDING_MODES:
            raise ValueError(f"{who}: padding_mode must be one of {C.PADDING_MODES}, got "
                             f"padding_mode={padding_mode!r}")
        if transposed and padding_mode != "zeros":
            raise ValueError(f"{who}: only padding_mode='zeros' is supported, got "
                             f"{padding_mode!r} (as in PyTorch)")
        if isinstance(padding, str):
            if transposed:
                raise ValueError(f"{who}: padding must be an int or a pair of ints, got "
                                 f"{padding!r} (padding strings exist only for Conv2d)")
            # validated now (PyTorch's checks): 'same' needs stride 1
            C.resolve_padding(who, padding, self.kernel_size, self.stride, self.dilation)
            self.padding: C.Pair | str = padding
        else:
            self.padding = C.pair(padding, "padding")
        if min(self.stride) < 1 or min(self.dilation) < 1 or (
                not isinstance(self.padding, str) and min(self.padding) < 0):
            raise ValueError(f"{who}: stride must be >= 1, dilation >= 1 and padding >= 0, "
                             f"got stride={self.stride}, padding={self.padding}, "
                             f"dilation={self.dilation}")
        # Conv2d: (out, in / groups, kh, kw); ConvTranspose2d: (in, out / groups, kh, kw)
        weight_shape = ((in_channels, out_channels // groups) if transposed
                        else (out_channels, in_channels // groups))
        xp, dtype = backend.xp(), dtype or backend.DEFAULT_DTYPE
        self.weight = Parameter(xp.empty(weight_shape + self.kernel_size, dtype=dtype))
        self.bias = Parameter(xp.empty(out_channels, dtype=dtype)) if bias else None
        init.default_layer_init_(self.weight, self.bias, generator)
        if device is not None:
            self.to(device)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if isinstance(self.padding, str):
            text += f", padding={self.padding}"
        elif self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        text += "" if self.bias is not None else ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text

    def _name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Conv2d(_ConvNd):
    """(N, in_channels, H, W) -> (N, out_channels, Ho, Wo), Ho = floor((H + 2p - k)/s) + 1.

    Each output pixel is a filter of shape (in_channels, kh, kw) dotted with the input patch
    under it; a stride of 2 halves the image, which is how a DCGAN discriminator downsamples
    without pooling (Radford et al. 2015).

    PyTorch's options: ``dilation`` spreads the taps, ``groups`` splits the channels into
    independent convolutions, ``padding='same'`` (stride 1) keeps the size and 'valid' pads
    nothing, ``padding_mode`` ('zeros', 'reflect', 'replicate', 'circular') says what the
    padding holds.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | C.Pair,
                 stride: int | C.Pair = 1, padding: int | C.Pair | str = 0,
                 dilation: int | C.Pair = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", device: Any = None, dtype: Any = None, *,
                 generator: Generator | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, False, generator, device, dtype)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 3:                    # one image (C, H, W), as PyTorch accepts
            return self.forward(x.unsqueeze(0)).squeeze(0)
        if self.padding_mode == "zeros":
            padding, extra = C.resolve_padding(self._name(), self.padding, self.kernel_size,
                                               self.stride, self.dilation)
            C.check_conv2d(self._name(), x, self.weight, self.bias, self.stride, padding,
                           self.dilation, self.groups, extra)
            return C.conv2d(x, self.weight, self.bias, self.stride, self.padding,
                            self.dilation, self.groups)
        # reflect / replicate / circular: pad the image first, then convolve without padding
        (ph, pw), (eh, ew) = C.resolve_padding(self._name(), self.padding, self.kernel_size,
                                               self.stride, self.dilation)
        if x.ndim != 4:
            raise ValueError(f"{self._name()}: expected a 4-D input (N, C, H, W) or a 3-D one "
                             f"(C, H, W), got shape {x.shape}")
        x = C.pad_image(x, (ph, ph + eh, pw, pw + ew), self.padding_mode)
        C.check_conv2d(self._name(), x, self.weight, self.bias, self.stride, (0, 0),
                       self.dilation, self.groups)
        return C.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """(N, in_channels, H, W) -> (N, out_channels, Ho, Wo), Ho = (H-1)s - 2p + k + output_padding.

    The adjoint of Conv2d: each input pixel scatters a weighted copy of its filter onto the
    output, at stride s, and overlaps add up. With k=4, s=2, p=1 it doubles the image size,
    which is how a DCGAN generator grows 7x7 features into a 28x28 digit. ``output_padding``
    (< stride) picks among the output sizes that a strided Conv2d maps to the same size.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | C.Pair,
                 stride: int | C.Pair = 1, padding: int | C.Pair = 0,
                 output_padding: int | C.Pair = 0, groups: int = 1, bias: bool = True,
                 dilation: int | C.Pair = 1, padding_mode: str = "zeros",
                 device: Any = None, dtype: Any = None, *,
                 generator: Generator | None = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, True, generator, device, dtype)
        self.output_padding = C.pair(output_padding, "output_padding")
        if not all(0 <= op < max(s, d) for op, s, d in zip(self.output_padding, self.stride,
                                                            self.dilation)):
            raise ValueError(f"{self._name()}: output_padding {self.output_padding} must be "
                             f">= 0 and smaller than stride {self.stride} or dilation "
                             f"{self.dilation}")

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 3:                    # one image (C, H, W), as PyTorch accepts
            return self.forward(x.unsqueeze(0)).squeeze(0)
        C.check_conv_transpose2d(self._name(), x, self.weight, self.bias, self.stride,
                                 self.padding, self.output_padding, self.dilation, self.groups)
        return C.conv_transpose2d(x, self.weight, self.bias, self.stride, self.padding,
                                  self.output_padding, self.groups, self.dilation)
