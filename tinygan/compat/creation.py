"""Making tensors: the factory functions a PyTorch user reaches for (tensor, zeros, randn...).

Random factories draw from a ``tinygan.Generator`` (``generator=``), or from the default one
that ``tinygan.manual_seed`` resets.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from tinygan.devices import backend
from tinygan.devices.random import Generator, default_generator
from tinygan.engine.arguments import dtype_or_none, index
from tinygan.engine.layout import empty_preserving
from tinygan.engine.tensor import NOT_GIVEN, Tensor
from tinygan.engine.tensor import _shape_args, checked_scalar, number_argument
from tinygan.engine.functional import concatenate as cat, stack  # noqa: F401  (re-exported)
from tinygan.compat.ranges import arange, linspace  # noqa: F401  (re-exported)

float32 = np.float32
float64 = np.float64


class device:
    """``tinygan.device("cuda" if tinygan.cuda.is_available() else "cpu")``, as in PyTorch."""

    def __init__(self, type: str) -> None:  # noqa: A002 - PyTorch's argument name
        self.type = backend.normalize_device(type)

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __eq__(self, other: Any) -> bool:
        return self.type == backend.normalize_device(other)

    def __hash__(self) -> int:
        return hash(self.type)

    def __str__(self) -> str:
        return self.type


def _xp(device_: Any = None):
    """The array module of ``device_`` (the default device when None)."""
    return backend.xp() if device_ is None else backend.module_for_device(device_)


def tensor(data: Any, requires_grad: bool = False, dtype: Any = None,
           device: Any = None) -> Tensor:  # noqa: A002
    """A new tensor holding a copy of ``data`` (float32 for Python floats, unless dtype).

    On ``device``; when None, a Tensor's or device array's own device, and the default
    device for host data (lists, numbers, NumPy arrays), as ``torch.tensor`` does."""
    dtype = dtype_or_none("tensor", "dtype", dtype)
    raw = data.array if isinstance(data, Tensor) else data
    if device is None and not isinstance(data, Tensor) and backend.device_of(raw) == "cpu":
        device = backend.default_device()   # host data goes to the default device (PyTorch)
    if device is not None:
        if not hasattr(raw, "dtype"):   # Python numbers and lists: PyTorch's dtype rules first
            raw = Tensor(raw, dtype=dtype).array
        raw = backend.to_device(raw, device)   # a copy when it moves
    t = Tensor(raw.copy() if hasattr(raw, "copy") else raw, dtype=dtype)
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_numpy(array: np.ndarray) -> Tensor:
    """Wrap a NumPy array (its dtype is kept; it stays on the CPU, as in PyTorch)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _factory(fill: str, shape: Sequence, dtype: Any, requires_grad: bool, device_: Any):
    dtype = dtype_or_none(fill, "dtype", dtype)
    xp = _xp(device_)
    data = getattr(xp, fill)(_shape_args(tuple(shape)), dtype=dtype or backend.DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad)


def zeros(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("zeros", shape, dtype, requires_grad, device)


def ones(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("ones", shape, dtype, requires_grad, device)


def empty(*shape: Any, dtype: Any = None, requires_grad: bool = False, device: Any = None):
    return _factory("zeros", shape, dtype, requires_grad, device)


def full(size: Sequence[int], fill_value: Any, *, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """``fill_value`` everywhere in a tensor of ``size``. The dtype, when not given, comes
    from the value as in PyTorch: a bool gives bool, an int int64, a float the default
    float dtype."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    value = number_argument("full", "fill_value", fill_value)
    dtype = dtype_or_none("full", "dtype", dtype)
    xp = _xp(device)
    dtype = dtype or _number_dtype(value)
    return Tensor(xp.full(_shape_args(tuple(size)), checked_scalar(value, dtype), dtype=dtype),
                  requires_grad=requires_grad)


def _number_dtype(*values: Any) -> Any:
    """PyTorch's dtype for Python numbers: bool if all are bools, int64 if all are ints,
    else the default float dtype (NumPy would pick float64 or its platform int)."""
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.bool_
    if all(isinstance(v, (int, np.integer)) for v in values):
        return np.int64
    return backend.DEFAULT_DTYPE


def _filled_like(t: Tensor, value: Any, dtype: Any, device_: Any,
                 requires_grad: bool) -> Tensor:
    """``value`` everywhere in ``t``'s shape, on ``t``'s device unless one is given, laid
    out as ``t`` is where PyTorch's preserve_format keeps it (engine/layout.py)."""
    dtype = dtype_or_none("full_like", "dtype", dtype) or t.dtype
    if device_ is None or backend.normalize_device(device_) == t.device:
        data = empty_preserving(t.array, dtype)
        data[...] = value
    else:
        data = _xp(device_).empty(t.shape, dtype=dtype)
        data[...] = value
    return Tensor(data, requires_grad=requires_grad)


def zeros_like(input: Tensor, *, dtype: Any = None,  # noqa: A002
               requires_grad: bool = False, device: Any = None,
               memory_format: Any = None) -> Tensor:
    """Zeros of ``input``'s shape, dtype and device."""
    return _filled_like(input, 0, dtype, device, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None,  # noqa: A002
              requires_grad: bool = False, device: Any = None,
              memory_format: Any = None) -> Tensor:
    """Ones of ``input``'s shape, dtype and device."""
    return _filled_like(input, 1, dtype, device, requires_grad)


def _generator(generator: Generator | None) -> Generator:
    return generator or default_generator()


def randn(*shape: Any, generator: Generator | None = None, dtype: Any = None,
          requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal samples of the given shape, e.g. ``randn(64, 100)`` for noise z,
    drawn on ``device`` (default: the default device) from that device's stream."""
    gen = _generator(generator)
    return Tensor(gen.normal(_shape_args(shape), dtype=dtype, device=device),
                  requires_grad=requires_grad)


def randn_like(t: Tensor, *, generator: Generator | None = None, dtype: Any = None,
               requires_grad: bool = False, device: Any = None,
               memory_format: Any = None) -> Tensor:
    """Standard normal samples of ``t``'s shape and dtype, on ``t``'s device (laid out as
    ``t``, as PyTorch's preserve_format)."""
    if t.numel() == 0:   # nothing to draw: PyTorch returns the empty tensor, whatever dtype
        return empty_like(t, dtype=dtype, requires_grad=requires_grad, device=device)
    drawn = randn(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device or t.device)
    return _filled_like(t, drawn.array, dtype or t.dtype, device, requires_grad)


def rand(*shape: Any, generator: Generator | None = None, dtype: Any = None,
         requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform samples on [0, 1), drawn on ``device`` (default: the default device)."""
    gen = _generator(generator)
    return Tensor(gen.random(_shape_args(shape), dtype=dtype, device=device),
                  requires_grad=requires_grad)


def randint(*args: Any, size: Sequence[int] | None = None, generator: Generator | None = None,
            dtype: Any = None, device: Any = None, requires_grad: bool = False,
            low: int | None = None, high: int | None = None) -> Tensor:
    """Integers in [low, high), int64 unless ``dtype`` says otherwise, drawn on ``device``.

    PyTorch's forms: ``randint(high, size)``, ``randint(low, high, size)``, and either with
    ``size=`` (or ``low=``/``high=``) as keywords; ``low`` defaults to 0.
    """
    args = list(args)
    if size is None:
        if not args or not isinstance(args[-1], (tuple, list)):
            raise TypeError("randint: missing the size, e.g. randint(10, (3,)) or "
                            "randint(0, 10, size=(3,))")
        size = args.pop()
    if high is None:
        if not args:
            raise TypeError("randint: missing high (the exclusive upper bound)")
        high = args.pop()
    if low is None:
        low = args.pop() if args else 0
    if args:
        raise TypeError(f"randint: too many positional arguments ({len(args)} left over)")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, got {type(size).__name__}")
    if low >= high:
        raise RuntimeError(f"randint: expects 'from' to be less than 'to', but got "
                           f"from={low} >= to={high}")
    t = Tensor(_generator(generator).integers(low, high, tuple(size), device=device))
    if dtype is not None:
        t = t.to(dtype=dtype)
    return t.requires_grad_(True) if requires_grad else t


# ---- more factories with PyTorch's names (torch.full_like, torch.randperm, ...) ----------
float16 = np.float16
int32 = np.int32
int64 = np.int64
int16 = np.int16
int8 = np.int8
uint8 = np.uint8
bool_ = np.bool_
# PyTorch's short names: torch.float is float32, torch.double float64, torch.long int64...
half, double, long, short = float16, float64, int64, int16
# memory formats (clone, contiguous, is_contiguous, *_like take them as PyTorch's do)
contiguous_format, preserve_format, channels_last = \
    "contiguous_format", "preserve_format", "channels_last"


def empty_like(input: Tensor, *, dtype: Any = None, requires_grad: bool = False,  # noqa: A002
               device: Any = None, memory_format: Any = None) -> Tensor:
    """Like ``input`` in shape, dtype and device (PyTorch leaves it uninitialised: zeros
    here)."""
    return zeros_like(input, dtype=dtype, requires_grad=requires_grad, device=device)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None,  # noqa: A002
              requires_grad: bool = False, device: Any = None,
              memory_format: Any = None) -> Tensor:
    """``fill_value`` everywhere, in ``input``'s shape, dtype and device."""
    value = number_argument("full_like", "fill_value", fill_value)
    dtype = dtype_or_none("full_like", "dtype", dtype)
    return _filled_like(input, checked_scalar(value, dtype or input.dtype), dtype, device,
                        requires_grad)


def rand_like(t: Tensor, *, dtype: Any = None, generator: Generator | None = None,
              requires_grad: bool = False, device: Any = None,
              memory_format: Any = None) -> Tensor:
    """Uniform [0, 1) samples in ``t``'s shape (and dtype), on ``t``'s device (laid out
    as ``t``, as PyTorch's preserve_format)."""
    drawn = rand(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device or t.device)
    return _filled_like(t, drawn.array, dtype or t.dtype, device, requires_grad)


def randperm(n: int, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random ordering of 0..n-1 (int64), e.g. to shuffle a dataset by hand."""
    gen = _generator(generator)
    return Tensor(gen.permutation(int(n), device=device).astype(dtype or np.int64),
                  requires_grad=requires_grad)


def eye(n: int, m: Any = NOT_GIVEN, *, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    n, m = index("eye", "n", n), None if m is NOT_GIVEN else index("eye", "m", m)
    dtype = dtype_or_none("eye", "dtype", dtype)
    return Tensor(_xp(device).eye(n, m, dtype=dtype or backend.DEFAULT_DTYPE),
                  requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """A Tensor from data; a Tensor of the right dtype and device comes back as it is."""
    if isinstance(data, Tensor) and (dtype is None or np.dtype(dtype) == data.dtype) and (
            device is None or backend.normalize_device(device) == data.device):
        return data
    return tensor(data, dtype=dtype, device=device)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)
