"""arange and linspace, computed with PyTorch's arithmetic so that every value is the same bit.

``torch.linspace(-1.3, -0.64, 3)[1]`` is -0.96999997 while NumPy's linspace gives -0.97000003:
both are correct to float32's precision, but a later step can tell them apart (add -0.03,
then raise a negative number to that power: -1.0 is a whole number, -0.99999994 is not, and
the answer is a number or NaN). So tinygan computes the points the way PyTorch's CPU kernels
do (each rule below was measured against torch 2.13 on random arguments,
tests/test_ranges.py):

- arange(start, end, step) has ceil((end - start) / step) points, counted in float64 from the
  numbers as given (in integers for int64). Point k is ``start + step * k`` as one fused
  multiply-add in the "accumulate" type (float64 for float32 and float64 results, float32
  for float16, int64 for integers, whose start and step are first truncated toward zero),
  then rounded to the result's dtype; but the loop fills 32-byte vector registers, and in a
  register only the first lane is computed that way, the others as ``first lane + lane *
  step``.
- linspace(start, end, steps): step = (end - start) / (steps - 1) in the result's dtype
  (float64 for integer results); the first half counts up from start (``start + step * k``),
  the second half down from end (``end - step * (steps - 1 - k)``), so both ends are exact.
  float16 rounds after every operation (c10::Half computes in float32 and rounds back).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinygan.devices import backend
from tinygan.engine.arguments import dtype_or_none, integer
from tinygan.engine.fma import fused
from tinygan.engine.tensor import Tensor, number_argument

# PyTorch's name for each dtype in its conversion errors
_CPP_NAMES = {np.dtype(np.float16): "c10::Half", np.dtype(np.float32): "float",
              np.dtype(np.float64): "double", np.dtype(np.int64): "int64_t",
              np.dtype(np.int32): "int", np.dtype(np.int16): "int16_t",
              np.dtype(np.int8): "int8_t", np.dtype(np.uint8): "uint8_t"}


def _xp(device: Any = None):
    return backend.xp() if device is None else backend.module_for_device(device)


def _number(value: Any, name: str) -> Any:
    """A Python number from a number or a 0-d tensor (a list is refused)."""
    if isinstance(value, Tensor):
        if value.ndim:
            raise RuntimeError(f"linspace only supports 0-dimensional start and end tensors, "
                               f"but got {name} with {value.ndim} dimension(s)")
        return value.item()
    return number_argument("linspace", name, value)


def _converted(value: Any, dtype: np.dtype) -> Any:
    """``value`` as a number of ``dtype`` the way PyTorch's Scalar.to<T>() does it: floats
    truncated toward zero for integer types, and an error where the value does not fit
    (a negative int may wrap into an unsigned type, a negative float may not)."""
    name = _CPP_NAMES.get(dtype, str(dtype))
    overflow = RuntimeError(f"value cannot be converted to type {name} without overflow")
    if dtype.kind == "f":
        if isinstance(value, (float, np.floating)) and math.isfinite(value) and \
                abs(value) > np.finfo(dtype).max:
            raise overflow
        return dtype.type(value)
    info = np.iinfo(dtype)
    if isinstance(value, (float, np.floating)):
        if math.isnan(value) or not info.min <= value <= info.max:
            raise overflow
        return int(value)   # truncation toward zero
    value = int(value)
    if value > info.max or (value < info.min and (info.min < 0 or -value > info.max)):
        raise overflow
    return int(np.int64(value).astype(dtype))   # a negative int wraps into an unsigned type


def arange(*args: Any, start: Any = None, end: Any = None, step: Any = None,
           dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """arange(end), arange(start, end) or arange(start, end, step), positionally or by name:
    start, start + step, ... up to but excluding end. int64 when all the numbers are ints,
    else the default float dtype. Shape: (ceil((end - start) / step),)."""
    if len(args) > 3:
        raise TypeError(f"arange() takes 1 to 3 positional arguments ({len(args)} given)")
    named = {"start": start, "end": end, "step": step}
    if len(args) == 1 and start is None and end is None:
        named["end"], args = args[0], ()
    for name, value in zip(("start", "end", "step"), args):
        if named[name] is not None:
            raise TypeError(f"arange() got multiple values for argument '{name}'")
        named[name] = value
    if named["end"] is None or (named["start"] is None and named["step"] is not None):
        raise TypeError("arange() takes arange(end), arange(start, end) or "
                        "arange(start, end, step)")
    start, end, step = (number_argument("arange", k, named[k]) if named[k] is not None
                        else default for k, default in (("start", 0), ("end", None),
                                                        ("step", 1)))
    dtype = dtype_or_none("arange", "dtype", dtype)
    if dtype is None:
        floats = any(isinstance(v, (float, np.floating)) for v in (start, end, step))
        dtype = backend.DEFAULT_DTYPE if floats else np.int64
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'; make ints and "
                                  "compare them")
    # PyTorch checks the numbers as given, in float64 ...
    if not (float(step) > 0 or float(step) < 0):
        raise RuntimeError("step must be nonzero")
    if not (math.isfinite(float(start)) and math.isfinite(float(end))):
        raise RuntimeError(f"unsupported range: {float(start)} -> {float(end)}")
    if not ((float(step) > 0 and float(end) >= float(start)) or
            (float(step) < 0 and float(end) <= float(start))):
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    # ... then computes the points from them in the "accumulate" type, where integer
    # results truncate start and step first: arange(0.5, 3.9, 0.7, dtype=int32) is [0]*5
    accumulate = np.dtype(np.int64) if dtype.kind in "iu" else \
        np.dtype(np.float32) if dtype == np.float16 else np.dtype(np.float64)
    first, stride = _converted(start, accumulate), _converted(step, accumulate)
    if dtype == np.int64:   # the length in exact integers: float64 cannot hold every int64
        last = _converted(end, accumulate)
        if stride == 0:
            raise RuntimeError("step must be nonzero")
        sign = 1 if stride > 0 else -1
        span = last - first + stride - sign   # C's integer division truncates toward zero
        size = abs(span) // abs(stride) * (1 if (span >= 0) == (stride > 0) else -1)
    else:
        size = math.ceil((float(end) - float(start)) / float(step))
    if not 0 <= size <= np.iinfo(np.int64).max:
        raise RuntimeError("invalid size, possible overflow?")
    xp = _xp(device)
    if dtype.kind in "iu":   # int64 arithmetic, then wrapped into the result's type
        points = int(first) + int(stride) * xp.arange(size, dtype=np.int64)
        return Tensor(points.astype(dtype), requires_grad=requires_grad)
    # PyTorch's loop fills 32-byte vector registers two at a time (8 float32 lanes; measured
    # against torch 2.13, also on AVX-512 machines): a register's first lane is start +
    # step * index, its other lanes first lane + lane * step, each a fused multiply-add in
    # the accumulate type rounded to the result's dtype. After the last whole pair of
    # registers, each point is start + step * index.
    register, lane = _registers(size, 32 // dtype.itemsize, xp)
    step_acc, start_acc = accumulate.type(stride), accumulate.type(first)
    heads = fused(register.astype(accumulate), step_acc, start_acc)
    heads = heads.astype(dtype).astype(accumulate)
    points = xp.where(lane == 0, heads, fused(lane.astype(accumulate), step_acc, heads))
    return Tensor(points.astype(dtype), requires_grad=requires_grad)


def _registers(n: int, width: int, xp: Any) -> tuple[Any, Any]:
    """For each of n points: the index its vector register starts at, and its lane in it.
    Points after the vector loop's last whole turn (two registers) are their own start."""
    k = xp.arange(n, dtype=np.int64)
    vectorized = n - n % (2 * width)
    first = xp.where(k < vectorized, k - k % width, k)
    return first, k - first


def linspace(start: Any, end: Any, steps: int, *, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included (a latent walk).
    Shape: (steps,)."""
    steps = integer("linspace", "steps", steps)
    if steps < 0:
        raise RuntimeError("linspace(): number of steps must be non-negative")
    start, end = _number(start, "start"), _number(end, "end")
    dtype = np.dtype(dtype_or_none("linspace", "dtype", dtype) or backend.DEFAULT_DTYPE)
    xp = _xp(device)
    if dtype == np.bool_:
        if steps > 1:
            raise NotImplementedError("\"linspace_cpu\" not implemented for 'Bool'; make "
                                      "floats or ints and compare them")
        return Tensor(xp.full(steps, bool(start)), requires_grad=requires_grad)
    if steps <= 1:   # PyTorch fills the single point with start (a float may overflow to
        # inf there, not in the kernel below); end is never read
        with np.errstate(over="ignore"):
            values = [] if not steps else [dtype.type(start)] if dtype.kind == "f" else \
                [_converted(start, dtype)]
        return Tensor(xp.asarray(values, dtype=dtype), requires_grad=requires_grad)
    first, last = _converted(start, dtype), _converted(end, dtype)
    points = _linspace_points(first, last, steps, dtype, xp)
    return Tensor(points, requires_grad=requires_grad)


def _linspace_points(first: Any, last: Any, steps: int, dtype: np.dtype, xp: Any) -> Any:
    """PyTorch's linspace kernel. Point k counts from the nearer end: start + step * k in
    the first half, end - step * (steps - 1 - k) in the second, with step = (end - start) /
    (steps - 1); as one fused multiply-add in float32 and float64, rounding to half after
    every operation in float16, in float64 and truncated for integers."""
    k = xp.arange(steps)
    up = k < steps // 2
    count = xp.where(up, k, steps - 1 - k)   # steps from the nearer end
    if dtype == np.float16:   # c10::Half computes each operation in float32, then rounds
        def half(value: Any) -> Any:
            return xp.asarray(value, dtype=np.float32).astype(np.float16).astype(np.float32)
        start, end = half(first), half(last)
        step = half(half(end - start) / half(steps - 1))
        moved = half(step * half(count))
        return xp.where(up, start + moved, end - moved).astype(np.float16)
    arithmetic = np.dtype(np.float64) if dtype.kind in "iu" else dtype
    start, end = arithmetic.type(first), arithmetic.type(last)
    step = xp.asarray((end - start) / arithmetic.type(steps - 1))
    count = count.astype(arithmetic)
    points = xp.where(up, fused(count, step, start), fused(-count, step, end))
    if dtype.kind in "iu":   # truncated toward zero, then wrapped into the type's range
        return xp.trunc(points).astype(np.int64).astype(dtype)
    return points.astype(dtype)
