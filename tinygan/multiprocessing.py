"""``torch.multiprocessing`` for tinygan: Python's multiprocessing, with tensors that several
processes on one machine can share.

Everything of Python's ``multiprocessing`` is here (Process, Queue, Pool, set_start_method,
get_context, ...). What PyTorch adds, and this module adds too, is *shared tensors*:

* ``model.share_memory()`` (or ``tensor.share_memory_()``) moves each parameter's values
  into a block of shared memory (``multiprocessing.shared_memory``): one copy of the numbers
  that every process maps, so an optimizer step in one process is seen by all (Hogwild,
  Recht et al. 2011: lock-free SGD on shared weights);
* a tensor sent to another process (a Process argument, a Queue item) arrives as a Tensor
  over the *same* memory if it is shared, or as a copy if it is not.

Works with the "fork" and "spawn" start methods, on the CPU. A CUDA tensor cannot be shared
this way (PyTorch uses CUDA IPC): ``share_memory_`` raises and says so. Gradients are not
shared: each process allocates its own on its first backward, as in PyTorch.
"""
from __future__ import annotations

import multiprocessing as _mp
import os
import weakref
from multiprocessing import *  # noqa: F401,F403  (Process, Queue, Pool, set_start_method ...)
from multiprocessing import shared_memory
from multiprocessing.reduction import ForkingPickler
from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.tensor import Parameter, Tensor

__all__ = list(_mp.__all__) + ["share_tensor_", "is_shared"]


def share_tensor_(t: Tensor) -> Tensor:
    """Move ``t``'s values into shared memory, in place (``t`` keeps its identity, dtype and
    shape); a no-op if they are there already. Returns ``t``."""
    if is_shared(t):
        return t
    if backend.device_of(t.array) != "cpu":
        raise RuntimeError(f"share_memory_: tinygan shares CPU tensors only (this one is on "
                           f"{backend.device_of(t.array)}): move the model with .cpu() first")
    values = np.ascontiguousarray(t.array)
    block = shared_memory.SharedMemory(create=True, size=max(values.nbytes, 1))
    shared = np.ndarray(values.shape, dtype=values.dtype, buffer=block.buf)
    shared[...] = values
    t.array = shared
    t._shared_block = block
    t._bump_version()
    # the creating process removes the block's name when the tensor goes; the memory itself
    # lives until the last process that maps it lets go
    weakref.finalize(t, _release, block, os.getpid())
    return t


def is_shared(t: Tensor) -> bool:
    return getattr(t, "_shared_block", None) is not None


def _release(block: shared_memory.SharedMemory, owner: int) -> None:
    try:
        block.close()
    except BufferError:          # an array still views it: the mapping goes with that array
        pass
    if os.getpid() == owner:
        try:
            block.unlink()
        except FileNotFoundError:
            pass


def _attach(name: str, shape: tuple, dtype: str, cls: type, requires_grad: bool) -> Tensor:
    """In the receiving process: a Tensor over the block ``name`` (no copy)."""
    # (Python < 3.13 also registers the attached block with the resource tracker; processes
    # started by multiprocessing share their parent's tracker, so that is the same entry, and
    # the creator's unlink removes it)
    block = shared_memory.SharedMemory(name=name)
    array = np.ndarray(shape, dtype=np.dtype(dtype), buffer=block.buf)
    t = cls(array, requires_grad=requires_grad) if cls is Parameter else cls(array)
    if cls is not Parameter:
        t.requires_grad = requires_grad
    t._shared_block = block
    return t


def _copied(array: np.ndarray, cls: type, requires_grad: bool) -> Tensor:
    t = cls(array, requires_grad=requires_grad) if cls is Parameter else cls(array)
    if cls is not Parameter:
        t.requires_grad = requires_grad
    return t


def _reduce_tensor(t: Tensor) -> tuple:
    """How a Tensor crosses to another process: by name if shared, else by value. Only a
    leaf crosses (as in PyTorch, a tensor with a graph cannot be sent)."""
    if t.creator is not None:
        raise RuntimeError("Cowardly refusing to send a tensor that is part of a graph to "
                           "another process: send t.detach() (PyTorch refuses it too)")
    cls = Parameter if isinstance(t, Parameter) else Tensor
    if is_shared(t):
        return _attach, (t._shared_block.name, t.array.shape, t.array.dtype.str, cls,
                         t.requires_grad)
    return _copied, (backend.to_numpy(t.array), cls, t.requires_grad)


ForkingPickler.register(Tensor, _reduce_tensor)
ForkingPickler.register(Parameter, _reduce_tensor)


def __getattr__(name: str) -> Any:
    if name in ("spawn", "start_processes", "ProcessContext", "SpawnContext"):
        raise AttributeError(f"tinygan.multiprocessing has no {name} (torch.multiprocessing's "
                             f"launcher): start workers with multiprocessing's Process(target=..., "
                             f"args=...), which this module provides")
    raise AttributeError(f"module 'tinygan.multiprocessing' has no attribute '{name}'")
