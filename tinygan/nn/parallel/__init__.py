"""``torch.nn.parallel``: data parallelism, run on one device.

PyTorch's ``data_parallel`` splits a batch over several GPUs, runs a replica of the module
on each part and gathers the outputs; the result equals ``module(input)`` on one device.
tinygan drives at most one device, so it computes exactly that: ``module(input)``. The
device lists are accepted (and checked to be lists of device ids) for scripts that pass them.
"""
from __future__ import annotations

from typing import Any, Sequence

from tinygan.nn.module import Module


def _check_ids(device_ids: Any) -> None:
    if device_ids is not None and not all(isinstance(i, int) or hasattr(i, "type")
                                          for i in device_ids):
        raise TypeError(f"data_parallel: device_ids must be device indices, got {device_ids!r}")


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[int] | None = None,
                  output_device: Any = None, dim: int = 0,
                  module_kwargs: dict | None = None) -> Any:
    """``module(inputs)`` on the current device (see the module docstring)."""
    _check_ids(device_ids)
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    return module(*inputs, **(module_kwargs or {}))


class DataParallel(Module):
    """Wraps ``module`` as PyTorch's DataParallel does (it is ``self.module``, so state_dict
    keys start with "module."), and runs it on one device."""

    def __init__(self, module: Module, device_ids: Sequence[int] | None = None,
                 output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        _check_ids(device_ids)
        self.module = module
        self.device_ids = list(device_ids) if device_ids is not None else []
        self.output_device, self.dim = output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)



__all__ = ["data_parallel", "DataParallel"]
