"""arange and linspace as PyTorch computes them: every value the same bit, every error raised.

The generator draws starts, ends and steps of every size (a few with inf, NaN, 1e30 or -0.0),
as ints or floats, with every dtype, and compares values, dtype and shape with torch's, or
that both raise. NumPy's own arange and linspace disagreed with PyTorch in about one call in
three (issue 29); the first tests pin a few of those values, so they run without PyTorch.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import tinygan


def test_linspace_counts_down_from_the_end_in_its_second_half():
    # torch.linspace(-1.3, -0.64, 3): step 0.33 in float32, the middle point is end - step
    values = tinygan.linspace(-1.3, -0.64, 3).numpy()
    assert values[1] == np.float32(-0.9699999690055847)
    assert tinygan.linspace(0.26, 2, 32).numpy()[17] == np.float32(1.21419358253479)


def test_arange_rounds_each_register_lane_from_its_first():
    # torch.arange(-69.286, 1): float64 arithmetic, one rounding per point
    assert tinygan.arange(-69.286, 1).numpy()[8] == np.float32(-61.2859992980957)
    # torch.arange(-1821.32.., -4.97, 3.69): lane 1 of the first register is its first
    # lane (already float32) plus the step
    values = tinygan.arange(-1821.323938078678, -4.97, 3.69).numpy()
    assert values[1] == np.float32(-1817.634033203125)


def test_integer_ranges_truncate_first():
    assert tinygan.arange(-1.41, 2674.957, 43.124, dtype=tinygan.int32).tolist()[:3] == \
        [-1, 42, 85]   # start -1 and step 43 after truncation; length from the floats
    assert tinygan.arange(2.7, dtype=tinygan.int64).tolist() == [0, 1]
    assert tinygan.linspace(0.69, -2, 4, dtype=tinygan.uint8).tolist() == [0, 84, 169, 254]


@pytest.mark.parametrize("call, message", [
    (lambda: tinygan.arange(3.92, -3.61, dtype=tinygan.int64), "inconsistent with step sign"),
    (lambda: tinygan.arange(0.95, -67.9, -0.52, dtype=tinygan.int64), "step must be nonzero"),
    (lambda: tinygan.arange(0, 1, 0), "step must be nonzero"),
    (lambda: tinygan.arange(0, float("inf")), "unsupported range"),
    (lambda: tinygan.linspace(-2.5, 3, 4, dtype=tinygan.uint8), "uint8_t without overflow"),
    (lambda: tinygan.linspace(0, 1, -1), "non-negative"),
])
def test_range_errors_are_pytorchs(call, message):
    with pytest.raises(RuntimeError, match=message):
        call()


# ---- the generator, against PyTorch --------------------------------------------------------

DTYPES = [None, "float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8"]
numbers = st.one_of(
    st.integers(-10, 10),
    st.floats(-5, 5).map(lambda v: round(v, 2)),
    st.floats(-100, 100).map(lambda v: round(v, 3)),
    st.floats(-1e4, 1e4),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e30, -0.0, 7e4, 300, -300]))


def _outcome(library, name, args, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("dtype"):
        kwargs["dtype"] = getattr(library, kwargs["dtype"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = getattr(library, name)(*args, **kwargs)
    except (RuntimeError, TypeError, ValueError, OverflowError, NotImplementedError):
        return "raises"
    return str(result.dtype).split(".")[-1], tuple(result.shape), \
        np.asarray(result.detach().numpy() if library is not tinygan else result.numpy())


def _compare(name, args, kwargs):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: nothing to compare")
    ours, theirs = _outcome(tinygan, name, args, kwargs), _outcome(torch, name, args, kwargs)
    if isinstance(theirs, str) or isinstance(ours, str):
        assert ours == theirs, (name, args, kwargs, ours, theirs)
        return
    assert ours[:2] == theirs[:2], (name, args, kwargs)
    assert np.array_equal(ours[2], theirs[2], equal_nan=True), (
        name, args, kwargs, np.nonzero(ours[2] != theirs[2])[0][:5])


@settings(max_examples=600, deadline=None)
@given(numbers, numbers, st.sampled_from([0, 1, 2, 3, 4, 5, 8, 9, 16, 17, 31, 32, 33, 64,
                                          100, 129, 300]), st.sampled_from(DTYPES))
def test_linspace_agrees_with_pytorch(start, end, steps, dtype):
    _compare("linspace", (start, end, steps), {"dtype": dtype} if dtype else {})


def _reasonable(args) -> bool:
    """No more than a few thousand points (a huge range is a memory error, not a test)."""
    start, end, step = (0, args[0], 1) if len(args) == 1 else \
        (args[0], args[1], args[2] if len(args) == 3 else 1)
    try:
        return not math.isfinite(count := (end - start) / step) or abs(count) < 5000
    except ZeroDivisionError:
        return True


@settings(max_examples=600, deadline=None)
@given(st.lists(numbers, min_size=1, max_size=3).filter(_reasonable),
       st.sampled_from(DTYPES))
def test_arange_agrees_with_pytorch(args, dtype):
    _compare("arange", tuple(args), {"dtype": dtype} if dtype else {})
