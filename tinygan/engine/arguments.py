"""What each kind of parameter accepts: the rules of PyTorch's argument parser.

Before a PyTorch op runs, its parser checks every argument against the kind its signature
names, and refuses the rest with a TypeError that names the op, the argument and what it got:

==========  ================================================  ==========================
kind        accepted                                          refused
==========  ================================================  ==========================
bool        True, False                                       1, None, a tensor, np.bool_
int         an int, a NumPy integer, a 0-d integer tensor     True, 1.0, a bool tensor
SymInt      the same, or an integer tensor of one element of  True, 1.0, a float tensor
            any shape (a size, k of topk; a list of dims
            takes a bool one too)
dtype       a dtype, or Python's float, int, bool, complex    'float64', a tensor
==========  ================================================  ==========================

(A Scalar, the kind of alpha or a fill value, has its own rule: ``tensor.number_argument``.)
NumPy is looser: it reads 1 as True and a dim of 1.0 as an error only sometimes, so tinygan
checks here, once per argument, before anything is computed. A learner who wrote
``x.sum(0, keepdim=1)`` gets PyTorch's answer: a TypeError, not a quiet True.

(engine/tensor.py imports this file, so a tensor is recognised here by its class's name.)
"""
from __future__ import annotations

import operator
from typing import Any

import numpy as np


def kind_name(value: Any) -> str:
    """The type of ``value`` as PyTorch's messages print it: int, NoneType, numpy.bool."""
    kind = type(value)
    if kind.__name__ == "Tensor":
        return "Tensor"
    module = kind.__module__
    return kind.__name__ if module == "builtins" else f"{module.split('.')[0]}.{kind.__name__}"


def flag(op: str, name: str, value: Any) -> bool:
    """A ``bool`` parameter (keepdim, largest, unbiased, descending): True or False only."""
    if isinstance(value, bool):
        return value
    raise TypeError(f"{op}(): argument '{name}' must be bool, not {kind_name(value)}: "
                    f"write True or False")


def integer(op: str, name: str, value: Any) -> int:
    """An ``int`` parameter (a dim, chunks): an int, a NumPy integer, or a 0-d integer tensor
    (not bool: ``x.softmax(torch.tensor(True))`` is refused). Python counts True as 1;
    PyTorch does not, and ``x.sum(True)`` is a mistake."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, np.integer) or (type(value).__name__ == "Tensor" and value.ndim == 0
                                         and value.dtype.kind in "iu"):
        return int(value)
    raise TypeError(f"{op}(): argument '{name}' must be int, not {kind_name(value)}")


def index(op: str, name: str, value: Any, bools: bool = False) -> int:
    """A ``SymInt`` parameter (k of topk, a diagonal, a size): what ``int`` accepts, and an
    integer tensor of one element, of any shape (``Tensor.__index__``). ``bools``: a bool
    tensor too, as a list of dims takes one (``x.sum(torch.tensor([True]))`` is dim 1)."""
    if type(value).__name__ == "Tensor" and value.dtype.kind == "b" and not bools:
        raise TypeError(f"{op}(): argument '{name}' must be int, not a bool Tensor")
    if not isinstance(value, (bool, np.bool_, float, np.floating)):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{op}(): argument '{name}' must be int, not {kind_name(value)}")


_PYTHON_DTYPES = {float: np.float64, int: np.int64, bool: np.bool_, complex: np.complex128}


def dtype_or_none(op: str, name: str, value: Any) -> Any:
    """A ``dtype`` parameter: None, a dtype (tinygan.float32 is NumPy's), or one of
    Python's number types (float is float64, as in PyTorch). A string or a tensor is
    refused: ``x.sum(dtype='float64')`` raises in PyTorch."""
    if value is None or isinstance(value, np.dtype):
        return value
    if isinstance(value, type):
        if value in _PYTHON_DTYPES:
            return _PYTHON_DTYPES[value]
        if issubclass(value, np.generic):   # tinygan.float32 is np.float32
            return value
    raise TypeError(f"{op}(): argument '{name}' must be torch.dtype, not {kind_name(value)}: "
                    f"write e.g. tinygan.float64")
