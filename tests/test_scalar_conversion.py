"""A number written into a tensor by a fill, converted as PyTorch converts it (issue 29).

PyTorch turns the number of ``fill_``, ``masked_fill(_)``, ``full``, ``full_like``,
``new_full``, ``x[index] = number``, ``clamp``'s bounds and ``where``'s number into the
tensor's dtype with Scalar::to, which checks
for overflow: -0.9 or 256.0 into uint8 raise, -1 wraps to 255, NaN or 1e40 into an integer
or 3.5e38 into float32 raise, anything goes into bool. Some paths read a 0-d tensor's value
the same way (``masked_fill_``, ``full``, ``x[mask] = t``), others cast it unchecked
(``fill_``). The long run found two missing errors of this class (4864458: ``v[..., 1] =
-0.9`` into uint8; 4864728: a NaN written through a mask into int64). The generator below
writes every pairing of op, dtype, value and value form and runs it in both libraries: both
raise, or both give the same tensor (engine/tensor.py's ``checked_scalar``)."""
from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import tinygan

torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")

NAN, INF = float("nan"), float("inf")
VALUES = [-0.9, 0.9, 2.5, -0.0, 1e-300, 127.5, 128.0, 255.9, 256.0, 32767.5, 65519.0,
          2147483647.9, 3.5e38, 9.3e18, 1e20, NAN, INF, -INF, True, False, -1, -128, -129,
          -255, -256, 300, 70000, 2 ** 63 - 1, 2 ** 63, -2 ** 63, 2 ** 64]
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
FORMS = ["number", "0-d float64", "0-d int64", "(1,) int64"]


def _ops(lib):
    mask = lib.tensor([[True, False, False]] * 3)
    return {
        "fill_": lambda x, v: x.fill_(v),
        "x[:, 0] = v": lambda x, v: x.__setitem__((slice(None), 0), v),
        "x[[0, 2]] = v": lambda x, v: x.__setitem__(lib.tensor([0, 2]), v),
        "x[mask] = v": lambda x, v: x.__setitem__(mask, v),
        "masked_fill_": lambda x, v: x.masked_fill_(mask, v),
        "masked_fill": lambda x, v: x.masked_fill(mask, v),
        "full": lambda x, v: lib.full((2, 3), v, dtype=x.dtype),
        "full_like": lambda x, v: lib.full_like(x, v),
        "new_full": lambda x, v: x.new_full((2,), v),
        "clamp(min=v)": lambda x, v: x.clamp(min=v),
        "clamp_max": lambda x, v: lib.clamp_max(x, v),
        "where(c, x, v)": lambda x, v: lib.where(x > 1, x, v),
        "where(c, v, x)": lambda x, v: lib.where(x > 1, v, x),
    }


def _value(lib, v, form):
    """The value in ``form``, or None where that form cannot hold it."""
    if form == "number":
        return v
    if isinstance(v, bool) or isinstance(v, int) and not -2 ** 63 <= v < 2 ** 63:
        return None
    if form == "0-d float64":
        return lib.tensor(float(v), dtype=lib.float64)
    if not isinstance(v, int):
        return None
    return lib.tensor(v) if form == "0-d int64" else lib.tensor([v])


def _outcome(lib, op, dtype, v, form):
    x = lib.tensor(np.arange(9).reshape(3, 3) % 4, dtype=getattr(lib, dtype))
    value = _value(lib, v, form)
    if value is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = _ops(lib)[op](x, value)
        result = x if result is None else result
        return "ok", str(result.dtype).split(".")[-1], np.asarray(result.tolist(),
                                                                  dtype=float).tolist()
    except (RuntimeError, IndexError, TypeError, OverflowError, ValueError):
        return "raises"


@pytest.mark.parametrize("op", list(_ops(tinygan)))
def test_numbers_written_by_fills_convert_as_pytorchs(op):
    differ = []
    for dtype, v, form in itertools.product(DTYPES, VALUES, FORMS):
        theirs = _outcome(torch, op, dtype, v, form)
        if theirs is None:
            continue
        ours = _outcome(tinygan, op, dtype, v, form)
        same = ours == theirs or (
            ours != "raises" and theirs != "raises" and ours[1] == theirs[1] and
            np.array_equal(ours[2], theirs[2], equal_nan=True))
        if not same:
            differ.append((dtype, v, form, theirs, ours))
    assert not differ, f"{len(differ)} differ, e.g. {differ[:3]}"


@pytest.mark.parametrize("value", [[1, 2, 3], (1, 2, 3), np.array([1, 2, 3])],
                         ids=["list", "tuple", "array"])
def test_lists_tuples_and_arrays_written_by_index_are_refused_as_pytorch(value):
    """x[0] = [1, 2, 3] raises a TypeError in PyTorch ("can't assign a list"): only numbers
    and tensors are written by index. tinygan wrote them (chapter 8 did so)."""
    for lib in (torch, tinygan):
        x = lib.zeros(2, 3, dtype=lib.uint8)
        with pytest.raises(TypeError, match="can't assign a"):
            x[0] = value
        x[0] = lib.tensor([1, 2, 3], dtype=lib.uint8)
        assert x.tolist() == [[1, 2, 3], [0, 0, 0]]
