"""Padding layers: ``nn.ZeroPad2d``, ``nn.ReflectionPad2d`` and their family, each a fixed
call of ``F.pad`` (tinygan/engine/padding.py, where the modes and their gradients are).

Image-to-image GANs pad before a convolution instead of letting it pad with zeros: CycleGAN's
generator (Zhu et al. 2017, "Unpaired Image-to-Image Translation using Cycle-Consistent
Adversarial Networks", ICCV, Appendix 7.2) uses reflection padding, reported there to reduce
artifacts: a convolution at the border sees neighbours taken from the image, not zeros.

``padding``: an int pads every side of the last 1, 2 or 3 dims by it; a tuple is PyTorch's
(left, right, top, bottom, front, back), last dim first.
"""
from __future__ import annotations

from typing import Any

from tinygan.engine.padding import pad
from tinygan.engine.tensor import Tensor
from tinygan.nn.module import Module


class _Pad(Module):
    mode = "constant"
    dims = 2

    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__()
        self.padding = (padding,) * (2 * self.dims) if isinstance(padding, int) \
            else tuple(padding)

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPad(_Pad):
    def __init__(self, padding: int | tuple[int, ...], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, x: Tensor) -> Tensor:
        return pad(x, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPad(_ConstantPad):
    def __init__(self, padding: int | tuple[int, ...]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _family(mode: str, base: Any, dims: int, name: str) -> type:
    return type(name, (base,), {"mode": mode, "dims": dims, "__module__": __name__,
                                "__doc__": f"F.pad(x, padding, '{mode}') on the last {dims} "
                                           f"dim{'s' if dims > 1 else ''}."})


ZeroPad1d, ZeroPad2d, ZeroPad3d = (_family("constant", _ZeroPad, d, f"ZeroPad{d}d")
                                   for d in (1, 2, 3))
ConstantPad1d, ConstantPad2d, ConstantPad3d = (
    _family("constant", _ConstantPad, d, f"ConstantPad{d}d") for d in (1, 2, 3))
class _CircularPad(_Pad):
    """Circular padding layers check their input's dims themselves (the other layers leave
    that to F.pad), as PyTorch's do."""
    mode = "circular"

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim not in (self.dims + 1, self.dims + 2):
            raise ValueError(f"expected {self.dims + 1}D or {self.dims + 2}D input (got "
                             f"{x.ndim}D input)")
        return super().forward(x)


ReflectionPad1d, ReflectionPad2d, ReflectionPad3d = (
    _family("reflect", _Pad, d, f"ReflectionPad{d}d") for d in (1, 2, 3))
ReplicationPad1d, ReplicationPad2d, ReplicationPad3d = (
    _family("replicate", _Pad, d, f"ReplicationPad{d}d") for d in (1, 2, 3))
CircularPad1d, CircularPad2d, CircularPad3d = (
    _family("circular", _CircularPad, d, f"CircularPad{d}d") for d in (1, 2, 3))

__all__ = ["ZeroPad1d", "ZeroPad2d", "ZeroPad3d", "ConstantPad1d", "ConstantPad2d",
           "ConstantPad3d", "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
           "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d", "CircularPad1d",
           "CircularPad2d", "CircularPad3d"]
